//! Erasing a case so that it is gone, not merely unlisted: every row tied to it (revisions,
//! comments, polls and votes, attachments and their blob keys, deny-listed names, findings and
//! acknowledgements, de-identification reports, shares, transfers, reads) goes with the case
//! row, by cascade or here; its terms leave the full-text index's segments at once (FTS5
//! `secure-delete`, set by migration 13), and `secure_delete` zeroes the freed space. The
//! vault then removes the blob files (their keys are gone with the rows: what is left of a file
//! cannot be opened) and truncates the WAL, which still holds the pages as they were.

use consilium_model::{BlobId, CaseId, Timestamp};
use rusqlite::{OptionalExtension, params};

use crate::db::CaseDb;
use crate::error::Result;
use crate::rows::to16;

/// What is left of a case its author retracted: when, and from whom; no content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tombstone {
    pub case: CaseId,
    /// The circle and author (hex account id) it came from; `None` for this profile's own.
    pub from: Option<(Vec<u8>, String)>,
    pub retracted_at: Timestamp,
}

impl CaseDb {
    /// Deletes `case` and everything tied to it, in the caller's transaction; the ids of its
    /// blob files, which the vault removes once this is committed. An unknown case erases
    /// nothing.
    pub fn erase_case(&self, case: &CaseId) -> Result<Vec<BlobId>> {
        let c = self.connection();
        let key = &case.as_bytes()[..];
        let blobs = {
            let mut q = c.prepare(
                "SELECT b.id FROM blobs b JOIN attachments a ON a.id = b.attachment_id
                 WHERE a.case_id = ?1",
            )?;
            q.query_map([key], |r| r.get::<_, Vec<u8>>(0))?
                .collect::<std::result::Result<Vec<_>, _>>()?
                .into_iter()
                .filter_map(|id| to16(&id).ok().map(BlobId::from_bytes))
                .collect::<Vec<_>>()
        };
        // The blob keys are overwritten before their rows go: a page copy that survived would
        // hold zeros, and the files they opened are unreadable from now on.
        c.execute(
            "UPDATE blobs SET key = zeroblob(32)
             WHERE attachment_id IN (SELECT id FROM attachments WHERE case_id = ?1)",
            [key],
        )?;
        let rows = {
            let mut q = c.prepare("SELECT fts_rowid FROM search_rows WHERE case_id = ?1")?;
            q.query_map([key], |r| r.get::<_, i64>(0))?
                .collect::<std::result::Result<Vec<_>, _>>()?
        };
        for rowid in rows {
            c.execute("DELETE FROM search_index WHERE rowid = ?1", [rowid])?;
        }
        c.execute("DELETE FROM outgoing_blobs WHERE case_id = ?1", [key])?;
        c.execute("DELETE FROM cases WHERE id = ?1", [key])?;
        // Counted, when the last backup run holds it, until the next run takes it out too.
        let in_backup = c.execute("DELETE FROM backup_cases WHERE case_id = ?1", [key])?;
        c.execute(
            "UPDATE backup_state SET erased_since = erased_since + ?1",
            [in_backup as i64],
        )?;
        Ok(blobs)
    }

    /// Leaves a tombstone for a retracted case (`from`: its circle and author, when received).
    pub fn add_tombstone(
        &self,
        case: &CaseId,
        from: Option<(&[u8], &str)>,
        at: Timestamp,
    ) -> Result<()> {
        let (circle, author) = from.unzip();
        self.connection().execute(
            "INSERT OR IGNORE INTO case_tombstones (case_id, circle, author, retracted_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![&case.as_bytes()[..], circle, author, at.0],
        )?;
        Ok(())
    }

    /// The tombstone of `case`, if it was retracted.
    pub fn tombstone(&self, case: &CaseId) -> Result<Option<Tombstone>> {
        Ok(self
            .connection()
            .query_row(
                "SELECT case_id, circle, author, retracted_at FROM case_tombstones
                 WHERE case_id = ?1",
                [&case.as_bytes()[..]],
                tombstone_row,
            )
            .optional()?
            .flatten())
    }

    /// Every tombstone, the latest first.
    pub fn tombstones(&self) -> Result<Vec<Tombstone>> {
        let mut q = self.connection().prepare(
            "SELECT case_id, circle, author, retracted_at FROM case_tombstones
             ORDER BY retracted_at DESC",
        )?;
        let rows = q
            .query_map([], tombstone_row)?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(rows.into_iter().flatten().collect())
    }

    /// Copies what the WAL holds into the database and empties it, so no earlier version of a
    /// page (with text since deleted) is left in it.
    pub fn truncate_wal(&self) -> Result<()> {
        self.connection()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }
}

fn tombstone_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<Tombstone>> {
    let id: Vec<u8> = r.get(0)?;
    let circle: Option<Vec<u8>> = r.get(1)?;
    let author: Option<String> = r.get(2)?;
    let at: i64 = r.get(3)?;
    Ok(to16(&id).ok().map(|id| Tombstone {
        case: CaseId::from_bytes(id),
        from: circle.zip(author),
        retracted_at: Timestamp(at),
    }))
}
