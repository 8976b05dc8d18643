//! Comments under cases, own and received; each is indexed for search as it is written.

use consilium_model::comment::MAX_COMMENT_BYTES;
use consilium_model::{CaseId, Comment, CommentId, Timestamp};
use rusqlite::{OptionalExtension, params};

use crate::atomic::AtomicUnit;
use crate::cases::{ensure_case, touch_case};
use crate::db::CaseDb;
use crate::entropy::random_16;
use crate::error::{Result, StoreError};
use crate::rows::{not_found, to16};
use crate::search::index_comment;

/// The comment rows.
#[derive(Debug, Clone, Copy)]
pub struct Comments<'db> {
    pub(crate) db: &'db CaseDb,
}

impl CaseDb {
    /// Comments under cases.
    pub fn comments(&self) -> Comments<'_> {
        Comments { db: self }
    }
}

impl Comments<'_> {
    pub fn add(
        &self,
        case: &CaseId,
        reply_to: Option<&CommentId>,
        author: &str,
        body: &str,
        now: Timestamp,
    ) -> Result<CommentId> {
        let id = CommentId::from_bytes(random_16(&*self.db.entropy)?);
        self.insert(&id, case, reply_to, author, body, now)?;
        Ok(id)
    }

    /// Inserts a comment under a given id (a received comment keeps its author's id).
    pub(crate) fn insert(
        &self,
        id: &CommentId,
        case: &CaseId,
        reply_to: Option<&CommentId>,
        author: &str,
        body: &str,
        now: Timestamp,
    ) -> Result<()> {
        let body = body.trim();
        if body.is_empty() || body.len() > MAX_COMMENT_BYTES {
            return Err(StoreError::Invalid(format!(
                "a comment must have 1 to {} KiB of text",
                MAX_COMMENT_BYTES / 1024
            )));
        }
        let unit = AtomicUnit::begin(&self.db.conn)?;
        let tx = &self.db.conn;
        ensure_case(tx, case)?;
        if let Some(parent) = reply_to {
            let same_case: Option<Vec<u8>> = tx
                .query_row(
                    "SELECT case_id FROM comments WHERE id = ?1",
                    [&parent.as_bytes()[..]],
                    |r| r.get(0),
                )
                .optional()?;
            if same_case.as_deref() != Some(&case.as_bytes()[..]) {
                return Err(not_found("comment on this case", parent));
            }
        }
        tx.execute(
            "INSERT INTO comments (id, case_id, reply_to, author, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                &id.as_bytes()[..],
                &case.as_bytes()[..],
                reply_to.map(|p| p.as_bytes().to_vec()),
                author,
                body,
                now.0
            ],
        )?;
        touch_case(tx, case, now)?;
        index_comment(tx, &case.as_bytes()[..], &id.as_bytes()[..], body)?;
        unit.commit()?;
        Ok(())
    }

    pub fn of_case(&self, case: &CaseId) -> Result<Vec<Comment>> {
        let mut stmt = self.db.conn.prepare_cached(
            "SELECT id, reply_to, author, body, created_at FROM comments WHERE case_id = ?1 ORDER BY created_at, rowid",
        )?;
        let rows = stmt
            .query_map([&case.as_bytes()[..]], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, Option<Vec<u8>>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(id, reply, author, body, t)| {
                Ok(Comment {
                    id: CommentId::from_bytes(to16(&id)?),
                    reply_to: reply
                        .map(|r| to16(&r).map(CommentId::from_bytes))
                        .transpose()?,
                    author,
                    body,
                    created_at: Timestamp(t),
                })
            })
            .collect()
    }
}
