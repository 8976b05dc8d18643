//! The SQLite engine of [`Sql`]: a `rusqlite` connection, statements prepared once and cached.

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ToSql};

use super::{Arg, Cell, Row, Sql, out_of_range};
use crate::error::Result;

impl ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match *self {
            Arg::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Arg::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(v)),
            Arg::Bytes(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
            Arg::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Arg::OutOfRange => {
                return Err(rusqlite::Error::ToSqlConversionFailure(
                    "a number past 2^63".into(),
                ));
            }
        })
    }
}

fn check(args: &[Arg<'_>]) -> Result<()> {
    if args.iter().any(|a| matches!(a, Arg::OutOfRange)) {
        return Err(out_of_range());
    }
    Ok(())
}

impl Sql for Connection {
    fn execute(&self, sql: &str, args: &[Arg<'_>]) -> Result<u64> {
        check(args)?;
        let changed = self
            .prepare_cached(sql)?
            .execute(rusqlite::params_from_iter(args))?;
        Ok(changed as u64)
    }

    fn query(&self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<Row>> {
        check(args)?;
        let mut stmt = self.prepare_cached(sql)?;
        let columns = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let cells = (0..columns)
                .map(|i| {
                    Ok(match r.get_ref(i)? {
                        ValueRef::Null => Cell::Null,
                        ValueRef::Integer(v) => Cell::Int(v),
                        ValueRef::Real(v) => Cell::Text(v.to_string()),
                        ValueRef::Text(v) => Cell::Text(String::from_utf8_lossy(v).into_owned()),
                        ValueRef::Blob(v) => Cell::Bytes(v.to_vec()),
                    })
                })
                .collect::<rusqlite::Result<Vec<_>>>()?;
            out.push(Row(cells));
        }
        Ok(out)
    }

    fn batch(&self, sql: &str) -> Result<()> {
        Ok(self.execute_batch(sql)?)
    }
}
