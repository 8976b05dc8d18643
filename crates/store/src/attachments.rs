//! Attachment records: each image's size, type and de-identification report, and the rows of
//! its renditions' blob files with their keys. The files themselves are the vault's (`blob`).

use std::collections::HashSet;

use consilium_model::codec::{from_cbor, to_cbor};
use consilium_model::{Attachment, AttachmentId, BlobId, CaseId, DeidReport, Rendition, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};

use crate::cases::{ensure_case, touch_case};
use crate::db::CaseDb;
use crate::entropy::random_16;
use crate::error::{Result, StoreError};
use crate::keys::SecretKey;
use crate::rows::{not_found, to16};

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

/// The attachment and blob rows.
#[derive(Debug, Clone, Copy)]
pub struct Attachments<'db> {
    pub(crate) db: &'db CaseDb,
}

impl CaseDb {
    /// Attachment records and their renditions' blob keys.
    pub fn attachments(&self) -> Attachments<'_> {
        Attachments { db: self }
    }
}

impl Attachments<'_> {
    /// Records an attachment and its already-written blob files in one transaction.
    pub fn insert(
        &self,
        case: &CaseId,
        record: &AttachmentRecord,
        blobs: &[StoredBlob],
        now: Timestamp,
    ) -> Result<AttachmentId> {
        self.insert_as(case, None, record, blobs, now, |_| Ok(()))
    }

    /// Records an attachment under `id` (a fresh one when `None`) and runs `also` in the same
    /// transaction.
    pub(crate) fn insert_as(
        &self,
        case: &CaseId,
        id: Option<&AttachmentId>,
        record: &AttachmentRecord,
        blobs: &[StoredBlob],
        now: Timestamp,
        also: impl FnOnce(&CaseDb) -> Result<()>,
    ) -> Result<AttachmentId> {
        let id = match id {
            Some(id) => id.clone(),
            None => AttachmentId::from_bytes(random_16(&*self.db.entropy)?),
        };
        let report = to_cbor(&record.report)?;
        self.db.in_unit(|db| {
            db.attachments()
                .insert_rows(case, &id, record, &report, blobs, now)?;
            also(db)
        })?;
        Ok(id)
    }

    pub(crate) fn insert_rows(
        &self,
        case: &CaseId,
        id: &AttachmentId,
        record: &AttachmentRecord,
        report: &[u8],
        blobs: &[StoredBlob],
        now: Timestamp,
    ) -> Result<()> {
        let tx = &self.db.conn;
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
    pub(crate) fn replace_rows(
        &self,
        case: &CaseId,
        attachment: &AttachmentId,
        record: &AttachmentRecord,
        blobs: &[StoredBlob],
        now: Timestamp,
    ) -> Result<Vec<BlobId>> {
        let report = to_cbor(&record.report)?;
        self.db.in_unit(|db| {
            let old = db.attachments().blob_ids_of(case, attachment)?;
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
    pub fn set_report(
        &self,
        case: &CaseId,
        attachment: &AttachmentId,
        report: &DeidReport,
        now: Timestamp,
    ) -> Result<()> {
        let report = to_cbor(report)?;
        self.db.in_unit(|db| {
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
    pub(crate) fn delete_rows(
        &self,
        case: &CaseId,
        attachment: &AttachmentId,
        now: Timestamp,
    ) -> Result<Vec<BlobId>> {
        self.db.in_unit(|db| {
            let old = db.attachments().blob_ids_of(case, attachment)?;
            db.conn.execute(
                "DELETE FROM attachments WHERE id = ?1 AND case_id = ?2",
                params![&attachment.as_bytes()[..], &case.as_bytes()[..]],
            )?;
            touch_case(&db.conn, case, now)?;
            Ok(old)
        })
    }

    /// The blob ids of one attachment of `case`; not found if it is not that case's.
    pub(crate) fn blob_ids_of(
        &self,
        case: &CaseId,
        attachment: &AttachmentId,
    ) -> Result<Vec<BlobId>> {
        let mut stmt = self.db.conn.prepare_cached(
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

    pub fn of_case(&self, case: &CaseId) -> Result<Vec<Attachment>> {
        let mut stmt = self.db.conn.prepare_cached(
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
            .db
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
        let mut stmt = self.db.conn.prepare("SELECT id FROM blobs")?;
        let ids = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
        ids.map(|id| Ok(BlobId::from_bytes(to16(&id?)?))).collect()
    }
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
