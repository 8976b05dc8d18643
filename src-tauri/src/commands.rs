//! The commands the window calls. Each is a thin adapter over one engine call; errors reach the
//! UI as `{code, message}` (`PublicError`), never as strings to match.

use std::path::PathBuf;
use std::sync::Mutex;

use consilium_client::model::{CaseFilter, CaseSummary};
use consilium_client::{ClientError, Engine, EngineConfig, IdentityInfo, Passphrase, PublicError};
use serde::Serialize;

/// The profile this window serves and, once unlocked, its engine.
pub struct Session {
    dir: PathBuf,
    engine: Mutex<Option<Engine>>,
}

impl Session {
    pub fn new(dir: PathBuf) -> Session {
        Session {
            dir,
            engine: Mutex::new(None),
        }
    }

    /// Runs `f` on the unlocked engine.
    fn with<T>(
        &self,
        f: impl FnOnce(&mut Engine) -> Result<T, ClientError>,
    ) -> Result<T, PublicError> {
        let mut guard = self.engine.lock().unwrap_or_else(|p| p.into_inner());
        let engine = guard
            .as_mut()
            .ok_or_else(|| ClientError::Locked.to_public())?;
        f(engine).map_err(|e| e.to_public())
    }
}

#[derive(Serialize)]
pub struct ProfileStatus {
    exists: bool,
    unlocked: bool,
}

#[tauri::command]
pub fn profile_status(session: tauri::State<'_, Session>) -> ProfileStatus {
    let unlocked = session.engine.lock().map(|e| e.is_some()).unwrap_or(false);
    ProfileStatus {
        exists: Engine::exists(&session.dir),
        unlocked,
    }
}

#[tauri::command]
pub fn create_profile(
    session: tauri::State<'_, Session>,
    name: String,
    specialty: String,
    passphrase: String,
) -> Result<IdentityInfo, PublicError> {
    let pass = Passphrase::new(passphrase);
    let engine = Engine::init(
        &session.dir,
        &pass,
        &name,
        &specialty,
        EngineConfig::default(),
    )
    .map_err(|e| e.to_public())?;
    let info = engine.identity().map_err(|e| e.to_public())?;
    *session.engine.lock().unwrap_or_else(|p| p.into_inner()) = Some(engine);
    Ok(info)
}

#[tauri::command]
pub fn unlock(
    session: tauri::State<'_, Session>,
    passphrase: String,
) -> Result<IdentityInfo, PublicError> {
    let pass = Passphrase::new(passphrase);
    let engine =
        Engine::unlock(&session.dir, &pass, EngineConfig::default()).map_err(|e| e.to_public())?;
    let info = engine.identity().map_err(|e| e.to_public())?;
    *session.engine.lock().unwrap_or_else(|p| p.into_inner()) = Some(engine);
    Ok(info)
}

#[tauri::command]
pub fn lock(session: tauri::State<'_, Session>) {
    if let Some(engine) = session
        .engine
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
    {
        engine.lock();
    }
}

#[tauri::command]
pub fn identity(session: tauri::State<'_, Session>) -> Result<IdentityInfo, PublicError> {
    session.with(|e| e.identity())
}

#[tauri::command]
pub fn list_cases(
    session: tauri::State<'_, Session>,
    filter: CaseFilter,
) -> Result<Vec<CaseSummary>, PublicError> {
    session.with(|e| e.list_cases(&filter))
}
