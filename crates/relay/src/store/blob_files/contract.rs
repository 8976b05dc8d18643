//! What every place blob bytes live keeps: the `BlobFiles` interface and blob names.

use std::fmt::Debug;
use std::io::Read;

use crate::error::{RelayError, Result};

/// How long an unrecorded blob may stay before a sweep removes it: long enough for an upload in
/// flight on another instance to record it.
pub(crate) const UNRECORDED_GRACE_MS: i64 = 3_600_000;

/// A blob's bytes, opened for reading, and their length.
pub(crate) struct Opened {
    pub reader: Box<dyn Read + Send>,
    pub len: u64,
}

/// A blob's bytes as they arrive, hashed on the way: a place that keeps them makes them
/// visible under the blob's id only once `length_if_blob` says they are that blob.
pub(crate) struct Incoming<'a> {
    source: &'a mut dyn Read,
    hash: ring::digest::Context,
    len: u64,
    /// What the sender said it sends (at most the largest blob): what to make room for.
    declared: u64,
}

impl<'a> Incoming<'a> {
    pub(crate) fn new(source: &'a mut dyn Read, declared: u64) -> Incoming<'a> {
        Incoming {
            source,
            hash: ring::digest::Context::new(&ring::digest::SHA256),
            len: 0,
            declared,
        }
    }

    /// What the sender said it sends: a buffer for it need be no larger (one byte more tells
    /// whether it lied).
    pub(crate) fn declared(&self) -> u64 {
        self.declared
    }

    /// Fills `buf` from the source, as far as it goes: less than `buf.len()` means the bytes
    /// ended. A source that fails (the upload broke off) fails the put.
    pub(crate) fn fill(&mut self, buf: &mut [u8]) -> Result<usize> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.source.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(RelayError::BadRequest(format!(
                        "the upload did not arrive whole: {e}"
                    )));
                }
            }
        }
        self.hash.update(&buf[..filled]);
        self.len += filled as u64;
        Ok(filled)
    }

    /// Whether what was read is the blob `id` (its SHA-256); its length if so.
    pub(crate) fn length_if_blob(self, id: &[u8; 32]) -> Result<u64> {
        if self.hash.finish().as_ref() == id {
            Ok(self.len)
        } else {
            Err(RelayError::DigestMismatch)
        }
    }
}

/// A blob's bytes kept whole but not yet readable under its id (`BlobFiles::stage`).
/// Dropped without `publish`, they are discarded.
pub(crate) trait Staged: Send {
    /// Makes the bytes readable under their id, durably.
    fn publish(self: Box<Self>) -> Result<()>;
}

/// The bytes of blobs, by id.
pub(crate) trait BlobFiles: Send + Sync + Debug {
    /// Keeps what `incoming` brings, if it is blob `id` (`Incoming::length_if_blob`), whole and
    /// durable but not yet readable under the id; its length. Streaming takes as long as the
    /// sender takes, so nothing is held meanwhile; only `publish` needs the store's blob lock.
    /// Bytes that are not the blob leave nothing behind.
    fn stage<'a>(
        &'a self,
        id: &[u8; 32],
        incoming: Incoming<'_>,
    ) -> Result<(u64, Box<dyn Staged + 'a>)>;
    /// `stage` and `publish` at once (moving a relay, where nothing else runs).
    fn put(&self, id: &[u8; 32], incoming: Incoming<'_>) -> Result<u64> {
        let (len, staged) = self.stage(id, incoming)?;
        staged.publish()?;
        Ok(len)
    }
    /// The blob's bytes; `NotFound` when there is none.
    fn open(&self, id: &[u8; 32]) -> Result<Opened>;
    /// Whether blobs can be kept and read now: the folder is there, the bucket answers.
    fn check(&self) -> Result<()>;
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
