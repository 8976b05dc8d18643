//! The relay's durable state: SQLite (WAL, fsync on every commit) plus blob files. Every
//! accepted request is on disk before it is answered; each operation is one transaction, so a
//! relay killed at any point restarts with exactly what it acknowledged.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use consilium_model::wire::{LogEntry, MailboxItem, MailboxKind, PostBundle, Posted};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_bytes::ByteBuf;

use crate::auth::Account;
use crate::error::{RelayError, Result};
use crate::framing::{Framing, Kind};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS groups (
    id BLOB PRIMARY KEY, epoch INTEGER NOT NULL, next_seq INTEGER NOT NULL,
    created_by BLOB NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS members (
    group_id BLOB NOT NULL, account BLOB NOT NULL, PRIMARY KEY (group_id, account));
CREATE TABLE IF NOT EXISTS messages (
    group_id BLOB NOT NULL, seq INTEGER NOT NULL, message_id BLOB NOT NULL, sender BLOB NOT NULL,
    epoch INTEGER NOT NULL, kind INTEGER NOT NULL, body BLOB NOT NULL, created_at INTEGER NOT NULL,
    resulting_epoch INTEGER NOT NULL,
    PRIMARY KEY (group_id, seq), UNIQUE (group_id, message_id));
CREATE TABLE IF NOT EXISTS mailbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, account BLOB NOT NULL, kind TEXT NOT NULL,
    group_id BLOB NOT NULL, sender BLOB NOT NULL, body BLOB NOT NULL, created_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS mailbox_account ON mailbox (account, id);
CREATE TABLE IF NOT EXISTS key_packages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, account BLOB NOT NULL, body BLOB NOT NULL,
    last_resort INTEGER NOT NULL, expires_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS key_packages_account ON key_packages (account, last_resort, id);
CREATE TABLE IF NOT EXISTS invitations (
    token_hash BLOB PRIMARY KEY, group_id BLOB NOT NULL, inviter BLOB NOT NULL,
    expires_at INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS nonces (
    account BLOB NOT NULL, nonce BLOB NOT NULL, expires_at INTEGER NOT NULL,
    PRIMARY KEY (account, nonce));
CREATE INDEX IF NOT EXISTS nonces_expiry ON nonces (expires_at);
CREATE TABLE IF NOT EXISTS cursors (
    group_id BLOB NOT NULL, account BLOB NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (group_id, account));
CREATE TABLE IF NOT EXISTS blobs (
    id BLOB PRIMARY KEY, group_id BLOB NOT NULL, size INTEGER NOT NULL, uploader BLOB NOT NULL,
    created_at INTEGER NOT NULL);
";

/// Largest number of log entries one fetch returns.
pub const MAX_FETCH: u64 = 500;

#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
    blob_dir: PathBuf,
}

impl Store {
    pub fn open(data_dir: &Path) -> Result<Store> {
        let internal = |e: std::io::Error| RelayError::Internal(e.to_string());
        std::fs::create_dir_all(data_dir.join("blobs")).map_err(internal)?;
        let conn = Connection::open(data_dir.join("relay.db"))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 5000;",
        )?;
        conn.execute_batch(SCHEMA)?;
        let store = Store {
            conn: Mutex::new(conn),
            blob_dir: data_dir.join("blobs"),
        };
        store.sweep_orphaned_blobs()?;
        Ok(store)
    }

    /// Removes blob files no record refers to and half-written `.partial` files: what a crash
    /// between writing a blob and recording it leaves. Runs at start-up, before serving.
    fn sweep_orphaned_blobs(&self) -> Result<()> {
        let known: std::collections::HashSet<String> = self.with(|c| {
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

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| RelayError::Internal("store lock poisoned".into()))?;
        f(&mut conn)
    }

    /// Records a request nonce; a nonce seen before (within its window) is a replay.
    pub fn remember_nonce(
        &self,
        account: &Account,
        nonce: &[u8; 16],
        expires_at: i64,
        now: i64,
    ) -> Result<()> {
        self.with(|c| {
            c.execute("DELETE FROM nonces WHERE expires_at < ?1", [now])?;
            let inserted = c.execute(
                "INSERT OR IGNORE INTO nonces (account, nonce, expires_at) VALUES (?1, ?2, ?3)",
                params![&account.0[..], &nonce[..], expires_at],
            )?;
            if inserted == 0 {
                Err(RelayError::Replayed)
            } else {
                Ok(())
            }
        })
    }

    pub fn create_group(&self, group_id: &[u8], creator: &Account, now: i64) -> Result<()> {
        if group_id.is_empty() || group_id.len() > 64 {
            return Err(RelayError::BadRequest(
                "a group id has 1 to 64 bytes".into(),
            ));
        }
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = tx.execute(
                "INSERT OR IGNORE INTO groups (id, epoch, next_seq, created_by, created_at) VALUES (?1, 0, 1, ?2, ?3)",
                params![group_id, &creator.0[..], now],
            )?;
            if n == 0 {
                return Err(RelayError::Conflict);
            }
            tx.execute("INSERT INTO members (group_id, account) VALUES (?1, ?2)", params![group_id, &creator.0[..]])?;
            tx.commit()?;
            Ok(())
        })
    }

    fn is_member(c: &Connection, group_id: &[u8], account: &Account) -> Result<bool> {
        Ok(c.query_row(
            "SELECT 1 FROM members WHERE group_id = ?1 AND account = ?2",
            params![group_id, &account.0[..]],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
    }

    /// Accepts or refuses one post as a whole. A commit must be for the group's current epoch
    /// and moves it forward; anything for an older epoch is `stale_epoch`. A retry of an accepted
    /// message id returns the first answer and stores nothing.
    pub fn post(
        &self,
        sender: &Account,
        bundle: &PostBundle,
        framing: &Framing,
        now: i64,
    ) -> Result<Posted> {
        let welcomes_ok = bundle.welcomes.is_empty() || framing.kind == Kind::Commit;
        if !welcomes_ok {
            return Err(RelayError::BadRequest(
                "only a commit carries Welcomes".into(),
            ));
        }
        if (!bundle.added.is_empty() || !bundle.removed.is_empty()) && framing.kind != Kind::Commit
        {
            return Err(RelayError::BadRequest(
                "only a commit changes membership".into(),
            ));
        }
        let added = bundle
            .added
            .iter()
            .map(|a| Account::parse(a))
            .collect::<Result<Vec<_>>>()?;
        let removed = bundle
            .removed
            .iter()
            .map(|a| Account::parse(a))
            .collect::<Result<Vec<_>>>()?;
        let welcomes = bundle
            .welcomes
            .iter()
            .map(|w| Ok((Account::parse(&w.account)?, &w.mls)))
            .collect::<Result<Vec<_>>>()?;
        if welcomes.iter().any(|(a, _)| !added.contains(a)) {
            return Err(RelayError::BadRequest(
                "a Welcome must go to an account the commit adds".into(),
            ));
        }
        let gid = &framing.group_id[..];
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if !Self::is_member(&tx, gid, sender)? {
                return Err(RelayError::Forbidden);
            }
            if let Some((seq, epoch)) = tx
                .query_row(
                    "SELECT seq, resulting_epoch FROM messages WHERE group_id = ?1 AND message_id = ?2",
                    params![gid, &bundle.message_id[..]],
                    |r| Ok((r.get::<_, u64>(0)?, r.get::<_, u64>(1)?)),
                )
                .optional()?
            {
                return Ok(Posted { seq, epoch });
            }
            let (epoch, seq): (u64, u64) =
                tx.query_row("SELECT epoch, next_seq FROM groups WHERE id = ?1", [gid], |r| Ok((r.get(0)?, r.get(1)?)))?;
            if framing.epoch < epoch {
                return Err(RelayError::StaleEpoch { current: epoch });
            }
            if framing.epoch > epoch {
                return Err(RelayError::FutureEpoch { got: framing.epoch, current: epoch });
            }
            let next_epoch = if framing.kind == Kind::Commit { epoch + 1 } else { epoch };
            tx.execute(
                "INSERT INTO messages (group_id, seq, message_id, sender, epoch, kind, body, created_at, resulting_epoch)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![gid, seq, &bundle.message_id[..], &sender.0[..], framing.epoch, framing.kind as i64, &bundle.mls[..], now, next_epoch],
            )?;
            tx.execute("UPDATE groups SET epoch = ?2, next_seq = ?3 WHERE id = ?1", params![gid, next_epoch, seq + 1])?;
            for a in &added {
                tx.execute("INSERT OR IGNORE INTO members (group_id, account) VALUES (?1, ?2)", params![gid, &a.0[..]])?;
            }
            for a in &removed {
                tx.execute("DELETE FROM members WHERE group_id = ?1 AND account = ?2", params![gid, &a.0[..]])?;
            }
            for (to, mls) in &welcomes {
                tx.execute(
                    "INSERT INTO mailbox (account, kind, group_id, sender, body, created_at) VALUES (?1, 'welcome', ?2, ?3, ?4, ?5)",
                    params![&to.0[..], gid, &sender.0[..], &mls[..], now],
                )?;
            }
            tx.commit()?;
            Ok(Posted { seq, epoch: next_epoch })
        })
    }

    /// Log entries after `after`, for a member of the group.
    pub fn fetch(
        &self,
        reader: &Account,
        group_id: &[u8],
        after: u64,
        limit: u64,
    ) -> Result<Vec<LogEntry>> {
        self.with(|c| {
            if !Self::is_member(c, group_id, reader)? {
                return Err(RelayError::Forbidden);
            }
            let mut stmt = c.prepare_cached(
                "SELECT seq, sender, message_id, body FROM messages WHERE group_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![group_id, after, limit.min(MAX_FETCH)], |r| {
                Ok(LogEntry {
                    seq: r.get(0)?,
                    sender: hex::encode(r.get::<_, Vec<u8>>(1)?),
                    message_id: ByteBuf::from(r.get::<_, Vec<u8>>(2)?),
                    mls: ByteBuf::from(r.get::<_, Vec<u8>>(3)?),
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Records how far a member has read.
    pub fn set_cursor(&self, reader: &Account, group_id: &[u8], seq: u64) -> Result<()> {
        self.with(|c| {
            if !Self::is_member(c, group_id, reader)? {
                return Err(RelayError::Forbidden);
            }
            c.execute(
                "INSERT INTO cursors (group_id, account, seq) VALUES (?1, ?2, ?3)
                 ON CONFLICT (group_id, account) DO UPDATE SET seq = max(seq, excluded.seq)",
                params![group_id, &reader.0[..], seq],
            )?;
            Ok(())
        })
    }

    /// The members of a group, for push notifications.
    pub fn members(&self, group_id: &[u8]) -> Result<Vec<Account>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached("SELECT account FROM members WHERE group_id = ?1")?;
            let rows = stmt.query_map([group_id], |r| r.get::<_, Vec<u8>>(0))?;
            rows.map(|a| {
                let a = a?;
                a.try_into()
                    .map(Account)
                    .map_err(|_| RelayError::Internal("bad account".into()))
            })
            .collect()
        })
    }

    pub fn mailbox(&self, account: &Account) -> Result<Vec<MailboxItem>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, kind, group_id, sender, body FROM mailbox WHERE account = ?1 ORDER BY id LIMIT 500",
            )?;
            let rows = stmt.query_map([&account.0[..]], |r| {
                Ok(MailboxItem {
                    id: r.get(0)?,
                    kind: if r.get::<_, String>(1)? == "welcome" { MailboxKind::Welcome } else { MailboxKind::JoinRequest },
                    group_id: ByteBuf::from(r.get::<_, Vec<u8>>(2)?),
                    sender: hex::encode(r.get::<_, Vec<u8>>(3)?),
                    body: ByteBuf::from(r.get::<_, Vec<u8>>(4)?),
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Removes one mailbox item of this account; another account's item is "not found".
    pub fn ack_mail(&self, account: &Account, id: u64) -> Result<()> {
        self.with(|c| {
            let n = c.execute(
                "DELETE FROM mailbox WHERE id = ?1 AND account = ?2",
                params![id, &account.0[..]],
            )?;
            if n == 0 {
                Err(RelayError::NotFound)
            } else {
                Ok(())
            }
        })
    }

    pub fn add_key_packages(
        &self,
        account: &Account,
        packages: &[(Vec<u8>, bool, i64)],
    ) -> Result<()> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let held: u64 = tx.query_row("SELECT count(*) FROM key_packages WHERE account = ?1", [&account.0[..]], |r| r.get(0))?;
            if held + packages.len() as u64 > 200 {
                return Err(RelayError::QuotaExceeded);
            }
            if packages.iter().any(|p| p.1) {
                // One last-resort package per account: a new one replaces the old.
                tx.execute("DELETE FROM key_packages WHERE account = ?1 AND last_resort = 1", [&account.0[..]])?;
            }
            for (body, last_resort, expires_at) in packages {
                tx.execute(
                    "INSERT INTO key_packages (account, body, last_resort, expires_at) VALUES (?1, ?2, ?3, ?4)",
                    params![&account.0[..], body, *last_resort, expires_at],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// Hands out one unexpired key package of `owner`: an ordinary one at most once (deleted in
    /// the same transaction), else the last-resort one, which stays.
    pub fn claim_key_package(&self, owner: &Account, now: i64) -> Result<Vec<u8>> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute("DELETE FROM key_packages WHERE account = ?1 AND expires_at <= ?2", params![&owner.0[..], now])?;
            let found: Option<(i64, Vec<u8>, bool)> = tx
                .query_row(
                    "SELECT id, body, last_resort FROM key_packages WHERE account = ?1 ORDER BY last_resort, id LIMIT 1",
                    [&owner.0[..]],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let Some((id, body, last_resort)) = found else { return Err(RelayError::NoKeyPackage) };
            if !last_resort {
                tx.execute("DELETE FROM key_packages WHERE id = ?1", [id])?;
            }
            tx.commit()?;
            Ok(body)
        })
    }

    pub fn register_invitation(
        &self,
        inviter: &Account,
        group_id: &[u8],
        token_hash: &[u8],
        expires_at: i64,
    ) -> Result<()> {
        if token_hash.len() != 32 {
            return Err(RelayError::BadRequest("the token hash is a SHA-256".into()));
        }
        self.with(|c| {
            if !Self::is_member(c, group_id, inviter)? {
                return Err(RelayError::Forbidden);
            }
            let n = c.execute(
                "INSERT OR IGNORE INTO invitations (token_hash, group_id, inviter, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![token_hash, group_id, &inviter.0[..], expires_at],
            )?;
            if n == 0 { Err(RelayError::Conflict) } else { Ok(()) }
        })
    }

    /// Uses a one-time token: stores a join request in the inviter's mailbox.
    pub fn redeem_invitation(
        &self,
        joiner: &Account,
        token: &[u8],
        body: &[u8],
        now: i64,
    ) -> Result<Vec<u8>> {
        let hash = ring::digest::digest(&ring::digest::SHA256, token);
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let found: Option<(Vec<u8>, Vec<u8>)> = tx
                .query_row(
                    "SELECT group_id, inviter FROM invitations WHERE token_hash = ?1 AND used = 0 AND expires_at > ?2",
                    params![hash.as_ref(), now],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((group_id, inviter)) = found else { return Err(RelayError::InvitationInvalid) };
            tx.execute("UPDATE invitations SET used = 1 WHERE token_hash = ?1", [hash.as_ref()])?;
            tx.execute(
                "INSERT INTO mailbox (account, kind, group_id, sender, body, created_at) VALUES (?1, 'join_request', ?2, ?3, ?4, ?5)",
                params![inviter, group_id, &joiner.0[..], body, now],
            )?;
            tx.commit()?;
            Ok(inviter)
        })
    }

    fn blob_path(&self, id: &[u8; 32]) -> PathBuf {
        self.blob_dir.join(hex::encode(id))
    }

    /// Stores a blob whose id is the SHA-256 of its bytes, for a group the uploader is in.
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
        let internal = |e: std::io::Error| RelayError::Internal(e.to_string());
        self.with(|c| {
            if !Self::is_member(c, group_id, uploader)? {
                return Err(RelayError::Forbidden);
            }
            let held: u64 = c.query_row(
                "SELECT coalesce(sum(size), 0) FROM blobs WHERE uploader = ?1",
                [&uploader.0[..]],
                |r| r.get(0),
            )?;
            if held + bytes.len() as u64 > quota {
                return Err(RelayError::QuotaExceeded);
            }
            let path = self.blob_path(id);
            let partial = path.with_extension("partial");
            {
                use std::io::Write;
                let mut f = std::fs::File::create(&partial).map_err(internal)?;
                f.write_all(bytes).map_err(internal)?;
                f.sync_all().map_err(internal)?;
            }
            std::fs::rename(&partial, &path).map_err(internal)?;
            c.execute(
                "INSERT OR IGNORE INTO blobs (id, group_id, size, uploader, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![&id[..], group_id, bytes.len() as u64, &uploader.0[..], now],
            )?;
            Ok(())
        })
    }

    /// A blob's bytes, for a member of the blob's group only; anyone else gets "not found".
    pub fn get_blob(&self, reader: &Account, id: &[u8; 32]) -> Result<Vec<u8>> {
        self.with(|c| {
            let group: Option<Vec<u8>> = c
                .query_row("SELECT group_id FROM blobs WHERE id = ?1", [&id[..]], |r| {
                    r.get(0)
                })
                .optional()?;
            match group {
                Some(g) if Self::is_member(c, &g, reader)? => std::fs::read(self.blob_path(id))
                    .map_err(|e| RelayError::Internal(e.to_string())),
                _ => Err(RelayError::NotFound),
            }
        })
    }

    /// Drops what no one needs any more: messages every member's cursor has passed or older than
    /// `retention_ms`, blobs older than `retention_ms`, used or expired invitations, expired key
    /// packages. Returns the number of messages removed.
    pub fn prune(&self, now: i64, retention_ms: i64) -> Result<u64> {
        let cutoff = now - retention_ms;
        let old_blobs: Vec<Vec<u8>> = self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let removed = tx.execute(
                "DELETE FROM messages WHERE created_at < ?1 OR seq <= (
                     SELECT min(coalesce(c.seq, 0)) FROM members m
                     LEFT JOIN cursors c ON c.group_id = m.group_id AND c.account = m.account
                     WHERE m.group_id = messages.group_id)",
                [cutoff],
            )?;
            tx.execute(
                "DELETE FROM invitations WHERE used = 1 OR expires_at <= ?1",
                [now],
            )?;
            tx.execute("DELETE FROM key_packages WHERE expires_at <= ?1", [now])?;
            let blobs = {
                let mut stmt = tx.prepare("SELECT id FROM blobs WHERE created_at < ?1")?;
                stmt.query_map([cutoff], |r| r.get::<_, Vec<u8>>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()?
            };
            tx.execute("DELETE FROM blobs WHERE created_at < ?1", [cutoff])?;
            tx.commit()?;
            tracing::info!(messages = removed, blobs = blobs.len(), "pruned");
            Ok(blobs)
        })?;
        for id in &old_blobs {
            let _ = std::fs::remove_file(self.blob_dir.join(hex::encode(id)));
        }
        Ok(old_blobs.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framing(gid: &[u8], epoch: u64) -> Framing {
        Framing {
            group_id: gid.to_vec(),
            epoch,
            kind: Kind::Application,
        }
    }

    fn post(s: &Store, who: &Account, gid: &[u8], i: u8, now: i64) -> Posted {
        let b = PostBundle {
            message_id: ByteBuf::from(vec![i; 16]),
            mls: ByteBuf::from(vec![i; 8]),
            welcomes: vec![],
            added: vec![],
            removed: vec![],
        };
        s.post(who, &b, &framing(gid, 0), now).unwrap()
    }

    #[test]
    fn blob_files_without_a_record_are_swept_at_start_up_and_recorded_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = Account([1; 32]);
        let gid = [3u8; 16];
        let bytes = b"ciphertext".to_vec();
        let id: [u8; 32] = ring::digest::digest(&ring::digest::SHA256, &bytes)
            .as_ref()
            .try_into()
            .unwrap();
        {
            let s = Store::open(dir.path()).unwrap();
            s.create_group(&gid, &a, 0).unwrap();
            s.put_blob(&a, &gid, &id, &bytes, 1 << 20, 0).unwrap();
        }
        let blobs = dir.path().join("blobs");
        std::fs::write(blobs.join(hex::encode([9u8; 32])), b"orphan").unwrap();
        std::fs::write(blobs.join("abc.partial"), b"half").unwrap();
        let s = Store::open(dir.path()).unwrap();
        let left: Vec<_> = std::fs::read_dir(&blobs)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from(hex::encode(id))]);
        assert_eq!(s.get_blob(&a, &id).unwrap(), bytes);
    }

    #[test]
    fn messages_are_kept_until_every_member_read_them_or_retention_expired() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let (a, b) = (Account([1; 32]), Account([2; 32]));
        let gid = [9u8; 16];
        s.create_group(&gid, &a, 0).unwrap();
        s.with(|c| {
            c.execute(
                "INSERT INTO members (group_id, account) VALUES (?1, ?2)",
                params![&gid[..], &b.0[..]],
            )?;
            Ok(())
        })
        .unwrap();
        for i in 1..=5 {
            post(&s, &a, &gid, i, 1000);
        }
        s.set_cursor(&a, &gid, 5).unwrap();
        s.prune(2000, 1_000_000).unwrap();
        assert_eq!(
            s.fetch(&a, &gid, 0, 100).unwrap().len(),
            5,
            "b has not read them"
        );
        s.set_cursor(&b, &gid, 3).unwrap();
        s.prune(2000, 1_000_000).unwrap();
        assert_eq!(
            s.fetch(&a, &gid, 0, 100)
                .unwrap()
                .iter()
                .map(|e| e.seq)
                .collect::<Vec<_>>(),
            vec![4, 5]
        );
        s.prune(1_002_000, 1_000_000).unwrap();
        assert!(
            s.fetch(&a, &gid, 0, 100).unwrap().is_empty(),
            "past retention"
        );
        // Sequence numbers keep counting after pruning.
        assert_eq!(post(&s, &a, &gid, 6, 1_002_000).seq, 6);
    }
}
