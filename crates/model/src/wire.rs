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
/// adds, accepted or refused as a whole. Who is a member is what the relay reads from the group's
/// ratchet tree, never what a client says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostBundle {
    /// Chosen by the client (16 random bytes); a retry with the same id returns the first answer.
    pub message_id: ByteBuf,
    pub mls: ByteBuf,
    #[serde(default)]
    pub welcomes: Vec<WelcomeFor>,
}

/// A member cannot process the commit at `seq` of a group's log (its tags or path secrets do not
/// check out): the relay undoes it once enough members say so.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitReport {
    pub seq: u64,
}

/// What the relay did with a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportAnswer {
    /// Counted; the commit stands until enough members report it.
    Counted,
    /// Not a commit the relay can still undo (or the reporter's own): nothing changed.
    Ignored,
    /// The commit and everything after it are gone; the group is back at the epoch before it.
    Undone,
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

/// Creating a group on the relay: its public state as the creator, its only member, exported it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateGroup {
    pub group_id: ByteBuf,
    pub state: GroupStateUpload,
}

/// A group's public state as a member exports it: a signed GroupInfo (an MLSMessage, without the
/// ratchet tree extension) and the ratchet tree (TLS-serialized). The relay checks commits
/// against it from then on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupStateUpload {
    pub group_info: ByteBuf,
    pub ratchet_tree: ByteBuf,
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

/// A joiner redeems a token with a key package and a note for the admins (its name and
/// specialty as CBOR; neither signed nor sealed today, so the relay can read it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedeemInvitation {
    pub token: ByteBuf,
    pub key_package: ByteBuf,
    pub note: ByteBuf,
}

/// A physician's new device (a restored profile) asks a group it was in to let it back in: its
/// key package, whose device certificate names an identity that is a member of the group. The
/// members' devices receive it as a join request (an empty note).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readmission {
    pub key_package: ByteBuf,
}

/// A profile of before the device split moves its relay account to a device key of its own:
/// the certificate (`consilium_model::device`) its key, the signing account, made for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceMove {
    pub certificate: ByteBuf,
}

/// Redeeming a relay operator's one-time enrolment code (`consilium-relay admit`): the signing
/// account is admitted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolment {
    pub code: String,
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

/// Request authentication headers (see `docs/relay-protocol.md`).
pub const HEADER_ACCOUNT: &str = "x-consilium-account";
pub const HEADER_TIMESTAMP: &str = "x-consilium-timestamp";
pub const HEADER_NONCE: &str = "x-consilium-nonce";
pub const HEADER_SIGNATURE: &str = "x-consilium-signature";
/// The hex SHA-256 of the body, as signed: the relay checks the signature from the headers before
/// it reads a byte of the body, then checks the body against it.
pub const HEADER_BODY_SHA256: &str = "x-consilium-body-sha256";

/// A relay's origin as both sides write it into the signed bytes: the base URL a client uses to
/// reach it (`https://relay.example.org`, `http://127.0.0.1:8443`), lower-case, without a
/// trailing slash.
pub fn origin(base: &str) -> String {
    base.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// The bytes a client signs for one request to the relay at `origin` (see [`origin`]), given the
/// SHA-256 of its body. Naming the relay means a request signed for one relay is refused by any
/// other. The relay and its clients both build them here, so the two cannot drift apart.
pub fn request_signing_bytes(
    origin: &str,
    method: &str,
    path_and_query: &str,
    timestamp_ms: i64,
    nonce_hex: &str,
    body_sha256: &[u8; 32],
) -> Vec<u8> {
    let mut digest_hex = String::with_capacity(64);
    for b in body_sha256 {
        digest_hex.push_str(&format!("{b:02x}"));
    }
    format!(
        "CONSILIUM-RELAY-V2\n{origin}\n{method}\n{path_and_query}\n{timestamp_ms}\n{nonce_hex}\n{digest_hex}"
    )
    .into_bytes()
}

/// The bytes a client signs to answer a WebSocket challenge of the relay at `origin`.
pub fn challenge_signing_bytes(origin: &str, challenge: &[u8], account: &[u8; 32]) -> Vec<u8> {
    let mut m = format!("CONSILIUM-RELAY-WS-V2\n{origin}\n").into_bytes();
    m.extend_from_slice(challenge);
    m.extend_from_slice(account);
    m
}

/// The first WebSocket frame: a challenge (hex) the client signs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WsChallenge {
    pub challenge: String,
}

/// The client's answer: its account (hex) and its signature (hex) over
/// [`challenge_signing_bytes`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WsAnswer {
    pub account: String,
    pub signature: String,
}
