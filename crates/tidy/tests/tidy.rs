//! Tidy tests: the code's shape, checked like its behaviour.

use std::path::PathBuf;

use consilium_tidy::{import_cycles, rust_files, workspace_root};

/// The source folder of every crate in the workspace.
fn crate_sources() -> Vec<PathBuf> {
    let root = workspace_root();
    let mut out: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("src"))
        .filter(|p| p.is_dir())
        .collect();
    out.push(root.join("src-tauri/src"));
    out.sort();
    out
}

#[test]
fn no_crate_has_an_import_cycle_between_its_modules() {
    let sources = crate_sources();
    assert!(sources.len() >= 10, "the workspace's crates were found");
    let mut found = Vec::new();
    for src in &sources {
        for cycle in import_cycles(src) {
            found.push(format!(
                "{} (in {}): {}",
                src.display(),
                cycle.level,
                cycle.edges.join(", ")
            ));
        }
    }
    assert!(
        found.is_empty(),
        "modules that import each other in a ring (move the shared item below both):\n{}",
        found.join("\n")
    );
}

/// A file this long must say at its top why it is not cut (a line of its opening comment
/// starting "Over 600 lines:").
const MAX_LINES: usize = 600;

#[test]
fn no_source_file_is_over_600_lines_without_a_reason_at_its_top() {
    let root = workspace_root();
    let mut long = Vec::new();
    for dir in ["crates", "src-tauri/src", "tests", "fuzz/fuzz_targets"] {
        for file in rust_files(&root.join(dir)) {
            let lines = file.text.lines().count();
            let reason = file
                .text
                .lines()
                .take_while(|l| l.starts_with("//"))
                .any(|l| {
                    l.trim_start_matches('/')
                        .trim_start_matches('!')
                        .trim()
                        .starts_with("Over 600 lines:")
                });
            if lines > MAX_LINES && !reason {
                long.push(format!("{} ({lines} lines)", file.path.display()));
            }
        }
    }
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines with no reason at their top (cut them by concern):\n{}",
        long.join("\n")
    );
}

#[test]
fn the_sync_state_machines_never_name_the_engine() {
    // They are tested with fakes and a bare vault; the files that drive a pass name `Engine`.
    let sync = workspace_root().join("crates/client/src/sync");
    let machines = [
        "outbox.rs",
        "receive.rs",
        "circle_apply.rs",
        "effects.rs",
        "payload.rs",
        "queue.rs",
        "routes.rs",
    ];
    for name in machines {
        let path = sync.join(name);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            !text.contains("Engine"),
            "{} names Engine: a state machine takes the vault and its traits, not the engine",
            path.display()
        );
    }
}

/// Every test a document names as the proof of something exists: a renamed or deleted test
/// would leave the threat register (or the architecture) pointing at nothing.
#[test]
fn the_tests_the_documents_name_exist() {
    let root = workspace_root();
    let code: String = ["crates", "src-tauri/src", "tests"]
        .iter()
        .flat_map(|dir| rust_files(&root.join(dir)))
        .map(|f| f.text)
        .collect::<Vec<_>>()
        .join("\n");
    let ui_tests = std::fs::read_dir(root.join("ui/src/lib"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect::<Vec<_>>()
        .join("\n");
    let mut missing = Vec::new();
    for doc in ["docs/SECURITY.md", "ARCHITECTURE.md"] {
        let text = std::fs::read_to_string(root.join(doc)).unwrap_or_default();
        // A test name: a backticked snake_case identifier of five words or more.
        for quoted in text.split('`').skip(1).step_by(2) {
            let name = quoted.rsplit([' ', ':']).next().unwrap_or(quoted);
            let words = name.split('_').count();
            let plain = name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if words >= 5
                && plain
                && !code.contains(&format!("fn {name}("))
                && !ui_tests.contains(name)
            {
                missing.push(format!("{doc}: {name}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "tests named in documents but not found:\n{}",
        missing.join("\n")
    );
}
