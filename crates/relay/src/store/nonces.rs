//! Request nonces, remembered for the signature window so a request cannot be replayed. They
//! live in the database, so a request replayed to another instance is refused as well.

use super::Store;
use super::group_commit::Pending;
use super::sql::args;
use crate::auth::Account;
use crate::error::RelayError;

impl Store {
    /// Records a request nonce; a nonce seen before (within its window) is a replay.
    pub fn remember_nonce(
        &self,
        account: &Account,
        nonce: &[u8; 16],
        expires_at: i64,
    ) -> Pending<()> {
        let (account, nonce) = (*account, *nonce);
        self.write(move |c| {
            let inserted = c.execute(
                "INSERT INTO nonces (account, nonce, expires_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO NOTHING",
                args![&account, &nonce, expires_at],
            )?;
            if inserted == 0 {
                Err(RelayError::Replayed)
            } else {
                Ok(())
            }
        })
    }

    /// Forgets nonces whose requests can no longer be accepted anyway (outside the window).
    pub fn forget_expired_nonces(&self, now: i64) -> Pending<u64> {
        self.write(move |c| c.execute("DELETE FROM nonces WHERE expires_at < ?1", args![now]))
    }
}
