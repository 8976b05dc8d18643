//! Waiting for news without holding the engine: the relays' push sockets, and a quick health
//! probe a face runs before a sync pass so a relay that hangs never holds the engine.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::engine::Engine;
use crate::error::Result;

/// Waits on every relay's push socket; see `Engine::news_waiter`.
pub struct NewsWaiter {
    runtime: std::sync::Arc<tokio::runtime::Runtime>,
    clients: Vec<consilium_relay_client::RelayClient>,
}

impl std::fmt::Debug for NewsWaiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewsWaiter")
            .field("relays", &self.clients.len())
            .finish()
    }
}

impl NewsWaiter {
    /// Returns when any relay pushes a notification, or after `idle` (also when none can be
    /// reached).
    pub fn wait(&self, idle: Duration) {
        self.wait_with(idle, std::future::pending());
    }

    /// Why a relay of ours does not answer its health check within `within`, if one does not:
    /// a face asks before a sync pass, so a relay that hangs never holds the engine.
    pub fn unreachable(&self, within: Duration) -> Option<String> {
        let clients = self.clients.clone();
        self.runtime.block_on(async move {
            let mut probes = tokio::task::JoinSet::new();
            for c in clients {
                probes.spawn(async move {
                    match tokio::time::timeout(within, c.health()).await {
                        Ok(Ok(())) => None,
                        Ok(Err(e)) => Some(e.to_string()),
                        Err(_) => Some(format!(
                            "the relay {} did not answer within {} s",
                            c.base(),
                            within.as_secs()
                        )),
                    }
                });
            }
            while let Some(probe) = probes.join_next().await {
                if let Ok(Some(why)) = probe {
                    return Some(why);
                }
            }
            None
        })
    }

    /// Like `wait`, and also returns when `also` completes (a face's "sync now").
    pub fn wait_with(&self, idle: Duration, also: impl std::future::Future<Output = ()>) {
        let clients = self.clients.clone();
        self.runtime.block_on(async move {
            // One task per relay's socket; the first notification from any of them ends the wait.
            let mut sockets = tokio::task::JoinSet::new();
            for c in clients {
                sockets.spawn(async move {
                    match c.push_socket().await {
                        Ok(mut s) => drop(s.next().await),
                        // Unreachable: only the idle timeout ends this wait.
                        Err(_) => std::future::pending::<()>().await,
                    }
                });
            }
            tokio::select! {
                _ = tokio::time::timeout(idle, sockets.join_next()) => {}
                () = also => {}
            }
            sockets.abort_all();
        });
    }
}

impl Engine {
    /// The relays this profile talks to: its circles' and those of the circles it asked to join.
    pub(crate) fn relays(&self) -> Result<BTreeSet<String>> {
        let db = self.vault.db();
        Ok(db
            .circles()?
            .into_iter()
            .map(|c| c.relay)
            .chain(db.pending_joins()?.into_iter().map(|j| j.relay))
            .collect())
    }

    /// Waits until a relay of ours pushes news, or `idle` passes (also when offline).
    pub(crate) fn wait_for_news(&mut self, idle: Duration) {
        self.news_waiter().wait(idle);
    }

    /// What waits for the relays' push notifications without holding the engine, so a face can
    /// let other calls run meanwhile (the desktop's background sync).
    pub fn news_waiter(&mut self) -> NewsWaiter {
        let clients = self
            .relays()
            .unwrap_or_default()
            .iter()
            .filter_map(|r| self.net.client(r).ok())
            .collect();
        NewsWaiter {
            runtime: self.net.runtime(),
            clients,
        }
    }
}
