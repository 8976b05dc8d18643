//! The Consilium engine: the one API the desktop app and the CLI both call. It composes the
//! vault (`store`), de-identification (`deid`), circles as MLS groups (`groups`) and the relays
//! (`relay-client`) behind `Engine`.
//!
//! Architecture Invariant: faces hold no business logic; everything a user can do is a method of
//! `Engine`. The modules are private; what is re-exported here is the whole API (the bridging
//! layers — CLI, desktop — use nothing else).
//!
//! Layers, each module using only those below it (a tidy test refuses an import cycle):
//! `vault`, `review`, `circles`, `sync` (what `Engine` does, by concern) → `engine` (the unlocked
//! profile) → `net` (relay connections) → `error`, `events`, `findings`, `settings`,
//! `blob_crypto`, `clock`.

mod backup;
pub mod blob_crypto; // public for the fuzz target of downloaded images
mod circles;
mod clock;
mod engine;
mod error;
mod events;
mod findings;
mod net;
mod review;
mod settings;
mod sync;
mod vault;

pub use backup::{BackupOutcome, BackupStatus, RestoreOutcome};
pub use circles::{
    ApprovalCheck, CircleInfo, IdentityInfo, JoinRequestInfo, JoinSent, MemberInfo, PollView,
    Verification,
};
pub use clock::SystemClock;
pub use consilium_deid::{ImportLimits, Redaction};
pub use consilium_model as model;
pub use consilium_relay_client::Patience;
pub use consilium_store::{KdfParams, Passphrase, Profile, Tombstone};
pub use engine::{Engine, EngineConfig};
pub use error::{ClientError, ErrorCode, PublicError, Result};
pub use events::{Direction, Event, Transfer};
pub use findings::{PendingImage, TextFinding};
pub use net::{Interrupt, NewsWaiter, Wanted};
pub use review::{Acknowledge, CaseDeidReport, ImageEntry, Resolution, TextEntry};
pub use settings::{EARLIER_LOCAL_RELAY, Language, Settings, Theme, local_relay};
pub use sync::SyncReport;
pub use vault::{
    CasePatch, CaseView, ImportProgress, ImportRequest, RedactRequest, RetractedCase, SidebarEntry,
    case_from_toml,
};
