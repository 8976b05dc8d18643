//! What the outbox holds for a circle, and the form it takes once sealed. A queued item is either
//! an application message (sealed for whatever epoch is current when it goes) or a group
//! operation (made into a commit only when it goes, and made again on the new epoch if another
//! member's commit won the race).

use consilium_model::codec::{from_cbor, to_cbor};
use consilium_model::wire::{PostBundle, WelcomeFor};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::error::{ClientError, Result};

/// One queued item's payload. Its `Debug` names the kind only: an application message holds
/// case text and image keys.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Queued {
    /// An encoded `AppMessage`.
    App(ByteBuf),
    /// Add the owner of this key package (from join request `request`).
    Add { request: i64, key_package: ByteBuf },
    /// Remove these accounts (Ed25519 public keys).
    Remove(Vec<ByteBuf>),
    /// A fresh leaf key for this profile.
    Rotate,
    /// Ask the circle to remove this profile.
    Leave,
    /// Commit the proposals received (a member's request to leave).
    CommitProposals,
    /// Make this member (an Ed25519 public key) an admin of the circle.
    Promote(ByteBuf),
}

impl std::fmt::Debug for Queued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Queued::App(_) => "App",
            Queued::Add { .. } => "Add",
            Queued::Remove(_) => "Remove",
            Queued::Rotate => "Rotate",
            Queued::Leave => "Leave",
            Queued::CommitProposals => "CommitProposals",
            Queued::Promote(_) => "Promote",
        };
        write!(f, "Queued::{kind}(redacted)")
    }
}

impl Queued {
    pub fn encode(&self) -> Result<Vec<u8>> {
        to_cbor(self).map_err(|e| ClientError::Internal(format!("encoding a queued item: {e}")))
    }

    pub fn decode(bytes: &[u8]) -> Result<Queued> {
        from_cbor(bytes).map_err(|e| ClientError::Damaged(format!("a queued item: {e}")))
    }

    /// Whether sealing it makes a commit (which the relay orders, one per epoch).
    pub fn is_commit(&self) -> bool {
        matches!(
            self,
            Queued::Add { .. }
                | Queued::Remove(_)
                | Queued::Rotate
                | Queued::CommitProposals
                | Queued::Promote(_)
        )
    }
}

/// What is posted for one queued item: the MLS message, and for a commit the Welcomes of the
/// members it adds (account ids in hex). Items sealed by earlier versions also carried routing
/// hints, which decoding ignores: the relay reads membership from the group's tree.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedPost {
    pub mls: ByteBuf,
    pub welcomes: Vec<(String, ByteBuf)>,
}

impl SealedPost {
    pub fn encode(&self) -> Result<Vec<u8>> {
        to_cbor(self).map_err(|e| ClientError::Internal(format!("encoding a queued item: {e}")))
    }

    pub fn decode(bytes: &[u8]) -> Result<SealedPost> {
        from_cbor(bytes).map_err(|e| ClientError::Damaged(format!("a sealed item: {e}")))
    }

    pub fn into_bundle(self, message_id: [u8; 16]) -> PostBundle {
        PostBundle {
            message_id: ByteBuf::from(message_id.to_vec()),
            mls: self.mls,
            welcomes: self
                .welcomes
                .into_iter()
                .map(|(account, mls)| WelcomeFor { account, mls })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queued_item_round_trips_and_its_debug_shows_no_content() {
        let item = Queued::App(ByteBuf::from(b"Annular plaque, left forearm".to_vec()));
        assert_eq!(Queued::decode(&item.encode().unwrap()).unwrap(), item);
        let shown = format!("{item:?}");
        assert!(
            !shown.contains("plaque") && !shown.contains("65"),
            "{shown}"
        );
        assert!(Queued::Rotate.is_commit() && !item.is_commit());
    }

    #[test]
    fn a_damaged_queued_item_is_reported_as_vault_damage_not_as_bad_input() {
        use crate::error::ErrorCode;
        // The window tells a person "please correct the highlighted information" for
        // invalid input; a queued item that no longer decodes is nothing they typed.
        let e = Queued::decode(b"\xff\x00 not cbor").unwrap_err();
        assert_eq!(e.code(), ErrorCode::VaultDamaged, "{e}");
        let e = SealedPost::decode(b"").unwrap_err();
        assert_eq!(e.code(), ErrorCode::VaultDamaged, "{e}");
    }
}
