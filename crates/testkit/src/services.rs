//! Real servers the relay's second backend runs against, started per test in temporary folders:
//! an S3-protocol server (moto's, from PyPI, installed by `scripts/install-deps.sh`).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn tool(env: &str, under_tools: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(env) {
        return p.into();
    }
    let home = std::env::var_os("HOME").expect("HOME");
    PathBuf::from(home)
        .join(".cache/consilium/tools")
        .join(under_tools)
}

/// An S3-protocol server on a free loopback port, with one empty bucket; stopped on drop.
#[derive(Debug)]
pub struct S3Server {
    child: Child,
    pub port: u16,
    pub bucket: String,
}

impl S3Server {
    pub fn start() -> S3Server {
        let program = tool("CONSILIUM_MOTO", "s3/bin/moto_server");
        assert!(
            program.exists(),
            "{} is missing: bash scripts/install-deps.sh installs it",
            program.display()
        );
        let port = free_port();
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let server = S3Server {
            child,
            port,
            bucket: "consilium-blobs".into(),
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the S3 server did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // The bucket, made as any S3 client makes one (the server takes unsigned requests).
        let status = server.request("PUT", &format!("/{}", server.bucket));
        assert!(
            status.starts_with("HTTP/1.1 200"),
            "create bucket: {status}"
        );
        server
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The status line of one plain HTTP request to the server.
    pub fn request(&self, method: &str, path: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .unwrap();
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        answer.lines().next().unwrap_or_default().to_string()
    }

    /// Stops the server: an outage.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}
