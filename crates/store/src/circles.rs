//! What circles bring into the vault: the circles themselves, cases received from them (keeping
//! their author's id and revision numbers, and who may change them), comments under their
//! author's id, polls and votes, and members' self-descriptions. Every method checks that the
//! sender may do what it asks in that circle; a refusal is `StoreError::Refused`, which the
//! receiving side records and skips.

use consilium_model::app::CommentPosted;
use consilium_model::codec::{from_cbor, to_cbor};
use consilium_model::{CaseFields, CaseId, CommentId, Timestamp};
use rusqlite::{OptionalExtension, params};

use crate::cases::{CaseDb, ensure_case};
use crate::error::{Result, StoreError};

fn refused(why: &str) -> StoreError {
    StoreError::Refused(why.to_string())
}

/// A circle as this profile knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CircleRecord {
    pub id: Vec<u8>,
    pub name: String,
    pub relay: String,
    pub created_at: Timestamp,
}

impl CaseDb {
    pub fn add_circle(&self, id: &[u8], name: &str, relay: &str, now: Timestamp) -> Result<()> {
        self.connection().execute(
            "INSERT INTO circles (id, name, relay, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![id, name, relay, now.0],
        )?;
        Ok(())
    }

    pub fn circles(&self) -> Result<Vec<CircleRecord>> {
        let mut stmt = self.connection().prepare_cached(
            "SELECT id, name, relay, created_at FROM circles WHERE left_at IS NULL ORDER BY name",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(CircleRecord {
                id: r.get(0)?,
                name: r.get(1)?,
                relay: r.get(2)?,
                created_at: Timestamp(r.get(3)?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Where a received case came from: (circle, author). `None` for an own case.
    pub fn case_origin(&self, case: &CaseId) -> Result<Option<(Vec<u8>, String)>> {
        Ok(self
            .connection()
            .query_row(
                "SELECT circle, author FROM case_origins WHERE case_id = ?1",
                [&case.as_bytes()[..]],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Records that an own case was shared with a circle.
    pub fn mark_shared(&self, case: &CaseId, circle: &[u8]) -> Result<()> {
        ensure_case(self.connection(), case)?;
        self.connection().execute(
            "INSERT OR IGNORE INTO case_shares (case_id, circle) VALUES (?1, ?2)",
            params![&case.as_bytes()[..], circle],
        )?;
        Ok(())
    }

    /// Whether a case is visible in a circle: received from it, or shared with it.
    fn in_circle(&self, case: &CaseId, circle: &[u8]) -> Result<bool> {
        Ok(self
            .connection()
            .query_row(
                "SELECT 1 FROM case_origins WHERE case_id = ?1 AND circle = ?2
                 UNION ALL SELECT 1 FROM case_shares WHERE case_id = ?1 AND circle = ?2",
                params![&case.as_bytes()[..], circle],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// A case shared (or revised) by `author` in `circle`. A new case is stored under its
    /// author's id; a known one is updated only by its author and only to a newer revision (an
    /// older or repeated revision changes nothing).
    pub fn receive_case(
        &mut self,
        circle: &[u8],
        author: &str,
        case: &CaseId,
        revision: u32,
        fields: CaseFields,
        now: Timestamp,
    ) -> Result<bool> {
        match self.case_origin(case)? {
            None if self.revision(case).is_ok() => Err(refused("a case id that is one of ours")),
            None => {
                self.insert_case(case, fields, revision, now)?;
                self.connection().execute(
                    "INSERT INTO case_origins (case_id, circle, author) VALUES (?1, ?2, ?3)",
                    params![&case.as_bytes()[..], circle, author],
                )?;
                Ok(true)
            }
            Some((c, a)) if c != circle || a != author => {
                Err(refused("only the author may revise a case, in its circle"))
            }
            Some(_) if revision <= self.revision(case)? => Ok(false),
            Some(_) => {
                self.revise_case(case, fields, revision, now)?;
                Ok(true)
            }
        }
    }

    /// The author withdraws a received case: this profile's copy is deleted.
    pub fn retract_case(&mut self, circle: &[u8], author: &str, case: &CaseId) -> Result<()> {
        match self.case_origin(case)? {
            Some((c, a)) if c == circle && a == author => {
                self.connection()
                    .execute("DELETE FROM cases WHERE id = ?1", [&case.as_bytes()[..]])?;
                Ok(())
            }
            None if self.revision(case).is_err() => Ok(()),
            _ => Err(refused("only the author may retract a case")),
        }
    }

    /// A comment by a member of `circle` on a case visible there; a repeat changes nothing.
    pub fn receive_comment(
        &mut self,
        circle: &[u8],
        author: &str,
        comment: &CommentPosted,
    ) -> Result<bool> {
        if !self.in_circle(&comment.case_id, circle)? {
            return Err(refused("the case is not in this circle"));
        }
        let known = self
            .connection()
            .query_row(
                "SELECT 1 FROM comments WHERE id = ?1",
                [&comment.comment_id.as_bytes()[..]],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if known {
            return Ok(false);
        }
        self.insert_comment(
            &comment.comment_id,
            &comment.case_id,
            comment.reply_to.as_ref(),
            author,
            &comment.body,
            comment.created_at,
        )?;
        Ok(true)
    }

    pub fn open_poll(
        &self,
        circle: Option<&[u8]>,
        author: &str,
        case: &CaseId,
        poll: &CommentId,
        options: &[String],
    ) -> Result<()> {
        if let Some(circle) = circle
            && !self.in_circle(case, circle)?
        {
            return Err(refused("the case is not in this circle"));
        }
        ensure_case(self.connection(), case)?;
        self.connection().execute(
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
        let options = self.poll_options(poll)?;
        if let Some(circle) = circle {
            let case: Vec<u8> = self.connection().query_row(
                "SELECT case_id FROM polls WHERE id = ?1",
                [&poll.as_bytes()[..]],
                |r| r.get(0),
            )?;
            let case = CaseId::from_bytes(case.try_into().map_err(|_| {
                StoreError::DatabaseCorrupt("a poll's case id is not 16 bytes".into())
            })?);
            if !self.in_circle(&case, circle)? {
                return Err(refused("the poll is not in this circle"));
            }
        }
        if option as usize >= options.len() {
            return Err(refused("no such option in this poll"));
        }
        self.connection().execute(
            "INSERT INTO votes (poll_id, voter, option) VALUES (?1, ?2, ?3)
             ON CONFLICT (poll_id, voter) DO UPDATE SET option = excluded.option",
            params![&poll.as_bytes()[..], voter, option],
        )?;
        Ok(())
    }

    /// The polls of a case, oldest first.
    pub fn polls_of(&self, case: &CaseId) -> Result<Vec<CommentId>> {
        let mut stmt = self
            .connection()
            .prepare_cached("SELECT id FROM polls WHERE case_id = ?1 ORDER BY rowid")?;
        let rows = stmt
            .query_map([&case.as_bytes()[..]], |r| r.get::<_, Vec<u8>>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|id| Ok(CommentId::from_bytes(crate::cases::to16(&id)?)))
            .collect()
    }

    /// The circles a case is in: the one it came from, or those it was shared with.
    pub fn case_circles(&self, case: &CaseId) -> Result<Vec<Vec<u8>>> {
        let mut stmt = self.connection().prepare_cached(
            "SELECT circle FROM case_origins WHERE case_id = ?1
             UNION SELECT circle FROM case_shares WHERE case_id = ?1",
        )?;
        let rows = stmt.query_map([&case.as_bytes()[..]], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn poll_options(&self, poll: &CommentId) -> Result<Vec<String>> {
        let blob: Vec<u8> = self
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
        let options = self.poll_options(poll)?;
        let mut counts = vec![0u32; options.len()];
        let mut stmt = self
            .connection()
            .prepare_cached("SELECT option FROM votes WHERE poll_id = ?1")?;
        for option in stmt.query_map([&poll.as_bytes()[..]], |r| r.get::<_, u32>(0))? {
            if let Some(c) = counts.get_mut(option? as usize) {
                *c += 1;
            }
        }
        Ok(options.into_iter().zip(counts).collect())
    }

    pub fn set_member_profile(
        &self,
        circle: &[u8],
        account: &str,
        name: &str,
        specialty: &str,
    ) -> Result<()> {
        self.connection().execute(
            "INSERT INTO circle_members (circle, account, name, specialty) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (circle, account) DO UPDATE SET name = excluded.name,
                 specialty = excluded.specialty",
            params![circle, account, name, specialty],
        )?;
        Ok(())
    }

    /// (account, name, specialty) of the members who introduced themselves.
    pub fn member_profiles(&self, circle: &[u8]) -> Result<Vec<(String, String, String)>> {
        let mut stmt = self.connection().prepare_cached(
            "SELECT account, name, specialty FROM circle_members WHERE circle = ?1 ORDER BY name",
        )?;
        let rows = stmt.query_map([circle], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}
