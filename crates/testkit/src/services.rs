//! Real servers the relay's second backend runs against, started per test in temporary folders:
//! an S3-protocol server (moto's, from PyPI, installed by `scripts/install-deps.sh`) and
//! PostgreSQL (Debian's `postgresql-15`).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A loopback port free now (for a server that must be named before it starts).
pub fn free_port() -> u16 {
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
    child: Option<Child>,
    pub port: u16,
    pub bucket: String,
}

impl S3Server {
    pub fn start() -> S3Server {
        let mut server = S3Server {
            child: None,
            port: free_port(),
            bucket: "consilium-blobs".into(),
        };
        server.run();
        server
    }

    /// Starts the server on its port with an empty bucket (moto keeps nothing across a stop):
    /// the end of an outage.
    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }

    fn run(&mut self) {
        let program = tool("CONSILIUM_MOTO", "s3/bin/moto_server");
        assert!(
            program.exists(),
            "{} is missing: bash scripts/install-deps.sh installs it",
            program.display()
        );
        let port = self.port;
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        self.child = Some(child);
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the S3 server did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // The bucket, made as any S3 client makes one (the server takes unsigned requests).
        let status = self.request("PUT", &format!("/{}", self.bucket));
        assert!(
            status.starts_with("HTTP/1.1 200"),
            "create bucket: {status}"
        );
    }

    /// The environment a relay process reads the bucket's server and credentials from (moto
    /// takes any; plain HTTP, on this machine).
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_ACCESS_KEY_ID", "consilium-test".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "consilium-test-secret".to_string()),
            ("AWS_ALLOW_HTTP", "true".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The status line of one plain HTTP request to the server.
    pub fn request(&self, method: &str, path: &str) -> String {
        self.answer(method, path)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    }

    /// The multipart uploads begun in the bucket and neither completed nor aborted: parts a
    /// client left behind.
    pub fn open_uploads(&self) -> usize {
        let answer = self.answer("GET", &format!("/{}?uploads", self.bucket));
        assert!(answer.starts_with("HTTP/1.1 200"), "list uploads: {answer}");
        answer.matches("<Upload>").count()
    }

    /// The whole answer (status line, headers, body) to one plain HTTP request.
    fn answer(&self, method: &str, path: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .unwrap();
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        answer
    }

    /// Stops the server: an outage.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Debian's PostgreSQL programs.
const POSTGRES_BIN: &str = "/usr/lib/postgresql/15/bin";

/// The environment variable naming a PostgreSQL server the relay's tests run against
/// (`scripts/with-postgres.sh` sets it): each relay a test starts gets a new database on it.
pub const TEST_POSTGRES_ENV: &str = "CONSILIUM_TEST_POSTGRES";

/// A PostgreSQL server of its own in a temporary folder, on a free loopback port, with trust
/// authentication for the user `consilium`; stopped (immediately, like a crash) on drop.
/// PostgreSQL refuses to run as root, so under root (CI) it runs as the `postgres` user
/// Debian's package creates.
#[derive(Debug)]
pub struct PostgresServer {
    folder: tempfile::TempDir,
    child: Option<Child>,
    pub port: u16,
    durable: bool,
    /// TCP connections must use TLS (`start_tls`).
    tls: bool,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A PostgreSQL program, run as the server's user.
fn as_server_user(program: &str) -> Command {
    let path = format!("{POSTGRES_BIN}/{program}");
    if is_root() {
        // setpriv execs the program itself (runuser would stand between, not passing on the
        // signal that stops the server).
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            "--",
            &path,
        ]);
        c
    } else {
        Command::new(path)
    }
}

impl PostgresServer {
    /// A server for tests: `fsync` off (a crash of the server process loses nothing; only the
    /// machine's would), so a suite of hundreds of databases runs quickly.
    pub fn start() -> PostgresServer {
        PostgresServer::start_with(false)
    }

    /// A server that syncs every commit to disk, as in production (for benchmarks).
    pub fn start_durable() -> PostgresServer {
        PostgresServer::start_with(true)
    }

    /// A server that takes connections over TCP only with TLS (`hostssl`), presenting the
    /// certificate `cert_pem` (with its key), as managed servers do.
    pub fn start_tls(cert_pem: &str, key_pem: &str) -> PostgresServer {
        let mut server = PostgresServer::initialised(false);
        let data = server.folder.path().join("data");
        std::fs::write(data.join("server.crt"), cert_pem).unwrap();
        std::fs::write(data.join("server.key"), key_pem).unwrap();
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            data.join("server.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&data)
                .status()
                .unwrap();
            assert!(status.success(), "chown the certificate");
        }
        server.tls = true;
        server.run();
        server
    }

    fn start_with(durable: bool) -> PostgresServer {
        let mut server = PostgresServer::initialised(durable);
        server.run();
        server
    }

    /// A server folder made by `initdb`, not yet running.
    fn initialised(durable: bool) -> PostgresServer {
        let folder = tempfile::Builder::new()
            .prefix("consilium-pg")
            .tempdir()
            .unwrap();
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(folder.path())
                .status()
                .unwrap();
            assert!(status.success(), "chown the PostgreSQL folder");
        }
        let data = folder.path().join("data");
        let out = as_server_user("initdb")
            .args([
                "--auth=trust",
                "--username=consilium",
                "--encoding=UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&data)
            .output()
            .expect("initdb runs (bash scripts/install-deps.sh installs postgresql-15)");
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        PostgresServer {
            folder,
            child: None,
            port: free_port(),
            durable,
            tls: false,
        }
    }

    fn run(&mut self) {
        let data = self.folder.path().join("data");
        let fsync = if self.durable { "on" } else { "off" };
        let child = as_server_user("postgres")
            .arg("-D")
            .arg(&data)
            .args(["-p", &self.port.to_string()])
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "max_connections=300",
            ])
            .args(["-c", &format!("fsync={fsync}")])
            .args(["-c", if self.tls { "ssl=on" } else { "ssl=off" }])
            .arg("-c")
            .arg(format!(
                "unix_socket_directories={}",
                self.folder.path().display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("postgres starts");
        self.child = Some(child);
        let started = Instant::now();
        loop {
            let local = self.maintenance();
            if off_runtime(move || postgres::Client::connect(&local, postgres::NoTls).is_ok()) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "PostgreSQL did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The address of database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://consilium@127.0.0.1:{}/{name}", self.port)
    }

    /// A new, empty database; its address.
    pub fn create_database(&self) -> String {
        let name = database_name();
        create_named(&self.maintenance(), &name);
        self.url(&name)
    }

    /// How many connections of the application named `application` use TLS, as the server
    /// sees them (`pg_stat_ssl`).
    pub fn encrypted_connections(&self, application: &str) -> i64 {
        let (local, application) = (self.maintenance(), application.to_owned());
        off_runtime(move || {
            let mut client = postgres::Client::connect(&local, postgres::NoTls).unwrap();
            client
                .query_one(
                    "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
                     WHERE a.application_name = $1 AND s.ssl",
                    &[&application],
                )
                .unwrap()
                .get(0)
        })
    }

    /// The maintenance database through the server's Unix socket (open also when TCP takes
    /// TLS only).
    fn maintenance(&self) -> String {
        format!(
            "host={} port={} user=consilium dbname=postgres",
            self.folder.path().display(),
            self.port
        )
    }

    /// Stops the server at once, as a crash would (connections are cut).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGQUIT: PostgreSQL's immediate shutdown.
            let _ = Command::new("kill")
                .args(["-QUIT", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and data, after `stop`.
    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs `f` on a thread of its own: the synchronous PostgreSQL client starts a runtime, which
/// panics inside an async test's.
fn off_runtime<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(f).join().unwrap()
}

/// A new, empty database on the server whose maintenance database is `server_url`; its address.
pub fn create_database_on(server_url: &str) -> String {
    let name = database_name();
    create_named(server_url, &name);
    let base = server_url.rsplit_once('/').map_or(server_url, |(b, _)| b);
    format!("{base}/{name}")
}

/// A database name no other test of any process takes.
fn database_name() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("t{}_{nanos}_{n}", std::process::id())
}

/// Creates database `name` through the maintenance connection `server`.
fn create_named(server: &str, name: &str) {
    let server = server.to_owned();
    let create = format!("CREATE DATABASE {name}");
    off_runtime(move || {
        let mut client = postgres::Client::connect(&server, postgres::NoTls)
            .expect("the test PostgreSQL server answers");
        client.batch_execute(&create).unwrap();
    });
}

/// A new database for one relay of a test when the suite runs against PostgreSQL
/// (`TEST_POSTGRES_ENV` set), else `None` (SQLite in the data folder).
pub fn test_database() -> Option<String> {
    std::env::var(TEST_POSTGRES_ENV)
        .ok()
        .filter(|u| !u.is_empty())
        .map(|u| create_database_on(&u))
}
