//! Each circle's log as applied here: the cursor (the last sequence number applied) and the
//! entries that could not be applied, kept with why.

use consilium_model::Timestamp;
use rusqlite::{OptionalExtension, params};

use crate::db::CaseDb;
use crate::error::Result;

/// A message of a circle's log that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiveFailure {
    pub seq: u64,
    pub sender: String,
    pub reason: String,
}

/// The cursor and failure rows.
#[derive(Debug, Clone, Copy)]
pub struct Logs<'db> {
    pub(crate) db: &'db CaseDb,
}

impl CaseDb {
    /// Each circle's log cursor and the entries that could not be applied.
    pub fn logs(&self) -> Logs<'_> {
        Logs { db: self }
    }
}

impl Logs<'_> {
    /// How far this client has applied the circle's log (0: nothing yet).
    pub fn cursor(&self, circle: &[u8]) -> Result<u64> {
        Ok(self
            .db
            .connection()
            .query_row(
                "SELECT seq FROM circle_cursors WHERE circle = ?1",
                [circle],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0))
    }

    /// The next number of this profile's own application messages in `circle`, counted (kept
    /// under the empty sender, which no account is).
    pub fn next_own_number(&self, circle: &[u8]) -> Result<u64> {
        let n: i64 = self.db.connection().query_row(
            "INSERT INTO message_numbers (circle, sender, last) VALUES (?1, '', 1)
             ON CONFLICT (circle, sender) DO UPDATE SET last = last + 1
             RETURNING last",
            params![circle],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    /// Notes that `sender`'s message number `n` arrived in `circle`; how many of theirs were
    /// skipped before it, if any (none is known to be missing before the first one seen: the
    /// member may have joined after).
    pub fn note_number(&self, circle: &[u8], sender: &str, n: u64) -> Result<Option<u64>> {
        let last: Option<i64> = self
            .db
            .connection()
            .query_row(
                "SELECT last FROM message_numbers WHERE circle = ?1 AND sender = ?2",
                params![circle, sender],
                |r| r.get(0),
            )
            .optional()?;
        self.db.connection().execute(
            "INSERT INTO message_numbers (circle, sender, last) VALUES (?1, ?2, ?3)
             ON CONFLICT (circle, sender) DO UPDATE SET last = max(last, excluded.last)",
            params![circle, sender, n as i64],
        )?;
        Ok(last
            .map(|l| l as u64)
            .filter(|l| n > l + 1)
            .map(|l| n - l - 1))
    }

    /// Moves the cursor forward (never back).
    pub fn advance_cursor(&self, circle: &[u8], seq: u64) -> Result<()> {
        self.db.connection().execute(
            "INSERT INTO circle_cursors (circle, seq) VALUES (?1, ?2)
             ON CONFLICT (circle) DO UPDATE SET seq = max(seq, excluded.seq)",
            params![circle, seq],
        )?;
        Ok(())
    }

    pub fn record_failure(
        &self,
        circle: &[u8],
        failure: &ReceiveFailure,
        at: Timestamp,
    ) -> Result<()> {
        self.db.connection().execute(
            "INSERT OR IGNORE INTO receive_failures (circle, seq, sender, reason, at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![circle, failure.seq, failure.sender, failure.reason, at.0],
        )?;
        Ok(())
    }

    pub fn failures(&self, circle: &[u8]) -> Result<Vec<ReceiveFailure>> {
        let mut stmt = self.db.connection().prepare_cached(
            "SELECT seq, sender, reason FROM receive_failures WHERE circle = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map([circle], |r| {
            Ok(ReceiveFailure {
                seq: r.get(0)?,
                sender: r.get(1)?,
                reason: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}
