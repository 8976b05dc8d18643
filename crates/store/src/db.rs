//! The vault's database: one (normally SQLCipher-keyed) SQLite connection, its pragmas and
//! migrations, the profile row, atomic units, and atomic units. Each group of tables is reached through
//! a handle defined, with the `CaseDb` method that makes it, in the file named after what it holds (`cases`, `comments`, `attachments`, `search`,
//! `circles`, `shares`, `polls`, `membership`, `privacy`, `outbox`, `logs`, `transfers`) and
//! borrows the database, so writes of several handles can share one atomic unit.

use std::sync::Arc;

use consilium_model::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use crate::atomic::{AtomicUnit, OverConnection};
use crate::entropy::Entropy;
use crate::error::{Result, StoreError};

/// The physician who owns the vault.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Profile {
    pub name: String,
    pub specialty: String,
    pub created_at: Timestamp,
}

/// The vault's tables over one connection.
#[derive(Debug)]
pub struct CaseDb {
    pub(crate) conn: Connection,
    pub(crate) entropy: Arc<dyn Entropy>,
}

impl CaseDb {
    /// Runs `f` as one atomic unit: the case operations it makes (each in its own nested
    /// savepoint) and whatever another layer writes through [`CaseDb::connection`] meanwhile (the
    /// MLS state of a message and its effect on a case, say) are committed together, or, if `f`
    /// fails, not at all.
    pub fn atomically<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&mut CaseDb) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let mut unit = AtomicUnit::begin(self)?;
        let outcome = f(unit.db());
        if outcome.is_ok() {
            unit.commit()?;
        }
        // On an error the guard rolls back as it drops; on a panic inside `f`, as it unwinds.
        outcome
    }

    /// Like `atomically`, for the handles' own multi-statement writes (over a shared borrow, so
    /// a handle's write inside a caller's unit nests in it).
    pub(crate) fn in_unit<T>(&self, f: impl FnOnce(&CaseDb) -> Result<T>) -> Result<T> {
        let unit = AtomicUnit::begin(&self.conn)?;
        let out = f(self)?;
        unit.commit()?;
        Ok(out)
    }

    /// The connection, for another layer's own tables (openmls' state) inside
    /// [`CaseDb::atomically`]. Case data is only ever changed through `CaseDb`'s methods.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The connection, mutably: for another layer's schema migrations at start-up.
    pub fn connection_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    pub fn set_profile(&mut self, profile: &Profile) -> Result<()> {
        self.conn.execute(
            "INSERT INTO profile (id, name, specialty, created_at) VALUES (1, ?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, specialty = excluded.specialty",
            params![profile.name, profile.specialty, profile.created_at.0],
        )?;
        Ok(())
    }

    pub fn profile(&self) -> Result<Profile> {
        self.conn
            .query_row(
                "SELECT name, specialty, created_at FROM profile WHERE id = 1",
                [],
                |r| {
                    Ok(Profile {
                        name: r.get(0)?,
                        specialty: r.get(1)?,
                        created_at: Timestamp(r.get(2)?),
                    })
                },
            )
            .optional()?
            .ok_or_else(|| StoreError::DatabaseCorrupt("the profile is missing".into()))
    }

    /// SQLite's own consistency check; `Ok(())` when the database is sound.
    pub fn quick_check(&self) -> Result<()> {
        let verdict: String = self
            .conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        if verdict == "ok" {
            Ok(())
        } else {
            Err(StoreError::DatabaseCorrupt(verdict))
        }
    }
}

impl OverConnection for &mut CaseDb {
    fn connection(&self) -> &Connection {
        CaseDb::connection(self)
    }
}

impl AtomicUnit<&mut CaseDb> {
    /// The database, for the caller's writes inside the unit.
    pub(crate) fn db(&mut self) -> &mut CaseDb {
        self.inner
    }
}
