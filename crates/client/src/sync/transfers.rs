//! The encrypted images: uploaded before the messages that point to them go, and downloaded,
//! checked against the digests the sender's MLS message carries, and stored after a case
//! arrives.

use consilium_model::app::AttachmentPointer;
use consilium_model::codec::{from_cbor, to_cbor};
use consilium_model::{AttachmentId, MAX_IMAGES_PER_CASE, Rendition, Timestamp};
use consilium_relay_client::RelayClientError;
use consilium_store::{AttachmentRecord, CaseDb, IncomingAttachment, NewRendition};

use super::receive::Rejection;
use super::report::{SyncReport, isolate, offline};
use crate::blob_crypto;
use crate::engine::Engine;
use crate::error::{ClientError, ErrorCode, Result};
use crate::events::{Direction, Event, Transfer};

impl Engine {
    /// Uploads the attachments of due items, so their messages can go.
    pub(super) fn upload_due(&mut self, report: &mut SyncReport) -> Result<()> {
        let now = self.config.clock.now();
        let mut work = Vec::new();
        for item in self.vault.db().outbox().due(now)? {
            let uploads = self
                .vault
                .db()
                .transfers()
                .pending_uploads(&item.message_id)?;
            if !uploads.is_empty() {
                work.push((item, uploads));
            }
        }
        let mut progress = Transfer {
            direction: Direction::Upload,
            done: 0,
            total: work.iter().map(|(_, u)| u.len()).sum(),
            bytes: 0,
        };
        for (item, uploads) in work {
            let relay = self.vault.db().circles().get(&item.circle)?.relay;
            let client = self.net.client(&relay)?;
            for b in uploads {
                let (plain, _) = self
                    .vault
                    .read_rendition(&b.case, &b.attachment, b.rendition)?;
                let cipher = blob_crypto::seal(&plain, &b.key, &b.nonce)?;
                drop(plain);
                let size = cipher.len() as u64;
                let id = match self.net.run(client.put_blob(&item.circle, cipher)) {
                    Ok(id) => id,
                    Err(e) => return offline(e, report),
                };
                if id != b.blob_id {
                    return Err(ClientError::Untrusted(
                        "the relay named an uploaded image otherwise than its digest".into(),
                    ));
                }
                self.vault.db_mut().atomically(|db| {
                    db.transfers().mark_uploaded(&item.message_id, &b.blob_id)?;
                    // Kept after delivery: a retraction withdraws it from the relay.
                    db.transfers()
                        .record_sent_blob(&b.case, &item.circle, &b.blob_id)
                })?;
                progress.done += 1;
                progress.bytes += size;
                self.transfers.tell(&progress);
            }
        }
        Ok(())
    }

    /// Withdraws from their relays the images of cases this profile retracted. One that
    /// refuses (it no longer has the blob, or we left the circle) is done with them; one that
    /// cannot be reached, or answers something else, keeps them for the next pass, reported as
    /// any relay failure is, and the others go on.
    pub(super) fn withdraw_blobs(&mut self, report: &mut SyncReport) -> Result<()> {
        for (circle, blob) in self.vault.db().transfers().withdrawals()? {
            let Ok(c) = self.vault.db().circles().get(&circle) else {
                self.vault.db().transfers().withdrawn(&circle, &blob)?;
                continue;
            };
            let client = self.net.client(&c.relay)?;
            match self.net.run(client.withdraw_blob(&circle, &blob)) {
                Ok(())
                | Err(ClientError::Relay(RelayClientError::Refused { status: ..500, .. })) => {
                    self.vault.db().transfers().withdrawn(&circle, &blob)?;
                }
                Err(e) => isolate(e, &c.relay, Some(&circle), report)?,
            }
        }
        Ok(())
    }

    /// Downloads, checks and stores the images of received cases.
    pub(super) fn download_attachments(&mut self, report: &mut SyncReport) -> Result<()> {
        let waiting: Vec<_> = self
            .vault
            .db()
            .transfers()
            .incoming()?
            .into_iter()
            .filter(|i| i.failed.is_none())
            .collect();
        let mut progress = Transfer {
            direction: Direction::Download,
            done: 0,
            // Each attachment comes in three renditions.
            total: waiting.len() * Rendition::ALL.len(),
            bytes: 0,
        };
        for incoming in waiting {
            let Ok(circle) = self.vault.db().circles().get(&incoming.circle) else {
                continue;
            };
            let client = self.net.client(&circle.relay)?;
            match self.download_one(&client, &incoming, &mut progress) {
                Ok(()) => report.events.push(Event::AttachmentStored {
                    case: incoming.case.to_string(),
                    attachment: incoming.attachment.to_string(),
                }),
                Err(Download::Offline(e)) => return offline(e, report),
                Err(Download::Bad(reason)) => {
                    self.vault
                        .db()
                        .transfers()
                        .fail_incoming(&incoming.attachment, &reason)?;
                    report.events.push(Event::AttachmentRejected {
                        case: incoming.case.to_string(),
                        attachment: incoming.attachment.to_string(),
                        reason,
                    });
                }
                Err(Download::Local(e)) => return Err(e),
            }
        }
        Ok(())
    }

    fn download_one(
        &mut self,
        client: &consilium_relay_client::RelayClient,
        incoming: &IncomingAttachment,
        progress: &mut Transfer,
    ) -> std::result::Result<(), Download> {
        let pointers: Vec<AttachmentPointer> =
            from_cbor(&incoming.pointers).map_err(|e| Download::Bad(e.to_string()))?;
        // Checked before anything is downloaded: what is claimed must be one image.
        check_pointers(&pointers, &self.config.import_limits).map_err(Download::Bad)?;
        let full = pointers
            .iter()
            .find(|p| p.rendition == Rendition::Full)
            .ok_or_else(|| Download::Bad("no full-size image".into()))?;
        let record = AttachmentRecord {
            mime: full.mime.clone(),
            width: full.width,
            height: full.height,
            size: full.size,
            report: Default::default(),
        };
        let mut renditions = Vec::new();
        for p in &pointers {
            let mut bytes = self.fetch_rendition(client, p)?;
            check_received(p, &bytes, &self.config.import_limits).map_err(Download::Bad)?;
            progress.done += 1;
            progress.bytes += bytes.len() as u64;
            self.transfers.tell(progress);
            renditions.push(NewRendition {
                rendition: p.rendition,
                mime: p.mime.clone(),
                // The vault encrypts this buffer in place.
                bytes: std::mem::take(&mut *bytes),
            });
        }
        let now: Timestamp = self.config.clock.now();
        self.vault
            .add_received_attachment(
                &incoming.case,
                &incoming.attachment,
                &record,
                renditions,
                now,
            )
            .map_err(|e| Download::Local(e.into()))
    }

    fn fetch_rendition(
        &self,
        client: &consilium_relay_client::RelayClient,
        p: &AttachmentPointer,
    ) -> std::result::Result<zeroize::Zeroizing<Vec<u8>>, Download> {
        let bad = |why: &str| Download::Bad(why.to_string());
        let id: [u8; 32] = p.blob_id[..].try_into().map_err(|_| bad("a bad blob id"))?;
        let key: [u8; 32] = p.key.expose().try_into().map_err(|_| bad("a bad key"))?;
        let key = zeroize::Zeroizing::new(key);
        let nonce: [u8; 12] = p.nonce[..].try_into().map_err(|_| bad("a bad nonce"))?;
        // The declared size bounds the download (a blob that runs longer is refused as it
        // arrives); a size no rendition can have is refused before anything is asked.
        if p.size > MAX_RENDITION_BYTES {
            return Err(bad(
                "the image declares a size over the limit of a rendition",
            ));
        }
        // Padded to its size bucket, then the GCM tag.
        let most = blob_crypto::bucket(p.size as usize) + GCM_TAG_BYTES;
        let cipher = match self.net.run(client.get_blob(&id, most)) {
            Ok(c) => c,
            Err(ClientError::Relay(RelayClientError::BadAnswer(why))) => {
                return Err(Download::Bad(why));
            }
            Err(e) if e.code() == ErrorCode::Offline => return Err(Download::Offline(e)),
            Err(e) => return Err(Download::Bad(e.to_string())),
        };
        let expected = blob_crypto::Expected {
            blob_sha256: &p.blob_id,
            plain_sha256: &p.plaintext_sha256,
            size: p.size,
        };
        blob_crypto::open(cipher, &key, &nonce, expected).map_err(|e| Download::Bad(e.to_string()))
    }
}

/// One image as a colleague's message points to it: each rendition once, the full size among
/// them, each within what an import could have made.
fn check_pointers(
    pointers: &[AttachmentPointer],
    limits: &consilium_deid::ImportLimits,
) -> std::result::Result<(), String> {
    if pointers.len() > Rendition::ALL.len() {
        return Err(format!(
            "the image has {} renditions; an image has at most {}",
            pointers.len(),
            Rendition::ALL.len()
        ));
    }
    for (i, p) in pointers.iter().enumerate() {
        if pointers[..i].iter().any(|q| q.rendition == p.rendition) {
            return Err(format!(
                "the image's {:?} rendition is given twice",
                p.rendition
            ));
        }
        if p.size > MAX_RENDITION_BYTES {
            return Err("the image declares a size over the limit of a rendition".into());
        }
        let (w, h) = (p.width, p.height);
        if w > max_side(p.rendition, limits)
            || h > max_side(p.rendition, limits)
            || u64::from(w) * u64::from(h) > limits.max_pixels
        {
            return Err(format!("the image declares {w}×{h} pixels, over its limit"));
        }
        if !matches!(p.mime.as_str(), "image/jpeg" | "image/png") {
            return Err(format!("the image declares the type {:?}", p.mime));
        }
    }
    Ok(())
}

/// The largest side a rendition can have.
fn max_side(rendition: Rendition, limits: &consilium_deid::ImportLimits) -> u32 {
    match rendition {
        Rendition::Full => limits.max_side,
        Rendition::Preview => consilium_deid::PREVIEW_SIDE,
        Rendition::Thumbnail => consilium_deid::THUMBNAIL_SIDE,
    }
}

/// A downloaded rendition decoded whole under the import limits (the same bounded decoder as
/// an import): it must be the image it claims, of the size it claims, in the type it claims.
fn check_received(
    p: &AttachmentPointer,
    bytes: &[u8],
    limits: &consilium_deid::ImportLimits,
) -> std::result::Result<(), String> {
    let is_png = bytes.starts_with(b"\x89PNG");
    if is_png != (p.mime == "image/png") {
        return Err(format!("the image is not the {} it claims to be", p.mime));
    }
    let (w, h) = consilium_deid::check_rendition(bytes, max_side(p.rendition, limits), limits)
        .map_err(|e| format!("the image does not decode within the limits: {e}"))?;
    // The sender gives 0 × 0 for a rendition it could not measure.
    if (p.width, p.height) != (0, 0) && (w, h) != (p.width, p.height) {
        return Err(format!(
            "the image is {w}×{h} pixels, not the {}×{} it claims",
            p.width, p.height
        ));
    }
    Ok(())
}

/// The largest rendition a member can send (the relay's largest blob).
const MAX_RENDITION_BYTES: u64 = 60 << 20;
const GCM_TAG_BYTES: usize = 16;

enum Download {
    Offline(ClientError),
    /// Can never succeed (tampered, or not on the relay).
    Bad(String),
    Local(ClientError),
}

/// Records the attachments a shared or revised case points to, for download after the pass;
/// those past the images a case may hold are not, and are returned.
pub(super) fn queue_downloads(
    db: &CaseDb,
    circle: &[u8],
    case: &consilium_model::CaseId,
    pointers: &[AttachmentPointer],
) -> Result<Vec<AttachmentId>, Rejection> {
    let mut by_attachment: Vec<(AttachmentId, Vec<AttachmentPointer>)> = Vec::new();
    for p in pointers {
        match by_attachment
            .iter_mut()
            .find(|(id, _)| *id == p.attachment_id)
        {
            Some((_, list)) => list.push(p.clone()),
            None => by_attachment.push((p.attachment_id.clone(), vec![p.clone()])),
        }
    }
    let stored = db.attachments().of_case(case)?.len();
    let waiting = db.transfers().incoming_count(case)?;
    let room = MAX_IMAGES_PER_CASE.saturating_sub(stored + waiting);
    let mut refused = Vec::new();
    for (i, (attachment, list)) in by_attachment.into_iter().enumerate() {
        if i >= room {
            refused.push(attachment);
            continue;
        }
        let pointers = to_cbor(&list).map_err(|e| Rejection::Bad(e.to_string()))?;
        db.transfers().add_incoming(&IncomingAttachment {
            attachment,
            case: case.clone(),
            circle: circle.to_vec(),
            pointers,
            failed: None,
        })?;
    }
    Ok(refused)
}
