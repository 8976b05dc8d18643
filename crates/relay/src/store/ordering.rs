//! The ordering rule: a group's log takes a post only for the group's current epoch, and a commit
//! advances the epoch (one commit per epoch; the first wins, the others get `stale_epoch`), in
//! the same transaction as its Welcomes and the membership it changes.

use consilium_model::wire::{PostBundle, Posted};
use rusqlite::{Connection, OptionalExtension, params};

use super::group_commit::Pending;
use super::mailbox::deliver;
use super::{Accepted, Membership, Store};
use crate::auth::Account;
use crate::error::{RelayError, Result};
use crate::framing::{Framing, Kind};

impl Store {
    pub fn create_group(&self, group_id: &[u8], creator: &Account, now: i64) -> Pending<()> {
        if group_id.is_empty() || group_id.len() > 64 {
            return Pending::ready(Err(RelayError::BadRequest(
                "a group id has 1 to 64 bytes".into(),
            )));
        }
        let (group_id, creator) = (group_id.to_vec(), *creator);
        self.write(move |c| {
            let n = c.execute(
                "INSERT OR IGNORE INTO groups (id, epoch, next_seq, created_by, created_at) VALUES (?1, 0, 1, ?2, ?3)",
                params![group_id, &creator.0[..], now],
            )?;
            if n == 0 {
                return Err(RelayError::Conflict);
            }
            c.execute(
                "INSERT INTO members (group_id, account) VALUES (?1, ?2)",
                params![group_id, &creator.0[..]],
            )?;
            Ok(())
        })
    }

    pub(super) fn is_member(c: &Connection, group_id: &[u8], account: &Account) -> Result<bool> {
        Ok(
            c.prepare_cached("SELECT 1 FROM members WHERE group_id = ?1 AND account = ?2")?
                .query_row(params![group_id, &account.0[..]], |_| Ok(()))
                .optional()?
                .is_some(),
        )
    }

    /// What a post's bundle says about membership, checked before it is queued.
    fn check_bundle(bundle: &PostBundle, framing: &Framing) -> Result<Membership> {
        let welcomes_ok = bundle.welcomes.is_empty() || framing.kind == Kind::Commit;
        if !welcomes_ok {
            return Err(RelayError::BadRequest(
                "only a commit carries Welcomes".into(),
            ));
        }
        if (!bundle.added.is_empty() || !bundle.removed.is_empty()) && framing.kind != Kind::Commit
        {
            return Err(RelayError::BadRequest(
                "only a commit changes membership".into(),
            ));
        }
        let parse = |list: &[String]| {
            list.iter()
                .map(|a| Account::parse(a))
                .collect::<Result<Vec<_>>>()
        };
        let added = parse(&bundle.added)?;
        let removed = parse(&bundle.removed)?;
        let welcomes = bundle
            .welcomes
            .iter()
            .map(|w| Ok((Account::parse(&w.account)?, w.mls.clone())))
            .collect::<Result<Vec<_>>>()?;
        if welcomes.iter().any(|(a, _)| !added.contains(a)) {
            return Err(RelayError::BadRequest(
                "a Welcome must go to an account the commit adds".into(),
            ));
        }
        Ok(Membership {
            added,
            removed,
            welcomes,
        })
    }

    /// Accepts or refuses one post as a whole. A commit must be for the group's current epoch
    /// and moves it forward; anything for an older epoch is `stale_epoch`. A retry of an accepted
    /// message id returns the first answer and stores nothing.
    pub fn post(
        &self,
        sender: &Account,
        bundle: PostBundle,
        framing: Framing,
        now: i64,
    ) -> Pending<Accepted> {
        let Membership {
            added,
            removed,
            welcomes,
        } = match Self::check_bundle(&bundle, &framing) {
            Ok(checked) => checked,
            Err(e) => return Pending::ready(Err(e)),
        };
        let (sender, message_id, mls) = (*sender, bundle.message_id, bundle.mls);
        self.write(move |c| {
            let gid = &framing.group_id[..];
            if !Self::is_member(c, gid, &sender)? {
                return Err(RelayError::Forbidden);
            }
            if let Some((seq, epoch)) = c
                .prepare_cached(
                    "SELECT seq, resulting_epoch FROM messages WHERE group_id = ?1 AND message_id = ?2",
                )?
                .query_row(params![gid, &message_id[..]], |r| {
                    Ok((r.get::<_, u64>(0)?, r.get::<_, u64>(1)?))
                })
                .optional()?
            {
                return Ok(Accepted {
                    posted: Posted { seq, epoch },
                    members: Self::members_in(c, gid)?,
                });
            }
            let (epoch, seq): (u64, u64) = c
                .prepare_cached("SELECT epoch, next_seq FROM groups WHERE id = ?1")?
                .query_row([gid], |r| Ok((r.get(0)?, r.get(1)?)))?;
            if framing.epoch < epoch {
                return Err(RelayError::StaleEpoch { current: epoch });
            }
            if framing.epoch > epoch {
                return Err(RelayError::FutureEpoch { got: framing.epoch, current: epoch });
            }
            let next_epoch = if framing.kind == Kind::Commit { epoch + 1 } else { epoch };
            c.prepare_cached(
                "INSERT INTO messages (group_id, seq, message_id, sender, epoch, kind, body, created_at, resulting_epoch)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![gid, seq, &message_id[..], &sender.0[..], framing.epoch, framing.kind as i64, &mls[..], now, next_epoch])?;
            c.prepare_cached("UPDATE groups SET epoch = ?2, next_seq = ?3 WHERE id = ?1")?
                .execute(params![gid, next_epoch, seq + 1])?;
            for a in &added {
                c.execute("INSERT OR IGNORE INTO members (group_id, account) VALUES (?1, ?2)", params![gid, &a.0[..]])?;
            }
            for a in &removed {
                c.execute("DELETE FROM members WHERE group_id = ?1 AND account = ?2", params![gid, &a.0[..]])?;
            }
            for (to, mls) in &welcomes {
                deliver(c, to, "welcome", gid, &sender, mls, now)?;
            }
            Ok(Accepted {
                posted: Posted { seq, epoch: next_epoch },
                members: Self::members_in(c, gid)?,
            })
        })
    }

    /// The members of a group, for push notifications.
    pub(super) fn members_in(c: &Connection, group_id: &[u8]) -> Result<Vec<Account>> {
        let mut stmt = c.prepare_cached("SELECT account FROM members WHERE group_id = ?1")?;
        let rows = stmt.query_map([group_id], |r| r.get::<_, Vec<u8>>(0))?;
        rows.map(|a| {
            let a = a?;
            a.try_into()
                .map(Account)
                .map_err(|_| RelayError::Internal("bad account".into()))
        })
        .collect()
    }
}
