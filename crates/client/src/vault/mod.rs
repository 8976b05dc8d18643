//! The profile's own material in the vault, as the faces use it: cases (`cases`, from a form or a
//! TOML file through `case_input`), images imported, exported and remade (`import`, `images`),
//! and the views the window shows (`views`).

mod case_input;
mod cases;
mod erase;
mod images;
mod import;
mod views;

pub use case_input::{CasePatch, case_from_toml};
pub use images::RedactRequest;
pub use import::{ImportProgress, ImportRequest};
pub use views::{CaseView, RetractedCase, SidebarEntry};
