//! Moving a stopped relay out of its data folder (SQLite, blobs on disk) into PostgreSQL and,
//! when asked, a bucket: `consilium-relay migrate`. Every table the PostgreSQL schema holds
//! (the wake-ups and the schema's version aside) is copied row by row, a page at a time, and
//! counted on both sides; every blob is streamed into the bucket and checked against its id on
//! the way. While it runs, the folder's database is locked for writing, so a relay left running
//! by mistake acknowledges nothing that is not moved (it answers `busy`); the folder itself is
//! left as it was, a copy to go back to.

use std::path::Path;

use super::blob_files::Incoming;
use super::sql::{Arg, Cell, Sql, args};
use super::{BlobLocation, DatabaseLocation, Store};
use crate::error::{RelayError, Result};

/// Rows copied per PostgreSQL transaction (a message is at most 1 MiB).
const PAGE_ROWS: i64 = 64;

/// Tables of PostgreSQL's schema that are not a relay's data: not copied.
const NOT_DATA: &[&str] = &["schema_version", "wakeups"];

/// What a move copied.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Relocated {
    /// Each table and its rows, as counted in both databases after the copy.
    pub tables: Vec<(String, u64)>,
    /// Blobs copied into the bucket (none when blobs stay in the folder).
    pub blobs: u64,
    /// Blobs the records name whose file is not in the folder (lost before the move; their
    /// records are moved, and readers are told "not found" as they were).
    pub blobs_missing: u64,
}

fn failed(why: impl std::fmt::Display) -> RelayError {
    RelayError::Internal(why.to_string())
}

impl Store {
    /// Moves the relay whose data folder is `data_dir` (SQLite) into the PostgreSQL database
    /// `to`, which must hold no relay's data yet, and its blobs into `blobs` when that is a
    /// bucket (blobs left in the folder stay where they are, for the relay to serve from).
    /// `told` hears what is being done, for the operator.
    pub fn relocate(
        data_dir: &Path,
        to: &DatabaseLocation,
        blobs: &BlobLocation,
        told: &mut dyn FnMut(&str),
    ) -> Result<Relocated> {
        if !matches!(to, DatabaseLocation::Postgres(_)) {
            return Err(failed(
                "the relay moves into PostgreSQL: give --to postgres://…",
            ));
        }
        if !data_dir.join("relay.db").exists() {
            return Err(failed(format!(
                "{} holds no relay database (relay.db)",
                data_dir.display()
            )));
        }
        // Asked first, so a relay still running is named as the reason; then opened (and
        // brought to the current schema, which writes) and held still.
        drop(hold_writers(&data_dir.join("relay.db"))?);
        let from = Store::open(data_dir)?;
        let _writers_held = hold_writers(&data_dir.join("relay.db"))?;
        // Unswept: its records are empty yet, and a sweep would take the folder's blobs.
        let into = Store::open_unswept(data_dir, to, blobs)?;
        let tables = into.read(|c| data_tables(c))?;
        for table in &tables {
            if into.read(|c| count(c, table))? > 0 {
                return Err(failed(format!(
                    "the database already holds a relay's data (table {table}); move into an \
                     empty one (a move that failed midway leaves its part: drop the database, \
                     create it again and move again)"
                )));
            }
        }
        let mut relocated = Relocated::default();
        for table in &tables {
            let columns = into.read(|c| columns_of(c, table))?;
            copy_table(&from, &into, table, &columns)?;
            let (here, there) = (
                from.read(|c| count(c, table))?,
                into.read(|c| count(c, table))?,
            );
            if here != there {
                return Err(failed(format!(
                    "{table}: {here} rows in the folder, {there} in the database after the copy"
                )));
            }
            told(&format!("{table}: {there} rows"));
            relocated.tables.push((table.clone(), there));
        }
        let numbered = from.read(|c| numbers_given(c))?;
        into.write(move |c| restart_numbering(c, &numbered))
            .wait()?;
        match blobs {
            BlobLocation::Bucket(_) => {
                told("copying blobs into the bucket");
                (relocated.blobs, relocated.blobs_missing) = copy_blobs(&from, &into)?;
            }
            BlobLocation::Folder => relocated.blobs_missing = missing_blobs(&from)?,
        }
        Ok(relocated)
    }
}

/// Takes SQLite's write lock on the folder's database and holds it while the guard lives: a
/// relay still running gets `busy` for its writes instead of acknowledging one the move misses.
fn hold_writers(db: &Path) -> Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(db)?;
    conn.busy_timeout(std::time::Duration::from_secs(2))?;
    conn.execute_batch("BEGIN IMMEDIATE").map_err(|_| {
        failed(format!(
            "another process is writing to {}: stop the relay before moving it",
            db.display()
        ))
    })?;
    Ok(conn)
}

/// The relay's tables in PostgreSQL's schema.
fn data_tables(c: &dyn Sql) -> Result<Vec<String>> {
    let mut tables = Vec::new();
    for row in c.query(
        "SELECT table_name FROM information_schema.tables
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name",
        args![],
    )? {
        let name: String = row.get(0)?;
        if !NOT_DATA.contains(&name.as_str()) {
            tables.push(name);
        }
    }
    Ok(tables)
}

fn columns_of(c: &dyn Sql, table: &str) -> Result<Vec<String>> {
    c.query(
        "SELECT column_name FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = ?1 ORDER BY ordinal_position",
        args![table],
    )?
    .iter()
    .map(|r| r.get(0))
    .collect()
}

/// A table's rows. Its name comes from the schema, never from outside.
fn count(c: &dyn Sql, table: &str) -> Result<u64> {
    c.one(&format!("SELECT count(*) FROM {table}"), args![])?
        .get(0)
}

/// Copies `table` a page at a time, in SQLite's row order, each page one PostgreSQL
/// transaction.
fn copy_table(from: &Store, into: &Store, table: &str, columns: &[String]) -> Result<()> {
    let listed = columns.join(", ");
    let read = format!(
        "SELECT rowid, {listed} FROM {table} WHERE rowid > ?1 ORDER BY rowid LIMIT {PAGE_ROWS}"
    );
    let mut after = 0i64;
    loop {
        let page = from.read(|c| c.query(&read, args![after]))?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = last.get(0)?;
        let rows: Vec<Vec<Cell>> = page.into_iter().map(|r| r.0[1..].to_vec()).collect();
        let width = columns.len();
        let placeholders: Vec<String> = (0..rows.len())
            .map(|r| {
                let cells: Vec<String> =
                    (1..=width).map(|i| format!("?{}", r * width + i)).collect();
                format!("({})", cells.join(", "))
            })
            .collect();
        let insert = format!(
            "INSERT INTO {table} ({listed}) VALUES {}",
            placeholders.join(", ")
        );
        into.write(move |c| {
            let values: Vec<Arg<'_>> = rows.iter().flatten().map(arg_of).collect();
            c.execute(&insert, &values).map(drop)
        })
        .wait()?;
    }
}

fn arg_of(cell: &Cell) -> Arg<'_> {
    match cell {
        Cell::Null => Arg::Null,
        Cell::Int(v) => Arg::Int(*v),
        Cell::Bool(v) => Arg::Int(i64::from(*v)),
        Cell::Bytes(v) => Arg::Bytes(v),
        Cell::Text(v) => Arg::Text(v),
    }
}

/// The tables whose ids SQLite numbered (`AUTOINCREMENT`), and the last number it gave each:
/// past the largest id still there when the newest rows were deleted.
fn numbers_given(c: &dyn Sql) -> Result<Vec<(String, i64)>> {
    c.query("SELECT name, seq FROM sqlite_sequence", args![])?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?)))
        .collect()
}

/// The ids PostgreSQL hands out next follow every id SQLite gave (mailbox items and key
/// packages keep their numbers, which clients acknowledge by; a number is never given twice, so
/// a late acknowledgement of a deleted item cannot take a new one).
fn restart_numbering(c: &dyn Sql, given: &[(String, i64)]) -> Result<()> {
    for table in ["mailbox", "key_packages"] {
        let last = given
            .iter()
            .find(|(name, _)| name == table)
            .map_or(0, |(_, seq)| *seq);
        c.query(
            &format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                               GREATEST((SELECT coalesce(max(id), 0) FROM {table}), ?1) + 1, false)"
            ),
            args![last],
        )?;
    }
    Ok(())
}

/// The blobs the records name whose file is not in the folder.
fn missing_blobs(from: &Store) -> Result<u64> {
    let mut missing = 0;
    for id in blob_ids(from)? {
        if let Err(RelayError::NotFound) = from.blob_files.open(&id) {
            missing += 1;
        }
    }
    Ok(missing)
}

fn blob_ids(from: &Store) -> Result<Vec<[u8; 32]>> {
    let ids: Vec<Vec<u8>> = from.read(|c| {
        c.query("SELECT DISTINCT id FROM blobs ORDER BY id", args![])?
            .iter()
            .map(|r| r.get(0))
            .collect()
    })?;
    ids.into_iter()
        .map(|id| {
            <[u8; 32]>::try_from(id.as_slice())
                .map_err(|_| failed("a blob record whose id is not a SHA-256"))
        })
        .collect()
}

/// Streams each blob the records name from the folder into the bucket; how many were copied
/// and how many were missing from the folder.
fn copy_blobs(from: &Store, into: &Store) -> Result<(u64, u64)> {
    let (mut copied, mut missing) = (0, 0);
    for id in blob_ids(from)? {
        let mut opened = match from.blob_files.open(&id) {
            Ok(o) => o,
            Err(RelayError::NotFound) => {
                missing += 1;
                continue;
            }
            Err(e) => return Err(e),
        };
        into.blob_files
            .put(&id, Incoming::new(&mut opened.reader, opened.len))?;
        copied += 1;
    }
    Ok((copied, missing))
}
