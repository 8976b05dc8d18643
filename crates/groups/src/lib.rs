//! Circles as MLS groups. This first part holds what two physicians compare to know they talk to
//! each other and not to a relay in the middle: safety numbers.
//!
//! Invariants: knows nothing of the relay's transport, the UI or Tauri; pure functions of public
//! keys here.

pub mod safety;

pub use safety::{SafetyNumber, safety_number};
