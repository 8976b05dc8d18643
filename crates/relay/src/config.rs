//! How a relay runs: where its data lives, its limits, and its clock.

use std::path::PathBuf;
use std::sync::Arc;

use consilium_model::Clock;

/// How a relay runs: where its data lives, its limits, and its clock.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    pub data_dir: PathBuf,
    /// Largest request body, in bytes (MLS messages with their Welcomes, metadata).
    pub max_request_bytes: usize,
    /// Largest blob, in bytes.
    pub max_blob_bytes: u64,
    pub clock: Arc<dyn Clock>,
    /// After shutdown is asked for, how long requests in flight may take before the relay stops
    /// anyway (a client that never finishes its request must not hold the relay up).
    pub shutdown_grace: std::time::Duration,
    /// Requests an account may make at once, and per second after that.
    pub rate_burst: u32,
    pub rate_per_second: u32,
    /// Blob bytes one account may keep on the relay.
    pub blob_quota_bytes: u64,
    /// Connections open at once (idle WebSockets included).
    pub max_connections: usize,
    /// How long messages and blobs are kept when not every member has read them.
    pub retention: std::time::Duration,
    /// How often old data is pruned.
    pub prune_every: std::time::Duration,
    /// PEM certificate chain and private key: serve TLS (rustls) instead of plain HTTP.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// How long a client may take to send a request's headers (slow-header attacks), and then
    /// its body (slow-body attacks).
    pub header_timeout: std::time::Duration,
    pub body_timeout: std::time::Duration,
}

impl RelayConfig {
    pub fn new(data_dir: PathBuf, clock: Arc<dyn Clock>) -> RelayConfig {
        RelayConfig {
            data_dir,
            max_request_bytes: 64 * 1024 * 1024,
            max_blob_bytes: 60 * 1024 * 1024,
            clock,
            shutdown_grace: std::time::Duration::from_secs(10),
            rate_burst: 500,
            rate_per_second: 200,
            blob_quota_bytes: 4 * 1024 * 1024 * 1024,
            max_connections: 10_000,
            retention: std::time::Duration::from_secs(90 * 24 * 3600),
            prune_every: std::time::Duration::from_secs(600),
            tls: None,
            header_timeout: std::time::Duration::from_secs(20),
            body_timeout: std::time::Duration::from_secs(120),
        }
    }
}
