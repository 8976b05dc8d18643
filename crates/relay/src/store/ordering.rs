//! The ordering rule: a group's log takes a post only for the group's current epoch, and a commit
//! advances the epoch (one commit per epoch; the first wins, the others get `stale_epoch`), in
//! the same transaction as its Welcomes, the group's public state and the membership it
//! changes. Proposals and commits are checked against that state first (`handshake`).

use super::group_commit::Pending;
use super::mailbox::deliver;
use super::sql::{Sql, args};
use super::{Accepted, Store, set_members};
use crate::auth::Account;
use crate::error::{RelayError, Result};
use crate::framing::{Framing, Kind};
use crate::handshake::{self, Checked, GroupState};
use consilium_model::wire::{PostBundle, Posted};

impl Store {
    /// Creates a group from its public state as its creator exported it (checked by the caller
    /// with `handshake::establish`): the creator is its only member.
    pub fn create_group(
        &self,
        group_id: &[u8],
        creator: &Account,
        state: GroupState,
        now: i64,
    ) -> Pending<()> {
        if group_id.is_empty() || group_id.len() > 64 {
            return Pending::ready(Err(RelayError::BadRequest(
                "a group id has 1 to 64 bytes".into(),
            )));
        }
        if state.members != [*creator] {
            return Pending::ready(Err(RelayError::BadRequest(
                "a new group has its creator as its only member".into(),
            )));
        }
        let (group_id, creator) = (group_id.to_vec(), *creator);
        self.write(move |c| {
            let n = c.execute(
                "INSERT INTO groups (id, epoch, next_seq, created_by, created_at, public_state)
                 VALUES (?1, ?2, 1, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                args![&group_id, state.epoch, &creator, now, &state.record],
            )?;
            if n == 0 {
                return Err(RelayError::Conflict);
            }
            set_members(c, &group_id, &state.members)
        })
    }

    /// Takes the public state of a group created before the relay checked handshake messages,
    /// as a member uploads it: once, for the group's current epoch, from a member the state
    /// names. From then on its members are the tree's leaves.
    pub fn adopt_group_state(
        &self,
        group_id: &[u8],
        member: &Account,
        state: GroupState,
    ) -> Pending<()> {
        if !state.members.contains(member) {
            return Pending::ready(Err(RelayError::BadRequest(
                "the uploaded state does not name its uploader".into(),
            )));
        }
        let (group_id, member) = (group_id.to_vec(), *member);
        self.write(move |c| {
            if !Self::is_member(c, &group_id, &member)? {
                return Err(RelayError::Forbidden);
            }
            let group = c.one(
                "SELECT epoch, public_state IS NOT NULL FROM groups WHERE id = ?1",
                args![&group_id],
            )?;
            let (epoch, held): (u64, bool) = (group.get(0)?, group.get(1)?);
            if held {
                return Err(RelayError::Conflict);
            }
            if state.epoch < epoch {
                return Err(RelayError::StaleEpoch { current: epoch });
            }
            if state.epoch > epoch {
                return Err(RelayError::FutureEpoch {
                    got: state.epoch,
                    current: epoch,
                });
            }
            c.execute(
                "UPDATE groups SET public_state = ?2 WHERE id = ?1",
                args![&group_id, &state.record],
            )?;
            set_members(c, &group_id, &state.members)
        })
    }

    pub(super) fn is_member(c: &dyn Sql, group_id: &[u8], account: &Account) -> Result<bool> {
        c.exists(
            "SELECT 1 FROM members WHERE group_id = ?1 AND account = ?2",
            args![group_id, account],
        )
    }

    /// Accepts or refuses one post as a whole. A message must be for the group's current epoch
    /// (anything older is `stale_epoch`); a proposal or commit must also be valid for the
    /// group's public state, and a commit moves the epoch forward, changes the membership to
    /// its tree's leaves and delivers the Welcomes of the key packages it adds. A retry of an
    /// accepted message id returns the first answer and stores nothing.
    pub fn post(
        &self,
        sender: &Account,
        bundle: PostBundle,
        framing: Framing,
        now: i64,
    ) -> Pending<Accepted> {
        if !bundle.welcomes.is_empty() && framing.kind != Kind::Commit {
            return Pending::ready(Err(RelayError::BadRequest(
                "only a commit carries Welcomes".into(),
            )));
        }
        if framing.kind == Kind::Application && framing.public {
            return Pending::ready(Err(RelayError::InvalidMessage(
                "an application message travels encrypted".into(),
            )));
        }
        let welcomes = match bundle
            .welcomes
            .iter()
            .map(|w| Ok((Account::parse(&w.account)?, w.mls.clone())))
            .collect::<Result<Vec<_>>>()
        {
            Ok(welcomes) => welcomes,
            Err(e) => return Pending::ready(Err(e)),
        };
        let (sender, message_id, mls) = (*sender, bundle.message_id, bundle.mls);
        self.write(move |c| {
            let gid = &framing.group_id[..];
            if !Self::is_member(c, gid, &sender)? {
                return Err(RelayError::Forbidden);
            }
            if let Some(first) = c.optional(
                "SELECT seq, resulting_epoch FROM messages WHERE group_id = ?1 AND message_id = ?2",
                args![gid, &message_id[..]],
            )? {
                return Ok(Accepted {
                    posted: Posted { seq: first.get(0)?, epoch: first.get(1)? },
                    members: Self::members_in(c, gid)?,
                    revoked: Vec::new(),
                });
            }
            let group = c.one(
                "SELECT epoch, next_seq, public_state FROM groups WHERE id = ?1",
                args![gid],
            )?;
            let (epoch, seq, record): (u64, u64, Option<Vec<u8>>) =
                (group.get(0)?, group.get(1)?, group.get(2)?);
            if framing.epoch < epoch {
                return Err(RelayError::StaleEpoch { current: epoch });
            }
            if framing.epoch > epoch {
                return Err(RelayError::FutureEpoch { got: framing.epoch, current: epoch });
            }
            let mut revoked = Vec::new();
            let next_epoch = if framing.kind == Kind::Application {
                epoch
            } else {
                let prior = record.ok_or(RelayError::StateMissing)?;
                let moved_from = super::successors::predecessor(c, &sender)?;
                let record = match handshake::check(&prior, &mls, &sender, moved_from.as_ref())? {
                    Checked::Proposal { record } => record,
                    Checked::Commit { state, added, replaced } => {
                        if state.epoch != epoch + 1 {
                            return Err(RelayError::Internal("a commit that did not advance the epoch".into()));
                        }
                        // A member's new device comes in only once it asked this group
                        // (`request_readmission`): no member can swap a colleague's leaf for a
                        // device of their choosing.
                        for a in added.iter().filter(|a| a.returning) {
                            let asked = c.exists(
                                "SELECT 1 FROM join_requests WHERE group_id = ?1 AND joiner = ?2",
                                args![gid, &a.account],
                            )?;
                            if !asked {
                                return Err(RelayError::Forbidden);
                            }
                        }
                        for (to, welcome) in &welcomes {
                            handshake::check_welcome(welcome, to, &added)?;
                            let item = deliver(c, to, "welcome", gid, &sender, welcome, now)?;
                            c.execute(
                                "UPDATE mailbox SET group_seq = ?1 WHERE id = ?2",
                                args![seq, item],
                            )?;
                        }
                        set_members(c, gid, &state.members)?;
                        // Kept so the commit can be undone if its members cannot process it.
                        super::reports::remember(c, gid, seq, &prior)?;
                        // A key of before the split that moved: its device goes with it.
                        for device in replaced {
                            let moved_to = super::successors::successor(c, &device)?;
                            for device in [device, moved_to] {
                                super::accounts::revoke(c, &device, now)?;
                                if !revoked.contains(&device) {
                                    revoked.push(device);
                                }
                            }
                        }
                        state.record
                    }
                };
                c.execute(
                    "UPDATE groups SET public_state = ?2 WHERE id = ?1",
                    args![gid, &record],
                )?;
                if framing.kind == Kind::Commit { epoch + 1 } else { epoch }
            };
            c.execute(
                "INSERT INTO messages (group_id, seq, message_id, sender, epoch, kind, body, created_at, resulting_epoch)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                args![gid, seq, &message_id[..], &sender, framing.epoch, framing.kind as i64, &mls[..], now, next_epoch],
            )?;
            c.execute(
                "UPDATE groups SET epoch = ?2, next_seq = ?3 WHERE id = ?1",
                args![gid, next_epoch, seq + 1],
            )?;
            Ok(Accepted {
                posted: Posted { seq, epoch: next_epoch },
                members: Self::members_in(c, gid)?,
                revoked,
            })
        })
    }

    /// The members of a group, for push notifications.
    pub(super) fn members_in(c: &dyn Sql, group_id: &[u8]) -> Result<Vec<Account>> {
        c.query(
            "SELECT account FROM members WHERE group_id = ?1",
            args![group_id],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect()
    }
}
