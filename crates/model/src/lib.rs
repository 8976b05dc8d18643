//! Domain types of Consilium: cases, attachments, comments, their vocabularies and encoding.
//!
//! Invariant: this crate does no IO (it only offers `SystemClock` for binaries to pass in). It is
//! the shared vocabulary of every other crate.

pub mod app;
pub mod attachment;
pub mod case;
pub mod codec;
pub mod comment;
pub mod finding;
pub mod ids;
pub mod invite;
pub mod time;
pub mod vocab;
pub mod wire;

pub use attachment::{
    Attachment, BurnedInRisk, DeidReport, DicomReport, Proposal, ProposalKind, Rendition,
};
pub use case::{Case, CaseFields, CaseFilter, CaseSummary, SearchHit, TimelineEntry};
pub use comment::Comment;
pub use finding::{Finding, FindingKind};
pub use ids::{AttachmentId, BlobId, CaseId, CommentId};
pub use time::{Clock, SystemClock, Timestamp};
pub use vocab::{AgeBand, QuestionKind, Sex, Status, Urgency};

/// Errors of the model: invalid values and codec failures.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{0}")]
    Invalid(String),
    #[error("could not encode: {0}")]
    Encode(String),
    #[error("could not decode: {0}")]
    Decode(String),
}

pub type Result<T, E = ModelError> = std::result::Result<T, E>;
