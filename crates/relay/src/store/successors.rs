//! Who speaks for an account that moved from a key of before the device split to its device
//! key (`device_moves`): read inside the store's transactions, importing nothing of the store.

use rusqlite::{Connection, OptionalExtension};

use crate::auth::Account;
use crate::error::Result;

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
