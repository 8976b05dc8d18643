//! The case database: cases with revisions and tags, comments, attachment records and the
//! full-text index, over one (normally SQLCipher-keyed) SQLite connection. Every write is one
//! transaction that updates the tables and the search index together.

use std::collections::HashSet;
use std::sync::Arc;

use consilium_model::codec::{from_cbor, to_cbor};
use consilium_model::comment::MAX_COMMENT_BYTES;
use consilium_model::{
    Attachment, AttachmentId, BlobId, Case, CaseFields, CaseId, Comment, CommentId, DeidReport,
    Rendition, Status, Timestamp,
};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::atomic::AtomicUnit;
use crate::entropy::{Entropy, random_16};
use crate::error::{Result, StoreError};
use crate::keys::SecretKey;
use crate::migrations;

/// The physician who owns the vault.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Profile {
    pub name: String,
    pub specialty: String,
    pub created_at: Timestamp,
}

/// What the store keeps of an attachment besides its encrypted files.
#[derive(Clone, Debug)]
pub struct AttachmentRecord {
    pub mime: String,
    pub width: u32,
    pub height: u32,
    pub size: u64,
    pub report: DeidReport,
}

/// A written blob file, ready to be recorded.
#[derive(Debug)]
pub struct StoredBlob {
    pub id: BlobId,
    pub rendition: Rendition,
    pub mime: String,
    pub key: SecretKey,
    pub plain_size: u64,
}

/// The case tables over one connection.
#[derive(Debug)]
pub struct CaseDb {
    conn: Connection,
    entropy: Arc<dyn Entropy>,
}

fn not_found(what: &'static str, id: impl ToString) -> StoreError {
    StoreError::NotFound {
        what,
        id: id.to_string(),
    }
}

impl CaseDb {
    /// Takes an open connection (already keyed, for SQLCipher), sets the connection's pragmas and
    /// brings the schema up to date.
    pub fn from_connection(mut conn: Connection, entropy: Arc<dyn Entropy>) -> Result<Self> {
        conn.execute_batch(
            "PRAGMA foreign_keys = ON;
             PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA secure_delete = ON;
             PRAGMA temp_store = MEMORY;
             PRAGMA cache_size = -65536;
             PRAGMA busy_timeout = 5000;",
        )?;
        migrations::migrate(&mut conn)?;
        Ok(CaseDb { conn, entropy })
    }

    /// Runs `f` as one atomic unit: the case operations it makes (each in its own nested
    /// savepoint) and whatever another layer writes through [`CaseDb::connection`] meanwhile (the
    /// MLS state of a message and its effect on a case, say) are committed together, or, if `f`
    /// fails, not at all.
    pub fn atomically<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&mut CaseDb) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let mut unit = AtomicUnit::begin(self)?;
        let outcome = f(unit.db());
        if outcome.is_ok() {
            unit.commit()?;
        }
        // On an error the guard rolls back as it drops; on a panic inside `f`, as it unwinds.
        outcome
    }

    /// The connection, for another layer's own tables (openmls' state) inside
    /// [`CaseDb::atomically`]. Case data is only ever changed through `CaseDb`'s methods.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The connection, mutably: for another layer's schema migrations at start-up.
    pub fn connection_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    pub fn set_profile(&mut self, profile: &Profile) -> Result<()> {
        self.conn.execute(
            "INSERT INTO profile (id, name, specialty, created_at) VALUES (1, ?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, specialty = excluded.specialty",
            params![profile.name, profile.specialty, profile.created_at.0],
        )?;
        Ok(())
    }

    pub fn profile(&self) -> Result<Profile> {
        self.conn
            .query_row(
                "SELECT name, specialty, created_at FROM profile WHERE id = 1",
                [],
                |r| {
                    Ok(Profile {
                        name: r.get(0)?,
                        specialty: r.get(1)?,
                        created_at: Timestamp(r.get(2)?),
                    })
                },
            )
            .optional()?
            .ok_or_else(|| StoreError::DatabaseCorrupt("the profile is missing".into()))
    }

    pub fn create_case(&mut self, fields: CaseFields, now: Timestamp) -> Result<CaseId> {
        let id = CaseId::from_bytes(random_16(&*self.entropy)?);
        self.insert_case(&id, fields, 1, now)?;
        Ok(id)
    }

    /// Inserts a case under a given id at a given revision (a case received from a circle keeps
    /// its author's id and revision numbers).
    pub(crate) fn insert_case(
        &mut self,
        id: &CaseId,
        mut fields: CaseFields,
        revision: u32,
        now: Timestamp,
    ) -> Result<()> {
        fields.normalise_tags();
        fields.validate()?;
        let blob = to_cbor(&fields)?;
        let tx = self.conn.savepoint()?;
        tx.execute(
            "INSERT INTO cases (id, title, specialty, status, urgency, fields, outcome, revision, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?8, ?7, ?7)",
            params![
                &id.as_bytes()[..],
                fields.title,
                fields.specialty,
                Status::Open.as_str(),
                fields.urgency.as_str(),
                blob,
                now.0,
                revision
            ],
        )?;
        tx.execute(
            "INSERT INTO case_revisions (case_id, revision, fields, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![&id.as_bytes()[..], revision, blob, now.0],
        )?;
        write_tags(&tx, id, &fields.tags)?;
        index_case_fields(&tx, id, &fields)?;
        tx.commit()?;
        Ok(())
    }

    /// Replaces the fields of a case, keeping the previous version as a revision.
    pub fn edit_case(&mut self, id: &CaseId, fields: CaseFields, now: Timestamp) -> Result<u32> {
        let revision: u32 = case_value(&self.conn, id, "SELECT revision FROM cases WHERE id = ?1")?;
        self.revise_case(id, fields, revision + 1, now)?;
        Ok(revision + 1)
    }

    /// The case's current revision number.
    pub fn revision(&self, id: &CaseId) -> Result<u32> {
        case_value(&self.conn, id, "SELECT revision FROM cases WHERE id = ?1")
    }

    /// Replaces the fields of a case with revision `next`, keeping the previous version.
    pub(crate) fn revise_case(
        &mut self,
        id: &CaseId,
        mut fields: CaseFields,
        next: u32,
        now: Timestamp,
    ) -> Result<()> {
        fields.normalise_tags();
        fields.validate()?;
        let blob = to_cbor(&fields)?;
        let tx = self.conn.savepoint()?;
        tx.execute(
            "UPDATE cases SET title = ?2, specialty = ?3, urgency = ?4, fields = ?5, revision = ?6, updated_at = ?7
             WHERE id = ?1",
            params![
                &id.as_bytes()[..],
                fields.title,
                fields.specialty,
                fields.urgency.as_str(),
                blob,
                next,
                now.0
            ],
        )?;
        tx.execute(
            "INSERT INTO case_revisions (case_id, revision, fields, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![&id.as_bytes()[..], next, blob, now.0],
        )?;
        tx.execute(
            "DELETE FROM case_tags WHERE case_id = ?1",
            [&id.as_bytes()[..]],
        )?;
        write_tags(&tx, id, &fields.tags)?;
        index_case_fields(&tx, id, &fields)?;
        tx.commit()?;
        Ok(())
    }

    /// Marks a case resolved with its outcome (shown with the case; searchable).
    pub fn resolve_case(&mut self, id: &CaseId, outcome: &str, now: Timestamp) -> Result<()> {
        let outcome = outcome.trim();
        if outcome.is_empty() {
            return Err(StoreError::Invalid("the outcome must not be empty".into()));
        }
        if outcome.len() > consilium_model::case::MAX_FIELD_BYTES {
            return Err(StoreError::Invalid("the outcome is too long".into()));
        }
        let tx = self.conn.savepoint()?;
        let n = tx.execute(
            "UPDATE cases SET status = ?2, outcome = ?3, updated_at = ?4 WHERE id = ?1",
            params![
                &id.as_bytes()[..],
                Status::Resolved.as_str(),
                outcome,
                now.0
            ],
        )?;
        if n == 0 {
            return Err(not_found("case", id));
        }
        let fields = load_fields(&tx, id)?;
        index_case_fields(&tx, id, &fields)?;
        tx.commit()?;
        Ok(())
    }

    /// Finds the case whose id starts with `prefix` (at least 4 hex digits), if exactly one does.
    pub fn find_case(&self, prefix: &str) -> Result<CaseId> {
        let p = prefix.trim().to_ascii_uppercase();
        if p.len() < 4 || !p.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(StoreError::Invalid(format!(
                "'{prefix}' is not a case id (give at least 4 of its hex digits)"
            )));
        }
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM cases WHERE hex(id) LIKE ?1 || '%' LIMIT 2")?;
        let ids: Vec<Vec<u8>> = stmt
            .query_map([p], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        match ids.as_slice() {
            [one] => Ok(CaseId::from_bytes(to16(one)?)),
            [] => Err(not_found("case", prefix)),
            _ => Err(StoreError::Invalid(format!(
                "several cases start with '{prefix}'; give more digits"
            ))),
        }
    }

    /// The current fields of a case, without its attachments and comments.
    pub fn fields(&self, id: &CaseId) -> Result<CaseFields> {
        load_fields(&self.conn, id)
    }

    pub fn case(&self, id: &CaseId) -> Result<Case> {
        let row = self
            .conn
            .query_row(
                "SELECT fields, status, outcome, revision, created_at, updated_at FROM cases WHERE id = ?1",
                [&id.as_bytes()[..]],
                |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, u32>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                },
            )
            .optional()?
            .ok_or_else(|| not_found("case", id))?;
        Ok(Case {
            id: id.clone(),
            fields: from_cbor(&row.0)?,
            status: row.1.parse().unwrap_or_default(),
            outcome: row.2,
            revision: row.3,
            created_at: Timestamp(row.4),
            updated_at: Timestamp(row.5),
            attachments: self.attachments(id)?,
            comments: self.comments(id)?,
        })
    }

    /// Every revision of a case's fields, oldest first.
    pub fn revisions(&self, id: &CaseId) -> Result<Vec<(u32, CaseFields, Timestamp)>> {
        let mut stmt = self.conn.prepare(
            "SELECT revision, fields, created_at FROM case_revisions WHERE case_id = ?1 ORDER BY revision",
        )?;
        let rows = stmt
            .query_map([&id.as_bytes()[..]], |r| {
                Ok((
                    r.get::<_, u32>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(rev, f, t)| Ok((rev, from_cbor(&f)?, Timestamp(t))))
            .collect()
    }

    pub fn add_comment(
        &mut self,
        case: &CaseId,
        reply_to: Option<&CommentId>,
        author: &str,
        body: &str,
        now: Timestamp,
    ) -> Result<CommentId> {
        let id = CommentId::from_bytes(random_16(&*self.entropy)?);
        self.insert_comment(&id, case, reply_to, author, body, now)?;
        Ok(id)
    }

    /// Inserts a comment under a given id (a received comment keeps its author's id).
    pub(crate) fn insert_comment(
        &mut self,
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
        let tx = self.conn.savepoint()?;
        ensure_case(&tx, case)?;
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
        touch_case(&tx, case, now)?;
        tx.execute(
            "INSERT INTO search_index (title, body) VALUES ('', ?1)",
            [body],
        )?;
        tx.execute(
            "INSERT INTO search_rows (fts_rowid, case_id, comment_id) VALUES (last_insert_rowid(), ?1, ?2)",
            params![&case.as_bytes()[..], &id.as_bytes()[..]],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn comments(&self, case: &CaseId) -> Result<Vec<Comment>> {
        let mut stmt = self.conn.prepare_cached(
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

    /// Records an attachment and its already-written blob files in one transaction.
    pub fn insert_attachment(
        &mut self,
        case: &CaseId,
        record: &AttachmentRecord,
        blobs: &[StoredBlob],
        now: Timestamp,
    ) -> Result<AttachmentId> {
        self.insert_attachment_as(case, None, record, blobs, now, |_| Ok(()))
    }

    /// Records an attachment under `id` (a fresh one when `None`) and runs `also` in the same
    /// transaction.
    pub(crate) fn insert_attachment_as(
        &mut self,
        case: &CaseId,
        id: Option<&AttachmentId>,
        record: &AttachmentRecord,
        blobs: &[StoredBlob],
        now: Timestamp,
        also: impl FnOnce(&CaseDb) -> Result<()>,
    ) -> Result<AttachmentId> {
        let id = match id {
            Some(id) => id.clone(),
            None => AttachmentId::from_bytes(random_16(&*self.entropy)?),
        };
        let report = to_cbor(&record.report)?;
        self.atomically(|db| {
            db.insert_attachment_rows(case, &id, record, &report, blobs, now)?;
            also(db)
        })?;
        Ok(id)
    }

    fn insert_attachment_rows(
        &self,
        case: &CaseId,
        id: &AttachmentId,
        record: &AttachmentRecord,
        report: &[u8],
        blobs: &[StoredBlob],
        now: Timestamp,
    ) -> Result<()> {
        let tx = &self.conn;
        ensure_case(tx, case)?;
        let position: i64 = tx.query_row(
            "SELECT coalesce(max(position), 0) + 1 FROM attachments WHERE case_id = ?1",
            [&case.as_bytes()[..]],
            |r| r.get(0),
        )?;
        tx.execute(
            "INSERT INTO attachments (id, case_id, position, mime, width, height, size, report, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                &id.as_bytes()[..],
                &case.as_bytes()[..],
                position,
                record.mime,
                record.width,
                record.height,
                record.size,
                report,
                now.0
            ],
        )?;
        insert_blob_rows(tx, id, blobs)?;
        touch_case(tx, case, now)
    }

    /// Points an attachment at new renditions (its pixels were redacted) and forgets the old
    /// ones, in one transaction. Returns the blob ids no longer referred to.
    pub(crate) fn replace_attachment_rows(
        &mut self,
        case: &CaseId,
        attachment: &AttachmentId,
        record: &AttachmentRecord,
        blobs: &[StoredBlob],
        now: Timestamp,
    ) -> Result<Vec<BlobId>> {
        let report = to_cbor(&record.report)?;
        self.atomically(|db| {
            let old = db.attachment_blob_ids(case, attachment)?;
            let tx = &db.conn;
            tx.execute(
                "UPDATE attachments SET mime = ?3, width = ?4, height = ?5, size = ?6, report = ?7
                 WHERE id = ?1 AND case_id = ?2",
                params![
                    &attachment.as_bytes()[..],
                    &case.as_bytes()[..],
                    record.mime,
                    record.width,
                    record.height,
                    record.size,
                    report
                ],
            )?;
            tx.execute(
                "DELETE FROM blobs WHERE attachment_id = ?1",
                [&attachment.as_bytes()[..]],
            )?;
            insert_blob_rows(tx, attachment, blobs)?;
            touch_case(tx, case, now)?;
            Ok(old)
        })
    }

    /// Replaces the de-identification report of an attachment of `case` (the author accepted or
    /// dismissed proposals, or reviewed the image).
    pub fn set_attachment_report(
        &mut self,
        case: &CaseId,
        attachment: &AttachmentId,
        report: &DeidReport,
        now: Timestamp,
    ) -> Result<()> {
        let report = to_cbor(report)?;
        self.atomically(|db| {
            let n = db.conn.execute(
                "UPDATE attachments SET report = ?3 WHERE id = ?1 AND case_id = ?2",
                params![&attachment.as_bytes()[..], &case.as_bytes()[..], report],
            )?;
            if n == 0 {
                return Err(not_found("attachment of this case", attachment));
            }
            touch_case(&db.conn, case, now)
        })
    }

    /// Deletes an attachment and its rendition rows. Returns the blob ids no longer referred to.
    pub(crate) fn delete_attachment_rows(
        &mut self,
        case: &CaseId,
        attachment: &AttachmentId,
        now: Timestamp,
    ) -> Result<Vec<BlobId>> {
        self.atomically(|db| {
            let old = db.attachment_blob_ids(case, attachment)?;
            db.conn.execute(
                "DELETE FROM attachments WHERE id = ?1 AND case_id = ?2",
                params![&attachment.as_bytes()[..], &case.as_bytes()[..]],
            )?;
            touch_case(&db.conn, case, now)?;
            Ok(old)
        })
    }

    /// The blob ids of one attachment of `case`; not found if it is not that case's.
    fn attachment_blob_ids(&self, case: &CaseId, attachment: &AttachmentId) -> Result<Vec<BlobId>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT b.id FROM blobs b JOIN attachments a ON a.id = b.attachment_id
             WHERE a.id = ?1 AND a.case_id = ?2",
        )?;
        let ids = stmt
            .query_map(
                params![&attachment.as_bytes()[..], &case.as_bytes()[..]],
                |r| r.get::<_, Vec<u8>>(0),
            )?
            .map(|id| Ok(BlobId::from_bytes(to16(&id?)?)))
            .collect::<Result<Vec<_>>>()?;
        if ids.is_empty() {
            return Err(StoreError::NotFound {
                what: "attachment",
                id: attachment.to_string(),
            });
        }
        Ok(ids)
    }

    /// Records that the user has read the case as it is now (its revision and comments).
    pub fn mark_read(&self, case: &CaseId) -> Result<()> {
        self.conn.execute(
            "INSERT INTO case_reads (case_id, seen_revision, seen_comments)
             SELECT c.id, c.revision, (SELECT count(*) FROM comments m WHERE m.case_id = c.id)
             FROM cases c WHERE c.id = ?1
             ON CONFLICT (case_id) DO UPDATE SET
                seen_revision = excluded.seen_revision, seen_comments = excluded.seen_comments",
            [&case.as_bytes()[..]],
        )?;
        Ok(())
    }

    pub fn attachments(&self, case: &CaseId) -> Result<Vec<Attachment>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, mime, width, height, size, report, created_at FROM attachments
             WHERE case_id = ?1 ORDER BY position",
        )?;
        let rows = stmt
            .query_map([&case.as_bytes()[..]], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, u32>(2)?,
                    r.get::<_, u32>(3)?,
                    r.get::<_, u64>(4)?,
                    r.get::<_, Vec<u8>>(5)?,
                    r.get::<_, i64>(6)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(id, mime, width, height, size, report, t)| {
                Ok(Attachment {
                    id: AttachmentId::from_bytes(to16(&id)?),
                    mime,
                    width,
                    height,
                    size,
                    report: from_cbor(&report)?,
                    created_at: Timestamp(t),
                })
            })
            .collect()
    }

    /// The blob file, its key and mime type for one rendition of an attachment of a case.
    pub fn blob_of(
        &self,
        case: &CaseId,
        attachment: &AttachmentId,
        rendition: Rendition,
    ) -> Result<(BlobId, SecretKey, String, u64)> {
        let row = self
            .conn
            .query_row(
                "SELECT b.id, b.key, b.mime, b.plain_size FROM blobs b JOIN attachments a ON a.id = b.attachment_id
                 WHERE a.case_id = ?1 AND b.attachment_id = ?2 AND b.rendition = ?3",
                params![&case.as_bytes()[..], &attachment.as_bytes()[..], rendition.as_str()],
                |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, u64>(3)?,
                    ))
                },
            )
            .optional()?
            .ok_or_else(|| not_found("attachment of this case", attachment))?;
        let key = zeroize::Zeroizing::new(row.1);
        let key = SecretKey::from_slice(&key)
            .ok_or_else(|| StoreError::DatabaseCorrupt("bad attachment key".into()))?;
        Ok((BlobId::from_bytes(to16(&row.0)?), key, row.2, row.3))
    }

    /// Every blob id the database refers to (to find orphaned files after a crash).
    pub fn blob_ids(&self) -> Result<HashSet<BlobId>> {
        let mut stmt = self.conn.prepare("SELECT id FROM blobs")?;
        let ids = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
        ids.map(|id| Ok(BlobId::from_bytes(to16(&id?)?))).collect()
    }

    /// SQLite's own consistency check; `Ok(())` when the database is sound.
    pub fn quick_check(&self) -> Result<()> {
        let verdict: String = self
            .conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        if verdict == "ok" {
            Ok(())
        } else {
            Err(StoreError::DatabaseCorrupt(verdict))
        }
    }
}

pub(crate) fn to16(bytes: &[u8]) -> Result<[u8; 16]> {
    bytes
        .try_into()
        .map_err(|_| StoreError::DatabaseCorrupt("bad id length".into()))
}

/// The rendition rows of one attachment.
fn insert_blob_rows(
    tx: &Connection,
    attachment: &AttachmentId,
    blobs: &[StoredBlob],
) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO blobs (id, attachment_id, rendition, mime, key, plain_size) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for b in blobs {
        stmt.execute(params![
            &b.id.as_bytes()[..],
            &attachment.as_bytes()[..],
            b.rendition.as_str(),
            b.mime,
            &b.key.expose()[..],
            b.plain_size
        ])?;
    }
    Ok(())
}

/// Moves a case to the top of the list: something in it changed at `now`.
fn touch_case(tx: &Connection, case: &CaseId, now: Timestamp) -> Result<()> {
    tx.execute(
        "UPDATE cases SET updated_at = ?2 WHERE id = ?1",
        params![&case.as_bytes()[..], now.0],
    )?;
    Ok(())
}

pub(crate) fn ensure_case(tx: &Connection, id: &CaseId) -> Result<()> {
    case_value::<i64>(tx, id, "SELECT 1 FROM cases WHERE id = ?1").map(|_| ())
}

/// One value about one case (`sql` takes the case id as `?1`), or "no case with id …".
pub(crate) fn case_value<T: rusqlite::types::FromSql>(
    conn: &Connection,
    id: &CaseId,
    sql: &str,
) -> Result<T> {
    conn.query_row(sql, [&id.as_bytes()[..]], |r| r.get(0))
        .optional()?
        .ok_or_else(|| not_found("case", id))
}

pub(crate) fn load_fields(conn: &Connection, id: &CaseId) -> Result<CaseFields> {
    let blob: Vec<u8> = case_value(conn, id, "SELECT fields FROM cases WHERE id = ?1")?;
    Ok(from_cbor(&blob)?)
}

fn write_tags(tx: &Connection, id: &CaseId, tags: &[String]) -> Result<()> {
    let mut stmt =
        tx.prepare_cached("INSERT OR IGNORE INTO case_tags (case_id, tag) VALUES (?1, ?2)")?;
    for tag in tags {
        stmt.execute(params![&id.as_bytes()[..], tag])?;
    }
    Ok(())
}

/// Replaces the index row of a case's fields (and outcome).
fn index_case_fields(conn: &Connection, id: &CaseId, fields: &CaseFields) -> Result<()> {
    let old: Option<i64> = conn
        .query_row(
            "SELECT fts_rowid FROM search_rows WHERE case_id = ?1 AND comment_id IS NULL",
            [&id.as_bytes()[..]],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(rowid) = old {
        conn.execute("DELETE FROM search_index WHERE rowid = ?1", [rowid])?;
        conn.execute("DELETE FROM search_rows WHERE fts_rowid = ?1", [rowid])?;
    }
    let outcome: Option<String> = conn
        .query_row(
            "SELECT outcome FROM cases WHERE id = ?1",
            [&id.as_bytes()[..]],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    let mut body: Vec<String> = fields
        .text_fields()
        .into_iter()
        .filter(|(name, text)| *name != "title" && !text.is_empty())
        .map(|(_, text)| text)
        .collect();
    body.extend(outcome);
    conn.execute(
        "INSERT INTO search_index (title, body) VALUES (?1, ?2)",
        params![fields.title, body.join("\n")],
    )?;
    conn.execute(
        "INSERT INTO search_rows (fts_rowid, case_id, comment_id) VALUES (last_insert_rowid(), ?1, NULL)",
        [&id.as_bytes()[..]],
    )?;
    Ok(())
}

/// Migration step of schema 2: index every existing case and comment.
pub(crate) fn reindex_all(tx: &Transaction<'_>) -> Result<()> {
    let cases: Vec<Vec<u8>> = {
        let mut stmt = tx.prepare("SELECT id FROM cases")?;
        stmt.query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?
    };
    for raw in cases {
        let id = CaseId::from_bytes(to16(&raw)?);
        let fields = load_fields(tx, &id)?;
        index_case_fields(tx, &id, &fields)?;
    }
    let comments: Vec<(Vec<u8>, Vec<u8>, String)> = {
        let mut stmt = tx.prepare("SELECT id, case_id, body FROM comments")?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    for (id, case_id, body) in comments {
        tx.execute(
            "INSERT INTO search_index (title, body) VALUES ('', ?1)",
            [body],
        )?;
        tx.execute(
            "INSERT INTO search_rows (fts_rowid, case_id, comment_id) VALUES (last_insert_rowid(), ?1, ?2)",
            params![case_id, id],
        )?;
    }
    Ok(())
}

/// Turns what a person types into an FTS5 query: every word must match, as a prefix; FTS5
/// operators and quotes typed by the user are treated as plain text.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::SystemEntropy;
    use consilium_model::CaseFilter;

    fn db() -> CaseDb {
        let conn = Connection::open_in_memory().unwrap();
        CaseDb::from_connection(conn, Arc::new(SystemEntropy::new())).unwrap()
    }

    fn fields(title: &str) -> CaseFields {
        CaseFields {
            title: title.into(),
            ..Default::default()
        }
    }

    #[test]
    fn an_atomic_unit_commits_all_or_nothing_including_other_layers_writes() {
        let mut db = db();
        db.connection()
            .execute_batch("CREATE TABLE other_layer (x INTEGER)")
            .unwrap();
        let failed: std::result::Result<(), StoreError> = db.atomically(|db| {
            db.create_case(fields("Kept?"), Timestamp(1))?;
            db.connection()
                .execute("INSERT INTO other_layer VALUES (1)", [])?;
            Err(StoreError::NotFound {
                what: "test",
                id: "refused".into(),
            })
        });
        assert!(failed.is_err());
        let count = |db: &CaseDb| -> i64 {
            db.connection()
                .query_row("SELECT count(*) FROM other_layer", [], |r| r.get(0))
                .unwrap()
        };
        assert!(db.list_cases(&CaseFilter::default()).unwrap().is_empty());
        assert_eq!(count(&db), 0);
        assert!(db.search("kept", 10).unwrap().is_empty(), "the index too");

        let id = db
            .atomically(|db| {
                let id = db.create_case(fields("Kept"), Timestamp(1))?;
                db.add_comment(&id, None, "Dr X", "a comment", Timestamp(2))?;
                db.connection()
                    .execute("INSERT INTO other_layer VALUES (1)", [])?;
                Ok::<_, StoreError>(id)
            })
            .unwrap();
        assert_eq!(db.comments(&id).unwrap().len(), 1);
        assert_eq!(count(&db), 1);
        // Outside an atomic unit, each operation still commits on its own.
        db.create_case(fields("Alone"), Timestamp(3)).unwrap();
        assert_eq!(db.list_cases(&CaseFilter::default()).unwrap().len(), 2);
    }

    #[test]
    fn a_panic_inside_an_atomic_unit_leaves_no_trace_and_the_next_write_commits() {
        let mut db = db();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _: std::result::Result<(), StoreError> = db.atomically(|db| {
                db.create_case(fields("Half-done"), Timestamp(1))?;
                panic!("a bug inside the unit");
            });
        }));
        assert!(panicked.is_err());
        assert!(
            db.connection().is_autocommit(),
            "no transaction is left open after the panic"
        );
        assert!(db.list_cases(&CaseFilter::default()).unwrap().is_empty());
        assert!(db.search("half", 10).unwrap().is_empty(), "the index too");
        // The next write is not caught inside a transaction left open: it commits.
        db.create_case(fields("Next"), Timestamp(2)).unwrap();
        assert!(db.connection().is_autocommit());
        assert_eq!(db.list_cases(&CaseFilter::default()).unwrap().len(), 1);
    }

    #[test]
    fn edits_keep_revisions_and_replace_the_index_row() {
        let mut db = db();
        let id = db
            .create_case(fields("Annular plaque"), Timestamp(1))
            .unwrap();
        let mut f = fields("Erythema migrans");
        f.tags = vec![" Lyme ".into(), "lyme".into()];
        assert_eq!(db.edit_case(&id, f, Timestamp(2)).unwrap(), 2);
        assert!(db.search("annular", 10).unwrap().is_empty());
        assert_eq!(db.search("migrans", 10).unwrap().len(), 1);
        let revs = db.revisions(&id).unwrap();
        assert_eq!(revs.len(), 2);
        assert_eq!(revs[0].1.title, "Annular plaque");
        assert_eq!(db.case(&id).unwrap().fields.tags, vec!["lyme".to_string()]);
    }

    #[test]
    fn comments_are_searchable_and_replies_must_stay_in_their_case() {
        let mut db = db();
        let a = db.create_case(fields("A"), Timestamp(1)).unwrap();
        let b = db.create_case(fields("B"), Timestamp(1)).unwrap();
        let c = db
            .add_comment(&a, None, "Dr X", "Consider sarcoïdosis", Timestamp(2))
            .unwrap();
        assert!(
            db.add_comment(&b, Some(&c), "Dr X", "reply", Timestamp(3))
                .is_err()
        );
        db.add_comment(&a, Some(&c), "Dr Y", "agree", Timestamp(3))
            .unwrap();
        let hits = db.search("sarcoidosis", 10).unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].field, "comment");
        assert_eq!(db.comments(&a).unwrap()[1].reply_to, Some(c));
    }

    #[test]
    fn find_case_resolves_unique_prefixes() {
        let mut db = db();
        let id = db.create_case(fields("A"), Timestamp(1)).unwrap();
        let hex = id.to_string();
        assert_eq!(db.find_case(&hex[..8]).unwrap(), id);
        assert!(db.find_case("ab").is_err());
        assert!(db.find_case("zzzz").is_err());
    }
}
