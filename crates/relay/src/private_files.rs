//! Files and folders made the operator's alone: what a relay stores is ciphertext, but who
//! posted what and when is not for other users of the machine.

use std::path::Path;

/// Creates `dir` (and its parents) if missing, and makes it the operator's alone: what a relay
/// stores is ciphertext, but who posted what and when is not for other users of the machine.
pub(crate) fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    owner_only(dir, 0o700)
}

/// Creates (or truncates) a file with mode 0600.
pub(crate) fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

pub(crate) fn owner_only(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}
