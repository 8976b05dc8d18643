//! Reading a backup back: every file checked against the manifest and opened before the new
//! vault is made, so a damaged backup restores nothing; then the vault, its blob files and,
//! in one transaction, every row.

use std::collections::HashSet;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use ring::digest::{Context, SHA256};

use super::code::RecoveryCode;
use super::format::{
    BLOB_DIR, Entry, Header, Keys, MANIFEST_FILE, MAX_SEALED, Manifest, OBJECT_DIR, Object, decode,
    is_file_name, read_bounded, write_new,
};
use super::tables::{Cell, check, damaged, import};
use crate::db::Profile;
use crate::entropy::Entropy;
use crate::error::{Result, StoreError};
use crate::keys::{KdfParams, Passphrase, SecretKey};
use crate::migrations::{LATEST, reindex_all};
use crate::vault::Vault;
use consilium_model::Timestamp;

/// What a restore brought back.
#[derive(Debug)]
pub struct RestoreReport {
    pub cases: usize,
    pub blobs: usize,
    /// Circles the profile was in: restored without their MLS state, each waiting to be
    /// re-admitted.
    pub circles: usize,
    /// What the caller gave the backup beside the vault (its settings).
    pub extras: Vec<u8>,
    /// When the backup was made (ms), and its sequence number.
    pub made_at: i64,
    pub sequence: u64,
}

pub(crate) fn read_manifest(dir: &Path, keys: &Keys) -> Result<Manifest> {
    let sealed = read_bounded(&dir.join(MANIFEST_FILE), MAX_SEALED)?;
    let plain = keys.open(MANIFEST_FILE, sealed)?;
    decode(&plain, "the manifest")
}

/// A backup whose every file is there, unaltered, and opens.
pub(crate) struct Checked {
    /// The backup's key and id, so the restored vault goes on backing up into it.
    key: SecretKey,
    backup_id: Vec<u8>,
    manifest: Manifest,
    profile: Object,
    cases: Vec<Object>,
}

/// Opens the backup in `dir` with `code` and checks every file it names.
pub(crate) fn check_backup(dir: &Path, code: &RecoveryCode) -> Result<Checked> {
    let header = Header::read(dir)?.ok_or_else(|| {
        StoreError::Invalid(format!("{} holds no Consilium backup", dir.display()))
    })?;
    let key = header.open(code)?;
    let keys = Keys::new(&key, &header.backup_id)?;
    let backup_id = hex::decode(&header.backup_id)
        .ok()
        .filter(|id| id.len() == 16)
        .ok_or_else(|| damaged("its header (id)".into()))?;
    let manifest = read_manifest(dir, &keys)?;
    if manifest.schema > LATEST {
        return Err(StoreError::SchemaTooNew {
            found: manifest.schema,
            supported: LATEST,
        });
    }
    // Every name is a file name of ours before it is joined to a folder.
    let names = std::iter::once(&manifest.profile)
        .chain(&manifest.cases)
        .chain(&manifest.blobs);
    if let Some(bad) = names.clone().find(|e| !is_file_name(&e.name)) {
        return Err(damaged(format!("its manifest names a file {:?}", bad.name)));
    }
    let object = |e: &Entry| -> Result<Object> {
        let sealed = read_bounded(&dir.join(OBJECT_DIR).join(&e.name), MAX_SEALED)?;
        if sealed.len() as u64 != e.size || digest(&sealed) != e.sha256 {
            return Err(damaged(format!("the object {} was altered", e.name)));
        }
        decode(&keys.open(&e.name, sealed)?, "an object")
    };
    let profile = object(&manifest.profile)?;
    let cases = manifest
        .cases
        .iter()
        .map(object)
        .collect::<Result<Vec<_>>>()?;
    for e in &manifest.blobs {
        check_blob(&dir.join(BLOB_DIR).join(&e.name), e)?;
    }
    // Every rendition a case names has its file.
    let named: HashSet<&str> = manifest.blobs.iter().map(|e| e.name.as_str()).collect();
    for case in &cases {
        for rows in case.tables.iter().filter(|t| t.table == "blobs") {
            let at = rows.columns.iter().position(|c| c == "id");
            for row in &rows.rows {
                let id = match at.map(|i| &row[i]) {
                    Some(Cell::Bytes(b)) => hex::encode(b),
                    _ => return Err(damaged("a rendition without an id".into())),
                };
                if !named.contains(id.as_str()) {
                    return Err(damaged(format!("the image file {id} is not in it")));
                }
            }
        }
    }
    Ok(Checked {
        key,
        backup_id,
        manifest,
        profile,
        cases,
    })
}

fn digest(bytes: &[u8]) -> Vec<u8> {
    ring::digest::digest(&SHA256, bytes).as_ref().to_vec()
}

pub(crate) fn check_blob(path: &Path, e: &Entry) -> Result<()> {
    let altered = || damaged(format!("the image file {} is missing or altered", e.name));
    let mut file = File::open(path).map_err(|_| altered())?;
    let len = file.metadata().map_err(|_| altered())?.len();
    if len != e.size {
        return Err(altered());
    }
    let mut hash = Context::new(&SHA256);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(|_| altered())?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
    }
    if hash.finish().as_ref() != e.sha256.as_slice() {
        return Err(altered());
    }
    Ok(())
}

/// Restores the backup in `backup` into a new vault in `target`, under `passphrase`. Nothing
/// is left in `target` unless the whole backup came back.
pub(crate) fn restore(
    backup: &Path,
    code: &RecoveryCode,
    target: &Path,
    passphrase: &Passphrase,
    params: KdfParams,
    entropy: Arc<dyn Entropy>,
    now: Timestamp,
) -> Result<(Vault, RestoreReport)> {
    let checked = check_backup(backup, code)?;
    let existed = target.exists();
    if existed
        && std::fs::read_dir(target)
            .map_err(StoreError::io("reading the profile folder"))?
            .next()
            .is_some()
    {
        return Err(StoreError::Invalid(format!(
            "{} is not empty; restore into a new profile",
            target.display()
        )));
    }
    let placeholder = Profile {
        name: String::new(),
        specialty: String::new(),
        created_at: now,
    };
    let mut vault = Vault::create(target, passphrase, &placeholder, params, entropy)?;
    match fill(&mut vault, backup, &checked, now) {
        Ok(circles) => {
            let m = &checked.manifest;
            let report = RestoreReport {
                cases: m.cases.len(),
                blobs: m.blobs.len(),
                circles,
                extras: checked.profile.extras,
                made_at: m.made_at,
                sequence: m.sequence,
            };
            Ok((vault, report))
        }
        Err(e) => {
            drop(vault);
            // The key file first: without it the folder is no vault, whatever else remains.
            let _ = std::fs::remove_file(target.join(crate::vault::KEY_FILE));
            if existed {
                if let Ok(entries) = std::fs::read_dir(target) {
                    for entry in entries.flatten() {
                        let _ = std::fs::remove_dir_all(entry.path())
                            .or_else(|_| std::fs::remove_file(entry.path()));
                    }
                }
            } else {
                let _ = std::fs::remove_dir_all(target);
            }
            Err(e)
        }
    }
}

/// The blob files first (a file before the row that names it, as the vault always writes),
/// then every row in one transaction; returns how many circles await re-admission.
fn fill(vault: &mut Vault, backup: &Path, checked: &Checked, now: Timestamp) -> Result<usize> {
    let into = vault.blob_dir();
    for e in &checked.manifest.blobs {
        let mut from = File::open(backup.join(BLOB_DIR).join(&e.name))
            .map_err(StoreError::io("reading the backup"))?;
        write_new(&into.join(&e.name), &mut from)?;
    }
    crate::durable::sync_parent(&into.join("x"))?;
    vault.db_mut().atomically(|db| {
        let conn = db.connection();
        conn.execute_batch("PRAGMA defer_foreign_keys = ON")?;
        for rows in &checked.profile.tables {
            check(conn, rows, false)?;
            import(conn, rows)?;
        }
        for case in &checked.cases {
            for rows in &case.tables {
                check(conn, rows, true)?;
                import(conn, rows)?;
            }
        }
        let circles = conn.execute(
            "UPDATE circles SET restored_at = ?1 WHERE left_at IS NULL",
            [now.0],
        )?;
        reindex_all(conn)?;
        // The next backup goes on in the same folder, writing only what changed since.
        let dir = std::fs::canonicalize(backup).map_err(StoreError::io("finding the backup"))?;
        conn.execute(
            "INSERT INTO backup_state (id, dir, backup_id, key, sequence, made_at, erased_since)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, 0)",
            rusqlite::params![
                dir.to_string_lossy(),
                checked.backup_id,
                &checked.key.expose()[..],
                checked.manifest.sequence as i64,
                checked.manifest.made_at
            ],
        )?;
        conn.execute(
            "INSERT INTO backup_cases (case_id) SELECT id FROM cases",
            [],
        )?;
        Ok(circles)
    })
}
