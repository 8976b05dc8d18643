//! HAProxy (Debian's package) in front of relay instances, as an operator runs it: HTTP with
//! WebSocket upgrades, round robin, each instance health-checked on `GET /v1/health` and told
//! the client's address in a PROXY protocol line (the relay's `--trusted-proxy`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct LoadBalancer {
    child: Child,
    folder: tempfile::TempDir,
    pub port: u16,
}

impl LoadBalancer {
    /// HAProxy on loopback port `port` (the instances' `--origin`, so chosen before they
    /// start: `services::free_port`), balancing over the instances listening on `backends`
    /// (`host:port`); it returns once HAProxy sees every instance healthy.
    pub fn start(port: u16, backends: &[String]) -> LoadBalancer {
        let folder = tempfile::tempdir().unwrap();
        let servers: String = backends
            .iter()
            .enumerate()
            .map(|(i, b)| {
                format!("  server instance{i} {b} send-proxy check check-send-proxy inter 500ms\n")
            })
            .collect();
        let config = format!(
            "global\n  stats socket {}/haproxy.sock mode 600 level admin\n\
             defaults\n  mode http\n  timeout connect 5s\n  timeout client 120s\n  timeout server 120s\n  timeout tunnel 1h\n\
             frontend relay\n  bind 127.0.0.1:{port}\n  default_backend instances\n\
             backend instances\n  balance roundrobin\n  option httpchk GET /v1/health\n  http-check expect status 200\n{servers}",
            folder.path().display()
        );
        let path = folder.path().join("haproxy.cfg");
        std::fs::write(&path, config).unwrap();
        let child = Command::new("/usr/sbin/haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("haproxy starts (bash scripts/install-deps.sh installs it)");
        let balancer = LoadBalancer {
            child,
            folder,
            port,
        };
        let started = Instant::now();
        loop {
            let up = TcpStream::connect(("127.0.0.1", port)).is_ok()
                && balancer.sessions().len() == backends.len()
                && balancer.healthy() == backends.len();
            if up {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "HAProxy did not see its instances healthy"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        balancer
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Each instance's name and the sessions HAProxy sent it so far.
    pub fn sessions(&self) -> Vec<(String, u64)> {
        self.servers()
            .iter()
            .map(|row| (row[1].clone(), row[7].parse().unwrap_or(0)))
            .collect()
    }

    /// How many instances HAProxy's health checks find up.
    pub fn healthy(&self) -> usize {
        self.servers().iter().filter(|row| row[17] == "UP").count()
    }

    /// The instances' rows of `show stat` (CSV: pxname, svname, …, stot at 7, status at 17).
    fn servers(&self) -> Vec<Vec<String>> {
        let Ok(mut socket) = UnixStream::connect(self.folder.path().join("haproxy.sock")) else {
            return Vec::new();
        };
        let mut answer = String::new();
        if socket.write_all(b"show stat\n").is_err() || socket.read_to_string(&mut answer).is_err()
        {
            return Vec::new();
        }
        answer
            .lines()
            .map(|l| l.split(',').map(str::to_owned).collect::<Vec<_>>())
            .filter(|row| row.len() > 17 && row[0] == "instances" && row[1] != "BACKEND")
            .collect()
    }
}

impl Drop for LoadBalancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
