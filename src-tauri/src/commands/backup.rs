//! Backing the profile up into a folder, its last backup, and restoring a profile on a new
//! laptop (the first screen offers it when there is no profile yet).

use std::path::Path;

use consilium_client::{
    BackupOutcome, BackupStatus, Engine, IdentityInfo, Passphrase, PublicError, RestoreOutcome,
};
use serde::Serialize;
use tauri::{AppHandle, State};

use super::profile::{config, opened};
use crate::session::{Session, blocking};

#[tauri::command(async)]
#[specta::specta]
pub fn back_up(session: State<'_, Session>, dir: String) -> Result<BackupOutcome, PublicError> {
    session.with(|e| e.back_up(Path::new(dir.trim())))
}

#[tauri::command(async)]
#[specta::specta]
pub fn backup_status(session: State<'_, Session>) -> Result<Option<BackupStatus>, PublicError> {
    session.with(|e| e.backup_status())
}

/// The circles restored from a backup that have not let this laptop in yet.
#[tauri::command(async)]
#[specta::specta]
pub fn circles_awaiting_readmission(
    session: State<'_, Session>,
) -> Result<Vec<String>, PublicError> {
    session.with(|e| e.circles_awaiting_readmission())
}

/// A restored profile, unlocked: who it is and what came back.
#[derive(Serialize, specta::Type)]
pub struct Restored {
    me: IdentityInfo,
    outcome: RestoreOutcome,
}

#[tauri::command(async)]
#[specta::specta]
pub fn restore_profile(
    app: AppHandle,
    session: State<'_, Session>,
    backup_dir: String,
    recovery_code: String,
    passphrase: String,
) -> Result<Restored, PublicError> {
    let pass = Passphrase::new(passphrase);
    blocking(|| {
        let (engine, outcome) = Engine::restore(
            Path::new(backup_dir.trim()),
            &recovery_code,
            &session.dir,
            &pass,
            config(),
        )
        .map_err(|e| e.to_public())?;
        let me = opened(&app, &session, engine)?;
        Ok(Restored { me, outcome })
    })
}
