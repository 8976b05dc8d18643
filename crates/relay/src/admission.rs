//! Who may use the relay. In `invite` mode (the default) an account exists only once the
//! operator admitted it (`consilium-relay admit` prints a one-time enrolment code its owner
//! redeems) or it redeemed a valid circle invitation; any other request from an unknown key is
//! 401 `not_admitted`, decided from the headers before its body is read. `open` admits every
//! key, and is allowed only on a loopback address (the desktop app's embedded relay).

use std::collections::HashSet;
use std::sync::RwLock;

use crate::auth::Account;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Admission {
    /// Any key is an account.
    Open,
    /// Only admitted accounts.
    #[default]
    Invite,
}

impl std::str::FromStr for Admission {
    type Err = String;

    fn from_str(s: &str) -> Result<Admission, String> {
        match s {
            "open" => Ok(Admission::Open),
            "invite" => Ok(Admission::Invite),
            other => Err(format!("admission is 'open' or 'invite', not '{other}'")),
        }
    }
}

/// The admitted accounts, held in memory so the check costs no database read; the database's
/// `accounts` table is the truth, loaded at start and written before this is updated.
#[derive(Debug)]
pub(crate) struct Admitted {
    mode: Admission,
    accounts: RwLock<HashSet<Account>>,
    /// Devices replaced by another of their physician's: refused in every mode, on every route.
    revoked: RwLock<HashSet<Account>>,
}

impl Admitted {
    pub(crate) fn new(mode: Admission, accounts: Vec<Account>, revoked: Vec<Account>) -> Admitted {
        Admitted {
            mode,
            accounts: RwLock::new(accounts.into_iter().collect()),
            revoked: RwLock::new(revoked.into_iter().collect()),
        }
    }

    pub(crate) fn allows(&self, account: &Account) -> bool {
        !self.is_revoked(account)
            && (self.mode == Admission::Open
                || self
                    .accounts
                    .read()
                    .map(|a| a.contains(account))
                    .unwrap_or(false))
    }

    pub(crate) fn is_revoked(&self, account: &Account) -> bool {
        self.revoked
            .read()
            .map(|r| r.contains(account))
            .unwrap_or(true)
    }

    /// After the database recorded `account` as revoked.
    pub(crate) fn revoke(&self, account: Account) {
        if let Ok(mut r) = self.revoked.write() {
            r.insert(account);
        }
        if let Ok(mut a) = self.accounts.write() {
            a.remove(&account);
        }
    }

    /// After the database recorded `account` as admitted.
    pub(crate) fn add(&self, account: Account) {
        if let Ok(mut a) = self.accounts.write() {
            a.insert(account);
        }
    }
}

/// Makes a one-time enrolment code for one account, usable for `ENROLMENT_LIFETIME_MS` from
/// `now`, and records its hash: 128 random bits, shown in groups of four hex digits. The relay
/// compares codes without case, spaces or dashes.
pub fn new_enrolment_code(
    data_dir: &std::path::Path,
    database: &crate::store::DatabaseLocation,
    now: i64,
) -> crate::error::Result<String> {
    use ring::rand::SecureRandom as _;
    let mut secret = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut secret)
        .map_err(|_| crate::error::RelayError::Internal("no randomness".into()))?;
    let digits = hex::encode(secret);
    let hash: [u8; 32] = ring::digest::digest(&ring::digest::SHA256, digits.as_bytes())
        .as_ref()
        .try_into()
        .map_err(|_| crate::error::RelayError::Internal("a digest is 32 bytes".into()))?;
    crate::store::Store::record_enrolment(
        data_dir,
        database,
        &hash,
        now.saturating_add(crate::store::ENROLMENT_LIFETIME_MS),
    )?;
    let groups: Vec<&str> = (0..digits.len())
        .step_by(4)
        .map(|i| &digits[i..i + 4])
        .collect();
    Ok(groups.join("-"))
}

/// An enrolment code as typed or pasted: case, spaces and dashes do not matter.
pub(crate) fn normalised_code(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}
