//! A relay's mailbox: Welcomes to circles we asked to join, and join requests to ours.

use consilium_groups::{AccountKey, Circle, NoteKey, Provider, join_note, key_package_owner};
use consilium_model::app::{AppMessage, MemberProfile};
use consilium_model::codec::from_cbor;
use consilium_model::wire::{MailboxItem, MailboxKind};
use consilium_relay_client::Malformed;
use serde_bytes::ByteBuf;

use super::queue::{app, enqueue};
use super::report::SyncReport;
use crate::engine::Engine;
use crate::error::{ClientError, Result};
use crate::events::Event;

impl Engine {
    /// Reads the relay's mailbox page by page (the relay bounds a page in bytes), taking and
    /// acknowledging each item, until it is empty; at most `MAILBOX_PAGES` pages a pass, so a
    /// relay that keeps answering cannot keep the pass here.
    pub(super) fn read_mailbox(&mut self, relay: &str, report: &mut SyncReport) -> Result<()> {
        const MAILBOX_PAGES: usize = 50;
        let client = self.net.client(relay)?;
        for _ in 0..MAILBOX_PAGES {
            let page = self.net.run(client.mailbox())?;
            if page.is_empty() {
                break;
            }
            for item in page {
                let item = match item {
                    Ok(item) => item,
                    // Not a mailbox item: deleted unread, said as such.
                    Err(Malformed {
                        id: Some(id),
                        reason,
                    }) => {
                        report.events.push(Event::SyncFailed {
                            relay: relay.to_string(),
                            circle: None,
                            reason: format!("a mailbox item that is not one was deleted: {reason}"),
                        });
                        self.net.run(client.ack_mail(id))?;
                        continue;
                    }
                    // Without an id it cannot be deleted: the mailbox waits for the next pass.
                    Err(Malformed { id: None, reason }) => {
                        report.events.push(Event::SyncFailed {
                            relay: relay.to_string(),
                            circle: None,
                            reason: format!(
                                "the relay's mailbox holds something that is not an item: {reason}"
                            ),
                        });
                        return Ok(());
                    }
                };
                match item.kind {
                    MailboxKind::Welcome => self.take_welcome(relay, &item, report)?,
                    MailboxKind::JoinRequest => self.take_join_request(&item, report)?,
                }
                self.net.run(client.ack_mail(item.id))?;
            }
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
            .membership()
            .pending_joins()?
            .into_iter()
            .find(|j| j.circle == item.group_id[..] && j.relay == relay)
        else {
            return Ok(());
        };
        let now = self.config.clock.now();
        let profile = self.vault.db().profile()?;
        let (identity, entropy) = (&self.identity, self.config.entropy.clone());
        // The inviter, or an admin the invite named: nobody else's Welcome is taken (a relay can
        // build a group around the inviter's key packages, but cannot sign for the inviter).
        let welcomers: Vec<AccountKey> = std::iter::once(&pending.inviter)
            .chain(&pending.admins)
            .filter_map(|a| hex::decode(a).ok()?.try_into().ok())
            .collect();
        let joined = self.vault.db_mut().atomically(|db| {
            let circle = Circle::join(&Provider::new(db.connection()), &item.body, &welcomers)?;
            if circle.id() != pending.circle {
                return Err(ClientError::Untrusted("a Welcome to another circle".into()));
            }
            let members: Vec<String> = circle.members()?.iter().map(hex::encode).collect();
            if !members.contains(&pending.inviter) {
                return Err(ClientError::Untrusted(
                    "the inviter is not in the circle the Welcome is for".into(),
                ));
            }
            if db.circles().get(&pending.circle).is_ok() {
                // A circle restored from a backup: this laptop is in it again.
                db.circles().readmitted(&pending.circle)?;
            } else {
                db.circles()
                    .add(&pending.circle, &pending.name, relay, now)?;
            }
            db.membership().remove_pending_join(&pending.circle)?;
            db.membership().key_package_used(relay)?;
            let me = AppMessage::MemberProfile(MemberProfile {
                name: profile.name.clone(),
                specialty: profile.specialty.clone(),
            });
            enqueue(
                db,
                &*entropy,
                &pending.circle,
                &app(db, &pending.circle, &me)?,
                now,
            )?;
            db.circles().set_member_profile(
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
            Err(ClientError::Untrusted(why)) => report.events.push(Event::MessageRejected {
                circle: hex::encode(&pending.circle),
                seq: 0,
                reason: why,
            }),
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// What a joiner said of itself, sealed to one of our invite codes' note keys (see
    /// `consilium_groups::join_note`); no note is no name. The key is forgotten once used, as
    /// the code is.
    fn open_join_note(
        &self,
        item: &MailboxItem,
        key_package: &[u8],
        note: &[u8],
    ) -> std::result::Result<MemberProfile, String> {
        if note.is_empty() {
            return Ok(MemberProfile::default());
        }
        let refused = |e: &dyn std::fmt::Display| format!("a join request's note was refused: {e}");
        let public = join_note::sealed_to(note).map_err(|e| refused(&e))?;
        let sender: AccountKey = hex::decode(&item.sender)
            .ok()
            .and_then(|k| k.try_into().ok())
            .ok_or_else(|| refused(&"the sender is not an account"))?;
        let now = self.config.clock.now();
        let membership = self.vault.db().membership();
        let seed = membership
            .note_key(&public, &item.group_id, now)
            .map_err(|e| refused(&e))?
            .ok_or_else(|| refused(&"it is sealed to no open invite code of this circle"))?;
        let opened = NoteKey::from_seed(&seed)
            .open(&item.group_id, key_package, &sender, note)
            .map_err(|e| refused(&e))?;
        membership
            .drop_note_keys(&public, now)
            .map_err(|e| refused(&e))?;
        from_cbor(&opened).map_err(|_| refused(&"it holds no name and specialty"))
    }

    fn take_join_request(&mut self, item: &MailboxItem, report: &mut SyncReport) -> Result<()> {
        let db = self.vault.db();
        if db.circles().get(&item.group_id).is_err() {
            return Ok(());
        }
        let Ok((key_package, note)) = from_cbor::<(ByteBuf, ByteBuf)>(&item.body) else {
            return Ok(());
        };
        let about = match self.open_join_note(item, &key_package, &note) {
            Ok(about) => about,
            Err(why) => {
                // The request stands on its key package and safety number; only the words
                // that came with it are dropped.
                report.events.push(Event::MessageRejected {
                    circle: hex::encode(&item.group_id),
                    seq: 0,
                    reason: why,
                });
                MemberProfile::default()
            }
        };
        let db = self.vault.db();
        // The request names the physician its key package's certificate names, and must come
        // from that package's device (the relay account that sent it).
        let owner = match key_package_owner(&Provider::new(db.connection()), &key_package) {
            Ok(k) if hex::encode(k.device) == item.sender => hex::encode(k.identity),
            _ => {
                report.events.push(Event::MessageRejected {
                    circle: hex::encode(&item.group_id),
                    seq: 0,
                    reason: "a join request whose key package is not its sender's".into(),
                });
                return Ok(());
            }
        };
        // This profile's own identity on another laptop: a restore of its backup. It is not a
        // request for this laptop to grant; it is a warning if it was not the physician.
        if owner == self.identity.account_id() {
            report.events.push(Event::ProfileRestoredElsewhere {
                circle: hex::encode(&item.group_id),
            });
            return Ok(());
        }
        // The same request again is dropped; a newer device of the same physician (a second
        // restore) takes the place of the one still pending, which nobody should let in now.
        for r in db
            .membership()
            .join_requests(&item.group_id, Some("pending"))?
            .iter()
            .filter(|r| r.account == owner)
        {
            if r.key_package == key_package.as_slice() {
                return Ok(());
            }
            db.membership().set_join_request_state(r.id, "superseded")?;
        }
        // A member's new device (a restored laptop) says nothing of itself: it is known here.
        let known = db
            .circles()
            .member_profiles(&item.group_id)?
            .into_iter()
            .find(|(account, _, _)| *account == owner);
        let about = match known {
            Some((_, name, specialty)) if about.name.is_empty() => {
                MemberProfile { name, specialty }
            }
            _ => about,
        };
        let name: String = about.name.chars().take(120).collect();
        let specialty: String = about.specialty.chars().take(120).collect();
        let id = db.membership().add_join_request(
            &item.group_id,
            &owner,
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
}
