//! How a relay runs: where its data lives, its limits, and its clock.

use std::path::PathBuf;
use std::sync::Arc;

use consilium_model::Clock;

/// How a relay runs: where its data lives, its limits, and its clock.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    pub data_dir: PathBuf,
    /// Largest request body, in bytes (MLS messages with their Welcomes, metadata); never more
    /// than the largest CBOR document the relay decodes (`codec::MAX_DOCUMENT_BYTES`).
    pub max_request_bytes: usize,
    /// Largest blob, in bytes.
    pub max_blob_bytes: u64,
    /// Blob bytes being received at once, over all requests, as their requests declare them
    /// (uploads stream to disk or the bucket, but each holds a file or a multipart upload
    /// while it lasts): past it an upload is answered `busy` before its body is read.
    pub max_uploading_bytes: u64,
    /// Blob uploads in flight at once, however small: each holds a blocking thread while its
    /// body streams, so many that declare one byte and send nothing must not hold them all.
    pub max_uploads: usize,
    pub clock: Arc<dyn Clock>,
    /// After shutdown is asked for, how long requests in flight may take before the relay stops
    /// anyway (a client that never finishes its request must not hold the relay up).
    pub shutdown_grace: std::time::Duration,
    /// Requests an account may make at once, and per second after that, over the whole relay.
    pub rate_burst: u32,
    pub rate_per_second: u32,
    /// Instances serving this relay behind a load balancer: each counts an account's requests
    /// on its own, against its share of the rates (the rate divided by this), so that with
    /// requests spread over them the account gets about the configured rate in all.
    pub instances: u32,
    /// Blob bytes one account may keep on the relay.
    pub blob_quota_bytes: u64,
    /// Connections open at once (idle WebSockets included).
    pub max_connections: usize,
    /// Connections one client address may hold open at once, so one host cannot take every
    /// slot (a hospital's NAT is one address: generous, but well below `max_connections`).
    pub max_connections_per_address: usize,
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
    /// A connection silent this long while the relay waits to read is closed (keep-alive
    /// between requests; the push socket pings every `ping_every`, well within it).
    pub idle_timeout: std::time::Duration,
    /// A write that makes no progress this long (the peer stopped reading) closes the
    /// connection, so a slow reader holds neither its slot nor the response for ever.
    pub write_stall_timeout: std::time::Duration,
    /// How often the push socket pings; a socket that has not answered for two of these is
    /// closed.
    pub ping_every: std::time::Duration,
    /// The base URLs clients reach this relay at (`https://relay.example.org`, a load
    /// balancer's or a proxy's address), which every signed request names. `run` adds the
    /// listening address (`http://IP:PORT`, and `http://localhost:PORT` on loopback).
    pub origins: Vec<String>,
    /// Who may use the relay (see `admission`): `Invite` unless the relay listens on loopback.
    pub admission: crate::admission::Admission,
    /// Load balancers in front of the relay whose connections start with a PROXY protocol v1
    /// line naming the client, whose address then counts for the per-address cap.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Where records live: SQLite in the data folder (default) or PostgreSQL.
    pub database: crate::store::DatabaseLocation,
    /// Where blob bytes live: the data folder (default) or an S3-compatible bucket.
    pub blobs: crate::store::BlobLocation,
}

impl RelayConfig {
    pub fn new(data_dir: PathBuf, clock: Arc<dyn Clock>) -> RelayConfig {
        RelayConfig {
            data_dir,
            max_request_bytes: consilium_model::codec::MAX_DOCUMENT_BYTES,
            max_blob_bytes: 60 * 1024 * 1024,
            max_uploading_bytes: 512 * 1024 * 1024,
            max_uploads: 64,
            clock,
            shutdown_grace: std::time::Duration::from_secs(10),
            rate_burst: 500,
            rate_per_second: 200,
            instances: 1,
            blob_quota_bytes: 4 * 1024 * 1024 * 1024,
            max_connections: 10_000,
            max_connections_per_address: 256,
            retention: std::time::Duration::from_secs(90 * 24 * 3600),
            prune_every: std::time::Duration::from_secs(600),
            tls: None,
            header_timeout: std::time::Duration::from_secs(20),
            body_timeout: std::time::Duration::from_secs(120),
            idle_timeout: std::time::Duration::from_secs(120),
            write_stall_timeout: std::time::Duration::from_secs(30),
            ping_every: std::time::Duration::from_secs(30),
            origins: Vec::new(),
            admission: crate::admission::Admission::Invite,
            trusted_proxies: Vec::new(),
            database: crate::store::DatabaseLocation::DataFolder,
            blobs: crate::store::BlobLocation::Folder,
        }
    }
}

/// The origins a relay listening on `addr` is reached at when none are configured.
pub(crate) fn default_origins(addr: std::net::SocketAddr, tls: bool) -> Vec<String> {
    let scheme = if tls { "https" } else { "http" };
    let mut origins = vec![consilium_model::wire::origin(&format!("{scheme}://{addr}"))];
    if addr.ip().is_loopback() {
        origins.push(format!("{scheme}://localhost:{}", addr.port()));
    }
    origins
}
