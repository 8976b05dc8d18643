//! A profile's keys: its identity key (who the physician is to colleagues: authorship, safety
//! numbers, roles) and this device's key (the MLS leaf's signature key and the relay account),
//! which the identity key certifies (`consilium_model::device`). Both are Ed25519, kept as
//! 32-byte seeds in the vault; a restored laptop keeps the identity and gets a new device key.
//!
//! A profile made before the split keeps its one key as both (its credential is that key), so
//! nothing changes for its colleagues.

use consilium_model::device::{self, MemberKeys};
use openmls::prelude::{BasicCredential, CredentialWithKey, SignatureScheme};
use openmls_basic_credential::SignatureKeyPair;
use ring::signature::{Ed25519KeyPair, KeyPair};
use zeroize::Zeroizing;

use crate::error::{GroupError, Result};

pub struct Identity {
    identity_seed: Zeroizing<[u8; 32]>,
    device_seed: Zeroizing<[u8; 32]>,
    keys: MemberKeys,
    /// The device key, as openmls signs with it.
    signer: SignatureKeyPair,
    /// The identity key, as openmls signs with it: only for a leaf of before the split (whose
    /// key it is) until that leaf moves to the device key.
    identity_signer: SignatureKeyPair,
    /// The basic credential's bytes: the device certificate, or the one key of before the split.
    credential: Vec<u8>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Identity({}…, device {}…, secrets redacted)",
            &self.account_id()[..12],
            &self.device_account_id()[..12]
        )
    }
}

fn random_seed() -> Result<Zeroizing<[u8; 32]>> {
    let mut seed = Zeroizing::new([0u8; 32]);
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut seed[..])
        .map_err(|_| GroupError::BadIdentity)?;
    Ok(seed)
}

fn pair(seed: &[u8; 32]) -> Result<(Ed25519KeyPair, [u8; 32])> {
    let pair = Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| GroupError::BadIdentity)?;
    let mut public = [0u8; 32];
    public.copy_from_slice(pair.public_key().as_ref());
    Ok((pair, public))
}

impl Identity {
    /// A new identity with a device key of its own, from fresh randomness.
    pub fn generate() -> Result<Identity> {
        let (identity, device) = (random_seed()?, random_seed()?);
        Identity::from_seeds(&identity, &device)
    }

    /// A new device key for `identity_seed` (a restored laptop), from fresh randomness.
    pub fn new_device(identity_seed: &[u8; 32]) -> Result<Identity> {
        let device = random_seed()?;
        Identity::from_seeds(identity_seed, &device)
    }

    /// One key as identity and device at once: a profile made before the split.
    pub fn from_seed(seed: &[u8; 32]) -> Result<Identity> {
        Identity::from_seeds(seed, seed)
    }

    /// The identity key and this device's key, from their seeds; the same seed twice is a
    /// profile of before the split.
    pub fn from_seeds(identity_seed: &[u8; 32], device_seed: &[u8; 32]) -> Result<Identity> {
        let (identity_pair, identity) = pair(identity_seed)?;
        let (_, device) = pair(device_seed)?;
        let credential = if identity == device {
            identity.to_vec()
        } else {
            let mut signature = [0u8; 64];
            signature.copy_from_slice(
                identity_pair
                    .sign(&device::signed_bytes(&identity, &device))
                    .as_ref(),
            );
            device::certificate(&identity, &device, &signature)
        };
        // openmls' Ed25519 private key is the same 32-byte seed (RFC 8032).
        let signer = SignatureKeyPair::from_raw(
            SignatureScheme::ED25519,
            device_seed.to_vec(),
            device.to_vec(),
        );
        let identity_signer = SignatureKeyPair::from_raw(
            SignatureScheme::ED25519,
            identity_seed.to_vec(),
            identity.to_vec(),
        );
        Ok(Identity {
            identity_seed: Zeroizing::new(*identity_seed),
            device_seed: Zeroizing::new(*device_seed),
            keys: MemberKeys { identity, device },
            signer,
            identity_signer,
            credential,
        })
    }

    /// The identity key's seed, to keep in the vault (and its backup).
    pub fn identity_seed(&self) -> &[u8; 32] {
        &self.identity_seed
    }

    /// This device's key's seed, to keep in the vault (never in a backup) and to sign relay
    /// requests with.
    pub fn device_seed(&self) -> &[u8; 32] {
        &self.device_seed
    }

    /// The identity key: who this physician is in every circle.
    pub fn public_key(&self) -> [u8; 32] {
        self.keys.identity
    }

    /// The identity key in hex: the id colleagues know this physician by.
    pub fn account_id(&self) -> String {
        hex::encode(self.keys.identity)
    }

    /// This device's key.
    pub fn device_key(&self) -> [u8; 32] {
        self.keys.device
    }

    /// This device's relay account: its key in hex.
    pub fn device_account_id(&self) -> String {
        hex::encode(self.keys.device)
    }

    pub fn keys(&self) -> MemberKeys {
        self.keys
    }

    /// An Ed25519 signature by the device key over `message`, outside MLS (a join note, which
    /// is checked against the relay account that delivered it).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        openmls_traits::signatures::Signer::sign(&self.signer, message)
            .map_err(|_| GroupError::BadIdentity)
    }

    /// The device key, as MLS signs with it.
    pub fn signer(&self) -> &SignatureKeyPair {
        &self.signer
    }

    /// Whether the identity certifies a device key of its own (else it is a profile of before
    /// the split, one key as both).
    pub fn is_split(&self) -> bool {
        self.keys.identity != self.keys.device
    }

    /// The same physician as a profile of before the split: the identity key as leaf key and
    /// relay account. Where a relay has not yet learnt of the device key (it moves there once,
    /// see the client's `device_move`), this is who the profile still is.
    pub fn before_split(&self) -> Result<Identity> {
        Identity::from_seed(&self.identity_seed)
    }

    /// The key a leaf whose signature key is `leaf_key` signs with: the identity key for a
    /// leaf of before the split, else the device key.
    pub fn signer_for(&self, leaf_key: &[u8]) -> &SignatureKeyPair {
        if leaf_key == self.keys.identity {
            &self.identity_signer
        } else {
            &self.signer
        }
    }

    /// The credential's bytes: the device certificate (the one key, before the split).
    pub fn certificate(&self) -> &[u8] {
        &self.credential
    }

    /// The MLS credential: a basic credential holding the device certificate, with the device
    /// key as the leaf's signature key.
    pub fn credential(&self) -> CredentialWithKey {
        CredentialWithKey {
            credential: BasicCredential::new(self.credential.clone()).into(),
            signature_key: self.keys.device.to_vec().into(),
        }
    }
}
