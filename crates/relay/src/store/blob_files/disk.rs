//! Blobs as files in one folder, each written to a `.partial` name, synced, renamed into place
//! and its folder synced: the single-machine default.

use std::path::PathBuf;

use super::contract::{BlobFiles, Incoming, Opened, Staged, id_of, name};
use crate::error::{RelayError, Result};

#[derive(Debug)]
pub(crate) struct Disk {
    dir: PathBuf,
}

fn internal(e: std::io::Error) -> RelayError {
    RelayError::Internal(e.to_string())
}

impl Disk {
    pub(crate) fn open(dir: PathBuf) -> Result<Disk> {
        crate::private_files::private_dir(&dir).map_err(internal)?;
        Ok(Disk { dir })
    }
}

/// Writes the bytes to `partial` and syncs them, if they are blob `id`; their length.
fn write_partial(
    partial: &std::path::Path,
    id: &[u8; 32],
    mut incoming: Incoming<'_>,
) -> Result<u64> {
    use std::io::Write;
    let mut f = crate::private_files::private_file(partial).map_err(internal)?;
    let mut chunk = vec![0u8; CHUNK];
    loop {
        let n = incoming.fill(&mut chunk)?;
        f.write_all(&chunk[..n]).map_err(internal)?;
        if n < chunk.len() {
            break;
        }
    }
    let len = incoming.length_if_blob(id)?;
    f.sync_all().map_err(internal)?;
    Ok(len)
}

/// A blob synced under a `.partial` name, renamed into place when published.
struct StagedFile<'a> {
    partial: PathBuf,
    path: PathBuf,
    dir: &'a std::path::Path,
    published: bool,
}

impl Staged for StagedFile<'_> {
    fn publish(mut self: Box<Self>) -> Result<()> {
        std::fs::rename(&self.partial, &self.path).map_err(internal)?;
        self.published = true;
        std::fs::File::open(self.dir)
            .and_then(|d| d.sync_all())
            .map_err(internal)
    }
}

impl Drop for StagedFile<'_> {
    fn drop(&mut self) {
        if !self.published {
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}

/// How much of an upload is read before it is written.
const CHUNK: usize = 256 * 1024;

impl BlobFiles for Disk {
    fn stage<'a>(
        &'a self,
        id: &[u8; 32],
        incoming: Incoming<'_>,
    ) -> Result<(u64, Box<dyn Staged + 'a>)> {
        let path = self.dir.join(name(id));
        let mut suffix = [0u8; 8];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut suffix)
            .map_err(|_| RelayError::Internal("no randomness".into()))?;
        let staged = StagedFile {
            partial: path.with_extension(format!("{}.partial", hex::encode(suffix))),
            path,
            dir: &self.dir,
            published: false,
        };
        // On failure `staged` is dropped, and the partial file with it (a crash leaves it to
        // the start-up sweep).
        let len = write_partial(&staged.partial, id, incoming)?;
        Ok((len, Box::new(staged)))
    }

    fn open(&self, id: &[u8; 32]) -> Result<Opened> {
        // An open file stays readable if pruning removes its name meanwhile.
        let file = match std::fs::File::open(self.dir.join(name(id))) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(RelayError::NotFound),
            Err(e) => return Err(internal(e)),
        };
        let len = file.metadata().map_err(internal)?.len();
        Ok(Opened {
            reader: Box::new(file),
            len,
        })
    }

    fn check(&self) -> Result<()> {
        match std::fs::metadata(&self.dir) {
            Ok(m) if m.is_dir() => Ok(()),
            Ok(_) => Err(RelayError::Internal(
                "the blob folder is not a folder".into(),
            )),
            Err(e) => Err(internal(e)),
        }
    }

    fn remove(&self, id: &[u8; 32]) -> Result<()> {
        match std::fs::remove_file(self.dir.join(name(id))) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(internal(e)),
            _ => Ok(()),
        }
    }

    /// One relay process owns the folder and sweeps before it serves: nothing is in flight, so
    /// no grace is needed.
    fn sweep(&self, recorded: &dyn Fn(&[u8; 32]) -> bool, _now_ms: i64) -> Result<()> {
        for entry in std::fs::read_dir(&self.dir).map_err(internal)?.flatten() {
            let file = entry.file_name().to_string_lossy().to_string();
            if !id_of(&file).is_some_and(|id| recorded(&id)) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(())
    }
}
