//! Backing the profile up into a folder (an external drive, say) and restoring it on a new
//! laptop. The vault makes the backup (`consilium_store`'s `backup`); the engine adds the
//! settings kept beside the vault, and after a restore lists the circles that must re-admit
//! this device before it reads them again.

use std::path::Path;

use consilium_model::Timestamp;
use consilium_store::{RecoveryCode, Vault};
use serde::Serialize;

use crate::engine::{Engine, EngineConfig};
use crate::error::{ClientError, Result};
use crate::settings::{Language, Settings};

/// What a backup run did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BackupOutcome {
    pub dir: String,
    /// The code that opens this backup, shown once: when a new backup began in this folder.
    pub recovery_code: Option<String>,
    pub sequence: u32,
    pub cases: u32,
    /// Image files (three renditions per image).
    pub image_files: u32,
    /// Files written by this run; the others were in the folder already.
    pub files_written: u32,
    /// Files removed: what was deleted or retracted since the last run.
    pub files_removed: u32,
    pub bytes_written: u64,
}

/// When and where the profile last backed up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BackupStatus {
    pub dir: String,
    pub made_at: Timestamp,
    pub sequence: u32,
    /// Cases deleted or retracted here since: still in the backup until its next run.
    pub erased_since: u32,
}

/// What a restore brought back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RestoreOutcome {
    pub cases: u32,
    pub image_files: u32,
    /// The circles this profile was in: each must re-admit this laptop.
    pub circles_awaiting: Vec<String>,
    /// When the backup was made.
    pub backup_made_at: Timestamp,
}

fn outcome(r: consilium_store::BackupReport) -> BackupOutcome {
    BackupOutcome {
        dir: r.dir.display().to_string(),
        recovery_code: r.recovery_code.map(|c| c.expose().to_string()),
        sequence: r.sequence as u32,
        cases: r.cases as u32,
        image_files: r.blobs as u32,
        files_written: (r.objects_written + r.blobs_written) as u32,
        files_removed: r.removed as u32,
        bytes_written: r.bytes_written,
    }
}

impl Engine {
    /// Backs the profile up into `dir`: the first time (or into a new, empty folder) a full
    /// backup under a new recovery code; then only what changed since.
    pub fn back_up(&self, dir: &Path) -> Result<BackupOutcome> {
        let settings = self.settings_bytes()?;
        let r = self
            .vault
            .back_up(dir, &settings, self.config.clock.now())?;
        Ok(outcome(r))
    }

    /// The next run of the profile's backup when `every_hours` have passed since the last one
    /// (0: never), into the folder it last used; `None` when not due or never made by hand.
    pub fn back_up_if_due(&self, every_hours: u32) -> Result<Option<BackupOutcome>> {
        let Some(last) = self.vault.last_backup()? else {
            return Ok(None);
        };
        let now = self.config.clock.now();
        let due = i64::from(every_hours) * 3_600_000;
        if every_hours == 0 || now.0 - last.made_at.0 < due {
            return Ok(None);
        }
        let settings = self.settings_bytes()?;
        let r = self.vault.back_up_again(&settings, now)?;
        Ok(Some(outcome(r)))
    }

    fn settings_bytes(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(&Settings::load(self.vault.dir()))
            .map_err(|e| ClientError::Internal(e.to_string()))
    }

    /// The last backup, if the profile made one.
    pub fn backup_status(&self) -> Result<Option<BackupStatus>> {
        Ok(self.vault.last_backup()?.map(|b| BackupStatus {
            dir: b.dir,
            made_at: b.made_at,
            sequence: b.sequence as u32,
            erased_since: b.erased_since as u32,
        }))
    }

    /// Restores the backup in `backup` as a new profile in `dir`, under a new `passphrase`. The
    /// backup is checked whole first: a wrong code or a damaged backup restores nothing.
    pub fn restore(
        backup: &Path,
        recovery_code: &str,
        dir: &Path,
        passphrase: &consilium_store::Passphrase,
        config: EngineConfig,
    ) -> Result<(Engine, RestoreOutcome)> {
        if passphrase.expose().is_empty() {
            return Err(ClientError::Invalid(
                "choose a passphrase for the restored profile".into(),
            ));
        }
        let code = RecoveryCode::parse(recovery_code)?;
        // This laptop's preferences (the first-run screens, the language) may already be there.
        let local = Settings::take_if_alone(dir)?;
        let restored = Vault::restore(
            backup,
            &code,
            dir,
            passphrase,
            config.kdf,
            config.entropy.clone(),
            config.clock.now(),
        );
        let (vault, report) = match restored {
            Ok(done) => done,
            Err(e) => {
                // The restore's own error is the one to tell; preferences that cannot be
                // written back are a lesser loss (the defaults come back).
                if let Some(bytes) = &local {
                    let _ = Settings::put_back(dir, bytes);
                }
                return Err(e.into());
            }
        };
        let here = local
            .as_deref()
            .and_then(|b| serde_json::from_slice::<Settings>(b).ok());
        // The settings as they were, when they still read; else this laptop's. A language
        // chosen on this laptop's first-run screens a moment ago wins over the backup's.
        let settings = match serde_json::from_slice::<Settings>(&report.extras) {
            Ok(settings) => Settings {
                welcomed: true,
                language: match &here {
                    Some(h) if h.language != Language::System => h.language,
                    _ => settings.language,
                },
                ..settings
            },
            Err(_) => here.unwrap_or_default(),
        };
        // The vault is whole by now: a settings file that cannot be written must not make a
        // complete restore read as a failed one (a retry would meet a folder not empty).
        let _ = settings.save(dir);
        let engine = Engine::ready(vault, config)?;
        let outcome = RestoreOutcome {
            cases: report.cases as u32,
            image_files: report.blobs as u32,
            circles_awaiting: engine.circles_awaiting_readmission()?,
            backup_made_at: Timestamp(report.made_at),
        };
        Ok((engine, outcome))
    }

    /// The names of the circles restored from a backup that have not re-admitted this laptop.
    pub fn circles_awaiting_readmission(&self) -> Result<Vec<String>> {
        Ok(self
            .vault
            .db()
            .circles()
            .awaiting_readmission()?
            .into_iter()
            .map(|c| c.name)
            .collect())
    }
}
