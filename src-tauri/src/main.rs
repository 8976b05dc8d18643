//! Consilium's desktop window: Tauri 2 around the engine. Each command is a few lines over one
//! `consilium_client::Engine` call (see `commands`); the sync and the local relay run beside the
//! window (`background`); everything the user sees is in `ui/`.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod background;
mod bindings;
mod commands;
mod layout;
mod session;

fn main() {
    let Some(layout) = layout::Layout::for_user() else {
        eprintln!("error: no home directory found; set CONSILIUM_PROFILE");
        std::process::exit(1);
    };
    let dir = layout.profile.clone();
    // The embedded default: a relay on 127.0.0.1 unless one runs there already, or the user
    // chose another (`CONSILIUM_EMBEDDED_RELAY=0`). Its data is in its own folder (`layout`).
    let embed = std::env::var("CONSILIUM_EMBEDDED_RELAY").map_or(true, |v| v != "0");
    let _relay = embed.then(|| background::embedded_relay(&layout)).flatten();
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
