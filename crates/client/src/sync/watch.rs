//! Waiting between passes: the relays this profile watches, and syncing again whenever one of
//! them pushes news.

use std::collections::BTreeSet;
use std::time::Duration;

use super::report::SyncReport;
use crate::engine::Engine;
use crate::error::Result;
use crate::net::NewsWaiter;

impl Engine {
    /// Syncs, then waits for the relays' push notifications (or `idle` at most) and syncs
    /// again, until `go_on` says stop.
    pub fn sync_watch(
        &mut self,
        idle: Duration,
        go_on: &mut dyn FnMut(&SyncReport) -> bool,
    ) -> Result<()> {
        loop {
            let report = self.sync()?;
            if !go_on(&report) {
                return Ok(());
            }
            self.wait_for_news(idle);
        }
    }

    /// The relays this profile talks to: its circles' and those of the circles it asked to join.
    pub(crate) fn relays(&self) -> Result<BTreeSet<String>> {
        let db = self.vault.db();
        Ok(db
            .circles()
            .all()?
            .into_iter()
            .map(|c| c.relay)
            .chain(
                db.membership()
                    .pending_joins()?
                    .into_iter()
                    .map(|j| j.relay),
            )
            .collect())
    }

    /// Waits until a relay of ours pushes news, or `idle` passes (also when offline).
    pub(crate) fn wait_for_news(&mut self, idle: Duration) {
        self.news_waiter().wait(idle);
    }

    /// The handle that ends this engine's relay calls at once: a face raises it before it
    /// takes the engine to lock it, so a sync waiting on a slow relay lets go within moments.
    pub fn interrupt(&self) -> crate::net::Interrupt {
        self.net.interrupt()
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
        NewsWaiter::new(self.net.runtime(), clients)
    }
}
