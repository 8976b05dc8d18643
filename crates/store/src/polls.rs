//! Polls on cases in circles (the author lists the options) and members' votes.

use consilium_model::codec::{from_cbor, to_cbor};
use consilium_model::{CaseId, CommentId};
use rusqlite::{OptionalExtension, params};

use crate::cases::ensure_case;
use crate::db::CaseDb;
use crate::error::{Result, StoreError};
use crate::shares::refused;

/// The poll and vote rows.
#[derive(Debug, Clone, Copy)]
pub struct Polls<'db> {
    pub(crate) db: &'db CaseDb,
}

impl CaseDb {
    /// Polls and votes.
    pub fn polls(&self) -> Polls<'_> {
        Polls { db: self }
    }
}

impl Polls<'_> {
    pub fn open(
        &self,
        circle: Option<&[u8]>,
        author: &str,
        case: &CaseId,
        poll: &CommentId,
        options: &[String],
    ) -> Result<()> {
        if let Some(circle) = circle
            && !self.db.shares().in_circle(case, circle)?
        {
            return Err(refused("the case is not in this circle"));
        }
        ensure_case(self.db.connection(), case)?;
        self.db.connection().execute(
            "INSERT OR IGNORE INTO polls (id, case_id, options, created_by) VALUES (?1, ?2, ?3, ?4)",
            params![&poll.as_bytes()[..], &case.as_bytes()[..], to_cbor(&options)?, author],
        )?;
        Ok(())
    }

    /// A member's vote; a later vote of the same member replaces the earlier one.
    pub fn cast_vote(
        &self,
        circle: Option<&[u8]>,
        voter: &str,
        poll: &CommentId,
        option: u32,
    ) -> Result<()> {
        let options = self.options(poll)?;
        if let Some(circle) = circle {
            let case: Vec<u8> = self.db.connection().query_row(
                "SELECT case_id FROM polls WHERE id = ?1",
                [&poll.as_bytes()[..]],
                |r| r.get(0),
            )?;
            let case = CaseId::from_bytes(case.try_into().map_err(|_| {
                StoreError::DatabaseCorrupt("a poll's case id is not 16 bytes".into())
            })?);
            if !self.db.shares().in_circle(&case, circle)? {
                return Err(refused("the poll is not in this circle"));
            }
        }
        if option as usize >= options.len() {
            return Err(refused("no such option in this poll"));
        }
        self.db.connection().execute(
            "INSERT INTO votes (poll_id, voter, option) VALUES (?1, ?2, ?3)
             ON CONFLICT (poll_id, voter) DO UPDATE SET option = excluded.option",
            params![&poll.as_bytes()[..], voter, option],
        )?;
        Ok(())
    }

    /// The polls of a case, oldest first.
    pub fn of_case(&self, case: &CaseId) -> Result<Vec<CommentId>> {
        let mut stmt = self
            .db
            .connection()
            .prepare_cached("SELECT id FROM polls WHERE case_id = ?1 ORDER BY rowid")?;
        let rows = stmt
            .query_map([&case.as_bytes()[..]], |r| r.get::<_, Vec<u8>>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|id| Ok(CommentId::from_bytes(crate::rows::to16(&id)?)))
            .collect()
    }

    pub fn options(&self, poll: &CommentId) -> Result<Vec<String>> {
        let blob: Vec<u8> = self
            .db
            .connection()
            .query_row(
                "SELECT options FROM polls WHERE id = ?1",
                [&poll.as_bytes()[..]],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound {
                what: "poll",
                id: poll.to_string(),
            })?;
        Ok(from_cbor(&blob)?)
    }

    /// The option `voter` chose, if they voted.
    pub fn vote_of(&self, poll: &CommentId, voter: &str) -> Result<Option<u32>> {
        Ok(self
            .db
            .connection()
            .query_row(
                "SELECT option FROM votes WHERE poll_id = ?1 AND voter = ?2",
                params![&poll.as_bytes()[..], voter],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Votes per option, in the poll's order.
    pub fn tally(&self, poll: &CommentId) -> Result<Vec<(String, u32)>> {
        let options = self.options(poll)?;
        let mut counts = vec![0u32; options.len()];
        let mut stmt = self
            .db
            .connection()
            .prepare_cached("SELECT option FROM votes WHERE poll_id = ?1")?;
        for option in stmt.query_map([&poll.as_bytes()[..]], |r| r.get::<_, u32>(0))? {
            if let Some(c) = counts.get_mut(option? as usize) {
                *c += 1;
            }
        }
        Ok(options.into_iter().zip(counts).collect())
    }
}
