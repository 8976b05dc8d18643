//! Reads the workspace's Rust sources as text and answers questions about their shape, for the
//! tidy tests in `tests/tidy.rs`. Text, not a parser: the questions are simple and the sources
//! are rustfmt-formatted.

mod imports;
mod sources;

pub use imports::{Cycle, import_cycles};
pub use sources::{SourceFile, rust_files, workspace_root};
