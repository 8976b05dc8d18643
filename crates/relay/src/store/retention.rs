//! Pruning: what every member has read, or what is older than the retention period, is dropped,
//! with the blob files no record refers to any more.

use super::Store;
use super::sql::args;
use crate::auth::Account;
use crate::error::{RelayError, Result};

/// A row of `table` past its group's retention (?1: the relay's cutoff, ?2: now, ?3: the
/// relay's retention in ms): a group's own can only shorten the relay's. (`max` of two values
/// is written out as an `OR`: PostgreSQL's is `greatest`.)
macro_rules! expired {
    ($table:literal) => {
        concat!(
            "(created_at < ?1 OR created_at < ?2 - coalesce(
                (SELECT retention_ms FROM groups g WHERE g.id = ",
            $table,
            ".group_id), ?3))"
        )
    };
}

impl Store {
    /// Drops what no one needs any more: messages every member's cursor has passed or older than
    /// `retention_ms`, blobs older than `retention_ms`, used or expired invitations, expired key
    /// packages, mailbox items older than `retention_ms`. Returns the number of blob files removed.
    /// Sets group `group_id`'s own retention (`None`: the relay's): only an admin of the group
    /// may (any member, in a group without roles). It only ever shortens the relay's.
    pub fn set_group_retention(
        &self,
        member: &Account,
        group_id: &[u8],
        days: Option<u32>,
    ) -> Result<()> {
        let (member, group) = (*member, group_id.to_vec());
        self.write(move |c| {
            if !Self::is_member(c, &group, &member)? {
                return Err(RelayError::Forbidden);
            }
            let state: Option<Vec<u8>> = match c.optional(
                "SELECT public_state FROM groups WHERE id = ?1",
                args![&group],
            )? {
                Some(row) => row.get(0)?,
                None => None,
            };
            if let Some(state) = state.filter(|s| !s.is_empty()) {
                let admins = crate::handshake::admins_of_record(&state)?;
                if !admins.is_empty() && !admins.contains(&member) {
                    return Err(RelayError::Forbidden);
                }
            }
            let ms = days.map(|d| i64::from(d) * 86_400_000);
            c.execute(
                "UPDATE groups SET retention_ms = ?2 WHERE id = ?1",
                args![&group, ms],
            )?;
            Ok(())
        })
        .wait()
    }

    pub fn prune(&self, now: i64, retention_ms: i64) -> Result<u64> {
        let cutoff = now - retention_ms;
        let _files = self
            .blob_lock
            .write()
            .map_err(|_| RelayError::Internal("blob lock poisoned".into()))?;
        let unreferenced: Vec<Vec<u8>> = self
            .write(move |c| {
                // A group's own retention (its admins') can only shorten the relay's.
                let removed = c.execute(
                    concat!(
                        "DELETE FROM messages WHERE ",
                        expired!("messages"),
                        " OR seq <= (
                         SELECT min(coalesce(c.seq, 0)) FROM members m
                         LEFT JOIN cursors c ON c.group_id = m.group_id AND c.account = m.account
                         WHERE m.group_id = messages.group_id)"
                    ),
                    args![cutoff, now, retention_ms],
                )?;
                c.execute(
                    "DELETE FROM invitations WHERE used = 1 OR expires_at <= ?1",
                    args![now],
                )?;
                c.execute(
                    "DELETE FROM key_packages WHERE expires_at <= ?1",
                    args![now],
                )?;
                // A join request lets the group's members claim the joiner's key packages as
                // long as its invitation could have lived; unused enrolment codes as long as
                // they were valid.
                c.execute(
                    "DELETE FROM join_requests WHERE created_at < ?1",
                    args![now - super::invitations::INVITATION_MAX_LIFETIME_MS],
                )?;
                c.execute(
                    "DELETE FROM enrolments WHERE used_by IS NULL AND expires_at <= ?1",
                    args![now],
                )?;
                // Mail nobody collected within the retention period (a Welcome's key package is
                // long expired by then).
                c.execute("DELETE FROM mailbox WHERE created_at < ?1", args![cutoff])?;
                let old: Vec<Vec<u8>> = c
                    .query(
                        concat!("SELECT DISTINCT id FROM blobs WHERE ", expired!("blobs")),
                        args![cutoff, now, retention_ms],
                    )?
                    .iter()
                    .map(|r| r.get(0))
                    .collect::<Result<_>>()?;
                c.execute(
                    concat!("DELETE FROM blobs WHERE ", expired!("blobs")),
                    args![cutoff, now, retention_ms],
                )?;
                // A file stays while another group still holds a record of it.
                let mut gone = Vec::new();
                for id in old {
                    let held = c.exists("SELECT 1 FROM blobs WHERE id = ?1 LIMIT 1", args![&id])?;
                    if !held {
                        gone.push(id);
                    }
                }
                tracing::info!(messages = removed, blobs = gone.len(), "pruned");
                Ok(gone)
            })
            .wait()?;
        for id in &unreferenced {
            // A blob left behind is swept at a later start; the records are gone already.
            if let Ok(id) = <[u8; 32]>::try_from(&id[..]) {
                let _ = self.blob_files.remove(&id);
            }
        }
        Ok(unreferenced.len() as u64)
    }
}
