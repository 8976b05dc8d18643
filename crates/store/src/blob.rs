//! Encrypted blob files: AES-256-GCM in 64 KiB chunks (the STREAM construction of Hoang,
//! Reyhanitabar, Rogaway and Vizár), so a file of any size is written and read with bounded
//! memory, and truncation, reordering, splicing or tampering is detected.
//!
//! Layout (format 2):
//!
//! ```text
//! ciphertext of chunk 0 | … | ciphertext of chunk n-1      (exactly the plaintext length)
//! tag 0 | … | tag n-1                                       (16 bytes each)
//! trailer: "CSB2" | chunk size u32 LE | plaintext length u64 LE | nonce prefix (7 bytes)
//! ```
//!
//! Chunk `i` uses nonce `prefix | i (u32 BE) | last-flag`, and authenticates the magic, the chunk
//! size, the nonce prefix and the blob id, so a file cut short, a chunk moved, or a file renamed
//! to another id fails to open. Keeping ciphertext where the plaintext was (tags and trailer
//! after it) lets a whole buffer be sealed and opened in place, with no data moved.

use std::io::{self, Read, Seek, SeekFrom, Write};

use consilium_model::BlobId;
use ring::aead::{Aad, LessSafeKey, Nonce, Tag};
use zeroize::Zeroizing;

use crate::entropy::Entropy;
use crate::error::{Result, StoreError};
use crate::keys::SecretKey;

pub const CHUNK_SIZE: usize = 64 * 1024;
const TAG_LEN: usize = 16;
const MAGIC: &[u8; 4] = b"CSB2";
const TRAILER_LEN: usize = 4 + 4 + 8 + 7;
const MAX_CHUNK_SIZE: usize = 1024 * 1024;

fn nonce(prefix: &[u8; 7], counter: u64, last: bool) -> Result<Nonce> {
    let counter =
        u32::try_from(counter).map_err(|_| StoreError::Invalid("attachment too large".into()))?;
    let mut n = [0u8; 12];
    n[..7].copy_from_slice(prefix);
    n[7..11].copy_from_slice(&counter.to_be_bytes());
    n[11] = u8::from(last);
    Ok(Nonce::assume_unique_for_key(n))
}

fn associated_data(chunk_size: u32, prefix: &[u8; 7], id: &BlobId) -> Vec<u8> {
    let mut aad = Vec::with_capacity(4 + 4 + 7 + 16);
    aad.extend_from_slice(MAGIC);
    aad.extend_from_slice(&chunk_size.to_le_bytes());
    aad.extend_from_slice(prefix);
    aad.extend_from_slice(id.as_bytes());
    aad
}

fn trailer(chunk_size: u32, plain_len: u64, prefix: &[u8; 7]) -> [u8; TRAILER_LEN] {
    let mut t = [0u8; TRAILER_LEN];
    t[..4].copy_from_slice(MAGIC);
    t[4..8].copy_from_slice(&chunk_size.to_le_bytes());
    t[8..16].copy_from_slice(&plain_len.to_le_bytes());
    t[16..].copy_from_slice(prefix);
    t
}

fn chunk_count(plain_len: u64, chunk_size: u64) -> u64 {
    plain_len.div_ceil(chunk_size).max(1)
}

/// Length of the sealed form of `plain_len` bytes.
pub fn sealed_len(plain_len: usize) -> usize {
    plain_len + TAG_LEN * chunk_count(plain_len as u64, CHUNK_SIZE as u64) as usize + TRAILER_LEN
}

fn corrupt(what: &str) -> StoreError {
    StoreError::BlobCorrupt(what.to_string())
}

/// What the trailer says, checked against the file's real length.
#[derive(Debug)]
struct Layout {
    chunk_size: usize,
    plain_len: u64,
    chunks: u64,
    prefix: [u8; 7],
}

impl Layout {
    fn parse(trailer: &[u8], total_len: u64) -> Result<Layout> {
        if trailer.len() != TRAILER_LEN || &trailer[..4] != MAGIC {
            return Err(corrupt("not a Consilium blob, or cut short"));
        }
        let mut cs = [0u8; 4];
        cs.copy_from_slice(&trailer[4..8]);
        let chunk_size = u32::from_le_bytes(cs) as usize;
        let mut pl = [0u8; 8];
        pl.copy_from_slice(&trailer[8..16]);
        let plain_len = u64::from_le_bytes(pl);
        if chunk_size == 0 || chunk_size > MAX_CHUNK_SIZE {
            return Err(corrupt("bad chunk size"));
        }
        let chunks = chunk_count(plain_len, chunk_size as u64);
        let expected = chunks
            .checked_mul(TAG_LEN as u64)
            .and_then(|t| t.checked_add(plain_len))
            .and_then(|t| t.checked_add(TRAILER_LEN as u64));
        if expected != Some(total_len) {
            return Err(corrupt("length does not match (truncated or extended)"));
        }
        let mut prefix = [0u8; 7];
        prefix.copy_from_slice(&trailer[16..]);
        Ok(Layout {
            chunk_size,
            plain_len,
            chunks,
            prefix,
        })
    }

    fn chunk_range(&self, i: u64) -> (usize, usize) {
        let start = i * self.chunk_size as u64;
        let end = (start + self.chunk_size as u64).min(self.plain_len);
        (start as usize, end as usize)
    }
}

/// Seals a whole in-memory buffer into blob format in place: each chunk is encrypted where it
/// lies, then the tags and the trailer are appended. No data is moved or copied.
pub fn seal_in_place(
    buf: &mut Vec<u8>,
    key: &SecretKey,
    id: &BlobId,
    entropy: &dyn Entropy,
) -> Result<()> {
    let plain_len = buf.len() as u64;
    let mut prefix = [0u8; 7];
    entropy.fill(&mut prefix)?;
    let aad = associated_data(CHUNK_SIZE as u32, &prefix, id);
    let aead = key.aead()?;
    let layout = Layout {
        chunk_size: CHUNK_SIZE,
        plain_len,
        chunks: chunk_count(plain_len, CHUNK_SIZE as u64),
        prefix,
    };
    let mut tags = Vec::with_capacity(layout.chunks as usize * TAG_LEN + TRAILER_LEN);
    for i in 0..layout.chunks {
        let (start, end) = layout.chunk_range(i);
        let tag = aead
            .seal_in_place_separate_tag(
                nonce(&prefix, i, i + 1 == layout.chunks)?,
                Aad::from(&aad[..]),
                &mut buf[start..end],
            )
            .map_err(|_| StoreError::Crypto)?;
        tags.extend_from_slice(tag.as_ref());
    }
    tags.extend_from_slice(&trailer(CHUNK_SIZE as u32, plain_len, &prefix));
    buf.extend_from_slice(&tags);
    Ok(())
}

/// Opens a whole sealed buffer in place, leaving only the plaintext in `buf`. On any failure
/// the buffer is wiped and emptied: nothing of a damaged blob is returned.
pub fn open_in_place(buf: &mut Zeroizing<Vec<u8>>, key: &SecretKey, id: &BlobId) -> Result<()> {
    match open_in_place_inner(buf, key, id) {
        Ok(plain_len) => {
            finish_open(buf, plain_len);
            Ok(())
        }
        Err(e) => {
            zeroize::Zeroize::zeroize(&mut **buf);
            buf.clear();
            Err(e)
        }
    }
}

fn open_in_place_inner(buf: &mut [u8], key: &SecretKey, id: &BlobId) -> Result<usize> {
    let total = buf.len();
    let trailer_at = total
        .checked_sub(TRAILER_LEN)
        .ok_or_else(|| corrupt("file too short"))?;
    let layout = Layout::parse(&buf[trailer_at..], total as u64)?;
    let aad = associated_data(layout.chunk_size as u32, &layout.prefix, id);
    let aead = key.aead()?;
    let (data, tags) = buf.split_at_mut(layout.plain_len as usize);
    for i in 0..layout.chunks {
        let (start, end) = layout.chunk_range(i);
        let t = i as usize * TAG_LEN;
        let tag = Tag::try_from(&tags[t..t + TAG_LEN]).map_err(|_| StoreError::Crypto)?;
        aead.open_in_place_separate_tag(
            nonce(&layout.prefix, i, i + 1 == layout.chunks)?,
            Aad::from(&aad[..]),
            tag,
            &mut data[start..end],
            0..,
        )
        .map_err(|_| corrupt("failed authentication (truncated or tampered)"))?;
    }
    Ok(layout.plain_len as usize)
}

/// Trims what [`open_in_place`] verified down to the plaintext.
fn finish_open(buf: &mut Zeroizing<Vec<u8>>, plain_len: usize) {
    buf[plain_len..].fill(0);
    buf.truncate(plain_len);
}

/// Reads and verifies a whole blob from a file or buffer; nothing is returned unless every chunk
/// verified.
pub fn open_all<R: Read>(
    mut inner: R,
    key: &SecretKey,
    id: &BlobId,
    size_hint: usize,
) -> Result<Zeroizing<Vec<u8>>> {
    let mut buf = Zeroizing::new(Vec::with_capacity(sealed_len(size_hint.min(1 << 30))));
    inner
        .read_to_end(&mut buf)
        .map_err(StoreError::io("reading an attachment file"))?;
    open_in_place(&mut buf, key, id)?;
    Ok(buf)
}

/// Encrypts a stream of unknown length into blob format with bounded memory (one chunk plus the
/// tag list). Write the plaintext, then call [`BlobSealer::finish`]; a sealer dropped without
/// `finish` leaves a file without its trailer, which never opens.
pub struct BlobSealer<W: Write> {
    out: W,
    key: LessSafeKey,
    prefix: [u8; 7],
    aad: Vec<u8>,
    counter: u64,
    buf: Zeroizing<Vec<u8>>,
    tags: Vec<u8>,
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
    pub fn new(out: W, key: &SecretKey, id: &BlobId, entropy: &dyn Entropy) -> Result<Self> {
        let mut prefix = [0u8; 7];
        entropy.fill(&mut prefix)?;
        Ok(BlobSealer {
            out,
            key: key.aead()?,
            prefix,
            aad: associated_data(CHUNK_SIZE as u32, &prefix, id),
            counter: 0,
            buf: Zeroizing::new(Vec::with_capacity(CHUNK_SIZE)),
            tags: Vec::new(),
            plain_len: 0,
        })
    }

    fn seal_buffered(&mut self, last: bool) -> io::Result<()> {
        let n =
            nonce(&self.prefix, self.counter, last).map_err(|e| io::Error::other(e.to_string()))?;
        let tag = self
            .key
            .seal_in_place_separate_tag(n, Aad::from(&self.aad[..]), &mut self.buf)
            .map_err(|_| io::Error::other("encryption failed"))?;
        self.out.write_all(&self.buf)?;
        self.tags.extend_from_slice(tag.as_ref());
        self.buf.clear();
        self.counter += 1;
        Ok(())
    }

    /// Seals the final chunk, writes the tags and the trailer, and returns the writer and the
    /// plaintext length.
    pub fn finish(mut self) -> Result<(W, u64)> {
        self.seal_buffered(true)
            .map_err(StoreError::io("writing an attachment file"))?;
        let t = trailer(CHUNK_SIZE as u32, self.plain_len, &self.prefix);
        self.out
            .write_all(&self.tags)
            .and_then(|_| self.out.write_all(&t))
            .and_then(|_| self.out.flush())
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

/// Decrypts a blob file as a stream with bounded memory (one chunk plus the tag list), one
/// verified chunk at a time. Any damage is an error of kind `InvalidData`. Bytes already returned
/// came from chunks that verified, but a caller that must not act on a partial blob should use
/// [`open_all`] or discard its output on error.
pub struct BlobOpener<R: Read + Seek> {
    inner: R,
    key: LessSafeKey,
    layout: Layout,
    aad: Vec<u8>,
    tags: Vec<u8>,
    counter: u64,
    plain: Zeroizing<Vec<u8>>,
    pos: usize,
}

impl<R: Read + Seek> std::fmt::Debug for BlobOpener<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobOpener")
            .field("counter", &self.counter)
            .finish_non_exhaustive()
    }
}

fn damaged(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

impl<R: Read + Seek> BlobOpener<R> {
    pub fn new(mut inner: R, key: &SecretKey, id: &BlobId) -> Result<Self> {
        fn io(e: io::Error) -> StoreError {
            StoreError::Io {
                context: "reading an attachment file",
                source: e,
            }
        }
        let total = inner.seek(SeekFrom::End(0)).map_err(io)?;
        if total < TRAILER_LEN as u64 {
            return Err(corrupt("file too short"));
        }
        inner
            .seek(SeekFrom::Start(total - TRAILER_LEN as u64))
            .map_err(io)?;
        let mut t = [0u8; TRAILER_LEN];
        inner.read_exact(&mut t).map_err(io)?;
        let layout = Layout::parse(&t, total)?;
        let mut tags = vec![0u8; layout.chunks as usize * TAG_LEN];
        inner.seek(SeekFrom::Start(layout.plain_len)).map_err(io)?;
        inner.read_exact(&mut tags).map_err(io)?;
        inner.seek(SeekFrom::Start(0)).map_err(io)?;
        Ok(BlobOpener {
            aad: associated_data(layout.chunk_size as u32, &layout.prefix, id),
            key: key.aead()?,
            plain: Zeroizing::new(Vec::with_capacity(layout.chunk_size)),
            inner,
            layout,
            tags,
            counter: 0,
            pos: 0,
        })
    }

    fn next_chunk(&mut self) -> io::Result<()> {
        let i = self.counter;
        let (start, end) = self.layout.chunk_range(i);
        self.plain.resize(end - start, 0);
        self.pos = 0;
        self.inner.read_exact(&mut self.plain)?;
        let t = i as usize * TAG_LEN;
        let tag = Tag::try_from(&self.tags[t..t + TAG_LEN]).map_err(|_| damaged("bad tag"))?;
        let last = i + 1 == self.layout.chunks;
        let n = nonce(&self.layout.prefix, i, last).map_err(|e| damaged(&e.to_string()))?;
        self.key
            .open_in_place_separate_tag(n, Aad::from(&self.aad[..]), tag, &mut self.plain, 0..)
            .map_err(|_| {
                damaged("attachment file failed authentication (truncated or tampered)")
            })?;
        self.counter += 1;
        Ok(())
    }
}

impl<R: Read + Seek> Read for BlobOpener<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.plain.len() {
            if self.counter == self.layout.chunks {
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
    use std::io::Cursor;

    fn seal_streaming(plain: &[u8], key: &SecretKey, id: &BlobId) -> Vec<u8> {
        let mut s = BlobSealer::new(Vec::new(), key, id, &SystemEntropy::new()).unwrap();
        s.write_all(plain).unwrap();
        s.finish().unwrap().0
    }

    fn seal_whole(plain: &[u8], key: &SecretKey, id: &BlobId) -> Vec<u8> {
        let mut v = plain.to_vec();
        seal_in_place(&mut v, key, id, &SystemEntropy::new()).unwrap();
        v
    }

    fn open_streaming(sealed: &[u8], key: &SecretKey, id: &BlobId) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        BlobOpener::new(Cursor::new(sealed), key, id)?
            .read_to_end(&mut out)
            .map_err(map_read_error)?;
        Ok(out)
    }

    fn setup() -> (SecretKey, BlobId) {
        (
            SecretKey::random(&SystemEntropy::new()).unwrap(),
            BlobId::from_bytes([7; 16]),
        )
    }

    #[test]
    fn both_writers_and_both_readers_agree_at_chunk_boundaries() {
        let (key, id) = setup();
        for len in [
            0,
            1,
            CHUNK_SIZE - 1,
            CHUNK_SIZE,
            CHUNK_SIZE + 1,
            3 * CHUNK_SIZE,
            3 * CHUNK_SIZE + 17,
        ] {
            let plain: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            for sealed in [
                seal_streaming(&plain, &key, &id),
                seal_whole(&plain, &key, &id),
            ] {
                assert_eq!(sealed.len(), sealed_len(len));
                assert_eq!(
                    open_all(&sealed[..], &key, &id, len).unwrap().as_slice(),
                    &plain[..]
                );
                assert_eq!(open_streaming(&sealed, &key, &id).unwrap(), plain);
            }
        }
    }

    #[test]
    fn the_ciphertext_does_not_contain_the_plaintext() {
        let (key, id) = setup();
        let plain = b"PATIENT-NAME-MARKER ".repeat(5000);
        let sealed = seal_whole(&plain, &key, &id);
        assert!(!sealed.windows(19).any(|w| w == b"PATIENT-NAME-MARKER"));
    }

    #[test]
    fn truncation_at_a_chunk_boundary_with_a_forged_trailer_is_detected() {
        let (key, id) = setup();
        let plain = vec![1u8; 3 * CHUNK_SIZE];
        let sealed = seal_whole(&plain, &key, &id);
        // Keep two chunks and their tags, and write a trailer that claims two chunks.
        let mut forged = sealed[..2 * CHUNK_SIZE].to_vec();
        let tags_at = 3 * CHUNK_SIZE;
        forged.extend_from_slice(&sealed[tags_at..tags_at + 2 * TAG_LEN]);
        let mut t = sealed[sealed.len() - TRAILER_LEN..].to_vec();
        t[8..16].copy_from_slice(&((2 * CHUNK_SIZE) as u64).to_le_bytes());
        forged.extend_from_slice(&t);
        assert!(matches!(
            open_all(&forged[..], &key, &id, 0),
            Err(StoreError::BlobCorrupt(_))
        ));
        assert!(open_streaming(&forged, &key, &id).is_err());
    }

    #[test]
    fn a_blob_moved_to_another_id_or_opened_with_another_key_fails() {
        let (key, id) = setup();
        let sealed = seal_whole(b"pixels", &key, &id);
        assert!(open_all(&sealed[..], &key, &BlobId::from_bytes([8; 16]), 0).is_err());
        let (key2, _) = setup();
        assert!(open_all(&sealed[..], &key2, &id, 0).is_err());
    }

    #[test]
    fn swapped_chunks_and_appended_bytes_are_detected() {
        let (key, id) = setup();
        let plain: Vec<u8> = (0..2 * CHUNK_SIZE).map(|i| i as u8).collect();
        let mut sealed = seal_whole(&plain, &key, &id);
        let (a, b) = sealed[..2 * CHUNK_SIZE].split_at_mut(CHUNK_SIZE);
        a.swap_with_slice(b);
        assert!(open_all(&sealed[..], &key, &id, 0).is_err());
        let mut extended = seal_whole(&plain, &key, &id);
        extended.push(0);
        assert!(open_all(&extended[..], &key, &id, 0).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_single_bit_flip_is_detected(len in 0usize..200_000, at in any::<prop::sample::Index>(), bit in 0u8..8, whole in any::<bool>()) {
            let (key, id) = setup();
            let plain = vec![0x5au8; len];
            let mut sealed = if whole { seal_whole(&plain, &key, &id) } else { seal_streaming(&plain, &key, &id) };
            let i = at.index(sealed.len());
            sealed[i] ^= 1 << bit;
            prop_assert!(open_streaming(&sealed, &key, &id).is_err());
            let mut buf = Zeroizing::new(sealed);
            prop_assert!(open_in_place(&mut buf, &key, &id).is_err());
            prop_assert!(buf.is_empty(), "nothing of a damaged blob is returned");
        }

        #[test]
        fn any_truncation_is_detected(len in 1usize..200_000, at in any::<prop::sample::Index>()) {
            let (key, id) = setup();
            let sealed = seal_whole(&vec![3u8; len], &key, &id);
            let cut = at.index(sealed.len());
            prop_assert!(open_all(&sealed[..cut], &key, &id, 0).is_err());
            prop_assert!(open_streaming(&sealed[..cut], &key, &id).is_err());
        }
    }
}
