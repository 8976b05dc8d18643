//! Waiting for news without holding the engine: the relays' push sockets, and a quick health
//! probe a face runs before a sync pass so a relay that hangs never holds the engine.

use std::time::Duration;

/// Waits on every relay's push socket; made by `Engine::news_waiter`.
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
    pub(crate) fn new(
        runtime: std::sync::Arc<tokio::runtime::Runtime>,
        clients: Vec<consilium_relay_client::RelayClient>,
    ) -> NewsWaiter {
        NewsWaiter { runtime, clients }
    }

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
            // With no relay (a profile with no circle yet) the set is empty and `join_next`
            // answers at once: only the idle time or `also` may end that wait, or a face's
            // loop would spin.
            let notified = async {
                match sockets.join_next().await {
                    Some(_) => {}
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = tokio::time::timeout(idle, notified) => {}
                () = also => {}
            }
            sockets.abort_all();
        });
    }
}
