//! The relay's durable state: SQLite (WAL, fsync on every commit) plus blob files. Every
//! accepted request is on disk before it is answered; each operation is one transaction, so a
//! relay killed at any point restarts with exactly what it acknowledged.

mod group_commit;

pub use group_commit::Pending;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use consilium_model::wire::{LogEntry, MailboxItem, MailboxKind, PostBundle, Posted};
use rusqlite::{Connection, OptionalExtension, params};
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

/// Version 2: a blob is recorded per group, so identical ciphertext uploaded to two groups is
/// readable in both and counted once per uploader and group.
const SCHEMA_V2: &str = "
CREATE TABLE blobs_v2 (
    group_id BLOB NOT NULL, id BLOB NOT NULL, size INTEGER NOT NULL, uploader BLOB NOT NULL,
    created_at INTEGER NOT NULL, PRIMARY KEY (group_id, id));
INSERT INTO blobs_v2 (group_id, id, size, uploader, created_at)
    SELECT group_id, id, size, uploader, created_at FROM blobs;
DROP TABLE blobs;
ALTER TABLE blobs_v2 RENAME TO blobs;
CREATE INDEX blobs_id ON blobs (id);
CREATE INDEX blobs_uploader ON blobs (uploader);
";

const SCHEMA_VERSION: i64 = 2;

/// Brings a database written by any earlier relay to the current schema, in one transaction.
fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(RelayError::Internal(format!(
            "the data directory was written by a newer relay (schema {version})"
        )));
    }
    if version < 1 {
        tx.execute_batch(SCHEMA)?;
    }
    if version < 2 {
        tx.execute_batch(SCHEMA_V2)?;
    }
    tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
    tx.commit()?;
    Ok(())
}

/// Connections that serve reads side by side with the writer (WAL).
const READERS: usize = 4;

/// The membership changes a commit's bundle carries: routing hints and Welcomes.
#[derive(Debug)]
struct Membership {
    added: Vec<Account>,
    removed: Vec<Account>,
    welcomes: Vec<(Account, ByteBuf)>,
}

/// An accepted post and who is in its group now (to notify).
#[derive(Debug)]
pub struct Accepted {
    pub posted: Posted,
    pub members: Vec<Account>,
}

/// Largest number of log entries one fetch returns.
pub const MAX_FETCH: u64 = 500;

#[derive(Debug)]
pub struct Store {
    writer: group_commit::Writer,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    blob_dir: PathBuf,
    /// Uploads hold it shared from writing a file to committing its record; pruning holds it
    /// alone from dropping records to removing files, so it never removes a file an upload in
    /// flight is about to record.
    blob_files: std::sync::RwLock<()>,
}

fn connect(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;",
    )?;
    Ok(conn)
}

impl Store {
    pub fn open(data_dir: &Path) -> Result<Store> {
        let internal = |e: std::io::Error| RelayError::Internal(e.to_string());
        std::fs::create_dir_all(data_dir.join("blobs")).map_err(internal)?;
        let db = data_dir.join("relay.db");
        let mut conn = connect(&db)?;
        migrate(&mut conn)?;
        let readers = (0..READERS)
            .map(|_| {
                let reader = connect(&db)?;
                reader.execute_batch("PRAGMA query_only = ON")?;
                Ok(Mutex::new(reader))
            })
            .collect::<Result<Vec<_>>>()?;
        let store = Store {
            writer: group_commit::Writer::start(conn)?,
            readers,
            next_reader: AtomicUsize::new(0),
            blob_dir: data_dir.join("blobs"),
            blob_files: std::sync::RwLock::new(()),
        };
        store.sweep_orphaned_blobs()?;
        Ok(store)
    }

    /// Removes blob files no record refers to and half-written `.partial` files: what a crash
    /// between writing a blob and recording it leaves. Runs at start-up, before serving.
    fn sweep_orphaned_blobs(&self) -> Result<()> {
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

    /// Runs a read on one of the reader connections (a free one if there is one).
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        let n = self.readers.len();
        for i in 0..n {
            if let Ok(conn) = self.readers[(start + i) % n].try_lock() {
                return f(&conn);
            }
        }
        let conn = self.readers[start % n]
            .lock()
            .map_err(|_| RelayError::Internal("store lock poisoned".into()))?;
        f(&conn)
    }

    /// Queues a write for the writer's next batch; its answer comes once it is on disk.
    fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Pending<T> {
        self.writer.submit(f)
    }

    /// Records a request nonce; a nonce seen before (within its window) is a replay.
    pub fn remember_nonce(
        &self,
        account: &Account,
        nonce: &[u8; 16],
        expires_at: i64,
    ) -> Pending<()> {
        let (account, nonce) = (*account, *nonce);
        self.write(move |c| {
            let inserted = c
                .prepare_cached(
                    "INSERT OR IGNORE INTO nonces (account, nonce, expires_at) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![&account.0[..], &nonce[..], expires_at])?;
            if inserted == 0 {
                Err(RelayError::Replayed)
            } else {
                Ok(())
            }
        })
    }

    /// Forgets nonces whose requests can no longer be accepted anyway (outside the window).
    pub fn forget_expired_nonces(&self, now: i64) -> Pending<usize> {
        self.write(move |c| Ok(c.execute("DELETE FROM nonces WHERE expires_at < ?1", [now])?))
    }

    pub fn create_group(&self, group_id: &[u8], creator: &Account, now: i64) -> Pending<()> {
        if group_id.is_empty() || group_id.len() > 64 {
            return Pending::ready(Err(RelayError::BadRequest(
                "a group id has 1 to 64 bytes".into(),
            )));
        }
        let (group_id, creator) = (group_id.to_vec(), *creator);
        self.write(move |c| {
            let n = c.execute(
                "INSERT OR IGNORE INTO groups (id, epoch, next_seq, created_by, created_at) VALUES (?1, 0, 1, ?2, ?3)",
                params![group_id, &creator.0[..], now],
            )?;
            if n == 0 {
                return Err(RelayError::Conflict);
            }
            c.execute(
                "INSERT INTO members (group_id, account) VALUES (?1, ?2)",
                params![group_id, &creator.0[..]],
            )?;
            Ok(())
        })
    }

    fn is_member(c: &Connection, group_id: &[u8], account: &Account) -> Result<bool> {
        Ok(
            c.prepare_cached("SELECT 1 FROM members WHERE group_id = ?1 AND account = ?2")?
                .query_row(params![group_id, &account.0[..]], |_| Ok(()))
                .optional()?
                .is_some(),
        )
    }

    /// What a post's bundle says about membership, checked before it is queued.
    fn check_bundle(bundle: &PostBundle, framing: &Framing) -> Result<Membership> {
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
        let parse = |list: &[String]| {
            list.iter()
                .map(|a| Account::parse(a))
                .collect::<Result<Vec<_>>>()
        };
        let added = parse(&bundle.added)?;
        let removed = parse(&bundle.removed)?;
        let welcomes = bundle
            .welcomes
            .iter()
            .map(|w| Ok((Account::parse(&w.account)?, w.mls.clone())))
            .collect::<Result<Vec<_>>>()?;
        if welcomes.iter().any(|(a, _)| !added.contains(a)) {
            return Err(RelayError::BadRequest(
                "a Welcome must go to an account the commit adds".into(),
            ));
        }
        Ok(Membership {
            added,
            removed,
            welcomes,
        })
    }

    /// Accepts or refuses one post as a whole. A commit must be for the group's current epoch
    /// and moves it forward; anything for an older epoch is `stale_epoch`. A retry of an accepted
    /// message id returns the first answer and stores nothing.
    pub fn post(
        &self,
        sender: &Account,
        bundle: PostBundle,
        framing: Framing,
        now: i64,
    ) -> Pending<Accepted> {
        let Membership {
            added,
            removed,
            welcomes,
        } = match Self::check_bundle(&bundle, &framing) {
            Ok(checked) => checked,
            Err(e) => return Pending::ready(Err(e)),
        };
        let (sender, message_id, mls) = (*sender, bundle.message_id, bundle.mls);
        self.write(move |c| {
            let gid = &framing.group_id[..];
            if !Self::is_member(c, gid, &sender)? {
                return Err(RelayError::Forbidden);
            }
            if let Some((seq, epoch)) = c
                .prepare_cached(
                    "SELECT seq, resulting_epoch FROM messages WHERE group_id = ?1 AND message_id = ?2",
                )?
                .query_row(params![gid, &message_id[..]], |r| {
                    Ok((r.get::<_, u64>(0)?, r.get::<_, u64>(1)?))
                })
                .optional()?
            {
                return Ok(Accepted {
                    posted: Posted { seq, epoch },
                    members: Self::members_in(c, gid)?,
                });
            }
            let (epoch, seq): (u64, u64) = c
                .prepare_cached("SELECT epoch, next_seq FROM groups WHERE id = ?1")?
                .query_row([gid], |r| Ok((r.get(0)?, r.get(1)?)))?;
            if framing.epoch < epoch {
                return Err(RelayError::StaleEpoch { current: epoch });
            }
            if framing.epoch > epoch {
                return Err(RelayError::FutureEpoch { got: framing.epoch, current: epoch });
            }
            let next_epoch = if framing.kind == Kind::Commit { epoch + 1 } else { epoch };
            c.prepare_cached(
                "INSERT INTO messages (group_id, seq, message_id, sender, epoch, kind, body, created_at, resulting_epoch)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![gid, seq, &message_id[..], &sender.0[..], framing.epoch, framing.kind as i64, &mls[..], now, next_epoch])?;
            c.prepare_cached("UPDATE groups SET epoch = ?2, next_seq = ?3 WHERE id = ?1")?
                .execute(params![gid, next_epoch, seq + 1])?;
            for a in &added {
                c.execute("INSERT OR IGNORE INTO members (group_id, account) VALUES (?1, ?2)", params![gid, &a.0[..]])?;
            }
            for a in &removed {
                c.execute("DELETE FROM members WHERE group_id = ?1 AND account = ?2", params![gid, &a.0[..]])?;
            }
            for (to, mls) in &welcomes {
                c.execute(
                    "INSERT INTO mailbox (account, kind, group_id, sender, body, created_at) VALUES (?1, 'welcome', ?2, ?3, ?4, ?5)",
                    params![&to.0[..], gid, &sender.0[..], &mls[..], now],
                )?;
            }
            Ok(Accepted {
                posted: Posted { seq, epoch: next_epoch },
                members: Self::members_in(c, gid)?,
            })
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
        self.read(|c| {
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
    pub fn set_cursor(&self, reader: &Account, group_id: &[u8], seq: u64) -> Pending<()> {
        let (reader, group_id) = (*reader, group_id.to_vec());
        self.write(move |c| {
            if !Self::is_member(c, &group_id, &reader)? {
                return Err(RelayError::Forbidden);
            }
            c.prepare_cached(
                "INSERT INTO cursors (group_id, account, seq) VALUES (?1, ?2, ?3)
                 ON CONFLICT (group_id, account) DO UPDATE SET seq = max(seq, excluded.seq)",
            )?
            .execute(params![group_id, &reader.0[..], seq])?;
            Ok(())
        })
    }

    /// The members of a group, for push notifications.
    fn members_in(c: &Connection, group_id: &[u8]) -> Result<Vec<Account>> {
        let mut stmt = c.prepare_cached("SELECT account FROM members WHERE group_id = ?1")?;
        let rows = stmt.query_map([group_id], |r| r.get::<_, Vec<u8>>(0))?;
        rows.map(|a| {
            let a = a?;
            a.try_into()
                .map(Account)
                .map_err(|_| RelayError::Internal("bad account".into()))
        })
        .collect()
    }

    pub fn mailbox(&self, account: &Account) -> Result<Vec<MailboxItem>> {
        self.read(|c| {
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
    pub fn ack_mail(&self, account: &Account, id: u64) -> Pending<()> {
        let account = *account;
        self.write(move |c| {
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
        packages: Vec<(Vec<u8>, bool, i64)>,
    ) -> Pending<()> {
        let account = *account;
        self.write(move |c| {
            let held: u64 = c.query_row("SELECT count(*) FROM key_packages WHERE account = ?1", [&account.0[..]], |r| r.get(0))?;
            if held + packages.len() as u64 > 200 {
                return Err(RelayError::QuotaExceeded);
            }
            if packages.iter().any(|p| p.1) {
                // One last-resort package per account: a new one replaces the old.
                c.execute("DELETE FROM key_packages WHERE account = ?1 AND last_resort = 1", [&account.0[..]])?;
            }
            for (body, last_resort, expires_at) in &packages {
                c.execute(
                    "INSERT INTO key_packages (account, body, last_resort, expires_at) VALUES (?1, ?2, ?3, ?4)",
                    params![&account.0[..], body, *last_resort, expires_at],
                )?;
            }
            Ok(())
        })
    }

    /// Hands out one unexpired key package of `owner`: an ordinary one at most once (deleted in
    /// the same transaction), else the last-resort one, which stays.
    pub fn claim_key_package(&self, owner: &Account, now: i64) -> Pending<Vec<u8>> {
        let owner = *owner;
        self.write(move |c| {
            c.execute("DELETE FROM key_packages WHERE account = ?1 AND expires_at <= ?2", params![&owner.0[..], now])?;
            let found: Option<(i64, Vec<u8>, bool)> = c
                .query_row(
                    "SELECT id, body, last_resort FROM key_packages WHERE account = ?1 ORDER BY last_resort, id LIMIT 1",
                    [&owner.0[..]],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let Some((id, body, last_resort)) = found else { return Err(RelayError::NoKeyPackage) };
            if !last_resort {
                c.execute("DELETE FROM key_packages WHERE id = ?1", [id])?;
            }
            Ok(body)
        })
    }

    pub fn register_invitation(
        &self,
        inviter: &Account,
        group_id: &[u8],
        token_hash: &[u8],
        expires_at: i64,
    ) -> Pending<()> {
        if token_hash.len() != 32 {
            return Pending::ready(Err(RelayError::BadRequest(
                "the token hash is a SHA-256".into(),
            )));
        }
        let (inviter, group_id, token_hash) = (*inviter, group_id.to_vec(), token_hash.to_vec());
        self.write(move |c| {
            if !Self::is_member(c, &group_id, &inviter)? {
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
        body: Vec<u8>,
        now: i64,
    ) -> Pending<Vec<u8>> {
        let hash = ring::digest::digest(&ring::digest::SHA256, token);
        let (joiner, hash) = (*joiner, hash.as_ref().to_vec());
        self.write(move |c| {
            let found: Option<(Vec<u8>, Vec<u8>)> = c
                .query_row(
                    "SELECT group_id, inviter FROM invitations WHERE token_hash = ?1 AND used = 0 AND expires_at > ?2",
                    params![hash, now],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((group_id, inviter)) = found else { return Err(RelayError::InvitationInvalid) };
            c.execute("UPDATE invitations SET used = 1 WHERE token_hash = ?1", [&hash])?;
            c.execute(
                "INSERT INTO mailbox (account, kind, group_id, sender, body, created_at) VALUES (?1, 'join_request', ?2, ?3, ?4, ?5)",
                params![inviter, group_id, &joiner.0[..], body, now],
            )?;
            Ok(inviter)
        })
    }

    fn blob_path(&self, id: &[u8; 32]) -> PathBuf {
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
            let mut f = std::fs::File::create(&partial).map_err(internal)?;
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

    /// A blob's bytes, for a member of one of the blob's groups only; anyone else gets "not
    /// found".
    pub fn get_blob(&self, reader: &Account, id: &[u8; 32]) -> Result<Vec<u8>> {
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
        std::fs::read(self.blob_path(id)).map_err(|e| RelayError::Internal(e.to_string()))
    }

    /// Drops what no one needs any more: messages every member's cursor has passed or older than
    /// `retention_ms`, blobs older than `retention_ms`, used or expired invitations, expired key
    /// packages. Returns the number of blob files removed.
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
        s.post(who, b, framing(gid, 0), now).wait().unwrap().posted
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
            s.create_group(&gid, &a, 0).wait().unwrap();
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
    fn a_database_written_by_the_first_schema_opens_and_keeps_its_data() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("blobs")).unwrap();
        let a = Account([1; 32]);
        let gid = [3u8; 16];
        let bytes = b"ciphertext".to_vec();
        let id: [u8; 32] = ring::digest::digest(&ring::digest::SHA256, &bytes)
            .as_ref()
            .try_into()
            .unwrap();
        {
            // What the first relay wrote: the version-1 tables, user_version 0.
            let c = Connection::open(dir.path().join("relay.db")).unwrap();
            c.execute_batch(SCHEMA).unwrap();
            c.execute(
                "INSERT INTO groups (id, epoch, next_seq, created_by, created_at) VALUES (?1, 0, 1, ?2, 0)",
                params![&gid[..], &a.0[..]],
            )
            .unwrap();
            c.execute(
                "INSERT INTO members (group_id, account) VALUES (?1, ?2)",
                params![&gid[..], &a.0[..]],
            )
            .unwrap();
            c.execute(
                "INSERT INTO blobs (id, group_id, size, uploader, created_at) VALUES (?1, ?2, ?3, ?4, 0)",
                params![&id[..], &gid[..], bytes.len() as u64, &a.0[..]],
            )
            .unwrap();
            std::fs::write(dir.path().join("blobs").join(hex::encode(id)), &bytes).unwrap();
        }
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.get_blob(&a, &id).unwrap(), bytes);
        assert_eq!(post(&s, &a, &gid, 1, 5).seq, 1);
        drop(s);
        // Opening again is a no-op.
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.fetch(&a, &gid, 0, 10).unwrap().len(), 1);
    }

    #[test]
    fn a_failed_operation_in_a_batch_leaves_no_trace_and_spares_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let a = Account([1; 32]);
        let gid = [4u8; 16];
        s.create_group(&gid, &a, 0).wait().unwrap();
        // A first write holds the writer until the 64 others are queued, so they are applied as
        // one batch (one transaction); half of them fail after writing: only the good ones stay.
        let (open_gate, gate) = std::sync::mpsc::channel::<()>();
        let first = s.write(move |_| {
            let _ = gate.recv();
            Ok(())
        });
        let queued: Vec<_> = (0..64u8)
            .map(|i| {
                s.write(move |c| {
                    c.execute(
                        "INSERT INTO cursors (group_id, account, seq) VALUES (?1, ?2, 1)",
                        params![&[i][..], &[i][..]],
                    )?;
                    if i % 2 == 1 {
                        return Err(RelayError::Conflict);
                    }
                    Ok(())
                })
            })
            .collect();
        open_gate.send(()).unwrap();
        first.wait().unwrap();
        let results: Vec<_> = queued.into_iter().map(|p| p.wait()).collect();
        for (i, r) in results.iter().enumerate() {
            assert_eq!(r.is_ok(), i % 2 == 0, "operation {i}: {r:?}");
            if i % 2 == 1 {
                assert!(
                    matches!(r, Err(RelayError::Conflict)),
                    "its own error: {r:?}"
                );
            }
        }
        let kept: i64 = s
            .read(|c| Ok(c.query_row("SELECT count(*) FROM cursors", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(kept, 32);
    }

    #[test]
    fn messages_are_kept_until_every_member_read_them_or_retention_expired() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let (a, b) = (Account([1; 32]), Account([2; 32]));
        let gid = [9u8; 16];
        s.create_group(&gid, &a, 0).wait().unwrap();
        s.write(move |c| {
            c.execute(
                "INSERT INTO members (group_id, account) VALUES (?1, ?2)",
                params![&gid[..], &b.0[..]],
            )?;
            Ok(())
        })
        .wait()
        .unwrap();
        for i in 1..=5 {
            post(&s, &a, &gid, i, 1000);
        }
        s.set_cursor(&a, &gid, 5).wait().unwrap();
        s.prune(2000, 1_000_000).unwrap();
        assert_eq!(
            s.fetch(&a, &gid, 0, 100).unwrap().len(),
            5,
            "b has not read them"
        );
        s.set_cursor(&b, &gid, 3).wait().unwrap();
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
