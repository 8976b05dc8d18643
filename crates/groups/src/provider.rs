//! The openmls provider of a profile: RustCrypto for the cryptography and
//! `openmls_sqlite_storage` over a *borrowed* connection for the state. The connection is the
//! vault's SQLCipher connection, or a transaction on it: whatever openmls writes while processing
//! a message lands in the caller's transaction, next to the app-level effect of the message, and
//! is committed or rolled back with it.

use openmls_rust_crypto::RustCrypto;
use openmls_sqlite_storage::{Codec, SqliteStorageProvider};
use openmls_traits::OpenMlsProvider;
use rusqlite::Connection;

use crate::error::{GroupError, Result};

/// How openmls' state is encoded in its tables (inside the encrypted database).
/// How openmls' state is encoded in its tables: CBOR, compact and quick to read back (a circle's
/// trees and secrets are loaded for every message).
#[derive(Debug, Default)]
pub struct CborCodec;

impl Codec for CborCodec {
    type Error = CodecError;

    fn to_vec<T: serde::Serialize>(value: &T) -> std::result::Result<Vec<u8>, Self::Error> {
        let mut out = Vec::new();
        ciborium::into_writer(value, &mut out).map_err(|e| CodecError(e.to_string()))?;
        Ok(out)
    }

    fn from_slice<T: serde::de::DeserializeOwned>(
        slice: &[u8],
    ) -> std::result::Result<T, Self::Error> {
        ciborium::from_reader(slice).map_err(|e| CodecError(e.to_string()))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("MLS state encoding: {0}")]
pub struct CodecError(String);

pub type Storage<'c> = SqliteStorageProvider<CborCodec, &'c Connection>;

/// openmls' view of one profile for the length of one borrow of its connection.
pub struct Provider<'c> {
    crypto: RustCrypto,
    storage: Storage<'c>,
}

impl std::fmt::Debug for Provider<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Provider")
    }
}

impl<'c> Provider<'c> {
    /// A provider writing through `conn` (a connection or a transaction on it).
    pub fn new(conn: &'c Connection) -> Provider<'c> {
        Provider {
            crypto: RustCrypto::default(),
            storage: SqliteStorageProvider::new(conn),
        }
    }
}

impl<'c> OpenMlsProvider for Provider<'c> {
    type CryptoProvider = RustCrypto;
    type RandProvider = RustCrypto;
    type StorageProvider = Storage<'c>;

    fn storage(&self) -> &Self::StorageProvider {
        &self.storage
    }

    fn crypto(&self) -> &Self::CryptoProvider {
        &self.crypto
    }

    fn rand(&self) -> &Self::RandProvider {
        &self.crypto
    }
}

/// Creates or brings up to date openmls' tables (its own migrations, in their own table).
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let mut storage: SqliteStorageProvider<CborCodec, &mut Connection> =
        SqliteStorageProvider::new(conn);
    storage
        .run_migrations()
        .map_err(|e| GroupError::Storage(e.to_string()))
}
