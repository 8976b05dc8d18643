//! The relay's durable state: SQLite (WAL, fsync on every commit) plus blob files. Every
//! accepted request is on disk before it is answered; each operation is one transaction, so a
//! relay killed at any point restarts with exactly what it acknowledged.
//!
//! `Store` is the one interface the routes use; its operations are written beside what they
//! keep: `ordering` (groups, the one-commit-per-epoch rule, membership), `log` (reading a group's
//! log, read cursors), `mailbox`, `key_packages`, `invitations`, `blobs`, `nonces` (replay
//! protection) and `retention` (pruning). `migrations` holds the schema as embedded, versioned
//! SQL files; `group_commit` the one writer thread that commits writes in batches.

mod accounts;
mod blob_files;
mod blobs;
mod concurrent_writes;
mod device_moves;
mod engine;
mod group_commit;
mod invitations;
mod key_packages;
mod log;
mod mailbox;
mod migrations;
mod nonces;
mod ordering;
pub mod relocation;
mod reports;
mod retention;
mod side_runtime;
pub(crate) mod sql;
mod successors;
mod wakeup;
mod wakeups;

pub use blob_files::BucketAddress;
pub use engine::DatabaseLocation;
pub use group_commit::Pending;
pub use wakeup::{WAKEUP_CHANNEL, WAKEUP_LIFETIME_MS, Wakeup};

use std::path::Path;

use consilium_model::wire::Posted;

use crate::auth::Account;
use crate::error::{RelayError, Result};
use crate::private_files::private_dir;
use sql::{Sql, args};

/// How long an enrolment code the operator made can be used.
pub const ENROLMENT_LIFETIME_MS: i64 = 14 * 24 * 3600 * 1000;

/// The largest mailbox item (a Welcome, a join request's key package and note).
pub const MAILBOX_ITEM_MAX_BYTES: usize = 1024 * 1024;

/// What a member's report of a commit it cannot process did (see `reports`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reported {
    /// Counted; not enough reports yet.
    Counted,
    /// Not a commit the relay can still undo, or the reporter's own: nothing changed.
    Ignored,
    /// The commit was undone.
    Undone,
}

/// An accepted post and who is in its group now (to notify).
#[derive(Debug)]
pub struct Accepted {
    pub posted: Posted,
    pub members: Vec<Account>,
    /// Devices this commit replaced by another of the same physician: revoked.
    pub revoked: Vec<Account>,
}

/// Largest number of log entries one fetch returns.
pub const MAX_FETCH: u64 = 500;

/// The largest MLS message a group's log takes (Welcomes travel beside it, to mailboxes).
pub const MAX_MLS_MESSAGE_BYTES: usize = 1024 * 1024;

/// A page of a log stops once it holds this many bytes of messages (it always holds at least
/// one), so with `MAX_MLS_MESSAGE_BYTES` a page stays under the 4 MiB a client decodes.
pub const FETCH_PAGE_BYTES: usize = 2 * 1024 * 1024;

#[derive(Debug)]
pub struct Store {
    /// Where records live (`engine`): SQLite in the data folder, or PostgreSQL.
    engine: engine::Engine,
    /// Where blob bytes live (`blob_files`): the relay's folder or a bucket.
    blob_files: Box<dyn blob_files::BlobFiles>,
    /// Uploads hold it shared from writing a file to committing its record; pruning holds it
    /// alone from dropping records to removing files, so it never removes a file an upload in
    /// flight is about to record.
    blob_lock: std::sync::RwLock<()>,
    /// This instance, among those sharing a database (`wakeups`).
    instance: [u8; 16],
}

/// What `Store::health` found: why the database or the blobs cannot be used, when they cannot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    pub database: Option<String>,
    pub blobs: Option<String>,
}

/// Where a relay keeps blob bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum BlobLocation {
    /// The `blobs` folder beside the database (one machine).
    #[default]
    Folder,
    /// An S3-compatible bucket (several instances).
    Bucket(BucketAddress),
}

impl Store {
    /// The relay's store in `data_dir`: SQLite, blobs in its folder.
    pub fn open(data_dir: &Path) -> Result<Store> {
        Store::open_in(
            data_dir,
            &DatabaseLocation::DataFolder,
            &BlobLocation::Folder,
        )
    }

    /// The relay's store: records where `database` says, blobs where `blobs` says, and what
    /// lives in folders (SQLite, blobs) in `data_dir`.
    pub fn open_in(
        data_dir: &Path,
        database: &DatabaseLocation,
        blobs: &BlobLocation,
    ) -> Result<Store> {
        let store = Store::open_unswept(data_dir, database, blobs)?;
        store.sweep_orphaned_blobs()?;
        Ok(store)
    }

    /// The store, its blob bytes left as they are (`relocation` opens its new home so).
    fn open_unswept(
        data_dir: &Path,
        database: &DatabaseLocation,
        blobs: &BlobLocation,
    ) -> Result<Store> {
        let internal = |e: std::io::Error| RelayError::Internal(e.to_string());
        private_dir(data_dir).map_err(internal)?;
        let blob_files: Box<dyn blob_files::BlobFiles> = match blobs {
            BlobLocation::Folder => Box::new(blob_files::Disk::open(data_dir.join("blobs"))?),
            BlobLocation::Bucket(address) => Box::new(blob_files::Bucket::open(address)?),
        };
        let store = Store {
            engine: engine::Engine::open(data_dir, database)?,
            blob_files,
            blob_lock: std::sync::RwLock::new(()),
            instance: {
                use ring::rand::SecureRandom as _;
                let mut id = [0u8; 16];
                ring::rand::SystemRandom::new()
                    .fill(&mut id)
                    .map_err(|_| RelayError::Internal("no randomness".into()))?;
                id
            },
        };
        Ok(store)
    }

    /// Whether the database answers and blobs can be kept (`GET /v1/health`): why not, for
    /// each that cannot.
    pub fn health(&self) -> Health {
        Health {
            database: self
                .read(|c| c.one("SELECT 1", args![]).map(drop))
                .err()
                .map(|e| e.detail()),
            blobs: self.blob_files.check().err().map(|e| e.detail()),
        }
    }

    /// Runs a read (see `engine`).
    fn read<T>(&self, f: impl FnOnce(&dyn Sql) -> Result<T>) -> Result<T> {
        self.engine.read(f)
    }

    /// Queues a write; its answer comes once it is durable. It may run more than once (see
    /// `engine`), so it only touches the database.
    fn write<T: Send + 'static>(
        &self,
        f: impl Fn(&dyn Sql) -> Result<T> + Send + 'static,
    ) -> Pending<T> {
        self.engine.write(f)
    }
}

/// Makes a group's member list the accounts of its tree's leaves.
fn set_members(c: &dyn Sql, group_id: &[u8], members: &[Account]) -> Result<()> {
    c.execute("DELETE FROM members WHERE group_id = ?1", args![group_id])?;
    for a in members {
        // A leaf that still names a key of before the split is its new device's membership.
        let a = successors::successor(c, a)?;
        c.execute(
            "INSERT INTO members (group_id, account) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            args![group_id, &a],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use consilium_model::wire::PostBundle;
    use serde_bytes::ByteBuf;

    use rusqlite::{Connection, params};

    use super::*;
    use crate::framing::{Framing, Kind};
    use crate::handshake::GroupState;

    fn framing(gid: &[u8], epoch: u64) -> Framing {
        Framing {
            group_id: gid.to_vec(),
            epoch,
            kind: Kind::Application,
            public: false,
        }
    }

    /// A group of one, for tests that post application messages only (the relay never reads
    /// its state for those).
    pub(super) fn bare(creator: &Account) -> GroupState {
        GroupState {
            record: vec![],
            epoch: 0,
            members: vec![*creator],
        }
    }

    fn post(s: &Store, who: &Account, gid: &[u8], i: u8, now: i64) -> Posted {
        let b = PostBundle {
            message_id: ByteBuf::from(vec![i; 16]),
            mls: ByteBuf::from(vec![i; 8]),
            welcomes: vec![],
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
            s.create_group(&gid, &a, bare(&a), 0).wait().unwrap();
            s.put_blob(
                &a,
                &gid,
                &id,
                bytes.len() as u64,
                &mut &bytes[..],
                1 << 20,
                0,
            )
            .unwrap();
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
        assert_eq!(s.read_blob(&a, &id).unwrap(), bytes);
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
            c.execute_batch(include_str!("migrations/0001_schema.sql"))
                .unwrap();
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
        assert_eq!(s.read_blob(&a, &id).unwrap(), bytes);
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
        s.create_group(&gid, &a, bare(&a), 0).wait().unwrap();
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
                        args![&[i], &[i]],
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
            .read(|c| c.one("SELECT count(*) FROM cursors", args![])?.get(0))
            .unwrap();
        assert_eq!(kept, 32);
    }

    #[test]
    fn messages_are_kept_until_every_member_read_them_or_retention_expired() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let (a, b) = (Account([1; 32]), Account([2; 32]));
        let gid = [9u8; 16];
        s.create_group(&gid, &a, bare(&a), 0).wait().unwrap();
        s.write(move |c| {
            c.execute(
                "INSERT INTO members (group_id, account) VALUES (?1, ?2)",
                args![&gid, &b],
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

    const DAY_MS: i64 = 24 * 3600 * 1000;

    /// A circle whose admin set a 30-day retention loses its messages and blobs after 30 days,
    /// while another group keeps the relay's 90; only an admin of the group sets it (here, in a
    /// group without roles, any member), and a stranger is refused.
    #[test]
    fn a_circles_retention_shortens_the_relays_for_that_group_alone() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let a = Account([1; 32]);
        let (short, long) = ([7u8; 16], [8u8; 16]);
        for gid in [short, long] {
            s.create_group(&gid, &a, bare(&a), 0).wait().unwrap();
            post(&s, &a, &gid, 1, 0);
            s.put_blob(
                &a,
                &gid,
                &sha(&gid),
                gid.len() as u64,
                &mut &gid[..],
                1 << 30,
                0,
            )
            .unwrap();
        }
        let stranger = Account([3; 32]);
        assert!(matches!(
            s.set_group_retention(&stranger, &short, Some(30)),
            Err(RelayError::Forbidden)
        ));
        s.set_group_retention(&a, &short, Some(30)).unwrap();
        s.prune(31 * DAY_MS, 90 * DAY_MS).unwrap();
        assert!(
            s.fetch(&a, &short, 0, 100).unwrap().is_empty(),
            "past 30 days"
        );
        assert!(s.read_blob(&a, &sha(&short)).is_err());
        assert_eq!(
            s.fetch(&a, &long, 0, 100).unwrap().len(),
            1,
            "within 90 days"
        );
        assert!(s.read_blob(&a, &sha(&long)).is_ok());
    }

    fn sha(bytes: &[u8]) -> [u8; 32] {
        ring::digest::digest(&ring::digest::SHA256, bytes)
            .as_ref()
            .try_into()
            .unwrap()
    }

    /// A client may ask for any expiry; the relay keeps key packages no longer than their MLS
    /// lifetime and invitations no longer than a fortnight, so `i64::MAX` does not mean "for
    /// ever".
    #[test]
    fn client_chosen_expiries_are_clamped() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let (owner, inviter, joiner) = (Account([1; 32]), Account([2; 32]), Account([3; 32]));
        let now = 1_000_000;
        // The owner asked to join the inviter's group, whose member may claim its packages.
        s.create_group(b"g", &inviter, bare(&inviter), now)
            .wait()
            .unwrap();
        let token_hash = ring::digest::digest(&ring::digest::SHA256, b"token");
        s.register_invitation(&inviter, b"g", token_hash.as_ref(), i64::MAX, now)
            .wait()
            .unwrap();
        s.redeem_invitation(&owner, b"token", b"note".to_vec(), now)
            .wait()
            .unwrap();
        let for_ever = vec![(b"kp".to_vec(), false, i64::MAX); 2];
        s.add_key_packages(&owner, for_ever, now).wait().unwrap();
        let claim = |at: i64| s.claim_key_package(&inviter, &owner, b"g", at).wait();
        assert!(claim(now + DAY_MS).is_ok(), "claimable within its lifetime");
        assert!(
            matches!(claim(now + 29 * DAY_MS), Err(RelayError::NoKeyPackage)),
            "a key package asked to live for ever is gone after its 28 days"
        );
        s.register_invitation(&inviter, b"g", &[9; 32], i64::MAX, now)
            .wait()
            .unwrap();
        let redeemed = s
            .redeem_invitation(&joiner, &[9; 32], b"note".to_vec(), now + 15 * DAY_MS)
            .wait();
        assert!(
            matches!(redeemed, Err(RelayError::InvitationInvalid)),
            "an invitation asked to live for ever lapses after 14 days: {redeemed:?}"
        );
    }
}
