//! Backups: a logical export of the vault (every case with all it holds, the profile, its
//! circles as a list, the identity key) into a folder, sealed under a random key that a
//! recovery code opens; never MLS group state nor queued messages (`tables.rs` places every
//! table). Each run after the first writes only what changed and removes what was deleted.
//! A backup is checked whole before a restore writes anything. The files are described in
//! `format.rs`.

mod code;
mod create;
mod format;
mod restore;
mod tables;

use std::path::Path;
use std::sync::Arc;

use consilium_model::Timestamp;
use rusqlite::OptionalExtension;

pub use code::RecoveryCode;
pub use create::BackupReport;
pub use restore::RestoreReport;

use crate::entropy::Entropy;
use crate::error::Result;
use crate::keys::{KdfParams, Passphrase};
use crate::vault::Vault;

/// Where and when this vault last backed up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastBackup {
    pub dir: String,
    pub made_at: Timestamp,
    pub sequence: u64,
    /// Cases erased here since: still in the backup until its next run.
    pub erased_since: u64,
}

impl Vault {
    /// Backs the vault up into `dir`: a new backup (and recovery code) in an empty folder, the
    /// next run of this vault's backup in the folder it last used. `extras` is restored as given.
    pub fn back_up(&self, dir: &Path, extras: &[u8], now: Timestamp) -> Result<BackupReport> {
        create::create(self, dir, extras, now.0, create::Begin::Allowed)
    }

    /// The next run of this vault's backup, into the folder it last used, which must still
    /// hold it: never a new backup (whose recovery code nobody would see).
    pub fn back_up_again(&self, extras: &[u8], now: Timestamp) -> Result<BackupReport> {
        let Some(last) = self.last_backup()? else {
            return Err(crate::error::StoreError::Invalid(
                "this profile has no backup yet; make the first one by hand".into(),
            ));
        };
        create::create(
            self,
            Path::new(&last.dir),
            extras,
            now.0,
            create::Begin::GoOnOnly,
        )
    }

    /// This vault's last backup, if it made one.
    pub fn last_backup(&self) -> Result<Option<LastBackup>> {
        Ok(self
            .db()
            .connection()
            .query_row(
                "SELECT dir, made_at, sequence, erased_since FROM backup_state WHERE id = 1",
                [],
                |r| {
                    Ok(LastBackup {
                        dir: r.get(0)?,
                        made_at: Timestamp(r.get(1)?),
                        sequence: r.get::<_, i64>(2)? as u64,
                        erased_since: r.get::<_, i64>(3)? as u64,
                    })
                },
            )
            .optional()?)
    }

    /// Restores the backup in `backup` into a new vault in `dir` (absent or empty) under
    /// `passphrase`. The backup is checked whole first: a wrong code, a missing, truncated or
    /// altered file restores nothing and leaves nothing in `dir`.
    pub fn restore(
        backup: &Path,
        code: &RecoveryCode,
        dir: &Path,
        passphrase: &Passphrase,
        params: KdfParams,
        entropy: Arc<dyn Entropy>,
        now: Timestamp,
    ) -> Result<(Vault, RestoreReport)> {
        restore::restore(backup, code, dir, passphrase, params, entropy, now)
    }

    /// Checks the backup in `dir` whole, as a restore would, without restoring it.
    pub fn check_backup(dir: &Path, code: &RecoveryCode) -> Result<()> {
        restore::check_backup(dir, code).map(|_| ())
    }
}

#[cfg(test)]
mod tests;
