//! The only part of an MLS message the relay reads: the framing fields a delivery service sees
//! without keys (RFC 9420 §6): group id, epoch and content type.

use openmls::prelude::{ContentType, MlsMessageIn, ProtocolMessage, WireFormat};
use tls_codec::Deserialize as _;

use crate::error::{RelayError, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Application = 1,
    Proposal = 2,
    Commit = 3,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Framing {
    pub group_id: Vec<u8>,
    pub epoch: u64,
    pub kind: Kind,
    /// Framed as a `PublicMessage` (signed, not encrypted), which the relay can check.
    pub public: bool,
}

/// Parses a group message (public or private). Anything else, or trailing bytes, is refused.
pub fn read_group_message(bytes: &[u8]) -> Result<Framing> {
    let msg = MlsMessageIn::tls_deserialize_exact(bytes)
        .map_err(|e| RelayError::InvalidMessage(format!("not an MLS message: {e}")))?;
    let protocol = msg
        .try_into_protocol_message()
        .map_err(|_| RelayError::InvalidMessage("not a group message".into()))?;
    let kind = match protocol.content_type() {
        ContentType::Application => Kind::Application,
        ContentType::Proposal => Kind::Proposal,
        ContentType::Commit => Kind::Commit,
    };
    Ok(Framing {
        group_id: protocol.group_id().as_slice().to_vec(),
        epoch: protocol.epoch().as_u64(),
        kind,
        public: matches!(protocol, ProtocolMessage::PublicMessage(_)),
    })
}

/// Checks that bytes are a Welcome message.
pub fn check_welcome(bytes: &[u8]) -> Result<()> {
    check_wire_format(bytes, WireFormat::Welcome, "a Welcome")
}

/// Checks that bytes are a key package.
pub fn check_key_package(bytes: &[u8]) -> Result<()> {
    check_wire_format(bytes, WireFormat::KeyPackage, "a key package")
}

fn check_wire_format(bytes: &[u8], expected: WireFormat, what: &str) -> Result<()> {
    let msg = MlsMessageIn::tls_deserialize_exact(bytes)
        .map_err(|e| RelayError::InvalidMessage(format!("not an MLS message: {e}")))?;
    if msg.wire_format() == expected {
        Ok(())
    } else {
        Err(RelayError::InvalidMessage(format!("expected {what}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_truncated_framing_are_refused_not_panicking() {
        assert!(read_group_message(b"").is_err());
        assert!(read_group_message(&[0x00, 0x01, 0x00, 0x01, 0xff]).is_err());
        assert!(read_group_message(&[0u8; 4096]).is_err());
        assert!(check_welcome(&[0x00, 0x01, 0x00, 0x03]).is_err());
    }
}
