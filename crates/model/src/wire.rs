//! Envelopes between a client and the relay, encoded as CBOR (`application/cbor`). MLS messages
//! travel inside them as opaque bytes, TLS-serialized as openmls writes them; the relay never
//! sees anything else of a circle. Accounts are Ed25519 public keys written as 64 hex digits.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// A Welcome for one new member, delivered only if its commit is accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WelcomeFor {
    pub account: String,
    pub mls: ByteBuf,
}

/// One post to a group's log: an MLS message, and for a commit the Welcomes of the members it
/// adds and the routing hints (accounts added and removed), accepted or refused as a whole.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostBundle {
    /// Chosen by the client (16 random bytes); a retry with the same id returns the first answer.
    pub message_id: ByteBuf,
    pub mls: ByteBuf,
    #[serde(default)]
    pub welcomes: Vec<WelcomeFor>,
    #[serde(default)]
    pub added: Vec<String>,
    #[serde(default)]
    pub removed: Vec<String>,
}

/// The relay's answer to an accepted post.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posted {
    pub seq: u64,
    /// The group's epoch after this post.
    pub epoch: u64,
}

/// One entry of a group's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    pub seq: u64,
    pub sender: String,
    pub message_id: ByteBuf,
    pub mls: ByteBuf,
}

/// Creating a group on the relay: the creator becomes its only member, at epoch 0.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateGroup {
    pub group_id: ByteBuf,
}

/// A batch of key packages to publish.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPackageUpload {
    pub packages: Vec<KeyPackageItem>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPackageItem {
    pub mls: ByteBuf,
    /// Kept and handed out again when no other package is left.
    #[serde(default)]
    pub last_resort: bool,
    /// Milliseconds since the epoch; never served after.
    pub expires_at: i64,
}

/// What waits for an account: Welcomes and join requests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxItem {
    pub id: u64,
    pub kind: MailboxKind,
    pub group_id: ByteBuf,
    pub sender: String,
    pub body: ByteBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailboxKind {
    Welcome,
    JoinRequest,
}

/// An admin registers the hash of a one-time invitation token for a group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterInvitation {
    pub token_hash: ByteBuf,
    pub expires_at: i64,
}

/// A joiner redeems a token with a key package and a signed note for the admins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedeemInvitation {
    pub token: ByteBuf,
    pub key_package: ByteBuf,
    pub note: ByteBuf,
}

/// The body of every error answer (JSON): a stable code and words for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayErrorBody {
    pub code: String,
    pub message: String,
    /// With `stale_epoch`: the group's current epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_epoch: Option<u64>,
}

/// What the WebSocket pushes: new data in a group up to a sequence number, or mail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Push {
    Group { group_id: String, seq: u64 },
    Mailbox,
}
