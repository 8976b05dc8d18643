//! A circle's log: fetched page by page past our cursor and applied entry by entry.

use consilium_relay_client::Malformed;
use consilium_store::{CircleRecord, ReceiveFailure};

use super::circle_apply::CircleApplier;
use super::receive::{Entry, apply_log};
use super::report::{SyncReport, forbidden};
use crate::engine::Engine;
use crate::error::Result;
use crate::events::Event;

/// Log entries asked for at once (the relay may answer fewer, to keep a page small).
const FETCH_PAGE: u64 = 500;
/// Pages one pass reads of one circle's log: up to 100 000 entries.
const PAGES_PER_PASS: usize = 200;

impl Engine {
    /// Applies what the circle's log has past our cursor. A circle whose relay says we are no
    /// longer a member is marked left.
    pub(super) fn fetch_circle(&mut self, c: &CircleRecord, report: &mut SyncReport) -> Result<()> {
        let client = self.net.client(&c.relay)?;
        // The relay names each entry's sender by its relay account: this device's key.
        let me = self.identity_at(&c.relay).device_account_id();
        // One applier for the pass, so the circle's state is loaded once; a failure ends the pass.
        let mut applier = CircleApplier::new(self.config.clock.now());
        let start = self.vault.db().logs().cursor(&c.id)?;
        for page_number in 0.. {
            // A pass reads a bounded number of pages: a relay that never runs out of entries
            // (made up, each past the last) cannot keep the pass here; an honest backlog longer
            // than this goes on in the next pass.
            if page_number == PAGES_PER_PASS {
                report.events.push(Event::SyncFailed {
                    relay: c.relay.clone(),
                    circle: Some(hex::encode(&c.id)),
                    reason: format!(
                        "the relay sent {PAGES_PER_PASS} pages in one pass; the rest is read in the next"
                    ),
                });
                break;
            }
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
                Err(e) => return Err(e),
            };
            // The relay bounds a page in entries and in bytes: only an empty page says the
            // log is read.
            if page.is_empty() {
                break;
            }
            // Each entry is decoded alone: one that is not an entry is recorded as rejected at
            // its place in the log and skipped; one with no place to record it at ends the pass
            // for this circle, said as such.
            let mut entries: Vec<Entry> = Vec::new();
            let mut malformed: Vec<(u64, String)> = Vec::new();
            for item in page {
                match item {
                    Ok(e) => match <[u8; 16]>::try_from(&e.message_id[..]) {
                        Ok(message_id) => entries.push(Entry {
                            seq: e.seq,
                            sender: e.sender,
                            message_id,
                            mls: e.mls.into_vec(),
                        }),
                        Err(_) => {
                            malformed.push((e.seq, "a log entry with a bad message id".into()))
                        }
                    },
                    Err(Malformed {
                        id: Some(seq),
                        reason,
                    }) => {
                        malformed.push((seq, format!("not a log entry: {reason}")));
                    }
                    Err(Malformed { id: None, reason }) => {
                        report.events.push(Event::SyncFailed {
                            relay: c.relay.clone(),
                            circle: Some(hex::encode(&c.id)),
                            reason: format!(
                                "the relay sent a log entry without a place in the log: {reason}"
                            ),
                        });
                        return Ok(());
                    }
                }
            }
            for (seq, reason) in malformed {
                if seq <= after || entries.iter().any(|e| e.seq == seq) {
                    continue;
                }
                self.vault.db_mut().atomically(|db| {
                    let failure = ReceiveFailure {
                        seq,
                        sender: String::new(),
                        reason: reason.clone(),
                    };
                    db.logs()
                        .record_failure(&c.id, &failure, self.config.clock.now())?;
                    db.logs().advance_cursor(&c.id, seq)
                })?;
                report.rejected += 1;
                report.events.push(Event::MessageRejected {
                    circle: hex::encode(&c.id),
                    seq,
                    reason,
                });
            }
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
            // this circle, so a relay cannot keep it here; an honest relay never sends one.
            if self.vault.db().logs().cursor(&c.id)? <= after {
                report.events.push(Event::SyncFailed {
                    relay: c.relay.clone(),
                    circle: Some(hex::encode(&c.id)),
                    reason: format!(
                        "the relay answered entries at or below {after}, which were read already"
                    ),
                });
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
