//! Creating, unlocking and locking the profile; its settings.

use consilium_client::{
    ClientError, Engine, EngineConfig, IdentityInfo, Passphrase, PublicError, Settings,
};
use serde::Serialize;
use tauri::{AppHandle, State};
use tauri_specta::Event as _;

use super::events::{Locked, TransferProgress};

use crate::session::{Session, blocking};

#[derive(Serialize, specta::Type)]
pub struct ProfileStatus {
    exists: bool,
    unlocked: bool,
    settings: Settings,
    /// The system's language tag ("fr-FR"), which the window follows unless the settings name
    /// another; "en" when the system says none.
    system_locale: String,
}

#[tauri::command(async)]
#[specta::specta]
pub fn profile_status(session: State<'_, Session>) -> ProfileStatus {
    blocking(|| ProfileStatus {
        exists: Engine::exists(&session.dir),
        unlocked: session.is_unlocked(),
        settings: session.settings(),
        system_locale: sys_locale::get_locale().unwrap_or_else(|| "en".into()),
    })
}

#[tauri::command(async)]
#[specta::specta]
pub fn create_profile(
    app: AppHandle,
    session: State<'_, Session>,
    name: String,
    specialty: String,
    passphrase: String,
) -> Result<IdentityInfo, PublicError> {
    let pass = Passphrase::new(passphrase);
    blocking(|| {
        let engine = Engine::init(&session.dir, &pass, &name, &specialty, config())
            .map_err(|e| e.to_public())?;
        session
            .settings()
            .save(&session.dir)
            .map_err(|e| e.to_public())?;
        opened(&app, &session, engine)
    })
}

#[tauri::command(async)]
#[specta::specta]
pub fn unlock(
    app: AppHandle,
    session: State<'_, Session>,
    passphrase: String,
) -> Result<IdentityInfo, PublicError> {
    let pass = Passphrase::new(passphrase);
    blocking(|| {
        let engine = Engine::unlock(&session.dir, &pass, config()).map_err(|e| e.to_public())?;
        opened(&app, &session, engine)
    })
}

pub(super) fn config() -> EngineConfig {
    EngineConfig::default()
}

/// Keeps the engine, reports its image transfers as events, and wakes the background sync.
pub(super) fn opened(
    app: &AppHandle,
    session: &Session,
    mut engine: Engine,
) -> Result<IdentityInfo, PublicError> {
    let info = engine.identity().map_err(|e| e.to_public())?;
    let events = app.clone();
    engine.on_transfer(move |t| {
        let _ = TransferProgress(t.clone()).emit(&events);
    });
    session.install(engine);
    session.kick.notify_one();
    Ok(info)
}

#[tauri::command(async)]
#[specta::specta]
pub fn lock(app: AppHandle, session: State<'_, Session>) {
    blocking(|| {
        if let Some(engine) = session.take_for_lock() {
            engine.lock();
        }
    });
    let _ = Locked.emit(&app);
}

#[tauri::command(async)]
#[specta::specta]
pub fn identity(session: State<'_, Session>) -> Result<IdentityInfo, PublicError> {
    session.with(|e| e.identity())
}

#[tauri::command(async)]
#[specta::specta]
pub fn change_passphrase(
    session: State<'_, Session>,
    current: String,
    new_passphrase: String,
) -> Result<(), PublicError> {
    let (current, new) = (Passphrase::new(current), Passphrase::new(new_passphrase));
    session.with(|e| e.change_passphrase(&current, &new))
}

#[tauri::command(async)]
#[specta::specta]
pub fn save_settings(session: State<'_, Session>, settings: Settings) -> Result<(), PublicError> {
    settings
        .save(&session.dir)
        .map_err(|e: ClientError| e.to_public())
}
