//! A circle's log: fetched page by page past our cursor and applied entry by entry.

use consilium_store::CircleRecord;

use super::circle_apply::CircleApplier;
use super::receive::{Entry, apply_log};
use super::report::{SyncReport, forbidden, offline};
use crate::engine::Engine;
use crate::error::Result;
use crate::events::Event;

/// Log entries asked for at once (the relay may answer fewer, to keep a page small).
const FETCH_PAGE: u64 = 500;

impl Engine {
    /// Applies what the circle's log has past our cursor. A circle whose relay says we are no
    /// longer a member is marked left.
    pub(super) fn fetch_circle(&mut self, c: &CircleRecord, report: &mut SyncReport) -> Result<()> {
        let client = self.net.client(&c.relay)?;
        let me = self.identity.account_id();
        // One applier for the pass, so the circle's state is loaded once; a failure ends the pass.
        let mut applier = CircleApplier::new(self.config.clock.now());
        let start = self.vault.db().logs().cursor(&c.id)?;
        loop {
            let after = self.vault.db().logs().cursor(&c.id)?;
            let page = match self.net.run(client.fetch(&c.id, after, FETCH_PAGE)) {
                Ok(page) => page,
                Err(e) if forbidden(&e) => {
                    self.vault
                        .db()
                        .circles()
                        .mark_left(&c.id, self.config.clock.now())?;
                    report.events.push(Event::RemovedFromCircle {
                        circle: hex::encode(&c.id),
                    });
                    return Ok(());
                }
                Err(e) => return offline(e, report),
            };
            // The relay bounds a page in entries and in bytes: only an empty page says the
            // log is read.
            if page.is_empty() {
                break;
            }
            let entries: Vec<Entry> = page
                .into_iter()
                .filter_map(|e| {
                    Some(Entry {
                        seq: e.seq,
                        sender: e.sender,
                        message_id: e.message_id.to_vec().try_into().ok()?,
                        mls: e.mls.into_vec(),
                    })
                })
                .collect();
            let commits: Vec<u64> = entries
                .iter()
                .filter(|e| consilium_groups::is_commit(&e.mls))
                .map(|e| e.seq)
                .collect();
            let now = self.config.clock.now();
            applier.now = now;
            let r = apply_log(self.vault.db_mut(), &mut applier, &c.id, &me, entries, now)?;
            // A commit this profile cannot process (the relay checked its signature, not what
            // needs the epoch's secrets) would leave the circle stuck: report it, and once
            // enough members did the relay undoes it. Best effort: a report lost on the way is
            // not made again (the entry is recorded as rejected); the other members' count.
            for (seq, _) in r.failures.iter().filter(|(seq, _)| commits.contains(seq)) {
                let _ = self.net.run(client.report_commit(&c.id, *seq));
            }
            report.received += r.applied;
            report.rejected += r.rejected;
            report.events.append(&mut applier.events);
            for (seq, reason) in r.failures {
                report.events.push(Event::MessageRejected {
                    circle: hex::encode(&c.id),
                    seq,
                    reason,
                });
            }
            // A page that moved nothing (entries at or below the cursor) ends the pass for
            // this circle, so a relay cannot keep it here.
            if self.vault.db().logs().cursor(&c.id)? <= after {
                break;
            }
        }
        // Lets the relay drop what every member has read; not needed for correctness.
        let cursor = self.vault.db().logs().cursor(&c.id)?;
        if cursor > start {
            let _ = self.net.run(client.set_cursor(&c.id, cursor));
        }
        Ok(())
    }
}
