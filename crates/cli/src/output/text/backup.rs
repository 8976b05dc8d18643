//! The text of a backup run, the last backup, and a restore.

use std::fmt::Write as _;
use std::path::Path;

use consilium_client::{BackupOutcome, BackupStatus, RestoreOutcome};

use super::words::count;

pub(super) fn backed_up(out: &mut String, b: &BackupOutcome) {
    say!(
        out,
        "backed up {} and {} to {} (backup {}: {} written, {} removed, {} bytes)",
        count(b.cases as usize, "case"),
        count(b.image_files as usize, "image file"),
        b.dir,
        b.sequence,
        count(b.files_written as usize, "file"),
        b.files_removed,
        b.bytes_written
    );
    if let Some(code) = &b.recovery_code {
        say!(out, "");
        say!(out, "Recovery code: {code}");
        say!(
            out,
            "Write it down and keep it away from this laptop. It is shown only now, and without it \
             this backup cannot be opened. Backing up into this folder again needs no code."
        );
    }
}

pub(super) fn backup_status(out: &mut String, status: Option<&BackupStatus>) {
    let Some(s) = status else {
        say!(
            out,
            "no backup yet: a lost laptop would lose every case. Run `consilium backup create DIR`."
        );
        return;
    };
    say!(
        out,
        "last backup: {} on {} (backup {})",
        s.dir,
        s.made_at.date(),
        s.sequence
    );
    if s.erased_since > 0 {
        say!(
            out,
            "{} deleted since are still in it until the next backup",
            count(s.erased_since as usize, "case")
        );
    }
}

pub(super) fn restored(out: &mut String, dir: &Path, r: &RestoreOutcome) {
    say!(
        out,
        "restored {} and {} into {} from the backup of {}",
        count(r.cases as usize, "case"),
        count(r.image_files as usize, "image file"),
        dir.display(),
        r.backup_made_at.date()
    );
    if !r.circles_awaiting.is_empty() {
        say!(
            out,
            "waiting to be re-admitted to: {}",
            r.circles_awaiting.join(", ")
        );
    }
}
