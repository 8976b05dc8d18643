//! Opening the database over a connection: its pragmas, then every migration not yet applied.

use std::sync::Arc;

use rusqlite::Connection;

use crate::db::CaseDb;
use crate::entropy::Entropy;
use crate::error::Result;
use crate::migrations;

impl CaseDb {
    /// Takes an open connection (already keyed, for SQLCipher), sets the connection's pragmas and
    /// brings the schema up to date.
    pub fn from_connection(mut conn: Connection, entropy: Arc<dyn Entropy>) -> Result<Self> {
        conn.execute_batch(
            "PRAGMA foreign_keys = ON;
             PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA secure_delete = ON;
             PRAGMA temp_store = MEMORY;
             PRAGMA cache_size = -65536;
             PRAGMA busy_timeout = 5000;",
        )?;
        migrations::migrate(&mut conn)?;
        Ok(CaseDb { conn, entropy })
    }
}
