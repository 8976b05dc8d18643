//! Durable file writes: write to a temporary sibling, fsync, rename over, fsync the directory.
//! A crash at any point leaves either the old file or the new one, never a mix.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use crate::error::{Result, StoreError};

pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = create_private(&tmp).map_err(StoreError::io("writing a vault file"))?;
        f.write_all(bytes)
            .map_err(StoreError::io("writing a vault file"))?;
        f.sync_all()
            .map_err(StoreError::io("flushing a vault file"))?;
    }
    std::fs::rename(&tmp, path).map_err(StoreError::io("replacing a vault file"))?;
    sync_parent(path)
}

/// Flushes the directory entry of `path` so a rename or create survives a power cut.
pub(crate) fn sync_parent(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent() {
        #[cfg(unix)]
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(StoreError::io("flushing the vault directory"))?;
        #[cfg(not(unix))]
        let _ = dir;
    }
    Ok(())
}

/// Creates (or truncates) a file readable only by its owner.
pub fn create_private(path: &Path) -> std::io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

/// Creates a directory (and parents) readable only by its owner.
pub fn create_private_dir(path: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(path)
}
