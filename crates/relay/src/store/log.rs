//! Reading a group's log past a cursor, and each reader's cursor (what every member has read
//! may be pruned).

use consilium_model::wire::LogEntry;
use serde_bytes::ByteBuf;

use super::group_commit::Pending;
use super::mailbox::page_end;
use super::sql::args;
use super::{FETCH_PAGE_BYTES, MAX_FETCH, Store};
use crate::auth::Account;
use crate::error::{RelayError, Result};

impl Store {
    /// Log entries after `after`, for a member of the group: at most `limit` (and `MAX_FETCH`),
    /// and no more bytes than `FETCH_PAGE_BYTES` past the first; a reader asks again after the
    /// last one it got, until a page comes back empty.
    pub fn fetch(
        &self,
        reader: &Account,
        group_id: &[u8],
        after: u64,
        limit: u64,
    ) -> Result<Vec<LogEntry>> {
        self.read(|c| {
            if !Self::is_member(c, group_id, reader)? {
                return Err(RelayError::Forbidden);
            }
            // The sizes first, so a page's messages are read only up to its bound.
            let sizes = c.query(
                "SELECT seq, length(body) FROM messages WHERE group_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
                args![group_id, after, limit.min(MAX_FETCH)],
            )?;
            let Some(last) = page_end(&sizes, FETCH_PAGE_BYTES)? else {
                return Ok(Vec::new());
            };
            c.query(
                "SELECT seq, sender, message_id, body FROM messages WHERE group_id = ?1 AND seq > ?2 AND seq <= ?3 ORDER BY seq",
                args![group_id, after, last],
            )?
            .iter()
            .map(|r| {
                Ok(LogEntry {
                    seq: r.get(0)?,
                    sender: hex::encode(r.get::<Vec<u8>>(1)?),
                    message_id: ByteBuf::from(r.get::<Vec<u8>>(2)?),
                    mls: ByteBuf::from(r.get::<Vec<u8>>(3)?),
                })
            })
            .collect()
        })
    }

    /// Records how far a member has read.
    pub fn set_cursor(&self, reader: &Account, group_id: &[u8], seq: u64) -> Pending<()> {
        let (reader, group_id) = (*reader, group_id.to_vec());
        self.write(move |c| {
            if !Self::is_member(c, &group_id, &reader)? {
                return Err(RelayError::Forbidden);
            }
            c.execute(
                "INSERT INTO cursors (group_id, account, seq) VALUES (?1, ?2, ?3)
                 ON CONFLICT (group_id, account) DO UPDATE SET seq = excluded.seq
                 WHERE excluded.seq > cursors.seq",
                args![&group_id, &reader, seq],
            )?;
            Ok(())
        })
    }
}
