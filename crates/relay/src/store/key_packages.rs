//! The key-package directory: each account's published packages, each handed out once, except
//! the last-resort one.

use super::Store;
use super::group_commit::Pending;
use super::sql::args;
use crate::auth::Account;
use crate::error::RelayError;

/// The longest a key package is kept, whatever expiry its owner asks for: the MLS lifetime
/// clients give their packages.
pub const KEY_PACKAGE_MAX_LIFETIME_MS: i64 = 28 * 24 * 3600 * 1000;

impl Store {
    /// Publishes `packages` (body, last resort, the expiry the owner asks for) at `now`; each
    /// expiry is clamped to `KEY_PACKAGE_MAX_LIFETIME_MS` from now.
    pub fn add_key_packages(
        &self,
        account: &Account,
        packages: Vec<(Vec<u8>, bool, i64)>,
        now: i64,
    ) -> Pending<()> {
        let account = *account;
        let latest = now.saturating_add(KEY_PACKAGE_MAX_LIFETIME_MS);
        self.write(move |c| {
            let held: u64 = c
                .one("SELECT count(*) FROM key_packages WHERE account = ?1", args![&account])?
                .get(0)?;
            if held + packages.len() as u64 > 200 {
                return Err(RelayError::QuotaExceeded);
            }
            if packages.iter().any(|p| p.1) {
                // One last-resort package per account: a new one replaces the old.
                c.execute(
                    "DELETE FROM key_packages WHERE account = ?1 AND last_resort = 1",
                    args![&account],
                )?;
            }
            for (body, last_resort, expires_at) in &packages {
                c.execute(
                    "INSERT INTO key_packages (account, body, last_resort, expires_at) VALUES (?1, ?2, ?3, ?4)",
                    args![&account, body, *last_resort, (*expires_at).min(latest)],
                )?;
            }
            Ok(())
        })
    }

    /// Hands out one unexpired key package of `owner` to `claimer`, a member (an admin, when the
    /// circle has roles) of `group_id` which `owner` asked to join (by redeeming its invitation): an ordinary one at most once
    /// (deleted in the same transaction), else the last-resort one, which stays. Anyone else
    /// is told there is none, so nobody can drain another account's packages.
    pub fn claim_key_package(
        &self,
        claimer: &Account,
        owner: &Account,
        group_id: &[u8],
        now: i64,
    ) -> Pending<Vec<u8>> {
        let (claimer, owner, group_id) = (*claimer, *owner, group_id.to_vec());
        self.write(move |c| {
            let asked = c.exists(
                "SELECT 1 FROM join_requests WHERE group_id = ?1 AND joiner = ?2",
                args![&group_id, &owner],
            )?;
            if !asked || !Self::is_member(c, &group_id, &claimer)? {
                return Err(RelayError::NoKeyPackage);
            }
            // In a circle with roles, only an admin adds members, so only an admin claims.
            let state: Option<Vec<u8>> = c
                .one("SELECT public_state FROM groups WHERE id = ?1", args![&group_id])?
                .get(0)?;
            if let Some(state) = state.filter(|s| !s.is_empty()) {
                let admins = crate::handshake::admins_of_record(&state)?;
                if !admins.is_empty() && !admins.contains(&claimer) {
                    return Err(RelayError::NoKeyPackage);
                }
            }
            c.execute(
                "DELETE FROM key_packages WHERE account = ?1 AND expires_at <= ?2",
                args![&owner, now],
            )?;
            let Some(found) = c.optional(
                "SELECT id, body, last_resort FROM key_packages WHERE account = ?1 ORDER BY last_resort, id LIMIT 1",
                args![&owner],
            )?
            else {
                return Err(RelayError::NoKeyPackage);
            };
            if !found.get::<bool>(2)? {
                c.execute("DELETE FROM key_packages WHERE id = ?1", args![found.get::<i64>(0)?])?;
            }
            found.get(1)
        })
    }
}
