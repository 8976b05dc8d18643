//! The one interface the store's operations speak to a database through, so each rule is
//! written once and holds on both engines: SQLite (`sqlite`, one machine) and PostgreSQL
//! (`postgres`, several instances). An operation runs inside a transaction the engine opened;
//! it passes [`Arg`]s and reads [`Row`]s of [`Cell`]s, never an engine's own types.
//!
//! The SQL is the common dialect of both: `?N` placeholders (rewritten to `$N` for
//! PostgreSQL), `ON CONFLICT … DO NOTHING / DO UPDATE` instead of `INSERT OR …`, `RETURNING`,
//! `CAST(… AS BIGINT)` where PostgreSQL would widen an integer to `numeric`, and no
//! engine-only functions (no two-argument `max`, no `last_insert_rowid`).

pub(crate) mod postgres;
pub(crate) mod postgres_address;
mod sqlite;

use crate::error::{RelayError, Result};

/// A value bound to a placeholder. Every integer is a signed 64-bit one, as both engines store
/// them; a `u64` past `i64::MAX` is refused when bound, never wrapped.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Arg<'a> {
    Null,
    Int(i64),
    Bytes(&'a [u8]),
    Text(&'a str),
    /// A number no column holds (a client's `u64` past `i64::MAX`).
    OutOfRange,
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}

impl From<u64> for Arg<'_> {
    fn from(v: u64) -> Self {
        i64::try_from(v).map_or(Arg::OutOfRange, Arg::Int)
    }
}

impl From<usize> for Arg<'_> {
    fn from(v: usize) -> Self {
        i64::try_from(v).map_or(Arg::OutOfRange, Arg::Int)
    }
}

impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Arg::Int(i64::from(v))
    }
}

impl<'a> From<&'a [u8]> for Arg<'a> {
    fn from(v: &'a [u8]) -> Self {
        Arg::Bytes(v)
    }
}

impl<'a, const N: usize> From<&'a [u8; N]> for Arg<'a> {
    fn from(v: &'a [u8; N]) -> Self {
        Arg::Bytes(v)
    }
}

impl<'a> From<&'a Vec<u8>> for Arg<'a> {
    fn from(v: &'a Vec<u8>) -> Self {
        Arg::Bytes(v)
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(v)
    }
}

impl<'a> From<&'a crate::auth::Account> for Arg<'a> {
    fn from(v: &'a crate::auth::Account) -> Self {
        Arg::Bytes(&v.0)
    }
}

impl<'a, T: Into<Arg<'a>>> From<Option<T>> for Arg<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Arg::Null, Into::into)
    }
}

/// The arguments of one statement: `args![group_id, seq, &account]`.
macro_rules! args {
    ($($arg:expr),* $(,)?) => {
        &[$($crate::store::sql::Arg::from($arg)),*][..]
    };
}
pub(crate) use args;

/// One value a query returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cell {
    Null,
    Int(i64),
    Bool(bool),
    Bytes(Vec<u8>),
    Text(String),
}

/// One row a query returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row(pub(crate) Vec<Cell>);

impl Row {
    /// Column `i` as a `T`; a column of another type is an internal error (the schema and
    /// the code disagree), never a panic.
    pub(crate) fn get<T: FromCell>(&self, i: usize) -> Result<T> {
        let cell = self.0.get(i).unwrap_or(&Cell::Null);
        T::from_cell(cell)
            .ok_or_else(|| RelayError::Internal(format!("column {i} holds an unexpected {cell:?}")))
    }
}

/// A Rust value a [`Cell`] reads as.
pub(crate) trait FromCell: Sized {
    fn from_cell(cell: &Cell) -> Option<Self>;
}

impl FromCell for i64 {
    fn from_cell(cell: &Cell) -> Option<Self> {
        match cell {
            Cell::Int(v) => Some(*v),
            _ => None,
        }
    }
}

impl FromCell for u64 {
    fn from_cell(cell: &Cell) -> Option<Self> {
        i64::from_cell(cell).and_then(|v| u64::try_from(v).ok())
    }
}

impl FromCell for bool {
    fn from_cell(cell: &Cell) -> Option<Self> {
        match cell {
            Cell::Bool(v) => Some(*v),
            Cell::Int(v) => Some(*v != 0),
            _ => None,
        }
    }
}

impl FromCell for Vec<u8> {
    fn from_cell(cell: &Cell) -> Option<Self> {
        match cell {
            Cell::Bytes(v) => Some(v.clone()),
            _ => None,
        }
    }
}

impl FromCell for String {
    fn from_cell(cell: &Cell) -> Option<Self> {
        match cell {
            Cell::Text(v) => Some(v.clone()),
            _ => None,
        }
    }
}

impl FromCell for crate::auth::Account {
    fn from_cell(cell: &Cell) -> Option<Self> {
        match cell {
            Cell::Bytes(v) => <[u8; 32]>::try_from(&v[..]).ok().map(crate::auth::Account),
            _ => None,
        }
    }
}

impl<T: FromCell> FromCell for Option<T> {
    fn from_cell(cell: &Cell) -> Option<Self> {
        match cell {
            Cell::Null => Some(None),
            other => T::from_cell(other).map(Some),
        }
    }
}

/// A transaction an engine opened for one operation.
pub(crate) trait Sql {
    /// Runs a statement; the number of rows it changed.
    fn execute(&self, sql: &str, args: &[Arg<'_>]) -> Result<u64>;

    /// Runs a query; every row it returns (queries say `LIMIT` where a table can be large).
    fn query(&self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<Row>>;

    /// Runs statements without arguments (a schema).
    fn batch(&self, sql: &str) -> Result<()>;

    /// The first row, if any.
    fn optional(&self, sql: &str, args: &[Arg<'_>]) -> Result<Option<Row>> {
        Ok(self.query(sql, args)?.into_iter().next())
    }

    /// The first row; none is an internal error (the caller knows the row exists).
    fn one(&self, sql: &str, args: &[Arg<'_>]) -> Result<Row> {
        self.optional(sql, args)?
            .ok_or_else(|| RelayError::Internal(format!("no row for: {sql}")))
    }

    /// Whether the query returns a row.
    fn exists(&self, sql: &str, args: &[Arg<'_>]) -> Result<bool> {
        Ok(self.optional(sql, args)?.is_some())
    }
}

/// A bound number past what a column holds: the request's fault.
fn out_of_range() -> RelayError {
    RelayError::BadRequest("a number past 2^63".into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_number_no_column_holds_is_refused_not_wrapped() {
        assert!(matches!(Arg::from(u64::MAX), Arg::OutOfRange));
        assert!(matches!(Arg::from(7u64), Arg::Int(7)));
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let c: &dyn Sql = &conn;
        let refused = c.query("SELECT ?1", args![u64::MAX]);
        assert!(
            matches!(refused, Err(RelayError::BadRequest(_))),
            "{refused:?}"
        );
    }

    #[test]
    fn a_column_of_another_type_is_an_error_not_a_panic() {
        let row = Row(vec![Cell::Text("x".into()), Cell::Int(-1)]);
        assert!(matches!(row.get::<i64>(0), Err(RelayError::Internal(_))));
        assert!(row.get::<u64>(1).is_err(), "a negative count is not a u64");
        assert_eq!(row.get::<Option<i64>>(5).unwrap(), None);
    }
}
