//! Each account's mailbox: Welcomes and join requests addressed to it, until it acknowledges them
//! or they age out. Anyone who can post a commit or redeem an invitation can write into someone
//! else's mailbox, so it is capped: an item, the items and their bytes per account; and it is
//! read in pages small enough for any client to decode, whatever it holds.

use consilium_model::wire::{MailboxItem, MailboxKind};
use serde_bytes::ByteBuf;

use super::group_commit::Pending;
use super::sql::{Sql, args};
use super::{MAILBOX_ITEM_MAX_BYTES, Store};
use crate::auth::Account;
use crate::error::{RelayError, Result};

/// What one account's mailbox holds at most, in items and in bytes.
pub const MAILBOX_MAX_ITEMS: u64 = 200;
pub const MAILBOX_MAX_BYTES: u64 = 8 * 1024 * 1024;
/// A page of the mailbox stops once it holds this many bytes of bodies (it always holds at least
/// one item), so a page stays well under the 4 MiB a client decodes.
const PAGE_BYTES: usize = 2 * 1024 * 1024;

/// Puts one item in `to`'s mailbox, within the caps: an item over `MAILBOX_ITEM_MAX_BYTES` is
/// `too_large`, one that would take the mailbox past its caps is `mailbox_full` (and, inside a
/// post, refuses the whole post: its transaction rolls back). Returns the item's id.
pub(super) fn deliver(
    c: &dyn Sql,
    to: &Account,
    kind: &str,
    group_id: &[u8],
    sender: &Account,
    body: &[u8],
    now: i64,
) -> Result<i64> {
    // Addressed to a key of before the split that moved: its device's.
    let to = &super::successors::successor(c, to)?;
    if body.len() > MAILBOX_ITEM_MAX_BYTES {
        return Err(RelayError::TooLarge(format!(
            "a mailbox item is at most {MAILBOX_ITEM_MAX_BYTES} bytes"
        )));
    }
    let held = c.one(
        "SELECT count(*), CAST(coalesce(sum(length(body)), 0) AS BIGINT) FROM mailbox WHERE account = ?1",
        args![to],
    )?;
    let (items, bytes): (u64, u64) = (held.get(0)?, held.get(1)?);
    if items + 1 > MAILBOX_MAX_ITEMS || bytes + body.len() as u64 > MAILBOX_MAX_BYTES {
        return Err(RelayError::MailboxFull);
    }
    c.one(
        "INSERT INTO mailbox (account, kind, group_id, sender, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         RETURNING id",
        args![to, kind, group_id, sender, body, now],
    )?
    .get(0)
}

/// The key of the last of `(key, size)` rows that fits in a page of `bound` bytes (a page
/// holds at least one row, whatever its size); `None` when there are no rows.
pub(super) fn page_end(sizes: &[super::sql::Row], bound: usize) -> Result<Option<i64>> {
    let (mut last, mut bytes) = (None, 0u64);
    for row in sizes {
        let size: u64 = row.get(1)?;
        if last.is_some() && bytes + size > bound as u64 {
            break;
        }
        bytes += size;
        last = Some(row.get(0)?);
    }
    Ok(last)
}

impl Store {
    /// The oldest items of `account`'s mailbox, a page bounded in bytes; the owner acknowledges
    /// them (`ack_mail`) and asks again for the next.
    pub fn mailbox(&self, account: &Account) -> Result<Vec<MailboxItem>> {
        self.read(|c| {
            // The sizes first, so a page's bodies are read only up to its bound.
            let sizes = c.query(
                "SELECT id, length(body) FROM mailbox WHERE account = ?1 ORDER BY id LIMIT 500",
                args![account],
            )?;
            let Some(last) = page_end(&sizes, PAGE_BYTES)? else {
                return Ok(Vec::new());
            };
            c.query(
                "SELECT id, kind, group_id, sender, body FROM mailbox WHERE account = ?1 AND id <= ?2 ORDER BY id",
                args![account, last],
            )?
            .iter()
            .map(|r| {
                Ok(MailboxItem {
                    id: r.get(0)?,
                    kind: if r.get::<String>(1)? == "welcome" { MailboxKind::Welcome } else { MailboxKind::JoinRequest },
                    group_id: ByteBuf::from(r.get::<Vec<u8>>(2)?),
                    sender: hex::encode(r.get::<Vec<u8>>(3)?),
                    body: ByteBuf::from(r.get::<Vec<u8>>(4)?),
                })
            })
            .collect()
        })
    }

    /// Removes one mailbox item of this account; another account's item is "not found".
    pub fn ack_mail(&self, account: &Account, id: u64) -> Pending<()> {
        let account = *account;
        self.write(move |c| {
            let n = c.execute(
                "DELETE FROM mailbox WHERE id = ?1 AND account = ?2",
                args![id, &account],
            )?;
            if n == 0 {
                Err(RelayError::NotFound)
            } else {
                Ok(())
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whoever can reach a victim's mailbox (a join request through an invitation, a Welcome of
    /// a commit that really adds the victim) can fill it only to its caps, and every page of it
    /// decodes within the client's 4 MiB limit, so the victim's sync always drains it.
    #[test]
    fn a_stranger_cannot_fill_a_victims_mailbox_past_what_it_can_read() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let (stranger, victim) = (Account([1; 32]), Account([2; 32]));
        let mut taken = 0;
        let refused = loop {
            let r = s
                .write(move |c| {
                    deliver(
                        c,
                        &victim,
                        "welcome",
                        b"g",
                        &stranger,
                        &[0x5a; 900 * 1024],
                        0,
                    )
                    .map(|_| ())
                })
                .wait();
            match r {
                Ok(()) => taken += 1,
                Err(e) => break e,
            }
            assert!(taken < 1000, "the caps never refused");
        };
        assert!(matches!(refused, RelayError::MailboxFull), "{refused:?}");
        let mut read = 0;
        loop {
            let page = s.mailbox(&victim).unwrap();
            let size = consilium_model::codec::to_cbor(&page).unwrap().len();
            assert!(
                size <= consilium_model::codec::MAX_DOCUMENT_BYTES,
                "a page of {size} bytes is past what a client decodes"
            );
            if page.is_empty() {
                break;
            }
            for item in page {
                read += 1;
                s.ack_mail(&victim, item.id).wait().unwrap();
            }
        }
        assert_eq!(read, taken, "every item that was taken is read");
    }
}
