//! The Consilium vault: a SQLCipher database unlocked by a passphrase, with cases, revisions,
//! comments, full-text search, and attachment bytes in encrypted blob files.
//!
//! Invariants: this crate knows nothing of images, MLS, the relay or Tauri; it stores what it is
//! given. Nothing it writes to disk is plaintext: the database is SQLCipher, blob files are
//! AES-256-GCM, and keys live only in `Zeroize` types whose `Debug` redacts.
//!
//! `CaseDb` is the database; each group of tables is reached through a handle named after what
//! it holds (`db.cases()`, `db.outbox()`, …), defined in the file of the same name.

mod atomic;
mod attachments;
mod backup;
pub mod blob;
mod case_list;
mod cases;
mod circles;
mod comments;
mod db;
mod device_moves;
mod durable;
mod entropy;
mod erase;
mod error;
#[cfg(feature = "forensics")]
pub mod forensics;
mod keys;
mod logs;
mod membership;
mod migrations;
mod open;
mod outbox;
mod polls;
mod privacy;
mod rows;
mod search;
mod shares;
mod transfers;
mod vault;

pub use attachments::{AttachmentRecord, Attachments, StoredBlob};
pub use backup::{BackupReport, LastBackup, RecoveryCode, RestoreReport};
pub use case_list::{CaseCount, CaseCounts};
pub use cases::Cases;
pub use circles::{CircleRecord, Circles};
pub use comments::Comments;
pub use db::{CaseDb, Profile};
pub use durable::{create_private, create_private_dir};
pub use entropy::{Entropy, SystemEntropy};
pub use erase::Tombstone;
pub use error::{Result, StoreError};
pub use keys::{KdfParams, Passphrase, SecretKey};
pub use logs::{Logs, ReceiveFailure};
pub use membership::{APPROVING_UNCHECKED, JoinRequest, Membership, PendingJoin};
pub use migrations::LATEST as SCHEMA_VERSION;
pub use outbox::{Outbox, OutboxItem};
pub use polls::Polls;
pub use privacy::{KeptReport, Privacy, SeenFinding};
pub use search::Search;
pub use shares::Shares;
pub use transfers::{IncomingAttachment, OutgoingBlob, Transfers};
pub use vault::{NewRendition, Vault, open_keyed};
