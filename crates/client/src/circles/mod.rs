//! Circles, as the faces use them: the identity, creating circles, members and their safety
//! numbers, and the group operations (remove, leave, rotate). Anything that must reach the circle
//! is queued in the outbox in the same transaction as the local change; `Engine::sync` sends it.
//! `joining` is invite codes, join requests and approvals; `sharing` is the cases' side (share,
//! revise, comment, poll, vote); `key_publish` keeps key packages at the relays for those who
//! would add us.

mod joining;
mod key_publish;
mod readmission;
mod retention;
mod sharing;

pub use sharing::PollView;

use consilium_groups::{AccountKey, Circle, Provider, safety_number};
use consilium_model::app::{AppMessage, MemberProfile};
use consilium_model::{CaseFilter, CaseSummary, Timestamp};
use consilium_store::CircleRecord;
use serde::Serialize;
use serde_bytes::ByteBuf;

use crate::engine::{Engine, identity_at};
use crate::error::{ClientError, Result};
use crate::sync::payload::Queued;
use crate::sync::queue::{app, enqueue};

const MAX_CIRCLE_NAME_CHARS: usize = 120;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct IdentityInfo {
    /// The physician's identity key in hex: who colleagues know (and verify) them as.
    pub account: String,
    /// This laptop's device key in hex, which the identity key certifies: its relay account.
    pub device: String,
    pub name: String,
    pub specialty: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CircleInfo {
    pub id: String,
    pub name: String,
    pub relay: String,
    pub epoch: u64,
    /// Eight digits of this epoch's authenticator: the same for every member at this epoch,
    /// different for a member the relay showed another circle (compared beside safety numbers).
    pub epoch_code: String,
    pub members: usize,
    /// How many days members keep the cases received here (`None`: for ever).
    pub retention_days: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum Verification {
    Verified,
    Unverified,
    /// Someone verified under this name before now has another key.
    Changed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MemberInfo {
    pub account: String,
    pub name: String,
    pub specialty: String,
    pub is_me: bool,
    /// An admin of the circle: invites, adds and removes members.
    pub admin: bool,
    /// The safety number of this profile and the member, as 12 groups of 5 digits.
    pub safety_number: String,
    pub verification: Verification,
    /// Another member of the circle goes by a name that looks the same (case, spacing and
    /// look-alike letters of other scripts aside): the faces
    /// show the account beside it, so a newcomer calling herself "Dr Alice" is told apart.
    pub name_shared: bool,
}

/// How an admin checked a requester before approving: the safety number as read back with
/// them, or, said in so many words, not at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApprovalCheck {
    SafetyNumber(String),
    WithoutChecking,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct JoinRequestInfo {
    pub id: i64,
    pub account: String,
    pub name: String,
    pub specialty: String,
    pub safety_number: String,
    pub received_at: Timestamp,
    pub state: String,
    /// A member of the circle asking back in from a new laptop (a restored profile): any member
    /// may let it in, and the lost laptop goes out with the same commit.
    pub returning: bool,
}

/// A join request sent with an invite code, waiting for the circle's approval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct JoinSent {
    pub circle: String,
    pub name: String,
    pub relay: String,
    /// The safety number of this profile and the inviter, to compare with them.
    pub inviter_safety_number: String,
}

fn account_key(account: &str) -> Result<AccountKey> {
    let bytes = hex::decode(account).map_err(|_| ClientError::Invalid("a bad account".into()))?;
    bytes
        .try_into()
        .map_err(|_| ClientError::Invalid("a bad account".into()))
}

impl Engine {
    pub fn identity(&self) -> Result<IdentityInfo> {
        let profile = self.vault.db().profile()?;
        Ok(IdentityInfo {
            account: self.identity.account_id(),
            device: self.identity.device_account_id(),
            name: profile.name,
            specialty: profile.specialty,
        })
    }

    /// The circles this profile is in.
    pub fn circles(&self) -> Result<Vec<CircleInfo>> {
        self.vault
            .db()
            .circles()
            .all()?
            .into_iter()
            .map(|c| self.circle_info(c))
            .collect()
    }

    /// One circle, by its name or a prefix of its id.
    pub fn circle(&self, name_or_id: &str) -> Result<CircleInfo> {
        let c = self.resolve_circle(name_or_id)?;
        self.circle_info(c)
    }

    fn circle_info(&self, c: CircleRecord) -> Result<CircleInfo> {
        let group = self.group(&c.id)?;
        Ok(CircleInfo {
            id: hex::encode(&c.id),
            epoch: group.epoch(),
            epoch_code: group.epoch_code(),
            members: group.members()?.len(),
            retention_days: self.vault.db().circles().retention(&c.id)?,
            name: c.name,
            relay: c.relay,
        })
    }

    pub(crate) fn group(&self, circle: &[u8]) -> Result<Circle> {
        Circle::load(&Provider::new(self.vault.db().connection()), circle)?
            .ok_or_else(|| ClientError::Invalid("this profile is not in that circle".into()))
    }

    /// A circle by its name (any case) or a prefix of its id (at least 4 hex digits).
    pub fn resolve_circle(&self, name_or_id: &str) -> Result<CircleRecord> {
        let wanted = name_or_id.trim();
        let circles = self.vault.db().circles().all()?;
        let lower = wanted.to_lowercase();
        let matches: Vec<_> = circles
            .iter()
            .filter(|c| c.name.to_lowercase() == lower)
            .chain(circles.iter().filter(|c| {
                wanted.len() >= 4 && hex::encode(&c.id).starts_with(&lower) && c.name != wanted
            }))
            .collect();
        match matches.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(ClientError::Store(consilium_store::StoreError::NotFound {
                what: "circle",
                id: wanted.to_string(),
            })),
            _ => Err(ClientError::Invalid(format!(
                "'{wanted}' names more than one circle; use its id"
            ))),
        }
    }

    pub fn create_circle(&mut self, name: &str, relay: &str) -> Result<CircleInfo> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_CIRCLE_NAME_CHARS {
            return Err(ClientError::Invalid(
                "a circle name has 1 to 120 characters".into(),
            ));
        }
        if self.resolve_circle(name).is_ok() {
            return Err(ClientError::Invalid(format!(
                "you already have a circle named '{name}'"
            )));
        }
        let relay = relay.trim().trim_end_matches('/').to_string();
        let client = self.net.client(&relay)?;
        let now = self.config.clock.now();
        let profile = self.vault.db().profile()?;
        let net = &self.net;
        let identity = identity_at(&self.identity, self.before_split.as_ref(), net, &relay);
        let entropy = self.config.entropy.clone();
        let id = self.vault.db_mut().atomically(|db| {
            let provider = Provider::new(db.connection());
            let circle = Circle::create(&provider, identity)?;
            let id = circle.id();
            let state = crate::sync::relay_state(&circle.public_state(&provider, identity)?);
            db.circles().add(&id, name, &relay, now)?;
            let me = AppMessage::MemberProfile(MemberProfile {
                name: profile.name.clone(),
                specialty: profile.specialty.clone(),
            });
            enqueue(db, &*entropy, &id, &app(db, &id, &me)?, now)?;
            db.circles().set_member_profile(
                &id,
                &identity.account_id(),
                &profile.name,
                &profile.specialty,
            )?;
            // Last, so a refusal leaves nothing behind here.
            net.run(client.create_group(&id, state))?;
            Ok::<_, ClientError>(id)
        })?;
        self.circle_info(self.vault.db().circles().get(&id)?)
    }

    /// Redeems a relay operator's one-time enrolment code (`consilium-relay admit`), so this
    /// profile may create circles on a relay that admits only enrolled accounts.
    pub fn enrol(&mut self, relay: &str, code: &str) -> Result<()> {
        let relay = relay.trim().trim_end_matches('/');
        let client = self.net.client(relay)?;
        self.net.run(client.enrol(code.trim()))
    }

    /// The members as MLS knows them, with what they said of themselves and their safety number.
    pub fn members(&self, circle: &str) -> Result<Vec<MemberInfo>> {
        let c = self.resolve_circle(circle)?;
        let db = self.vault.db();
        let profiles = db.circles().member_profiles(&c.id)?;
        let verified = db.membership().verified_accounts()?;
        let mine = self.identity.public_key();
        let group = self.group(&c.id)?;
        let roles = group.roles()?;
        let accounts = group.members()?;
        let current: Vec<String> = accounts.iter().map(hex::encode).collect();
        let mut out = Vec::new();
        for key in accounts {
            let account = hex::encode(key);
            let (name, specialty) = profiles
                .iter()
                .find(|p| p.0 == account)
                .map(|p| (p.1.clone(), p.2.clone()))
                .unwrap_or_default();
            let verification = if verified.iter().any(|v| v.0 == account) {
                Verification::Verified
            } else if !name.is_empty()
                && verified
                    .iter()
                    .any(|v| v.1 == name && v.0 != account && !current.contains(&v.0))
            {
                Verification::Changed
            } else {
                Verification::Unverified
            };
            out.push(MemberInfo {
                is_me: key == mine,
                admin: roles.as_ref().is_some_and(|r| r.is_admin(&key)),
                safety_number: safety_number(&mine, &key).to_string(),
                account,
                name,
                specialty,
                verification,
                name_shared: false,
            });
        }
        // Names compared as they look (Unicode TR39 skeletons: Cyrillic "а" is Latin "a",
        // invisible characters are dropped), case and spacing aside.
        let folded = |name: &str| {
            let looks: String = unicode_security::skeleton(&name.to_lowercase()).collect();
            let looks: String = unicode_security::skeleton(&looks.to_lowercase()).collect();
            looks.split_whitespace().collect::<Vec<_>>().join(" ")
        };
        let names: Vec<String> = out.iter().map(|m| folded(&m.name)).collect();
        for (i, m) in out.iter_mut().enumerate() {
            m.name_shared = !names[i].is_empty()
                && names
                    .iter()
                    .enumerate()
                    .any(|(j, other)| j != i && *other == names[i]);
        }
        out.sort_by(|a, b| (!a.is_me, &a.name).cmp(&(!b.is_me, &b.name)));
        Ok(out)
    }

    /// A member by name (any case) or a prefix of their account id (at least 4 hex digits).
    fn resolve_member(&self, circle: &str, member: &str) -> Result<MemberInfo> {
        let wanted = member.trim().to_lowercase();
        let members = self.members(circle)?;
        let found: Vec<_> = members
            .into_iter()
            .filter(|m| {
                m.name.to_lowercase() == wanted
                    || (wanted.len() >= 4 && m.account.starts_with(&wanted))
            })
            .collect();
        match <[MemberInfo; 1]>::try_from(found) {
            Ok([one]) => Ok(one),
            Err(v) if v.is_empty() => Err(ClientError::Invalid(format!(
                "no member '{member}' in this circle"
            ))),
            Err(_) => Err(ClientError::Invalid(format!(
                "'{member}' names more than one member; use their account id"
            ))),
        }
    }

    /// Marks a member verified once the safety number the user read with them matches.
    pub fn verify_member(&mut self, circle: &str, member: &str, typed: &str) -> Result<MemberInfo> {
        let m = self.resolve_member(circle, member)?;
        let number = safety_number(&self.identity.public_key(), &account_key(&m.account)?);
        if !number.matches(typed) {
            return Err(ClientError::Invalid(
                "the safety number does not match the one this profile computes for that \
                 member; compare it again with them, in person or by a call, and if it still \
                 differs do not trust this member"
                    .into(),
            ));
        }
        let now = self.config.clock.now();
        self.vault
            .db()
            .membership()
            .set_verified(&m.account, &m.name, now)?;
        self.resolve_member(circle, &m.account)
    }

    fn queue_op(&mut self, circle: &[u8], op: &Queued) -> Result<()> {
        let now = self.config.clock.now();
        enqueue(self.vault.db(), &*self.config.entropy, circle, op, now).map(drop)
    }

    /// Removes a member: they can read nothing sent afterwards.
    pub fn remove_member(&mut self, circle: &str, member: &str) -> Result<MemberInfo> {
        let c = self.resolve_circle(circle)?;
        let m = self.resolve_member(circle, member)?;
        if m.is_me {
            return Err(ClientError::Invalid(
                "to leave a circle, use leave rather than remove".into(),
            ));
        }
        self.require_admin(&c.id)?;
        let key = account_key(&m.account)?;
        self.queue_op(&c.id, &Queued::Remove(vec![ByteBuf::from(key.to_vec())]))?;
        Ok(m)
    }

    /// Makes a member an admin of the circle too (queued: it goes with the next sync).
    pub fn make_admin(&mut self, circle: &str, member: &str) -> Result<MemberInfo> {
        let c = self.resolve_circle(circle)?;
        let m = self.resolve_member(circle, member)?;
        self.require_admin(&c.id)?;
        let key = account_key(&m.account)?;
        self.queue_op(&c.id, &Queued::Promote(ByteBuf::from(key.to_vec())))?;
        Ok(m)
    }

    /// Adding and removing others takes an admin of the circle (the relay and every member
    /// refuse it otherwise): say so before anything is queued.
    fn require_admin(&self, circle: &[u8]) -> Result<()> {
        let may = Circle::load(&Provider::new(self.vault.db().connection()), circle)?
            .map(|g| g.may_manage(&self.identity.public_key()))
            .transpose()?
            .unwrap_or(false);
        if may {
            Ok(())
        } else {
            Err(ClientError::Invalid(
                "only an admin of the circle invites, adds or removes members".into(),
            ))
        }
    }

    /// Asks the circle to remove this profile; it stops syncing once the request is delivered.
    pub fn leave(&mut self, circle: &str) -> Result<()> {
        let c = self.resolve_circle(circle)?;
        self.queue_op(&c.id, &Queued::Leave)
    }

    /// A fresh key for this profile in the circle.
    pub fn rotate_keys(&mut self, circle: &str) -> Result<()> {
        let c = self.resolve_circle(circle)?;
        self.queue_op(&c.id, &Queued::Rotate)
    }

    /// Cases received from or shared with a circle.
    pub fn circle_cases(&self, circle: &str, filter: &CaseFilter) -> Result<Vec<CaseSummary>> {
        let c = self.resolve_circle(circle)?;
        let filter = CaseFilter {
            circle: Some(c.id),
            ..filter.clone()
        };
        Ok(self.vault.db().cases().list(&filter)?)
    }
}
