//! Which database holds the relay's records, and how operations reach it: SQLite in the data
//! folder (one machine: one writer thread committing in batches, `group_commit`, and reader
//! connections beside it), or a PostgreSQL server several instances share (a pool of
//! connections; writes on a fixed set of threads, `concurrent_writes`, each in a serializable
//! transaction of its own).

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use rusqlite::Connection;

use super::concurrent_writes::ConcurrentWrites;
use super::group_commit::{self, Pending};
use super::migrations;
use super::sql::{self, Sql};
use crate::error::{RelayError, Result};
use crate::private_files::{owner_only, private_file};

/// Connections that serve reads side by side with SQLite's writer (WAL).
const SQLITE_READERS: usize = 4;

/// Connections one instance holds to PostgreSQL at most (writes and reads together).
const POSTGRES_CONNECTIONS: u32 = 16;

/// Where a relay keeps its records.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum DatabaseLocation {
    /// `relay.db` in the data folder (one machine).
    #[default]
    DataFolder,
    /// A PostgreSQL server (`postgres://user:password@host/db`), shared by several instances.
    Postgres(String),
}

impl std::fmt::Debug for DatabaseLocation {
    /// Never the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatabaseLocation::DataFolder => f.write_str("DataFolder"),
            DatabaseLocation::Postgres(url) => {
                match sql::postgres_address::PostgresAddress::parse(url) {
                    Ok(sql::postgres_address::PostgresAddress { config: c, .. }) => write!(
                        f,
                        "Postgres(hosts {:?}, database {:?}, user {:?})",
                        c.get_hosts(),
                        c.get_dbname(),
                        c.get_user()
                    ),
                    Err(_) => f.write_str("Postgres(unparsable address)"),
                }
            }
        }
    }
}

/// Opens the relay's database, made the operator's alone: a new one is created empty with mode
/// 0600 before SQLite opens it (its WAL and shared-memory files take the database's mode), and
/// the files of an older relay are narrowed to it.
pub(super) fn connect(path: &Path) -> Result<Connection> {
    let internal = |e: std::io::Error| RelayError::Internal(e.to_string());
    if !path.exists() {
        private_file(path).map_err(internal)?;
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let file = Path::new(&name);
        if file.exists() {
            owner_only(file, 0o600).map_err(internal)?;
        }
    }
    let conn = Connection::open(path)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;",
    )?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

#[derive(Debug)]
pub(super) enum Engine {
    Sqlite {
        writer: group_commit::Writer,
        readers: Vec<Mutex<Connection>>,
        next_reader: AtomicUsize,
    },
    Postgres {
        pool: sql::postgres::Pool,
        writes: ConcurrentWrites,
        /// Kept as a location, whose `Debug` leaves the password out.
        location: DatabaseLocation,
    },
}

impl Engine {
    /// Opens the database `location` names (`relay.db` in `data_dir` for SQLite), brought to
    /// the current schema.
    pub(super) fn open(data_dir: &Path, location: &DatabaseLocation) -> Result<Engine> {
        match location {
            DatabaseLocation::DataFolder => {
                let db = data_dir.join("relay.db");
                let mut conn = connect(&db)?;
                migrations::migrate(&mut conn)?;
                let readers = (0..SQLITE_READERS)
                    .map(|_| {
                        let reader = connect(&db)?;
                        reader.execute_batch("PRAGMA query_only = ON")?;
                        Ok(Mutex::new(reader))
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Engine::Sqlite {
                    writer: group_commit::Writer::start(conn)?,
                    readers,
                    next_reader: AtomicUsize::new(0),
                })
            }
            DatabaseLocation::Postgres(url) => {
                let pool = sql::postgres::pool(url, POSTGRES_CONNECTIONS)?;
                migrations::migrate_postgres(&pool)?;
                let writes = ConcurrentWrites::start(pool.clone(), POSTGRES_CONNECTIONS / 2)?;
                Ok(Engine::Postgres {
                    pool,
                    writes,
                    location: location.clone(),
                })
            }
        }
    }

    /// The PostgreSQL server's address, when the records are there.
    pub(super) fn postgres_url(&self) -> Option<String> {
        match self {
            Engine::Sqlite { .. } => None,
            Engine::Postgres { location, .. } => match location {
                DatabaseLocation::Postgres(url) => Some(url.clone()),
                DatabaseLocation::DataFolder => None,
            },
        }
    }

    /// Runs a read: on one of SQLite's reader connections (a free one if there is one), or in
    /// a read-only snapshot on PostgreSQL.
    pub(super) fn read<T>(&self, f: impl FnOnce(&dyn Sql) -> Result<T>) -> Result<T> {
        match self {
            Engine::Sqlite {
                readers,
                next_reader,
                ..
            } => {
                let start = next_reader.fetch_add(1, Ordering::Relaxed);
                let n = readers.len();
                for i in 0..n {
                    if let Ok(conn) = readers[(start + i) % n].try_lock() {
                        return f(&*conn);
                    }
                }
                let conn = readers[start % n]
                    .lock()
                    .map_err(|_| RelayError::Internal("store lock poisoned".into()))?;
                f(&*conn)
            }
            Engine::Postgres { pool, .. } => sql::postgres::read(pool, f),
        }
    }

    /// Queues a write; its answer comes once it is durable. On PostgreSQL it may run more than
    /// once (a conflict with another instance's write): it only touches the database.
    pub(super) fn write<T: Send + 'static>(
        &self,
        f: impl Fn(&dyn Sql) -> Result<T> + Send + 'static,
    ) -> Pending<T> {
        match self {
            Engine::Sqlite { writer, .. } => writer.submit(move |c: &Connection| f(c)),
            Engine::Postgres { writes, .. } => writes.submit(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DatabaseLocation;
    use crate::store::BucketAddress;

    /// A configuration printed in a log (the relay's `Debug` of its settings) shows where the
    /// data is, never the database's password or the bucket's secret key.
    #[test]
    fn printed_settings_leave_the_secrets_out() {
        let db =
            DatabaseLocation::Postgres("postgres://relay:s3cr3t-pw@db.example.org/relay".into());
        let printed = format!("{db:?}");
        assert!(printed.contains("db.example.org"), "{printed}");
        assert!(!printed.contains("s3cr3t-pw"), "{printed}");
        let bucket = BucketAddress {
            bucket: "blobs".into(),
            secret_access_key: Some("wJalrXUtnFEMI-secret".into()),
            ..BucketAddress::default()
        };
        let printed = format!("{bucket:?}");
        assert!(printed.contains("blobs"), "{printed}");
        assert!(!printed.contains("wJalrXUtnFEMI"), "{printed}");
    }
}
