//! A profile's identity: one Ed25519 key, kept as a 32-byte seed in the vault. The same key signs
//! MLS messages (as the basic credential's key) and relay requests (as the account key), so a
//! circle member's credential names the relay account that routes to it.

use openmls::prelude::{BasicCredential, CredentialWithKey, SignatureScheme};
use openmls_basic_credential::SignatureKeyPair;
use ring::signature::{Ed25519KeyPair, KeyPair};
use zeroize::Zeroizing;

use crate::error::{GroupError, Result};

pub struct Identity {
    seed: Zeroizing<[u8; 32]>,
    public: [u8; 32],
    signer: SignatureKeyPair,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Identity({}…, secret redacted)",
            &self.account_id()[..12]
        )
    }
}

impl Identity {
    /// A new identity from fresh randomness.
    pub fn generate() -> Result<Identity> {
        let mut seed = Zeroizing::new([0u8; 32]);
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut seed[..])
            .map_err(|_| GroupError::BadIdentity)?;
        Identity::from_seed(&seed)
    }

    pub fn from_seed(seed: &[u8; 32]) -> Result<Identity> {
        let pair =
            Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| GroupError::BadIdentity)?;
        let mut public = [0u8; 32];
        public.copy_from_slice(pair.public_key().as_ref());
        // openmls' Ed25519 private key is the same 32-byte seed (RFC 8032).
        let signer =
            SignatureKeyPair::from_raw(SignatureScheme::ED25519, seed.to_vec(), public.to_vec());
        Ok(Identity {
            seed: Zeroizing::new(*seed),
            public,
            signer,
        })
    }

    /// The seed to keep in the vault.
    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.public
    }

    /// The relay account id: the public key in hex.
    pub fn account_id(&self) -> String {
        hex::encode(self.public)
    }

    /// An Ed25519 signature by the account key over `message`, outside MLS (a join note).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        openmls_traits::signatures::Signer::sign(&self.signer, message)
            .map_err(|_| GroupError::BadIdentity)
    }

    pub fn signer(&self) -> &SignatureKeyPair {
        &self.signer
    }

    /// The MLS credential: a basic credential whose identity is the public key itself.
    pub fn credential(&self) -> CredentialWithKey {
        CredentialWithKey {
            credential: BasicCredential::new(self.public.to_vec()).into(),
            signature_key: self.public.to_vec().into(),
        }
    }
}
