//! Encrypted blob files: AES-256-GCM in 64 KiB chunks (the STREAM construction), so a file of any
//! size is written and read with bounded memory, and truncation, reordering or tampering is
//! detected.
//!
//! Layout: `magic "CSB1" | chunk size (u32 LE) | nonce prefix (7 bytes)` then chunks, each the
//! AES-256-GCM ciphertext of `chunk size` plaintext bytes (the last may be shorter, even empty)
//! plus its 16-byte tag. Chunk `i` uses nonce `prefix | i (u32 BE) | last-flag (1 byte)`, and every
//! chunk authenticates the header and the blob id, so a cut-off file, a swapped chunk or a file
//! moved to another id fails to open.

use std::io::{self, BufRead, Read, Write};

use consilium_model::BlobId;
use ring::aead::{Aad, LessSafeKey, Nonce};
use zeroize::Zeroizing;

use crate::entropy::Entropy;
use crate::error::{Result, StoreError};
use crate::keys::SecretKey;

pub const CHUNK_SIZE: usize = 64 * 1024;
const TAG_LEN: usize = 16;
const MAGIC: &[u8; 4] = b"CSB1";
const HEADER_LEN: usize = 4 + 4 + 7;
const MAX_CHUNK_SIZE: usize = 1024 * 1024;

fn nonce(prefix: &[u8; 7], counter: u32, last: bool) -> Nonce {
    let mut n = [0u8; 12];
    n[..7].copy_from_slice(prefix);
    n[7..11].copy_from_slice(&counter.to_be_bytes());
    n[11] = u8::from(last);
    Nonce::assume_unique_for_key(n)
}

fn associated_data(header: &[u8], id: &BlobId) -> Vec<u8> {
    let mut aad = header.to_vec();
    aad.extend_from_slice(id.as_bytes());
    aad
}

/// Encrypts a stream into blob format. Write the plaintext, then call [`BlobSealer::finish`];
/// a sealer dropped without `finish` leaves an unreadable (truncated) blob, never a valid one.
pub struct BlobSealer<W: Write> {
    out: W,
    key: LessSafeKey,
    prefix: [u8; 7],
    aad: Vec<u8>,
    counter: u32,
    buf: Zeroizing<Vec<u8>>,
    plain_len: u64,
}

impl<W: Write> std::fmt::Debug for BlobSealer<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobSealer")
            .field("plain_len", &self.plain_len)
            .finish_non_exhaustive()
    }
}

impl<W: Write> BlobSealer<W> {
    pub fn new(mut out: W, key: &SecretKey, id: &BlobId, entropy: &dyn Entropy) -> Result<Self> {
        let mut prefix = [0u8; 7];
        entropy.fill(&mut prefix)?;
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&(CHUNK_SIZE as u32).to_le_bytes());
        header.extend_from_slice(&prefix);
        out.write_all(&header)
            .map_err(StoreError::io("writing an attachment file"))?;
        Ok(BlobSealer {
            out,
            key: key.aead()?,
            prefix,
            aad: associated_data(&header, id),
            counter: 0,
            buf: Zeroizing::new(Vec::with_capacity(CHUNK_SIZE + TAG_LEN)),
            plain_len: 0,
        })
    }

    fn seal_buffered(&mut self, last: bool) -> io::Result<()> {
        let n = nonce(&self.prefix, self.counter, last);
        self.key
            .seal_in_place_append_tag(n, Aad::from(&self.aad[..]), &mut *self.buf)
            .map_err(|_| io::Error::other("encryption failed"))?;
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.counter = self
            .counter
            .checked_add(1)
            .ok_or_else(|| io::Error::other("attachment too large"))?;
        Ok(())
    }

    /// Seals the final chunk and returns the writer and the plaintext length.
    pub fn finish(mut self) -> Result<(W, u64)> {
        self.seal_buffered(true)
            .map_err(StoreError::io("writing an attachment file"))?;
        self.out
            .flush()
            .map_err(StoreError::io("writing an attachment file"))?;
        Ok((self.out, self.plain_len))
    }
}

impl<W: Write> Write for BlobSealer<W> {
    fn write(&mut self, mut data: &[u8]) -> io::Result<usize> {
        let total = data.len();
        while !data.is_empty() {
            // A full buffer is sealed only once more data arrives, so the last chunk is always
            // sealed by `finish` with the last-flag set.
            if self.buf.len() == CHUNK_SIZE {
                self.seal_buffered(false)?;
            }
            let take = (CHUNK_SIZE - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        self.plain_len += total as u64;
        Ok(total)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Decrypts a blob as a stream, one verified chunk at a time. Any damage is an error of kind
/// `InvalidData`; bytes already returned came from chunks that verified, but a caller that must
/// not act on a partial blob should use [`open_all`] or discard output on error.
pub struct BlobOpener<R: BufRead> {
    inner: R,
    key: LessSafeKey,
    prefix: [u8; 7],
    aad: Vec<u8>,
    chunk_size: usize,
    counter: u32,
    plain: Zeroizing<Vec<u8>>,
    pos: usize,
    done: bool,
}

impl<R: BufRead> std::fmt::Debug for BlobOpener<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobOpener")
            .field("counter", &self.counter)
            .finish_non_exhaustive()
    }
}

fn damaged(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

impl<R: BufRead> BlobOpener<R> {
    pub fn new(mut inner: R, key: &SecretKey, id: &BlobId) -> Result<Self> {
        let mut header = [0u8; HEADER_LEN];
        inner.read_exact(&mut header).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => StoreError::BlobCorrupt("file too short".into()),
            _ => StoreError::Io {
                context: "reading an attachment file",
                source: e,
            },
        })?;
        if &header[..4] != MAGIC {
            return Err(StoreError::BlobCorrupt("not a Consilium blob".into()));
        }
        let mut cs = [0u8; 4];
        cs.copy_from_slice(&header[4..8]);
        let chunk_size = u32::from_le_bytes(cs) as usize;
        if chunk_size == 0 || chunk_size > MAX_CHUNK_SIZE {
            return Err(StoreError::BlobCorrupt("bad chunk size".into()));
        }
        let mut prefix = [0u8; 7];
        prefix.copy_from_slice(&header[8..]);
        Ok(BlobOpener {
            inner,
            key: key.aead()?,
            prefix,
            aad: associated_data(&header, id),
            chunk_size,
            counter: 0,
            plain: Zeroizing::new(Vec::with_capacity(chunk_size + TAG_LEN)),
            pos: 0,
            done: false,
        })
    }

    fn next_chunk(&mut self) -> io::Result<()> {
        let want = self.chunk_size + TAG_LEN;
        self.plain.clear();
        self.pos = 0;
        let got = (&mut self.inner)
            .take(want as u64)
            .read_to_end(&mut self.plain)?;
        if got < TAG_LEN {
            return Err(damaged("attachment file is truncated"));
        }
        let last = got < want || self.inner.fill_buf()?.is_empty();
        let n = nonce(&self.prefix, self.counter, last);
        let len = self
            .key
            .open_in_place(n, Aad::from(&self.aad[..]), &mut self.plain)
            .map_err(|_| damaged("attachment file failed authentication (truncated or tampered)"))?
            .len();
        self.plain.truncate(len);
        self.counter = self
            .counter
            .checked_add(1)
            .ok_or_else(|| damaged("too many chunks"))?;
        self.done = last;
        Ok(())
    }
}

impl<R: BufRead> Read for BlobOpener<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.plain.len() {
            if self.done {
                return Ok(0);
            }
            self.next_chunk()?;
        }
        let n = (self.plain.len() - self.pos).min(out.len());
        out[..n].copy_from_slice(&self.plain[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Reads and verifies a whole blob; nothing is returned unless every chunk verified.
/// `size_hint` (the plaintext length, when known) avoids regrowing the buffer.
pub fn open_all<R: BufRead>(
    inner: R,
    key: &SecretKey,
    id: &BlobId,
    size_hint: usize,
) -> Result<Zeroizing<Vec<u8>>> {
    let mut out = Zeroizing::new(Vec::with_capacity(size_hint.min(1 << 30)));
    open_into(inner, key, id, &mut out)?;
    Ok(out)
}

/// Appends the verified plaintext of a whole blob to `out`, decrypting each chunk in place in
/// `out` (no intermediate buffer). On error `out` is truncated back to its length on entry.
pub fn open_into<R: BufRead>(
    inner: R,
    key: &SecretKey,
    id: &BlobId,
    out: &mut Vec<u8>,
) -> Result<()> {
    let start = out.len();
    let result = open_into_inner(inner, key, id, out);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

fn open_into_inner<R: BufRead>(
    inner: R,
    key: &SecretKey,
    id: &BlobId,
    out: &mut Vec<u8>,
) -> Result<()> {
    let mut o = BlobOpener::new(inner, key, id)?;
    let want = o.chunk_size + TAG_LEN;
    loop {
        let at = out.len();
        let got = (&mut o.inner)
            .take(want as u64)
            .read_to_end(out)
            .map_err(map_read_error)?;
        if got < TAG_LEN {
            return Err(StoreError::BlobCorrupt(
                "attachment file is truncated".into(),
            ));
        }
        let last = got < want || o.inner.fill_buf().map_err(map_read_error)?.is_empty();
        let n = nonce(&o.prefix, o.counter, last);
        let len = o
            .key
            .open_in_place(n, Aad::from(&o.aad[..]), &mut out[at..])
            .map_err(|_| {
                StoreError::BlobCorrupt("failed authentication (truncated or tampered)".into())
            })?
            .len();
        out.truncate(at + len);
        o.counter = o
            .counter
            .checked_add(1)
            .ok_or_else(|| StoreError::BlobCorrupt("too many chunks".into()))?;
        if last {
            return Ok(());
        }
    }
}

/// Length of the sealed form of `plain_len` bytes.
pub fn sealed_len(plain_len: usize) -> usize {
    HEADER_LEN + plain_len + TAG_LEN * chunk_count(plain_len)
}

fn chunk_count(plain_len: usize) -> usize {
    plain_len.div_ceil(CHUNK_SIZE).max(1)
}

fn header(prefix: &[u8; 7]) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..4].copy_from_slice(MAGIC);
    h[4..8].copy_from_slice(&(CHUNK_SIZE as u32).to_le_bytes());
    h[8..].copy_from_slice(prefix);
    h
}

/// Seals a whole in-memory buffer into blob format in place: the same bytes as
/// [`BlobSealer`] would write, with no second buffer. Each chunk is moved to its place and
/// encrypted while it is still in cache.
pub fn seal_in_place(
    buf: &mut Vec<u8>,
    key: &SecretKey,
    id: &BlobId,
    entropy: &dyn Entropy,
) -> Result<()> {
    let len = buf.len();
    let mut prefix = [0u8; 7];
    entropy.fill(&mut prefix)?;
    let head = header(&prefix);
    let aad = associated_data(&head, id);
    let aead = key.aead()?;
    let n = chunk_count(len);
    buf.resize(sealed_len(len), 0);
    // Last chunk first: a chunk's destination never overlaps a source not yet moved.
    for i in (0..n).rev() {
        let src = i * CHUNK_SIZE;
        let l = CHUNK_SIZE.min(len - src);
        let dst = HEADER_LEN + i * (CHUNK_SIZE + TAG_LEN);
        buf.copy_within(src..src + l, dst);
        let counter =
            u32::try_from(i).map_err(|_| StoreError::Invalid("attachment too large".into()))?;
        let tag = aead
            .seal_in_place_separate_tag(
                nonce(&prefix, counter, i + 1 == n),
                Aad::from(&aad[..]),
                &mut buf[dst..dst + l],
            )
            .map_err(|_| StoreError::Crypto)?;
        buf[dst + l..dst + l + TAG_LEN].copy_from_slice(tag.as_ref());
    }
    buf[..HEADER_LEN].copy_from_slice(&head);
    Ok(())
}

/// Opens a whole sealed buffer in place, leaving only the plaintext in `buf`. On any failure
/// the buffer is wiped and emptied: nothing of a damaged blob is returned.
pub fn open_in_place(buf: &mut Zeroizing<Vec<u8>>, key: &SecretKey, id: &BlobId) -> Result<()> {
    let result = open_in_place_inner(buf, key, id);
    if result.is_err() {
        zeroize::Zeroize::zeroize(&mut **buf);
        buf.clear();
    }
    result
}

fn open_in_place_inner(buf: &mut Vec<u8>, key: &SecretKey, id: &BlobId) -> Result<()> {
    let mut opener = BlobOpener::new(&buf[..], key, id)?;
    if opener.chunk_size != CHUNK_SIZE {
        // Written by a future version with another chunk size: take the streaming path.
        let mut out = Vec::with_capacity(buf.len());
        opener.read_to_end(&mut out).map_err(map_read_error)?;
        *buf = out;
        return Ok(());
    }
    let (prefix, aad, aead) = (opener.prefix, opener.aad, opener.key);
    let total = buf.len();
    let (mut pos, mut plain_end, mut counter) = (HEADER_LEN, 0usize, 0u32);
    loop {
        let clen = (CHUNK_SIZE + TAG_LEN).min(total - pos);
        if clen < TAG_LEN {
            return Err(StoreError::BlobCorrupt(
                "attachment file is truncated".into(),
            ));
        }
        let last = pos + clen == total;
        let l = aead
            .open_in_place(
                nonce(&prefix, counter, last),
                Aad::from(&aad[..]),
                &mut buf[pos..pos + clen],
            )
            .map_err(|_| {
                StoreError::BlobCorrupt("failed authentication (truncated or tampered)".into())
            })?
            .len();
        buf.copy_within(pos..pos + l, plain_end);
        plain_end += l;
        if last {
            buf.truncate(plain_end);
            return Ok(());
        }
        pos += clen;
        counter = counter
            .checked_add(1)
            .ok_or_else(|| StoreError::BlobCorrupt("too many chunks".into()))?;
    }
}

pub(crate) fn map_read_error(e: io::Error) -> StoreError {
    if e.kind() == io::ErrorKind::InvalidData {
        StoreError::BlobCorrupt(e.to_string())
    } else {
        StoreError::Io {
            context: "reading an attachment file",
            source: e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::SystemEntropy;
    use proptest::prelude::*;

    fn seal(plain: &[u8], key: &SecretKey, id: &BlobId) -> Vec<u8> {
        let mut s = BlobSealer::new(Vec::new(), key, id, &SystemEntropy::new()).unwrap();
        s.write_all(plain).unwrap();
        s.finish().unwrap().0
    }

    fn setup() -> (SecretKey, BlobId) {
        (
            SecretKey::random(&SystemEntropy::new()).unwrap(),
            BlobId::from_bytes([7; 16]),
        )
    }

    #[test]
    fn round_trips_at_chunk_boundaries() {
        let (key, id) = setup();
        for len in [
            0,
            1,
            CHUNK_SIZE - 1,
            CHUNK_SIZE,
            CHUNK_SIZE + 1,
            3 * CHUNK_SIZE,
        ] {
            let plain: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let sealed = seal(&plain, &key, &id);
            assert_eq!(
                open_all(&sealed[..], &key, &id, 0).unwrap().as_slice(),
                &plain[..]
            );
        }
    }

    #[test]
    fn in_place_sealing_and_opening_agree_with_the_streams() {
        let (key, id) = setup();
        for len in [
            0,
            1,
            CHUNK_SIZE - 1,
            CHUNK_SIZE,
            CHUNK_SIZE + 1,
            3 * CHUNK_SIZE + 17,
        ] {
            let plain: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
            let mut sealed = plain.clone();
            seal_in_place(&mut sealed, &key, &id, &SystemEntropy::new()).unwrap();
            assert_eq!(sealed.len(), sealed_len(len));
            assert_eq!(
                open_all(&sealed[..], &key, &id, 0).unwrap().as_slice(),
                &plain[..]
            );
            let streamed = seal(&plain, &key, &id);
            let mut opened = Zeroizing::new(streamed);
            open_in_place(&mut opened, &key, &id).unwrap();
            assert_eq!(opened.as_slice(), &plain[..]);
        }
    }

    #[test]
    fn truncation_at_a_chunk_boundary_is_detected() {
        let (key, id) = setup();
        let plain = vec![1u8; 3 * CHUNK_SIZE + 10];
        let sealed = seal(&plain, &key, &id);
        let cut = HEADER_LEN + 2 * (CHUNK_SIZE + TAG_LEN);
        assert!(matches!(
            open_all(&sealed[..cut], &key, &id, 0),
            Err(StoreError::BlobCorrupt(_))
        ));
    }

    #[test]
    fn a_blob_moved_to_another_id_or_opened_with_another_key_fails() {
        let (key, id) = setup();
        let sealed = seal(b"pixels", &key, &id);
        let other = BlobId::from_bytes([8; 16]);
        assert!(open_all(&sealed[..], &key, &other, 0).is_err());
        let (key2, _) = setup();
        assert!(open_all(&sealed[..], &key2, &id, 0).is_err());
    }

    #[test]
    fn swapped_chunks_are_detected() {
        let (key, id) = setup();
        let plain: Vec<u8> = (0..2 * CHUNK_SIZE + 5).map(|i| i as u8).collect();
        let mut sealed = seal(&plain, &key, &id);
        let c = CHUNK_SIZE + TAG_LEN;
        let (a, b) = sealed[HEADER_LEN..HEADER_LEN + 2 * c].split_at_mut(c);
        a.swap_with_slice(b);
        assert!(open_all(&sealed[..], &key, &id, 0).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_single_byte_flip_is_detected(len in 0usize..200_000, at in any::<prop::sample::Index>(), bit in 0u8..8) {
            let (key, id) = setup();
            let plain = vec![0x5au8; len];
            let mut sealed = seal(&plain, &key, &id);
            let i = at.index(sealed.len());
            sealed[i] ^= 1 << bit;
            prop_assert!(open_all(&sealed[..], &key, &id, 0).is_err());
        }

        #[test]
        fn any_truncation_is_detected(len in 1usize..200_000, at in any::<prop::sample::Index>()) {
            let (key, id) = setup();
            let sealed = seal(&vec![3u8; len], &key, &id);
            let cut = at.index(sealed.len());
            prop_assert!(open_all(&sealed[..cut], &key, &id, 0).is_err());
            let mut in_place = Zeroizing::new(sealed[..cut].to_vec());
            prop_assert!(open_in_place(&mut in_place, &key, &id).is_err());
            prop_assert!(in_place.is_empty());
        }

        #[test]
        fn any_flip_is_detected_in_place(len in 0usize..200_000, at in any::<prop::sample::Index>()) {
            let (key, id) = setup();
            let mut sealed = vec![9u8; len];
            seal_in_place(&mut sealed, &key, &id, &SystemEntropy::new()).unwrap();
            let i = at.index(sealed.len());
            sealed[i] ^= 0x80;
            prop_assert!(open_in_place(&mut Zeroizing::new(sealed), &key, &id).is_err());
        }
    }
}
