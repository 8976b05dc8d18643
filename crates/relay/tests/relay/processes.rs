//! The relay as a real process (`consilium-relay`), on the test's database.

use consilium_relay::store::DatabaseLocation;

use crate::configs::database_for;

/// The relay as a real process, on a port it picks and reports.
pub struct RelayProcess {
    pub child: std::process::Child,
    pub base: String,
}

pub fn spawn_relay(dir: &std::path::Path) -> RelayProcess {
    spawn_relay_admitting(dir, "open")
}

/// The relay as a real process in admission mode `admission` (`open` or `invite`).
pub fn spawn_relay_admitting(dir: &std::path::Path, admission: &str) -> RelayProcess {
    let database = match database_for(dir) {
        DatabaseLocation::Postgres(url) => vec!["--database".to_string(), url],
        DatabaseLocation::DataFolder => vec![],
    };
    let mut args = vec!["--admission".to_string(), admission.to_string()];
    args.extend(database);
    spawn_relay_with(dir, &args)
}

/// The relay as a real process on `127.0.0.1:0` with its data in `dir` and `args` besides.
pub fn spawn_relay_with(dir: &std::path::Path, args: &[String]) -> RelayProcess {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_consilium-relay"))
        .args(["--listen", "127.0.0.1:0", "--data"])
        .arg(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("relay exited before listening")
            .unwrap();
        if let Some(rest) = line.split("addr=").nth(1) {
            break format!("http://{}", rest.split_whitespace().next().unwrap());
        }
    };
    // Keep draining the log so the relay never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    RelayProcess { child, base }
}
