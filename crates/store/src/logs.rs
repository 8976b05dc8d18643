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
