//! Who this profile is and who it deals with in circles: the identity seed, key packages told to
//! each relay, invitations in flight (ours to redeem, others' to approve), and the accounts whose
//! safety number the user confirmed. The seed is bytes here: what it
//! signs is the group layer's business.

use crate::db::CaseDb;
use crate::error::{Result, StoreError};
use consilium_model::Timestamp;
use rusqlite::{OptionalExtension, params};
use zeroize::Zeroizing;

/// A circle this profile asked to join, waiting for its Welcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingJoin {
    pub circle: Vec<u8>,
    pub relay: String,
    pub name: String,
    /// The inviter's account, from the invite code.
    pub inviter: String,
    /// The circle's other admins the invite code named (hex accounts): they may send the
    /// Welcome too.
    pub admins: Vec<String>,
}

/// The state of a join request approved without comparing safety numbers, until its commit is
/// accepted (then `approved unchecked`): the record that the admin chose not to check.
pub const APPROVING_UNCHECKED: &str = "approving unchecked";

/// A colleague who redeemed an invite code to one of our circles.
#[derive(Clone, PartialEq, Eq)]
pub struct JoinRequest {
    pub id: i64,
    pub circle: Vec<u8>,
    pub account: String,
    pub name: String,
    pub specialty: String,
    pub key_package: Vec<u8>,
    pub received_at: Timestamp,
    /// `pending`, `approving`, `approved` or `declined`.
    pub state: String,
}

impl std::fmt::Debug for JoinRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinRequest")
            .field("id", &self.id)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// The membership rows.
#[derive(Debug, Clone, Copy)]
pub struct Membership<'db> {
    pub(crate) db: &'db CaseDb,
}

impl CaseDb {
    /// The identity seed, key packages, invitations both ways, verified accounts.
    pub fn membership(&self) -> Membership<'_> {
        Membership { db: self }
    }
}

/// The two one-row tables of key seeds.
#[derive(Clone, Copy)]
enum KeyTable {
    Identity,
    Device,
}

impl KeyTable {
    fn name(self) -> &'static str {
        match self {
            KeyTable::Identity => "identity",
            KeyTable::Device => "device_key",
        }
    }

    fn what(self) -> &'static str {
        match self {
            KeyTable::Identity => "identity key",
            KeyTable::Device => "device key",
        }
    }
}

impl Membership<'_> {
    /// The identity seed, if one was made.
    pub fn identity_seed(&self) -> Result<Option<Zeroizing<[u8; 32]>>> {
        self.seed(KeyTable::Identity)
    }

    /// Keeps the identity seed; there is only ever one.
    pub fn set_identity_seed(&self, seed: &[u8; 32], now: Timestamp) -> Result<()> {
        self.set_seed(KeyTable::Identity, seed, now)
    }

    /// This laptop's device key's seed, once made (a profile of before the split has its
    /// identity seed here too).
    pub fn device_seed(&self) -> Result<Option<Zeroizing<[u8; 32]>>> {
        self.seed(KeyTable::Device)
    }

    /// Records this laptop's device key; refused once there is one.
    pub fn set_device_seed(&self, seed: &[u8; 32], now: Timestamp) -> Result<()> {
        self.set_seed(KeyTable::Device, seed, now)
    }

    fn seed(&self, table: KeyTable) -> Result<Option<Zeroizing<[u8; 32]>>> {
        let row: Option<Zeroizing<Vec<u8>>> = self
            .db
            .connection()
            .query_row(
                &format!("SELECT seed FROM {} WHERE id = 1", table.name()),
                [],
                |r| r.get(0).map(Zeroizing::new),
            )
            .optional()?;
        row.map(|bytes| {
            let seed: [u8; 32] = bytes[..].try_into().map_err(|_| {
                StoreError::DatabaseCorrupt(format!("a bad seed in {}", table.name()))
            })?;
            Ok(Zeroizing::new(seed))
        })
        .transpose()
    }

    fn set_seed(&self, table: KeyTable, seed: &[u8; 32], now: Timestamp) -> Result<()> {
        let n = self.db.connection().execute(
            &format!(
                "INSERT OR IGNORE INTO {} (id, seed, created_at) VALUES (1, ?1, ?2)",
                table.name()
            ),
            params![&seed[..], now.0],
        )?;
        if n == 0 {
            return Err(StoreError::Refused(format!(
                "this profile has its {} already",
                table.what()
            )));
        }
        Ok(())
    }

    /// When key packages were last published to `relay`, and how many single-use ones are left.
    pub fn key_package_state(&self, relay: &str) -> Result<Option<(Timestamp, u32)>> {
        Ok(self
            .db
            .connection()
            .query_row(
                "SELECT published_at, remaining FROM key_package_state WHERE relay = ?1",
                [relay],
                |r| Ok((Timestamp(r.get(0)?), r.get(1)?)),
            )
            .optional()?)
    }

    pub fn set_key_package_state(&self, relay: &str, at: Timestamp, remaining: u32) -> Result<()> {
        self.db.connection().execute(
            "INSERT INTO key_package_state (relay, published_at, remaining) VALUES (?1, ?2, ?3)
             ON CONFLICT (relay) DO UPDATE SET published_at = excluded.published_at,
                                               remaining = excluded.remaining",
            params![relay, at.0, remaining],
        )?;
        Ok(())
    }

    /// One of our key packages at `relay` was used (a Welcome came).
    pub fn key_package_used(&self, relay: &str) -> Result<()> {
        self.db.connection().execute(
            "UPDATE key_package_state SET remaining = max(remaining - 1, 0) WHERE relay = ?1",
            [relay],
        )?;
        Ok(())
    }

    /// Keeps the private half of an invite code's note key until `expires_at`.
    pub fn add_note_key(
        &self,
        public: &[u8],
        circle: &[u8],
        seed: &[u8; 32],
        expires_at: Timestamp,
    ) -> Result<()> {
        self.db.connection().execute(
            "INSERT INTO invitation_note_keys (public, circle, seed, expires_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![public, circle, &seed[..], expires_at.0],
        )?;
        Ok(())
    }

    /// The seed of the note key `public` of an invite code to `circle` still open at `now`.
    pub fn note_key(
        &self,
        public: &[u8],
        circle: &[u8],
        now: Timestamp,
    ) -> Result<Option<Zeroizing<[u8; 32]>>> {
        let row: Option<Zeroizing<Vec<u8>>> = self
            .db
            .connection()
            .query_row(
                "SELECT seed FROM invitation_note_keys
                 WHERE public = ?1 AND circle = ?2 AND expires_at > ?3",
                params![public, circle, now.0],
                |r| r.get(0).map(Zeroizing::new),
            )
            .optional()?;
        row.map(|bytes| {
            let seed: [u8; 32] = bytes[..]
                .try_into()
                .map_err(|_| StoreError::DatabaseCorrupt("bad note key".into()))?;
            Ok(Zeroizing::new(seed))
        })
        .transpose()
    }

    /// Forgets a note key whose code was redeemed, and every one expired by `now`.
    pub fn drop_note_keys(&self, public: &[u8], now: Timestamp) -> Result<()> {
        self.db.connection().execute(
            "DELETE FROM invitation_note_keys WHERE public = ?1 OR expires_at <= ?2",
            params![public, now.0],
        )?;
        Ok(())
    }

    /// Pins `relay` to the key whose SubjectPublicKeyInfo hashes to `pin`. A relay pinned to
    /// another key keeps it: the change is refused, never made quietly.
    pub fn pin_relay(&self, relay: &str, pin: &[u8; 32]) -> Result<()> {
        match self.relay_pin(relay)? {
            Some(kept) if kept == *pin => Ok(()),
            Some(_) => Err(StoreError::Refused(format!(
                "the relay {relay} is already pinned to another key; an invite code or setting \
                 that names another key for it is refused"
            ))),
            None => {
                self.db.connection().execute(
                    "INSERT INTO relay_pins (relay, spki_sha256) VALUES (?1, ?2)",
                    params![relay, &pin[..]],
                )?;
                Ok(())
            }
        }
    }

    pub fn relay_pin(&self, relay: &str) -> Result<Option<[u8; 32]>> {
        let row: Option<Vec<u8>> = self
            .db
            .connection()
            .query_row(
                "SELECT spki_sha256 FROM relay_pins WHERE relay = ?1",
                [relay],
                |r| r.get(0),
            )
            .optional()?;
        row.map(|b| {
            b[..]
                .try_into()
                .map_err(|_| StoreError::DatabaseCorrupt("bad relay pin".into()))
        })
        .transpose()
    }

    /// Every pinned relay.
    pub fn relay_pins(&self) -> Result<Vec<(String, [u8; 32])>> {
        let mut stmt = self
            .db
            .connection()
            .prepare_cached("SELECT relay, spki_sha256 FROM relay_pins")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (relay, pin) = row?;
            let pin = pin[..]
                .try_into()
                .map_err(|_| StoreError::DatabaseCorrupt("bad relay pin".into()))?;
            out.push((relay, pin));
        }
        Ok(out)
    }

    pub fn add_pending_join(&self, join: &PendingJoin, now: Timestamp) -> Result<()> {
        self.db.connection().execute(
            "INSERT INTO pending_joins (circle, relay, name, inviter, requested_at, admins)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (circle) DO UPDATE SET relay = excluded.relay, name = excluded.name,
                 inviter = excluded.inviter, requested_at = excluded.requested_at,
                 admins = excluded.admins",
            params![
                join.circle,
                join.relay,
                join.name,
                join.inviter,
                now.0,
                join.admins.join(" ")
            ],
        )?;
        Ok(())
    }

    pub fn pending_joins(&self) -> Result<Vec<PendingJoin>> {
        let mut stmt = self
            .db
            .connection()
            .prepare_cached("SELECT circle, relay, name, inviter, admins FROM pending_joins")?;
        let rows = stmt.query_map([], |r| {
            let admins: String = r.get(4)?;
            Ok(PendingJoin {
                circle: r.get(0)?,
                relay: r.get(1)?,
                name: r.get(2)?,
                inviter: r.get(3)?,
                admins: admins.split_whitespace().map(str::to_string).collect(),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn remove_pending_join(&self, circle: &[u8]) -> Result<()> {
        self.db
            .connection()
            .execute("DELETE FROM pending_joins WHERE circle = ?1", [circle])?;
        Ok(())
    }

    pub fn add_join_request(
        &self,
        circle: &[u8],
        account: &str,
        name: &str,
        specialty: &str,
        key_package: &[u8],
        now: Timestamp,
    ) -> Result<i64> {
        self.db.connection().execute(
            "INSERT INTO join_requests (circle, account, name, specialty, key_package, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![circle, account, name, specialty, key_package, now.0],
        )?;
        Ok(self.db.connection().last_insert_rowid())
    }

    /// Requests of a circle in `state` (all states when `None`), oldest first.
    pub fn join_requests(&self, circle: &[u8], state: Option<&str>) -> Result<Vec<JoinRequest>> {
        let mut stmt = self.db.connection().prepare_cached(
            "SELECT id, circle, account, name, specialty, key_package, received_at, state
             FROM join_requests WHERE circle = ?1 AND (?2 IS NULL OR state = ?2) ORDER BY id",
        )?;
        let rows = stmt.query_map(params![circle, state], join_request_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn join_request(&self, id: i64) -> Result<JoinRequest> {
        self.db
            .connection()
            .query_row(
                "SELECT id, circle, account, name, specialty, key_package, received_at, state
                 FROM join_requests WHERE id = ?1",
                [id],
                join_request_row,
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound {
                what: "join request",
                id: id.to_string(),
            })
    }

    pub fn set_join_request_state(&self, id: i64, state: &str) -> Result<()> {
        self.db.connection().execute(
            "UPDATE join_requests SET state = ?2 WHERE id = ?1",
            params![id, state],
        )?;
        Ok(())
    }

    /// The user compared `account`'s safety number and confirmed it.
    pub fn set_verified(&self, account: &str, name: &str, now: Timestamp) -> Result<()> {
        self.db.connection().execute(
            "INSERT INTO verified_accounts (account, name, verified_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (account) DO UPDATE SET name = excluded.name, verified_at = excluded.verified_at",
            params![account, name, now.0],
        )?;
        Ok(())
    }

    /// Every verified account with the name it had when verified.
    pub fn verified_accounts(&self) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .db
            .connection()
            .prepare_cached("SELECT account, name FROM verified_accounts")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

fn join_request_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<JoinRequest> {
    Ok(JoinRequest {
        id: r.get(0)?,
        circle: r.get(1)?,
        account: r.get(2)?,
        name: r.get(3)?,
        specialty: r.get(4)?,
        key_package: r.get(5)?,
        received_at: Timestamp(r.get(6)?),
        state: r.get(7)?,
    })
}
