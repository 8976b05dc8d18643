//! Pruning: what every member has read, or what is older than the retention period, is dropped,
//! with the blob files no record refers to any more.

use rusqlite::OptionalExtension;

use super::Store;
use crate::error::{RelayError, Result};

impl Store {
    /// Drops what no one needs any more: messages every member's cursor has passed or older than
    /// `retention_ms`, blobs older than `retention_ms`, used or expired invitations, expired key
    /// packages, mailbox items older than `retention_ms`. Returns the number of blob files removed.
    pub fn prune(&self, now: i64, retention_ms: i64) -> Result<u64> {
        let cutoff = now - retention_ms;
        let _files = self
            .blob_files
            .write()
            .map_err(|_| RelayError::Internal("blob lock poisoned".into()))?;
        let unreferenced: Vec<Vec<u8>> = self
            .write(move |c| {
                let removed = c.execute(
                    "DELETE FROM messages WHERE created_at < ?1 OR seq <= (
                     SELECT min(coalesce(c.seq, 0)) FROM members m
                     LEFT JOIN cursors c ON c.group_id = m.group_id AND c.account = m.account
                     WHERE m.group_id = messages.group_id)",
                    [cutoff],
                )?;
                c.execute(
                    "DELETE FROM invitations WHERE used = 1 OR expires_at <= ?1",
                    [now],
                )?;
                c.execute("DELETE FROM key_packages WHERE expires_at <= ?1", [now])?;
                // A join request lets the group's members claim the joiner's key packages as
                // long as its invitation could have lived; unused enrolment codes as long as
                // they were valid.
                c.execute(
                    "DELETE FROM join_requests WHERE created_at < ?1",
                    [now - super::invitations::INVITATION_MAX_LIFETIME_MS],
                )?;
                c.execute(
                    "DELETE FROM enrolments WHERE used_by IS NULL AND expires_at <= ?1",
                    [now],
                )?;
                // Mail nobody collected within the retention period (a Welcome's key package is
                // long expired by then).
                c.execute("DELETE FROM mailbox WHERE created_at < ?1", [cutoff])?;
                let old: Vec<Vec<u8>> = {
                    let mut stmt =
                        c.prepare("SELECT DISTINCT id FROM blobs WHERE created_at < ?1")?;
                    stmt.query_map([cutoff], |r| r.get::<_, Vec<u8>>(0))?
                        .collect::<rusqlite::Result<Vec<_>>>()?
                };
                c.execute("DELETE FROM blobs WHERE created_at < ?1", [cutoff])?;
                // A file stays while another group still holds a record of it.
                let mut gone = Vec::new();
                for id in old {
                    let held = c
                        .query_row("SELECT 1 FROM blobs WHERE id = ?1 LIMIT 1", [&id], |_| {
                            Ok(())
                        })
                        .optional()?
                        .is_some();
                    if !held {
                        gone.push(id);
                    }
                }
                tracing::info!(messages = removed, blobs = gone.len(), "pruned");
                Ok(gone)
            })
            .wait()?;
        for id in &unreferenced {
            let _ = std::fs::remove_file(self.blob_dir.join(hex::encode(id)));
        }
        Ok(unreferenced.len() as u64)
    }
}
