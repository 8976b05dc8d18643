//! What circle members say to each other inside MLS application messages: versioned, forward
//! compatible. Every message is an [`AppEnvelope`] (format version, kind, CBOR body). A kind this
//! client does not know (from a newer client) decodes to [`AppMessage::Unknown`] and is kept,
//! never an error; unknown fields of a known kind are ignored; a field added later carries
//! `#[serde(default)]` so older senders still decode.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::attachment::Rendition;
use crate::case::CaseFields;
use crate::codec::{from_cbor, to_cbor};
use crate::comment::MAX_COMMENT_BYTES;
use crate::error::{ModelError, Result};
use crate::ids::{AttachmentId, CaseId, CommentId};
use crate::time::Timestamp;

/// The envelope format this client writes.
pub const APP_FORMAT: u32 = 1;
/// Poll limits: options per poll and characters per option.
pub const MAX_POLL_OPTIONS: usize = 12;
pub const MAX_POLL_OPTION_CHARS: usize = 200;
/// Profile limits, in characters.
pub const MAX_PROFILE_CHARS: usize = 120;

/// The outer layer of every application message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppEnvelope {
    pub v: u32,
    pub kind: String,
    pub body: ByteBuf,
    /// Zeros that bring the message to its size bucket (the relay sees sizes); read as nothing.
    /// Clients before it ignore the field.
    #[serde(default, skip_serializing_if = "no_pad")]
    pub pad: ByteBuf,
    /// The sender's own running number of its messages in the circle, from 1 (0: not numbered,
    /// a client before it): a gap says a message of theirs was withheld from this member.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub n: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn no_pad(pad: &ByteBuf) -> bool {
    pad.is_empty()
}

/// The size an application message of `len` bytes is padded to: at least 512 bytes, then the
/// next m·2^k with 4 ≤ m < 8 (at most 25 % more) up to 64 KiB, then the next 4 KiB.
fn padded_size(len: usize) -> usize {
    const MIN: usize = 512;
    const COARSE: usize = 64 * 1024;
    if len <= MIN {
        return MIN;
    }
    if len > COARSE {
        return len.div_ceil(4096) * 4096;
    }
    let shift = (usize::BITS - len.leading_zeros()).saturating_sub(3);
    let step = 1usize << shift;
    len.div_ceil(step) * step
}

/// A blob's 256-bit AES-GCM key. Wiped when dropped; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BlobKey(ByteBuf);

impl BlobKey {
    pub fn new(bytes: [u8; 32]) -> BlobKey {
        BlobKey(ByteBuf::from(bytes.to_vec()))
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for BlobKey {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(self.0.as_mut_slice());
    }
}

impl std::fmt::Debug for BlobKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlobKey(redacted)")
    }
}

/// Where an attachment's encrypted rendition is on the relay and how to open it. The receiver
/// checks the ciphertext digest before decrypting and the plaintext digest after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentPointer {
    pub attachment_id: AttachmentId,
    pub rendition: Rendition,
    /// SHA-256 of the ciphertext: the relay's blob id.
    pub blob_id: ByteBuf,
    pub key: BlobKey,
    pub nonce: ByteBuf,
    pub plaintext_sha256: ByteBuf,
    /// Size of the plaintext (the padded ciphertext is larger).
    pub size: u64,
    pub mime: String,
    pub width: u32,
    pub height: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseShared {
    pub case_id: CaseId,
    pub revision: u32,
    pub fields: CaseFields,
    #[serde(default)]
    pub attachments: Vec<AttachmentPointer>,
    pub shared_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseRevised {
    pub case_id: CaseId,
    pub revision: u32,
    pub fields: CaseFields,
    /// Attachments added with this revision.
    #[serde(default)]
    pub attachments: Vec<AttachmentPointer>,
    pub revised_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseResolved {
    pub case_id: CaseId,
    pub outcome: String,
    pub resolved_at: Timestamp,
}

/// The author withdraws a case: members' copies are deleted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseRetracted {
    pub case_id: CaseId,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentPosted {
    pub case_id: CaseId,
    pub comment_id: CommentId,
    #[serde(default)]
    pub reply_to: Option<CommentId>,
    pub body: String,
    pub created_at: Timestamp,
}

/// A differential-diagnosis poll on a case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollOpened {
    pub case_id: CaseId,
    pub poll_id: CommentId,
    pub options: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteCast {
    pub case_id: CaseId,
    pub poll_id: CommentId,
    /// Index into the poll's options.
    pub option: u32,
}

/// A circle admin sets how long members keep the cases received in the circle: each member's
/// client erases such a case once `days` have passed since it arrived. `None`: for ever.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionSet {
    pub days: Option<u32>,
}

/// The longest retention an admin may set: ten years.
pub const MAX_RETENTION_DAYS: u32 = 3653;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemberProfile {
    pub name: String,
    pub specialty: String,
}

/// One application message, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppMessage {
    CaseShared(CaseShared),
    CaseRevised(CaseRevised),
    CaseResolved(CaseResolved),
    CaseRetracted(CaseRetracted),
    Comment(CommentPosted),
    Poll(PollOpened),
    Vote(VoteCast),
    MemberProfile(MemberProfile),
    Retention(RetentionSet),
    /// From a newer client: kept as it came, to be read after an upgrade.
    Unknown {
        kind: String,
        body: Vec<u8>,
    },
}

fn invalid(what: &str) -> ModelError {
    ModelError::Invalid(what.to_string())
}

impl AppMessage {
    /// The case this message is about, if it is about one.
    pub fn case_id(&self) -> Option<&CaseId> {
        match self {
            AppMessage::CaseShared(m) => Some(&m.case_id),
            AppMessage::CaseRevised(m) => Some(&m.case_id),
            AppMessage::CaseResolved(m) => Some(&m.case_id),
            AppMessage::CaseRetracted(m) => Some(&m.case_id),
            AppMessage::Comment(m) => Some(&m.case_id),
            AppMessage::Poll(m) => Some(&m.case_id),
            AppMessage::Vote(m) => Some(&m.case_id),
            AppMessage::MemberProfile(_)
            | AppMessage::Retention(_)
            | AppMessage::Unknown { .. } => None,
        }
    }

    fn kind(&self) -> &str {
        match self {
            AppMessage::CaseShared(_) => "case_shared",
            AppMessage::CaseRevised(_) => "case_revised",
            AppMessage::CaseResolved(_) => "case_resolved",
            AppMessage::CaseRetracted(_) => "case_retracted",
            AppMessage::Comment(_) => "comment",
            AppMessage::Poll(_) => "poll",
            AppMessage::Vote(_) => "vote",
            AppMessage::MemberProfile(_) => "member_profile",
            AppMessage::Retention(_) => "retention_set",
            AppMessage::Unknown { kind, .. } => kind,
        }
    }

    /// Checks the limits a receiver enforces on what a member sent.
    pub fn validate(&self) -> Result<()> {
        match self {
            AppMessage::CaseShared(CaseShared {
                fields,
                attachments,
                ..
            })
            | AppMessage::CaseRevised(CaseRevised {
                fields,
                attachments,
                ..
            }) => {
                fields.validate()?;
                for a in attachments {
                    let sizes_ok = a.blob_id.len() == 32
                        && a.key.expose().len() == 32
                        && a.nonce.len() == 12
                        && a.plaintext_sha256.len() == 32;
                    if !sizes_ok {
                        return Err(invalid(
                            "an attachment pointer has a malformed key or digest",
                        ));
                    }
                }
                Ok(())
            }
            AppMessage::Comment(c) if c.body.trim().is_empty() => Err(invalid("an empty comment")),
            AppMessage::Comment(c) if c.body.len() > MAX_COMMENT_BYTES => {
                Err(invalid("a comment over the size limit"))
            }
            AppMessage::Poll(p) => {
                let ok = (2..=MAX_POLL_OPTIONS).contains(&p.options.len())
                    && p.options.iter().all(|o| {
                        !o.trim().is_empty() && o.chars().count() <= MAX_POLL_OPTION_CHARS
                    });
                if ok {
                    Ok(())
                } else {
                    Err(invalid(
                        "a poll has 2 to 12 options of at most 200 characters",
                    ))
                }
            }
            AppMessage::MemberProfile(p)
                if p.name.chars().count() > MAX_PROFILE_CHARS
                    || p.specialty.chars().count() > MAX_PROFILE_CHARS =>
            {
                Err(invalid("a profile field over 120 characters"))
            }
            AppMessage::Retention(RetentionSet { days: Some(d) })
                if *d == 0 || *d > MAX_RETENTION_DAYS =>
            {
                Err(invalid("a retention of 1 to 3653 days"))
            }
            _ => Ok(()),
        }
    }

    /// The bytes that go into an MLS application message, not numbered.
    pub fn encode(&self) -> Result<Vec<u8>> {
        self.encode_numbered(0)
    }

    /// The bytes that go into an MLS application message, as the sender's `n`th in the circle.
    pub fn encode_numbered(&self, n: u64) -> Result<Vec<u8>> {
        let body = match self {
            AppMessage::CaseShared(m) => to_cbor(m)?,
            AppMessage::CaseRevised(m) => to_cbor(m)?,
            AppMessage::CaseResolved(m) => to_cbor(m)?,
            AppMessage::CaseRetracted(m) => to_cbor(m)?,
            AppMessage::Comment(m) => to_cbor(m)?,
            AppMessage::Poll(m) => to_cbor(m)?,
            AppMessage::Vote(m) => to_cbor(m)?,
            AppMessage::MemberProfile(m) => to_cbor(m)?,
            AppMessage::Retention(m) => to_cbor(m)?,
            AppMessage::Unknown { body, .. } => body.clone(),
        };
        let mut envelope = AppEnvelope {
            v: APP_FORMAT,
            kind: self.kind().to_string(),
            body: ByteBuf::from(body),
            pad: ByteBuf::new(),
            n,
        };
        let bare = to_cbor(&envelope)?;
        // The pad's own key and length header take a few bytes: aim, then correct by what
        // the encoding came to (it settles within a step or two).
        let target = padded_size(bare.len() + 16);
        let mut pad = target.saturating_sub(bare.len() + 8);
        let mut out = bare;
        for _ in 0..4 {
            envelope.pad = ByteBuf::from(vec![0; pad]);
            out = to_cbor(&envelope)?;
            match out.len().cmp(&target) {
                std::cmp::Ordering::Equal => break,
                std::cmp::Ordering::Less => pad += target - out.len(),
                std::cmp::Ordering::Greater => pad = pad.saturating_sub(out.len() - target),
            }
        }
        Ok(out)
    }

    /// Reads an application message's bytes. An unknown kind is kept; a known kind that does not
    /// decode, or breaks a limit, is an error (the sender's client is broken or hostile).
    pub fn decode(bytes: &[u8]) -> Result<AppMessage> {
        Ok(AppMessage::decode_numbered(bytes)?.0)
    }

    /// Like `decode`, with the sender's running number (0 when it has none).
    pub fn decode_numbered(bytes: &[u8]) -> Result<(AppMessage, u64)> {
        let envelope: AppEnvelope = from_cbor(bytes)?;
        let n = envelope.n;
        let body = envelope.body.as_slice();
        let message = match envelope.kind.as_str() {
            "case_shared" => AppMessage::CaseShared(from_cbor(body)?),
            "case_revised" => AppMessage::CaseRevised(from_cbor(body)?),
            "case_resolved" => AppMessage::CaseResolved(from_cbor(body)?),
            "case_retracted" => AppMessage::CaseRetracted(from_cbor(body)?),
            "comment" => AppMessage::Comment(from_cbor(body)?),
            "poll" => AppMessage::Poll(from_cbor(body)?),
            "vote" => AppMessage::Vote(from_cbor(body)?),
            "member_profile" => AppMessage::MemberProfile(from_cbor(body)?),
            "retention_set" => AppMessage::Retention(from_cbor(body)?),
            _ => AppMessage::Unknown {
                kind: envelope.kind,
                body: envelope.body.into_vec(),
            },
        };
        message.validate()?;
        Ok((message, n))
    }
}
