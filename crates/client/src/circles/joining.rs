//! Joining a circle, both sides: the admin's invite code (with the key the joiner's note is
//! sealed to), the joiner's request, and the admin's decision on it after comparing safety
//! numbers. The Welcome itself is taken by the sync (`sync::mailbox`).

use consilium_groups::{
    AccountKey, Circle, NoteKey, Provider, join_note, key_package_owner, safety_number,
};
use consilium_model::Timestamp;
use consilium_model::app::MemberProfile;
use consilium_model::invite::Invite;
use consilium_model::wire::{RedeemInvitation, RegisterInvitation};
use consilium_store::{CircleRecord, JoinRequest, PendingJoin};
use serde_bytes::ByteBuf;

use super::{ApprovalCheck, JoinRequestInfo, JoinSent, account_key, key_publish};
use crate::engine::Engine;
use crate::error::{ClientError, Result};
use crate::sync::payload::Queued;
use crate::sync::queue::{enqueue, random};

/// How long an invite code can be redeemed.
const INVITE_LIFETIME_MS: i64 = 7 * 24 * 3600 * 1000;

impl Engine {
    /// A one-line invite code for a colleague, usable once within a week.
    pub fn invite(&mut self, circle: &str) -> Result<String> {
        let c = self.resolve_circle(circle)?;
        // The join request goes to the inviter, who must be able to approve it.
        self.require_admin(&c.id)?;
        let token = random::<32>(&*self.config.entropy)?;
        let hash = ring::digest::digest(&ring::digest::SHA256, &token);
        let register = RegisterInvitation {
            token_hash: ByteBuf::from(hash.as_ref().to_vec()),
            expires_at: self.config.clock.now().0 + INVITE_LIFETIME_MS,
        };
        // The other admins may approve the request: their Welcome is the joiner's to take too.
        let me = self.identity.public_key();
        let admins = Circle::load(&Provider::new(self.vault.db().connection()), &c.id)?
            .map(|g| g.roles())
            .transpose()?
            .flatten()
            .map(|r| r.admins)
            .unwrap_or_default()
            .into_iter()
            .filter(|a| *a != me)
            .map(|a| ByteBuf::from(a.to_vec()))
            .collect();
        // The joiner's name and specialty are sealed to a key made for this code alone.
        let note_seed = random::<32>(&*self.config.entropy)?;
        let note_key = NoteKey::from_seed(&note_seed).public()?;
        let client = self.net.client(&c.relay)?;
        self.net.run(client.register_invitation(&c.id, &register))?;
        self.vault.db().membership().add_note_key(
            &note_key,
            &c.id,
            &note_seed,
            Timestamp(register.expires_at),
        )?;
        let pin = self
            .vault
            .db()
            .membership()
            .relay_pin(&consilium_model::wire::origin(&c.relay))?
            .map(|pin| ByteBuf::from(pin.to_vec()));
        let invite = Invite {
            relay: c.relay,
            circle: ByteBuf::from(c.id),
            token: ByteBuf::from(token.to_vec()),
            inviter: ByteBuf::from(self.identity.public_key().to_vec()),
            relay_key_sha256: pin,
            circle_name: c.name,
            admins,
            note_key: Some(ByteBuf::from(note_key)),
        };
        invite
            .to_code()
            .map_err(|e| ClientError::Internal(format!("encoding the invite code: {e}")))
    }

    /// `pin_relay_key` with the pin as a person types it: 64 hex digits.
    pub fn pin_relay_key_hex(&mut self, relay: &str, hex_text: &str) -> Result<()> {
        let pin: [u8; 32] = hex::decode(hex_text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                ClientError::Invalid(
                    "a relay key is the 64 hex digits of the SHA-256 of the relay's public key"
                        .into(),
                )
            })?;
        self.pin_relay_key(relay, pin)
    }

    /// Trusts the self-hosted relay at `relay` by its key alone: the SHA-256 of its
    /// SubjectPublicKeyInfo (`openssl x509 -in CERT -pubkey -noout | openssl pkey -pubin -outform
    /// der | sha256sum`). Refused when the relay is pinned to another key already, or already
    /// reached through the system's roots by a circle of ours (a pin would then let whoever
    /// holds that key stand in for it).
    pub fn pin_relay_key(&mut self, relay: &str, pin: [u8; 32]) -> Result<()> {
        consilium_model::RelayAddress::parse(relay)
            .map_err(|e| ClientError::Invalid(e.to_string()))?;
        let relay = consilium_model::wire::origin(relay);
        let db = self.vault.db();
        let pinned = db.membership().relay_pin(&relay)?;
        let reached = db
            .circles()
            .all()?
            .iter()
            .any(|c| consilium_model::wire::origin(&c.relay) == relay);
        if pinned.is_none() && reached {
            return Err(ClientError::Invalid(format!(
                "your circles reach {relay} through its certificate authority; a pinned key for \
                 it is refused"
            )));
        }
        db.membership()
            .pin_relay(&relay, &pin)
            .map_err(|e| match e {
                consilium_store::StoreError::Refused(why) => ClientError::Untrusted(why),
                e => e.into(),
            })?;
        self.net.pin(&relay, pin);
        Ok(())
    }

    /// Redeems an invite code: the circle's admins get a join request with this profile's name,
    /// specialty and a key package; the Welcome arrives with a later `sync`.
    pub fn join(&mut self, code: &str) -> Result<JoinSent> {
        let invite = Invite::parse(code).map_err(|e| ClientError::Invalid(e.to_string()))?;
        if self.vault.db().circles().get(&invite.circle).is_ok() {
            return Err(ClientError::Invalid(
                "you are already in this circle".into(),
            ));
        }
        let inviter: AccountKey = invite.inviter[..]
            .try_into()
            .map_err(|_| ClientError::Invalid("a bad inviter key".into()))?;
        if let Some(pin) = &invite.relay_key_sha256 {
            let pin: [u8; 32] = pin[..]
                .try_into()
                .map_err(|_| ClientError::Invalid("a bad relay key pin".into()))?;
            self.pin_relay_key(&invite.relay, pin)?;
        }
        let client = self.net.client(&invite.relay)?;
        let now = self.config.clock.now();
        let identity = self.identity_at(&invite.relay);
        let upload =
            key_publish::key_package_upload(self.vault.db().connection(), identity, 1, now)?;
        let key_package = upload
            .packages
            .into_iter()
            .find(|p| !p.last_resort)
            .ok_or_else(|| ClientError::Internal("no key package was made".into()))?
            .mls;
        // Who we are goes sealed to the inviter, or not at all: the relay reads neither.
        let note = match &invite.note_key {
            Some(to) => {
                let profile = self.vault.db().profile()?;
                let note = consilium_model::codec::to_cbor(&MemberProfile {
                    name: profile.name,
                    specialty: profile.specialty,
                })
                .map_err(|e| ClientError::Internal(format!("encoding the join note: {e}")))?;
                join_note::seal(identity, to, &invite.circle, &key_package, &note)?
            }
            None => Vec::new(),
        };
        self.net.run(client.redeem_invitation(&RedeemInvitation {
            token: invite.token.clone(),
            key_package,
            note: ByteBuf::from(note),
        }))?;
        let name = if invite.circle_name.trim().is_empty() {
            let id: String = hex::encode(&invite.circle).chars().take(8).collect();
            format!("circle {id}")
        } else {
            invite.circle_name.clone()
        };
        self.vault.db().membership().add_pending_join(
            &PendingJoin {
                circle: invite.circle.to_vec(),
                relay: invite.relay.clone(),
                name: name.clone(),
                inviter: hex::encode(inviter),
                admins: invite.admins.iter().map(hex::encode).collect(),
            },
            now,
        )?;
        Ok(JoinSent {
            circle: hex::encode(&invite.circle),
            name,
            relay: invite.relay,
            inviter_safety_number: safety_number(&self.identity.public_key(), &inviter).to_string(),
        })
    }

    /// Join requests of a circle still waiting for a decision.
    pub fn join_requests(&self, circle: &str) -> Result<Vec<JoinRequestInfo>> {
        let c = self.resolve_circle(circle)?;
        let mine = self.identity.public_key();
        let members: Vec<String> = self
            .group(&c.id)?
            .members()?
            .iter()
            .map(hex::encode)
            .collect();
        let mut out = Vec::new();
        for r in self.vault.db().membership().join_requests(&c.id, None)? {
            if r.state != "pending"
                && r.state != "approving"
                && r.state != consilium_store::APPROVING_UNCHECKED
            {
                continue;
            }
            let returning = members.contains(&r.account);
            out.push(JoinRequestInfo {
                safety_number: safety_number(&mine, &account_key(&r.account)?).to_string(),
                id: r.id,
                account: r.account,
                name: r.name,
                specialty: r.specialty,
                received_at: r.received_at,
                returning,
                state: r.state,
            });
        }
        Ok(out)
    }

    fn pending_request(&self, c: &CircleRecord, request: i64) -> Result<JoinRequest> {
        let r = self.vault.db().membership().join_request(request)?;
        if r.circle != c.id {
            return Err(ClientError::Invalid(format!(
                "request {request} is not for circle '{}'",
                c.name
            )));
        }
        if r.state != "pending" {
            return Err(ClientError::Invalid(format!(
                "request {request} is already {}",
                r.state
            )));
        }
        Ok(r)
    }

    /// Adds the requester to the circle (queued: it goes with the next sync), once their safety
    /// number was compared: `check` is the number as read back with them (the requester is then
    /// verified), or an explicit `WithoutChecking`, which is recorded as such. A fresh key
    /// package of theirs is claimed from the relay when it has one; the one that came with the
    /// request is used otherwise (offline, or none left).
    pub fn approve(&mut self, circle: &str, request: i64, check: &ApprovalCheck) -> Result<()> {
        let c = self.resolve_circle(circle)?;
        let mut r = self.pending_request(&c, request)?;
        // A member's new device (a restored laptop) may be let in by any member: it changes no
        // one's membership. Anyone else is added by an admin.
        let returning = self
            .group(&c.id)?
            .members()?
            .iter()
            .any(|m| hex::encode(m) == r.account);
        if !returning {
            self.require_admin(&c.id)?;
        }
        let checked = match check {
            ApprovalCheck::SafetyNumber(typed) => {
                let number = safety_number(&self.identity.public_key(), &account_key(&r.account)?);
                if !number.matches(typed) {
                    return Err(ClientError::Invalid(
                        "the safety number does not match the one this profile computes for the \
                         requester; compare it again with them, by phone or in person, and if it \
                         still differs do not approve"
                            .into(),
                    ));
                }
                true
            }
            ApprovalCheck::WithoutChecking => false,
        };
        let owner_of =
            |kp: &[u8]| key_package_owner(&Provider::new(self.vault.db().connection()), kp);
        let requester = owner_of(&r.key_package)?;
        if hex::encode(requester.identity) != r.account {
            return Err(ClientError::Untrusted(
                "the request's key package is not the requester's".into(),
            ));
        }
        // A fresh package of the same device, from the relay, when it has one.
        let client = self.net.client(&c.relay)?;
        if let Ok(fresh) = self
            .net
            .run(client.claim_key_package(&hex::encode(requester.device), &c.id))
            && owner_of(&fresh).ok() == Some(requester)
        {
            r.key_package = fresh;
        }
        let now = self.config.clock.now();
        let entropy = self.config.entropy.clone();
        self.vault.db_mut().atomically(|db| {
            let state = if checked {
                db.membership().set_verified(&r.account, &r.name, now)?;
                "approving"
            } else {
                consilium_store::APPROVING_UNCHECKED
            };
            db.membership().set_join_request_state(request, state)?;
            let add = Queued::Add {
                request,
                key_package: ByteBuf::from(r.key_package.clone()),
            };
            enqueue(db, &*entropy, &c.id, &add, now).map(drop)
        })
    }

    pub fn decline(&mut self, circle: &str, request: i64) -> Result<()> {
        let c = self.resolve_circle(circle)?;
        self.pending_request(&c, request)?;
        Ok(self
            .vault
            .db()
            .membership()
            .set_join_request_state(request, "declined")?)
    }
}
