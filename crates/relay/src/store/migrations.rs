//! The relay's schema as embedded, versioned SQL files, applied in order in one transaction
//! with the version's bump: `migrations/NNNN_*.sql` for SQLite (its `user_version`, like the
//! vault's), `migrations/postgres/NNNN_*.sql` for PostgreSQL (a `schema_version` row, under an
//! advisory lock so instances starting together migrate once).

use rusqlite::Connection;

use super::sql::args;

use crate::error::{RelayError, Result};

/// The migrations in order; the version of each is its position, from 1.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_schema.sql"),
    include_str!("migrations/0002_blobs_per_group.sql"),
    include_str!("migrations/0003_public_group_state.sql"),
    include_str!("migrations/0004_commit_reports.sql"),
    include_str!("migrations/0005_admission.sql"),
    include_str!("migrations/0006_group_retention.sql"),
    include_str!("migrations/0007_revoked_devices.sql"),
    include_str!("migrations/0008_device_moves.sql"),
    include_str!("migrations/0009_readmissions.sql"),
];

/// Brings a database written by any earlier relay to the current schema, in one transaction.
pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
    let latest = MIGRATIONS.len() as i64;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > latest {
        return Err(RelayError::Internal(format!(
            "the data directory was written by a newer relay (schema {version})"
        )));
    }
    for sql in MIGRATIONS
        .iter()
        .skip(usize::try_from(version).unwrap_or(0))
    {
        tx.execute_batch(sql)?;
    }
    tx.execute_batch(&format!("PRAGMA user_version = {latest}"))?;
    tx.commit()?;
    Ok(())
}

/// PostgreSQL's migrations in order; PostgreSQL came with schema 9, its first file.
const POSTGRES_MIGRATIONS: &[&str] = &[
    include_str!("migrations/postgres/0001_schema.sql"),
    include_str!("migrations/postgres/0002_wakeups.sql"),
];

/// Any number, the same in every instance: the advisory lock migrations take.
const MIGRATION_LOCK: i64 = 0x636f_6e73_696c;

/// Brings a PostgreSQL database to the current schema, in one transaction.
pub(super) fn migrate_postgres(pool: &super::sql::postgres::Pool) -> Result<()> {
    // Read committed: once the lock is ours, the statements see a migration another instance
    // committed while we waited for it.
    super::sql::postgres::write_after_locks(pool, &|c| {
        c.execute("SELECT pg_advisory_xact_lock(?1)", args![MIGRATION_LOCK])?;
        c.batch("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")?;
        let version: i64 = match c.optional("SELECT version FROM schema_version", args![])? {
            Some(row) => row.get(0)?,
            None => 0,
        };
        let latest = POSTGRES_MIGRATIONS.len() as i64;
        if version > latest {
            return Err(RelayError::Internal(format!(
                "the database was written by a newer relay (schema {version})"
            )));
        }
        for sql in POSTGRES_MIGRATIONS
            .iter()
            .skip(usize::try_from(version).unwrap_or(0))
        {
            c.batch(sql)?;
        }
        c.execute("DELETE FROM schema_version", args![])?;
        c.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            args![latest],
        )?;
        Ok(())
    })
}
