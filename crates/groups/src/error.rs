//! Errors of the group layer.

#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    #[error("the group state could not be stored or read: {0}")]
    Storage(String),
    #[error("MLS: {0}")]
    Mls(String),
    #[error("the identity key is not usable")]
    BadIdentity,
    /// An incoming message or key package that does not parse, decrypt or verify.
    #[error("refused: {0}")]
    Rejected(String),
    /// A message at our own epoch that does not decrypt: the sender's secrets for this epoch are
    /// not ours (the relay forked the circle), or the relay changed the bytes.
    #[error(
        "a message at key epoch {epoch} does not decrypt: the relay changed it, or showed its \
         sender another circle than ours"
    )]
    Undecryptable { epoch: u64 },
}

impl From<rusqlite::Error> for GroupError {
    fn from(e: rusqlite::Error) -> Self {
        GroupError::Storage(e.to_string())
    }
}

pub type Result<T, E = GroupError> = std::result::Result<T, E>;
