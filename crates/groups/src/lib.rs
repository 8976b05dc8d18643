//! Circles as MLS groups (openmls): a profile's identity, its key packages, and its provider,
//! whose state lives in the vault's SQLCipher database through `openmls_sqlite_storage` and is
//! written inside the caller's transaction. Safety numbers let two physicians check each other's
//! keys out of band.
//!
//! Invariants: knows nothing of the relay's transport, the UI or Tauri; never holds a connection
//! of its own (the caller lends one, usually a transaction).

pub mod circle;
pub mod error;
pub mod identity;
pub mod join_note;
pub mod key_packages;
pub mod provider;
mod roles;
pub mod safety;

pub use circle::{
    AccountKey, Circle, Incoming, Outgoing, PublicState, group_of_one, is_commit, key_package_owner,
};
pub use error::{GroupError, Result};
pub use identity::Identity;
pub use join_note::NoteKey;
pub use key_packages::{CIPHERSUITE, Published, make_key_packages};
pub use provider::{Provider, migrate};
pub use safety::{SafetyNumber, safety_number};
