//! Consilium's desktop window: Tauri 2 around the engine. Each command is a few lines over one
//! `consilium_client::Engine` call (see `commands`); the sync and the local relay run beside the
//! window (`background`); everything the user sees is in `ui/`.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod background;
mod bindings;
mod commands;
mod session;

use std::path::PathBuf;

/// The user data directory of Consilium (profiles and the local relay live under it).
fn data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("org", "Consilium", "consilium").map(|d| d.data_dir().into())
}

/// The profile folder: `CONSILIUM_PROFILE`, or `profile` in the user data directory.
fn profile_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CONSILIUM_PROFILE") {
        return Some(PathBuf::from(dir));
    }
    data_dir()
}

fn main() {
    let Some(dir) = profile_dir() else {
        eprintln!("error: no home directory found; set CONSILIUM_PROFILE");
        std::process::exit(1);
    };
    // The embedded default: a relay on 127.0.0.1 unless one runs there already, or the user
    // chose another (`CONSILIUM_EMBEDDED_RELAY=0`).
    let embed = std::env::var("CONSILIUM_EMBEDDED_RELAY").map_or(true, |v| v != "0");
    let _relay = embed
        .then(|| data_dir().map(|d| d.join("relay")))
        .flatten()
        .and_then(|d| background::embedded_relay(&d));
    let commands = bindings::builder();
    let events = bindings::builder();
    let app = tauri::Builder::default()
        .plugin(
            tauri_plugin_log::Builder::new()
                .level(log::LevelFilter::Info)
                .build(),
        )
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_window_state::Builder::new().build())
        .manage(session::Session::new(dir))
        .setup(move |app| {
            events.mount_events(app);
            background::start_sync(app.handle().clone());
            Ok(())
        })
        .invoke_handler(commands.invoke_handler())
        .run(tauri::generate_context!());
    if let Err(e) = app {
        eprintln!("error: the window could not start: {e}");
        std::process::exit(1);
    }
}
