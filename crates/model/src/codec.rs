//! The binary encoding used on disk and, later, inside MLS messages: CBOR (RFC 8949).
//!
//! Structs decode with defaults for missing fields and ignore unknown ones, so a message from an
//! older or newer client still decodes.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ModelError;

/// Largest CBOR document accepted from outside.
pub const MAX_DOCUMENT_BYTES: usize = 4 * 1024 * 1024;

pub fn to_cbor<T: Serialize>(value: &T) -> Result<Vec<u8>, ModelError> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).map_err(|e| ModelError::Encode(e.to_string()))?;
    Ok(out)
}

pub fn from_cbor<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ModelError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(ModelError::Decode(format!(
            "document of {} bytes is over the {} byte limit",
            bytes.len(),
            MAX_DOCUMENT_BYTES
        )));
    }
    // Recursion limit bounds nesting so hostile input cannot exhaust the stack.
    ciborium::de::from_reader_with_recursion_limit(bytes, 64)
        .map_err(|e| ModelError::Decode(e.to_string()))
}
