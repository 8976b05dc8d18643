//! A circle's roles on the MLS side: the capability every leaf and key package announces, the
//! group-context extension that holds the roles (`consilium_model::roles`), the extensions a
//! commit that changes the membership carries, and the check of a received commit against the
//! rule the relay applies too.

use consilium_model::roles::{CommitShape, MemberKey, ROLES_EXTENSION, Roles, check_commit};
use openmls::prelude::*;

use crate::error::{GroupError, Result};

type AccountKey = MemberKey;

fn mls(e: impl std::fmt::Display) -> GroupError {
    GroupError::Mls(e.to_string())
}

/// A group context's extensions naming `roles`, with the roles extension required of every
/// member.
pub(crate) fn context_extensions(roles: &Roles) -> Result<Extensions<GroupContext>> {
    let encoded = roles.encode().map_err(mls)?;
    Extensions::from_vec(vec![
        Extension::RequiredCapabilities(RequiredCapabilitiesExtension::new(
            &[ExtensionType::Unknown(ROLES_EXTENSION)],
            &[],
            &[],
        )),
        Extension::Unknown(ROLES_EXTENSION, UnknownExtension(encoded)),
    ])
    .map_err(mls)
}

/// The roles a group context names, if any.
pub(crate) fn roles_in(context: &GroupContext) -> Result<Option<Roles>> {
    context
        .extensions()
        .unknown(ROLES_EXTENSION)
        .map(|ext| Roles::decode(&ext.0).map_err(|e| GroupError::Rejected(format!("roles: {e}"))))
        .transpose()
}

/// Whether every current member's leaf announces the roles extension.
pub(crate) fn all_support_roles(group: &MlsGroup) -> bool {
    group.members().all(|m| leaf_supports_roles(group, m.index))
}

pub(crate) fn leaf_supports_roles(group: &MlsGroup, leaf: LeafNodeIndex) -> bool {
    group.public_group().leaf(leaf).is_some_and(|leaf| {
        leaf.capabilities()
            .extensions()
            .contains(&ExtensionType::Unknown(ROLES_EXTENSION))
    })
}

/// Checks a received commit against the circle's roles, as the relay did before ordering it.
/// `roster` is the members in leaf order and `key_at` the account of a leaf, before the commit.
pub(crate) fn check_received(
    old: Option<&Roles>,
    staged: &StagedCommit,
    committer: AccountKey,
    roster: &[AccountKey],
    key_at: impl Fn(LeafNodeIndex) -> Result<AccountKey>,
    identity_of: impl Fn(&LeafNode) -> Result<AccountKey>,
) -> Result<()> {
    let new = roles_in(staged.group_context())?;
    let Some(old) = old else {
        // A circle made before roles takes them once, from the member in its lowest leaf, who
        // names itself the only admin and the members in leaf order, changing no one (the rule
        // the relay applies too).
        let Some(new) = new else {
            return Ok(());
        };
        let taken = Roles {
            admins: vec![committer],
            roster: roster.to_vec(),
        };
        let membership_changes =
            staged.add_proposals().next().is_some() || staged.remove_proposals().next().is_some();
        if roster.first() != Some(&committer) || membership_changes || new != taken {
            return Err(GroupError::Rejected(
                "roles taken by someone other than the circle's founding member".into(),
            ));
        }
        return Ok(());
    };
    let Some(new) = new else {
        return Err(GroupError::Rejected(
            "a commit that drops the circle's roles".into(),
        ));
    };
    let added = staged
        .add_proposals()
        .map(|p| identity_of(p.add_proposal().key_package().leaf_node()))
        .collect::<Result<Vec<MemberKey>>>()?;
    let removed = staged
        .remove_proposals()
        .map(|p| {
            let by = match p.sender() {
                Sender::Member(leaf) => key_at(*leaf)?,
                _ => return Err(GroupError::Rejected("a removal from outside".into())),
            };
            Ok((key_at(p.remove_proposal().removed())?, by))
        })
        .collect::<Result<Vec<_>>>()?;
    let shape = CommitShape {
        committer,
        added,
        removed,
        new_roles: (new != *old).then_some(new),
    };
    check_commit(old, &shape).map_err(|why| GroupError::Rejected(why.to_string()))
}
