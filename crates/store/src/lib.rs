//! The Consilium vault: a SQLCipher database unlocked by a passphrase, with cases, revisions,
//! comments, full-text search, and attachment bytes in encrypted blob files.
//!
//! Invariants: this crate knows nothing of images, MLS, the relay or Tauri; it stores what it is
//! given. Nothing it writes to disk is plaintext: the database is SQLCipher, blob files are
//! AES-256-GCM, and keys live only in `Zeroize` types whose `Debug` redacts.

mod atomic;
pub mod blob;
pub mod cases;
pub mod circles;
mod durable;
pub mod entropy;
pub mod error;
pub mod keys;
pub mod listing;
pub mod membership;
mod migrations;
mod privacy;
pub use privacy::KeptReport;
pub mod sync_state;
pub mod transfers;
pub mod vault;

pub use cases::{AttachmentRecord, CaseDb, Profile, StoredBlob};
pub use circles::CircleRecord;
pub use entropy::{Entropy, SystemEntropy};
pub use error::{Result, StoreError};
pub use keys::{KdfParams, Passphrase, SecretKey};
pub use listing::{CaseCount, CaseCounts};
pub use membership::{JoinRequest, PendingJoin};
pub use migrations::LATEST as SCHEMA_VERSION;
pub use sync_state::{OutboxItem, ReceiveFailure};
pub use transfers::{IncomingAttachment, OutgoingBlob};
pub use vault::{NewRendition, Vault};
