//! The Consilium engine: the one API the desktop app and the CLI both call. It composes the
//! vault (`store`) and de-identification (`deid`); later, MLS circles and the relay connection.
//!
//! Invariant: faces hold no business logic; everything a user can do is a method here.

pub mod blob_crypto;
pub mod case_input;
pub mod circle_apply;
pub mod circles;
pub mod clock;
mod deid_report;
pub mod effects;
pub mod engine;
pub mod error;
pub mod events;
mod image_review;
mod images;
pub mod key_publish;
mod net;
mod news;
pub mod outbox;
pub mod payload;
pub mod receive;
pub mod relay_transport;
pub mod settings;
mod sharing;
pub mod sync;
mod text_review;
mod views;

pub use case_input::{CasePatch, case_from_toml};
pub use circles::{CircleInfo, IdentityInfo, JoinRequestInfo, JoinSent, MemberInfo, Verification};
pub use clock::SystemClock;
pub use consilium_deid::{ImportLimits, Redaction};
pub use consilium_model as model;
pub use consilium_store::{KdfParams, Passphrase, Profile};
pub use deid_report::{CaseDeidReport, ImageEntry, Resolution, TextEntry};
pub use engine::{Engine, EngineConfig, ImportProgress, ImportRequest};
pub use error::{ClientError, ErrorCode, PublicError, Result};
pub use events::Event;
pub use image_review::PendingImage;
pub use images::RedactRequest;
pub use news::NewsWaiter;
pub use settings::{LOCAL_RELAY, Settings, Theme};
pub use sharing::PollView;
pub use sync::{Direction, SyncReport, Transfer};
pub use text_review::{Acknowledge, TextFinding};
pub use views::{CaseView, SidebarEntry};
