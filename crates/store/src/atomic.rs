//! One atomic unit of writes: a savepoint rolled back unless committed, so that whatever ends
//! the unit early (an error, a panic that unwinds through it) leaves no trace and no transaction
//! open, and the connection's next write commits on its own. Units nest: the savepoint's name
//! is the same at every depth, and SQLite matches the innermost one of that name.

use rusqlite::Connection;

use crate::error::Result;

/// What a unit runs over: the bare connection (inside one table's operation) or the whole
/// database handed to a caller's closure (`CaseDb::atomically`, in `db`).
pub(crate) trait OverConnection {
    fn connection(&self) -> &Connection;
}

impl OverConnection for &Connection {
    fn connection(&self) -> &Connection {
        self
    }
}

/// The savepoint; rolled back as it drops unless `commit` released it.
pub(crate) struct AtomicUnit<C: OverConnection> {
    pub(crate) inner: C,
    open: bool,
}

impl<C: OverConnection> AtomicUnit<C> {
    pub(crate) fn begin(inner: C) -> Result<AtomicUnit<C>> {
        inner.connection().execute_batch("SAVEPOINT atomically")?;
        Ok(AtomicUnit { inner, open: true })
    }

    pub(crate) fn commit(mut self) -> Result<()> {
        self.open = false;
        let conn = self.inner.connection();
        if let Err(e) = conn.execute_batch("RELEASE atomically") {
            // A commit that failed (a full disk): leave nothing half-done behind.
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e.into());
        }
        Ok(())
    }
}

impl<C: OverConnection> Drop for AtomicUnit<C> {
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        let conn = self.inner.connection();
        if conn
            .execute_batch("ROLLBACK TO atomically; RELEASE atomically")
            .is_err()
        {
            // The savepoint is gone (SQLite rolled the whole transaction back on its own, say
            // after an I/O error): make sure nothing stays open.
            let _ = conn.execute_batch("ROLLBACK");
        }
    }
}
