//! The PostgreSQL engine of [`Sql`], for relays of several instances sharing one database.
//!
//! Every write runs in its own `SERIALIZABLE` transaction, so the store's rules (one commit
//! per epoch, quotas, one use of a token) hold across instances exactly as they do under
//! SQLite's single writer: PostgreSQL aborts whichever of two conflicting transactions would
//! break them, and the loser runs again from the start (`MAX_ATTEMPTS`), now seeing the
//! winner's rows. Reads run in read-only snapshots. A database that cannot be reached, or a
//! conflict that outlasts the retries, is `busy` (the client comes back), never a wrong answer.

use std::cell::{Cell as Flag, RefCell};
use std::collections::HashMap;
use std::time::Duration;

use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{IsolationLevel, NoTls, Statement};

use super::{Arg, Cell, Row, Sql, out_of_range};
use crate::error::{RelayError, Result};

/// Times a write runs before a conflict that keeps recurring is answered `busy`.
const MAX_ATTEMPTS: u32 = 10;

/// Longest wait for a free connection (or a new one) before a request is answered `busy`.
const CONNECTION_WAIT: Duration = Duration::from_secs(3);

/// A connection with the statements it prepared (a statement is parsed once per connection).
pub(crate) struct Connection {
    client: postgres::Client,
    statements: HashMap<String, Statement>,
}

/// Opens and checks pooled connections.
#[derive(Debug)]
pub(crate) struct Connector(postgres::Config);

impl r2d2::ManageConnection for Connector {
    type Connection = Connection;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Connection, postgres::Error> {
        Ok(Connection {
            client: self.0.connect(NoTls)?,
            statements: HashMap::new(),
        })
    }

    fn is_valid(&self, conn: &mut Connection) -> Result<(), postgres::Error> {
        conn.client.simple_query("").map(|_| ())
    }

    fn has_broken(&self, conn: &mut Connection) -> bool {
        conn.client.is_closed()
    }
}

pub(crate) type Pool = r2d2::Pool<Connector>;

/// Parses a `postgres://` address; a missing connect timeout gets one, so an unreachable
/// server is `busy` within seconds rather than a hung request.
pub(crate) fn config(url: &str) -> Result<postgres::Config> {
    let mut config: postgres::Config = url
        .parse()
        .map_err(|e| RelayError::Internal(format!("the database address: {e}")))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECTION_WAIT);
    }
    config.application_name("consilium-relay");
    Ok(config)
}

/// One direct connection (migrations, the tools), outside the pool.
pub(crate) fn connect(url: &str) -> Result<postgres::Client> {
    config(url)?.connect(NoTls).map_err(|e| classify(&e))
}

/// A pool of `size` connections to `url`. Connections are made on demand, so a relay whose
/// database is down starts answering `busy` and recovers by itself when it is back.
pub(crate) fn pool(url: &str, size: u32) -> Result<Pool> {
    Ok(r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        .connection_timeout(CONNECTION_WAIT)
        .test_on_check_out(false)
        .build_unchecked(Connector(config(url)?)))
}

/// What an error from PostgreSQL means for the client: the server unreachable, restarting or
/// out of resources is `busy`; anything else is the relay's fault.
pub(crate) fn classify(e: &postgres::Error) -> RelayError {
    let busy = match e.code() {
        None => true,
        Some(code) => {
            let class = &code.code()[..2];
            // 08: connection exception; 53: insufficient resources; 57: operator intervention
            // (a shutdown, a restart); 40: a conflict that outlasted the retries.
            matches!(class, "08" | "53" | "57" | "40")
        }
    };
    if busy {
        tracing::warn!(error = %e, "the database is unavailable");
        RelayError::Busy
    } else {
        RelayError::Internal(e.to_string())
    }
}

/// Whether running the transaction again may succeed: a serialization failure, a deadlock, or
/// a unique key a concurrent transaction took first (the retry sees its row).
fn retryable(e: &postgres::Error) -> bool {
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
            Type::INT2 | Type::INT4 | Type::INT8 | Type::BOOL | Type::BYTEA | Type::TEXT
        ) || ty.name() == "varchar"
    }

    to_sql_checked!();
}

/// One transaction on a pooled connection, as the store's operations see it.
struct Transaction<'a> {
    tx: RefCell<postgres::Transaction<'a>>,
    statements: RefCell<&'a mut HashMap<String, Statement>>,
    /// Set when a statement failed in a way a new attempt may not (see `retryable`).
    retry: Flag<bool>,
}

impl Transaction<'_> {
    fn statement(&self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.statements.borrow().get(sql) {
            return Ok(s.clone());
        }
        let prepared = self
            .tx
            .borrow_mut()
            .prepare(&dialect(sql))
            .map_err(|e| self.failed(&e))?;
        self.statements
            .borrow_mut()
            .insert(sql.to_owned(), prepared.clone());
        Ok(prepared)
    }

    fn failed(&self, e: &postgres::Error) -> RelayError {
        if retryable(e) {
            self.retry.set(true);
            return RelayError::Busy;
        }
        classify(e)
    }
}

fn bound<'a>(args: &'a [Arg<'a>]) -> Result<Vec<&'a (dyn ToSql + Sync)>> {
    if args.iter().any(|a| matches!(a, Arg::OutOfRange)) {
        return Err(out_of_range());
    }
    Ok(args.iter().map(|a| a as &(dyn ToSql + Sync)).collect())
}

fn cells(row: &postgres::Row) -> Result<Row> {
    let wrong = |e: postgres::Error| RelayError::Internal(e.to_string());
    let mut cells = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let cell = match *column.type_() {
            Type::INT8 => row.try_get::<_, Option<i64>>(i).map_err(wrong)?.map(Cell::Int),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(i)
                .map_err(wrong)?
                .map(|v| Cell::Int(v.into())),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(i)
                .map_err(wrong)?
                .map(|v| Cell::Int(v.into())),
            Type::BOOL => row.try_get::<_, Option<bool>>(i).map_err(wrong)?.map(Cell::Bool),
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
        let statement = self.statement(sql)?;
        let args = bound(args)?;
        self.tx
            .borrow_mut()
            .execute(&statement, &args)
            .map_err(|e| self.failed(&e))
    }

    fn query(&self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<Row>> {
        let statement = self.statement(sql)?;
        let args = bound(args)?;
        let rows = self
            .tx
            .borrow_mut()
            .query(&statement, &args)
            .map_err(|e| self.failed(&e))?;
        rows.iter().map(cells).collect()
    }
}

/// Runs `op` in a serializable transaction and commits it, again from the start while it
/// loses to a concurrent one. Its answer is given only once the commit is durable.
pub(crate) fn write<T>(pool: &Pool, op: &dyn Fn(&dyn Sql) -> Result<T>) -> Result<T> {
    for attempt in 0..MAX_ATTEMPTS {
        let mut conn = pool.get().map_err(|e| {
            tracing::warn!(error = %e, "no database connection");
            RelayError::Busy
        })?;
        let Connection { client, statements } = &mut *conn;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::Serializable)
            .start()
            .map_err(|e| classify(&e))?;
        let sql = Transaction {
            tx: RefCell::new(tx),
            statements: RefCell::new(statements),
            retry: Flag::new(false),
        };
        let outcome = op(&sql);
        let again = sql.retry.get();
        let tx = sql.tx.into_inner();
        match outcome {
            Ok(value) => match tx.commit() {
                Ok(()) => return Ok(value),
                Err(e) if retryable(&e) => {}
                Err(e) => return Err(classify(&e)),
            },
            Err(e) => {
                // Dropping the transaction rolls it back.
                drop(tx);
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
    let mut conn = pool.get().map_err(|e| {
        tracing::warn!(error = %e, "no database connection");
        RelayError::Busy
    })?;
    let Connection { client, statements } = &mut *conn;
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(|e| classify(&e))?;
    let sql = Transaction {
        tx: RefCell::new(tx),
        statements: RefCell::new(statements),
        retry: Flag::new(false),
    };
    let value = op(&sql)?;
    sql.tx.into_inner().commit().map_err(|e| classify(&e))?;
    Ok(value)
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
