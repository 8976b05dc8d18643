//! Changing a circle: adding and removing members, naming admins, rotating keys, leaving. Each
//! commit that changes the membership carries the roles it leads to (`crate::roles`), so the
//! relay and every member can hold it to the circle's rule.

use consilium_model::roles::Roles;
use openmls::prelude::*;
use openmls_basic_credential::SignatureKeyPair;
use openmls_traits::OpenMlsProvider;

use super::{AccountKey, Circle, Outgoing, bytes, leaf_member, member_keys, mls, validated};
use crate::error::{GroupError, Result};
use crate::identity::Identity;
use crate::provider::Provider;
use crate::roles;
use consilium_model::device::MemberKeys;

impl Circle {
    /// The circle's roles, once it has them (circles made before roles take them on a later
    /// rotation of its founding member's keys).
    pub fn roles(&self) -> Result<Option<Roles>> {
        roles::roles_in(self.group.public_group().group_context())
    }

    /// Whether `key` may add and remove others: an admin, or anyone in a circle without roles.
    pub fn may_manage(&self, key: &AccountKey) -> Result<bool> {
        Ok(self.roles()?.is_none_or(|r| r.is_admin(key)))
    }

    /// The identity in a leaf of the current tree.
    pub(super) fn key_at(&self, leaf: LeafNodeIndex) -> Result<AccountKey> {
        Ok(self.keys_at(leaf)?.identity)
    }

    /// The identity and device in a leaf of the current tree.
    pub(super) fn keys_at(&self, leaf: LeafNodeIndex) -> Result<MemberKeys> {
        let member = self
            .group
            .member_at(leaf)
            .ok_or_else(|| GroupError::Rejected("a message names an empty leaf".into()))?;
        member_keys(&member)
    }

    /// Commits `adds` and `removals` (and the proposals waiting, such as a member's leave),
    /// carrying the roles they lead to when the circle has roles.
    fn commit_membership(
        &mut self,
        provider: &Provider<'_>,
        identity: &Identity,
        adds: Vec<KeyPackage>,
        removals: Vec<LeafNodeIndex>,
    ) -> Result<(Vec<u8>, Option<Vec<u8>>)> {
        let mut roles_after = None;
        if let Some(old) = self.roles()? {
            let mut added = adds
                .iter()
                .map(|p| leaf_member(p.leaf_node()).map(|k| k.identity))
                .collect::<Result<Vec<_>>>()?;
            let mut removed = removals
                .iter()
                .map(|leaf| self.key_at(*leaf))
                .collect::<Result<Vec<_>>>()?;
            for p in self.group.pending_proposals() {
                if let Proposal::Remove(r) = p.proposal() {
                    removed.push(self.key_at(r.removed())?);
                }
            }
            // A member changing device stays where it was in the roles.
            let swapped: Vec<AccountKey> = added
                .iter()
                .filter(|k| removed.contains(k) && old.roster.contains(k))
                .copied()
                .collect();
            added.retain(|k| !swapped.contains(k));
            removed.retain(|k| !swapped.contains(k));
            if !added.is_empty() || !removed.is_empty() {
                roles_after = Some(roles::context_extensions(&old.after(&added, &removed))?);
            }
        }
        let signer = self.own_signer(identity);
        let mut builder = self
            .group
            .commit_builder()
            .propose_adds(adds)
            .propose_removals(removals);
        if let Some(extensions) = roles_after {
            builder = builder
                .propose_group_context_extensions(extensions)
                .map_err(mls)?;
        }
        let bundle = staged(builder, provider, signer)?;
        let welcome = bundle.to_welcome_msg().map(|w| bytes(&w)).transpose()?;
        Ok((bytes(bundle.commit())?, welcome))
    }

    /// Adds the owners of `key_packages` (MLSMessages, as the relay hands them out); each is
    /// validated.
    pub fn add(
        &mut self,
        provider: &Provider<'_>,
        identity: &Identity,
        key_packages: &[Vec<u8>],
    ) -> Result<Outgoing> {
        let mut packages = Vec::with_capacity(key_packages.len());
        let mut added = Vec::with_capacity(key_packages.len());
        let mut welcome_to = Vec::with_capacity(key_packages.len());
        let mut removals = Vec::new();
        let mut removed = Vec::new();
        let present = self.group.members().collect::<Vec<_>>();
        for raw in key_packages {
            let package = validated(provider, raw)?;
            let keys = leaf_member(package.leaf_node())?;
            // A member's new device (a restored laptop) takes the place of its others, in the
            // same commit.
            for m in &present {
                let there = member_keys(m)?;
                if there.device == keys.device {
                    return Err(GroupError::Rejected(
                        "this device is in the circle already".into(),
                    ));
                }
                if there.identity == keys.identity {
                    removals.push(m.index);
                    removed.push(keys.identity);
                }
            }
            added.push(keys.identity);
            welcome_to.push(keys.device);
            packages.push(package);
        }
        let (commit, welcome) = self.commit_membership(provider, identity, packages, removals)?;
        Ok(Outgoing {
            commit,
            welcome,
            added,
            removed,
            welcome_to,
        })
    }

    pub fn remove(
        &mut self,
        provider: &Provider<'_>,
        identity: &Identity,
        accounts: &[AccountKey],
    ) -> Result<Outgoing> {
        // Every leaf of each physician named: all their devices go.
        let mut leaves = Vec::new();
        let mut found = Vec::new();
        for m in self.group.members() {
            let who = member_keys(&m)?.identity;
            if accounts.contains(&who) {
                leaves.push(m.index);
                found.push(who);
            }
        }
        if !accounts.iter().all(|a| found.contains(a)) {
            return Err(GroupError::Mls("not a member of this circle".into()));
        }
        let (commit, _) = self.commit_membership(provider, identity, vec![], leaves)?;
        Ok(Outgoing {
            commit,
            welcome: None,
            added: vec![],
            removed: accounts.to_vec(),
            welcome_to: vec![],
        })
    }

    /// Makes `member` an admin too (a commit only an admin may make).
    pub fn promote(
        &mut self,
        provider: &Provider<'_>,
        identity: &Identity,
        member: AccountKey,
    ) -> Result<Outgoing> {
        let Some(mut roles) = self.roles()? else {
            return Err(GroupError::Rejected("this circle has no roles yet".into()));
        };
        if !roles.roster.contains(&member) {
            return Err(GroupError::Rejected("not a member of this circle".into()));
        }
        if !roles.admins.contains(&member) {
            roles.admins.push(member);
        }
        let extensions = roles::context_extensions(&roles)?;
        let signer = self.own_signer(identity);
        let builder = self
            .group
            .commit_builder()
            .consume_proposal_store(false)
            .propose_group_context_extensions(extensions)
            .map_err(mls)?;
        let bundle = staged(builder, provider, signer)?;
        Ok(Outgoing {
            commit: bytes(bundle.commit())?,
            welcome: None,
            added: vec![],
            removed: vec![],
            welcome_to: vec![],
        })
    }

    /// A fresh leaf key for this profile (key rotation). The new leaf announces the roles
    /// extension; in a circle made before roles, once every leaf does, its founding member (the
    /// lowest leaf) also gives the circle its roles: itself admin, the members in leaf order.
    pub fn rotate(&mut self, provider: &Provider<'_>, identity: &Identity) -> Result<Outgoing> {
        let parameters = LeafNodeParameters::builder()
            .with_capabilities(crate::key_packages::capabilities())
            .build();
        let founding = self
            .roles_to_take(identity)?
            .map(|r| roles::context_extensions(&r))
            .transpose()?;
        let signer = self.own_signer(identity);
        let awaits_device = self.leaf_awaits_device(identity);
        let mut builder = self
            .group
            .commit_builder()
            .consume_proposal_store(false)
            .force_self_update(true)
            .leaf_node_parameters(parameters);
        if let Some(extensions) = founding {
            builder = builder
                .propose_group_context_extensions(extensions)
                .map_err(mls)?;
        }
        let bundle = if awaits_device {
            // A leaf of before the split takes the device key and its certificate: the commit
            // is signed by the old key, the new leaf by the new one.
            builder
                .load_psks(provider.storage())
                .map_err(mls)?
                .build_with_new_signer(
                    provider.rand(),
                    provider.crypto(),
                    signer,
                    NewSignerBundle {
                        signer: identity.signer(),
                        credential_with_key: identity.credential(),
                    },
                    |_| true,
                )
                .map_err(mls)?
                .stage_commit(provider)
                .map_err(mls)?
        } else {
            staged(builder, provider, signer)?
        };
        Ok(Outgoing {
            commit: bytes(bundle.commit())?,
            welcome: None,
            added: vec![],
            removed: vec![],
            welcome_to: vec![],
        })
    }

    /// For a circle without roles whose every leaf announces them, where this profile holds the
    /// lowest leaf: the roles it gives the circle.
    fn roles_to_take(&self, identity: &Identity) -> Result<Option<Roles>> {
        if self.roles()?.is_some()
            || !roles::all_support_roles(&self.group)
            || self.group.members().map(|m| m.index).min() != Some(self.group.own_leaf_index())
        {
            return Ok(None);
        }
        let roster = self
            .group
            .members()
            .map(|m| member_keys(&m).map(|k| k.identity))
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(Roles {
            admins: vec![identity.public_key()],
            roster,
        }))
    }

    /// Whether a key rotation would move this circle towards roles: its own leaf does not
    /// announce them yet, or it is the founding member of a circle ready to take them.
    pub fn wants_rotation_for_roles(&self, identity: &Identity) -> Result<bool> {
        if self.roles()?.is_some() {
            return Ok(false);
        }
        Ok(
            !roles::leaf_supports_roles(&self.group, self.group.own_leaf_index())
                || self.roles_to_take(identity)?.is_some(),
        )
    }

    /// Asks to leave: a proposal to remove this profile, which another member commits.
    pub fn leave(&mut self, provider: &Provider<'_>, identity: &Identity) -> Result<Vec<u8>> {
        let message = self
            .group
            .leave_group(provider, self.own_signer(identity))
            .map_err(mls)?;
        bytes(&message)
    }

    /// Commits the proposals received (a member's request to leave).
    pub fn commit_pending(
        &mut self,
        provider: &Provider<'_>,
        identity: &Identity,
    ) -> Result<Outgoing> {
        let mut removed = Vec::new();
        for p in self.group.pending_proposals() {
            if let Proposal::Remove(r) = p.proposal()
                && let Some(member) = self.group.member_at(r.removed())
            {
                removed.push(member_keys(&member)?.identity);
            }
        }
        let (commit, welcome) = self.commit_membership(provider, identity, vec![], vec![])?;
        Ok(Outgoing {
            commit,
            welcome,
            added: vec![],
            removed,
            welcome_to: vec![],
        })
    }
}

/// Signs and stages a commit: it waits, pending, for the relay's answer (`confirm`, `abandon`).
fn staged(
    builder: CommitBuilder<'_, openmls::group::Initial>,
    provider: &Provider<'_>,
    signer: &SignatureKeyPair,
) -> Result<CommitMessageBundle> {
    builder
        .load_psks(provider.storage())
        .map_err(mls)?
        .build(provider.rand(), provider.crypto(), signer, |_| true)
        .map_err(mls)?
        .stage_commit(provider)
        .map_err(mls)
}
