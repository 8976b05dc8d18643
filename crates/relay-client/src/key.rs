//! The account key: an Ed25519 key pair made from a 32-byte seed the caller keeps (in the
//! vault). The seed is wiped from memory when dropped; `Debug` shows only the public part.

use ring::signature::{Ed25519KeyPair, KeyPair};
use zeroize::Zeroizing;

use crate::error::{RelayClientError, Result};

pub struct AccountKey {
    pair: Ed25519KeyPair,
    public_hex: String,
}

impl std::fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "AccountKey({}…, secret redacted)",
            &self.public_hex[..12]
        )
    }
}

impl AccountKey {
    /// A new random key and the seed to keep it by.
    pub fn generate() -> Result<(AccountKey, Zeroizing<[u8; 32]>)> {
        let mut seed = Zeroizing::new([0u8; 32]);
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut seed[..])
            .map_err(|_| RelayClientError::BadKey)?;
        let key = AccountKey::from_seed(&seed)?;
        Ok((key, seed))
    }

    pub fn from_seed(seed: &[u8; 32]) -> Result<AccountKey> {
        let pair =
            Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| RelayClientError::BadKey)?;
        let public_hex = hex::encode(pair.public_key().as_ref());
        Ok(AccountKey { pair, public_hex })
    }

    /// The account id: the public key, in hex.
    pub fn account_id(&self) -> String {
        self.public_hex.clone()
    }

    pub fn public_key(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(self.pair.public_key().as_ref());
        out
    }

    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.pair.sign(message).as_ref().to_vec()
    }
}
