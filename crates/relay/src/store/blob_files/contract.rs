//! What every place blob bytes live keeps: the `BlobFiles` interface and blob names.

use std::fmt::Debug;
use std::io::Read;

use crate::error::Result;

/// How long an unrecorded blob may stay before a sweep removes it: long enough for an upload in
/// flight on another instance to record it.
pub(crate) const UNRECORDED_GRACE_MS: i64 = 3_600_000;

/// A blob's bytes, opened for reading, and their length.
pub(crate) struct Opened {
    pub reader: Box<dyn Read + Send>,
    pub len: u64,
}

/// The bytes of blobs, by id.
pub(crate) trait BlobFiles: Send + Sync + Debug {
    /// Keeps `bytes` as blob `id`, durably, before returning.
    fn put(&self, id: &[u8; 32], bytes: &[u8]) -> Result<()>;
    /// The blob's bytes; `NotFound` when there is none.
    fn open(&self, id: &[u8; 32]) -> Result<Opened>;
    /// Removes the blob's bytes (nothing when there are none).
    fn remove(&self, id: &[u8; 32]) -> Result<()>;
    /// Removes what a crash between keeping bytes and recording them leaves: bytes under an id
    /// `recorded` does not hold, older than `UNRECORDED_GRACE_MS` where other instances may be
    /// uploading, and half-written files.
    fn sweep(&self, recorded: &dyn Fn(&[u8; 32]) -> bool, now_ms: i64) -> Result<()>;
}

/// A blob id as the bytes' name: 64 lower-case hex digits.
pub(super) fn name(id: &[u8; 32]) -> String {
    hex::encode(id)
}

/// The id a name stands for, if it is one.
pub(super) fn id_of(name: &str) -> Option<[u8; 32]> {
    hex::decode(name).ok()?.try_into().ok()
}
