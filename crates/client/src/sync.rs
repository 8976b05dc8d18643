//! One sync pass: read the mailbox of each relay (Welcomes to circles we asked to join, join
//! requests to ours), keep key packages published, apply every circle's log, send the outbox
//! (uploading attachments first, catching up and redoing what a concurrent commit made stale),
//! and download the images of received cases. A relay that cannot be reached is reported, never
//! an error: what was queued stays queued.

use std::time::Duration;

use consilium_groups::{Circle, Provider};
use consilium_model::app::{AppMessage, AttachmentPointer, MemberProfile};
use consilium_model::codec::from_cbor;
use consilium_model::wire::{MailboxItem, MailboxKind};
use consilium_model::{Rendition, Timestamp};
use consilium_relay_client::{RelayClientError, RelayCode};
use consilium_store::{AttachmentRecord, CircleRecord, IncomingAttachment, NewRendition};
use serde::Serialize;
use serde_bytes::ByteBuf;

use crate::blob_crypto;
use crate::circle_apply::{CircleApplier, CircleSealer};
use crate::circles::{app, enqueue, random};
use crate::engine::Engine;
use crate::error::{ClientError, ErrorCode, Result};
use crate::events::Event;
use crate::key_publish::key_package_upload;
use crate::net::CircleRoutes;
use crate::outbox::deliver_due;
use crate::receive::{Entry, apply_log};

/// Single-use key packages kept at each relay, and when to top them up.
const KEY_PACKAGES: usize = 8;
const KEY_PACKAGES_LOW: u32 = 3;
const KEY_PACKAGE_REFRESH_MS: i64 = 14 * 24 * 3600 * 1000;
const FETCH_PAGE: u64 = 500;
/// Every member gives itself fresh keys in each circle at least this often.
pub const ROTATE_EVERY_MS: i64 = 7 * 24 * 3600 * 1000;

/// Progress of the encrypted images going to or coming from the relay, reported after each.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Transfer {
    pub direction: Direction,
    /// Renditions done and in all, in this pass.
    pub done: usize,
    pub total: usize,
    /// Bytes moved so far in this pass.
    pub bytes: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Upload,
    Download,
}

type OnTransfer = Box<dyn FnMut(&Transfer) + Send>;

/// The face's progress callback, if it gave one.
#[derive(Default)]
pub struct TransferWatch(Option<OnTransfer>);

impl std::fmt::Debug for TransferWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TransferWatch")
    }
}

impl TransferWatch {
    fn tell(&mut self, t: &Transfer) {
        if let Some(f) = &mut self.0 {
            f(t);
        }
    }
}

/// What a sync pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub sent: usize,
    /// Items redone on a newer epoch after another member's commit won the race.
    pub redone: usize,
    pub received: usize,
    pub rejected: usize,
    /// Items still in the outbox (waiting for the relay, or failed).
    pub queued: u64,
    /// Outbox items the relay refused for good, with why.
    pub failed: Vec<String>,
    /// Why a relay could not be reached, if one could not: "offline, will retry".
    pub offline: Option<String>,
    pub events: Vec<Event>,
}

/// Whether an error only means the relay is out of reach (then it is reported, not raised).
fn offline(e: ClientError, report: &mut SyncReport) -> Result<()> {
    if e.code() == ErrorCode::Offline {
        report.offline = Some(e.to_string());
        Ok(())
    } else {
        Err(e)
    }
}

fn forbidden(e: &ClientError) -> bool {
    matches!(e, ClientError::Relay(r) if matches!(r.code(), Some(RelayCode::Forbidden)))
}

impl Engine {
    /// Calls `f` after each image rendition uploaded or downloaded by `sync`.
    pub fn on_transfer(&mut self, f: impl FnMut(&Transfer) + Send + 'static) {
        self.transfers = TransferWatch(Some(Box::new(f)));
    }

    /// Sends what is queued and applies everything new, until caught up.
    pub fn sync(&mut self) -> Result<SyncReport> {
        let mut report = SyncReport::default();
        for relay in &self.relays()? {
            if let Err(e) = self
                .read_mailbox(relay, &mut report)
                .and_then(|()| self.publish_key_packages(relay))
            {
                offline(e, &mut report)?;
            }
        }
        for c in self.vault.db().circles()? {
            self.fetch_circle(&c, &mut report)?;
        }
        self.rotate_due()?;
        self.commit_proposals()?;
        // Each round sends the head of every circle's queue; a stale head is redone after
        // catching up. Bounded, so a relay that keeps refusing cannot keep us here.
        for _ in 0..100_000 {
            self.upload_due(&mut report)?;
            let delivery = self.deliver(&mut report)?;
            for circle in &delivery.stale {
                if let Ok(c) = self.vault.db().circle(circle) {
                    self.fetch_circle(&c, &mut report)?;
                }
            }
            // Proposals only arrive with what was fetched: look again only after a catch-up.
            let commits = if delivery.stale.is_empty() {
                0
            } else {
                self.commit_proposals()?
            };
            if delivery.delivered == 0 && delivery.stale.is_empty() && commits == 0 {
                break;
            }
        }
        self.download_attachments(&mut report)?;
        report.queued = self.vault.db().outbox_len()?;
        report.failed = self
            .vault
            .db()
            .failed_items()?
            .into_iter()
            .map(|(_, why)| why)
            .collect();
        Ok(report)
    }

    /// How many messages wait in the outbox for a relay.
    pub fn queued(&self) -> Result<u64> {
        Ok(self.vault.db().outbox_len()?)
    }

    /// Syncs, then waits for the relays' push notifications (or `idle` at most) and syncs
    /// again, until `go_on` says stop.
    pub fn sync_watch(
        &mut self,
        idle: Duration,
        go_on: &mut dyn FnMut(&SyncReport) -> bool,
    ) -> Result<()> {
        loop {
            let report = self.sync()?;
            if !go_on(&report) {
                return Ok(());
            }
            self.wait_for_news(idle);
        }
    }

    fn read_mailbox(&mut self, relay: &str, report: &mut SyncReport) -> Result<()> {
        let client = self.net.client(relay)?;
        for item in self.net.run(client.mailbox())? {
            match item.kind {
                MailboxKind::Welcome => self.take_welcome(relay, &item, report)?,
                MailboxKind::JoinRequest => self.take_join_request(&item, report)?,
            }
            self.net.run(client.ack_mail(item.id))?;
        }
        Ok(())
    }

    /// Joins a circle we asked to join, from its Welcome; an unasked-for or bad Welcome is
    /// dropped.
    fn take_welcome(
        &mut self,
        relay: &str,
        item: &MailboxItem,
        report: &mut SyncReport,
    ) -> Result<()> {
        let Some(pending) = self
            .vault
            .db()
            .pending_joins()?
            .into_iter()
            .find(|j| j.circle == item.group_id[..] && j.relay == relay)
        else {
            return Ok(());
        };
        let now = self.config.clock.now();
        let profile = self.vault.db().profile()?;
        let (identity, entropy) = (&self.identity, self.config.entropy.clone());
        let joined = self.vault.db_mut().atomically(|db| {
            let circle = Circle::join(&Provider::new(db.connection()), &item.body)?;
            if circle.id() != pending.circle {
                return Err(ClientError::Invalid("a Welcome to another circle".into()));
            }
            let members: Vec<String> = circle.members()?.iter().map(hex::encode).collect();
            if !members.contains(&pending.inviter) {
                return Err(ClientError::Invalid(
                    "the inviter is not in the circle the Welcome is for".into(),
                ));
            }
            db.add_circle(&pending.circle, &pending.name, relay, now)?;
            db.remove_pending_join(&pending.circle)?;
            db.key_package_used(relay)?;
            let me = AppMessage::MemberProfile(MemberProfile {
                name: profile.name.clone(),
                specialty: profile.specialty.clone(),
            });
            enqueue(db, &*entropy, &pending.circle, &app(&me)?, now)?;
            db.set_member_profile(
                &pending.circle,
                &identity.account_id(),
                &profile.name,
                &profile.specialty,
            )?;
            Ok(())
        });
        match joined {
            Ok(()) => report.events.push(Event::Joined {
                circle: hex::encode(&pending.circle),
                name: pending.name,
            }),
            Err(ClientError::Group(e)) => report.events.push(Event::MessageRejected {
                circle: hex::encode(&pending.circle),
                seq: 0,
                reason: format!("a Welcome was refused: {e}"),
            }),
            Err(ClientError::Invalid(why)) => report.events.push(Event::MessageRejected {
                circle: hex::encode(&pending.circle),
                seq: 0,
                reason: why,
            }),
            Err(e) => return Err(e),
        }
        Ok(())
    }

    fn take_join_request(&mut self, item: &MailboxItem, report: &mut SyncReport) -> Result<()> {
        let db = self.vault.db();
        if db.circle(&item.group_id).is_err() {
            return Ok(());
        }
        let Ok((key_package, note)) = from_cbor::<(ByteBuf, ByteBuf)>(&item.body) else {
            return Ok(());
        };
        let about: MemberProfile = from_cbor(&note).unwrap_or_default();
        let again = db
            .join_requests(&item.group_id, Some("pending"))?
            .iter()
            .any(|r| r.account == item.sender);
        if again {
            return Ok(());
        }
        let name: String = about.name.chars().take(120).collect();
        let specialty: String = about.specialty.chars().take(120).collect();
        let id = db.add_join_request(
            &item.group_id,
            &item.sender,
            &name,
            &specialty,
            &key_package,
            self.config.clock.now(),
        )?;
        report.events.push(Event::JoinRequested {
            circle: hex::encode(&item.group_id),
            request: id,
            name,
        });
        Ok(())
    }

    /// Publishes a batch of key packages (and a last-resort one) when few are left or they age.
    fn publish_key_packages(&mut self, relay: &str) -> Result<()> {
        let now = self.config.clock.now();
        let fresh = self
            .vault
            .db()
            .key_package_state(relay)?
            .is_some_and(|(at, left)| {
                left >= KEY_PACKAGES_LOW && now.0 - at.0 < KEY_PACKAGE_REFRESH_MS
            });
        if fresh {
            return Ok(());
        }
        let upload = key_package_upload(
            self.vault.db().connection(),
            &self.identity,
            KEY_PACKAGES,
            now,
        )?;
        let client = self.net.client(relay)?;
        self.net.run(client.upload_key_packages(&upload))?;
        self.vault
            .db()
            .set_key_package_state(relay, now, KEY_PACKAGES as u32)?;
        Ok(())
    }

    /// Applies what the circle's log has past our cursor. A circle whose relay says we are no
    /// longer a member is marked left.
    fn fetch_circle(&mut self, c: &CircleRecord, report: &mut SyncReport) -> Result<()> {
        let client = self.net.client(&c.relay)?;
        let me = self.identity.account_id();
        // One applier for the pass, so the circle's state is loaded once; a failure ends the pass.
        let mut applier = CircleApplier::new(self.config.clock.now());
        let start = self.vault.db().circle_cursor(&c.id)?;
        loop {
            let after = self.vault.db().circle_cursor(&c.id)?;
            let page = match self.net.run(client.fetch(&c.id, after, FETCH_PAGE)) {
                Ok(page) => page,
                Err(e) if forbidden(&e) => {
                    self.vault
                        .db()
                        .mark_circle_left(&c.id, self.config.clock.now())?;
                    report.events.push(Event::RemovedFromCircle {
                        circle: hex::encode(&c.id),
                    });
                    return Ok(());
                }
                Err(e) => return offline(e, report),
            };
            let full = page.len() as u64 >= FETCH_PAGE;
            let entries = page
                .into_iter()
                .filter_map(|e| {
                    Some(Entry {
                        seq: e.seq,
                        sender: e.sender,
                        message_id: e.message_id.to_vec().try_into().ok()?,
                        mls: e.mls.into_vec(),
                    })
                })
                .collect();
            let now = self.config.clock.now();
            applier.now = now;
            let r = apply_log(self.vault.db_mut(), &mut applier, &c.id, &me, entries, now)?;
            report.received += r.applied;
            report.rejected += r.rejected;
            report.events.append(&mut applier.events);
            for (seq, reason) in r.failures {
                report.events.push(Event::MessageRejected {
                    circle: hex::encode(&c.id),
                    seq,
                    reason,
                });
            }
            if !full {
                break;
            }
        }
        // Lets the relay drop what every member has read; not needed for correctness.
        let cursor = self.vault.db().circle_cursor(&c.id)?;
        if cursor > start {
            let _ = self.net.run(client.set_cursor(&c.id, cursor));
        }
        Ok(())
    }

    /// Uploads the attachments of due items, so their messages can go.
    fn upload_due(&mut self, report: &mut SyncReport) -> Result<()> {
        let now = self.config.clock.now();
        let mut work = Vec::new();
        for item in self.vault.db().due(now)? {
            let uploads = self.vault.db().pending_uploads(&item.message_id)?;
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
            let relay = self.vault.db().circle(&item.circle)?.relay;
            let client = self.net.client(&relay)?;
            for b in uploads {
                let (plain, _) = self
                    .vault
                    .read_rendition(&b.case, &b.attachment, b.rendition)?;
                let cipher =
                    blob_crypto::seal(&plain, &b.key, &b.nonce).map_err(ClientError::Invalid)?;
                drop(plain);
                let size = cipher.len() as u64;
                let id = match self.net.run(client.put_blob(&item.circle, cipher)) {
                    Ok(id) => id,
                    Err(e) => return offline(e, report),
                };
                if id != b.blob_id {
                    return Err(ClientError::Invalid(
                        "an attachment no longer encrypts to what its message says".into(),
                    ));
                }
                self.vault
                    .db()
                    .mark_uploaded(&item.message_id, &b.blob_id)?;
                progress.done += 1;
                progress.bytes += size;
                self.transfers.tell(&progress);
            }
        }
        Ok(())
    }

    fn deliver(&mut self, report: &mut SyncReport) -> Result<crate::outbox::DeliveryReport> {
        let mut routes = CircleRoutes::default();
        for c in self.vault.db().circles()? {
            routes
                .routes
                .insert(c.id.clone(), self.net.transport(&c.relay)?);
        }
        let now = self.config.clock.now();
        let mut sealer = CircleSealer {
            identity: &self.identity,
            now,
        };
        let entropy = self.config.entropy.clone();
        let mut jitter = || {
            random::<4>(&*entropy)
                .map(|b| f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX))
                .unwrap_or(0.5)
        };
        let delivery = deliver_due(
            self.vault.db_mut(),
            &mut routes,
            &mut sealer,
            now,
            &mut jitter,
        )?;
        report.sent += delivery.delivered;
        report.redone += delivery.resealed;
        if let Some(why) = &delivery.offline {
            report.offline = Some(why.clone());
        }
        Ok(delivery)
    }

    /// Queues a key rotation in each circle where ours is older than `ROTATE_EVERY_MS` (counted
    /// from joining or creating it when we never rotated).
    fn rotate_due(&mut self) -> Result<()> {
        let now = self.config.clock.now();
        let rotate = crate::payload::Queued::Rotate.encode()?;
        for c in self.vault.db().circles()? {
            let db = self.vault.db();
            let last = db.rotated_at(&c.id)?.unwrap_or(c.created_at);
            if now.0 - last.0 >= ROTATE_EVERY_MS && !db.is_payload_queued(&c.id, &rotate)? {
                let op = crate::payload::Queued::Rotate;
                enqueue(db, &*self.config.entropy, &c.id, &op, now)?;
            }
        }
        Ok(())
    }

    /// Queues a commit of the proposals (members asking to leave) waiting in our circles.
    fn commit_proposals(&mut self) -> Result<usize> {
        let mut queued = 0;
        let now = self.config.clock.now();
        for c in self.vault.db().circles()? {
            let waiting = Circle::load(&Provider::new(self.vault.db().connection()), &c.id)?
                .is_some_and(|g| g.has_pending_proposals() && !g.has_pending_commit());
            let commit = crate::payload::Queued::CommitProposals;
            if waiting
                && !self
                    .vault
                    .db()
                    .is_payload_queued(&c.id, &commit.encode()?)?
            {
                enqueue(self.vault.db(), &*self.config.entropy, &c.id, &commit, now)?;
                queued += 1;
            }
        }
        Ok(queued)
    }

    /// Downloads, checks and stores the images of received cases.
    fn download_attachments(&mut self, report: &mut SyncReport) -> Result<()> {
        let waiting: Vec<_> = self
            .vault
            .db()
            .incoming_attachments()?
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
            let Ok(circle) = self.vault.db().circle(&incoming.circle) else {
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
                        .fail_incoming_attachment(&incoming.attachment, &reason)?;
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
        let cipher = match self.net.run(client.get_blob(&id)) {
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
        blob_crypto::open(&cipher, &key, &nonce, expected).map_err(Download::Bad)
    }
}

enum Download {
    Offline(ClientError),
    /// Can never succeed (tampered, or not on the relay).
    Bad(String),
    Local(ClientError),
}
