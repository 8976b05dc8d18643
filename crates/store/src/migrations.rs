//! Embedded, versioned schema migrations. `PRAGMA user_version` holds the version applied; each
//! migration runs in its own transaction together with the version bump, so a crash leaves the
//! database at one version or the next, never between.

use rusqlite::{Connection, Transaction};

use consilium_model::CaseId;

use crate::cases::load_fields;
use crate::error::{Result, StoreError};
use crate::rows::to16;
use crate::search::{index_case_fields, index_comment};

struct Migration {
    version: i64,
    sql: &'static str,
    /// A step that needs Rust (e.g. decoding CBOR to fill a new index), run after `sql`.
    after: Option<fn(&Transaction<'_>) -> Result<()>>,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("migrations/0001_cases.sql"),
        after: None,
    },
    Migration {
        version: 2,
        sql: include_str!("migrations/0002_search.sql"),
        after: Some(|tx| reindex_all(tx)),
    },
    Migration {
        version: 3,
        sql: include_str!("migrations/0003_sync.sql"),
        after: None,
    },
    Migration {
        version: 4,
        sql: include_str!("migrations/0004_circles.sql"),
        after: None,
    },
    Migration {
        version: 5,
        sql: include_str!("migrations/0005_membership.sql"),
        after: None,
    },
    Migration {
        version: 6,
        sql: include_str!("migrations/0006_reading.sql"),
        after: None,
    },
    Migration {
        version: 7,
        sql: include_str!("migrations/0007_privacy.sql"),
        after: None,
    },
    Migration {
        version: 8,
        sql: include_str!("migrations/0008_deid_report.sql"),
        after: None,
    },
    Migration {
        version: 9,
        sql: include_str!("migrations/0009_welcomers.sql"),
        after: None,
    },
    Migration {
        version: 10,
        sql: include_str!("migrations/0010_message_numbers.sql"),
        after: None,
    },
    Migration {
        version: 11,
        sql: include_str!("migrations/0011_note_keys.sql"),
        after: None,
    },
    Migration {
        version: 12,
        sql: include_str!("migrations/0012_relay_pins.sql"),
        after: None,
    },
    Migration {
        version: 13,
        sql: include_str!("migrations/0013_erasure.sql"),
        after: None,
    },
    Migration {
        version: 14,
        sql: include_str!("migrations/0014_blob_withdrawals.sql"),
        after: None,
    },
    Migration {
        version: 15,
        sql: include_str!("migrations/0015_retention.sql"),
        after: None,
    },
    Migration {
        version: 16,
        sql: include_str!("migrations/0016_backup.sql"),
        after: None,
    },
    Migration {
        version: 17,
        sql: include_str!("migrations/0017_device_key.sql"),
        after: None,
    },
    Migration {
        version: 18,
        sql: include_str!("migrations/0018_backup_cases.sql"),
        after: None,
    },
    Migration {
        version: 19,
        sql: include_str!("migrations/0019_device_moves.sql"),
        after: None,
    },
];

/// The newest schema this build knows.
pub const LATEST: i64 = 19;

pub(crate) fn current_version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Brings the schema to `LATEST`.
pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    migrate_to(conn, LATEST)
}

/// Applies migrations up to `target` (tests use it to build a vault with an older schema).
pub(crate) fn migrate_to(conn: &mut Connection, target: i64) -> Result<()> {
    let found = current_version(conn)?;
    if found > LATEST {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: LATEST,
        });
    }
    for m in MIGRATIONS
        .iter()
        .filter(|m| m.version > found && m.version <= target)
    {
        let tx = conn.transaction()?;
        tx.execute_batch(m.sql)?;
        if let Some(step) = m.after {
            step(&tx)?;
        }
        tx.pragma_update(None, "user_version", m.version)?;
        tx.commit()?;
    }
    Ok(())
}

/// Indexes every case and comment: the migration step of schema 2, and the end of a restore.
pub(crate) fn reindex_all(tx: &Connection) -> Result<()> {
    let cases: Vec<Vec<u8>> = {
        let mut stmt = tx.prepare("SELECT id FROM cases")?;
        stmt.query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?
    };
    for raw in cases {
        let id = CaseId::from_bytes(to16(&raw)?);
        let fields = load_fields(tx, &id)?;
        index_case_fields(tx, &id, &fields)?;
    }
    let comments: Vec<(Vec<u8>, Vec<u8>, String)> = {
        let mut stmt = tx.prepare("SELECT id, case_id, body FROM comments")?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    for (id, case_id, body) in comments {
        index_comment(tx, &case_id, &id, &body)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_consecutive_and_end_at_latest() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1);
        }
        assert_eq!(MIGRATIONS.last().map(|m| m.version), Some(LATEST));
    }

    #[test]
    fn migrating_twice_is_a_no_op_and_a_newer_schema_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(current_version(&conn).unwrap(), LATEST);
        conn.pragma_update(None, "user_version", LATEST + 1)
            .unwrap();
        assert!(matches!(
            migrate(&mut conn),
            Err(StoreError::SchemaTooNew { .. })
        ));
    }
}
