//! The Consilium relay: stores and forwards opaque MLS messages and encrypted blobs for circles,
//! orders each group's handshake messages (one commit per epoch), and never holds a key.
//!
//! Invariants: depends only on `model`'s wire envelopes and on openmls' framing parser; reads no
//! more of an MLS message than its public framing (group id, epoch, content type); everything it
//! acknowledges is on disk first.

pub mod auth;
mod background;
pub mod error;
pub mod framing;
pub mod limits;
mod push;
mod routes;
pub mod store;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use consilium_model::Clock;

pub use background::Background;
pub use error::{RelayError, Result};

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

/// Serves the relay on `listener` until `shutdown` completes, then finishes the requests in
/// flight (for at most the configured grace period) and returns.
pub async fn run(
    listener: tokio::net::TcpListener,
    config: RelayConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::Listener as _;
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};

    let store =
        store::Store::open(&config.data_dir).map_err(|e| std::io::Error::other(e.to_string()))?;
    let grace = config.shutdown_grace;
    let limiter = Arc::new(limits::RateLimiter::new(
        config.rate_burst,
        config.rate_per_second,
    ));
    let tls = match &config.tls {
        Some((cert, key)) => Some(limits::tls_acceptor(cert, key)?),
        None => None,
    };
    let mut listener = limits::LimitedListener::new(listener, config.max_connections, tls);
    let store = Arc::new(store);
    let pruner = tokio::spawn(prune_forever(
        store.clone(),
        config.clock.clone(),
        config.retention,
        config.prune_every,
    ));
    let mut http = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new()).http1_only();
    http.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout);
    let state = routes::AppState {
        store,
        config: Arc::new(config),
        hub: Arc::default(),
        limiter,
    };
    let app = routes::router(state);
    let connections = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            (io, _) = listener.accept() => {
                let service = hyper_util::service::TowerToHyperService::new(app.clone());
                let conn = http.serve_connection_with_upgrades(TokioIo::new(io), service);
                let conn = connections.watch(conn.into_owned());
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        () = connections.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            tracing::warn!("connections still open after the shutdown grace period; stopping anyway");
        }
    }
    pruner.abort();
    Ok(())
}

async fn prune_forever(
    store: Arc<store::Store>,
    clock: Arc<dyn Clock>,
    retention: std::time::Duration,
    every: std::time::Duration,
) {
    let mut tick = tokio::time::interval(every);
    // Nonces outside the signature window are useless; forget them often so the table stays
    // small under load.
    let mut nonce_tick = tokio::time::interval(std::time::Duration::from_secs(30));
    let retention_ms = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
    loop {
        let full = tokio::select! {
            _ = tick.tick() => true,
            _ = nonce_tick.tick() => false,
        };
        let (store, now) = (store.clone(), clock.now().0);
        let done = tokio::task::spawn_blocking(move || {
            store.forget_expired_nonces(now).wait()?;
            if full {
                store.prune(now, retention_ms)?;
            }
            Ok::<_, RelayError>(())
        })
        .await;
        if let Ok(Err(e)) = done {
            tracing::warn!(error = %e, "pruning failed");
        }
    }
}
