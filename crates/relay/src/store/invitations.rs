//! Invitations: a circle's one-time tokens (kept hashed), redeemed once, before they expire, into
//! a join request in the admins' mailboxes.

use super::Store;
use super::accounts::admit;
use super::group_commit::Pending;
use super::mailbox::deliver;
use super::sql::args;
use crate::auth::Account;
use crate::error::RelayError;

/// The longest an invitation is kept, whatever expiry its inviter asks for.
pub const INVITATION_MAX_LIFETIME_MS: i64 = 14 * 24 * 3600 * 1000;

/// Records (or renews) that a joiner asked to join a group.
const JOIN_REQUEST: &str =
    "INSERT INTO join_requests (group_id, joiner, created_at) VALUES (?1, ?2, ?3)
     ON CONFLICT (group_id, joiner) DO UPDATE SET created_at = excluded.created_at";

impl Store {
    /// Registers a one-time token's hash for `group_id` at `now`; the expiry the inviter asks for
    /// is clamped to `INVITATION_MAX_LIFETIME_MS` from now.
    pub fn register_invitation(
        &self,
        inviter: &Account,
        group_id: &[u8],
        token_hash: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Pending<()> {
        let expires_at = expires_at.min(now.saturating_add(INVITATION_MAX_LIFETIME_MS));
        if token_hash.len() != 32 {
            return Pending::ready(Err(RelayError::BadRequest(
                "the token hash is a SHA-256".into(),
            )));
        }
        let (inviter, group_id, token_hash) = (*inviter, group_id.to_vec(), token_hash.to_vec());
        self.write(move |c| {
            if !Self::is_member(c, &group_id, &inviter)? {
                return Err(RelayError::Forbidden);
            }
            let n = c.execute(
                "INSERT INTO invitations (token_hash, group_id, inviter, expires_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT DO NOTHING",
                args![&token_hash, &group_id, &inviter, expires_at],
            )?;
            if n == 0 { Err(RelayError::Conflict) } else { Ok(()) }
        })
    }

    /// Uses a one-time token: stores a join request in the inviter's mailbox, admits the joiner
    /// to the relay, and lets the group's members claim the joiner's key packages.
    pub fn redeem_invitation(
        &self,
        joiner: &Account,
        token: &[u8],
        body: Vec<u8>,
        now: i64,
    ) -> Pending<Vec<u8>> {
        let hash = ring::digest::digest(&ring::digest::SHA256, token);
        let (joiner, hash) = (*joiner, hash.as_ref().to_vec());
        self.write(move |c| {
            let Some(found) = c.optional(
                "SELECT group_id, inviter FROM invitations WHERE token_hash = ?1 AND used = 0 AND expires_at > ?2",
                args![&hash, now],
            )?
            else {
                return Err(RelayError::InvitationInvalid);
            };
            let (group_id, inviter): (Vec<u8>, Vec<u8>) = (found.get(0)?, found.get(1)?);
            c.execute("UPDATE invitations SET used = 1 WHERE token_hash = ?1", args![&hash])?;
            let to: Account = found.get(1)?;
            deliver(c, &to, "join_request", &group_id, &joiner, &body, now)?;
            c.execute(JOIN_REQUEST, args![&group_id, &joiner, now])?;
            admit(c, &joiner, "invitation", now)?;
            Ok(inviter)
        })
    }

    /// A physician's new device (a restored profile) asks a group it was in to let it back in:
    /// its key package must be its own and name, in a certificate, an identity that is a member
    /// of the group on another device. Every member's device is sent the request (any of them
    /// may swap the old device's leaf for the new one); the device is admitted, to read its
    /// mailbox. A physician has one such request open per group: a later one supersedes it.
    /// Returns the devices told.
    pub fn request_readmission(
        &self,
        device: &Account,
        group: &[u8],
        body: Vec<u8>,
        key_package: Vec<u8>,
        now: i64,
    ) -> Pending<Vec<Account>> {
        let (device, group) = (*device, group.to_vec());
        self.write(move |c| {
            let state: Option<Vec<u8>> = match c
                .optional("SELECT public_state FROM groups WHERE id = ?1", args![&group])?
            {
                Some(row) => row.get(0)?,
                None => None,
            };
            let Some(state) = state.filter(|s| !s.is_empty()) else {
                return Err(RelayError::Forbidden);
            };
            let members = crate::handshake::member_keys_of_record(&state)?;
            let keys = crate::handshake::key_package_keys(&key_package)?;
            if keys.device != device.0 || !members.iter().any(|m| m.identity == keys.identity) {
                return Err(RelayError::Forbidden);
            }
            if members.iter().any(|m| m.device == keys.device) {
                return Err(RelayError::BadRequest("this device is a member already".into()));
            }
            // One request open per physician and group: an earlier one (another device of
            // hers, or this one asking again) leaves the members' mailboxes first.
            let earlier = c.optional(
                "SELECT device FROM readmissions WHERE group_id = ?1 AND identity = ?2",
                args![&group, &keys.identity],
            )?;
            if let Some(earlier) = earlier {
                let earlier: Vec<u8> = earlier.get(0)?;
                c.execute(
                    "DELETE FROM mailbox WHERE kind = 'join_request' AND group_id = ?1 AND sender = ?2",
                    args![&group, &earlier],
                )?;
                c.execute(
                    "DELETE FROM join_requests WHERE group_id = ?1 AND joiner = ?2",
                    args![&group, &earlier],
                )?;
            }
            c.execute(
                "INSERT INTO readmissions (group_id, identity, device, created_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (group_id, identity) DO UPDATE
                 SET device = excluded.device, created_at = excluded.created_at",
                args![&group, &keys.identity, &device, now],
            )?;
            let told: Vec<Account> = members.iter().map(|m| Account(m.device)).collect();
            for to in &told {
                deliver(c, to, "join_request", &group, &device, &body, now)?;
            }
            c.execute(JOIN_REQUEST, args![&group, &device, now])?;
            admit(c, &device, "readmission", now)?;
            Ok(told)
        })
    }
}
