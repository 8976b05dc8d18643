//! What the relay's answers are read as: each within its bound, a list item that is not one
//! kept apart, and what became of a move to the device key.

use crate::error::{RelayClientError, Result};

/// What became of a move to the device key at one relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceMove {
    /// The relay knows the profile by its device key from now on (or never knew the old one).
    Done,
    /// A relay of before the device split, which has no such move: the profile goes on there
    /// with its one key until the relay is updated.
    RelayOfBefore,
}

/// An item of a list answer that is not what the list holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed {
    /// Its `seq` or `id`, when it has one that is a number.
    pub id: Option<u64>,
    pub reason: String,
}

/// The most an answer is read to, but for list pages and blobs: what a request answers is a
/// small document.
pub(crate) const ANSWER_MAX_BYTES: usize = consilium_model::codec::MAX_DOCUMENT_BYTES;
/// A log or mailbox page: the relay bounds one to 2 MiB past its first item, which is at most
/// 1 MiB, with room for the encoding.
pub const PAGE_MAX_BYTES: usize = 4 << 20;
/// The body of a refusal.
pub(crate) const ERROR_MAX_BYTES: usize = 64 << 10;

/// The body of `answer`, refused as soon as it passes `limit` bytes (by its declared length,
/// or as it arrives).
pub(crate) async fn read_within(mut answer: reqwest::Response, limit: usize) -> Result<Vec<u8>> {
    let over = || {
        RelayClientError::BadAnswer(format!(
            "the relay's answer is over the {limit} bytes it may be"
        ))
    };
    let declared = answer.content_length();
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(over());
    }
    // Room for what the relay declared (within the limit) at once: growing by doubling would
    // hold up to twice a blob's size while it arrives.
    let mut bytes = Vec::with_capacity(declared.map_or(0, |n| n as usize));
    while let Some(chunk) = answer
        .chunk()
        .await
        .map_err(RelayClientError::from_transport)?
    {
        if bytes.len() + chunk.len() > limit {
            return Err(over());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// The number under `field` of a map, if `value` is one and has it.
pub(crate) fn id_of(value: &ciborium::Value, field: &str) -> Option<u64> {
    value.as_map()?.iter().find_map(|(k, v)| {
        (k.as_text()? == field)
            .then(|| v.as_integer())
            .flatten()
            .and_then(|i| u64::try_from(i).ok())
    })
}
