//! One group's public MLS state as one record: the parts openmls' `PublicGroup` keeps (ratchet
//! tree, group context, interim transcript hash, confirmation tag, the proposals of the current
//! epoch), each CBOR-encoded, in one CBOR document. The store keeps that document in the group's
//! row, written in the same transaction as the log entry that changed it, so the state and the
//! log can never disagree. A backend other than SQLite stores the same bytes.

use std::cell::RefCell;

use consilium_model::codec::{from_cbor, to_cbor};
use openmls_traits::public_storage::PublicStorageProvider;
use openmls_traits::storage::{CURRENT_VERSION, traits};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Fields {
    tree: Option<ByteBuf>,
    context: Option<ByteBuf>,
    interim_transcript_hash: Option<ByteBuf>,
    confirmation_tag: Option<ByteBuf>,
    /// Proposal reference and proposal, in the order received.
    proposals: Vec<(ByteBuf, ByteBuf)>,
}

/// The state of one group, lent to openmls as its storage for one operation.
#[derive(Debug, Default)]
pub(super) struct GroupRecord {
    fields: RefCell<Fields>,
}

#[derive(Debug, thiserror::Error)]
#[error("the group's public state: {0}")]
pub struct RecordError(String);

fn encode<T: Serialize>(value: &T) -> Result<ByteBuf, RecordError> {
    to_cbor(value)
        .map(ByteBuf::from)
        .map_err(|e| RecordError(e.to_string()))
}

fn decode<T: serde::de::DeserializeOwned>(
    bytes: Option<&ByteBuf>,
) -> Result<Option<T>, RecordError> {
    bytes
        .map(|b| from_cbor(b).map_err(|e| RecordError(e.to_string())))
        .transpose()
}

impl GroupRecord {
    pub(super) fn from_bytes(bytes: &[u8]) -> Result<GroupRecord, RecordError> {
        let fields = from_cbor(bytes).map_err(|e| RecordError(e.to_string()))?;
        Ok(GroupRecord {
            fields: RefCell::new(fields),
        })
    }

    pub(super) fn to_bytes(&self) -> Result<Vec<u8>, RecordError> {
        to_cbor(&*self.fields.borrow()).map_err(|e| RecordError(e.to_string()))
    }

    fn set(&self, f: impl FnOnce(&mut Fields)) -> Result<(), RecordError> {
        f(&mut self.fields.borrow_mut());
        Ok(())
    }
}

/// The record holds one group, so the group id openmls passes is not needed to find anything.
impl PublicStorageProvider<CURRENT_VERSION> for GroupRecord {
    type PublicError = RecordError;

    fn write_tree<G: traits::GroupId<CURRENT_VERSION>, T: traits::TreeSync<CURRENT_VERSION>>(
        &self,
        _: &G,
        tree: &T,
    ) -> Result<(), RecordError> {
        let tree = encode(tree)?;
        self.set(|f| f.tree = Some(tree))
    }

    fn write_interim_transcript_hash<
        G: traits::GroupId<CURRENT_VERSION>,
        H: traits::InterimTranscriptHash<CURRENT_VERSION>,
    >(
        &self,
        _: &G,
        hash: &H,
    ) -> Result<(), RecordError> {
        let hash = encode(hash)?;
        self.set(|f| f.interim_transcript_hash = Some(hash))
    }

    fn write_context<
        G: traits::GroupId<CURRENT_VERSION>,
        C: traits::GroupContext<CURRENT_VERSION>,
    >(
        &self,
        _: &G,
        context: &C,
    ) -> Result<(), RecordError> {
        let context = encode(context)?;
        self.set(|f| f.context = Some(context))
    }

    fn write_confirmation_tag<
        G: traits::GroupId<CURRENT_VERSION>,
        T: traits::ConfirmationTag<CURRENT_VERSION>,
    >(
        &self,
        _: &G,
        tag: &T,
    ) -> Result<(), RecordError> {
        let tag = encode(tag)?;
        self.set(|f| f.confirmation_tag = Some(tag))
    }

    fn queue_proposal<
        G: traits::GroupId<CURRENT_VERSION>,
        R: traits::ProposalRef<CURRENT_VERSION>,
        P: traits::QueuedProposal<CURRENT_VERSION>,
    >(
        &self,
        _: &G,
        reference: &R,
        proposal: &P,
    ) -> Result<(), RecordError> {
        let (reference, proposal) = (encode(reference)?, encode(proposal)?);
        self.set(|f| {
            f.proposals.retain(|(r, _)| *r != reference);
            f.proposals.push((reference, proposal));
        })
    }

    fn queued_proposals<
        G: traits::GroupId<CURRENT_VERSION>,
        R: traits::ProposalRef<CURRENT_VERSION>,
        P: traits::QueuedProposal<CURRENT_VERSION>,
    >(
        &self,
        _: &G,
    ) -> Result<Vec<(R, P)>, RecordError> {
        let fields = self.fields.borrow();
        fields
            .proposals
            .iter()
            .map(|(r, p)| {
                let r = decode(Some(r))?.ok_or_else(|| RecordError("empty".into()))?;
                let p = decode(Some(p))?.ok_or_else(|| RecordError("empty".into()))?;
                Ok((r, p))
            })
            .collect()
    }

    fn tree<G: traits::GroupId<CURRENT_VERSION>, T: traits::TreeSync<CURRENT_VERSION>>(
        &self,
        _: &G,
    ) -> Result<Option<T>, RecordError> {
        decode(self.fields.borrow().tree.as_ref())
    }

    fn group_context<
        G: traits::GroupId<CURRENT_VERSION>,
        C: traits::GroupContext<CURRENT_VERSION>,
    >(
        &self,
        _: &G,
    ) -> Result<Option<C>, RecordError> {
        decode(self.fields.borrow().context.as_ref())
    }

    fn interim_transcript_hash<
        G: traits::GroupId<CURRENT_VERSION>,
        H: traits::InterimTranscriptHash<CURRENT_VERSION>,
    >(
        &self,
        _: &G,
    ) -> Result<Option<H>, RecordError> {
        decode(self.fields.borrow().interim_transcript_hash.as_ref())
    }

    fn confirmation_tag<
        G: traits::GroupId<CURRENT_VERSION>,
        T: traits::ConfirmationTag<CURRENT_VERSION>,
    >(
        &self,
        _: &G,
    ) -> Result<Option<T>, RecordError> {
        decode(self.fields.borrow().confirmation_tag.as_ref())
    }

    fn delete_tree<G: traits::GroupId<CURRENT_VERSION>>(&self, _: &G) -> Result<(), RecordError> {
        self.set(|f| f.tree = None)
    }

    fn delete_confirmation_tag<G: traits::GroupId<CURRENT_VERSION>>(
        &self,
        _: &G,
    ) -> Result<(), RecordError> {
        self.set(|f| f.confirmation_tag = None)
    }

    fn delete_context<G: traits::GroupId<CURRENT_VERSION>>(
        &self,
        _: &G,
    ) -> Result<(), RecordError> {
        self.set(|f| f.context = None)
    }

    fn delete_interim_transcript_hash<G: traits::GroupId<CURRENT_VERSION>>(
        &self,
        _: &G,
    ) -> Result<(), RecordError> {
        self.set(|f| f.interim_transcript_hash = None)
    }

    fn remove_proposal<
        G: traits::GroupId<CURRENT_VERSION>,
        R: traits::ProposalRef<CURRENT_VERSION>,
    >(
        &self,
        _: &G,
        reference: &R,
    ) -> Result<(), RecordError> {
        let reference = encode(reference)?;
        self.set(|f| f.proposals.retain(|(r, _)| *r != reference))
    }

    fn clear_proposal_queue<
        G: traits::GroupId<CURRENT_VERSION>,
        R: traits::ProposalRef<CURRENT_VERSION>,
    >(
        &self,
        _: &G,
    ) -> Result<(), RecordError> {
        self.set(|f| f.proposals.clear())
    }
}
