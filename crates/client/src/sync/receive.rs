//! Applying a circle's log: entries in sequence order, each in one transaction with everything it
//! causes (the MLS state step, the case/comment/membership effect, the cursor), so a crash between
//! two entries leaves the vault at one or the other, never between.
//! - an entry at or below the cursor was applied already: a duplicate or a replay, no effect;
//! - an echo of this account's own message is not opened (MLS cannot, and its effect was made
//!   when it was sent): the cursor moves past it;
//! - an entry that cannot be opened or applied (tampered, from a non-member, malformed) is
//!   recorded with its reason and skipped, in one transaction with the cursor: it never blocks the
//!   entries after it;
//! - a failure of this client (a full disk) stops the pass without moving the cursor, so the entry
//!   is applied on the next pass.

use consilium_model::Timestamp;
use consilium_store::{CaseDb, ReceiveFailure, StoreError};

use crate::error::{ClientError, Result};

/// One entry of a circle's log, as the relay served it.
#[derive(Clone, PartialEq, Eq)]
pub struct Entry {
    pub seq: u64,
    /// The sending account, as the relay authenticated it.
    pub sender: String,
    pub message_id: [u8; 16],
    pub mls: Vec<u8>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("seq", &self.seq)
            .field("bytes", &self.mls.len())
            .finish_non_exhaustive()
    }
}

/// Why an entry could not be applied.
#[derive(Debug)]
pub enum Rejection {
    /// The entry is bad (does not decrypt or verify, not from a member, malformed): record it
    /// and go on.
    Bad(String),
    /// This client failed (storage): stop, retry later.
    Local(ClientError),
}

impl From<StoreError> for Rejection {
    fn from(e: StoreError) -> Self {
        Rejection::Local(e.into())
    }
}

/// Opens an entry and applies its effect, writing only through `db` (inside the transaction the
/// caller holds).
pub trait Applier {
    fn apply(&mut self, db: &mut CaseDb, circle: &[u8], entry: &Entry) -> Result<(), Rejection>;

    /// This account's own message, back from the log (MLS cannot open it; its effect was made
    /// when it was queued). One still queued here was accepted without us hearing the answer.
    fn own_echo(&mut self, _db: &mut CaseDb, _circle: &[u8], _entry: &Entry) -> Result<()> {
        Ok(())
    }
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReceiveReport {
    pub applied: usize,
    pub echoes: usize,
    pub duplicates: usize,
    pub rejected: usize,
    /// The sequence numbers rejected in this pass, with why.
    pub failures: Vec<(u64, String)>,
}

/// Applies `entries` (any order, possibly repeated) to the circle.
pub fn apply_log(
    db: &mut CaseDb,
    applier: &mut impl Applier,
    circle: &[u8],
    own_account: &str,
    mut entries: Vec<Entry>,
    now: Timestamp,
) -> Result<ReceiveReport> {
    entries.sort_by_key(|e| e.seq);
    let mut report = ReceiveReport::default();
    for entry in &entries {
        if entry.seq <= db.logs().cursor(circle)? {
            report.duplicates += 1;
            continue;
        }
        if entry.sender == own_account {
            db.atomically(|db| {
                applier.own_echo(db, circle, entry)?;
                Ok::<_, ClientError>(db.logs().advance_cursor(circle, entry.seq)?)
            })?;
            report.echoes += 1;
            continue;
        }
        let outcome = db.atomically(|db| {
            applier.apply(db, circle, entry)?;
            db.logs().advance_cursor(circle, entry.seq)?;
            Ok::<_, Rejection>(())
        });
        match outcome {
            Ok(()) => report.applied += 1,
            Err(Rejection::Bad(reason)) => {
                db.atomically(|db| {
                    let failure = ReceiveFailure {
                        seq: entry.seq,
                        sender: entry.sender.clone(),
                        reason: reason.clone(),
                    };
                    db.logs().record_failure(circle, &failure, now)?;
                    db.logs().advance_cursor(circle, entry.seq)
                })?;
                report.rejected += 1;
                report.failures.push((entry.seq, reason));
            }
            Err(Rejection::Local(e)) => return Err(e),
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use consilium_model::{CaseFields, CaseId};
    use consilium_store::SystemEntropy;
    use std::sync::Arc;

    fn db_with_case() -> (CaseDb, CaseId) {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let db = CaseDb::from_connection(conn, Arc::new(SystemEntropy::new())).unwrap();
        let case = db
            .cases()
            .create(
                CaseFields {
                    title: "Shared".into(),
                    ..Default::default()
                },
                Timestamp(0),
            )
            .unwrap();
        (db, case)
    }

    fn entry(seq: u64, sender: &str, text: &str) -> Entry {
        Entry {
            seq,
            sender: sender.into(),
            message_id: [seq as u8; 16],
            mls: text.as_bytes().to_vec(),
        }
    }

    /// "Opens" an entry by reading its bytes as a comment; "tampered" is bad; "disk full" fails
    /// locally after writing, once.
    struct Comments {
        case: CaseId,
        disk_full_once: bool,
    }

    impl Applier for Comments {
        fn apply(&mut self, db: &mut CaseDb, _: &[u8], e: &Entry) -> Result<(), Rejection> {
            let text = String::from_utf8_lossy(&e.mls).to_string();
            if text == "tampered" {
                return Err(Rejection::Bad("does not verify".into()));
            }
            db.comments()
                .add(&self.case, None, &e.sender, &text, Timestamp(e.seq as i64))?;
            if text == "disk full" && self.disk_full_once {
                self.disk_full_once = false;
                return Err(Rejection::Local(ClientError::Store(StoreError::NotFound {
                    what: "space",
                    id: "disk".into(),
                })));
            }
            Ok(())
        }
    }

    fn bodies(db: &CaseDb, case: &CaseId) -> Vec<String> {
        db.comments()
            .of_case(case)
            .unwrap()
            .into_iter()
            .map(|c| c.body)
            .collect()
    }

    #[test]
    fn entries_apply_in_order_once_and_a_bad_one_is_recorded_and_skipped() {
        let (mut db, case) = db_with_case();
        let mut applier = Comments {
            case: case.clone(),
            disk_full_once: false,
        };
        let log = vec![
            entry(3, "bob", "third"),
            entry(1, "bob", "first"),
            entry(2, "mallory", "tampered"),
            entry(4, "me", "my own echo"),
            entry(5, "carol", "fifth"),
        ];
        let r = apply_log(&mut db, &mut applier, b"C", "me", log.clone(), Timestamp(9)).unwrap();
        assert_eq!(
            r,
            ReceiveReport {
                applied: 3,
                echoes: 1,
                duplicates: 0,
                rejected: 1,
                failures: vec![(2, "does not verify".into())],
            }
        );
        assert_eq!(bodies(&db, &case), vec!["first", "third", "fifth"]);
        assert_eq!(db.logs().cursor(b"C").unwrap(), 5);
        let failures = db.logs().failures(b"C").unwrap();
        assert_eq!(
            (failures[0].seq, failures[0].sender.as_str()),
            (2, "mallory")
        );
        // The same log again (a replay, a refetch): nothing changes.
        let r = apply_log(&mut db, &mut applier, b"C", "me", log, Timestamp(9)).unwrap();
        assert_eq!(r.duplicates, 5);
        assert_eq!(bodies(&db, &case).len(), 3);
    }

    #[test]
    fn a_local_failure_stops_the_pass_and_leaves_no_half_applied_entry() {
        let (mut db, case) = db_with_case();
        let mut applier = Comments {
            case: case.clone(),
            disk_full_once: true,
        };
        let log = vec![
            entry(1, "bob", "first"),
            entry(2, "bob", "disk full"),
            entry(3, "bob", "third"),
        ];
        assert!(apply_log(&mut db, &mut applier, b"C", "me", log.clone(), Timestamp(0)).is_err());
        assert_eq!(bodies(&db, &case), vec!["first"], "entry 2 left no comment");
        assert_eq!(db.logs().cursor(b"C").unwrap(), 1);
        let r = apply_log(&mut db, &mut applier, b"C", "me", log, Timestamp(0)).unwrap();
        assert_eq!((r.applied, r.duplicates), (2, 1));
        assert_eq!(bodies(&db, &case), vec!["first", "disk full", "third"]);
    }
}
