//! How a test's relay is configured: the wall clock, and where its records live (SQLite in its
//! data folder, or a database of its own when the suite runs against PostgreSQL).

use std::sync::Arc;

use consilium_model::{Clock, Timestamp};
use consilium_relay::RelayConfig;
use consilium_relay::store::DatabaseLocation;
use consilium_testkit::services::{PostgresServer, TEST_POSTGRES_ENV, create_database_on};

#[derive(Debug)]
pub struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> Timestamp {
        Timestamp(now_ms())
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The database of the relay whose data folder is `dir`: when the suite runs against
/// PostgreSQL (`with-postgres`), a database of its own on that server, the same one each time
/// a relay starts on this folder (a restart finds its records); else SQLite in the folder.
pub fn database_for(dir: &std::path::Path) -> DatabaseLocation {
    static DATABASES: std::sync::Mutex<Vec<(std::path::PathBuf, String)>> =
        std::sync::Mutex::new(Vec::new());
    if std::env::var_os(consilium_testkit::services::TEST_POSTGRES_ENV).is_none() {
        return DatabaseLocation::DataFolder;
    }
    let mut known = DATABASES.lock().unwrap();
    if let Some((_, url)) = known.iter().find(|(d, _)| d == dir) {
        return DatabaseLocation::Postgres(url.clone());
    }
    let url = consilium_testkit::services::test_database().unwrap();
    known.push((dir.to_path_buf(), url.clone()));
    DatabaseLocation::Postgres(url)
}

/// A relay's configuration for tests: its data in `dir`, its database `database_for(dir)`.
pub fn test_config(dir: &std::path::Path) -> RelayConfig {
    let mut config = RelayConfig::new(dir.to_path_buf(), Arc::new(WallClock));
    config.database = database_for(dir);
    config
}

/// A new database: on the suite's PostgreSQL server when it runs against one, else on a server
/// of this test's own (kept alive by the returned guard).
pub fn new_database() -> (Option<PostgresServer>, String) {
    match std::env::var(TEST_POSTGRES_ENV) {
        Ok(url) if !url.is_empty() => (None, create_database_on(&url)),
        _ => {
            let server = PostgresServer::start();
            let url = server.create_database();
            (Some(server), url)
        }
    }
}
