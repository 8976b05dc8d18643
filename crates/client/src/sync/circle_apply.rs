//! The group layer for real, on both sides of the relay:
//! - `CircleSealer` turns queued items into what is posted (an application message sealed for
//!   the current epoch, or a commit made on it) and makes the relay's answer take effect;
//! - `CircleApplier` opens log entries with the profile's MLS state and applies them with the
//!   circle's rules. The author of what is applied is the sender MLS authenticated, never the
//!   account the relay claims.
//!
//! Every call runs inside the caller's transaction, so the MLS state step and its effect on the
//! vault are stored together.

use std::collections::HashSet;

use consilium_groups::{Circle, GroupError, Identity, Incoming, Outgoing, Provider};
use consilium_model::app::{AppMessage, CaseRevised, CaseShared, PollOpened, VoteCast};
use consilium_model::{MAX_IMAGES_PER_CASE, Timestamp};
use consilium_store::{CaseDb, OutboxItem};
use serde_bytes::ByteBuf;

use super::effects::apply_app_message;
use super::outbox::Sealer;
use super::payload::{Queued, SealedPost};
use super::receive::{Applier, Entry, Rejection};
use crate::error::{ClientError, Result};
use crate::events::Event;

fn judged(e: GroupError) -> Rejection {
    match e {
        GroupError::Storage(why) => Rejection::Local(ClientError::Damaged(format!(
            "the circle state could not be stored: {why}"
        ))),
        other => Rejection::Bad(other.to_string()),
    }
}

fn local(e: GroupError) -> ClientError {
    ClientError::Group(e)
}

fn load(db: &CaseDb, circle: &[u8]) -> Result<Circle> {
    Circle::load(&Provider::new(db.connection()), circle)
        .map_err(local)?
        .ok_or_else(|| ClientError::Damaged("a circle of this profile has no group state".into()))
}

fn sealed_commit(out: Outgoing) -> SealedPost {
    let welcomes = match &out.welcome {
        Some(w) => out
            .welcome_to
            .iter()
            .map(|a| (hex::encode(a), ByteBuf::from(w.clone())))
            .collect(),
        None => vec![],
    };
    SealedPost {
        mls: ByteBuf::from(out.commit),
        welcomes,
    }
}

/// A message id made from what caused the message, so queueing it twice queues it once.
fn derived_message_id(label: &[u8], circle: &[u8], cause: &[u8]) -> [u8; 16] {
    let mut hash = ring::digest::Context::new(&ring::digest::SHA256);
    hash.update(label);
    hash.update(b"\0");
    hash.update(circle);
    hash.update(cause);
    let mut id = [0u8; 16];
    id.copy_from_slice(&hash.finish().as_ref()[..16]);
    id
}

/// Queues this profile's name and specialty for the circle, so members who joined after our
/// last introduction learn who we are. The message id comes from `seed`, so doing this twice
/// for the same event queues it once.
fn introduce_self(db: &CaseDb, circle: &[u8], seed: &[u8], now: Timestamp) -> Result<()> {
    let id = derived_message_id(b"consilium-introduction", circle, seed);
    if db.outbox().is_queued(&id)? {
        return Ok(());
    }
    let profile = db.profile()?;
    let me = AppMessage::MemberProfile(consilium_model::app::MemberProfile {
        name: profile.name,
        specialty: profile.specialty,
    });
    db.outbox().enqueue(
        circle,
        id,
        &super::queue::app(db, circle, &me)?.encode()?,
        now,
    )?;
    Ok(())
}

/// What the relay's acceptance of a queued item means here. Also used when the acceptance is
/// only learnt from the item's echo in the log. An own commit taking effect is reported as a
/// received one is (`MembersChanged`), so a window that read the circle before reloads it.
pub fn on_accepted(db: &CaseDb, item: &OutboxItem, now: Timestamp) -> Result<Option<Event>> {
    let queued = Queued::decode(&item.payload)?;
    let mut event = None;
    if queued.is_commit() {
        let mut circle = load(db, &item.circle)?;
        let before = circle.members().map_err(local)?;
        circle
            .confirm(&Provider::new(db.connection()))
            .map_err(local)?;
        let after = circle.members().map_err(local)?;
        let not_in = super::member_events::not_in;
        let returning = match &queued {
            Queued::Add { request, .. } => Some(db.membership().join_request(*request)?.account),
            _ => None,
        };
        let gone = not_in(&before, &after);
        // Who left is no longer one whose Welcome a restore of this profile would take.
        for member in &gone {
            db.circles().forget_member(&item.circle, member)?;
        }
        event = Some(super::member_events::of_own_commit(
            &item.circle,
            not_in(&after, &before),
            gone,
            returning,
        ));
    }
    match queued {
        Queued::Add { request, .. } => {
            let r = db.membership().join_request(request)?;
            let unchecked = r.state == consilium_store::APPROVING_UNCHECKED;
            db.membership().set_join_request_state(
                request,
                if unchecked {
                    "approved unchecked"
                } else {
                    "approved"
                },
            )?;
            db.circles()
                .set_member_profile(&item.circle, &r.account, &r.name, &r.specialty)?;
            introduce_self(db, &item.circle, &item.message_id, now)?;
        }
        // Out once a commit removes us (the relay then refuses our fetches).
        Queued::Leave => db.circles().set_leave_requested(&item.circle, now)?,
        Queued::Rotate => db.circles().set_rotated_at(&item.circle, now)?,
        _ => {}
    }
    db.transfers().clear_outgoing(&item.message_id)?;
    Ok(event)
}

/// Seals outbox items with the profile's MLS state (for `outbox::deliver_due`).
pub struct CircleSealer<'a> {
    pub identity: &'a Identity,
    /// While a profile of before the device split moves: its one old key, and the circles on
    /// relays that know only that key (where the profile is still that key).
    pub before_split: Option<(&'a Identity, HashSet<Vec<u8>>)>,
    pub now: Timestamp,
    /// What acceptances made happen here (own commits taking effect).
    pub events: Vec<Event>,
}

impl std::fmt::Debug for CircleSealer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CircleSealer")
    }
}

impl Sealer for CircleSealer<'_> {
    fn epoch(&mut self, db: &CaseDb, circle: &[u8]) -> Result<u64> {
        Ok(load(db, circle)?.epoch())
    }

    fn ready(&mut self, db: &CaseDb, item: &OutboxItem) -> Result<bool> {
        Ok(db.transfers().pending_uploads(&item.message_id)?.is_empty())
    }

    fn seal(
        &mut self,
        db: &CaseDb,
        item: &OutboxItem,
    ) -> Result<Option<(Vec<u8>, u64)>, Rejection> {
        let provider = Provider::new(db.connection());
        let mut circle = load(db, &item.circle).map_err(Rejection::Local)?;
        let queued = Queued::decode(&item.payload).map_err(|e| Rejection::Bad(e.to_string()))?;
        if queued.is_commit() && circle.has_pending_commit() {
            // Made before a crash and never recorded as sent: make it anew.
            circle.abandon(&provider).map_err(judged)?;
        }
        let id = match &self.before_split {
            Some((old, circles)) if circles.contains(&item.circle) => *old,
            _ => self.identity,
        };
        let post = match queued {
            Queued::App(bytes) => SealedPost {
                mls: ByteBuf::from(
                    circle
                        .seal(&provider, circle.own_signer(id), &bytes)
                        .map_err(judged)?,
                ),
                ..SealedPost::default()
            },
            Queued::Leave => SealedPost {
                mls: ByteBuf::from(circle.leave(&provider, id).map_err(judged)?),
                ..SealedPost::default()
            },
            Queued::Add { key_package, .. } => sealed_commit(
                circle
                    .add(&provider, id, &[key_package.into_vec()])
                    .map_err(judged)?,
            ),
            Queued::Remove(accounts) => {
                let keys = accounts
                    .iter()
                    .map(|a| <[u8; 32]>::try_from(&a[..]))
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|_| Rejection::Bad("a malformed account".into()))?;
                let members = circle.members().map_err(judged)?;
                let keys: Vec<_> = keys.into_iter().filter(|k| members.contains(k)).collect();
                if keys.is_empty() {
                    return Ok(None); // removed meanwhile, by someone else
                }
                sealed_commit(circle.remove(&provider, id, &keys).map_err(judged)?)
            }
            Queued::Rotate => sealed_commit(circle.rotate(&provider, id).map_err(judged)?),
            Queued::Promote(key) => {
                let key = <[u8; 32]>::try_from(&key[..])
                    .map_err(|_| Rejection::Bad("a malformed account".into()))?;
                let already = circle
                    .roles()
                    .map_err(judged)?
                    .is_some_and(|r| r.is_admin(&key));
                if already || !circle.members().map_err(judged)?.contains(&key) {
                    return Ok(None); // made admin, or gone, meanwhile
                }
                sealed_commit(circle.promote(&provider, id, key).map_err(judged)?)
            }
            Queued::CommitProposals => {
                if !circle.has_pending_proposals() {
                    return Ok(None);
                }
                sealed_commit(circle.commit_pending(&provider, id).map_err(judged)?)
            }
        };
        let bytes = post.encode().map_err(Rejection::Local)?;
        Ok(Some((bytes, circle.epoch())))
    }

    fn accepted(&mut self, db: &CaseDb, item: &OutboxItem) -> Result<()> {
        self.events.extend(on_accepted(db, item, self.now)?);
        Ok(())
    }

    fn refused(&mut self, db: &CaseDb, item: &OutboxItem) -> Result<()> {
        let mut circle = load(db, &item.circle)?;
        if circle.has_pending_commit() {
            circle
                .abandon(&Provider::new(db.connection()))
                .map_err(local)?;
        }
        Ok(())
    }
}

/// Opens and applies entries of this profile's circles, collecting what happened. A circle's
/// MLS state is loaded once and kept while its entries apply (loading a circle of 50 costs about
/// as much as opening a message); any failure drops the kept copy, so it is never ahead of what
/// the vault committed. The applier must not outlive a failed pass.
#[derive(Debug)]
pub struct CircleApplier {
    pub now: Timestamp,
    pub events: Vec<Event>,
    loaded: std::collections::HashMap<Vec<u8>, Circle>,
}

impl CircleApplier {
    pub fn new(now: Timestamp) -> CircleApplier {
        CircleApplier {
            now,
            events: Vec::new(),
            loaded: Default::default(),
        }
    }

    fn open(&mut self, db: &CaseDb, circle: &[u8], entry: &Entry) -> Result<Incoming, Rejection> {
        let provider = Provider::new(db.connection());
        let mut group = match self.loaded.remove(circle) {
            Some(group) => group,
            None => Circle::load(&provider, circle)
                .map_err(judged)?
                .ok_or_else(|| Rejection::Bad("this profile is not in that circle".into()))?,
        };
        let incoming = match group.open(&provider, &entry.mls) {
            Err(GroupError::Undecryptable { epoch }) => {
                // From a current member, at the epoch we are at: they hold other secrets for it
                // than we do, so the relay showed us different circles. Said once a pass.
                // The relay names the sender's device; the warning names the physician.
                let member = group.member_keys().ok().and_then(|keys| {
                    keys.into_iter()
                        .find(|k| hex::encode(k.device) == entry.sender)
                });
                if let Some(member) = member {
                    let fork = Event::ForkSuspected {
                        circle: hex::encode(circle),
                        sender: hex::encode(member.identity),
                        epoch,
                    };
                    if !self.events.contains(&fork) {
                        self.events.push(fork);
                    }
                }
                return Err(judged(GroupError::Undecryptable { epoch }));
            }
            other => other.map_err(judged)?,
        };
        self.loaded.insert(circle.to_vec(), group);
        Ok(incoming)
    }
}

impl Applier for CircleApplier {
    fn apply(&mut self, db: &mut CaseDb, circle: &[u8], entry: &Entry) -> Result<(), Rejection> {
        let outcome = self.apply_opened(db, circle, entry);
        if outcome.is_err() {
            // Its MLS step is rolled back with the transaction: forget the copy that took it.
            self.loaded.remove(circle);
        }
        outcome
    }

    fn own_echo(&mut self, db: &mut CaseDb, circle: &[u8], entry: &Entry) -> Result<()> {
        // Confirming our own commit changes the stored state behind the kept copy.
        self.loaded.remove(circle);
        if let Some(item) = db.outbox().item(&entry.message_id)?
            && item
                .sealed
                .as_ref()
                .and_then(|(bytes, _)| SealedPost::decode(bytes).ok())
                .is_some_and(|post| post.mls[..] == entry.mls[..])
        {
            self.events.extend(on_accepted(db, &item, self.now)?);
            db.outbox().mark_delivered(item.id)?;
        }
        Ok(())
    }
}

impl CircleApplier {
    fn apply_opened(
        &mut self,
        db: &mut CaseDb,
        circle: &[u8],
        entry: &Entry,
    ) -> Result<(), Rejection> {
        let incoming = self.open(db, circle, entry)?;
        let c = hex::encode(circle);
        match incoming {
            Incoming::Application { sender, bytes } => {
                let (message, n) = AppMessage::decode_numbered(&bytes)
                    .map_err(|e| Rejection::Bad(e.to_string()))?;
                // A gap in the sender's numbers: the relay withheld a message of theirs.
                if n > 0
                    && let Some(missing) = db.logs().note_number(circle, &hex::encode(sender), n)?
                {
                    self.events.push(Event::MessagesMissing {
                        circle: c.clone(),
                        sender: hex::encode(sender),
                        missing,
                    });
                }
                let is_new = match &message {
                    AppMessage::CaseShared(m) => db.shares().origin(&m.case_id)?.is_none(),
                    _ => false,
                };
                // Only an admin sets how long members keep the circle's cases.
                if matches!(message, AppMessage::Retention(_))
                    && !self
                        .loaded
                        .get(circle)
                        .is_some_and(|g| g.may_manage(&sender).unwrap_or(false))
                {
                    return Err(Rejection::Bad(
                        "only an admin sets the circle's retention".into(),
                    ));
                }
                apply_app_message(db, circle, &hex::encode(sender), &message, self.now)?;
                match &message {
                    AppMessage::CaseShared(CaseShared {
                        case_id,
                        attachments,
                        ..
                    })
                    | AppMessage::CaseRevised(CaseRevised {
                        case_id,
                        attachments,
                        ..
                    }) => {
                        for refused in
                            super::transfers::queue_downloads(db, circle, case_id, attachments)?
                        {
                            self.events.push(Event::AttachmentRejected {
                                case: case_id.to_string(),
                                attachment: refused.to_string(),
                                reason: format!(
                                    "a case holds at most {MAX_IMAGES_PER_CASE} images"
                                ),
                            });
                        }
                        let case = case_id.to_string();
                        self.events.push(if is_new {
                            Event::CaseReceived { circle: c, case }
                        } else {
                            Event::CaseUpdated { circle: c, case }
                        });
                    }
                    AppMessage::CaseResolved(m) => self.events.push(Event::CaseUpdated {
                        circle: c,
                        case: m.case_id.to_string(),
                    }),
                    AppMessage::CaseRetracted(m) => self.events.push(Event::CaseRetracted {
                        circle: c,
                        case: m.case_id.to_string(),
                    }),
                    AppMessage::Comment(m) => self.events.push(Event::CommentReceived {
                        circle: c,
                        case: m.case_id.to_string(),
                        comment: m.comment_id.to_string(),
                    }),
                    AppMessage::Poll(PollOpened { case_id, .. })
                    | AppMessage::Vote(VoteCast { case_id, .. }) => {
                        self.events.push(Event::PollChanged {
                            circle: c,
                            case: case_id.to_string(),
                        })
                    }
                    AppMessage::Retention(r) => self.events.push(Event::RetentionChanged {
                        circle: c,
                        days: r.days,
                    }),
                    AppMessage::MemberProfile(_) | AppMessage::Unknown { .. } => {}
                }
                Ok(())
            }
            Incoming::Commit {
                added,
                removed,
                self_removed,
                ..
            } => {
                if self_removed {
                    db.circles().mark_left(circle, self.now)?;
                    self.events.push(Event::RemovedFromCircle { circle: c });
                } else {
                    if !added.is_empty() {
                        introduce_self(db, circle, &entry.seq.to_le_bytes(), self.now)
                            .map_err(Rejection::Local)?;
                    }
                    // A commit without our request to leave dropped it: ask again.
                    let leave = Queued::Leave.encode().map_err(Rejection::Local)?;
                    if db.circles().leave_requested(circle)?
                        && !db.outbox().is_payload_queued(circle, &leave)?
                    {
                        let id = derived_message_id(
                            b"consilium-leave",
                            circle,
                            &entry.seq.to_le_bytes(),
                        );
                        db.outbox().enqueue(circle, id, &leave, self.now)?;
                    }
                    // Who left is no longer one whose Welcome a restore of this profile
                    // would take.
                    for member in removed.iter().filter(|k| !added.contains(k)) {
                        db.circles().forget_member(circle, &hex::encode(member))?;
                    }
                    self.events
                        .extend(super::member_events::of_commit(&c, &added, &removed));
                }
                Ok(())
            }
            // Kept in the MLS state until a member commits it (see the sync pass).
            Incoming::Proposal | Incoming::Own | Incoming::Earlier => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
