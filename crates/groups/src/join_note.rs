//! The note a joiner sends with an invite code (who they say they are), sealed so that the relay,
//! which carries it, can neither read it nor change it.
//!
//! The inviter makes a fresh HPKE key for each invite code and puts its public half in the code;
//! the code travels outside the relay. The joiner signs the note with its account key, bound to
//! the circle and to the key package it redeems with, and seals note and signature to that key
//! (HPKE base mode, X25519, HKDF-SHA256, AES-128-GCM: the circle's own ciphersuite). The inviter
//! opens it with the key kept for that code and checks the signature against the account the
//! request came from. A relay that rewrites the note, moves it to another request or another
//! circle, or makes one up, is caught by the AEAD or by the signature.

use openmls_rust_crypto::RustCrypto;
use openmls_traits::crypto::OpenMlsCrypto;
use openmls_traits::types::{HpkeAeadType, HpkeCiphertext, HpkeConfig, HpkeKdfType, HpkeKemType};
use ring::signature::{ED25519, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use zeroize::Zeroizing;

use crate::circle::AccountKey;
use crate::error::{GroupError, Result};
use crate::identity::Identity;

const CONFIG: HpkeConfig = HpkeConfig(
    HpkeKemType::DhKem25519,
    HpkeKdfType::HkdfSha256,
    HpkeAeadType::AesGcm128,
);
const INFO: &[u8] = b"consilium join note 1";
/// A sealed note is at most this long before it is decoded (the relay takes notes of 4 KiB).
pub const MAX_SEALED_NOTE: usize = 4096;

/// The inviter's private half for one invite code: a 32-byte seed from which the X25519 key is
/// derived. Kept in the vault until the request comes or the code expires.
pub struct NoteKey {
    seed: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for NoteKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NoteKey(redacted)")
    }
}

#[derive(Serialize, Deserialize)]
struct Sealed {
    /// The public key it is sealed to, so the inviter finds the right code's key.
    to: ByteBuf,
    kem_output: ByteBuf,
    ciphertext: ByteBuf,
}

#[derive(Serialize, Deserialize)]
struct Signed {
    note: ByteBuf,
    signature: ByteBuf,
}

fn rejected(why: &str) -> GroupError {
    GroupError::Rejected(format!("a join note {why}"))
}

/// What both sides bind the note to: the circle and the key package the joiner redeems with.
fn context(circle: &[u8], key_package: &[u8]) -> Vec<u8> {
    let digest = ring::digest::digest(&ring::digest::SHA256, key_package);
    let mut out = Vec::with_capacity(8 + circle.len() + 32);
    out.extend_from_slice(&(circle.len() as u64).to_be_bytes());
    out.extend_from_slice(circle);
    out.extend_from_slice(digest.as_ref());
    out
}

fn signed_bytes(context: &[u8], note: &[u8]) -> Vec<u8> {
    [INFO, b"\0", context, note].concat()
}

impl NoteKey {
    pub fn from_seed(seed: &[u8; 32]) -> NoteKey {
        NoteKey {
            seed: Zeroizing::new(*seed),
        }
    }

    /// The public half, for the invite code.
    pub fn public(&self) -> Result<Vec<u8>> {
        let pair = RustCrypto::default()
            .derive_hpke_keypair(CONFIG, &self.seed[..])
            .map_err(|e| GroupError::Mls(format!("deriving a note key: {e:?}")))?;
        Ok(pair.public)
    }

    /// Opens a note sealed to this key for `circle`, sent with `key_package` by `sender`; the
    /// note's bytes, or why it is refused.
    pub fn open(
        &self,
        circle: &[u8],
        key_package: &[u8],
        sender: &AccountKey,
        sealed: &[u8],
    ) -> Result<Vec<u8>> {
        let sealed = decode_sealed(sealed)?;
        let crypto = RustCrypto::default();
        let pair = crypto
            .derive_hpke_keypair(CONFIG, &self.seed[..])
            .map_err(|e| GroupError::Mls(format!("deriving a note key: {e:?}")))?;
        if sealed.to[..] != pair.public[..] {
            return Err(rejected("is sealed to another invite code"));
        }
        let context = context(circle, key_package);
        let input = HpkeCiphertext {
            kem_output: sealed.kem_output.into_vec().into(),
            ciphertext: sealed.ciphertext.into_vec().into(),
        };
        let plain = Zeroizing::new(
            crypto
                .hpke_open(CONFIG, &input, &pair.private, INFO, &context)
                .map_err(|_| {
                    rejected("does not open: it was changed or made for another request")
                })?,
        );
        let signed: Signed =
            ciborium::from_reader(&plain[..]).map_err(|_| rejected("is not a signed note"))?;
        UnparsedPublicKey::new(&ED25519, sender)
            .verify(&signed_bytes(&context, &signed.note), &signed.signature)
            .map_err(|_| rejected("is not signed by the account that sent it"))?;
        Ok(signed.note.into_vec())
    }
}

fn decode_sealed(sealed: &[u8]) -> Result<Sealed> {
    if sealed.len() > MAX_SEALED_NOTE {
        return Err(rejected("is too long"));
    }
    ciborium::from_reader(sealed).map_err(|_| rejected("is not a sealed note"))
}

/// The public key a sealed note is addressed to, to find the invite code's key by.
pub fn sealed_to(sealed: &[u8]) -> Result<Vec<u8>> {
    Ok(decode_sealed(sealed)?.to.into_vec())
}

/// Signs `note` as `identity` for `circle` and `key_package`, and seals it to the invite code's
/// public key `to`.
pub fn seal(
    identity: &Identity,
    to: &[u8],
    circle: &[u8],
    key_package: &[u8],
    note: &[u8],
) -> Result<Vec<u8>> {
    let context = context(circle, key_package);
    let signed = Signed {
        note: ByteBuf::from(note.to_vec()),
        signature: ByteBuf::from(identity.sign(&signed_bytes(&context, note))?),
    };
    let mut plain = Zeroizing::new(Vec::new());
    ciborium::into_writer(&signed, &mut *plain)
        .map_err(|e| GroupError::Mls(format!("encoding a join note: {e}")))?;
    let sealed = RustCrypto::default()
        .hpke_seal(CONFIG, to, INFO, &context, &plain)
        .map_err(|_| GroupError::Rejected("the invite code's note key is not usable".into()))?;
    let sealed = Sealed {
        to: ByteBuf::from(to.to_vec()),
        kem_output: ByteBuf::from(sealed.kem_output.as_slice().to_vec()),
        ciphertext: ByteBuf::from(sealed.ciphertext.as_slice().to_vec()),
    };
    let mut out = Vec::new();
    ciborium::into_writer(&sealed, &mut out)
        .map_err(|e| GroupError::Mls(format!("encoding a join note: {e}")))?;
    if out.len() > MAX_SEALED_NOTE {
        return Err(GroupError::Rejected("the join note is too long".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTE: &[u8] = b"Dr Bruno Lefevre, Dermatology";

    fn setup() -> (NoteKey, Vec<u8>, Identity, Vec<u8>) {
        let key = NoteKey::from_seed(&[7; 32]);
        let public = key.public().unwrap();
        let joiner = Identity::generate().unwrap();
        let sealed = seal(&joiner, &public, b"circle", b"key package", NOTE).unwrap();
        (key, public, joiner, sealed)
    }

    #[test]
    fn the_inviter_reads_what_the_joiner_signed_and_the_bytes_show_nothing() {
        let (key, public, joiner, sealed) = setup();
        assert!(!sealed.windows(NOTE.len()).any(|w| w == NOTE));
        assert!(!sealed.windows(7).any(|w| w == b"Dr Brun"));
        assert_eq!(sealed_to(&sealed).unwrap(), public);
        let opened = key
            .open(b"circle", b"key package", &joiner.device_key(), &sealed)
            .unwrap();
        assert_eq!(opened, NOTE);
    }

    #[test]
    fn a_note_moved_changed_or_signed_by_another_is_refused() {
        let (key, public, joiner, sealed) = setup();
        let stranger = Identity::generate().unwrap();
        // Another circle, another key package, another sender.
        for (circle, kp, sender) in [
            (&b"circlf"[..], &b"key package"[..], joiner.device_key()),
            (b"circle", b"key packagf", joiner.device_key()),
            (b"circle", b"key package", stranger.device_key()),
        ] {
            assert!(matches!(
                key.open(circle, kp, &sender, &sealed),
                Err(GroupError::Rejected(_))
            ));
        }
        // Any byte flipped.
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert!(
                key.open(b"circle", b"key package", &joiner.device_key(), &bad)
                    .is_err(),
                "byte {i}"
            );
        }
        // A stranger's note sealed to the same key, claiming the joiner's account.
        let forged = seal(&stranger, &public, b"circle", b"key package", NOTE).unwrap();
        assert!(
            key.open(b"circle", b"key package", &joiner.device_key(), &forged)
                .is_err()
        );
        // Sealed to another code's key.
        let other = NoteKey::from_seed(&[8; 32]);
        assert!(
            other
                .open(b"circle", b"key package", &joiner.device_key(), &sealed)
                .is_err()
        );
        assert!(sealed_to(&vec![0xa5; MAX_SEALED_NOTE + 1]).is_err());
        assert!(seal(&joiner, b"short", b"circle", b"kp", NOTE).is_err());
    }
}
