//! Consilium's desktop window: Tauri 2 around the engine. Each command is a few lines over one
//! `consilium_client::Engine` call (see `commands`); everything else is in `ui/`.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;

use std::path::PathBuf;

/// The profile folder: `CONSILIUM_PROFILE`, or the platform's user data directory.
fn profile_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CONSILIUM_PROFILE") {
        return Some(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("org", "Consilium", "consilium").map(|d| d.data_dir().into())
}

fn main() {
    let Some(dir) = profile_dir() else {
        eprintln!("error: no home directory found; set CONSILIUM_PROFILE");
        std::process::exit(1);
    };
    let app = tauri::Builder::default()
        .manage(commands::Session::new(dir))
        .invoke_handler(tauri::generate_handler![
            commands::profile_status,
            commands::create_profile,
            commands::unlock,
            commands::lock,
            commands::identity,
            commands::list_cases,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = app {
        eprintln!("error: the window could not start: {e}");
        std::process::exit(1);
    }
}
