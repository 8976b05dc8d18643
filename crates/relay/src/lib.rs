//! The Consilium relay: stores and forwards opaque MLS messages and encrypted blobs for circles,
//! orders each group's handshake messages (one commit per epoch), and never holds a key.
//!
//! Invariants: depends only on `model`'s wire envelopes and on openmls' framing parser; reads no
//! more of an MLS message than its public framing (group id, epoch, content type); everything it
//! acknowledges is on disk first.

pub mod admission;
pub mod auth;
mod background;
mod config;
pub mod error;
pub mod framing;
pub mod handshake;
pub mod limits;
mod private_files;
mod proxy_protocol;
mod push;
mod routes;
mod server;
mod stall;
pub mod store;
mod wakeups;

pub use admission::{Admission, new_enrolment_code};
pub use background::Background;
pub use config::RelayConfig;
pub use error::{RelayError, Result};
pub use server::run;
