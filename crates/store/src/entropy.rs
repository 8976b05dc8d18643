//! Where randomness comes from; passed in so that callers (and tests) choose the source.

use ring::rand::SecureRandom;

use crate::error::{Result, StoreError};

/// A source of cryptographically secure random bytes.
pub trait Entropy: Send + Sync + std::fmt::Debug {
    fn fill(&self, dest: &mut [u8]) -> Result<()>;
}

/// The operating system's generator, through `ring`.
#[derive(Debug)]
pub struct SystemEntropy(ring::rand::SystemRandom);

impl SystemEntropy {
    pub fn new() -> Self {
        SystemEntropy(ring::rand::SystemRandom::new())
    }
}

impl Default for SystemEntropy {
    fn default() -> Self {
        SystemEntropy::new()
    }
}

impl Entropy for SystemEntropy {
    fn fill(&self, dest: &mut [u8]) -> Result<()> {
        self.0.fill(dest).map_err(|_| StoreError::Entropy)
    }
}

pub(crate) fn random_16(entropy: &dyn Entropy) -> Result<[u8; 16]> {
    let mut b = [0u8; 16];
    entropy.fill(&mut b)?;
    Ok(b)
}
