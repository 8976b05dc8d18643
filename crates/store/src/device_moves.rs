//! A profile of before the device split had one key as identity, MLS leaf and relay account.
//! This version gives it a device key of its own on its first unlock, and each relay learns of
//! it in turn (the client's `device_move`); until one has, the profile is its old key there.

use rusqlite::{OptionalExtension, params};

use crate::Result;
use crate::membership::Membership;
use consilium_model::Timestamp;

impl Membership<'_> {
    /// Gives a profile of before the split (whose device key is its identity key) the new
    /// device key `seed`, marked as moving; whether it was such a profile.
    pub fn begin_device_move(&self, seed: &[u8; 32]) -> Result<bool> {
        let n = self.db.connection().execute(
            "UPDATE device_key SET seed = ?1, moving = 1
             WHERE id = 1 AND seed = (SELECT seed FROM identity WHERE id = 1)",
            [&seed[..]],
        )?;
        Ok(n == 1)
    }

    /// Whether some relay may still know this profile by its key of before the split.
    pub fn device_move_pending(&self) -> Result<bool> {
        Ok(self
            .db
            .connection()
            .query_row("SELECT moving FROM device_key WHERE id = 1", [], |r| {
                r.get::<_, bool>(0)
            })
            .optional()?
            .unwrap_or(false))
    }

    /// The relays that know this profile by its device key.
    pub fn relays_moved(&self) -> Result<Vec<String>> {
        let c = self.db.connection();
        let mut stmt = c.prepare("SELECT relay FROM device_moved_relays ORDER BY relay")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// `relay` knows this profile by its device key from now on.
    pub fn record_relay_moved(&self, relay: &str, now: Timestamp) -> Result<()> {
        self.db.connection().execute(
            "INSERT OR IGNORE INTO device_moved_relays (relay, moved_at) VALUES (?1, ?2)",
            params![relay, now.0],
        )?;
        Ok(())
    }

    /// The key packages published to `relay` are gone (the old key's, after a move): the next
    /// pass publishes anew.
    pub fn forget_key_packages(&self, relay: &str) -> Result<()> {
        self.db
            .connection()
            .execute("DELETE FROM key_package_state WHERE relay = ?1", [relay])?;
        Ok(())
    }

    /// Every relay this profile uses knows its device key: the move is over.
    pub fn end_device_move(&self) -> Result<()> {
        let c = self.db.connection();
        c.execute("UPDATE device_key SET moving = 0 WHERE id = 1", [])?;
        c.execute("DELETE FROM device_moved_relays", [])?;
        Ok(())
    }

    /// Every relay this profile has used: its circles' (left ones too), its pending joins' and
    /// those it published key packages to.
    pub fn relays_used(&self) -> Result<Vec<String>> {
        let c = self.db.connection();
        let mut stmt = c.prepare(
            "SELECT relay FROM circles UNION SELECT relay FROM pending_joins
             UNION SELECT relay FROM key_package_state ORDER BY 1",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
