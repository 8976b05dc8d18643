//! Each account's mailbox: Welcomes and join requests addressed to it, until it acknowledges them.

use consilium_model::wire::{MailboxItem, MailboxKind};
use rusqlite::params;
use serde_bytes::ByteBuf;

use super::Store;
use super::group_commit::Pending;
use crate::auth::Account;
use crate::error::{RelayError, Result};

impl Store {
    pub fn mailbox(&self, account: &Account) -> Result<Vec<MailboxItem>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, kind, group_id, sender, body FROM mailbox WHERE account = ?1 ORDER BY id LIMIT 500",
            )?;
            let rows = stmt.query_map([&account.0[..]], |r| {
                Ok(MailboxItem {
                    id: r.get(0)?,
                    kind: if r.get::<_, String>(1)? == "welcome" { MailboxKind::Welcome } else { MailboxKind::JoinRequest },
                    group_id: ByteBuf::from(r.get::<_, Vec<u8>>(2)?),
                    sender: hex::encode(r.get::<_, Vec<u8>>(3)?),
                    body: ByteBuf::from(r.get::<_, Vec<u8>>(4)?),
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Removes one mailbox item of this account; another account's item is "not found".
    pub fn ack_mail(&self, account: &Account, id: u64) -> Pending<()> {
        let account = *account;
        self.write(move |c| {
            let n = c.execute(
                "DELETE FROM mailbox WHERE id = ?1 AND account = ?2",
                params![id, &account.0[..]],
            )?;
            if n == 0 {
                Err(RelayError::NotFound)
            } else {
                Ok(())
            }
        })
    }
}
