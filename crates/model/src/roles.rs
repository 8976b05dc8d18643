//! A circle's roles: who its admins are, and its members in the order they joined. They live in
//! the circle's MLS group context (a custom extension, `ROLES_EXTENSION`, listed in the group's
//! required capabilities), so every member and the relay read the same value, and one rule
//! (`check_commit`), applied alike by the relay before it orders a commit and by every client
//! before it merges one, decides which commits are allowed:
//!
//! - adding or removing others takes an admin; a member may be removed by anyone when it asked
//!   to leave (the Remove proposal is its own);
//! - a commit that changes the membership carries the roles it leads to, exactly: the roster
//!   without those removed, then those added, in order; the admins without those removed, or,
//!   when no admin is left, the longest-standing member (the roster's first);
//! - otherwise roles change only by an admin's commit, and the roster does not change;
//! - a member both removed and added in one commit changes device (a restored laptop): any
//!   member may commit that, and the roles stay as they were.
//!
//! Admins and the roster are named by identity keys (`crate::device`), so a change of device
//! keeps the role.

use serde::{Deserialize, Serialize};

use crate::codec::{from_cbor, to_cbor};
use crate::error::{ModelError, Result};

/// The MLS extension type of a circle's roles (in the range RFC 9420 leaves to private use).
pub const ROLES_EXTENSION: u16 = 0xF0C1;

/// A member's identity key.
pub type MemberKey = [u8; 32];

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roles {
    pub admins: Vec<MemberKey>,
    /// Every member, longest-standing first.
    pub roster: Vec<MemberKey>,
}

/// Why a commit breaks a circle's roles.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RoleViolation {
    #[error("only an admin adds members")]
    AddByNonAdmin,
    #[error("only an admin removes another member")]
    RemoveByNonAdmin,
    #[error("a change of members must carry the circle's roles after it")]
    RolesNotCarried,
    #[error("the roles the commit carries are not the ones the change of members leads to")]
    WrongRoles,
    #[error("only an admin changes the circle's roles")]
    RolesChangedByNonAdmin,
    #[error("the circle's roles are not well formed")]
    Malformed,
}

/// What a commit does, as the roles rule needs to see it.
#[derive(Clone, Debug)]
pub struct CommitShape {
    pub committer: MemberKey,
    /// Members added, in the order of the commit's Add proposals.
    pub added: Vec<MemberKey>,
    /// Members removed, each with the member whose proposal removes it.
    pub removed: Vec<(MemberKey, MemberKey)>,
    /// The roles in the group context after the commit, if it changes them.
    pub new_roles: Option<Roles>,
}

impl Roles {
    /// A new circle's: its creator, admin.
    pub fn founding(creator: MemberKey) -> Roles {
        Roles {
            admins: vec![creator],
            roster: vec![creator],
        }
    }

    pub fn is_admin(&self, key: &MemberKey) -> bool {
        self.admins.contains(key)
    }

    pub fn encode(&self) -> Result<Vec<u8>> {
        to_cbor(self)
    }

    /// Decodes and checks the roles: a non-empty roster without repeats, admins among it.
    pub fn decode(bytes: &[u8]) -> Result<Roles> {
        let roles: Roles = from_cbor(bytes)?;
        if roles.well_formed() {
            Ok(roles)
        } else {
            Err(ModelError::Invalid(RoleViolation::Malformed.to_string()))
        }
    }

    fn well_formed(&self) -> bool {
        let unique = |list: &[MemberKey]| {
            let mut sorted = list.to_vec();
            sorted.sort_unstable();
            sorted.windows(2).all(|w| w[0] != w[1])
        };
        !self.roster.is_empty()
            && !self.admins.is_empty()
            && unique(&self.roster)
            && unique(&self.admins)
            && self.admins.iter().all(|a| self.roster.contains(a))
    }

    /// The roles after a change of members: those removed leave the roster and the admins,
    /// those added join the roster's end; with no admin left, the longest-standing member is.
    pub fn after(&self, added: &[MemberKey], removed: &[MemberKey]) -> Roles {
        let mut roster: Vec<MemberKey> = self
            .roster
            .iter()
            .filter(|k| !removed.contains(k))
            .copied()
            .collect();
        for k in added {
            if !roster.contains(k) {
                roster.push(*k);
            }
        }
        let mut admins: Vec<MemberKey> = self
            .admins
            .iter()
            .filter(|k| !removed.contains(k))
            .copied()
            .collect();
        if admins.is_empty()
            && let Some(first) = roster.first()
        {
            admins.push(*first);
        }
        Roles { admins, roster }
    }
}

/// Whether a commit keeps to the circle's roles `old` (see the module's rule).
///
/// A member of the roster both removed and added in one commit changes device (a restored
/// laptop's leaf in place of the lost one's): any member may commit that, and it changes
/// neither the roster nor the admins.
pub fn check_commit(old: &Roles, commit: &CommitShape) -> std::result::Result<(), RoleViolation> {
    let changes_device =
        |k: &MemberKey| old.roster.contains(k) && commit.removed.iter().any(|(r, _)| r == k);
    let added: Vec<MemberKey> = commit
        .added
        .iter()
        .filter(|k| !changes_device(k))
        .copied()
        .collect();
    let removed_by: Vec<(MemberKey, MemberKey)> = commit
        .removed
        .iter()
        .filter(|(r, _)| !commit.added.contains(r) || !old.roster.contains(r))
        .copied()
        .collect();
    let admin = old.is_admin(&commit.committer);
    if !added.is_empty() && !admin {
        return Err(RoleViolation::AddByNonAdmin);
    }
    for (removed, by) in &removed_by {
        if !admin && removed != by {
            return Err(RoleViolation::RemoveByNonAdmin);
        }
    }
    let removed: Vec<MemberKey> = removed_by.iter().map(|(k, _)| *k).collect();
    if !added.is_empty() || !removed.is_empty() {
        let expected = old.after(&added, &removed);
        return match &commit.new_roles {
            None => Err(RoleViolation::RolesNotCarried),
            Some(new) if *new == expected => Ok(()),
            Some(_) => Err(RoleViolation::WrongRoles),
        };
    }
    match &commit.new_roles {
        None => Ok(()),
        Some(_) if !admin => Err(RoleViolation::RolesChangedByNonAdmin),
        Some(new) if new.roster != old.roster || !new.well_formed() => {
            Err(RoleViolation::WrongRoles)
        }
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: MemberKey = [1; 32];
    const B: MemberKey = [2; 32];
    const C: MemberKey = [3; 32];
    const D: MemberKey = [4; 32];

    fn shape(committer: MemberKey) -> CommitShape {
        CommitShape {
            committer,
            added: vec![],
            removed: vec![],
            new_roles: None,
        }
    }

    fn circle() -> Roles {
        Roles {
            admins: vec![A],
            roster: vec![A, B, C],
        }
    }

    #[test]
    fn admins_add_and_remove_and_members_only_leave() {
        let old = circle();
        let mut add = shape(A);
        add.added = vec![D];
        add.new_roles = Some(old.after(&[D], &[]));
        assert_eq!(check_commit(&old, &add), Ok(()));
        add.committer = B;
        assert_eq!(check_commit(&old, &add), Err(RoleViolation::AddByNonAdmin));

        let mut evict = shape(B);
        evict.removed = vec![(C, B)];
        evict.new_roles = Some(old.after(&[], &[C]));
        assert_eq!(
            check_commit(&old, &evict),
            Err(RoleViolation::RemoveByNonAdmin)
        );
        // C asked to leave; B commits C's own proposal.
        evict.removed = vec![(C, C)];
        assert_eq!(check_commit(&old, &evict), Ok(()));
        evict.new_roles = None;
        assert_eq!(
            check_commit(&old, &evict),
            Err(RoleViolation::RolesNotCarried)
        );
        evict.new_roles = Some(Roles {
            admins: vec![B],
            roster: vec![A, B],
        });
        assert_eq!(check_commit(&old, &evict), Err(RoleViolation::WrongRoles));
    }

    #[test]
    fn any_member_changes_a_members_device_and_the_roles_stay_as_they_were() {
        let old = circle();
        // B lets A's restored laptop in: A's old leaf out, A's new one in, roles untouched.
        let mut swap = shape(B);
        swap.removed = vec![(A, B)];
        swap.added = vec![A];
        assert_eq!(check_commit(&old, &swap), Ok(()));
        // Carrying roles that drop A's admin role is refused, as any roles change by a
        // non-admin.
        swap.new_roles = Some(old.after(&[A], &[A]));
        assert_eq!(
            check_commit(&old, &swap),
            Err(RoleViolation::RolesChangedByNonAdmin)
        );
        // Slipping an outsider or an eviction in with it is what it always was.
        let mut more = shape(B);
        more.removed = vec![(A, B)];
        more.added = vec![A, D];
        assert_eq!(check_commit(&old, &more), Err(RoleViolation::AddByNonAdmin));
        let mut evict = shape(B);
        evict.removed = vec![(A, B), (C, B)];
        evict.added = vec![A];
        assert_eq!(
            check_commit(&old, &evict),
            Err(RoleViolation::RemoveByNonAdmin)
        );
        // Someone not in the roster is not "changing device".
        let mut stranger = shape(B);
        stranger.removed = vec![(D, B)];
        stranger.added = vec![D];
        assert_eq!(
            check_commit(&old, &stranger),
            Err(RoleViolation::AddByNonAdmin)
        );
    }

    #[test]
    fn when_the_last_admin_goes_the_longest_standing_member_is_admin() {
        let old = circle();
        let after = old.after(&[], &[A]);
        assert_eq!(after.admins, vec![B]);
        assert_eq!(after.roster, vec![B, C]);
        // Joining later never makes one longer-standing.
        let later = after.after(&[D], &[]).after(&[], &[B]);
        assert_eq!(later.admins, vec![C]);
        let mut leave = shape(B);
        leave.removed = vec![(A, A)];
        leave.new_roles = Some(after);
        assert_eq!(check_commit(&old, &leave), Ok(()));
    }

    #[test]
    fn only_admins_change_roles_and_never_the_roster() {
        let old = circle();
        let mut promote = shape(A);
        promote.new_roles = Some(Roles {
            admins: vec![A, B],
            roster: old.roster.clone(),
        });
        assert_eq!(check_commit(&old, &promote), Ok(()));
        promote.committer = C;
        assert_eq!(
            check_commit(&old, &promote),
            Err(RoleViolation::RolesChangedByNonAdmin)
        );
        promote.committer = A;
        promote.new_roles = Some(Roles {
            admins: vec![A],
            roster: vec![A, B, C, D],
        });
        assert_eq!(check_commit(&old, &promote), Err(RoleViolation::WrongRoles));
        assert_eq!(check_commit(&old, &shape(C)), Ok(()), "a plain update");
    }

    #[test]
    fn malformed_roles_do_not_decode() {
        for bad in [
            Roles::default(),
            Roles {
                admins: vec![D],
                roster: vec![A],
            },
            Roles {
                admins: vec![A],
                roster: vec![A, A],
            },
        ] {
            assert!(Roles::decode(&bad.encode().unwrap()).is_err(), "{bad:?}");
        }
        let good = circle();
        assert_eq!(Roles::decode(&good.encode().unwrap()).unwrap(), good);
    }
}
