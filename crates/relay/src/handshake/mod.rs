//! What the relay checks of a group's handshake messages without any of its secrets (RFC 9420
//! §16.4: what a delivery service can see). It keeps each group's public state (openmls'
//! `PublicGroup`) and accepts a proposal or commit only when that state says it is valid for the
//! current epoch: framed as a `PublicMessage`, sent by the member whose account posts it, signed
//! by that member's leaf, its proposals valid, its update path consistent. Its member list is the
//! ratchet tree's leaves, and a Welcome is delivered only to the owner of a key package the
//! accepted commit adds.
//!
//! What it cannot check (the confirmation tag, that path secrets decrypt) is left to the
//! members; see `docs/SECURITY.md`.

mod record;

use openmls::group::ProposalStore;
use openmls::prelude::*;
use openmls_rust_crypto::RustCrypto;
use tls_codec::Deserialize as _;

use consilium_model::device::{self, MemberKeys};
use consilium_model::roles::{CommitShape, ROLES_EXTENSION, Roles, check_commit};

use crate::auth::Account;
use crate::error::{RelayError, Result};
use record::GroupRecord;

pub use record::RecordError;

/// A circle is a small group of colleagues; bounding it bounds what one commit costs to check.
pub const MAX_MEMBERS: usize = 256;

/// A group's public state after it was established or changed.
#[derive(Debug)]
pub struct GroupState {
    /// The record to store (see `record`).
    pub record: Vec<u8>,
    pub epoch: u64,
    /// The accounts of the tree's leaves.
    pub members: Vec<Account>,
}

/// A key package an accepted commit adds: its reference, which a Welcome names, and its owner.
#[derive(Debug, Clone)]
pub struct Added {
    reference: Vec<u8>,
    pub account: Account,
    /// A new device of a physician in the group already (a restored laptop).
    pub returning: bool,
}

/// A handshake message the relay accepted.
#[derive(Debug)]
pub enum Checked {
    /// A proposal, now queued in the group's state for the commit that takes it up.
    Proposal { record: Vec<u8> },
    /// A commit, now merged: the new state, the key packages it added, and the devices it
    /// replaced by another of the same physician (to revoke).
    Commit {
        state: GroupState,
        added: Vec<Added>,
        replaced: Vec<Account>,
    },
}

fn invalid(why: impl std::fmt::Display) -> RelayError {
    RelayError::InvalidMessage(why.to_string())
}

fn internal(e: impl std::fmt::Display) -> RelayError {
    RelayError::Internal(e.to_string())
}

/// Who a leaf speaks for and the device key that signs for it: a device certificate must
/// verify and name the leaf's signature key; a key of before the split is that key itself
/// (`consilium_model::device`).
fn keys_of(credential: &Credential, signature_key: &[u8]) -> Result<MemberKeys> {
    let basic = BasicCredential::try_from(credential.clone())
        .map_err(|_| invalid("a member's credential is not a basic credential"))?;
    device::member_keys(basic.identity(), signature_key).map_err(invalid)
}

/// The relay account of a leaf: its device key, which the relay authenticates requests with.
fn account_of(credential: &Credential, signature_key: &[u8]) -> Result<Account> {
    Ok(Account(keys_of(credential, signature_key)?.device))
}

fn leaf_keys(leaf: &LeafNode) -> Result<MemberKeys> {
    keys_of(leaf.credential(), leaf.signature_key().as_slice())
}

/// Every leaf's identity and device, in leaf order.
fn keys_of_members(group: &PublicGroup) -> Result<Vec<MemberKeys>> {
    group
        .members()
        .map(|m| keys_of(&m.credential, &m.signature_key))
        .collect()
}

fn members_of(group: &PublicGroup) -> Result<Vec<Account>> {
    let members = group
        .members()
        .map(|m| account_of(&m.credential, &m.signature_key))
        .collect::<Result<Vec<_>>>()?;
    if members.len() > MAX_MEMBERS {
        return Err(invalid(format!(
            "a circle has at most {MAX_MEMBERS} members"
        )));
    }
    Ok(members)
}

fn state_of(group: &PublicGroup, record: &GroupRecord) -> Result<GroupState> {
    Ok(GroupState {
        members: members_of(group)?,
        epoch: group.group_context().epoch().as_u64(),
        record: record.to_bytes().map_err(internal)?,
    })
}

/// The public state of a group as one of its members exported it: a signed GroupInfo (an
/// MLSMessage) and the ratchet tree it describes. The GroupInfo's signature, the tree's
/// signatures and parent hashes, and the tree hash in the GroupInfo are all checked.
pub fn establish(group_id: &[u8], group_info: &[u8], ratchet_tree: &[u8]) -> Result<GroupState> {
    let message = MlsMessageIn::tls_deserialize_exact(group_info)
        .map_err(|e| invalid(format!("not an MLS message: {e}")))?;
    let MlsMessageBodyIn::GroupInfo(group_info) = message.extract() else {
        return Err(invalid("expected a GroupInfo"));
    };
    let tree = RatchetTreeIn::tls_deserialize_exact(ratchet_tree)
        .map_err(|e| invalid(format!("not a ratchet tree: {e}")))?;
    let record = GroupRecord::default();
    let (group, _) = PublicGroup::from_external(
        &RustCrypto::default(),
        &record,
        tree,
        group_info,
        ProposalStore::new(),
    )
    .map_err(|e| invalid(format!("the group's state does not verify: {e}")))?;
    if group.group_id().as_slice() != group_id {
        return Err(invalid("the GroupInfo is for another group"));
    }
    state_of(&group, &record)
}

/// Checks a handshake message `message` posted by `poster` against the group's state `record`,
/// and applies it when valid. The caller has checked the group id and epoch from the framing.
/// `moved_from`: the key of before the device split the poster moved from, whose leaves it
/// speaks for until each circle is told of the move.
pub fn check(
    record: &[u8],
    message: &[u8],
    poster: &Account,
    moved_from: Option<&Account>,
) -> Result<Checked> {
    let record = GroupRecord::from_bytes(record).map_err(internal)?;
    let message = MlsMessageIn::tls_deserialize_exact(message)
        .map_err(|e| invalid(format!("not an MLS message: {e}")))?;
    let ProtocolMessage::PublicMessage(public) = message
        .try_into_protocol_message()
        .map_err(|_| invalid("not a group message"))?
    else {
        return Err(invalid(
            "proposals and commits travel as MLS PublicMessages, so the relay can check them",
        ));
    };
    let crypto = RustCrypto::default();
    let mut group = PublicGroup::load(&record, public.group_id())
        .map_err(internal)?
        .ok_or_else(|| internal("a group's public state is incomplete"))?;
    let processed = group
        .process_message(&crypto, *public)
        .map_err(|e| invalid(format!("refused by the group's state: {e}")))?;
    let Sender::Member(leaf) = *processed.sender() else {
        return Err(invalid("only a member of the group proposes or commits"));
    };
    let sender = leaf_keys(
        group
            .leaf(leaf)
            .ok_or_else(|| invalid("the sender's leaf is empty"))?,
    )?;
    let device = Account(sender.device);
    if device != *poster && Some(&device) != moved_from {
        return Err(RelayError::Forbidden);
    }
    match processed.into_content() {
        ProcessedMessageContent::ProposalMessage(proposal) => {
            // The one proposal a circle takes on its own is a member's leaving (clients refuse
            // any other): anything else queued here would ride into the next commit and split
            // the relay from the members until that commit is undone.
            let own_leaving = matches!(
                proposal.proposal(),
                Proposal::Remove(r) if r.removed() == leaf
            );
            if !own_leaving {
                return Err(invalid(
                    "a proposal other than a member's own leaving: changes go in an admin's commit",
                ));
            }
            group.add_proposal(&record, *proposal).map_err(internal)?;
            Ok(Checked::Proposal {
                record: record.to_bytes().map_err(internal)?,
            })
        }
        ProcessedMessageContent::StagedCommitMessage(staged) => {
            let mut added_identities = Vec::new();
            let present = keys_of_members(&group)?;
            let added = staged
                .add_proposals()
                .map(|p| {
                    let package = p.add_proposal().key_package();
                    let keys = leaf_keys(package.leaf_node())?;
                    // A device in the group already is never added again (a member's old key
                    // package reused to put a dead leaf in place of its live one).
                    if present.iter().any(|m| m.device == keys.device) {
                        return Err(invalid("a commit adds a device that is in the group"));
                    }
                    added_identities.push(keys.identity);
                    Ok(Added {
                        reference: package
                            .hash_ref(&crypto)
                            .map_err(internal)?
                            .as_slice()
                            .to_vec(),
                        account: Account(keys.device),
                        returning: present.iter().any(|m| m.identity == keys.identity),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            // The committer's new leaf (an update path) speaks for the same physician.
            if let Some(leaf) = staged.update_path_leaf_node()
                && leaf_keys(leaf)?.identity != sender.identity
            {
                return Err(invalid(
                    "a commit that puts another physician in its sender's leaf",
                ));
            }
            check_roles(&group, &staged, &sender.identity, added_identities)?;
            let removed = staged
                .remove_proposals()
                .map(|p| {
                    let leaf = group
                        .leaf(p.remove_proposal().removed())
                        .ok_or_else(|| invalid("a proposal names an empty leaf"))?;
                    leaf_keys(leaf)
                })
                .collect::<Result<Vec<_>>>()?;
            group.merge_commit(&record, *staged).map_err(internal)?;
            // A device whose physician is still in the group, on another: replaced.
            let after = keys_of_members(&group)?;
            let replaced = removed
                .into_iter()
                .filter(|r| after.iter().any(|m| m.identity == r.identity))
                .map(|r| Account(r.device))
                .collect();
            Ok(Checked::Commit {
                state: state_of(&group, &record)?,
                added,
                replaced,
            })
        }
        _ => Err(invalid("not a proposal or commit of a member")),
    }
}

/// A group context's roles (`consilium_model::roles`), if it names them.
fn roles_in(context: &GroupContext) -> Result<Option<Roles>> {
    context
        .extensions()
        .unknown(ROLES_EXTENSION)
        .map(|ext| Roles::decode(&ext.0).map_err(|_| invalid("the circle's roles are malformed")))
        .transpose()
}

/// The identity a leaf of the group (before the commit) speaks for.
fn identity_at(group: &PublicGroup, leaf: LeafNodeIndex) -> Result<[u8; 32]> {
    let node = group
        .leaf(leaf)
        .ok_or_else(|| invalid("a proposal names an empty leaf"))?;
    Ok(leaf_keys(node)?.identity)
}

/// Holds a commit to the circle's roles, the rule every client applies too
/// (`consilium_model::roles::check_commit`). A group made before roles existed takes them once,
/// from its member in the lowest leaf, who names itself admin and the members in leaf order.
fn check_roles(
    group: &PublicGroup,
    staged: &StagedCommit,
    committer: &[u8; 32],
    added: Vec<[u8; 32]>,
) -> Result<()> {
    let old = roles_in(group.group_context())?;
    let new = roles_in(staged.group_context())?;
    let changed = new.is_some() && new != old;
    let removed = staged
        .remove_proposals()
        .map(|p| {
            let removed = identity_at(group, p.remove_proposal().removed())?;
            let by = match p.sender() {
                Sender::Member(leaf) => identity_at(group, *leaf)?,
                _ => return Err(invalid("a removal not proposed by a member")),
            };
            Ok((removed, by))
        })
        .collect::<Result<Vec<_>>>()?;
    let Some(old) = old else {
        let Some(new) = new else {
            return Ok(());
        };
        // The members in leaf order: the first is the founding member.
        let roster: Vec<[u8; 32]> = keys_of_members(group)?
            .into_iter()
            .map(|k| k.identity)
            .collect();
        let founder = roster.first().copied();
        let taken = Roles {
            admins: vec![*committer],
            roster,
        };
        if founder != Some(*committer) || !added.is_empty() || !removed.is_empty() || new != taken {
            return Err(RelayError::Forbidden);
        }
        return Ok(());
    };
    if new.is_none() {
        // Dropping the roles would leave the circle without its rule.
        return Err(RelayError::Forbidden);
    }
    let shape = CommitShape {
        committer: *committer,
        added,
        removed,
        new_roles: if changed { new } else { None },
    };
    check_commit(&old, &shape).map_err(|why| {
        tracing::info!(%why, "a commit against the circle's roles was refused");
        RelayError::Forbidden
    })
}

/// The accounts of the leaves of a stored state (to restore a group's member list with it).
pub fn members_of_record(record: &[u8]) -> Result<Vec<Account>> {
    members_of(&load_record(record)?)
}

/// Every leaf's identity and device in a stored state.
pub fn member_keys_of_record(record: &[u8]) -> Result<Vec<MemberKeys>> {
    keys_of_members(&load_record(record)?)
}

/// Whose a key package (an MLSMessage) is, once its signatures verify: the identity its
/// device certificate names and the device.
pub fn key_package_keys(key_package: &[u8]) -> Result<MemberKeys> {
    let message = MlsMessageIn::tls_deserialize_exact(key_package)
        .map_err(|e| invalid(format!("not an MLS message: {e}")))?;
    let MlsMessageBodyIn::KeyPackage(package) = message.extract() else {
        return Err(invalid("expected a key package"));
    };
    let package = package
        .validate(&RustCrypto::default(), ProtocolVersion::Mls10)
        .map_err(|e| invalid(format!("the key package does not verify: {e}")))?;
    leaf_keys(package.leaf_node())
}

/// The relay accounts (device keys) of the admins a stored state's roles name: every leaf of
/// an admin's identity (none for a group made before roles).
pub fn admins_of_record(record: &[u8]) -> Result<Vec<Account>> {
    let group = load_record(record)?;
    let Some(roles) = roles_in(group.group_context())? else {
        return Ok(Vec::new());
    };
    Ok(keys_of_members(&group)?
        .into_iter()
        .filter(|k| roles.admins.contains(&k.identity))
        .map(|k| Account(k.device))
        .collect())
}

fn load_record(record: &[u8]) -> Result<PublicGroup> {
    let record = GroupRecord::from_bytes(record).map_err(internal)?;
    // The record holds one group: the id is not needed to find it.
    PublicGroup::load(&record, &GroupId::from_slice(b""))
        .map_err(internal)?
        .ok_or_else(|| internal("a group's public state is incomplete"))
}

/// Checks that `welcome` (an MLSMessage) is for `to`, who owns a key package the accepted commit
/// added, and for nobody the commit did not add.
pub fn check_welcome(welcome: &[u8], to: &Account, added: &[Added]) -> Result<()> {
    let message = MlsMessageIn::tls_deserialize_exact(welcome)
        .map_err(|e| invalid(format!("not an MLS message: {e}")))?;
    let MlsMessageBodyIn::Welcome(welcome) = message.extract() else {
        return Err(invalid("expected a Welcome"));
    };
    let mut for_recipient = false;
    for secrets in welcome.secrets() {
        let reference = secrets.new_member();
        let Some(package) = added.iter().find(|a| a.reference == reference.as_slice()) else {
            return Err(RelayError::BadRequest(
                "a Welcome for a key package the commit does not add".into(),
            ));
        };
        for_recipient |= package.account == *to;
    }
    if for_recipient {
        Ok(())
    } else {
        Err(RelayError::BadRequest(
            "a Welcome must go to the owner of a key package the commit adds".into(),
        ))
    }
}
