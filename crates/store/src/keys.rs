//! Key material and the key file: the random database key, wrapped with a key derived from the
//! passphrase by Argon2id.
//!
//! The key file (`vault.key`, JSON) holds the KDF parameters, the salt and the wrapped database
//! key. Changing the passphrase rewrites only this file; the database is never re-encrypted.

use std::fmt;
use std::path::Path;

use argon2::{Algorithm, Argon2, Params, Version};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::durable::write_atomically;
use crate::entropy::Entropy;
use crate::error::{Result, StoreError};

/// A passphrase, wiped from memory when dropped, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Passphrase(String);

impl Passphrase {
    pub fn new(s: impl Into<String>) -> Self {
        Passphrase(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

/// A 256-bit symmetric key (database key, key-wrapping key or blob key).
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct SecretKey([u8; 32]);

impl SecretKey {
    pub fn random(entropy: &dyn Entropy) -> Result<Self> {
        let mut k = SecretKey([0u8; 32]);
        entropy.fill(&mut k.0)?;
        Ok(k)
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        SecretKey(bytes)
    }

    pub(crate) fn from_slice(bytes: &[u8]) -> Option<Self> {
        let arr: [u8; 32] = bytes.try_into().ok()?;
        Some(SecretKey(arr))
    }

    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    pub(crate) fn aead(&self) -> Result<LessSafeKey> {
        let unbound = UnboundKey::new(&AES_256_GCM, &self.0).map_err(|_| StoreError::Crypto)?;
        Ok(LessSafeKey::new(unbound))
    }

    /// The SQLCipher raw-key literal `x'…'`; the string is wiped when dropped.
    pub(crate) fn sqlcipher_literal(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(String::with_capacity(67));
        s.push_str("x'");
        for b in self.0 {
            s.push(char::from(HEX[usize::from(b >> 4)]));
            s.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        s.push('\'');
        s
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// Argon2id cost parameters, stored beside the salt so they can be raised later.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Passes.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl KdfParams {
    /// About half a second on this project's 2-core reference machine (see docs/BENCHMARKS.md):
    /// 256 MiB, 3 passes, 1 lane.
    pub const INTERACTIVE: KdfParams = KdfParams {
        m_cost_kib: 256 * 1024,
        t_cost: 3,
        p_cost: 1,
    };

    /// Only for tests of the store itself: fast and weak.
    pub const TEST_ONLY_WEAK: KdfParams = KdfParams {
        m_cost_kib: 256,
        t_cost: 1,
        p_cost: 1,
    };

    fn check(&self) -> Result<Params> {
        // Bounds refuse a hostile key file that asks for absurd memory or time.
        if self.m_cost_kib > 4 * 1024 * 1024 || self.t_cost > 64 || self.p_cost > 16 {
            return Err(StoreError::KeyFileCorrupt(
                "KDF parameters out of range".into(),
            ));
        }
        Params::new(self.m_cost_kib, self.t_cost, self.p_cost, Some(32))
            .map_err(|e| StoreError::KeyFileCorrupt(format!("KDF parameters: {e}")))
    }

    fn derive(&self, passphrase: &Passphrase, salt: &[u8]) -> Result<SecretKey> {
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, self.check()?);
        let mut out = SecretKey([0u8; 32]);
        argon
            .hash_password_into(passphrase.expose().as_bytes(), salt, &mut out.0)
            .map_err(|e| StoreError::KeyFileCorrupt(format!("key derivation: {e}")))?;
        Ok(out)
    }
}

const KEY_FILE_FORMAT: u32 = 1;
const WRAP_CONTEXT: &str = "consilium vault key v1";

#[derive(Debug, Serialize, Deserialize)]
struct KdfSection {
    algorithm: String,
    version: u32,
    #[serde(flatten)]
    params: KdfParams,
    salt: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct WrapSection {
    algorithm: String,
    nonce: String,
    ciphertext: String,
}

/// The on-disk key file.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct KeyFile {
    format: u32,
    kdf: KdfSection,
    wrap: WrapSection,
}

impl KeyFile {
    /// Wraps `db_key` under a key derived from `passphrase` with fresh salt and nonce.
    pub(crate) fn seal(
        db_key: &SecretKey,
        passphrase: &Passphrase,
        params: KdfParams,
        entropy: &dyn Entropy,
    ) -> Result<KeyFile> {
        let mut salt = [0u8; 16];
        entropy.fill(&mut salt)?;
        let mut nonce = [0u8; 12];
        entropy.fill(&mut nonce)?;
        let kek = params.derive(passphrase, &salt)?;
        let kdf = KdfSection {
            algorithm: "argon2id".into(),
            version: 0x13,
            params,
            salt: hex::encode(salt),
        };
        let aad = wrap_aad(&kdf);
        let mut buf = db_key.expose().to_vec();
        kek.aead()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad.as_bytes()),
                &mut buf,
            )
            .map_err(|_| StoreError::Crypto)?;
        Ok(KeyFile {
            format: KEY_FILE_FORMAT,
            kdf,
            wrap: WrapSection {
                algorithm: "aes-256-gcm".into(),
                nonce: hex::encode(nonce),
                ciphertext: hex::encode(buf),
            },
        })
    }

    /// Derives the wrapping key and unwraps the database key; a wrong passphrase fails here.
    pub(crate) fn unseal(&self, passphrase: &Passphrase) -> Result<SecretKey> {
        if self.format != KEY_FILE_FORMAT {
            return Err(StoreError::KeyFileCorrupt(format!(
                "unknown format {}",
                self.format
            )));
        }
        if self.kdf.algorithm != "argon2id" || self.kdf.version != 0x13 {
            return Err(StoreError::KeyFileCorrupt("unknown key derivation".into()));
        }
        if self.wrap.algorithm != "aes-256-gcm" {
            return Err(StoreError::KeyFileCorrupt("unknown key wrapping".into()));
        }
        let corrupt = |what: &str| StoreError::KeyFileCorrupt(format!("bad {what}"));
        let salt = hex::decode(&self.kdf.salt).map_err(|_| corrupt("salt"))?;
        let nonce: [u8; 12] = hex::decode(&self.wrap.nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or_else(|| corrupt("nonce"))?;
        let mut buf =
            Zeroizing::new(hex::decode(&self.wrap.ciphertext).map_err(|_| corrupt("ciphertext"))?);
        if salt.len() < 16 || buf.len() != 48 {
            return Err(corrupt("lengths"));
        }
        let kek = self.kdf.params.derive(passphrase, &salt)?;
        let aad = wrap_aad(&self.kdf);
        let plain = kek
            .aead()?
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad.as_bytes()),
                &mut buf,
            )
            .map_err(|_| StoreError::WrongPassphrase)?;
        SecretKey::from_slice(plain).ok_or(StoreError::Crypto)
    }

    pub(crate) fn params(&self) -> KdfParams {
        self.kdf.params
    }

    pub(crate) fn read(path: &Path) -> Result<KeyFile> {
        let bytes = std::fs::read(path).map_err(StoreError::io("reading the vault key file"))?;
        serde_json::from_slice(&bytes).map_err(|e| StoreError::KeyFileCorrupt(e.to_string()))
    }

    pub(crate) fn write(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| StoreError::KeyFileCorrupt(e.to_string()))?;
        write_atomically(path, &json)
    }
}

/// The parameters are bound to the wrapped key so a tampered file fails to unwrap.
fn wrap_aad(kdf: &KdfSection) -> String {
    format!(
        "{WRAP_CONTEXT}|{}|{}|m={}|t={}|p={}|{}",
        kdf.algorithm,
        kdf.version,
        kdf.params.m_cost_kib,
        kdf.params.t_cost,
        kdf.params.p_cost,
        kdf.salt
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::SystemEntropy;

    #[test]
    fn a_sealed_key_opens_with_its_passphrase_only() {
        let e = SystemEntropy::new();
        let key = SecretKey::random(&e).unwrap();
        let pass = Passphrase::new("correct horse");
        let file = KeyFile::seal(&key, &pass, KdfParams::TEST_ONLY_WEAK, &e).unwrap();
        assert_eq!(file.unseal(&pass).unwrap(), key);
        assert!(matches!(
            file.unseal(&Passphrase::new("wrong horse")),
            Err(StoreError::WrongPassphrase)
        ));
    }

    #[test]
    fn tampered_parameters_do_not_unwrap() {
        let e = SystemEntropy::new();
        let key = SecretKey::random(&e).unwrap();
        let pass = Passphrase::new("p");
        let mut file = KeyFile::seal(&key, &pass, KdfParams::TEST_ONLY_WEAK, &e).unwrap();
        file.kdf.params.t_cost = 2;
        assert!(file.unseal(&pass).is_err());
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let e = SystemEntropy::new();
        let key = SecretKey::random(&e).unwrap();
        let dbg = format!("{key:?} {:?}", Passphrase::new("hunter2"));
        assert!(!dbg.contains("hunter2"));
        assert!(!dbg.contains(&hex::encode(key.expose())));
        assert!(dbg.contains("redacted"));
    }

    #[test]
    fn sqlcipher_literal_is_a_raw_hex_key() {
        let key = SecretKey::from_bytes([0xa5; 32]);
        assert_eq!(
            key.sqlcipher_literal().as_str(),
            format!("x'{}'", "a5".repeat(32))
        );
    }
}
