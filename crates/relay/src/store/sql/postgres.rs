//! The PostgreSQL engine of [`Sql`], for relays of several instances sharing one database.
//!
//! Every write runs in its own `SERIALIZABLE` transaction, so the store's rules (one commit
//! per epoch, quotas, one use of a token) hold across instances exactly as they do under
//! SQLite's single writer: PostgreSQL aborts whichever of two conflicting transactions would
//! break them, and the loser runs again from the start (`MAX_ATTEMPTS`), now seeing the
//! winner's rows. Reads run in read-only snapshots. A database that cannot be reached, or a
//! conflict that outlasts the retries, is `busy` (the client comes back), never a wrong answer.
//!
//! The client (`tokio-postgres`) runs on a runtime of the engine's own (`side_runtime`); the
//! store's operations, synchronous, wait for each statement there.

use std::cell::{Cell as Flag, RefCell};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::Statement;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use super::postgres_address::PostgresAddress;
use super::{Arg, Cell, Row, Sql, out_of_range};
use crate::error::{RelayError, Result};
use crate::store::side_runtime::SideRuntime;

/// Times a write runs before a conflict that keeps recurring is answered `busy`.
const MAX_ATTEMPTS: u32 = 10;

/// Longest wait for a free connection before a request is answered `busy`.
const CONNECTION_WAIT: Duration = Duration::from_secs(3);

type PgResult<T> = std::result::Result<T, tokio_postgres::Error>;

/// A connection with the statements it prepared (a statement is parsed once per connection).
pub(crate) struct Connection {
    client: Arc<tokio_postgres::Client>,
    statements: HashMap<String, Statement>,
    runtime: Arc<SideRuntime>,
    /// A transaction could not be ended cleanly: the connection is not used again.
    broken: bool,
}

impl Connection {
    /// Runs `work` with the client on the side runtime and waits for its answer.
    fn call<T, F>(&self, work: impl FnOnce(Arc<tokio_postgres::Client>) -> F) -> Result<PgResult<T>>
    where
        T: Send + 'static,
        F: std::future::Future<Output = PgResult<T>> + Send + 'static,
    {
        self.runtime.wait(work(Arc::clone(&self.client)))
    }

    /// Runs statements without arguments (`BEGIN`, `COMMIT`, a schema).
    fn batch(&self, sql: &str) -> Result<PgResult<()>> {
        let sql = sql.to_owned();
        self.call(|c| async move { c.batch_execute(&sql).await })
    }
}

/// Opens and checks pooled connections.
pub(crate) struct Connector {
    address: PostgresAddress,
    runtime: Arc<SideRuntime>,
}

impl r2d2::ManageConnection for Connector {
    type Connection = Connection;
    type Error = RelayError;

    fn connect(&self) -> Result<Connection> {
        self.open()?.map_err(|e| classify(&e))
    }

    fn is_valid(&self, conn: &mut Connection) -> Result<()> {
        conn.batch("")?.map_err(|e| classify(&e))
    }

    fn has_broken(&self, conn: &mut Connection) -> bool {
        conn.broken || conn.client.is_closed()
    }
}

impl Connector {
    /// A new connection, or PostgreSQL's reason for none.
    fn open(&self) -> Result<PgResult<Connection>> {
        let PostgresAddress { config, tls } = self.address.clone();
        let opened = self
            .runtime
            .wait(async move { config.connect(tls).await })?;
        let (client, connection) = match opened {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        // The connection's socket is driven here until it closes.
        self.runtime.spawn(async move {
            let _ = connection.await;
        });
        Ok(Ok(Connection {
            client: Arc::new(client),
            statements: HashMap::new(),
            runtime: Arc::clone(&self.runtime),
            broken: false,
        }))
    }
}

impl std::fmt::Debug for Connector {
    /// Never the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("hosts", &self.address.config.get_hosts())
            .field("database", &self.address.config.get_dbname())
            .finish_non_exhaustive()
    }
}

pub(crate) type Pool = r2d2::Pool<Connector>;

/// A pool of `size` connections to `url`. One connection is made first, so a relay that
/// cannot reach its database (its address, its password, a certificate that does not verify)
/// does not start and says why; after that connections are made on demand, so a relay whose
/// database goes down answers `busy` and recovers by itself when it is back.
pub(crate) fn pool(url: &str, size: u32) -> Result<Pool> {
    let connector = Connector {
        address: PostgresAddress::parse(url)?,
        runtime: Arc::new(SideRuntime::start("relay-postgres")?),
    };
    if let Err(e) = connector.open()? {
        return Err(RelayError::Internal(format!(
            "the database cannot be reached: {}",
            with_causes(&e)
        )));
    }
    Ok(r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        .connection_timeout(CONNECTION_WAIT)
        .test_on_check_out(false)
        .error_handler(Box::new(r2d2::NopErrorHandler))
        .build_unchecked(connector))
}

/// What an error from PostgreSQL means for the client: the server unreachable, restarting or
/// out of resources is `busy`; anything else is the relay's fault.
pub(crate) fn classify(e: &tokio_postgres::Error) -> RelayError {
    let busy = match e.code() {
        // No server code: the connection (closed, refused, timed out) is unavailable; any
        // other failure without one (a value that did not convert) is the relay's own.
        None => {
            e.is_closed()
                || std::error::Error::source(e)
                    .is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some())
        }
        Some(code) => {
            let class = &code.code()[..2];
            // 08: connection exception; 53: insufficient resources; 57: operator intervention
            // (a shutdown, a restart); 40: a conflict that outlasted the retries.
            matches!(class, "08" | "53" | "57" | "40")
        }
    };
    // The server's own words (its `Display` says only "db error").
    let detail = e.as_db_error().map_or_else(
        || with_causes(e),
        |d| format!("{}: {}", d.code().code(), d.message()),
    );
    if busy {
        tracing::warn!(error = %detail, "the database is unavailable");
        RelayError::Busy
    } else {
        RelayError::Internal(detail)
    }
}

/// An error and the errors under it, as one line (tokio-postgres' own says only "error
/// performing TLS handshake", its cause why).
fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// Whether running the transaction again may succeed: a serialization failure, a deadlock, or
/// a unique key a concurrent transaction took first (the retry sees its row).
fn retryable(e: &tokio_postgres::Error) -> bool {
    e.code()
        .is_some_and(|c| matches!(c.code(), "40001" | "40P01" | "23505"))
}

/// `?N` placeholders as PostgreSQL writes them (`$N`), outside quoted text.
pub(crate) fn dialect(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            quoted = !quoted;
        }
        if c == '?' && !quoted && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

impl ToSql for Arg<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match *self {
            Arg::Null => Ok(IsNull::Yes),
            // The same integer fits whatever integer type the server inferred.
            Arg::Int(v) => match *ty {
                Type::INT2 => i16::try_from(v)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(v)?.to_sql(ty, out),
                Type::BOOL => (v != 0).to_sql(ty, out),
                _ => v.to_sql(ty, out),
            },
            Arg::Bytes(v) => v.to_sql(ty, out),
            Arg::Text(v) => v.to_sql(ty, out),
            Arg::OutOfRange => Err("a number past 2^63".into()),
        }
    }

    fn accepts(ty: &Type) -> bool {
        matches!(
            *ty,
            Type::INT2
                | Type::INT4
                | Type::INT8
                | Type::BOOL
                | Type::BYTEA
                | Type::TEXT
                | Type::NAME
        ) || ty.name() == "varchar"
    }

    to_sql_checked!();
}

/// An argument the side runtime can own while the statement runs.
#[derive(Debug)]
enum Owned {
    Null,
    Int(i64),
    Bytes(Vec<u8>),
    Text(String),
}

impl Owned {
    fn of(args: &[Arg<'_>]) -> Result<Vec<Owned>> {
        args.iter()
            .map(|a| {
                Ok(match *a {
                    Arg::Null => Owned::Null,
                    Arg::Int(v) => Owned::Int(v),
                    Arg::Bytes(v) => Owned::Bytes(v.to_vec()),
                    Arg::Text(v) => Owned::Text(v.to_owned()),
                    Arg::OutOfRange => return Err(out_of_range()),
                })
            })
            .collect()
    }

    fn arg(&self) -> Arg<'_> {
        match self {
            Owned::Null => Arg::Null,
            Owned::Int(v) => Arg::Int(*v),
            Owned::Bytes(v) => Arg::Bytes(v),
            Owned::Text(v) => Arg::Text(v),
        }
    }
}

/// One transaction on a pooled connection, as the store's operations see it.
struct Transaction<'a> {
    conn: RefCell<&'a mut Connection>,
    /// Set when a statement failed in a way a new attempt may not (see `retryable`).
    retry: Flag<bool>,
}

impl Transaction<'_> {
    fn statement(&self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.conn.borrow().statements.get(sql) {
            return Ok(s.clone());
        }
        let text = dialect(sql);
        let prepared = self
            .conn
            .borrow()
            .call(|c| async move { c.prepare(&text).await })?
            .map_err(|e| self.failed(&e))?;
        self.conn
            .borrow_mut()
            .statements
            .insert(sql.to_owned(), prepared.clone());
        Ok(prepared)
    }

    fn failed(&self, e: &tokio_postgres::Error) -> RelayError {
        if retryable(e) {
            self.retry.set(true);
            return RelayError::Busy;
        }
        classify(e)
    }

    /// Runs `statement` with `args` and returns its rows (or none, for `execute`).
    fn run<T: Send + 'static>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        query: bool,
        finish: fn(Vec<tokio_postgres::Row>, u64) -> T,
    ) -> Result<T> {
        let statement = self.statement(sql)?;
        let owned = Owned::of(args)?;
        self.conn
            .borrow()
            .call(|c| async move {
                let args: Vec<Arg<'_>> = owned.iter().map(Owned::arg).collect();
                let bound: Vec<&(dyn ToSql + Sync)> =
                    args.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
                if query {
                    Ok(finish(c.query(&statement, &bound).await?, 0))
                } else {
                    Ok(finish(Vec::new(), c.execute(&statement, &bound).await?))
                }
            })?
            .map_err(|e| self.failed(&e))
    }

    fn end(&self, how: &str) -> Result<PgResult<()>> {
        self.conn.borrow().batch(how)
    }
}

fn cells(row: &tokio_postgres::Row) -> Result<Row> {
    let wrong = |e: tokio_postgres::Error| RelayError::Internal(e.to_string());
    let mut cells = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let cell = match *column.type_() {
            Type::INT8 => row
                .try_get::<_, Option<i64>>(i)
                .map_err(wrong)?
                .map(Cell::Int),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(i)
                .map_err(wrong)?
                .map(|v| Cell::Int(v.into())),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(i)
                .map_err(wrong)?
                .map(|v| Cell::Int(v.into())),
            Type::BOOL => row
                .try_get::<_, Option<bool>>(i)
                .map_err(wrong)?
                .map(Cell::Bool),
            Type::BYTEA => row
                .try_get::<_, Option<Vec<u8>>>(i)
                .map_err(wrong)?
                .map(Cell::Bytes),
            _ => row
                .try_get::<_, Option<String>>(i)
                .map_err(wrong)?
                .map(Cell::Text),
        };
        cells.push(cell.unwrap_or(Cell::Null));
    }
    Ok(Row(cells))
}

impl Sql for Transaction<'_> {
    fn execute(&self, sql: &str, args: &[Arg<'_>]) -> Result<u64> {
        self.run(sql, args, false, |_, n| n)
    }

    fn query(&self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<Row>> {
        self.run(sql, args, true, |rows, _| rows)?
            .iter()
            .map(cells)
            .collect()
    }

    fn batch(&self, sql: &str) -> Result<()> {
        self.conn.borrow().batch(sql)?.map_err(|e| self.failed(&e))
    }
}

fn checked_out(pool: &Pool) -> Result<r2d2::PooledConnection<Connector>> {
    pool.get().map_err(|e| {
        tracing::warn!(error = %e, "no database connection");
        RelayError::Busy
    })
}

/// Runs `op` in a serializable transaction and commits it, again from the start while it
/// loses to a concurrent one. Its answer is given only once the commit is durable.
pub(crate) fn write<T>(pool: &Pool, op: &dyn Fn(&dyn Sql) -> Result<T>) -> Result<T> {
    transact(pool, "BEGIN ISOLATION LEVEL SERIALIZABLE", op)
}

/// Runs `op` in a read-committed transaction: each statement sees what committed before it
/// started, so one that waited for a lock sees the work of whoever held it (migrations).
pub(crate) fn write_after_locks<T>(pool: &Pool, op: &dyn Fn(&dyn Sql) -> Result<T>) -> Result<T> {
    transact(pool, "BEGIN ISOLATION LEVEL READ COMMITTED", op)
}

fn transact<T>(pool: &Pool, begin: &str, op: &dyn Fn(&dyn Sql) -> Result<T>) -> Result<T> {
    for attempt in 0..MAX_ATTEMPTS {
        let mut conn = checked_out(pool)?;
        let tx = Transaction {
            conn: RefCell::new(&mut conn),
            retry: Flag::new(false),
        };
        tx.end(begin)?.map_err(|e| classify(&e))?;
        let outcome = op(&tx);
        let again = tx.retry.get();
        match outcome {
            Ok(value) => match tx.end("COMMIT")? {
                Ok(()) => return Ok(value),
                Err(e) if retryable(&e) => {}
                Err(e) => return Err(classify(&e)),
            },
            Err(e) => {
                if !matches!(tx.end("ROLLBACK"), Ok(Ok(()))) {
                    tx.conn.borrow_mut().broken = true;
                }
                if !again {
                    return Err(e);
                }
            }
        }
        // Conflicting writers step apart before they meet again.
        std::thread::sleep(Duration::from_millis(
            1 + u64::from(attempt) * u64::from(attempt),
        ));
    }
    Err(RelayError::Busy)
}

/// Runs `op` in a read-only snapshot.
pub(crate) fn read<T>(pool: &Pool, op: impl FnOnce(&dyn Sql) -> Result<T>) -> Result<T> {
    let mut conn = checked_out(pool)?;
    let tx = Transaction {
        conn: RefCell::new(&mut conn),
        retry: Flag::new(false),
    };
    tx.end("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?
        .map_err(|e| classify(&e))?;
    let outcome = op(&tx);
    if !matches!(tx.end("COMMIT"), Ok(Ok(()))) {
        tx.conn.borrow_mut().broken = true;
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::dialect;

    #[test]
    fn placeholders_are_rewritten_outside_quoted_text() {
        assert_eq!(
            dialect("SELECT ?1, '?2', ?12 FROM t WHERE a = ?1 AND k = 'join_request'"),
            "SELECT $1, '?2', $12 FROM t WHERE a = $1 AND k = 'join_request'"
        );
    }
}
