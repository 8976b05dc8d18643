//! The invite code a circle admin hands to a colleague (by any channel): one line carrying the
//! relay's address, the circle, a one-time token (the relay keeps only its hash) and the
//! inviter's account key, so the joiner can check the inviter's safety number before trusting
//! the circle. `consilium-invite:1:` followed by base64url (no padding) of a CBOR map.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::codec::{from_cbor, to_cbor};
use crate::error::{ModelError, Result};

const PREFIX: &str = "consilium-invite:1:";
/// Longest code accepted (a relay URL of a few hundred characters fits easily).
const MAX_CODE_CHARS: usize = 2048;
/// Admins named besides the inviter (each adds 44 characters to the code).
const MAX_ADMINS: usize = 16;

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    /// `https://…` (or `http://` for a relay on this machine).
    pub relay: String,
    pub circle: ByteBuf,
    pub token: ByteBuf,
    /// The inviter's account key (Ed25519 public key).
    pub inviter: ByteBuf,
    /// For a self-hosted relay with a self-signed certificate: the SHA-256 of its public key
    /// (SubjectPublicKeyInfo), the only key the joiner's app then accepts from it.
    #[serde(default, alias = "relay_cert_sha256")]
    pub relay_key_sha256: Option<ByteBuf>,
    /// The circle's name, as the inviter calls it (the joiner may rename it).
    #[serde(default)]
    pub circle_name: String,
    /// The circle's other admins when the code was made (account keys): one of them may approve
    /// the request, so their Welcome is taken too. Nobody else's is.
    #[serde(default)]
    pub admins: Vec<ByteBuf>,
    /// The public half of a key made for this code alone (X25519): the joiner seals its name and
    /// specialty to it, so the relay that carries the request reads neither. Without one, the
    /// joiner sends no name (it reaches the circle inside MLS once joined).
    #[serde(default)]
    pub note_key: Option<ByteBuf>,
}

impl std::fmt::Debug for Invite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a bearer secret until redeemed.
        f.debug_struct("Invite")
            .field("relay", &self.relay)
            .field("token", &"redacted")
            .finish_non_exhaustive()
    }
}

fn bad(why: &str) -> ModelError {
    ModelError::Invalid(format!("this invite code is not valid: {why}"))
}

impl Invite {
    fn check(&self) -> Result<()> {
        crate::RelayAddress::parse(&self.relay).map_err(|e| bad(&e.to_string()))?;
        if self.circle.is_empty() || self.circle.len() > 64 {
            return Err(bad("the circle id is malformed"));
        }
        if self.circle_name.chars().count() > 120 {
            return Err(bad("the circle name is too long"));
        }
        if self.admins.len() > MAX_ADMINS || self.admins.iter().any(|a| a.len() != 32) {
            return Err(bad("the list of admins is malformed"));
        }
        if self.note_key.as_ref().is_some_and(|k| k.len() != 32) {
            return Err(bad("the note key is malformed"));
        }
        if self.token.len() != 32 || self.inviter.len() != 32 {
            return Err(bad("the token or the inviter's key is malformed"));
        }
        if self
            .relay_key_sha256
            .as_ref()
            .is_some_and(|p| p.len() != 32)
        {
            return Err(bad("the relay key pin is malformed"));
        }
        Ok(())
    }

    /// The single-line code.
    pub fn to_code(&self) -> Result<String> {
        self.check()?;
        Ok(format!(
            "{PREFIX}{}",
            URL_SAFE_NO_PAD.encode(to_cbor(self)?)
        ))
    }

    /// Reads a code as pasted (surrounding spaces and line breaks ignored).
    pub fn parse(code: &str) -> Result<Invite> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() > MAX_CODE_CHARS {
            return Err(bad("it is too long"));
        }
        let body = code
            .strip_prefix(PREFIX)
            .ok_or_else(|| bad("it does not start with consilium-invite:1:"))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| bad("it was cut or changed"))?;
        let invite: Invite = from_cbor(&bytes).map_err(|_| bad("it was cut or changed"))?;
        invite.check()?;
        Ok(invite)
    }
}
