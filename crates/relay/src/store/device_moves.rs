//! A profile of before the device split had one key as identity, MLS leaf and relay account.
//! It moves here to a device key of its own, which its (identity) key certified: the old account
//! is revoked and what it held passes to the new one in the same transaction. Until each of its
//! circles is told (a commit whose update path gives its leaf the new key), a leaf may still
//! name the old key; the new account speaks for it (`predecessor`), and anything addressed to
//! the old account reaches the new one (`successor`, in `successors`).

use super::Store;
use super::accounts::{admit, revoke};
use super::group_commit::Pending;
use super::sql::args;
use crate::auth::Account;
use crate::error::RelayError;

/// The tables whose rows name an account, the column that does, and the rest of its key when
/// that column is part of one: they pass to the new device. (Nonces stay with the key that
/// signed them; key packages and the old mailbox are handled by revocation, the mailbox first
/// moved.)
const HELD: &[(&str, &str, Option<&str>)] = &[
    ("members", "account", Some("group_id")),
    ("mailbox", "account", None),
    ("cursors", "account", Some("group_id")),
    ("blobs", "uploader", None),
    ("invitations", "inviter", None),
    ("join_requests", "joiner", Some("group_id")),
];

impl Store {
    /// Moves the account `old` (a key of before the split) to the device key `certificate`
    /// names: the certificate must verify and be `old`'s own, for another key (a device key of
    /// after the split never moves this way: a new laptop asks to be let back in). Done once:
    /// the same move again is a retry and succeeds; another device for the same key is a
    /// conflict. Returns the device.
    pub fn move_to_device(&self, old: &Account, certificate: &[u8], now: i64) -> Pending<Account> {
        let keys = match consilium_model::device::certificate_keys(certificate) {
            Ok(keys) => keys,
            Err(e) => return Pending::ready(Err(RelayError::BadRequest(e.to_string()))),
        };
        if keys.identity != old.0 || keys.device == old.0 {
            return Pending::ready(Err(RelayError::Forbidden));
        }
        let (old, device) = (*old, Account(keys.device));
        self.write(move |c| {
            let moved: Option<Vec<u8>> = match c.optional(
                "SELECT new_account FROM device_moves WHERE old_account = ?1",
                args![&old],
            )? {
                Some(row) => Some(row.get(0)?),
                None => None,
            };
            match moved {
                Some(to) if to == device.0 => return Ok(device),
                Some(_) => return Err(RelayError::Conflict),
                None => {}
            }
            // The device key is new: never an account that moved, was revoked, or holds a leaf.
            let known = c.exists(
                "SELECT 1 FROM device_moves WHERE old_account = ?1 OR new_account = ?1
                 UNION SELECT 1 FROM revoked_devices WHERE account = ?1
                 UNION SELECT 1 FROM members WHERE account = ?1",
                args![&device],
            )?;
            if known {
                return Err(RelayError::BadRequest(
                    "the device key is not a new one".into(),
                ));
            }
            c.execute(
                "INSERT INTO device_moves (old_account, new_account, moved_at) VALUES (?1, ?2, ?3)",
                args![&old, &device, now],
            )?;
            for (table, column, rest_of_key) in HELD {
                // A row the new account holds already stays, the old one goes.
                let unless_held = rest_of_key.map_or(String::new(), |k| {
                    format!(
                        " AND NOT EXISTS (SELECT 1 FROM {table} AS held
                          WHERE held.{column} = ?2 AND held.{k} = {table}.{k})"
                    )
                });
                c.execute(
                    &format!("UPDATE {table} SET {column} = ?2 WHERE {column} = ?1{unless_held}"),
                    args![&old, &device],
                )?;
                c.execute(
                    &format!("DELETE FROM {table} WHERE {column} = ?1"),
                    args![&old],
                )?;
            }
            admit(c, &device, "device move", now)?;
            revoke(c, &old, now)?;
            Ok(device)
        })
    }
}
