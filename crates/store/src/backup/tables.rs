//! What a backup holds, table by table, and the rows themselves.
//!
//! Every table of the vault's schema is named here once: as part of a case (exported with the
//! case, selected by its id), as part of the profile, or left out with the reason. A migration
//! that adds a table without deciding fails `every_table_of_the_schema_is_placed_once`.

use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, params_from_iter};
use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};

/// Where a table's rows go in a backup.
enum Place {
    /// With each case: the rows the condition selects, `?1` being the case's id.
    Case(&'static str),
    /// Once, with the profile.
    Profile,
    /// Not backed up, for the reason given.
    Left(#[allow(dead_code)] &'static str),
}

/// In the order rows are written back (a row before those that refer to it).
const TABLES: &[(&str, Place)] = &[
    ("profile", Place::Profile),
    // The identity key; never the device key, which stays with its laptop.
    ("identity", Place::Profile),
    (
        "device_key",
        Place::Left("this laptop's own key: a restored profile makes its own"),
    ),
    ("circles", Place::Profile),
    ("circle_members", Place::Profile),
    ("verified_accounts", Place::Profile),
    ("relay_pins", Place::Profile),
    ("case_tombstones", Place::Profile),
    ("cases", Place::Case("id = ?1")),
    ("case_revisions", Place::Case("case_id = ?1")),
    ("case_tags", Place::Case("case_id = ?1")),
    ("case_origins", Place::Case("case_id = ?1")),
    ("case_shares", Place::Case("case_id = ?1")),
    ("case_reads", Place::Case("case_id = ?1")),
    ("comments", Place::Case("case_id = ?1")),
    ("attachments", Place::Case("case_id = ?1")),
    (
        "blobs",
        Place::Case("attachment_id IN (SELECT id FROM attachments WHERE case_id = ?1)"),
    ),
    (
        "shared_attachments",
        Place::Case("attachment_id IN (SELECT id FROM attachments WHERE case_id = ?1)"),
    ),
    ("polls", Place::Case("case_id = ?1")),
    (
        "votes",
        Place::Case("poll_id IN (SELECT id FROM polls WHERE case_id = ?1)"),
    ),
    ("case_deny_names", Place::Case("case_id = ?1")),
    ("case_acknowledged", Place::Case("case_id = ?1")),
    ("case_findings_seen", Place::Case("case_id = ?1")),
    ("case_deid_reports", Place::Case("case_id = ?1")),
    (
        "search_index",
        Place::Left("rebuilt from the cases on restore"),
    ),
    (
        "search_rows",
        Place::Left("rebuilt from the cases on restore"),
    ),
    (
        "backup_state",
        Place::Left("the backup's own key and place"),
    ),
    (
        "device_moved_relays",
        Place::Left("this laptop's device key, which no backup holds"),
    ),
    (
        "backup_cases",
        Place::Left("what the last run holds, written afresh by each"),
    ),
    (
        "outbox",
        Place::Left("sealed for MLS epochs the new device never has"),
    ),
    (
        "circle_cursors",
        Place::Left("MLS state: re-admission starts afresh"),
    ),
    (
        "receive_failures",
        Place::Left("MLS state: re-admission starts afresh"),
    ),
    (
        "message_numbers",
        Place::Left("MLS state: re-admission starts afresh"),
    ),
    (
        "key_rotations",
        Place::Left("MLS state: re-admission starts afresh"),
    ),
    (
        "key_package_state",
        Place::Left("the device's key packages"),
    ),
    (
        "pending_joins",
        Place::Left("joins under way belong to the old device"),
    ),
    (
        "join_requests",
        Place::Left("joins under way belong to the old device"),
    ),
    (
        "invitation_note_keys",
        Place::Left("secrets of invitations under way"),
    ),
    (
        "outgoing_blobs",
        Place::Left("uploads under way, with their keys"),
    ),
    ("incoming_attachments", Place::Left("downloads under way")),
    (
        "sent_blobs",
        Place::Left("the relay lets only the uploading device withdraw"),
    ),
    (
        "blob_withdrawals",
        Place::Left("the relay lets only the uploading device withdraw"),
    ),
];

/// One SQLite value, as a backup carries it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bytes(#[serde(with = "serde_bytes")] Vec<u8>),
}

/// The rows of one table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct TableRows {
    pub table: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

fn cell(v: ValueRef<'_>) -> Cell {
    match v {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(i) => Cell::Int(i),
        ValueRef::Real(f) => Cell::Real(f),
        ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Cell::Bytes(b.to_vec()),
    }
}

fn value(c: &Cell) -> Value {
    match c {
        Cell::Null => Value::Null,
        Cell::Int(i) => Value::Integer(*i),
        Cell::Real(f) => Value::Real(*f),
        Cell::Text(t) => Value::Text(t.clone()),
        Cell::Bytes(b) => Value::Blob(b.clone()),
    }
}

fn select(conn: &Connection, table: &str, condition: Option<&str>, id: &[u8]) -> Result<TableRows> {
    let sql = match condition {
        Some(c) => format!("SELECT * FROM \"{table}\" WHERE {c} ORDER BY rowid"),
        None => format!("SELECT * FROM \"{table}\" ORDER BY rowid"),
    };
    let mut stmt = conn.prepare(&sql)?;
    let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
    let width = columns.len();
    let mut rows = Vec::new();
    let mut q = match condition {
        Some(_) => stmt.query([id])?,
        None => stmt.query([])?,
    };
    while let Some(r) = q.next()? {
        let mut row = Vec::with_capacity(width);
        for i in 0..width {
            row.push(cell(r.get_ref(i)?));
        }
        rows.push(row);
    }
    Ok(TableRows {
        table: table.to_string(),
        columns,
        rows,
    })
}

/// Every row of a case, table by table (tables without rows left out).
pub(crate) fn export_case(conn: &Connection, case: &[u8; 16]) -> Result<Vec<TableRows>> {
    let mut out = Vec::new();
    for (table, place) in TABLES {
        if let Place::Case(condition) = place {
            let rows = select(conn, table, Some(condition), case)?;
            if !rows.rows.is_empty() {
                out.push(rows);
            }
        }
    }
    Ok(out)
}

/// Every row of the profile's tables.
pub(crate) fn export_profile(conn: &Connection) -> Result<Vec<TableRows>> {
    let mut out = Vec::new();
    for (table, place) in TABLES {
        if let Place::Profile = place {
            out.push(select(conn, table, None, &[])?);
        }
    }
    Ok(out)
}

/// Whether `rows` may be written back as part of a case (`case`) or of the profile: the table
/// is one of that kind and every column exists in it. Names are checked against the schema
/// before they are put in SQL, although a backup that opened is one this profile sealed.
pub(crate) fn check(conn: &Connection, rows: &TableRows, case: bool) -> Result<()> {
    let placed = TABLES.iter().any(|(t, place)| {
        *t == rows.table
            && match place {
                Place::Case(_) => case,
                Place::Profile => !case,
                Place::Left(_) => false,
            }
    });
    if !placed {
        return Err(damaged(format!("rows for the table {:?}", rows.table)));
    }
    let known = columns_of(conn, &rows.table)?;
    if let Some(c) = rows.columns.iter().find(|c| !known.contains(c)) {
        return Err(damaged(format!("a column {c:?} the vault does not have")));
    }
    if rows.rows.iter().any(|r| r.len() != rows.columns.len()) {
        return Err(damaged("a row of the wrong width".into()));
    }
    Ok(())
}

/// Writes `rows` back (checked first with [`check`]); a profile row replaces the one a new
/// vault starts with.
pub(crate) fn import(conn: &Connection, rows: &TableRows) -> Result<()> {
    let columns = rows
        .columns
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let marks = (1..=rows.columns.len())
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT OR REPLACE INTO \"{}\" ({columns}) VALUES ({marks})",
        rows.table
    );
    let mut stmt = conn.prepare(&sql)?;
    for row in &rows.rows {
        stmt.execute(params_from_iter(row.iter().map(value)))?;
    }
    Ok(())
}

fn columns_of(conn: &Connection, table: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1)")?;
    let names = stmt
        .query_map([table], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(names)
}

pub(crate) fn damaged(what: String) -> StoreError {
    StoreError::BackupDamaged(what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_of_the_schema_is_placed_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::migrations::migrate(&mut conn).unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table'
                 AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'search_index_%'",
            )
            .unwrap();
        let mut in_schema: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        in_schema.sort();
        let mut placed: Vec<String> = TABLES.iter().map(|(t, _)| t.to_string()).collect();
        placed.sort();
        assert_eq!(
            in_schema, placed,
            "a table is missing from backup/tables.rs, or named there twice or in vain"
        );
    }

    #[test]
    fn rows_for_a_table_or_column_the_vault_lacks_are_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::migrations::migrate(&mut conn).unwrap();
        let rows = |table: &str, column: &str| TableRows {
            table: table.into(),
            columns: vec![column.into()],
            rows: vec![vec![Cell::Null]],
        };
        assert!(check(&conn, &rows("comments", "body"), true).is_ok());
        for (table, column, case) in [
            ("comments", "body", false),
            ("outbox", "payload", true),
            ("sqlite_master", "sql", true),
            ("comments", "body\" ) ; DROP TABLE cases; --", true),
        ] {
            assert!(
                matches!(
                    check(&conn, &rows(table, column), case),
                    Err(StoreError::BackupDamaged(_))
                ),
                "{table}.{column}"
            );
        }
    }
}
