//! Sync: everything that moves between the vault and the circles' relays. One pass
//! (`Engine::sync`) reads each relay's mailbox (Welcomes to circles we asked to join, join
//! requests to ours), keeps key packages published, applies every circle's log, sends the outbox
//! (uploading attachments first, catching up and redoing what a concurrent commit made stale),
//! and downloads the images of received cases. A relay that cannot be reached is reported,
//! never an error: what was queued stays queued.
//!
//! The files that name `Engine` drive one step of the pass (`mailbox`, `log`, `transfers`,
//! `send`, `upkeep`, `watch`); below them are the state machines, which know only the vault and
//! the traits they are given, so they are tested with fakes: `outbox` (deliver, retry, redo),
//! `receive` (apply a log entry by entry), `circle_apply` (their MLS side), `effects` (what a
//! circle's message does to the cases), `erasure` (a case erased here, its queued messages
//! emptied), `payload` (what the outbox holds), `queue` (putting it
//! there) and `routes` (a relay as the outbox's transport).
//!
//! Architecture Invariant: the state machines never name `Engine` (a tidy test keeps it so).

mod circle_apply;
mod device_move;
mod effects;
pub(crate) mod erasure;
mod log;
mod mailbox;
mod member_events;
pub(crate) mod outbox;
pub(crate) mod payload;
pub(crate) mod queue;
mod receive;
mod report;
mod routes;
mod send;
mod transfers;
mod upkeep;
mod watch;

pub use report::SyncReport;
pub(crate) use report::isolate;
pub(crate) use upkeep::relay_state;

use crate::engine::Engine;
use crate::error::Result;
use crate::events::{Transfer, TransferWatch};

impl Engine {
    /// Calls `f` after each image rendition uploaded or downloaded by `sync`.
    pub fn on_transfer(&mut self, f: impl FnMut(&Transfer) + Send + 'static) {
        self.transfers = TransferWatch(Some(Box::new(f)));
    }

    /// Sends what is queued and applies everything new, until caught up. A relay that runs out
    /// of patience is reported offline and not asked again in this pass.
    pub fn sync(&mut self) -> Result<SyncReport> {
        self.net.begin_pass();
        let pass = self.sync_pass();
        let set_aside = self.net.end_pass();
        // A pass ended for someone who wanted the engine says so, not that a relay is offline
        // (it was never asked); the caller runs the next one once the engine is free.
        pass.map(|mut report| {
            if set_aside {
                report.cut_short = true;
                report.offline = None;
            }
            report
        })
    }

    fn sync_pass(&mut self) -> Result<SyncReport> {
        let mut report = SyncReport::default();
        self.move_device(&mut report)?;
        self.ask_readmissions(&mut report)?;
        for relay in &self.relays()? {
            if let Err(e) = self
                .read_mailbox(relay, &mut report)
                .and_then(|()| self.publish_key_packages(relay))
            {
                isolate(e, relay, None, &mut report)?;
            }
        }
        for c in self.vault.db().circles().all()? {
            if let Err(e) = self.fetch_circle(&c, &mut report) {
                isolate(e, &c.relay, Some(&c.id), &mut report)?;
            }
        }
        self.switch_to_checked_commits(&mut report)?;
        self.rotate_due()?;
        self.commit_proposals()?;
        // Each round sends the head of every circle's queue; a stale head is redone after
        // catching up. Bounded, so a relay that keeps refusing cannot keep us here.
        for _ in 0..100_000 {
            self.upload_due(&mut report)?;
            let delivery = self.deliver(&mut report)?;
            for circle in &delivery.stale {
                if let Ok(c) = self.vault.db().circles().get(circle)
                    && let Err(e) = self.fetch_circle(&c, &mut report)
                {
                    isolate(e, &c.relay, Some(&c.id), &mut report)?;
                }
            }
            // Proposals only arrive with what was fetched: look again only after a catch-up.
            let commits = if delivery.stale.is_empty() {
                0
            } else {
                self.commit_proposals()?
            };
            if delivery.delivered == 0 && delivery.stale.is_empty() && commits == 0 {
                break;
            }
        }
        self.download_attachments(&mut report)?;
        self.withdraw_blobs(&mut report)?;
        let expired = self.expire_cases(&mut report.events)?;
        let retracted = report
            .events
            .iter()
            .any(|e| matches!(e, crate::events::Event::CaseRetracted { .. }));
        if expired || retracted {
            // Erased cases' rows are gone: their files and the WAL's old pages go too.
            self.vault.settle_erasures()?;
        }
        report.queued = self.vault.db().outbox().count()?;
        report.failed = self
            .vault
            .db()
            .outbox()
            .failed()?
            .into_iter()
            .map(|(_, why)| why)
            .collect();
        Ok(report)
    }

    /// How many messages wait in the outbox for a relay.
    pub fn queued(&self) -> Result<u64> {
        Ok(self.vault.db().outbox().count()?)
    }
}
