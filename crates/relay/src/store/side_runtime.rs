//! A runtime of its own for the clients of outside services (the blob bucket, PostgreSQL).
//! The store is called from blocking threads, from tests without any runtime, and at start-up
//! inside the relay's runtime, where a nested `block_on` panics: work is spawned here and
//! waited for on a plain channel, which is safe from all three.

use crate::error::{RelayError, Result};

pub(crate) struct SideRuntime {
    /// Always there until dropped (see `Drop`).
    runtime: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
}

impl SideRuntime {
    pub(crate) fn start(name: &str) -> Result<SideRuntime> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(name)
            .enable_all()
            .build()
            .map_err(|e| RelayError::Internal(e.to_string()))?;
        Ok(SideRuntime {
            handle: runtime.handle().clone(),
            runtime: Some(runtime),
        })
    }

    /// Runs `work` here and waits for its answer.
    pub(crate) fn wait<T: Send + 'static>(
        &self,
        work: impl std::future::Future<Output = T> + Send + 'static,
    ) -> Result<T> {
        wait_on(&self.handle, work)
    }

    /// Where to run work later, for what outlives the call (a download being read).
    pub(crate) fn handle(&self) -> tokio::runtime::Handle {
        self.handle.clone()
    }

    /// Runs `work` here in the background.
    pub(crate) fn spawn(&self, work: impl std::future::Future<Output = ()> + Send + 'static) {
        self.handle.spawn(work);
    }
}

impl Drop for SideRuntime {
    /// The relay drops its store inside its own runtime, where dropping another one blocks and
    /// panics: this one is let go in the background instead.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl std::fmt::Debug for SideRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SideRuntime")
    }
}

/// Runs `work` on the runtime `handle` belongs to and waits for its answer.
pub(crate) fn wait_on<T: Send + 'static>(
    handle: &tokio::runtime::Handle,
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> Result<T> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    handle.spawn(async move {
        let _ = tx.send(work.await);
    });
    rx.recv()
        .map_err(|_| RelayError::Internal("a task of the side runtime failed".into()))
}
