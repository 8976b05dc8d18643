//! Finding the workspace's source files.

use std::path::{Path, PathBuf};

/// The workspace's root folder (this crate sits at `crates/tidy`). Read when the checks run, not
/// when they were compiled: checkouts that share a build folder (CI's fresh clone and a working
/// copy) can run a binary another of them built, and each must check its own sources.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// A Rust source file and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

/// Every `.rs` file below `dir`, in a stable order, skipping build output and dependencies.
pub fn rust_files(dir: &Path) -> Vec<SourceFile> {
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn walk(dir: &Path, out: &mut Vec<SourceFile>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !matches!(name.as_str(), "target" | "node_modules" | ".git" | "dist") {
                walk(&path, out);
            }
        } else if name.ends_with(".rs")
            && let Ok(text) = std::fs::read_to_string(&path)
        {
            out.push(SourceFile { path, text });
        }
    }
}
