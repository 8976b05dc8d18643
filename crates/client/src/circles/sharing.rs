//! Cases in circles: sharing an own case (its fields and every rendition of its images,
//! encrypted afresh for the circle), and the messages that follow a shared case there: revisions,
//! the outcome, comments, polls and votes. Each is queued in the transaction of its local change.

use consilium_model::app::{
    AppMessage, AttachmentPointer, BlobKey, CaseResolved, CaseRevised, CaseShared, CommentPosted,
    PollOpened, VoteCast,
};
use consilium_model::codec::to_cbor;
use consilium_model::{CaseId, CommentId, Rendition, Timestamp};
use consilium_store::{CaseDb, OutgoingBlob};
use serde::Serialize;
use serde_bytes::ByteBuf;
use zeroize::Zeroizing;

use crate::blob_crypto;
use crate::engine::Engine;
use crate::error::{ClientError, Result};
use crate::sync::queue::{app, enqueue, random};

/// A poll of a case with its tally.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PollView {
    pub id: String,
    pub options: Vec<(String, u32)>,
    /// This profile's vote (an index into `options`).
    pub my_vote: Option<u32>,
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .to_vec()
}

impl Engine {
    /// The account id this profile writes under in circles.
    fn me(&self) -> String {
        self.identity.account_id()
    }

    /// Shares an own case with a circle: its current fields and every image.
    pub fn share(&mut self, case: &CaseId, circle: &str) -> Result<()> {
        let c = self.resolve_circle(circle)?;
        if self.vault.db().shares().origin(case)?.is_some() {
            return Err(ClientError::Invalid(
                "this case was shared with you; only its author can share it".into(),
            ));
        }
        let found = self.ensure_case_reviewed(case)?;
        self.ensure_images_reviewed(case)?;
        let report = self.report_from(case, &found)?;
        let report = to_cbor(&report)
            .map_err(|e| ClientError::Internal(format!("encoding the report: {e}")))?;
        let full = self.vault.db().cases().get(case)?;
        let now = self.config.clock.now();
        let shared_at = now;
        self.send_case(case, &c.id, Some(&report), |attachments| {
            AppMessage::CaseShared(CaseShared {
                case_id: case.clone(),
                revision: full.revision,
                fields: full.fields,
                attachments,
                shared_at,
            })
        })
    }

    /// Queues the message `make` builds around the pointers of the case's images not yet sent to
    /// `circle`, with their encrypted uploads, in one transaction.
    /// A share keeps the case's de-identification `report` in the same transaction.
    fn send_case(
        &mut self,
        case: &CaseId,
        circle: &[u8],
        report: Option<&[u8]>,
        make: impl FnOnce(Vec<AttachmentPointer>) -> AppMessage,
    ) -> Result<()> {
        let message_id = random::<16>(&*self.config.entropy)?;
        let (pointers, blobs) = self.encrypt_attachments(case, circle, message_id)?;
        let message = make(pointers);
        let now = self.config.clock.now();
        self.vault.db_mut().atomically(|db| {
            let queued = app(db, circle, &message)?;
            db.shares().mark_shared(case, circle)?;
            if let Some(report) = report {
                db.privacy().keep_deid_report(case, circle, report, now)?;
            }
            db.outbox()
                .enqueue(circle, message_id, &queued.encode()?, now)?;
            for b in &blobs {
                db.transfers().add_outgoing(b)?;
                db.transfers()
                    .mark_attachment_shared(circle, &b.attachment)?;
            }
            Ok::<_, ClientError>(())
        })
    }

    /// Encrypts every rendition of the case's images not yet sent to `circle`: the pointers the
    /// message carries and the uploads it waits for.
    fn encrypt_attachments(
        &self,
        case: &CaseId,
        circle: &[u8],
        message_id: [u8; 16],
    ) -> Result<(Vec<AttachmentPointer>, Vec<OutgoingBlob>)> {
        let entropy = &*self.config.entropy;
        let mut pointers = Vec::new();
        let mut blobs = Vec::new();
        for a in self.vault.db().attachments().of_case(case)? {
            if self
                .vault
                .db()
                .transfers()
                .attachment_shared(circle, &a.id)?
                || self.held_back(&a)
            {
                continue;
            }
            for rendition in Rendition::ALL {
                let (plain, mime) = self.vault.read_rendition(case, &a.id, rendition)?;
                let key = Zeroizing::new(random::<32>(entropy)?);
                let nonce = random::<12>(entropy)?;
                let cipher = blob_crypto::seal(&plain, &key, &nonce)?;
                let blob_id: [u8; 32] = sha256(&cipher).try_into().map_err(|_| {
                    ClientError::Internal("a SHA-256 digest is not 32 bytes".into())
                })?;
                let (width, height) = if rendition == Rendition::Full {
                    (a.width, a.height)
                } else {
                    image_size(&plain).unwrap_or((0, 0))
                };
                pointers.push(AttachmentPointer {
                    attachment_id: a.id.clone(),
                    rendition,
                    blob_id: ByteBuf::from(blob_id.to_vec()),
                    key: BlobKey::new(*key),
                    nonce: ByteBuf::from(nonce.to_vec()),
                    plaintext_sha256: ByteBuf::from(sha256(&plain)),
                    size: plain.len() as u64,
                    mime,
                    width,
                    height,
                });
                blobs.push(OutgoingBlob {
                    message_id,
                    blob_id,
                    case: case.clone(),
                    attachment: a.id.clone(),
                    rendition,
                    key,
                    nonce,
                });
            }
        }
        Ok((pointers, blobs))
    }

    /// Queues `message` to every circle the case is in, inside the caller's transaction.
    fn to_case_circles(
        db: &CaseDb,
        entropy: &dyn consilium_store::Entropy,
        case: &CaseId,
        message: &AppMessage,
        now: Timestamp,
    ) -> Result<()> {
        let circles = db.shares().circles_of(case)?;
        if circles.is_empty() {
            return Ok(());
        }
        for circle in circles {
            let queued = app(db, &circle, message)?;
            enqueue(db, entropy, &circle, &queued, now)?;
        }
        Ok(())
    }

    /// After an edit of an own case, or an image added to it: the current revision, with the
    /// images each circle does not have yet, goes to the circles it was shared with.
    pub(crate) fn send_revision(&mut self, case: &CaseId) -> Result<()> {
        let circles = self.vault.db().shares().circles_of(case)?;
        if circles.is_empty() {
            return Ok(());
        }
        let full = self.vault.db().cases().get(case)?;
        let now = self.config.clock.now();
        for circle in circles {
            let fields = full.fields.clone();
            self.send_case(case, &circle, None, |attachments| {
                AppMessage::CaseRevised(CaseRevised {
                    case_id: case.clone(),
                    revision: full.revision,
                    fields,
                    attachments,
                    revised_at: now,
                })
            })?;
        }
        Ok(())
    }

    pub(crate) fn send_outcome(&mut self, case: &CaseId, outcome: &str) -> Result<()> {
        let now = self.config.clock.now();
        let message = AppMessage::CaseResolved(CaseResolved {
            case_id: case.clone(),
            outcome: outcome.to_string(),
            resolved_at: now,
        });
        Engine::to_case_circles(self.vault.db(), &*self.config.entropy, case, &message, now)
    }

    /// Adds a comment; on a case in a circle it goes to the circle, under this profile's account.
    pub fn comment(
        &mut self,
        case: &CaseId,
        body: &str,
        reply_to: Option<&CommentId>,
    ) -> Result<CommentId> {
        let in_circle = !self.vault.db().shares().circles_of(case)?.is_empty();
        if in_circle {
            self.ensure_reviewed(case, &[("comment".into(), body.to_string())])?;
        }
        let author = if in_circle {
            self.me()
        } else {
            self.vault.db().profile()?.name
        };
        let now = self.config.clock.now();
        let entropy = self.config.entropy.clone();
        self.vault.db_mut().atomically(|db| {
            let id = db.comments().add(case, reply_to, &author, body, now)?;
            let message = AppMessage::Comment(CommentPosted {
                case_id: case.clone(),
                comment_id: id.clone(),
                reply_to: reply_to.cloned(),
                body: body.to_string(),
                created_at: now,
            });
            Engine::to_case_circles(db, &*entropy, case, &message, now)?;
            Ok(id)
        })
    }

    /// A comment of the case by its id or a prefix of at least 4 hex digits.
    pub fn resolve_comment(&self, case: &CaseId, id_or_prefix: &str) -> Result<CommentId> {
        let wanted = id_or_prefix.trim().to_lowercase();
        let found: Vec<CommentId> = self
            .vault
            .db()
            .comments()
            .of_case(case)?
            .into_iter()
            .map(|c| c.id)
            .filter(|id| wanted.len() >= 4 && id.to_string().starts_with(&wanted))
            .collect();
        match <[CommentId; 1]>::try_from(found) {
            Ok([one]) => Ok(one),
            Err(v) if v.is_empty() => Err(ClientError::Invalid(format!(
                "no comment '{id_or_prefix}' on this case"
            ))),
            Err(_) => Err(ClientError::Invalid(format!(
                "'{id_or_prefix}' matches more than one comment; give more of its id"
            ))),
        }
    }

    /// Opens a poll (differential diagnoses, say) on a case.
    pub fn open_poll(&mut self, case: &CaseId, options: &[String]) -> Result<CommentId> {
        let options: Vec<String> = options.iter().map(|o| o.trim().to_string()).collect();
        let message_check = AppMessage::Poll(PollOpened {
            case_id: case.clone(),
            poll_id: CommentId::from_bytes([0; 16]),
            options: options.clone(),
        });
        if options.len() < 2 {
            return Err(ClientError::Invalid(
                "a poll needs at least two options".into(),
            ));
        }
        message_check
            .validate()
            .map_err(|e| ClientError::Invalid(e.to_string()))?;
        if !self.vault.db().shares().circles_of(case)?.is_empty() {
            let texts: Vec<(String, String)> = options
                .iter()
                .map(|o| ("poll".to_string(), o.clone()))
                .collect();
            self.ensure_reviewed(case, &texts)?;
        }
        let poll = CommentId::from_bytes(random::<16>(&*self.config.entropy)?);
        let me = self.me();
        let now = self.config.clock.now();
        let entropy = self.config.entropy.clone();
        self.vault.db_mut().atomically(|db| {
            db.polls().open(None, &me, case, &poll, &options)?;
            let message = AppMessage::Poll(PollOpened {
                case_id: case.clone(),
                poll_id: poll.clone(),
                options,
            });
            Engine::to_case_circles(db, &*entropy, case, &message, now)?;
            Ok(poll)
        })
    }

    /// Votes in the case's latest poll for `option`: its text (any case) or its number from 1.
    pub fn vote(&mut self, case: &CaseId, option: &str) -> Result<PollView> {
        let poll = self
            .vault
            .db()
            .polls()
            .of_case(case)?
            .pop()
            .ok_or_else(|| ClientError::Invalid("this case has no poll".into()))?;
        let options = self.vault.db().polls().options(&poll)?;
        let wanted = option.trim();
        let index = options
            .iter()
            .position(|o| o.to_lowercase() == wanted.to_lowercase())
            .or_else(|| {
                wanted
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=options.len()).contains(n))
                    .map(|n| n - 1)
            })
            .ok_or_else(|| {
                ClientError::Invalid(format!(
                    "no option '{wanted}' in this poll; the options are: {}",
                    options.join(", ")
                ))
            })? as u32;
        let me = self.me();
        let now = self.config.clock.now();
        let entropy = self.config.entropy.clone();
        self.vault.db_mut().atomically(|db| {
            db.polls().cast_vote(None, &me, &poll, index)?;
            let message = AppMessage::Vote(VoteCast {
                case_id: case.clone(),
                poll_id: poll.clone(),
                option: index,
            });
            Engine::to_case_circles(db, &*entropy, case, &message, now)
        })?;
        self.poll_view(&poll)
    }

    fn poll_view(&self, poll: &CommentId) -> Result<PollView> {
        let db = self.vault.db();
        Ok(PollView {
            id: poll.to_string(),
            options: db.polls().tally(poll)?,
            my_vote: db.polls().vote_of(poll, &self.me())?,
        })
    }

    /// The polls of a case with their tallies.
    pub fn polls(&self, case: &CaseId) -> Result<Vec<PollView>> {
        self.vault
            .db()
            .polls()
            .of_case(case)?
            .iter()
            .map(|p| self.poll_view(p))
            .collect()
    }
}

/// Width and height from an image's header, without decoding it.
fn image_size(bytes: &[u8]) -> Option<(u32, u32)> {
    consilium_deid::image_dimensions(bytes)
}
