//! Attachments for a circle: each rendition padded to a size bucket (so the relay learns little
//! from sizes) and encrypted with AES-256-GCM under a fresh key that travels only inside the MLS
//! message. The relay names the result by its SHA-256; the receiver checks that digest before
//! decrypting and the plaintext's digest after.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use zeroize::Zeroizing;

/// Why an encrypted rendition was not made or not accepted; each is decided where it happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BlobCryptoError {
    #[error("the downloaded attachment does not match its digest")]
    CipherDigest,
    #[error("the attachment does not decrypt with its key")]
    Decrypt,
    #[error("the attachment's padding is malformed")]
    Padding,
    #[error("the decrypted attachment does not match its digest")]
    PlainDigest,
    #[error("an attachment could not be encrypted")]
    Encrypt,
}

impl BlobCryptoError {
    /// Whether the bytes came wrong from outside (the relay or the sender), rather than our own
    /// encryption failing.
    pub fn is_tampering(self) -> bool {
        !matches!(self, BlobCryptoError::Encrypt)
    }
}

const AAD: &[u8] = b"consilium-attachment-v1";
/// Smallest bucket: 16 KiB.
const MIN_BUCKET: usize = 16 * 1024;

/// The padded size for `len` bytes: at least 16 KiB, then the next size of the form m·2^k with
/// 8 ≤ m < 16 (at most 12.5 % larger than the input).
pub fn bucket(len: usize) -> usize {
    if len <= MIN_BUCKET {
        return MIN_BUCKET;
    }
    let shift = (usize::BITS - len.leading_zeros()).saturating_sub(4);
    let step = 1usize << shift;
    len.div_ceil(step) * step
}

/// The AES-256-GCM key (ring refuses only a key of another length, which the type rules out).
fn key(raw: &[u8; 32]) -> Option<LessSafeKey> {
    UnboundKey::new(&AES_256_GCM, raw)
        .ok()
        .map(LessSafeKey::new)
}

/// Pads and encrypts `plain`.
pub fn seal(
    plain: &[u8],
    raw_key: &[u8; 32],
    nonce: &[u8; 12],
) -> Result<Vec<u8>, BlobCryptoError> {
    let mut buf = Vec::with_capacity(bucket(plain.len()) + AES_256_GCM.tag_len());
    buf.extend_from_slice(plain);
    buf.resize(bucket(plain.len()), 0);
    key(raw_key)
        .ok_or(BlobCryptoError::Encrypt)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(*nonce),
            Aad::from(AAD),
            &mut buf,
        )
        .map_err(|_| BlobCryptoError::Encrypt)?;
    Ok(buf)
}

/// What the sender's message says of one encrypted rendition.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    pub blob_sha256: &'a [u8],
    pub plain_sha256: &'a [u8],
    pub size: u64,
}

/// Checks, decrypts and unpads a downloaded rendition, in place (a rendition may be tens of
/// MiB: it is held once). Any mismatch is an error naming it.
pub fn open(
    cipher: Vec<u8>,
    raw_key: &[u8; 32],
    nonce: &[u8; 12],
    expected: Expected<'_>,
) -> Result<Zeroizing<Vec<u8>>, BlobCryptoError> {
    let mut buf = Zeroizing::new(cipher);
    if ring::digest::digest(&ring::digest::SHA256, &buf).as_ref() != expected.blob_sha256 {
        return Err(BlobCryptoError::CipherDigest);
    }
    let plain_len = key(raw_key)
        .ok_or(BlobCryptoError::Decrypt)?
        .open_in_place(
            Nonce::assume_unique_for_key(*nonce),
            Aad::from(AAD),
            &mut buf,
        )
        .map_err(|_| BlobCryptoError::Decrypt)?
        .len();
    let size = usize::try_from(expected.size).map_err(|_| BlobCryptoError::Padding)?;
    if size > plain_len || buf[size..plain_len].iter().any(|&b| b != 0) {
        return Err(BlobCryptoError::Padding);
    }
    buf.truncate(size);
    if ring::digest::digest(&ring::digest::SHA256, &buf).as_ref() != expected.plain_sha256 {
        return Err(BlobCryptoError::PlainDigest);
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(b: &[u8]) -> Vec<u8> {
        ring::digest::digest(&ring::digest::SHA256, b)
            .as_ref()
            .to_vec()
    }

    #[test]
    fn buckets_hide_the_size_within_an_eighth() {
        assert_eq!(bucket(0), MIN_BUCKET);
        assert_eq!(bucket(MIN_BUCKET), MIN_BUCKET);
        for len in [16_385, 100_000, 1_234_567, 4_000_000, 12_345_678] {
            let b = bucket(len);
            assert!(b >= len && (b - len) * 8 <= len, "{len} → {b}");
        }
        // Sizes close together share a bucket.
        assert_eq!(bucket(3_000_001), bucket(3_100_000));
    }

    #[test]
    fn a_rendition_round_trips_and_any_flipped_byte_is_caught() {
        let plain: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
        let (k, n) = ([7u8; 32], [9u8; 12]);
        let cipher = seal(&plain, &k, &n).unwrap();
        assert_eq!(cipher.len(), bucket(plain.len()) + 16);
        let (blob, pt) = (sha(&cipher), sha(&plain));
        let expected = Expected {
            blob_sha256: &blob,
            plain_sha256: &pt,
            size: plain.len() as u64,
        };
        assert_eq!(
            &open(cipher.clone(), &k, &n, expected).unwrap()[..],
            &plain[..]
        );
        let mut flipped = cipher.clone();
        flipped[100] ^= 1;
        assert!(
            open(flipped.clone(), &k, &n, expected).unwrap_err() == BlobCryptoError::CipherDigest
        );
        // A relay that recomputes the digest still cannot forge the contents.
        let forged = sha(&flipped);
        let e = Expected {
            blob_sha256: &forged,
            ..expected
        };
        assert_eq!(
            open(flipped.clone(), &k, &n, e).unwrap_err(),
            BlobCryptoError::Decrypt
        );
        assert!(open(cipher.clone(), &[8; 32], &n, expected).is_err());
        let wrong_size = Expected {
            size: plain.len() as u64 + 1,
            ..expected
        };
        assert!(open(cipher.clone(), &k, &n, wrong_size).is_err());
    }
}
