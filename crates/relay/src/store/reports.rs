//! What the relay cannot check of a commit, the members can. Without the epoch's secrets the
//! relay cannot verify a commit's membership and confirmation tags nor that its path secrets
//! decrypt, so a member can post a properly signed commit that nobody else can process. The
//! others report it (`report_commit`, a signed request naming its place in the log); once
//! enough of the members who should have processed it did (two, or all of them in a smaller
//! circle; one of them an admin, when the circle has an admin other than the committer), the
//! relay undoes it: the group's state before it comes back, the commit and
//! everything posted after it leave the log, its Welcomes leave the mailboxes. Honest members,
//! who could not apply it, simply go on from the epoch they hold; the committer is named in
//! their record of the entry they rejected.
//!
//! The state before each of a group's last `HISTORY` commits is kept for this.

use super::group_commit::Pending;
use super::sql::{Sql, args};
use super::{Reported, Store, set_members};
use crate::auth::Account;
use crate::error::{RelayError, Result};
use crate::handshake;

/// Commits of a group that can still be undone; older ones are settled.
const HISTORY: i64 = 64;

/// Reports needed to undo a commit, at most (fewer when fewer members could report).
const REPORTS_NEEDED: usize = 2;

/// Keeps the state a group had before the commit at `seq`, and forgets the oldest beyond
/// `HISTORY`.
pub(super) fn remember(c: &dyn Sql, group_id: &[u8], seq: u64, prior: &[u8]) -> Result<()> {
    c.execute(
        "INSERT INTO commit_history (group_id, seq, prior_state) VALUES (?1, ?2, ?3)",
        args![group_id, seq, prior],
    )?;
    c.execute(
        "DELETE FROM commit_history WHERE group_id = ?1 AND seq NOT IN
         (SELECT seq FROM commit_history WHERE group_id = ?1 ORDER BY seq DESC LIMIT ?2)",
        args![group_id, HISTORY],
    )?;
    c.execute(
        "DELETE FROM commit_reports WHERE group_id = ?1
         AND seq NOT IN (SELECT seq FROM commit_history WHERE group_id = ?1)",
        args![group_id],
    )?;
    Ok(())
}

impl Store {
    /// `reporter` says it cannot process the commit at `seq` of the group's log.
    pub fn report_commit(
        &self,
        group_id: &[u8],
        reporter: &Account,
        seq: u64,
    ) -> Pending<Reported> {
        let (gid, reporter) = (group_id.to_vec(), *reporter);
        self.write(move |c| {
            if !Self::is_member(c, &gid, &reporter)? {
                return Err(RelayError::Forbidden);
            }
            let Some(prior) = c.optional(
                "SELECT prior_state FROM commit_history WHERE group_id = ?1 AND seq = ?2",
                args![&gid, seq],
            )?
            else {
                return Ok(Reported::Ignored);
            };
            let prior: Vec<u8> = prior.get(0)?;
            let Some(committed) = c.optional(
                "SELECT sender, epoch FROM messages WHERE group_id = ?1 AND seq = ?2",
                args![&gid, seq],
            )?
            else {
                // Pruned after its retention: settled.
                return Ok(Reported::Ignored);
            };
            let (committer, epoch): (Vec<u8>, u64) = (committed.get(0)?, committed.get(1)?);
            // Those who should have processed it: the members before it, but its committer.
            let expected: Vec<Account> = handshake::members_of_record(&prior)?
                .into_iter()
                .filter(|m| m.0[..] != committer[..])
                .collect();
            if !expected.contains(&reporter) {
                return Ok(Reported::Ignored);
            }
            c.execute(
                "INSERT INTO commit_reports (group_id, seq, reporter) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO NOTHING",
                args![&gid, seq, &reporter],
            )?;
            let reporters: Vec<Vec<u8>> = c
                .query(
                    "SELECT reporter FROM commit_reports WHERE group_id = ?1 AND seq = ?2",
                    args![&gid, seq],
                )?
                .iter()
                .map(|r| r.get(0))
                .collect::<Result<_>>()?;
            if reporters.len() < REPORTS_NEEDED.min(expected.len()) {
                return Ok(Reported::Counted);
            }
            // One of them an admin, when an admin other than the committer could report.
            let admins: Vec<Account> = handshake::admins_of_record(&prior)?
                .into_iter()
                .filter(|a| expected.contains(a))
                .collect();
            let by_admin = reporters
                .iter()
                .any(|r| admins.iter().any(|a| a.0[..] == r[..]));
            if !admins.is_empty() && !by_admin {
                return Ok(Reported::Counted);
            }
            undo(c, &gid, seq, epoch, &prior)?;
            Ok(Reported::Undone)
        })
    }
}

/// Puts the group back as it was before the commit at `seq` (for epoch `epoch`).
fn undo(c: &dyn Sql, group_id: &[u8], seq: u64, epoch: u64, prior: &[u8]) -> Result<()> {
    c.execute(
        "UPDATE groups SET public_state = ?2, epoch = ?3 WHERE id = ?1",
        args![group_id, prior, epoch],
    )?;
    set_members(c, group_id, &handshake::members_of_record(prior)?)?;
    // Sequence numbers keep counting: members' cursors are past the undone entries already.
    for sql in [
        "DELETE FROM messages WHERE group_id = ?1 AND seq >= ?2",
        "DELETE FROM mailbox WHERE group_id = ?1 AND group_seq >= ?2",
        "DELETE FROM commit_history WHERE group_id = ?1 AND seq >= ?2",
        "DELETE FROM commit_reports WHERE group_id = ?1 AND seq >= ?2",
    ] {
        c.execute(sql, args![group_id, seq])?;
    }
    Ok(())
}
