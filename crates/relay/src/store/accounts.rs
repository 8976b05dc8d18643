//! Admission's records: the accounts the relay admitted (by the operator's enrolment code, or by
//! redeeming a circle's invitation), and the enrolment codes, kept hashed, usable once.

use std::path::Path;

use super::Store;
use super::group_commit::Pending;
use super::sql::{Sql, args};
use crate::auth::Account;
use crate::error::{RelayError, Result};

impl Store {
    /// Every revoked device (to load the admission cache at start-up).
    pub fn revoked_accounts(&self) -> Result<Vec<Account>> {
        self.read(|c| accounts_in(c, "SELECT account FROM revoked_devices"))
    }

    /// Every admitted account (to load the admission cache at start-up).
    pub fn admitted_accounts(&self) -> Result<Vec<Account>> {
        self.read(|c| accounts_in(c, "SELECT account FROM accounts"))
    }

    /// Records a one-time enrolment code's hash in the relay's database (`relay.db` in the data
    /// folder `data_dir`, or the PostgreSQL `database` names), usable until `expires_at`: what
    /// `consilium-relay admit` does, with the relay running or not. It opens one connection of
    /// its own and touches nothing else (no start-up sweep), so a running relay's work is
    /// undisturbed.
    pub fn record_enrolment(
        data_dir: &Path,
        database: &super::DatabaseLocation,
        code_hash: &[u8; 32],
        expires_at: i64,
    ) -> Result<()> {
        const RECORD: &str = "INSERT INTO enrolments (code_hash, expires_at) VALUES (?1, ?2)";
        match database {
            super::DatabaseLocation::DataFolder => {
                crate::private_files::private_dir(data_dir)
                    .map_err(|e| RelayError::Internal(e.to_string()))?;
                let mut c = super::engine::connect(&data_dir.join("relay.db"))?;
                super::migrations::migrate(&mut c)?;
                Sql::execute(&c, RECORD, args![code_hash, expires_at])?;
            }
            super::DatabaseLocation::Postgres(url) => {
                let pool = super::sql::postgres::pool(url, 1)?;
                super::migrations::migrate_postgres(&pool)?;
                super::sql::postgres::write(&pool, &|c| {
                    c.execute(RECORD, args![code_hash, expires_at])
                })?;
            }
        }
        Ok(())
    }

    /// Uses an enrolment code: `account` is admitted. A code used by this same account already
    /// admits it again (a retry); any other use of a used, unknown or expired code is refused.
    pub fn enrol(&self, account: &Account, code: &[u8], now: i64) -> Pending<()> {
        let hash: [u8; 32] = ring::digest::digest(&ring::digest::SHA256, code)
            .as_ref()
            .try_into()
            .unwrap_or([0; 32]);
        let account = *account;
        self.write(move |c| {
            let found = c
                .optional(
                    "SELECT expires_at, used_by FROM enrolments WHERE code_hash = ?1",
                    args![&hash],
                )?
                .map(|r| Ok::<_, RelayError>((r.get::<i64>(0)?, r.get::<Option<Vec<u8>>>(1)?)))
                .transpose()?;
            match found {
                Some((_, Some(by))) if by == account.0 => return Ok(()),
                Some((expires_at, None)) if expires_at > now => {}
                _ => return Err(RelayError::EnrolmentInvalid),
            }
            c.execute(
                "UPDATE enrolments SET used_by = ?2 WHERE code_hash = ?1",
                args![&hash, &account],
            )?;
            admit(c, &account, "enrolment", now)
        })
    }
}

/// The accounts a one-column query lists (a value that is not a key is skipped).
fn accounts_in(c: &dyn Sql, query: &str) -> Result<Vec<Account>> {
    Ok(c.query(query, args![])?
        .iter()
        .filter_map(|r| r.get::<Account>(0).ok())
        .collect())
}

/// Admits `account` (inside the caller's transaction).
pub(super) fn admit(c: &dyn Sql, account: &Account, how: &str, now: i64) -> Result<()> {
    c.execute(
        "INSERT INTO accounts (account, admitted_at, how) VALUES (?1, ?2, ?3)
         ON CONFLICT DO NOTHING",
        args![account, now, how],
    )?;
    Ok(())
}

/// Revokes a device another of its physician's replaced: it is refused from now on, its key
/// packages (which would put it back) and its mailbox go, and it is admitted no longer.
pub(super) fn revoke(c: &dyn Sql, device: &Account, now: i64) -> Result<()> {
    c.execute(
        "INSERT INTO revoked_devices (account, revoked_at) VALUES (?1, ?2)
         ON CONFLICT DO NOTHING",
        args![device, now],
    )?;
    for sql in [
        "DELETE FROM key_packages WHERE account = ?1",
        "DELETE FROM mailbox WHERE account = ?1",
        "DELETE FROM accounts WHERE account = ?1",
    ] {
        c.execute(sql, args![device])?;
    }
    Ok(())
}
