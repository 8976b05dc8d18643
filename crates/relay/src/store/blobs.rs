//! Encrypted blobs: content-addressed files, written and fsynced before their record commits,
//! counted against the uploader's quota, readable by the group's members; files no record refers
//! to are swept at start-up.

use std::path::PathBuf;

use rusqlite::{Connection, OptionalExtension, params};

use super::Store;
use crate::auth::Account;
use crate::error::{RelayError, Result};

impl Store {
    /// Removes blob files no record refers to and half-written `.partial` files: what a crash
    /// between writing a blob and recording it leaves. Runs at start-up, before serving.
    pub(super) fn sweep_orphaned_blobs(&self) -> Result<()> {
        let known: std::collections::HashSet<String> = self.read(|c| {
            let mut stmt = c.prepare("SELECT id FROM blobs")?;
            let ids = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
            Ok(ids
                .collect::<rusqlite::Result<Vec<_>>>()?
                .into_iter()
                .map(hex::encode)
                .collect())
        })?;
        let entries =
            std::fs::read_dir(&self.blob_dir).map_err(|e| RelayError::Internal(e.to_string()))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if !known.contains(&name) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(())
    }

    pub(super) fn blob_path(&self, id: &[u8; 32]) -> PathBuf {
        self.blob_dir.join(hex::encode(id))
    }

    fn blob_room(
        c: &Connection,
        uploader: &Account,
        group_id: &[u8],
        id: &[u8; 32],
        size: u64,
        quota: u64,
    ) -> Result<()> {
        if !Self::is_member(c, group_id, uploader)? {
            return Err(RelayError::Forbidden);
        }
        let held: u64 = c.query_row(
            "SELECT coalesce(sum(size), 0) FROM blobs WHERE uploader = ?1 AND NOT (group_id = ?2 AND id = ?3)",
            params![&uploader.0[..], group_id, &id[..]],
            |r| r.get(0),
        )?;
        if held + size > quota {
            return Err(RelayError::QuotaExceeded);
        }
        Ok(())
    }

    /// Stores a blob whose id is the SHA-256 of its bytes, for a group the uploader is in. The
    /// file is written and synced (with its directory) before the record is committed; a file
    /// without a record (a crash in between, a refused record) is swept at the next start.
    pub fn put_blob(
        &self,
        uploader: &Account,
        group_id: &[u8],
        id: &[u8; 32],
        bytes: &[u8],
        quota: u64,
        now: i64,
    ) -> Result<()> {
        let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
        if digest.as_ref() != id {
            return Err(RelayError::DigestMismatch);
        }
        let size = bytes.len() as u64;
        self.read(|c| Self::blob_room(c, uploader, group_id, id, size, quota))?;
        let _files = self
            .blob_files
            .read()
            .map_err(|_| RelayError::Internal("blob lock poisoned".into()))?;
        let internal = |e: std::io::Error| RelayError::Internal(e.to_string());
        let path = self.blob_path(id);
        let mut suffix = [0u8; 8];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut suffix)
            .map_err(|_| RelayError::Internal("no randomness".into()))?;
        let partial = path.with_extension(format!("{}.partial", hex::encode(suffix)));
        {
            use std::io::Write;
            let mut f = super::private_file(&partial).map_err(internal)?;
            f.write_all(bytes).map_err(internal)?;
            f.sync_all().map_err(internal)?;
        }
        std::fs::rename(&partial, &path).map_err(internal)?;
        std::fs::File::open(&self.blob_dir)
            .and_then(|d| d.sync_all())
            .map_err(internal)?;
        let (uploader, group_id, id) = (*uploader, group_id.to_vec(), *id);
        self.write(move |c| {
            Self::blob_room(c, &uploader, &group_id, &id, size, quota)?;
            c.execute(
                "INSERT OR IGNORE INTO blobs (group_id, id, size, uploader, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![group_id, &id[..], size, &uploader.0[..], now],
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
            .blob_files
            .write()
            .map_err(|_| RelayError::Internal("blob lock poisoned".into()))?;
        let (uploader, group, blob) = (*uploader, group_id.to_vec(), *id);
        let unheld = self
            .write(move |c| {
                let removed = c.execute(
                    "DELETE FROM blobs WHERE group_id = ?1 AND id = ?2 AND uploader = ?3",
                    params![group, &blob[..], &uploader.0[..]],
                )?;
                if removed == 0 {
                    return Err(RelayError::NotFound);
                }
                Ok(c.query_row(
                    "SELECT 1 FROM blobs WHERE id = ?1 LIMIT 1",
                    [&blob[..]],
                    |_| Ok(()),
                )
                .optional()?
                .is_none())
            })
            .wait()?;
        if unheld {
            let _ = std::fs::remove_file(self.blob_path(id));
        }
        Ok(())
    }

    /// A blob's bytes, for a member of one of the blob's groups only; anyone else gets "not
    /// found".
    /// The blob's file, opened for `reader` (a member of a group holding it), and its length:
    /// served as a stream, so a 60 MiB image costs the relay a read buffer, not 60 MiB. An open
    /// file stays readable if pruning removes its name meanwhile.
    pub fn open_blob(&self, reader: &Account, id: &[u8; 32]) -> Result<(std::fs::File, u64)> {
        let readable = self.read(|c| {
            Ok(c.query_row(
                "SELECT 1 FROM blobs b JOIN members m ON m.group_id = b.group_id
                 WHERE b.id = ?1 AND m.account = ?2 LIMIT 1",
                params![&id[..], &reader.0[..]],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
        })?;
        if !readable {
            return Err(RelayError::NotFound);
        }
        let internal = |e: std::io::Error| RelayError::Internal(e.to_string());
        let file = std::fs::File::open(self.blob_path(id)).map_err(internal)?;
        let len = file.metadata().map_err(internal)?.len();
        Ok((file, len))
    }

    /// The whole blob, for tests and tools (the relay itself streams it: `open_blob`).
    pub fn read_blob(&self, reader: &Account, id: &[u8; 32]) -> Result<Vec<u8>> {
        use std::io::Read as _;
        let (mut file, len) = self.open_blob(reader, id)?;
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        file.read_to_end(&mut bytes)
            .map_err(|e| RelayError::Internal(e.to_string()))?;
        Ok(bytes)
    }
}
