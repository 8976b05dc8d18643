//! Delivering the outbox: for each circle's oldest queued message, seal it for the circle's
//! current epoch (or reuse the bytes already sealed for it), send it, and act on the answer:
//! - accepted: it leaves the outbox, in one transaction with what acceptance means (a commit
//!   takes effect);
//! - `stale_epoch`: the circle moved on; a pending commit is dropped and the circle is reported
//!   stale, so the caller catches up; the item is sealed (redone) again for the new epoch;
//! - no answer (timeout, relay down): the outcome is unknown, so the *same bytes* are sent again
//!   after a backoff (the relay's message-id idempotency makes a duplicate harmless);
//! - refused for good (removed from the circle, say): the message is marked failed and holds its
//!   circle's queue until the user drops it; other circles go on.
//!
//! Sealing and recording the sealed bytes happen in one transaction, so after a crash either
//! nothing was sealed or exactly those bytes go out. The clock, the jitter and the transport are
//! passed in, so every path is tested without a relay and without sleeping.

use consilium_model::Timestamp;
use consilium_store::{CaseDb, OutboxItem};

use super::receive::Rejection;
use crate::error::Result;

/// What the relay said to one post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Accepted {
        seq: u64,
    },
    StaleEpoch {
        current: u64,
    },
    /// No answer: it may or may not have been applied.
    Ambiguous(String),
    /// The call was ended for someone who wanted the engine (see `net::Interrupt::want`): it
    /// may or may not have been applied, and the item goes again next pass, with no backoff.
    SetAside,
    Refused(String),
}

/// Sends sealed messages to the relay.
pub trait Transport {
    fn post(&mut self, circle: &[u8], message_id: [u8; 16], sealed: &[u8]) -> Delivery;
}

/// The group layer, as the outbox needs it. Every call runs inside a transaction on `db`.
pub trait Sealer {
    /// The circle's current epoch here.
    fn epoch(&mut self, db: &CaseDb, circle: &[u8]) -> Result<u64>;
    /// Whether the item can go now (its attachments are uploaded, say).
    fn ready(&mut self, _db: &CaseDb, _item: &OutboxItem) -> Result<bool> {
        Ok(true)
    }
    /// Makes the bytes to post for the current epoch. `Ok(None)`: nothing to send any more (the
    /// item is dropped); `Rejection::Bad`: it can never be sent (it is marked failed).
    fn seal(&mut self, db: &CaseDb, item: &OutboxItem)
    -> Result<Option<(Vec<u8>, u64)>, Rejection>;
    /// The relay accepted the item.
    fn accepted(&mut self, db: &CaseDb, item: &OutboxItem) -> Result<()>;
    /// The relay refused the item's sealed form (stale, or for good).
    fn refused(&mut self, db: &CaseDb, item: &OutboxItem) -> Result<()>;
}

/// Exponential backoff: 1 s, 2 s, 4 s… capped at 5 minutes, with ±20 % jitter so clients that
/// lost the relay together do not come back together.
pub fn backoff_ms(attempts: u32, jitter: f64) -> i64 {
    const BASE_MS: f64 = 1000.0;
    const MAX_MS: f64 = 300_000.0;
    let exp = BASE_MS * 2f64.powi(attempts.saturating_sub(1).min(20) as i32);
    let jitter = jitter.clamp(0.0, 1.0) * 0.4 - 0.2;
    (exp.min(MAX_MS) * (1.0 + jitter)) as i64
}

/// What one pass over the due items did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: usize,
    pub retrying: usize,
    pub resealed: usize,
    pub failed: usize,
    /// Items waiting for something first (uploads).
    pub waiting: usize,
    /// Circles that moved on without us: catch up, then deliver again.
    pub stale: Vec<Vec<u8>>,
    /// Why the relay could not be reached, if it could not.
    pub offline: Option<String>,
}

/// Sends every item due at `now`, once each. `jitter` yields numbers in [0, 1).
pub fn deliver_due(
    db: &mut CaseDb,
    transport: &mut impl Transport,
    sealer: &mut impl Sealer,
    now: Timestamp,
    jitter: &mut dyn FnMut() -> f64,
) -> Result<DeliveryReport> {
    let mut report = DeliveryReport::default();
    for item in db.outbox().due(now)? {
        attempt(db, transport, sealer, &item, now, jitter, &mut report)?;
    }
    Ok(report)
}

fn attempt(
    db: &mut CaseDb,
    transport: &mut impl Transport,
    sealer: &mut impl Sealer,
    item: &OutboxItem,
    now: Timestamp,
    jitter: &mut dyn FnMut() -> f64,
    report: &mut DeliveryReport,
) -> Result<()> {
    if !sealer.ready(db, item)? {
        report.waiting += 1;
        return Ok(());
    }
    let epoch = sealer.epoch(db, &item.circle)?;
    let sealed = match &item.sealed {
        Some((bytes, sealed_epoch)) if *sealed_epoch == epoch => bytes.clone(),
        _ => {
            let sealing = db.atomically(|db| {
                let sealed = sealer.seal(db, item)?;
                if let Some((bytes, sealed_epoch)) = &sealed {
                    // Recorded with the MLS step: after a crash, these bytes go out again.
                    db.outbox().record_sealed(item.id, bytes, *sealed_epoch)?;
                }
                Ok::<_, Rejection>(sealed)
            });
            match sealing {
                Ok(Some((bytes, _))) => bytes,
                Ok(None) => {
                    db.outbox().mark_delivered(item.id)?;
                    return Ok(());
                }
                Err(Rejection::Bad(reason)) => {
                    db.outbox().mark_failed(item.id, &reason)?;
                    report.failed += 1;
                    return Ok(());
                }
                Err(Rejection::Local(e)) => return Err(e),
            }
        }
    };
    let attempts = item.attempts.saturating_add(1);
    match transport.post(&item.circle, item.message_id, &sealed) {
        Delivery::Accepted { .. } => {
            db.atomically(|db| {
                sealer.accepted(db, item)?;
                db.outbox().mark_delivered(item.id)?;
                Ok::<_, crate::error::ClientError>(())
            })?;
            report.delivered += 1;
        }
        Delivery::StaleEpoch { .. } => {
            db.atomically(|db| {
                sealer.refused(db, item)?;
                db.outbox().clear_sealed(item.id)?;
                db.outbox().schedule_retry(item.id, attempts, now)?;
                Ok::<_, crate::error::ClientError>(())
            })?;
            report.resealed += 1;
            if !report.stale.contains(&item.circle) {
                report.stale.push(item.circle.clone());
            }
        }
        Delivery::Ambiguous(why) => {
            let at = Timestamp(now.0 + backoff_ms(attempts, jitter()));
            db.outbox().schedule_retry(item.id, attempts, at)?;
            report.retrying += 1;
            report.offline = Some(why);
        }
        Delivery::SetAside => report.retrying += 1,
        Delivery::Refused(reason) => {
            db.atomically(|db| {
                sealer.refused(db, item)?;
                db.outbox().mark_failed(item.id, &reason)?;
                Ok::<_, crate::error::ClientError>(())
            })?;
            report.failed += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use consilium_store::SystemEntropy;
    use std::collections::VecDeque;
    use std::sync::Arc;

    fn db() -> CaseDb {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        CaseDb::from_connection(conn, Arc::new(SystemEntropy::new())).unwrap()
    }

    /// Answers from a script and records what was sent.
    #[derive(Default)]
    struct FakeRelay {
        answers: VecDeque<Delivery>,
        sent: Vec<(Vec<u8>, [u8; 16], Vec<u8>)>,
    }

    impl Transport for FakeRelay {
        fn post(&mut self, circle: &[u8], message_id: [u8; 16], sealed: &[u8]) -> Delivery {
            self.sent
                .push((circle.to_vec(), message_id, sealed.to_vec()));
            self.answers
                .pop_front()
                .unwrap_or(Delivery::Accepted { seq: 1 })
        }
    }

    /// Seals as "payload@epoch#n" (n counts seals, as fresh MLS ciphertext would differ).
    /// Accepting an item moves the epoch on (as a commit would); "never" cannot be sealed.
    #[derive(Default)]
    struct FakeGroups {
        epoch: u64,
        seals: u32,
        accepted: u32,
        refused: u32,
    }

    impl Sealer for FakeGroups {
        fn epoch(&mut self, _: &CaseDb, _: &[u8]) -> Result<u64> {
            Ok(self.epoch)
        }
        fn seal(
            &mut self,
            _: &CaseDb,
            item: &OutboxItem,
        ) -> Result<Option<(Vec<u8>, u64)>, Rejection> {
            match &item.payload[..] {
                b"never" => return Err(Rejection::Bad("cannot".into())),
                b"void" => return Ok(None),
                _ => {}
            }
            self.seals += 1;
            let text = format!(
                "{}@{}#{}",
                String::from_utf8_lossy(&item.payload),
                self.epoch,
                self.seals
            );
            Ok(Some((text.into_bytes(), self.epoch)))
        }
        fn accepted(&mut self, _: &CaseDb, _: &OutboxItem) -> Result<()> {
            self.accepted += 1;
            Ok(())
        }
        fn refused(&mut self, _: &CaseDb, _: &OutboxItem) -> Result<()> {
            self.refused += 1;
            Ok(())
        }
    }

    #[test]
    fn an_unanswered_post_is_resent_with_the_same_bytes_after_its_backoff() {
        let mut db = db();
        db.outbox()
            .enqueue(b"C", [1; 16], b"hello", Timestamp(0))
            .unwrap();
        let mut relay = FakeRelay::default();
        relay
            .answers
            .push_back(Delivery::Ambiguous("timeout".into()));
        let mut groups = FakeGroups::default();
        let mut half = || 0.5;
        let r = deliver_due(&mut db, &mut relay, &mut groups, Timestamp(0), &mut half).unwrap();
        assert_eq!(r.retrying, 1);
        // Not due before its backoff (1 s with neutral jitter).
        let r = deliver_due(&mut db, &mut relay, &mut groups, Timestamp(999), &mut half).unwrap();
        assert_eq!(r, DeliveryReport::default());
        let r = deliver_due(&mut db, &mut relay, &mut groups, Timestamp(1000), &mut half).unwrap();
        assert_eq!(r.delivered, 1);
        assert_eq!(relay.sent.len(), 2);
        assert_eq!(relay.sent[0], relay.sent[1], "same message id, same bytes");
        assert_eq!(groups.seals, 1);
        assert_eq!(db.outbox().count().unwrap(), 0);
    }

    #[test]
    fn a_stale_epoch_catches_up_and_seals_again_for_the_new_epoch() {
        let mut db = db();
        db.outbox()
            .enqueue(b"C", [1; 16], b"hello", Timestamp(0))
            .unwrap();
        let mut relay = FakeRelay::default();
        relay.answers.push_back(Delivery::StaleEpoch { current: 1 });
        let mut groups = FakeGroups::default();
        let mut half = || 0.5;
        let r = deliver_due(&mut db, &mut relay, &mut groups, Timestamp(0), &mut half).unwrap();
        assert_eq!((r.resealed, groups.refused), (1, 1));
        assert_eq!(r.stale, vec![b"C".to_vec()], "the caller must catch up");
        groups.epoch = 1; // caught up
        let r = deliver_due(&mut db, &mut relay, &mut groups, Timestamp(0), &mut half).unwrap();
        assert_eq!(r.delivered, 1, "retried at once, not after a backoff");
        assert_eq!(relay.sent[0].2, b"hello@0#1");
        assert_eq!(relay.sent[1].2, b"hello@1#2");
        assert_eq!(relay.sent[0].1, relay.sent[1].1, "the message id stays");
    }

    #[test]
    fn bytes_sealed_before_a_crash_are_sent_again_unless_their_epoch_is_gone() {
        let mut db = db();
        let id = db
            .outbox()
            .enqueue(b"C", [1; 16], b"hello", Timestamp(0))
            .unwrap();
        // A previous run sealed and maybe sent, then died before the answer.
        db.outbox().record_sealed(id, b"sealed-before", 0).unwrap();
        let mut relay = FakeRelay::default();
        let mut groups = FakeGroups::default();
        deliver_due(&mut db, &mut relay, &mut groups, Timestamp(0), &mut || 0.5).unwrap();
        assert_eq!(relay.sent[0].2, b"sealed-before");

        let id = db
            .outbox()
            .enqueue(b"C", [2; 16], b"later", Timestamp(0))
            .unwrap();
        db.outbox()
            .record_sealed(id, b"sealed-for-epoch-0", 0)
            .unwrap();
        groups.epoch = 4;
        deliver_due(&mut db, &mut relay, &mut groups, Timestamp(0), &mut || 0.5).unwrap();
        assert_eq!(relay.sent[1].2, b"later@4#1");
    }

    #[test]
    fn a_refusal_holds_its_circle_and_spares_the_others_and_order_is_kept() {
        let mut db = db();
        db.outbox()
            .enqueue(b"A", [1; 16], b"a1", Timestamp(0))
            .unwrap();
        db.outbox()
            .enqueue(b"A", [2; 16], b"a2", Timestamp(0))
            .unwrap();
        db.outbox()
            .enqueue(b"B", [3; 16], b"b1", Timestamp(0))
            .unwrap();
        db.outbox()
            .enqueue(b"B", [4; 16], b"b2", Timestamp(0))
            .unwrap();
        let mut relay = FakeRelay::default();
        relay
            .answers
            .push_back(Delivery::Refused("forbidden".into()));
        let mut groups = FakeGroups::default();
        for _ in 0..3 {
            deliver_due(&mut db, &mut relay, &mut groups, Timestamp(0), &mut || 0.5).unwrap();
        }
        let sent: Vec<&[u8]> = relay.sent.iter().map(|s| &s.1[..1]).collect();
        assert_eq!(sent, vec![&[1u8][..], &[3], &[4]]);
        assert_eq!(db.outbox().failed().unwrap().len(), 1);
        assert_eq!(
            db.outbox().count().unwrap(),
            2,
            "a1 failed, a2 waits behind it"
        );
    }

    #[test]
    fn an_item_that_cannot_be_sealed_fails_one_with_nothing_left_to_do_goes_and_the_rest_follow() {
        let mut db = db();
        db.outbox()
            .enqueue(b"A", [1; 16], b"never", Timestamp(0))
            .unwrap();
        db.outbox()
            .enqueue(b"B", [2; 16], b"void", Timestamp(0))
            .unwrap();
        db.outbox()
            .enqueue(b"B", [3; 16], b"b2", Timestamp(0))
            .unwrap();
        let mut relay = FakeRelay::default();
        let mut groups = FakeGroups::default();
        let r = deliver_due(&mut db, &mut relay, &mut groups, Timestamp(0), &mut || 0.5).unwrap();
        assert_eq!((r.failed, r.delivered), (1, 0));
        assert!(relay.sent.is_empty(), "neither was posted");
        let r = deliver_due(&mut db, &mut relay, &mut groups, Timestamp(0), &mut || 0.5).unwrap();
        assert_eq!(r.delivered, 1);
        assert_eq!(relay.sent[0].2, b"b2@0#1");
        assert_eq!(groups.accepted, 1, "acceptance is told to the group layer");
        assert_eq!(
            db.outbox().count().unwrap(),
            1,
            "only the failed item is left"
        );
    }

    #[test]
    fn backoff_doubles_up_to_five_minutes_with_bounded_jitter() {
        assert_eq!(backoff_ms(1, 0.5), 1000);
        assert_eq!(backoff_ms(2, 0.5), 2000);
        assert_eq!(backoff_ms(4, 0.5), 8000);
        assert_eq!(backoff_ms(30, 0.5), 300_000);
        assert_eq!(backoff_ms(1, 0.0), 800);
        assert_eq!(backoff_ms(1, 1.0), 1200);
        assert_eq!(backoff_ms(u32::MAX, 0.99), backoff_ms(40, 0.99));
    }
}
