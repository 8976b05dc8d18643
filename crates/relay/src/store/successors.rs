//! Who speaks for an account that moved from a key of before the device split to its device
//! key (`device_moves`): read inside the store's transactions, importing nothing of the store
//! but its SQL interface.

use super::sql::{Sql, args};
use crate::auth::Account;
use crate::error::Result;

/// The account that now speaks for `account`: its device, if it moved; else itself.
pub(super) fn successor(c: &dyn Sql, account: &Account) -> Result<Account> {
    let to = c.optional(
        "SELECT new_account FROM device_moves WHERE old_account = ?1",
        args![account],
    )?;
    Ok(match to {
        Some(row) => row.get::<Option<Account>>(0)?.unwrap_or(*account),
        None => *account,
    })
}

/// The key of before the split that `account` moved from, if it did.
pub(super) fn predecessor(c: &dyn Sql, account: &Account) -> Result<Option<Account>> {
    match c.optional(
        "SELECT old_account FROM device_moves WHERE new_account = ?1",
        args![account],
    )? {
        Some(row) => row.get(0),
        None => Ok(None),
    }
}
