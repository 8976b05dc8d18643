//! The window's TypeScript boundary, generated from Rust: every command's signature, every type
//! it takes or returns (error codes, `PublicError`, the views), and the events, written to
//! `ui/src/lib/bindings.ts`. A test regenerates it and fails when the committed file is stale,
//! so the front end cannot drift from the commands.
//!
//! Two commands carry a raw body (an image's bytes) and one answers with raw bytes
//! (`commands::raw`): the generated signatures leave the body out, and `api.ts` sends it.

use tauri_specta::{ErrorHandlingMode, collect_commands, collect_events};

use crate::commands::{backup, cases, circles, events, privacy, profile};

/// Every command and event of the window.
pub fn builder() -> tauri_specta::Builder<tauri::Wry> {
    tauri_specta::Builder::<tauri::Wry>::new()
        .commands(collect_commands![
            profile::profile_status,
            profile::create_profile,
            profile::unlock,
            profile::lock,
            profile::identity,
            profile::change_passphrase,
            profile::save_settings,
            backup::back_up,
            backup::backup_status,
            backup::restore_profile,
            backup::circles_awaiting_readmission,
            cases::sidebar,
            cases::list_cases,
            cases::search,
            cases::open_case,
            cases::create_case,
            cases::edit_case,
            cases::resolve_case,
            cases::delete_case,
            cases::retracted_cases,
            cases::retract_case,
            cases::attach_files,
            cases::attach_image,
            cases::choose_frame,
            cases::choose_frame_from_file,
            cases::attachment,
            cases::redact_attachment,
            cases::review_attachment,
            cases::pending_images,
            cases::remove_attachment,
            cases::share,
            cases::comment,
            cases::open_poll,
            cases::vote,
            privacy::case_names,
            privacy::set_case_names,
            privacy::scan_case,
            privacy::acknowledge,
            privacy::deid_report,
            circles::circles,
            circles::create_circle,
            circles::invite,
            circles::join,
            circles::join_requests,
            circles::approve,
            circles::decline,
            circles::members,
            circles::verify_member,
            circles::remove_member,
            circles::leave,
            circles::rotate_keys,
            circles::sync_now,
            circles::set_retention,
            circles::delete_received_cases,
        ])
        .events(collect_events![
            events::SyncState,
            events::TransferProgress,
            events::ImportProgress,
            events::Locked
        ])
        // A failed command rejects its promise with the `PublicError`, as `invoke` does.
        .error_handling(ErrorHandlingMode::Throw)
        // Timestamps (ms since 1970) and sizes stay far below 2^53.
        .dangerously_cast_bigints_to_number()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::path::PathBuf;

    use super::*;

    /// Where the generated file lives, from this crate's folder.
    fn bindings_path() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib/bindings.ts")
    }

    /// The TypeScript for `builder()`, as it is written to `bindings_path()`.
    fn typescript() -> Result<String, String> {
        let dir = std::env::temp_dir().join(format!("consilium-bindings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let file = dir.join("bindings.ts");
        builder()
            .export(specta_typescript::Typescript::default(), &file)
            .map_err(|e| e.to_string())?;
        let text = std::fs::read_to_string(&file).map_err(|e| e.to_string());
        let _ = std::fs::remove_dir_all(&dir);
        text
    }

    /// rust-analyzer's way: the test writes the file it checks, so running it once mends a
    /// stale file, and it fails so that the change is seen and committed.
    #[test]
    fn the_generated_bindings_are_fresh() {
        let fresh = typescript().unwrap();
        let path = bindings_path();
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != fresh {
            std::fs::write(&path, &fresh).unwrap();
            panic!(
                "{} was stale and has been regenerated from the commands; commit it",
                path.display()
            );
        }
    }
}
