//! Reading rows back: ids stored as 16 bytes, and the "not found" every lookup answers.

use crate::error::{Result, StoreError};

pub(crate) fn not_found(what: &'static str, id: impl ToString) -> StoreError {
    StoreError::NotFound {
        what,
        id: id.to_string(),
    }
}

pub(crate) fn to16(bytes: &[u8]) -> Result<[u8; 16]> {
    bytes
        .try_into()
        .map_err(|_| StoreError::DatabaseCorrupt("bad id length".into()))
}
