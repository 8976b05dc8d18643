//! Domain types of Consilium: cases, attachments, comments, their vocabularies and encoding.
//!
//! Invariant: this crate does no IO (it only offers `SystemClock` for binaries to pass in). It is
//! the shared vocabulary of every other crate.

pub mod app;
pub mod attachment;
pub mod case;
pub mod codec;
pub mod comment;
pub mod device;
mod error;
pub mod finding;
pub mod ids;
pub mod invite;
mod relay_address;
pub mod roles;
pub mod time;
pub mod vocab;
pub mod wire;

pub use attachment::{
    Attachment, BurnedInRisk, DeidReport, DicomReport, MAX_IMAGES_PER_CASE, Proposal, ProposalKind,
    Rendition,
};
pub use case::{Case, CaseFields, CaseFilter, CaseSummary, SearchHit, TimelineEntry};
pub use comment::Comment;
pub use finding::{Finding, FindingKind};
pub use ids::{AttachmentId, BlobId, CaseId, CommentId};
pub use relay_address::RelayAddress;
pub use time::{Clock, SystemClock, Timestamp};
pub use vocab::{AgeBand, QuestionKind, Sex, Status, Urgency};

pub use error::{ModelError, Result};
