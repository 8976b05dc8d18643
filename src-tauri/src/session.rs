//! The profile this window serves: its folder, its settings and, once unlocked, its engine.
//! The engine sits behind one mutex shared by the commands and the background sync; nothing here
//! decides anything about cases or circles.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use consilium_client::{ClientError, Engine, Interrupt, PublicError, Settings};
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
    /// The unlocked engine's interrupt, kept outside its mutex: locking raises it first, so a
    /// sync pass waiting on a slow relay lets go of the engine within moments.
    interrupt: Mutex<Option<Interrupt>>,
    /// Wakes the background sync (after a change to send, or an unlock).
    pub kick: Notify,
}

impl Session {
    pub fn new(dir: PathBuf) -> Session {
        Session {
            dir,
            engine: Mutex::new(None),
            interrupt: Mutex::new(None),
            kick: Notify::new(),
        }
    }

    pub fn engine(&self) -> MutexGuard<'_, Option<Engine>> {
        self.engine.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps the unlocked engine (and its interrupt, outside the mutex).
    pub fn install(&self, engine: Engine) {
        *self.interrupt.lock().unwrap_or_else(|p| p.into_inner()) = Some(engine.interrupt());
        *self.engine() = Some(engine);
    }

    /// Takes the engine to lock it: its relay calls are ended first, so whatever the relays do
    /// this waits only for the vault work of the pass under way.
    pub fn take_for_lock(&self) -> Option<Engine> {
        if let Some(interrupt) = self
            .interrupt
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            interrupt.raise();
        }
        self.engine().take()
    }

    /// Whether an engine is unlocked, asked without its mutex (a pass may hold it).
    pub fn is_unlocked(&self) -> bool {
        self.interrupt
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// Runs `f` on the unlocked engine; `locked` when there is none.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&mut Engine) -> Result<T, ClientError>,
    ) -> Result<T, PublicError> {
        blocking(|| {
            // A sync pass holding the engine sets its relay calls aside for us (see
            // `Interrupt::want`): a command never waits on the network for the pass.
            let _wanted = self
                .interrupt
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
                .map(Interrupt::want);
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
