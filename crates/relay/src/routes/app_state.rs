//! What every route is handed: the store, the configuration, the push hub, the limiter, the
//! admitted accounts and the upload budget; and what routes read from their paths.

use std::sync::Arc;

use crate::config::RelayConfig;
use crate::error::{RelayError, Result};
use crate::push::PushHub;
use crate::store::{Store, Wakeup};

#[derive(Clone)]
pub(crate) struct AppState {
    pub store: Arc<Store>,
    pub config: Arc<RelayConfig>,
    pub hub: Arc<PushHub>,
    pub limiter: Arc<crate::limits::RateLimiter>,
    pub admitted: Arc<crate::admission::Admitted>,
    /// Blob bytes being received, in KiB (see `RelayConfig::max_uploading_bytes`).
    pub uploading: Arc<tokio::sync::Semaphore>,
    /// Blob uploads in flight (see `RelayConfig::max_uploads`).
    pub uploads: Arc<tokio::sync::Semaphore>,
    /// `GET /v1/health`'s last answer.
    pub health: Arc<super::health::HealthCheck>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppState")
    }
}

impl AppState {
    pub(super) fn now(&self) -> i64 {
        self.config.clock.now().0
    }

    /// Acts on a change here and tells the relay's other instances (`wakeups`).
    pub(super) fn tell(&self, wakeups: Vec<Wakeup>) {
        let here = crate::wakeups::Listeners::new(&self.hub, &self.admitted);
        crate::wakeups::tell(&self.store, &here, wakeups, self.now());
    }

    /// Runs a store operation off the async threads.
    pub(super) async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| RelayError::Internal(e.to_string()))?
    }
}

/// A group id from a path: hex, 1 to 64 bytes.
pub(super) fn group_id(hex_text: &str) -> Result<Vec<u8>> {
    let id = hex::decode(hex_text).map_err(|_| RelayError::BadRequest("bad group id".into()))?;
    if id.is_empty() || id.len() > 64 {
        return Err(RelayError::BadRequest("bad group id".into()));
    }
    Ok(id)
}
