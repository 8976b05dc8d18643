//! One circle as an MLS group: create, join from a Welcome, add from key packages, remove,
//! rotate keys, seal application messages and open whatever arrives. Own commits stay pending
//! until the relay accepts them (`confirm`) or refuses them (`abandon`), so two admins committing
//! at once never fork the circle: the loser abandons, catches up and redoes.
//!
//! Every call takes the provider the caller lends (a transaction on the vault's connection), so
//! the MLS state of each step is written together with its app-level effect.

use openmls::prelude::*;
use openmls_basic_credential::SignatureKeyPair;
use openmls_traits::OpenMlsProvider;
use tls_codec::{Deserialize as _, Serialize as _};

use crate::error::{GroupError, Result};
use crate::identity::Identity;
use crate::key_packages::CIPHERSUITE;
use crate::provider::Provider;
use crate::roles;
use consilium_model::device::{self, MemberKeys};
use consilium_model::roles::Roles;

mod membership;

/// A member's identity key, as its leaf's credential names it (`consilium_model::device`).
pub type AccountKey = [u8; 32];

/// A commit to send as one bundle: the commit, the Welcome for new members, routing hints.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub commit: Vec<u8>,
    pub welcome: Option<Vec<u8>>,
    /// The identities added and removed.
    pub added: Vec<AccountKey>,
    pub removed: Vec<AccountKey>,
    /// The relay accounts (device keys) the Welcome goes to.
    pub welcome_to: Vec<AccountKey>,
}

/// What an incoming message was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// An application message and its sender, as MLS authenticated it (not as the relay says).
    Application { sender: AccountKey, bytes: Vec<u8> },
    /// A commit, now merged: who came and went, the new epoch, whether it removed us.
    Commit {
        added: Vec<AccountKey>,
        removed: Vec<AccountKey>,
        epoch: u64,
        self_removed: bool,
    },
    /// A proposal (a member asking to leave), kept for the next commit.
    Proposal,
    /// This profile's own message coming back: nothing to do.
    Own,
    /// A message of an epoch before this profile's (sent before it joined, or a replay of an
    /// epoch whose secrets are gone): nothing to open, nothing to record.
    Earlier,
}

fn mls(e: impl std::fmt::Display) -> GroupError {
    GroupError::Mls(e.to_string())
}

/// Who a leaf speaks for: its credential read with its signature key (a device certificate
/// must verify and name that key).
fn member_of(credential: &Credential, signature_key: &[u8]) -> Result<MemberKeys> {
    let basic = BasicCredential::try_from(credential.clone())
        .map_err(|e| GroupError::Rejected(format!("a member's credential: {e}")))?;
    device::member_keys(basic.identity(), signature_key)
        .map_err(|e| GroupError::Rejected(e.to_string()))
}

fn leaf_member(leaf: &LeafNode) -> Result<MemberKeys> {
    member_of(leaf.credential(), leaf.signature_key().as_slice())
}

fn member_keys(m: &Member) -> Result<MemberKeys> {
    member_of(&m.credential, &m.signature_key)
}

fn bytes(m: &MlsMessageOut) -> Result<Vec<u8>> {
    m.tls_serialize_detached().map_err(mls)
}

/// How a circle frames what it sends: proposals and commits as signed `PublicMessage`s, which
/// the relay checks against the group's public state before it orders them; application
/// messages are always encrypted (the policy covers handshake messages only). Incoming messages
/// may be either, for the commits a circle made before it switched.
const WIRE_FORMAT: WireFormatPolicy = MIXED_PLAINTEXT_WIRE_FORMAT_POLICY;

/// The group settings every circle uses: one ciphersuite, the ratchet tree in the Welcome, no
/// secrets of past epochs kept, handshake messages the relay can check, and roles naming the
/// creator admin.
fn create_config(creator: AccountKey) -> Result<MlsGroupCreateConfig> {
    Ok(MlsGroupCreateConfig::builder()
        .ciphersuite(CIPHERSUITE)
        .use_ratchet_tree_extension(true)
        .max_past_epochs(0)
        .wire_format_policy(WIRE_FORMAT)
        .capabilities(crate::key_packages::capabilities())
        .with_group_context_extensions(roles::context_extensions(&Roles::founding(creator))?)
        .build())
}

fn join_config() -> MlsGroupJoinConfig {
    MlsGroupJoinConfig::builder()
        .use_ratchet_tree_extension(true)
        .max_past_epochs(0)
        .wire_format_policy(WIRE_FORMAT)
        .build()
}

/// A group's public state as the relay takes it: a GroupInfo signed by this member (an
/// MLSMessage, without the tree) and the ratchet tree (TLS-serialized).
#[derive(Debug, Clone)]
pub struct PublicState {
    pub group_info: Vec<u8>,
    pub ratchet_tree: Vec<u8>,
}

/// Whether `message` (as a log holds it) is a commit: what a member reports when it cannot
/// process one.
pub fn is_commit(message: &[u8]) -> bool {
    MlsMessageIn::tls_deserialize_exact(message)
        .ok()
        .and_then(|m| m.try_into_protocol_message().ok())
        .is_some_and(|p| p.content_type() == ContentType::Commit)
}

/// A circle of one made in a throw-away in-memory state: its id and its public state, which is
/// what a relay needs to create a group. For tools and tests that hold an account key but no
/// vault (the relay's client tests, benchmarks).
pub fn group_of_one(identity: &Identity) -> Result<(Vec<u8>, PublicState)> {
    let mut conn = rusqlite::Connection::open_in_memory()
        .map_err(|e| GroupError::Mls(format!("an in-memory state: {e}")))?;
    crate::provider::migrate(&mut conn)?;
    let provider = Provider::new(&conn);
    let circle = Circle::create(&provider, identity)?;
    Ok((circle.id(), circle.public_state(&provider, identity)?))
}

/// Whose a key package (an MLSMessage, as the relay hands them out) is, once it verifies: the
/// identity and the device (relay account) it names.
pub fn key_package_owner(provider: &Provider<'_>, key_package: &[u8]) -> Result<MemberKeys> {
    leaf_member(validated(provider, key_package)?.leaf_node())
}

/// A key package as it travels (an MLSMessage, RFC 9420 §6), parsed and verified.
fn validated(provider: &Provider<'_>, raw: &[u8]) -> Result<KeyPackage> {
    let message = MlsMessageIn::tls_deserialize_exact(raw)
        .map_err(|e| GroupError::Rejected(e.to_string()))?;
    let MlsMessageBodyIn::KeyPackage(package) = message.extract() else {
        return Err(GroupError::Rejected("not a key package".into()));
    };
    package
        .validate(provider.crypto(), ProtocolVersion::Mls10)
        .map_err(|e| GroupError::Rejected(e.to_string()))
}

#[derive(Debug)]
pub struct Circle {
    group: MlsGroup,
}

impl Circle {
    pub fn create(provider: &Provider<'_>, identity: &Identity) -> Result<Circle> {
        let group = MlsGroup::new(
            provider,
            identity.signer(),
            &create_config(identity.public_key())?,
            identity.credential(),
        )
        .map_err(mls)?;
        Ok(Circle { group })
    }

    /// The circle as stored, if this profile holds it.
    pub fn load(provider: &Provider<'_>, group_id: &[u8]) -> Result<Option<Circle>> {
        let group = MlsGroup::load(provider.storage(), &GroupId::from_slice(group_id))?;
        Ok(group.map(|group| Circle { group }))
    }

    /// Joins from a Welcome (which carries the ratchet tree).
    ///
    /// Only a Welcome sent by one of `welcomers` (the inviter, or an admin the invite names) is
    /// taken. Anyone can claim the inviter's key packages and build a group around them with
    /// the circle's id: what such a group cannot have is a GroupInfo signed by the inviter's
    /// leaf, and the sender of a Welcome is the leaf whose signature over it staging verified.
    pub fn join(
        provider: &Provider<'_>,
        welcome: &[u8],
        welcomers: &[AccountKey],
    ) -> Result<Circle> {
        let message = MlsMessageIn::tls_deserialize_exact(welcome).map_err(mls)?;
        let MlsMessageBodyIn::Welcome(welcome) = message.extract() else {
            return Err(GroupError::Rejected("not a Welcome".into()));
        };
        let staged = StagedWelcome::new_from_welcome(provider, &join_config(), welcome, None)
            .map_err(|e| GroupError::Rejected(e.to_string()))?;
        let sender = leaf_member(staged.welcome_sender().map_err(mls)?)?.identity;
        if !welcomers.contains(&sender) {
            return Err(GroupError::Rejected(format!(
                "the Welcome was sent by {}, who is neither the inviter nor an admin the invite names; it may be a circle the relay made up",
                hex::encode(&sender[..4])
            )));
        }
        let group = staged.into_group(provider).map_err(mls)?;
        Ok(Circle { group })
    }

    pub fn id(&self) -> Vec<u8> {
        self.group.group_id().as_slice().to_vec()
    }

    /// The key this profile's leaf signs with: the device key, or the identity key for a leaf
    /// of before the device split that has not moved yet.
    pub fn own_signer<'a>(&self, identity: &'a Identity) -> &'a SignatureKeyPair {
        let leaf_key = self
            .group
            .own_leaf_node()
            .map(|leaf| leaf.signature_key().as_slice().to_vec())
            .unwrap_or_default();
        identity.signer_for(&leaf_key)
    }

    /// Whether this profile's leaf is still a key of before the device split while the profile
    /// has a device key: its next rotation moves it (`rotate`).
    pub fn leaf_awaits_device(&self, identity: &Identity) -> bool {
        identity.is_split()
            && self
                .group
                .own_leaf_node()
                .is_some_and(|leaf| leaf.signature_key().as_slice() == identity.public_key())
    }

    /// The group's public state for the relay, at the current epoch.
    pub fn public_state(
        &self,
        provider: &Provider<'_>,
        identity: &Identity,
    ) -> Result<PublicState> {
        let group_info = self
            .group
            .export_group_info(provider.crypto(), self.own_signer(identity), false)
            .map_err(mls)?;
        Ok(PublicState {
            group_info: bytes(&group_info)?,
            ratchet_tree: self
                .group
                .export_ratchet_tree()
                .tls_serialize_detached()
                .map_err(mls)?,
        })
    }

    /// Whether this circle still sends its commits encrypted, as circles did before the relay
    /// checked them: it switches once the relay holds its public state.
    pub fn sends_hidden_handshakes(&self) -> bool {
        self.group.configuration().wire_format_policy() != WIRE_FORMAT
    }

    /// Sends proposals and commits as `PublicMessage`s from now on.
    pub fn switch_to_public_handshakes(&mut self, provider: &Provider<'_>) -> Result<()> {
        self.group
            .set_configuration(provider.storage(), &join_config())
            .map_err(mls)
    }

    pub fn epoch(&self) -> u64 {
        self.group.epoch().as_u64()
    }

    /// Eight digits drawn from this epoch's authenticator (RFC 9420, 8.7), a secret every
    /// member at this epoch shares and nobody else knows: two physicians who compare safety
    /// numbers compare these too, and a relay that showed them different circles (a fork) cannot
    /// make them agree. A hash of it, so the digits say nothing of the secret.
    pub fn epoch_code(&self) -> String {
        let digest = ring::digest::digest(
            &ring::digest::SHA256,
            &[
                &b"consilium epoch code 1\0"[..],
                self.group.epoch_authenticator().as_slice(),
            ]
            .concat(),
        );
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest.as_ref()[..8]);
        let n = u64::from_be_bytes(first) % 100_000_000;
        format!("{:04} {:04}", n / 10_000, n % 10_000)
    }

    /// Whether this profile is still a member (false once a commit removed it).
    pub fn is_active(&self) -> bool {
        self.group.is_active()
    }

    /// The members' identities, in leaf order (every leaf's credential checked).
    pub fn members(&self) -> Result<Vec<AccountKey>> {
        self.group
            .members()
            .map(|m| member_keys(&m).map(|k| k.identity))
            .collect()
    }

    /// Every leaf's identity and device, in leaf order.
    pub fn member_keys(&self) -> Result<Vec<MemberKeys>> {
        self.group.members().map(|m| member_keys(&m)).collect()
    }

    /// Whether proposals (a member asking to leave) wait for a commit.
    pub fn has_pending_proposals(&self) -> bool {
        self.group.has_pending_proposals()
    }

    /// Whether a commit of ours waits for the relay's answer.
    pub fn has_pending_commit(&self) -> bool {
        self.group.pending_commit().is_some()
    }

    /// The relay accepted our pending commit: it takes effect.
    pub fn confirm(&mut self, provider: &Provider<'_>) -> Result<()> {
        self.group.merge_pending_commit(provider).map_err(mls)
    }

    /// The relay refused our pending commit (another one won the epoch): forget it.
    pub fn abandon(&mut self, provider: &Provider<'_>) -> Result<()> {
        Ok(self.group.clear_pending_commit(provider.storage())?)
    }

    pub fn seal(
        &mut self,
        provider: &Provider<'_>,
        signer: &SignatureKeyPair,
        payload: &[u8],
    ) -> Result<Vec<u8>> {
        let message = self
            .group
            .create_message(provider, signer, payload)
            .map_err(mls)?;
        bytes(&message)
    }

    /// Opens a message from the circle's log; a commit is merged at once. A message that does
    /// not parse, decrypt or verify, or is not from a member, is `Rejected`.
    pub fn open(&mut self, provider: &Provider<'_>, message: &[u8]) -> Result<Incoming> {
        let rejected = |e: &dyn std::fmt::Display| GroupError::Rejected(e.to_string());
        let message = MlsMessageIn::tls_deserialize_exact(message).map_err(|e| rejected(&e))?;
        let protocol = message
            .try_into_protocol_message()
            .map_err(|e| rejected(&e))?;
        if protocol.group_id() != self.group.group_id() {
            return Err(GroupError::Rejected("a message of another circle".into()));
        }
        if protocol.epoch() < self.group.epoch() {
            return Ok(Incoming::Earlier);
        }
        let epoch = protocol.epoch().as_u64();
        let processed = match self.group.process_message(provider, protocol) {
            Ok(processed) => processed,
            // A message of this very epoch whose encryption does not open: its sender holds
            // other secrets for this epoch than we do (a fork), or its bytes were changed.
            Err(ProcessMessageError::ValidationError(ValidationError::UnableToDecrypt(
                openmls::framing::errors::MessageDecryptionError::AeadError,
            ))) => return Err(GroupError::Undecryptable { epoch }),
            Err(e) => return Err(rejected(&e)),
        };
        // The sender's leaf as the tree holds it before this message (its certificate checked
        // against the key that signed).
        let sender_keys = match processed.sender() {
            Sender::Member(leaf) => self.keys_at(*leaf)?,
            _ => {
                return Err(GroupError::Rejected(
                    "a message from outside the circle".into(),
                ));
            }
        };
        let sender = sender_keys.identity;
        match processed.into_content() {
            ProcessedMessageContent::ApplicationMessage(m) => Ok(Incoming::Application {
                sender,
                bytes: m.into_bytes(),
            }),
            ProcessedMessageContent::StagedCommitMessage(staged) => {
                let old = self.roles()?;
                // The members in leaf order, before the commit.
                let roster = self.members()?;
                // A committer's new leaf speaks for the same physician, with a device key its
                // identity certified.
                if let Some(leaf) = staged.update_path_leaf_node()
                    && leaf_member(leaf)?.identity != sender
                {
                    return Err(GroupError::Rejected(
                        "a commit that puts another physician in its sender's leaf".into(),
                    ));
                }
                roles::check_received(
                    old.as_ref(),
                    &staged,
                    sender,
                    &roster,
                    |leaf| self.key_at(leaf),
                    |leaf| leaf_member(leaf).map(|k| k.identity),
                )?;
                let present = self.member_keys()?;
                let added = staged
                    .add_proposals()
                    .map(|p| leaf_member(p.add_proposal().key_package().leaf_node()))
                    .map(|k| {
                        let k = k?;
                        // A device in the circle already is never added again (a member's old
                        // key package reused to put a dead leaf in place of its live one).
                        if present.iter().any(|m| m.device == k.device) {
                            return Err(GroupError::Rejected(
                                "a commit adds a device that is in the circle".into(),
                            ));
                        }
                        Ok(k.identity)
                    })
                    .collect::<Result<Vec<_>>>()?;
                let mut removed = Vec::new();
                for p in staged.remove_proposals() {
                    let leaf = p.remove_proposal().removed();
                    if let Some(member) = self.group.member_at(leaf) {
                        removed.push(member_keys(&member)?.identity);
                    }
                }
                let self_removed = staged.self_removed();
                self.group
                    .merge_staged_commit(provider, *staged)
                    .map_err(mls)?;
                Ok(Incoming::Commit {
                    added,
                    removed,
                    epoch: self.epoch(),
                    self_removed,
                })
            }
            ProcessedMessageContent::ProposalMessage(p) => {
                // Honest members commit what is pending: only a member's own leaving may wait
                // for another's commit. Anything else (adding an outsider, removing a colleague)
                // would be signed into the circle by whoever commits next, admin or not.
                let own_leaving = match (p.proposal(), p.sender()) {
                    (Proposal::Remove(r), Sender::Member(leaf)) => r.removed() == *leaf,
                    _ => false,
                };
                if !own_leaving {
                    return Err(GroupError::Rejected(
                        "a proposal other than a member's own leaving: only an admin's commit changes the circle".into(),
                    ));
                }
                self.group
                    .store_pending_proposal(provider.storage(), *p)
                    .map_err(mls)?;
                Ok(Incoming::Proposal)
            }
            ProcessedMessageContent::OwnPendingCommit
            | ProcessedMessageContent::OwnPrivateMessage => Ok(Incoming::Own),
            ProcessedMessageContent::ExternalJoinProposalMessage(_) => Err(GroupError::Rejected(
                "external joins are not accepted".into(),
            )),
        }
    }
}
