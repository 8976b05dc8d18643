//! The relay's schema as embedded, versioned SQL files (`migrations/NNNN_*.sql`), applied in
//! order in one transaction with the `user_version` bump, like the vault's.

use rusqlite::Connection;

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
