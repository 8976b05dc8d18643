//! The circles this profile is in: each one's relay, when our keys were last rotated there,
//! whether we asked to leave or were removed, and members' self-descriptions.

use consilium_model::Timestamp;
use rusqlite::{OptionalExtension, params};

use crate::db::CaseDb;
use crate::error::{Result, StoreError};

/// A circle as this profile knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CircleRecord {
    pub id: Vec<u8>,
    pub name: String,
    pub relay: String,
    pub created_at: Timestamp,
}

/// A circle's row, as `SELECT id, name, relay, created_at` reads it.
fn record(r: &rusqlite::Row<'_>) -> rusqlite::Result<CircleRecord> {
    Ok(CircleRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        relay: r.get(2)?,
        created_at: Timestamp(r.get(3)?),
    })
}

/// The circle rows.
#[derive(Debug, Clone, Copy)]
pub struct Circles<'db> {
    pub(crate) db: &'db CaseDb,
}

impl CaseDb {
    /// The circles this profile is in, their state and members' self-descriptions.
    pub fn circles(&self) -> Circles<'_> {
        Circles { db: self }
    }
}

impl Circles<'_> {
    /// Sets how many days the cases received in `circle` are kept (`None`: for ever).
    pub fn set_retention(&self, circle: &[u8], days: Option<u32>) -> Result<()> {
        self.db.connection().execute(
            "UPDATE circles SET retention_days = ?2 WHERE id = ?1",
            rusqlite::params![circle, days],
        )?;
        Ok(())
    }

    /// How many days the cases received in `circle` are kept (`None`: for ever).
    pub fn retention(&self, circle: &[u8]) -> Result<Option<u32>> {
        Ok(self.db.connection().query_row(
            "SELECT retention_days FROM circles WHERE id = ?1",
            [circle],
            |r| r.get(0),
        )?)
    }

    pub fn add(&self, id: &[u8], name: &str, relay: &str, now: Timestamp) -> Result<()> {
        self.db.connection().execute(
            "INSERT INTO circles (id, name, relay, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![id, name, relay, now.0],
        )?;
        Ok(())
    }

    /// Every circle, pending join and key-package record on the relay `from` now names the
    /// relay `to` (the same relay at a new address). Returns how many circles moved.
    pub fn move_relay(&self, from: &str, to: &str) -> Result<usize> {
        let c = self.db.connection();
        let moved = c.execute(
            "UPDATE circles SET relay = ?2 WHERE relay = ?1",
            params![from, to],
        )?;
        c.execute(
            "UPDATE pending_joins SET relay = ?2 WHERE relay = ?1",
            params![from, to],
        )?;
        // Key packages are published again to the relay under its new name.
        c.execute("DELETE FROM key_package_state WHERE relay = ?1", [from])?;
        Ok(moved)
    }

    /// The circles this profile is in.
    pub fn all(&self) -> Result<Vec<CircleRecord>> {
        self.records(false)
    }

    /// The circles this profile left or was removed from.
    pub fn left(&self) -> Result<Vec<CircleRecord>> {
        self.records(true)
    }

    /// The circles restored from a backup without their MLS state: this device is not in them
    /// until a member re-admits it.
    pub fn awaiting_readmission(&self) -> Result<Vec<CircleRecord>> {
        let mut stmt = self.db.connection().prepare_cached(
            "SELECT id, name, relay, created_at FROM circles
             WHERE left_at IS NULL AND restored_at IS NOT NULL ORDER BY name",
        )?;
        let rows = stmt.query_map([], record)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// A restored circle this laptop was let into again.
    pub fn readmitted(&self, circle: &[u8]) -> Result<()> {
        self.db.connection().execute(
            "UPDATE circles SET restored_at = NULL WHERE id = ?1",
            [circle],
        )?;
        Ok(())
    }

    fn records(&self, left: bool) -> Result<Vec<CircleRecord>> {
        let mut stmt = self.db.connection().prepare_cached(
            "SELECT id, name, relay, created_at FROM circles
             WHERE (left_at IS NOT NULL) = ?1 AND restored_at IS NULL ORDER BY name",
        )?;
        let rows = stmt.query_map([left], record)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// One circle this profile is (or was) in.
    pub fn get(&self, id: &[u8]) -> Result<CircleRecord> {
        self.db
            .connection()
            .query_row(
                "SELECT id, name, relay, created_at FROM circles WHERE id = ?1",
                [id],
                record,
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound {
                what: "circle",
                id: hex::encode(id),
            })
    }

    /// When this profile last rotated its keys in `circle` (or joined it), if known.
    pub fn rotated_at(&self, circle: &[u8]) -> Result<Option<Timestamp>> {
        Ok(self
            .db
            .connection()
            .query_row(
                "SELECT rotated_at FROM key_rotations WHERE circle = ?1",
                [circle],
                |r| Ok(Timestamp(r.get(0)?)),
            )
            .optional()?)
    }

    pub fn set_rotated_at(&self, circle: &[u8], at: Timestamp) -> Result<()> {
        self.db.connection().execute(
            "INSERT INTO key_rotations (circle, rotated_at) VALUES (?1, ?2)
             ON CONFLICT (circle) DO UPDATE SET rotated_at = excluded.rotated_at",
            params![circle, at.0],
        )?;
        Ok(())
    }

    /// This profile asked to leave the circle (its request reached the relay).
    pub fn set_leave_requested(&self, circle: &[u8], at: Timestamp) -> Result<()> {
        self.db.connection().execute(
            "UPDATE circles SET leave_requested_at = ?2 WHERE id = ?1",
            params![circle, at.0],
        )?;
        Ok(())
    }

    pub fn leave_requested(&self, circle: &[u8]) -> Result<bool> {
        Ok(self
            .db
            .connection()
            .query_row(
                "SELECT leave_requested_at IS NOT NULL FROM circles WHERE id = ?1",
                [circle],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(false))
    }

    /// This profile left the circle or was removed: it is no longer synced or listed.
    pub fn mark_left(&self, id: &[u8], now: Timestamp) -> Result<()> {
        self.db.connection().execute(
            "UPDATE circles SET left_at = coalesce(left_at, ?2) WHERE id = ?1",
            params![id, now.0],
        )?;
        Ok(())
    }

    pub fn set_member_profile(
        &self,
        circle: &[u8],
        account: &str,
        name: &str,
        specialty: &str,
    ) -> Result<()> {
        self.db.connection().execute(
            "INSERT INTO circle_members (circle, account, name, specialty) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (circle, account) DO UPDATE SET name = excluded.name,
                 specialty = excluded.specialty",
            params![circle, account, name, specialty],
        )?;
        Ok(())
    }

    /// (account, name, specialty) of the members who introduced themselves.
    /// Forgets what a member who left said of themselves.
    pub fn forget_member(&self, circle: &[u8], account: &str) -> Result<()> {
        self.db.connection().execute(
            "DELETE FROM circle_members WHERE circle = ?1 AND account = ?2",
            params![circle, account],
        )?;
        Ok(())
    }

    pub fn member_profiles(&self, circle: &[u8]) -> Result<Vec<(String, String, String)>> {
        let mut stmt = self.db.connection().prepare_cached(
            "SELECT account, name, specialty FROM circle_members WHERE circle = ?1 ORDER BY name",
        )?;
        let rows = stmt.query_map([circle], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::entropy::SystemEntropy;
    use crate::membership::PendingJoin;

    #[test]
    fn a_relay_that_moved_takes_its_circles_and_joins_along_and_nothing_else() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let db = CaseDb::from_connection(conn, Arc::new(SystemEntropy::new())).unwrap();
        let (old, new, other) = (
            "http://127.0.0.1:8443",
            "http://127.0.0.1:20000",
            "https://relay.example.org",
        );
        db.circles().add(b"c1", "Derm", old, Timestamp(1)).unwrap();
        db.circles()
            .add(b"c2", "Cardio", other, Timestamp(1))
            .unwrap();
        let join = PendingJoin {
            circle: b"c3".to_vec(),
            relay: old.into(),
            name: "Neuro".into(),
            inviter: "00".repeat(32),
            admins: Vec::new(),
        };
        db.membership()
            .add_pending_join(&join, Timestamp(1))
            .unwrap();
        db.membership()
            .set_key_package_state(old, Timestamp(1), 5)
            .unwrap();
        assert_eq!(db.circles().move_relay(old, new).unwrap(), 1);
        let relays: Vec<String> = db
            .circles()
            .all()
            .unwrap()
            .into_iter()
            .map(|c| c.relay)
            .collect();
        assert_eq!(relays, vec![other.to_string(), new.to_string()]);
        assert_eq!(db.membership().pending_joins().unwrap()[0].relay, new);
        assert!(db.membership().key_package_state(old).unwrap().is_none());
    }
}
