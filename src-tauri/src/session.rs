//! The profile this window serves: its folder, its settings and, once unlocked, its engine.
//! The engine sits behind one mutex shared by the commands and the background sync; nothing here
//! decides anything about cases or circles.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use consilium_client::{ClientError, Engine, PublicError, Settings};
use tokio::sync::Notify;

/// Runs blocking work (the engine's disk and relay calls, which drive their own small runtime)
/// from an async command: Tauri runs those as tasks on its runtime's workers, where blocking
/// without telling tokio would stall other tasks and starting a runtime would panic.
pub fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

pub struct Session {
    pub dir: PathBuf,
    engine: Mutex<Option<Engine>>,
    /// Wakes the background sync (after a change to send, or an unlock).
    pub kick: Notify,
}

impl Session {
    pub fn new(dir: PathBuf) -> Session {
        Session {
            dir,
            engine: Mutex::new(None),
            kick: Notify::new(),
        }
    }

    pub fn engine(&self) -> MutexGuard<'_, Option<Engine>> {
        self.engine.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the unlocked engine; `locked` when there is none.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&mut Engine) -> Result<T, ClientError>,
    ) -> Result<T, PublicError> {
        blocking(|| {
            let mut guard = self.engine();
            let engine = guard
                .as_mut()
                .ok_or_else(|| ClientError::Locked.to_public())?;
            f(engine).map_err(|e| e.to_public())
        })
    }

    /// Like `with`, then wakes the background sync so what was queued goes out now.
    pub fn with_send<T>(
        &self,
        f: impl FnOnce(&mut Engine) -> Result<T, ClientError>,
    ) -> Result<T, PublicError> {
        let out = self.with(f);
        self.kick.notify_one();
        out
    }

    pub fn settings(&self) -> Settings {
        let mut s = Settings::load(&self.dir);
        // A new profile takes its relay from CONSILIUM_RELAY (tests, deployments) until saved.
        let relay = std::env::var("CONSILIUM_RELAY")
            .ok()
            .filter(|r| !r.is_empty() && !self.dir.join("settings.json").exists());
        if let Some(relay) = relay {
            s.relay = relay;
        }
        s
    }
}
