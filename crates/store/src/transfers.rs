//! Attachments on their way to and from circles. Outgoing: the encrypted copy of each rendition a
//! queued message points to, uploaded before the message is sent (the message is useless to its
//! readers without it). Incoming: the pointers of a received case's attachments, recorded in the
//! transaction that applies the case and removed in the one that stores the downloaded images.

use consilium_model::{AttachmentId, CaseId, Rendition, Timestamp};
use rusqlite::params;
use zeroize::Zeroizing;

use crate::attachments::AttachmentRecord;
use crate::db::CaseDb;
use crate::error::{Result, StoreError};
use crate::rows::to16;
use crate::vault::{NewRendition, Vault};

/// One rendition of an own attachment, as it is encrypted for a circle.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingBlob {
    pub message_id: [u8; 16],
    /// SHA-256 of the encrypted bytes: the relay's blob id.
    pub blob_id: [u8; 32],
    pub case: CaseId,
    pub attachment: AttachmentId,
    pub rendition: Rendition,
    pub key: Zeroizing<[u8; 32]>,
    pub nonce: [u8; 12],
}

impl std::fmt::Debug for OutgoingBlob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingBlob")
            .field("blob_id", &hex::encode(self.blob_id))
            .field("rendition", &self.rendition)
            .finish_non_exhaustive()
    }
}

/// A received attachment still to download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingAttachment {
    pub attachment: AttachmentId,
    pub case: CaseId,
    pub circle: Vec<u8>,
    /// Its renditions' pointers, as the sender's message carried them (opaque here).
    pub pointers: Vec<u8>,
    pub failed: Option<String>,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::DatabaseCorrupt(format!("bad {what} in a transfer"))
}

/// The transfer rows.
#[derive(Debug, Clone, Copy)]
pub struct Transfers<'db> {
    pub(crate) db: &'db CaseDb,
}

impl CaseDb {
    /// Images on their way to and from circles.
    pub fn transfers(&self) -> Transfers<'_> {
        Transfers { db: self }
    }
}

impl Transfers<'_> {
    pub fn add_outgoing(&self, b: &OutgoingBlob) -> Result<()> {
        self.db.connection().execute(
            "INSERT OR IGNORE INTO outgoing_blobs
                (message_id, blob_id, case_id, attachment_id, rendition, key, nonce)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                &b.message_id[..],
                &b.blob_id[..],
                &b.case.as_bytes()[..],
                &b.attachment.as_bytes()[..],
                b.rendition.as_str(),
                &b.key[..],
                &b.nonce[..]
            ],
        )?;
        Ok(())
    }

    /// The blobs a queued message still needs uploaded.
    pub fn pending_uploads(&self, message_id: &[u8; 16]) -> Result<Vec<OutgoingBlob>> {
        let mut stmt = self.db.connection().prepare_cached(
            "SELECT blob_id, case_id, attachment_id, rendition, key, nonce FROM outgoing_blobs
             WHERE message_id = ?1 AND uploaded = 0 ORDER BY rowid",
        )?;
        let rows = stmt
            .query_map([&message_id[..]], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, String>(3)?,
                    Zeroizing::new(r.get::<_, Vec<u8>>(4)?),
                    r.get::<_, Vec<u8>>(5)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(blob, case, att, rendition, key, nonce)| {
                Ok(OutgoingBlob {
                    message_id: *message_id,
                    blob_id: blob[..].try_into().map_err(|_| corrupt("blob id"))?,
                    case: CaseId::from_bytes(to16(&case)?),
                    attachment: AttachmentId::from_bytes(to16(&att)?),
                    rendition: Rendition::parse(&rendition).ok_or_else(|| corrupt("rendition"))?,
                    key: Zeroizing::new(key[..].try_into().map_err(|_| corrupt("key"))?),
                    nonce: nonce[..].try_into().map_err(|_| corrupt("nonce"))?,
                })
            })
            .collect()
    }

    pub fn mark_uploaded(&self, message_id: &[u8; 16], blob_id: &[u8; 32]) -> Result<()> {
        self.db.connection().execute(
            "UPDATE outgoing_blobs SET uploaded = 1 WHERE message_id = ?1 AND blob_id = ?2",
            params![&message_id[..], &blob_id[..]],
        )?;
        Ok(())
    }

    /// Records that `blob_id` (an image of own `case`) went to `circle`, so a retraction can
    /// withdraw it from the relay.
    pub fn record_sent_blob(&self, case: &CaseId, circle: &[u8], blob_id: &[u8; 32]) -> Result<()> {
        self.db.connection().execute(
            "INSERT OR IGNORE INTO sent_blobs (case_id, circle, blob_id) VALUES (?1, ?2, ?3)",
            params![&case.as_bytes()[..], circle, &blob_id[..]],
        )?;
        Ok(())
    }

    /// Queues every blob of `case` sent to a circle for withdrawal from its relay (call before
    /// erasing the case, which forgets them).
    pub fn withdraw_sent_blobs(&self, case: &CaseId) -> Result<usize> {
        Ok(self.db.connection().execute(
            "INSERT OR IGNORE INTO blob_withdrawals (circle, blob_id)
             SELECT circle, blob_id FROM sent_blobs WHERE case_id = ?1",
            [&case.as_bytes()[..]],
        )?)
    }

    /// The blobs still to withdraw: (circle, blob id).
    pub fn withdrawals(&self) -> Result<Vec<(Vec<u8>, [u8; 32])>> {
        let mut stmt = self
            .db
            .connection()
            .prepare_cached("SELECT circle, blob_id FROM blob_withdrawals")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (circle, id) = row?;
            let id: [u8; 32] = id
                .try_into()
                .map_err(|_| StoreError::DatabaseCorrupt("a blob id is not 32 bytes".into()))?;
            out.push((circle, id));
        }
        Ok(out)
    }

    /// The relay no longer holds `blob_id` for `circle` (or will never give it back).
    pub fn withdrawn(&self, circle: &[u8], blob_id: &[u8; 32]) -> Result<()> {
        self.db.connection().execute(
            "DELETE FROM blob_withdrawals WHERE circle = ?1 AND blob_id = ?2",
            params![circle, &blob_id[..]],
        )?;
        Ok(())
    }

    /// Forgets the transfers of a message once it is delivered.
    pub fn clear_outgoing(&self, message_id: &[u8; 16]) -> Result<()> {
        self.db.connection().execute(
            "DELETE FROM outgoing_blobs WHERE message_id = ?1",
            [&message_id[..]],
        )?;
        Ok(())
    }

    /// Records that an own attachment went to `circle`.
    pub fn mark_attachment_shared(&self, circle: &[u8], attachment: &AttachmentId) -> Result<()> {
        self.db.connection().execute(
            "INSERT OR IGNORE INTO shared_attachments (circle, attachment_id) VALUES (?1, ?2)",
            params![circle, &attachment.as_bytes()[..]],
        )?;
        Ok(())
    }

    /// Whether an own attachment went to any circle.
    pub fn attachment_sent(&self, attachment: &AttachmentId) -> Result<bool> {
        Ok(self.db.connection().query_row(
            "SELECT EXISTS (SELECT 1 FROM shared_attachments WHERE attachment_id = ?1)",
            [&attachment.as_bytes()[..]],
            |r| r.get(0),
        )?)
    }

    pub fn attachment_shared(&self, circle: &[u8], attachment: &AttachmentId) -> Result<bool> {
        Ok(self.db.connection().query_row(
            "SELECT EXISTS (SELECT 1 FROM shared_attachments WHERE circle = ?1 AND attachment_id = ?2)",
            params![circle, &attachment.as_bytes()[..]],
            |r| r.get(0),
        )?)
    }

    /// Records a received attachment to download; one already stored or queued is left alone.
    pub fn add_incoming(&self, a: &IncomingAttachment) -> Result<()> {
        let known: bool = self.db.connection().query_row(
            "SELECT EXISTS (SELECT 1 FROM attachments WHERE id = ?1)",
            [&a.attachment.as_bytes()[..]],
            |r| r.get(0),
        )?;
        if !known {
            self.db.connection().execute(
                "INSERT OR IGNORE INTO incoming_attachments (attachment_id, case_id, circle, pointers)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    &a.attachment.as_bytes()[..],
                    &a.case.as_bytes()[..],
                    a.circle,
                    a.pointers
                ],
            )?;
        }
        Ok(())
    }

    /// How many of `case`'s received attachments wait to be stored (failed ones included).
    pub fn incoming_count(&self, case: &CaseId) -> Result<usize> {
        let n: i64 = self.db.connection().query_row(
            "SELECT count(*) FROM incoming_attachments WHERE case_id = ?1",
            [&case.as_bytes()[..]],
            |r| r.get(0),
        )?;
        Ok(n as usize)
    }

    /// Received attachments not yet stored (those that failed too, with their reason).
    pub fn incoming(&self) -> Result<Vec<IncomingAttachment>> {
        let mut stmt = self.db.connection().prepare_cached(
            "SELECT attachment_id, case_id, circle, pointers, failed FROM incoming_attachments
             ORDER BY rowid",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(att, case, circle, pointers, failed)| {
                Ok(IncomingAttachment {
                    attachment: AttachmentId::from_bytes(to16(&att)?),
                    case: CaseId::from_bytes(to16(&case)?),
                    circle,
                    pointers,
                    failed,
                })
            })
            .collect()
    }

    /// A download that can never succeed (its bytes do not match what the sender signed).
    pub fn fail_incoming(&self, attachment: &AttachmentId, reason: &str) -> Result<()> {
        self.db.connection().execute(
            "UPDATE incoming_attachments SET failed = ?2 WHERE attachment_id = ?1",
            params![&attachment.as_bytes()[..], reason],
        )?;
        Ok(())
    }
}

impl Vault {
    /// Stores a downloaded attachment under the id its sender gave it, and forgets the pending
    /// download, in one transaction.
    pub fn add_received_attachment(
        &mut self,
        case: &CaseId,
        id: &AttachmentId,
        record: &AttachmentRecord,
        renditions: Vec<NewRendition>,
        now: Timestamp,
    ) -> Result<()> {
        let id = id.clone();
        self.add_attachment_as(case, Some(&id), record, renditions, now, |db| {
            db.connection().execute(
                "DELETE FROM incoming_attachments WHERE attachment_id = ?1",
                [&id.as_bytes()[..]],
            )?;
            Ok(())
        })
        .map(drop)
    }
}
