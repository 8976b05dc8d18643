//! The backup's files and how each is sealed.
//!
//! ```text
//! <dir>/consilium-backup.json   format, backup id, the backup key wrapped under the recovery code
//! <dir>/manifest                sealed: schema, sequence, date, every object and blob with size and SHA-256
//! <dir>/objects/<name>          sealed: the profile's rows, or one case's rows (CBOR)
//! <dir>/blobs/<id>              a rendition's file exactly as the vault keeps it (already sealed)
//! ```
//!
//! The backup key is random; the recovery code (160 bits) unwraps it through HKDF-SHA256 and
//! AES-256-GCM. From the backup key come, through HKDF, the key that seals objects and the
//! manifest (AES-256-GCM, a random nonce before the ciphertext, the backup id, the kind and the
//! name bound in as associated data, so no file can stand in for another) and the key that names
//! objects (HMAC-SHA256 of the plaintext, so an unchanged case keeps its name and is not written
//! again, and names reveal nothing without the key). The manifest names every file with its
//! size and digest: a missing, truncated or altered file is found before anything is restored.

use std::io::{Read, Write};
use std::path::Path;

use ring::digest::{Context, SHA256};

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::{hkdf, hmac};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::code::RecoveryCode;
use super::tables::{TableRows, damaged};
use crate::durable::{create_private, write_atomically};
use crate::entropy::Entropy;
use crate::error::{Result, StoreError};
use crate::keys::SecretKey;

pub(crate) const HEADER_FILE: &str = "consilium-backup.json";
pub(crate) const MANIFEST_FILE: &str = "manifest";
pub(crate) const OBJECT_DIR: &str = "objects";
pub(crate) const BLOB_DIR: &str = "blobs";
const FORMAT: u32 = 1;
/// Largest header, manifest or object read back; a bigger file is damaged, not read.
pub(crate) const MAX_HEADER: u64 = 64 * 1024;
pub(crate) const MAX_SEALED: u64 = 256 * 1024 * 1024;

/// The one plaintext file: which backup this is and its key, wrapped.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Header {
    format: u32,
    pub backup_id: String,
    salt: String,
    nonce: String,
    wrapped: String,
    /// SHA-256 of the fields above, so a damaged header is told apart from a wrong code.
    check: String,
}

fn recovery_key(code: &RecoveryCode, salt: &[u8]) -> Result<LessSafeKey> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(code.bytes());
    let okm = prk
        .expand(&[b"consilium backup recovery v1"], &AES_256_GCM)
        .map_err(|_| StoreError::Crypto)?;
    Ok(LessSafeKey::new(UnboundKey::from(okm)))
}

fn wrap_aad(backup_id: &str) -> String {
    format!("consilium-backup-key|{FORMAT}|{backup_id}")
}

impl Header {
    pub(crate) fn seal(
        key: &SecretKey,
        code: &RecoveryCode,
        backup_id: &[u8; 16],
        entropy: &dyn Entropy,
    ) -> Result<Header> {
        let mut salt = [0u8; 16];
        entropy.fill(&mut salt)?;
        let mut nonce = [0u8; NONCE_LEN];
        entropy.fill(&mut nonce)?;
        let backup_id = hex::encode(backup_id);
        let mut buf = key.expose().to_vec();
        recovery_key(code, &salt)?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(wrap_aad(&backup_id).as_bytes()),
                &mut buf,
            )
            .map_err(|_| StoreError::Crypto)?;
        let mut header = Header {
            format: FORMAT,
            backup_id,
            salt: hex::encode(salt),
            nonce: hex::encode(nonce),
            wrapped: hex::encode(buf),
            check: String::new(),
        };
        header.check = header.digest();
        Ok(header)
    }

    fn digest(&self) -> String {
        let fields = format!(
            "{}|{}|{}|{}|{}",
            self.format, self.backup_id, self.salt, self.nonce, self.wrapped
        );
        hex::encode(ring::digest::digest(&SHA256, fields.as_bytes()))
    }

    /// The backup key; a wrong code fails here.
    pub(crate) fn open(&self, code: &RecoveryCode) -> Result<SecretKey> {
        let bad = |what: &str| damaged(format!("its header ({what})"));
        if self.format != FORMAT {
            return Err(bad("an unknown format"));
        }
        if self.check != self.digest() {
            return Err(bad("altered"));
        }
        let salt = hex::decode(&self.salt).map_err(|_| bad("salt"))?;
        let nonce: [u8; NONCE_LEN] = hex::decode(&self.nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or_else(|| bad("nonce"))?;
        let mut buf = Zeroizing::new(hex::decode(&self.wrapped).map_err(|_| bad("key"))?);
        if buf.len() != 48 {
            return Err(bad("key length"));
        }
        let plain = recovery_key(code, &salt)?
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(wrap_aad(&self.backup_id).as_bytes()),
                &mut buf,
            )
            .map_err(|_| StoreError::WrongRecoveryCode)?;
        SecretKey::from_slice(plain).ok_or(StoreError::Crypto)
    }

    pub(crate) fn read(dir: &Path) -> Result<Option<Header>> {
        let path = dir.join(HEADER_FILE);
        let bytes = match read_bounded(&path, MAX_HEADER) {
            Ok(b) => b,
            Err(StoreError::BackupDamaged(_)) if !path.exists() => return Ok(None),
            Err(e) => return Err(e),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|_| damaged("its header".into()))
    }

    pub(crate) fn write(&self, dir: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(|_| StoreError::Crypto)?;
        write_atomically(&dir.join(HEADER_FILE), &json)
    }
}

/// Reads a whole file of at most `limit` bytes; a missing or larger one is damage. The read
/// itself stops past the limit, so a file that grows after its size was looked at costs no more.
pub(crate) fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>> {
    use std::io::Read as _;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let name = name.unwrap_or_default();
    let file = std::fs::File::open(path).map_err(|_| damaged(format!("{name} is missing")))?;
    let len = file
        .metadata()
        .map_err(|_| damaged(format!("{name} cannot be read")))?
        .len();
    if len > limit {
        return Err(damaged(format!("{name} is larger than it can be")));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|_| damaged(format!("{name} cannot be read")))?;
    if bytes.len() as u64 > limit {
        return Err(damaged(format!("{name} is larger than it can be")));
    }
    Ok(bytes)
}

/// The keys derived from a backup's key.
pub(crate) struct Keys {
    backup_id: String,
    sealing: LessSafeKey,
    naming: hmac::Key,
}

impl Keys {
    pub(crate) fn new(key: &SecretKey, backup_id: &str) -> Result<Keys> {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, backup_id.as_bytes()).extract(key.expose());
        let sealing = prk
            .expand(&[b"consilium backup sealing v1"], &AES_256_GCM)
            .map_err(|_| StoreError::Crypto)?;
        let naming = prk
            .expand(&[b"consilium backup naming v1"], hmac::HMAC_SHA256)
            .map_err(|_| StoreError::Crypto)?;
        Ok(Keys {
            backup_id: backup_id.to_string(),
            sealing: LessSafeKey::new(UnboundKey::from(sealing)),
            naming: hmac::Key::from(naming),
        })
    }

    /// An object's name: the first 128 bits of its plaintext's HMAC, in hex.
    pub(crate) fn name_of(&self, plain: &[u8]) -> String {
        hex::encode(&hmac::sign(&self.naming, plain).as_ref()[..16])
    }

    fn aad(&self, name: &str) -> String {
        format!("consilium-backup|{FORMAT}|{}|{name}", self.backup_id)
    }

    pub(crate) fn seal(&self, name: &str, plain: &[u8], entropy: &dyn Entropy) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        entropy.fill(&mut nonce)?;
        let mut out = Vec::with_capacity(NONCE_LEN + plain.len() + 16);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plain);
        let tag = self
            .sealing
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(self.aad(name).as_bytes()),
                &mut out[NONCE_LEN..],
            )
            .map_err(|_| StoreError::Crypto)?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    pub(crate) fn open(&self, name: &str, sealed: Vec<u8>) -> Result<Zeroizing<Vec<u8>>> {
        let mut buf = Zeroizing::new(sealed);
        if buf.len() < NONCE_LEN + 16 {
            return Err(damaged(format!("{name} is truncated")));
        }
        let nonce: [u8; NONCE_LEN] = buf[..NONCE_LEN]
            .try_into()
            .map_err(|_| StoreError::Crypto)?;
        let len = self
            .sealing
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(self.aad(name).as_bytes()),
                &mut buf[NONCE_LEN..],
            )
            .map_err(|_| damaged(format!("{name} was altered")))?
            .len();
        buf.copy_within(NONCE_LEN..NONCE_LEN + len, 0);
        buf.truncate(len);
        Ok(buf)
    }
}

/// Whether `name` is one a backup gives its files: 32 lower-case hex digits (an object's HMAC,
/// a blob's id). Anything else (a path, `..`) is never joined to a folder.
pub(crate) fn is_file_name(name: &str) -> bool {
    name.len() == 32
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// One file of the backup, as the manifest names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub name: String,
    pub size: u64,
    #[serde(with = "serde_bytes")]
    pub sha256: Vec<u8>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub schema: i64,
    pub sequence: u64,
    pub made_at: i64,
    pub profile: Entry,
    pub cases: Vec<Entry>,
    pub blobs: Vec<Entry>,
}

/// What an object holds: the profile's rows and what the caller keeps beside the vault (its
/// settings), or one case's rows.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Object {
    pub tables: Vec<TableRows>,
    #[serde(with = "serde_bytes")]
    pub extras: Vec<u8>,
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Zeroizing<Vec<u8>>> {
    let mut out = Zeroizing::new(Vec::new());
    ciborium::into_writer(value, &mut *out).map_err(|_| StoreError::Crypto)?;
    Ok(out)
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    ciborium::de::from_reader_with_recursion_limit(bytes, 16)
        .map_err(|_| damaged(format!("{what} does not decode")))
}

/// Writes `from` to a partial file beside `path`, flushes it and renames it into place;
/// returns its size and SHA-256.
pub(crate) fn write_new(path: &Path, from: &mut dyn Read) -> Result<(u64, Vec<u8>)> {
    let partial = path.with_extension("partial");
    let mut write = || -> std::io::Result<(u64, Vec<u8>)> {
        let mut out = create_private(&partial)?;
        let mut digest = Context::new(&SHA256);
        let mut buf = vec![0u8; 1 << 16];
        let mut size = 0u64;
        loop {
            let n = from.read(&mut buf)?;
            if n == 0 {
                break;
            }
            digest.update(&buf[..n]);
            out.write_all(&buf[..n])?;
            size += n as u64;
        }
        out.sync_all()?;
        std::fs::rename(&partial, path)?;
        Ok((size, digest.finish().as_ref().to_vec()))
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        StoreError::io("writing the backup")(e)
    })
}
