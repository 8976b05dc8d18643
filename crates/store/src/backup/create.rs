//! Writing a backup: the first into an empty folder under a new key and recovery code, then
//! each next one into the same folder writing only the objects and blob files it lacks, and
//! removing, once the new manifest is on disk, those no longer named.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};

use ring::digest::SHA256;
use rusqlite::OptionalExtension;

use super::code::RecoveryCode;
use super::format::{
    BLOB_DIR, Entry, Header, Keys, MANIFEST_FILE, MAX_SEALED, Manifest, OBJECT_DIR, Object, encode,
    is_file_name, read_bounded, write_new,
};
use super::restore::{check_blob, read_manifest};
use super::tables::{export_case, export_profile};
use crate::durable::{create_private_dir, sync_parent, write_atomically};
use crate::entropy::random_16;
use crate::error::{Result, StoreError};
use crate::keys::SecretKey;
use crate::migrations::LATEST;
use crate::rows::to16;
use crate::vault::Vault;

/// What a backup run did.
#[derive(Debug)]
pub struct BackupReport {
    pub dir: PathBuf,
    /// The code that opens the backup, when this run began it (a new folder): show it once.
    pub recovery_code: Option<RecoveryCode>,
    /// 1 for the first backup into the folder, then one more each run.
    pub sequence: u64,
    pub cases: usize,
    pub blobs: usize,
    /// Case and profile objects written this run (the others were there already).
    pub objects_written: usize,
    pub blobs_written: usize,
    /// Files removed: cases and images deleted or retracted since the last run.
    pub removed: usize,
    pub bytes_written: u64,
}

/// Where this vault last backed up to.
struct State {
    dir: String,
    backup_id: [u8; 16],
    key: SecretKey,
    sequence: u64,
}

fn state(vault: &Vault) -> Result<Option<State>> {
    let conn = vault.db().connection();
    let row = conn
        .query_row(
            "SELECT dir, backup_id, key, sequence FROM backup_state WHERE id = 1",
            [],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    zeroize::Zeroizing::new(r.get::<_, Vec<u8>>(2)?),
                    r.get::<_, i64>(3)?,
                ))
            },
        )
        .optional()?;
    let Some((dir, id, key, sequence)) = row else {
        return Ok(None);
    };
    Ok(Some(State {
        dir,
        backup_id: to16(&id)?,
        key: SecretKey::from_slice(&key).ok_or_else(|| {
            StoreError::DatabaseCorrupt("a backup key of the wrong length".into())
        })?,
        sequence: sequence as u64,
    }))
}

/// Backs the vault up into `dir`; `extras` is what the caller keeps beside the vault (its
/// settings), restored as given. `now` is the backup's date (ms).
/// Whether a run may begin a new backup (and show a new recovery code), or only go on with the
/// one in the folder (a scheduled run: the code must have been seen).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Begin {
    Allowed,
    GoOnOnly,
}

pub(crate) fn create(
    vault: &Vault,
    dir: &Path,
    extras: &[u8],
    now: i64,
    begin: Begin,
) -> Result<BackupReport> {
    // Only the folder itself is made: a parent that is missing is a drive not plugged in, and
    // a backup must not land on the laptop's own disk in its place.
    let parent_there = dir
        .parent()
        .is_none_or(|p| p.as_os_str().is_empty() || p.is_dir());
    if !parent_there {
        return Err(StoreError::Invalid(format!(
            "{} is not there; is the drive plugged in?",
            dir.parent()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        )));
    }
    if begin == Begin::GoOnOnly && !dir.is_dir() {
        return Err(StoreError::Invalid(format!(
            "the backup folder {} is not there; is the drive plugged in?",
            dir.display()
        )));
    }
    create_private_dir(dir).map_err(StoreError::io("creating the backup folder"))?;
    let dir = std::fs::canonicalize(dir).map_err(StoreError::io("finding the backup folder"))?;
    let shown = dir.to_string_lossy().into_owned();
    let header = Header::read(&dir)?;
    let entropy = vault.entropy();
    let previous = state(vault)?;
    // The same folder and the same backup: go on from its manifest (if it still opens).
    let ours = match (&previous, &header) {
        (Some(s), Some(h)) if s.dir == shown && h.backup_id == hex::encode(s.backup_id) => previous,
        (_, Some(_)) => {
            return Err(StoreError::Invalid(format!(
                "{shown} holds another backup; choose an empty folder, or the one this profile backs up to"
            )));
        }
        _ => None,
    };
    let (key, backup_id, sequence, recovery_code, known) = match ours {
        Some(s) => {
            let keys = Keys::new(&s.key, &hex::encode(s.backup_id))?;
            let known = read_manifest(&dir, &keys).ok();
            // Another vault holding this backup's key (a restored copy, or the laptop it
            // replaced) wrote here since: two writers would each remove the other's cases.
            if let Some(m) = &known
                && m.sequence != s.sequence
            {
                return Err(StoreError::Invalid(format!(
                    "{shown} was written by another copy of this profile since its last backup here                      (backup {} there, {} here); back up into a new folder",
                    m.sequence, s.sequence
                )));
            }
            (s.key, s.backup_id, s.sequence + 1, None, known)
        }
        None if begin == Begin::GoOnOnly => {
            return Err(StoreError::Invalid(format!(
                "{shown} no longer holds this profile's backup; back up by hand to begin a new one"
            )));
        }
        None => {
            let empty = std::fs::read_dir(&dir)
                .map_err(StoreError::io("reading the backup folder"))?
                .next()
                .is_none();
            if !empty {
                return Err(StoreError::Invalid(format!(
                    "{shown} is not empty; choose an empty folder for a new backup"
                )));
            }
            let key = SecretKey::random(entropy)?;
            let backup_id = random_16(entropy)?;
            let code = RecoveryCode::random(entropy)?;
            Header::seal(&key, &code, &backup_id, entropy)?.write(&dir)?;
            (key, backup_id, 1, Some(code), None)
        }
    };
    let keys = Keys::new(&key, &hex::encode(backup_id))?;
    for sub in [OBJECT_DIR, BLOB_DIR] {
        create_private_dir(&dir.join(sub)).map_err(StoreError::io("creating the backup folder"))?;
    }
    let mut run = Run {
        dir: &dir,
        keys: &keys,
        vault,
        sequence,
        written_objects: 0,
        written_blobs: 0,
        bytes: 0,
        known_blobs: known
            .as_ref()
            .map(|m| {
                m.blobs
                    .iter()
                    .map(|e| (e.name.clone(), e.clone()))
                    .collect()
            })
            .unwrap_or_default(),
    };

    let conn = vault.db().connection();
    let profile = Object {
        tables: export_profile(conn)?,
        extras: extras.to_vec(),
    };
    let profile = run.object(&encode(&profile)?)?;
    let ids: Vec<Vec<u8>> = {
        let mut stmt = conn.prepare("SELECT id FROM cases ORDER BY created_at, id")?;
        stmt.query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?
    };
    let mut cases = Vec::with_capacity(ids.len());
    for id in &ids {
        let object = Object {
            tables: export_case(conn, &to16(id)?)?,
            extras: Vec::new(),
        };
        cases.push(run.object(&encode(&object)?)?);
    }
    let blob_ids: Vec<String> = vault
        .db()
        .attachments()
        .blob_ids()?
        .iter()
        .map(|id| id.to_string())
        .collect();
    let mut blobs = Vec::with_capacity(blob_ids.len());
    for id in &blob_ids {
        blobs.push(run.blob(id)?);
    }
    for sub in [OBJECT_DIR, BLOB_DIR] {
        sync_parent(&dir.join(sub).join("x"))?;
    }

    let manifest = Manifest {
        schema: LATEST,
        sequence,
        made_at: now,
        profile,
        cases,
        blobs,
    };
    write_atomically(
        &dir.join(MANIFEST_FILE),
        &keys.seal(MANIFEST_FILE, &encode(&manifest)?, entropy)?,
    )?;
    let removed = remove_unnamed(&dir, &manifest);
    let (objects_written, blobs_written, bytes_written) =
        (run.written_objects, run.written_blobs, run.bytes);
    vault.db().in_unit(|db| {
        let c = db.connection();
        c.execute(
            "INSERT OR REPLACE INTO backup_state (id, dir, backup_id, key, sequence, made_at, erased_since)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, 0)",
            rusqlite::params![
                shown,
                &backup_id[..],
                &key.expose()[..],
                sequence as i64,
                now
            ],
        )?;
        c.execute("DELETE FROM backup_cases", [])?;
        let mut held = c.prepare("INSERT INTO backup_cases (case_id) VALUES (?1)")?;
        for id in &ids {
            held.execute([id])?;
        }
        Ok(())
    })?;
    Ok(BackupReport {
        dir,
        recovery_code,
        sequence,
        cases: manifest.cases.len(),
        blobs: manifest.blobs.len(),
        objects_written,
        blobs_written,
        removed,
        bytes_written,
    })
}

struct Run<'a> {
    dir: &'a Path,
    keys: &'a Keys,
    vault: &'a Vault,
    sequence: u64,
    written_objects: usize,
    written_blobs: usize,
    bytes: u64,
    known_blobs: HashMap<String, Entry>,
}

impl Run<'_> {
    /// Seals and writes an object unless a file of its name is there already.
    fn object(&mut self, plain: &[u8]) -> Result<Entry> {
        let name = self.keys.name_of(plain);
        let path = self.dir.join(OBJECT_DIR).join(&name);
        // Read only up to the bound: a file someone put there under our name costs no more.
        if let Ok(existing) = read_bounded(&path, MAX_SEALED) {
            let found = entry(name.clone(), &existing);
            if self.keys.open(&name, existing).is_ok() {
                return Ok(found);
            }
        }
        let sealed = self.keys.seal(&name, plain, self.vault.entropy())?;
        write_new(&path, &mut &sealed[..])?;
        self.written_objects += 1;
        self.bytes += sealed.len() as u64;
        Ok(entry(name, &sealed))
    }

    /// Copies a blob file as the vault keeps it, unless the last manifest named it and it is
    /// still there at its size (blob files never change once written). A sixteenth of the kept
    /// files, a different one each run, is read and checked against its digest too, so a file
    /// the drive let rot is written again within sixteen runs, not found only at restore.
    fn blob(&mut self, id: &str) -> Result<Entry> {
        let path = self.dir.join(BLOB_DIR).join(id);
        if let Some(known) = self.known_blobs.get(id)
            && std::fs::metadata(&path).is_ok_and(|m| m.len() == known.size)
            && (!checked_this_run(id, self.sequence) || check_blob(&path, known).is_ok())
        {
            return Ok(known.clone());
        }
        let mut source = File::open(self.vault.blob_dir().join(id))
            .map_err(StoreError::io("reading an attachment file to back up"))?;
        let (size, sha256) = write_new(&path, &mut source)?;
        self.written_blobs += 1;
        self.bytes += size;
        Ok(Entry {
            name: id.to_string(),
            size,
            sha256,
        })
    }
}

/// Whether the run numbered `sequence` reads the kept blob file `id` whole (its first hex digit
/// picks one run in sixteen).
fn checked_this_run(id: &str, sequence: u64) -> bool {
    id.get(..1)
        .and_then(|d| u64::from_str_radix(d, 16).ok())
        .is_none_or(|d| d == sequence % 16)
}

fn entry(name: String, sealed: &[u8]) -> Entry {
    Entry {
        name,
        size: sealed.len() as u64,
        sha256: ring::digest::digest(&SHA256, sealed).as_ref().to_vec(),
    }
}

/// Removes the objects and blob files the manifest no longer names (and partial files a
/// crash left); returns how many went.
fn remove_unnamed(dir: &Path, manifest: &Manifest) -> usize {
    let mut named: HashSet<&str> = HashSet::new();
    named.insert(&manifest.profile.name);
    named.extend(manifest.cases.iter().map(|e| e.name.as_str()));
    named.extend(manifest.blobs.iter().map(|e| e.name.as_str()));
    let mut removed = 0;
    for sub in [OBJECT_DIR, BLOB_DIR] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for entry in entries.flatten() {
            // Only our own files go: regular files (never a link), named as a backup names
            // them, or left partial by a crash.
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let ours =
                is_file_name(name) || name.strip_suffix(".partial").is_some_and(is_file_name);
            let regular = std::fs::symlink_metadata(entry.path()).is_ok_and(|m| m.is_file());
            if ours
                && regular
                && !named.contains(name)
                && std::fs::remove_file(entry.path()).is_ok()
            {
                removed += 1;
            }
        }
    }
    removed
}
