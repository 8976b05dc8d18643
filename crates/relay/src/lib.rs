//! The Consilium relay: stores and forwards opaque MLS messages and encrypted blobs for circles,
//! orders each group's handshake messages (one commit per epoch), and never holds a key.
//!
//! Invariants: depends only on `model`'s wire envelopes and on openmls' framing parser; reads no
//! more of an MLS message than its public framing (group id, epoch, content type); everything it
//! acknowledges is on disk first.

pub mod auth;
pub mod error;
pub mod framing;
mod push;
mod routes;
pub mod store;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use consilium_model::Clock;

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
}

impl RelayConfig {
    pub fn new(data_dir: PathBuf, clock: Arc<dyn Clock>) -> RelayConfig {
        RelayConfig {
            data_dir,
            max_request_bytes: 64 * 1024 * 1024,
            max_blob_bytes: 60 * 1024 * 1024,
            clock,
            shutdown_grace: std::time::Duration::from_secs(10),
        }
    }
}

/// Serves the relay on `listener` until `shutdown` completes, then finishes the requests in
/// flight and returns.
pub async fn run(
    listener: tokio::net::TcpListener,
    config: RelayConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let store =
        store::Store::open(&config.data_dir).map_err(|e| std::io::Error::other(e.to_string()))?;
    let (push, _) = tokio::sync::broadcast::channel(4096);
    let state = routes::AppState {
        store: Arc::new(store),
        config: Arc::new(config),
        push,
    };
    let app = routes::router(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
