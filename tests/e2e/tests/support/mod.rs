//! The harness: the relay as a real process (killed with SIGKILL and restarted on the same
//! address), the CLI as a real process per command, profiles with their passphrase, and a
//! recording proxy that captures every byte of loopback traffic between clients and relay.

pub mod window;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const PASSPHRASE: &str = "e2e passphrase, long enough 4 all";

/// Where cargo put the workspace's binaries (next to this test's own executable).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build it first (`cargo build --workspace --bins`)",
        path.display()
    );
    path
}

/// Runs `body` against the desktop app over WebDriver, on a new profile in `root` whose
/// relay is `relay`, and closes the window after.
pub fn with_window(root: &Path, relay: &str, body: impl AsyncFnOnce(&window::Window)) {
    with_window_in(root, relay, None, body);
}

/// Like `with_window`, with the app in the system locale `locale` ("fr_FR.UTF-8"); its
/// screenshots go to that language's folder ("fr").
pub fn with_window_in(
    root: &Path,
    relay: &str,
    locale: Option<&str>,
    body: impl AsyncFnOnce(&window::Window),
) {
    let driver = window::Driver::start_in(
        &root.join("desktop-profile"),
        relay,
        &root.join("tauri-driver.log"),
        locale,
    );
    let shots = locale.map(|l| &l[..2]);
    let app = bin("consilium-desktop");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let w = window::Window::open_with_shots_in(&driver, &app, shots).await;
        body(&w).await;
        let _ = w.c.close().await;
    });
}

pub struct Relay {
    child: Option<Child>,
    pub data: PathBuf,
    /// host:port it listens on (kept across restarts).
    pub addr: String,
    /// Addresses it is reached at besides its own (a proxy in front of it).
    origins: Vec<String>,
    /// `open` (any key, as the desktop app's embedded relay), or `invite`.
    admission: &'static str,
    /// Further options (an instance's database, bucket, balancer) and environment.
    extra: Vec<String>,
    env: Vec<(String, String)>,
}

impl Relay {
    pub fn start(data: &Path) -> Relay {
        Relay::start_behind(data, &[])
    }

    /// A relay in its default mode: only enrolled or invited accounts.
    pub fn start_inviting(data: &Path) -> Relay {
        let mut r = Relay {
            child: None,
            data: data.to_path_buf(),
            addr: "127.0.0.1:0".into(),
            origins: vec![],
            admission: "invite",
            extra: vec![],
            env: vec![],
        };
        r.spawn();
        r
    }

    /// A one-time enrolment code, as the operator gets it (`consilium-relay admit`).
    pub fn admit(&self) -> String {
        let out = Command::new(bin("consilium-relay"))
            .args(["admit", "--data"])
            .arg(&self.data)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// A relay that clients also reach through `origins` (signed requests name the address a
    /// client uses, so the relay must know it).
    pub fn start_behind(data: &Path, origins: &[&str]) -> Relay {
        let mut r = Relay {
            child: None,
            data: data.to_path_buf(),
            addr: "127.0.0.1:0".into(),
            origins: origins.iter().map(|o| o.to_string()).collect(),
            admission: "open",
            extra: vec![],
            env: vec![],
        };
        r.spawn();
        r
    }

    /// One instance of a relay of several, reached at `origin` (a balancer), with `extra`
    /// options (its database, bucket, trusted proxy) and `env` (the bucket's server).
    pub fn start_instance(
        data: &Path,
        origin: &str,
        extra: &[String],
        env: &[(String, String)],
    ) -> Relay {
        let mut r = Relay {
            child: None,
            data: data.to_path_buf(),
            addr: "127.0.0.1:0".into(),
            origins: vec![origin.to_string()],
            admission: "open",
            extra: extra.to_vec(),
            env: env.to_vec(),
        };
        r.spawn();
        r
    }

    fn spawn(&mut self) {
        let origins = self.origins.iter().flat_map(|o| ["--origin", o.as_str()]);
        let mut child = Command::new(bin("consilium-relay"))
            .args([
                "--listen",
                &self.addr,
                "--admission",
                self.admission,
                "--data",
            ])
            .arg(&self.data)
            .args(origins)
            .args(&self.extra)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        self.addr = loop {
            let line = lines.next().expect("the relay exited").unwrap();
            if let Some(rest) = line.split("addr=").nth(1) {
                break rest.split_whitespace().next().unwrap().to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        self.child = Some(child);
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// SIGSTOP: the relay hangs. Its socket still accepts connections (the kernel does) but
    /// nothing answers, as with a relay stuck or a link gone dead.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT: the hung relay answers again.
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("the relay runs").id();
        let sent = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill {signal} {pid}");
    }

    /// Starts again on the same address and data.
    pub fn restart(&mut self) {
        self.kill();
        for _ in 0..50 {
            // The port may linger for a moment after the kill.
            if TcpListener::bind(&self.addr).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        self.spawn();
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A TCP proxy in front of the relay that keeps every byte it forwards, both ways: the loopback
/// traffic as a capture would see it.
pub struct Capture {
    pub url: String,
    bytes: Arc<Mutex<Vec<u8>>>,
}

/// A proxy's listening socket, bound before the relay starts so the relay can be told the
/// address clients will use.
pub struct CaptureSocket {
    pub url: String,
    listener: TcpListener,
}

impl Capture {
    pub fn bind() -> CaptureSocket {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        CaptureSocket { url, listener }
    }
}

impl CaptureSocket {
    /// Starts forwarding to the relay at `upstream` (host:port).
    pub fn forward_to(self, upstream: &str) -> Capture {
        let CaptureSocket { url, listener } = self;
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let (up, store) = (upstream.to_string(), bytes.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(&up) else {
                    continue;
                };
                pipe(
                    client.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                    store.clone(),
                );
                pipe(server, client, store.clone());
            }
        });
        Capture { url, bytes }
    }
}

impl Capture {
    pub fn bytes(&self) -> Vec<u8> {
        self.bytes.lock().unwrap().clone()
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream, store: Arc<Mutex<Vec<u8>>>) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16384];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || to.write_all(&buf[..n]).is_err() {
                break;
            }
            store.lock().unwrap().extend_from_slice(&buf[..n]);
        }
        let _ = to.shutdown(std::net::Shutdown::Both);
    });
}

/// A profile used through the CLI.
pub struct Cli {
    pub dir: PathBuf,
}

impl Cli {
    pub fn init(root: &Path, name: &str, specialty: &str) -> Cli {
        let cli = Cli {
            dir: root.join(name.replace(' ', "_")),
        };
        cli.ok(&["init", "--name", name, "--specialty", specialty]);
        cli
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin("consilium"));
        c.arg("--profile")
            .arg(&self.dir)
            .args(args)
            .env("CONSILIUM_PASSPHRASE", PASSPHRASE)
            .env_remove("CONSILIUM_PROFILE");
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs a command that must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "consilium {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.ok(&all)).unwrap()
    }
}

/// Every file under `dir` that contains `needle`.
pub fn leaks(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    consilium_testkit::files_containing(dir, needle)
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A profile used in-process (a cheap passphrase derivation: these tests measure sync, not
/// Argon2).
pub fn engine(root: &Path, name: &str, specialty: &str) -> consilium_client::Engine {
    let config = consilium_client::EngineConfig {
        kdf: consilium_client::KdfParams::TEST_ONLY_WEAK,
        ..Default::default()
    };
    consilium_client::Engine::init(
        &root.join(name.replace(' ', "_")),
        &consilium_client::Passphrase::new(PASSPHRASE),
        name,
        specialty,
        config,
    )
    .unwrap()
}

/// `admin` creates circle `name` on `relay` and brings every one of `others` in.
pub fn form_circle(
    admin: &mut consilium_client::Engine,
    others: &mut [&mut consilium_client::Engine],
    name: &str,
    relay: &str,
) {
    admin.create_circle(name, relay).unwrap();
    for o in others.iter_mut() {
        let code = admin.invite(name).unwrap();
        o.join(&code).unwrap();
    }
    admin.sync().unwrap();
    for r in admin.join_requests(name).unwrap() {
        admin
            .approve(
                name,
                r.id,
                &consilium_client::ApprovalCheck::SafetyNumber(r.safety_number.clone()),
            )
            .unwrap();
    }
    admin.sync().unwrap();
    for o in others.iter_mut() {
        o.sync().unwrap();
    }
    admin.sync().unwrap();
    for o in others.iter_mut() {
        o.sync().unwrap();
    }
}

/// An HTTP proxy in front of the relay that, once told to stall, answers only the health check
/// and holds every other request unanswered: a relay that looks alive and serves nothing. One
/// request per connection (it asks for `Connection: close`), so no kept-alive connection slips
/// past the switch.
pub struct StallingProxy {
    pub url: String,
    stalled: Arc<std::sync::atomic::AtomicBool>,
}

/// A proxy's socket, bound before the relay starts (the relay must know the address clients use).
pub struct StallingSocket {
    pub url: String,
    listener: TcpListener,
}

impl StallingProxy {
    pub fn bind() -> StallingSocket {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        StallingSocket { url, listener }
    }

    pub fn stall(&self, on: bool) {
        self.stalled.store(on, std::sync::atomic::Ordering::SeqCst);
    }
}

impl StallingSocket {
    /// Starts forwarding to the relay at `upstream` (host:port).
    pub fn forward_to(self, upstream: &str) -> StallingProxy {
        let StallingSocket { url, listener } = self;
        let stalled = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (up, flag) = (upstream.to_string(), stalled.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (up, flag) = (up.clone(), flag.clone());
                std::thread::spawn(move || relay_one_request(client, &up, &flag));
            }
        });
        StallingProxy { url, stalled }
    }
}

fn relay_one_request(
    mut client: TcpStream,
    upstream: &str,
    stalled: &std::sync::atomic::AtomicBool,
) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match client.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let text = String::from_utf8_lossy(&head).to_string();
    if stalled.load(std::sync::atomic::Ordering::SeqCst) && !text.starts_with("GET /v1/health ") {
        // Hold the connection open, answering nothing, until the client gives up.
        let _ = client.read(&mut [0u8; 1 << 16]);
        std::thread::sleep(Duration::from_secs(600));
        return;
    }
    let length: usize = text
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())
                .flatten()
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    if client.read_exact(&mut body).is_err() {
        return;
    }
    let Ok(mut server) = TcpStream::connect(upstream) else {
        return;
    };
    let head: String = text
        .split_inclusive("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    let head = head.replacen("\r\n", "\r\nConnection: close\r\n", 1);
    if server.write_all(head.as_bytes()).is_err() || server.write_all(&body).is_err() {
        return;
    }
    let _ = std::io::copy(&mut server, &mut client);
}
