//! Which cases are in which circle: our cases shared there, and cases received from a circle
//! (keeping their author's id and revision numbers, and who may change them), with comments
//! under their author's id. Every method checks that the sender may do what it asks in that
//! circle; a refusal is `StoreError::Refused`, which the receiving side records and skips.

use consilium_model::app::CommentPosted;
use consilium_model::{CaseFields, CaseId, Timestamp};
use rusqlite::{OptionalExtension, params};

use crate::cases::ensure_case;
use crate::db::CaseDb;
use crate::error::{Result, StoreError};

pub(crate) fn refused(why: &str) -> StoreError {
    StoreError::Refused(why.to_string())
}

/// The share and origin rows.
#[derive(Debug, Clone, Copy)]
pub struct Shares<'db> {
    pub(crate) db: &'db CaseDb,
}

impl CaseDb {
    /// Which cases are in which circle: shared ours, received theirs, and their comments.
    pub fn shares(&self) -> Shares<'_> {
        Shares { db: self }
    }
}

impl Shares<'_> {
    /// Where a received case came from: (circle, author). `None` for an own case.
    pub fn origin(&self, case: &CaseId) -> Result<Option<(Vec<u8>, String)>> {
        Ok(self
            .db
            .connection()
            .query_row(
                "SELECT circle, author FROM case_origins WHERE case_id = ?1",
                [&case.as_bytes()[..]],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// The received cases whose circle's retention has run out at `now` (counted from when
    /// each arrived), with their circle.
    pub fn expired(&self, now: Timestamp) -> Result<Vec<(Vec<u8>, CaseId)>> {
        const DAY_MS: i64 = 86_400_000;
        let mut stmt = self.db.connection().prepare_cached(
            "SELECT o.circle, o.case_id FROM case_origins o
             JOIN circles c ON c.id = o.circle
             JOIN cases k ON k.id = o.case_id
             WHERE c.retention_days IS NOT NULL
               AND k.created_at + c.retention_days * ?2 <= ?1",
        )?;
        let rows = stmt
            .query_map(params![now.0, DAY_MS], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(circle, id)| Ok((circle, CaseId::from_bytes(crate::rows::to16(&id)?))))
            .collect()
    }

    /// The cases received from `circle`.
    pub fn received_from(&self, circle: &[u8]) -> Result<Vec<CaseId>> {
        let mut stmt = self
            .db
            .connection()
            .prepare_cached("SELECT case_id FROM case_origins WHERE circle = ?1")?;
        let ids = stmt
            .query_map([circle], |r| r.get::<_, Vec<u8>>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        ids.iter()
            .map(|id| Ok(CaseId::from_bytes(crate::rows::to16(id)?)))
            .collect()
    }

    /// Records that an own case was shared with a circle.
    pub fn mark_shared(&self, case: &CaseId, circle: &[u8]) -> Result<()> {
        ensure_case(self.db.connection(), case)?;
        self.db.connection().execute(
            "INSERT OR IGNORE INTO case_shares (case_id, circle) VALUES (?1, ?2)",
            params![&case.as_bytes()[..], circle],
        )?;
        Ok(())
    }

    /// Whether a case is visible in a circle: received from it, or shared with it.
    pub(crate) fn in_circle(&self, case: &CaseId, circle: &[u8]) -> Result<bool> {
        Ok(self
            .db
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
        &self,
        circle: &[u8],
        author: &str,
        case: &CaseId,
        revision: u32,
        fields: CaseFields,
        now: Timestamp,
    ) -> Result<bool> {
        if self.db.tombstone(case)?.is_some() {
            // Its author took it back: a copy sent again (a replay) stays away.
            return Err(refused("a case its author retracted"));
        }
        match self.origin(case)? {
            None if self.db.cases().revision(case).is_ok() => {
                Err(refused("a case id that is one of ours"))
            }
            None => {
                self.db.cases().insert(case, fields, revision, now)?;
                self.db.connection().execute(
                    "INSERT INTO case_origins (case_id, circle, author) VALUES (?1, ?2, ?3)",
                    params![&case.as_bytes()[..], circle, author],
                )?;
                Ok(true)
            }
            Some((c, a)) if c != circle || a != author => {
                Err(refused("only the author may revise a case, in its circle"))
            }
            Some(_) if revision <= self.db.cases().revision(case)? => Ok(false),
            Some(_) => {
                self.db.cases().revise(case, fields, revision, now)?;
                Ok(true)
            }
        }
    }

    /// The author withdraws a received case: this profile's copy is erased with everything tied
    /// to it, and a tombstone is left. Its blob files go when the vault settles the erasure.
    pub fn retract(&self, circle: &[u8], author: &str, case: &CaseId, at: Timestamp) -> Result<()> {
        match self.origin(case)? {
            Some((c, a)) if c == circle && a == author => {
                self.db.erase_case(case)?;
                self.db.add_tombstone(case, Some((circle, author)), at)
            }
            None if self.db.cases().revision(case).is_err() => Ok(()),
            _ => Err(refused("only the author may retract a case")),
        }
    }

    /// A comment by a member of `circle` on a case visible there; a repeat changes nothing.
    pub fn receive_comment(
        &self,
        circle: &[u8],
        author: &str,
        comment: &CommentPosted,
    ) -> Result<bool> {
        if !self.in_circle(&comment.case_id, circle)? {
            return Err(refused("the case is not in this circle"));
        }
        let known = self
            .db
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
        self.db.comments().insert(
            &comment.comment_id,
            &comment.case_id,
            comment.reply_to.as_ref(),
            author,
            &comment.body,
            comment.created_at,
        )?;
        Ok(true)
    }

    /// The circles a case is in: the one it came from, or those it was shared with.
    pub fn circles_of(&self, case: &CaseId) -> Result<Vec<Vec<u8>>> {
        let mut stmt = self.db.connection().prepare_cached(
            "SELECT circle FROM case_origins WHERE case_id = ?1
             UNION SELECT circle FROM case_shares WHERE case_id = ?1",
        )?;
        let rows = stmt.query_map([&case.as_bytes()[..]], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}
