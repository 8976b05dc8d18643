//! Errors of the vault. Each failure a person can meet has its own variant and its own words.

use std::path::PathBuf;

use consilium_model::ModelError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("wrong passphrase")]
    WrongPassphrase,
    #[error("no vault in {0} (create one first)")]
    VaultMissing(PathBuf),
    #[error("a vault already exists in {0}")]
    VaultExists(PathBuf),
    #[error("the vault is open in another Consilium process; close it and try again")]
    VaultBusy,
    #[error("the vault key file is damaged: {0}")]
    KeyFileCorrupt(String),
    #[error("the vault database is damaged or truncated: {0}")]
    DatabaseCorrupt(String),
    #[error(
        "the vault was written by a newer Consilium (schema {found}, this version knows up to {supported})"
    )]
    SchemaTooNew { found: i64, supported: i64 },
    #[error("an attachment file is damaged or was tampered with ({0}); it was not returned")]
    BlobCorrupt(String),
    #[error("an attachment file is missing from the vault ({0})")]
    BlobMissing(String),
    #[error("the backup is damaged and was not restored: {0}")]
    BackupDamaged(String),
    #[error("wrong recovery code")]
    WrongRecoveryCode,
    #[error("no {what} with id {id}")]
    NotFound { what: &'static str, id: String },
    #[error("{0}")]
    Invalid(String),
    /// What a circle member sent is not allowed (not the author, not in this circle).
    #[error("refused: {0}")]
    Refused(String),
    #[error("{context}: {source}")]
    Io {
        context: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the system random number generator failed")]
    Entropy,
    #[error("encryption failed")]
    Crypto,
}

impl StoreError {
    pub(crate) fn io(context: &'static str) -> impl FnOnce(std::io::Error) -> StoreError {
        move |source| StoreError::Io { context, source }
    }
}

impl From<ModelError> for StoreError {
    fn from(e: ModelError) -> Self {
        match e {
            ModelError::Invalid(m) => StoreError::Invalid(m),
            other => StoreError::DatabaseCorrupt(other.to_string()),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
