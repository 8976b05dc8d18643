//! The outbox: local changes that must still reach a circle.
//!
//! An outbox item is queued inside the same transaction as the change it carries
//! (`CaseDb::atomically`), so a change is never made without its message nor a message queued
//! without its change. Items of one circle go out in order: only the oldest unsent item of each
//! circle is ever due.

use consilium_model::Timestamp;
use rusqlite::{OptionalExtension, params};

use crate::db::CaseDb;
use crate::error::{Result, StoreError};

/// One queued message.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboxItem {
    pub id: i64,
    pub circle: Vec<u8>,
    pub message_id: [u8; 16],
    pub payload: Vec<u8>,
    /// The sealed bytes last sent and the epoch they were sealed for.
    pub sealed: Option<(Vec<u8>, u64)>,
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
}

impl std::fmt::Debug for OutboxItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The payload is case content: never in a log line.
        f.debug_struct("OutboxItem")
            .field("id", &self.id)
            .field("attempts", &self.attempts)
            .field("sealed_epoch", &self.sealed.as_ref().map(|s| s.1))
            .finish_non_exhaustive()
    }
}

/// The outbox rows.
#[derive(Debug, Clone, Copy)]
pub struct Outbox<'db> {
    pub(crate) db: &'db CaseDb,
}

impl CaseDb {
    /// Changes waiting to reach a circle.
    pub fn outbox(&self) -> Outbox<'_> {
        Outbox { db: self }
    }
}

impl Outbox<'_> {
    /// Queues a message for a circle.
    pub fn enqueue(
        &self,
        circle: &[u8],
        message_id: [u8; 16],
        payload: &[u8],
        now: Timestamp,
    ) -> Result<i64> {
        self.db.connection().execute(
            "INSERT INTO outbox (circle, message_id, payload, next_attempt_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?4)",
            params![circle, &message_id[..], payload, now.0],
        )?;
        Ok(self.db.connection().last_insert_rowid())
    }

    /// The queued item with this message id, due or not.
    pub fn item(&self, message_id: &[u8; 16]) -> Result<Option<OutboxItem>> {
        let mut stmt = self.db.connection().prepare_cached(
            "SELECT id, circle, payload, sealed, sealed_epoch, attempts, next_attempt_at
             FROM outbox WHERE message_id = ?1",
        )?;
        let item = stmt
            .query_row([&message_id[..]], |r| {
                let sealed: Option<Vec<u8>> = r.get(3)?;
                let epoch: Option<u64> = r.get(4)?;
                Ok(OutboxItem {
                    id: r.get(0)?,
                    circle: r.get(1)?,
                    message_id: *message_id,
                    payload: r.get(2)?,
                    sealed: sealed.zip(epoch),
                    attempts: r.get(5)?,
                    next_attempt_at: Timestamp(r.get(6)?),
                })
            })
            .optional()?;
        Ok(item)
    }

    /// The items due at `now`: the head of each circle's queue, if its time has come and it has
    /// not failed for good. A failed head holds its circle's queue until it is dropped.
    pub fn due(&self, now: Timestamp) -> Result<Vec<OutboxItem>> {
        let mut stmt = self.db.connection().prepare_cached(
            "SELECT o.id, o.circle, o.message_id, o.payload, o.sealed, o.sealed_epoch, o.attempts,
                    o.next_attempt_at
             FROM outbox o
             WHERE o.id = (SELECT min(id) FROM outbox WHERE circle = o.circle)
               AND o.failed IS NULL AND o.next_attempt_at <= ?1
             ORDER BY o.id",
        )?;
        let rows = stmt.query_map([now.0], |r| {
            let message_id: Vec<u8> = r.get(2)?;
            let sealed: Option<Vec<u8>> = r.get(4)?;
            let epoch: Option<u64> = r.get(5)?;
            Ok((
                OutboxItem {
                    id: r.get(0)?,
                    circle: r.get(1)?,
                    message_id: [0; 16],
                    payload: r.get(3)?,
                    sealed: sealed.zip(epoch),
                    attempts: r.get(6)?,
                    next_attempt_at: Timestamp(r.get(7)?),
                },
                message_id,
            ))
        })?;
        rows.map(|row| {
            let (mut item, id) = row?;
            item.message_id = id.try_into().map_err(|_| {
                StoreError::DatabaseCorrupt("an outbox message id is not 16 bytes".into())
            })?;
            Ok(item)
        })
        .collect()
    }

    /// Every queued item's id and payload, due or not (to find those a case erasure takes).
    pub fn payloads(&self) -> Result<Vec<(i64, Vec<u8>)>> {
        let mut stmt = self
            .db
            .connection()
            .prepare_cached("SELECT id, payload FROM outbox ORDER BY id")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Gives a queued item other content (what it carried is being erased). Bytes sealed from
    /// the old content are forgotten: the item is sealed afresh.
    pub fn replace_payload(&self, id: i64, payload: &[u8]) -> Result<()> {
        self.db.connection().execute(
            "UPDATE outbox SET payload = ?2, sealed = NULL, sealed_epoch = NULL WHERE id = ?1",
            params![id, payload],
        )?;
        Ok(())
    }

    /// Records the sealed bytes about to be sent, so a retry after an ambiguous failure sends
    /// exactly these.
    pub fn record_sealed(&self, id: i64, sealed: &[u8], epoch: u64) -> Result<()> {
        self.update(
            "UPDATE outbox SET sealed = ?2, sealed_epoch = ?3 WHERE id = ?1",
            params![id, sealed, epoch],
        )
    }

    /// Forgets the sealed bytes (their epoch is gone): the next attempt seals again.
    pub fn clear_sealed(&self, id: i64) -> Result<()> {
        self.update(
            "UPDATE outbox SET sealed = NULL, sealed_epoch = NULL WHERE id = ?1",
            params![id],
        )
    }

    /// The relay acknowledged the item: it leaves the outbox.
    pub fn mark_delivered(&self, id: i64) -> Result<()> {
        self.update("DELETE FROM outbox WHERE id = ?1", params![id])
    }

    pub fn schedule_retry(&self, id: i64, attempts: u32, at: Timestamp) -> Result<()> {
        self.update(
            "UPDATE outbox SET attempts = ?2, next_attempt_at = ?3 WHERE id = ?1",
            params![id, attempts, at.0],
        )
    }

    /// The relay refused the item for good (the sender was removed, say).
    pub fn mark_failed(&self, id: i64, reason: &str) -> Result<()> {
        self.update(
            "UPDATE outbox SET failed = ?2 WHERE id = ?1",
            params![id, reason],
        )
    }

    /// Items that failed for good, with their reasons, for the UI.
    pub fn failed(&self) -> Result<Vec<(i64, String)>> {
        let mut stmt = self
            .db
            .connection()
            .prepare_cached("SELECT id, failed FROM outbox WHERE failed IS NOT NULL ORDER BY id")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn count(&self) -> Result<u64> {
        Ok(self
            .db
            .connection()
            .query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))?)
    }

    pub(crate) fn update(&self, sql: &str, args: impl rusqlite::Params) -> Result<()> {
        let n = self.db.connection().prepare_cached(sql)?.execute(args)?;
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "outbox item",
                id: "?".into(),
            });
        }
        Ok(())
    }

    /// Whether an item with exactly this payload waits for `circle` (not failed).
    pub fn is_payload_queued(&self, circle: &[u8], payload: &[u8]) -> Result<bool> {
        Ok(self
            .db
            .connection()
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM outbox WHERE circle = ?1 AND payload = ?2 AND failed IS NULL)",
                params![circle, payload],
                |r| r.get(0),
            )?)
    }

    /// Whether a message id is still queued (a received echo of it is then our own).
    pub fn is_queued(&self, message_id: &[u8; 16]) -> Result<bool> {
        Ok(self
            .db
            .connection()
            .query_row(
                "SELECT 1 FROM outbox WHERE message_id = ?1",
                [&message_id[..]],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::SystemEntropy;
    use std::sync::Arc;

    fn db() -> CaseDb {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        CaseDb::from_connection(conn, Arc::new(SystemEntropy::new())).unwrap()
    }

    #[test]
    fn only_the_head_of_each_circle_is_due_and_only_when_its_time_has_come() {
        let db = db();
        let a1 = db
            .outbox()
            .enqueue(b"A", [1; 16], b"a1", Timestamp(10))
            .unwrap();
        let a2 = db
            .outbox()
            .enqueue(b"A", [2; 16], b"a2", Timestamp(10))
            .unwrap();
        let b1 = db
            .outbox()
            .enqueue(b"B", [3; 16], b"b1", Timestamp(10))
            .unwrap();
        let ids = |now| -> Vec<i64> {
            db.outbox()
                .due(Timestamp(now))
                .unwrap()
                .iter()
                .map(|i| i.id)
                .collect()
        };
        assert_eq!(ids(9), Vec::<i64>::new());
        assert_eq!(ids(10), vec![a1, b1]);
        db.outbox().schedule_retry(a1, 1, Timestamp(50)).unwrap();
        assert_eq!(ids(20), vec![b1], "a2 waits behind a1");
        db.outbox().record_sealed(a1, b"sealed", 3).unwrap();
        let head = &db.outbox().due(Timestamp(50)).unwrap()[0];
        assert_eq!(head.sealed, Some((b"sealed".to_vec(), 3)));
        assert_eq!(head.attempts, 1);
        assert!(!format!("{head:?}").contains("a1"), "no payload in Debug");
        db.outbox().mark_delivered(a1).unwrap();
        assert!(!db.outbox().is_queued(&[1; 16]).unwrap());
        assert_eq!(ids(50), vec![a2, b1]);
        db.outbox().mark_failed(a2, "forbidden").unwrap();
        assert_eq!(ids(50), vec![b1]);
        assert_eq!(
            db.outbox().failed().unwrap(),
            vec![(a2, "forbidden".to_string())]
        );
        assert!(
            db.outbox()
                .enqueue(b"A", [3; 16], b"dup", Timestamp(1))
                .is_err(),
            "message ids are unique"
        );
    }
}
