//! Passphrases: from the environment when set (scripts, tests), else a hidden prompt.

use anyhow::{Result, bail};
use consilium_client::Passphrase;
use zeroize::Zeroizing;

/// An existing passphrase.
pub fn passphrase(env: &str, prompt: &str) -> Result<Passphrase> {
    if let Ok(p) = std::env::var(env) {
        return Ok(Passphrase::new(p));
    }
    let p = Zeroizing::new(rpassword::prompt_password(format!("{prompt}: "))?);
    Ok(Passphrase::new(p.as_str()))
}

/// A new passphrase: typed twice at a prompt.
pub fn new_passphrase(env: &str, prompt: &str) -> Result<Passphrase> {
    if let Ok(p) = std::env::var(env) {
        if p.is_empty() {
            bail!("{env} is empty");
        }
        return Ok(Passphrase::new(p));
    }
    let first = Zeroizing::new(rpassword::prompt_password(format!("{prompt}: "))?);
    if first.chars().count() < 8 {
        bail!("the passphrase must have at least 8 characters");
    }
    let again = Zeroizing::new(rpassword::prompt_password("Type it again: ")?);
    if first != again {
        bail!("the two passphrases differ");
    }
    Ok(Passphrase::new(first.as_str()))
}

/// A recovery code: from the environment when set, else a hidden prompt.
pub fn recovery_code(env: &str) -> Result<Zeroizing<String>> {
    if let Ok(code) = std::env::var(env) {
        return Ok(Zeroizing::new(code));
    }
    Ok(Zeroizing::new(rpassword::prompt_password(
        "Recovery code (eight groups of four): ",
    )?))
}
