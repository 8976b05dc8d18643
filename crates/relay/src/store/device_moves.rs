//! A profile of before the device split had one key as identity, MLS leaf and relay account.
//! It moves here to a device key of its own, which its (identity) key certified: the old account
//! is revoked and what it held passes to the new one in the same transaction. Until each of its
//! circles is told (a commit whose update path gives its leaf the new key), a leaf may still
//! name the old key; the new account speaks for it (`predecessor`), and anything addressed to
//! the old account reaches the new one (`successor`).

use rusqlite::{Connection, OptionalExtension, params};

use super::Store;
use super::accounts::{admit, revoke};
use super::group_commit::Pending;
use crate::auth::Account;
use crate::error::{RelayError, Result};

/// The tables whose rows name an account, and the column that does: they pass to the new
/// device. (Nonces stay with the key that signed them; key packages and the old mailbox are
/// handled by revocation, the mailbox first moved.)
const HELD: &[(&str, &str)] = &[
    ("members", "account"),
    ("mailbox", "account"),
    ("cursors", "account"),
    ("blobs", "uploader"),
    ("invitations", "inviter"),
    ("join_requests", "joiner"),
];

impl Store {
    /// Moves the account `old` (a key of before the split) to `device`, which `old` certified
    /// (the caller checked the certificate). Done once: the same move again is a retry and
    /// succeeds; another device for the same key is a conflict.
    pub fn move_to_device(&self, old: &Account, device: &Account, now: i64) -> Pending<()> {
        let (old, device) = (*old, *device);
        self.write(move |c| {
            let moved: Option<Vec<u8>> = c
                .prepare_cached("SELECT new_account FROM device_moves WHERE old_account = ?1")?
                .query_row([&old.0[..]], |r| r.get(0))
                .optional()?;
            match moved {
                Some(to) if to == device.0 => return Ok(()),
                Some(_) => return Err(RelayError::Conflict),
                None => {}
            }
            // The device key is new: never an account that moved, was revoked, or holds a leaf.
            let known = c
                .prepare_cached(
                    "SELECT 1 FROM device_moves WHERE old_account = ?1 OR new_account = ?1
                     UNION SELECT 1 FROM revoked_devices WHERE account = ?1
                     UNION SELECT 1 FROM members WHERE account = ?1",
                )?
                .exists([&device.0[..]])?;
            if known {
                return Err(RelayError::BadRequest(
                    "the device key is not a new one".into(),
                ));
            }
            c.prepare_cached(
                "INSERT INTO device_moves (old_account, new_account, moved_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![&old.0[..], &device.0[..], now])?;
            for (table, column) in HELD {
                // `OR IGNORE`: a row the new account holds already stays, the old one goes.
                c.execute(
                    &format!("UPDATE OR IGNORE {table} SET {column} = ?2 WHERE {column} = ?1"),
                    params![&old.0[..], &device.0[..]],
                )?;
                c.execute(
                    &format!("DELETE FROM {table} WHERE {column} = ?1"),
                    [&old.0[..]],
                )?;
            }
            admit(c, &device, "device move", now)?;
            revoke(c, &old, now)
        })
    }
}

/// The account that now speaks for `account`: its device, if it moved; else itself.
pub(super) fn successor(c: &Connection, account: &Account) -> Result<Account> {
    let to: Option<Vec<u8>> = c
        .prepare_cached("SELECT new_account FROM device_moves WHERE old_account = ?1")?
        .query_row([&account.0[..]], |r| r.get(0))
        .optional()?;
    Ok(to
        .and_then(|t| <[u8; 32]>::try_from(t).ok())
        .map_or(*account, Account))
}

/// The key of before the split that `account` moved from, if it did.
pub(super) fn predecessor(c: &Connection, account: &Account) -> Result<Option<Account>> {
    let from: Option<Vec<u8>> = c
        .prepare_cached("SELECT old_account FROM device_moves WHERE new_account = ?1")?
        .query_row([&account.0[..]], |r| r.get(0))
        .optional()?;
    Ok(from.and_then(|f| <[u8; 32]>::try_from(f).ok()).map(Account))
}
