//! What one instance of a relay tells the others (`wakeups`), and how its accounts are kept in
//! a row.

use crate::auth::Account;

/// How long a wake-up is kept for instances that were slow to read it.
pub const WAKEUP_LIFETIME_MS: i64 = 60_000;

/// The PostgreSQL channel wake-ups are announced on.
pub const WAKEUP_CHANNEL: &str = "consilium_wakeups";

/// A change other instances act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wakeup {
    /// Group `group_id` has data up to `seq`, for `members`.
    Group {
        group_id: Vec<u8>,
        seq: u64,
        members: Vec<Account>,
    },
    /// These accounts have mail.
    Mailbox(Vec<Account>),
    /// These accounts were admitted.
    Admit(Vec<Account>),
    /// These devices were revoked: refused from now on, their sockets closed.
    Revoke(Vec<Account>),
}

pub(super) fn joined(accounts: &[Account]) -> Vec<u8> {
    accounts.iter().flat_map(|a| a.0).collect()
}

pub(super) fn split(bytes: &[u8]) -> Vec<Account> {
    bytes
        .chunks_exact(32)
        .filter_map(|c| <[u8; 32]>::try_from(c).ok().map(Account))
        .collect()
}
