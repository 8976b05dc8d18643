//! Encrypted blobs: content-addressed bytes (`blob_files`), kept durably before their record
//! commits, counted against the uploader's quota, readable by the group's members; files no record refers
//! to are swept at start-up.

use std::io::Read;

use super::Store;
use super::blob_files::Incoming;
use super::sql::{Sql, args};
use crate::auth::Account;
use crate::error::{RelayError, Result};

impl Store {
    /// Removes blob bytes no record refers to and half-written files: what a crash between
    /// keeping a blob and recording it leaves. Runs at start-up, before serving.
    pub(super) fn sweep_orphaned_blobs(&self) -> Result<()> {
        let known: std::collections::HashSet<Vec<u8>> = self.read(|c| {
            c.query("SELECT DISTINCT id FROM blobs", args![])?
                .iter()
                .map(|r| r.get(0))
                .collect()
        })?;
        // The bucket's objects carry the real time; the grace is measured against it.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        self.blob_files
            .sweep(&|id: &[u8; 32]| known.contains(&id[..]), now)
    }

    fn blob_room(
        c: &dyn Sql,
        uploader: &Account,
        group_id: &[u8],
        id: &[u8; 32],
        size: u64,
        quota: u64,
    ) -> Result<()> {
        if !Self::is_member(c, group_id, uploader)? {
            return Err(RelayError::Forbidden);
        }
        let held: u64 = c
            .one(
                "SELECT CAST(coalesce(sum(size), 0) AS BIGINT) FROM blobs WHERE uploader = ?1 AND NOT (group_id = ?2 AND id = ?3)",
                args![uploader, group_id, id],
            )?
            .get(0)?;
        if held + size > quota {
            return Err(RelayError::QuotaExceeded);
        }
        Ok(())
    }

    /// Stores a blob whose id is the SHA-256 of its bytes, for a group the uploader is in,
    /// streamed from `source` to where blobs live (`blob_files`) and kept only if the bytes are
    /// that blob. `declared` (what the request says it carries) is held to the quota before a
    /// byte is read; the real size after. The bytes are durable before the record commits; bytes
    /// without a record (a crash in between, a refused record) are swept later.
    #[allow(clippy::too_many_arguments)]
    pub fn put_blob(
        &self,
        uploader: &Account,
        group_id: &[u8],
        id: &[u8; 32],
        declared: u64,
        source: &mut dyn Read,
        quota: u64,
        now: i64,
    ) -> Result<()> {
        self.read(|c| Self::blob_room(c, uploader, group_id, id, declared, quota))?;
        // Streamed without the lock (it takes as long as the sender takes); published and
        // recorded under it, so pruning never removes bytes about to be recorded.
        let (size, staged) = self.blob_files.stage(id, Incoming::new(source, declared))?;
        let _files = self
            .blob_lock
            .read()
            .map_err(|_| RelayError::Internal("blob lock poisoned".into()))?;
        staged.publish()?;
        let (uploader, group_id, id) = (*uploader, group_id.to_vec(), *id);
        self.write(move |c| {
            Self::blob_room(c, &uploader, &group_id, &id, size, quota)?;
            c.execute(
                "INSERT INTO blobs (group_id, id, size, uploader, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT DO NOTHING",
                args![&group_id, &id, size, &uploader, now],
            )?;
            Ok(())
        })
        .wait()
    }

    /// Withdraws a blob `uploader` put in `group_id` (its author retracted the case): the
    /// group's members no longer get it, and its file goes once no group holds it. Anyone else,
    /// or a blob not uploaded there by them, gets "not found" (nothing is revealed).
    pub fn withdraw_blob(&self, uploader: &Account, group_id: &[u8], id: &[u8; 32]) -> Result<()> {
        let _files = self
            .blob_lock
            .write()
            .map_err(|_| RelayError::Internal("blob lock poisoned".into()))?;
        let (uploader, group, blob) = (*uploader, group_id.to_vec(), *id);
        let unheld = self
            .write(move |c| {
                let removed = c.execute(
                    "DELETE FROM blobs WHERE group_id = ?1 AND id = ?2 AND uploader = ?3",
                    args![&group, &blob, &uploader],
                )?;
                if removed == 0 {
                    return Err(RelayError::NotFound);
                }
                Ok(!c.exists("SELECT 1 FROM blobs WHERE id = ?1 LIMIT 1", args![&blob])?)
            })
            .wait()?;
        if unheld {
            // Bytes whose removal fails have no record now: a later sweep takes them.
            let _ = self.blob_files.remove(id);
        }
        Ok(())
    }

    /// The blob's bytes, opened for `reader` (a member of a group holding it), and their
    /// length: served as a stream, so a 60 MiB image costs the relay a read buffer, not 60 MiB.
    /// Anyone else gets "not found".
    pub fn open_blob(
        &self,
        reader: &Account,
        id: &[u8; 32],
    ) -> Result<(Box<dyn Read + Send>, u64)> {
        let readable = self.read(|c| {
            c.exists(
                "SELECT 1 FROM blobs b JOIN members m ON m.group_id = b.group_id
                 WHERE b.id = ?1 AND m.account = ?2 LIMIT 1",
                args![id, reader],
            )
        })?;
        if !readable {
            return Err(RelayError::NotFound);
        }
        let opened = self.blob_files.open(id)?;
        Ok((opened.reader, opened.len))
    }

    /// The whole blob, for tests and tools (the relay itself streams it: `open_blob`).
    pub fn read_blob(&self, reader: &Account, id: &[u8; 32]) -> Result<Vec<u8>> {
        let (mut file, len) = self.open_blob(reader, id)?;
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        file.read_to_end(&mut bytes)
            .map_err(|e| RelayError::Internal(e.to_string()))?;
        Ok(bytes)
    }
}
