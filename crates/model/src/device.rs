//! Identity and device keys. A physician's identity key (Ed25519) is who they are to colleagues:
//! the author of their cases, the half of a safety number, the admin a circle's roles name. Each
//! laptop has a device key of its own (the MLS leaf's signature key and the relay account), which
//! the identity key certifies. A restored laptop thus speaks for the same physician with another
//! key, and the lost one can be told apart, removed and revoked.
//!
//! A leaf's credential is the certificate: `"CDC1"`, the identity key, the device key and the
//! identity key's signature over [`signed_bytes`] (132 bytes). A credential of exactly 32 bytes is
//! the one key of a profile made before the split: identity and device at once (its first
//! device), so colleagues see no change for it.

use crate::error::{ModelError, Result};

const MAGIC: &[u8; 4] = b"CDC1";
/// The length of a certificate credential.
pub const CERTIFICATE_LEN: usize = 4 + 32 + 32 + 64;
const CONTEXT: &[u8] = b"consilium device certificate v1\0";

/// Who a leaf speaks for, and the key that signs for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemberKeys {
    /// The physician's identity key: authorship, safety numbers, roles.
    pub identity: [u8; 32],
    /// This device's key: the MLS signature key and the relay account.
    pub device: [u8; 32],
}

/// What an identity key signs to certify a device key.
pub fn signed_bytes(identity: &[u8; 32], device: &[u8; 32]) -> Vec<u8> {
    [CONTEXT, &identity[..], &device[..]].concat()
}

/// A certificate credential from its parts.
pub fn certificate(identity: &[u8; 32], device: &[u8; 32], signature: &[u8; 64]) -> Vec<u8> {
    [&MAGIC[..], &identity[..], &device[..], &signature[..]].concat()
}

/// Reads a leaf's credential (the basic credential's identity bytes) with the leaf's signature
/// key: a certificate must verify and name that key as its device; a key of before the split
/// must be that key itself.
pub fn member_keys(credential: &[u8], signature_key: &[u8]) -> Result<MemberKeys> {
    let refused = |why: &str| ModelError::Invalid(format!("a member's credential: {why}"));
    let signature_key: [u8; 32] = signature_key
        .try_into()
        .map_err(|_| refused("a signature key that is not an Ed25519 key"))?;
    if credential.len() == 32 {
        if credential != signature_key {
            return Err(refused("a key that is not the leaf's signature key"));
        }
        return Ok(MemberKeys {
            identity: signature_key,
            device: signature_key,
        });
    }
    if credential.len() != CERTIFICATE_LEN || &credential[..4] != MAGIC {
        return Err(refused("neither a key nor a device certificate"));
    }
    let mut identity = [0u8; 32];
    identity.copy_from_slice(&credential[4..36]);
    let mut device = [0u8; 32];
    device.copy_from_slice(&credential[36..68]);
    if device != signature_key {
        return Err(refused("a certificate for another device than the leaf's"));
    }
    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &identity)
        .verify(&signed_bytes(&identity, &device), &credential[68..])
        .map_err(|_| refused("a device certificate whose signature does not verify"))?;
    Ok(MemberKeys { identity, device })
}

/// The identity and device a certificate names, once it verifies (a key of before the split is
/// not a certificate).
pub fn certificate_keys(certificate: &[u8]) -> Result<MemberKeys> {
    if certificate.len() != CERTIFICATE_LEN {
        return Err(ModelError::Invalid("not a device certificate".into()));
    }
    member_keys(certificate, &certificate[36..68])
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{Ed25519KeyPair, KeyPair};

    fn pair(seed: u8) -> (Ed25519KeyPair, [u8; 32]) {
        let p = Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap();
        let mut public = [0u8; 32];
        public.copy_from_slice(p.public_key().as_ref());
        (p, public)
    }

    fn certify(identity: &Ed25519KeyPair, id: &[u8; 32], device: &[u8; 32]) -> Vec<u8> {
        let mut sig = [0u8; 64];
        sig.copy_from_slice(identity.sign(&signed_bytes(id, device)).as_ref());
        certificate(id, device, &sig)
    }

    #[test]
    fn a_certificate_binds_one_device_to_its_identity_and_nothing_else_passes() {
        let (identity, id) = pair(1);
        let (_, device) = pair(2);
        let (stranger, other) = pair(3);
        let cert = certify(&identity, &id, &device);
        assert_eq!(
            member_keys(&cert, &device).unwrap(),
            MemberKeys {
                identity: id,
                device
            }
        );
        // Someone else's certificate on one's own leaf; a certificate signed by another key;
        // any byte changed; a key of before the split on a leaf of another key.
        assert!(member_keys(&cert, &other).is_err());
        assert!(member_keys(&certify(&stranger, &id, &device), &device).is_err());
        for i in 0..cert.len() {
            let mut bad = cert.clone();
            bad[i] ^= 1;
            assert!(member_keys(&bad, &device).is_err(), "byte {i}");
        }
        assert!(member_keys(&id, &device).is_err());
        assert!(member_keys(&cert[..100], &device).is_err());
        // A profile of before the split: one key, both roles.
        assert_eq!(
            member_keys(&id, &id).unwrap(),
            MemberKeys {
                identity: id,
                device: id
            }
        );
    }
}
