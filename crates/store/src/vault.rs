//! The vault: one directory per profile holding the key file, the SQLCipher database and the
//! encrypted blob files.
//!
//! ```text
//! <profile>/vault.key     Argon2id parameters + wrapped database key (JSON)
//! <profile>/vault.db      SQLCipher database (+ -wal / -shm while open)
//! <profile>/blobs/<id>    AES-256-GCM chunked files, one per rendition
//! <profile>/vault.lock    held exclusively while a process has the vault open
//! ```

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use consilium_model::{AttachmentId, BlobId, CaseId, Rendition, Timestamp};
use rusqlite::Connection;
use zeroize::Zeroizing;

use crate::attachments::{AttachmentRecord, StoredBlob};
use crate::blob::{BlobOpener, map_read_error, open_in_place, seal_in_place, sealed_len};
use crate::db::{CaseDb, Profile};
use crate::durable::{create_private, create_private_dir, sync_parent};
use crate::entropy::{Entropy, random_16};
use crate::error::{Result, StoreError};
use crate::keys::{KdfParams, KeyFile, Passphrase, SecretKey};

pub(crate) const KEY_FILE: &str = "vault.key";
pub(crate) const DB_FILE: &str = "vault.db";
const LOCK_FILE: &str = "vault.lock";
pub(crate) const BLOB_DIR: &str = "blobs";
const PARTIAL_SUFFIX: &str = ".partial";

/// One rendition to store with an attachment.
#[derive(Debug)]
pub struct NewRendition {
    pub rendition: Rendition,
    pub mime: String,
    /// The plaintext; sealed in place, so no second copy is made.
    pub bytes: Vec<u8>,
}

/// An unlocked vault. Dropping it (or calling [`Vault::lock`]) closes the database, which wipes
/// SQLCipher's copy of the key, and releases the profile lock.
#[derive(Debug)]
pub struct Vault {
    dir: PathBuf,
    db: CaseDb,
    entropy: Arc<dyn Entropy>,
    _lock: File,
}

impl Vault {
    /// Whether `dir` holds a vault (its key file).
    pub fn exists(dir: &Path) -> bool {
        dir.join(KEY_FILE).is_file()
    }

    /// Creates a new vault in `dir` (created if needed) for `profile`.
    pub fn create(
        dir: &Path,
        passphrase: &Passphrase,
        profile: &Profile,
        params: KdfParams,
        entropy: Arc<dyn Entropy>,
    ) -> Result<Vault> {
        if passphrase.expose().is_empty() {
            return Err(StoreError::Invalid(
                "the passphrase must not be empty".into(),
            ));
        }
        if Vault::exists(dir) {
            return Err(StoreError::VaultExists(dir.to_path_buf()));
        }
        create_private_dir(&dir.join(BLOB_DIR))
            .map_err(StoreError::io("creating the vault directory"))?;
        let lock = take_lock(dir)?;
        // A database without a key file is what a crash during an earlier `create` leaves.
        for leftover in [DB_FILE, "vault.db-wal", "vault.db-shm"] {
            match std::fs::remove_file(dir.join(leftover)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::io("clearing an unfinished vault")(e)),
            }
        }
        // Created owner-only first: SQLite gives its -wal and -shm files the same mode.
        create_private(&dir.join(DB_FILE))
            .map_err(StoreError::io("creating the vault database"))?;
        let db_key = SecretKey::random(&*entropy)?;
        let mut db =
            CaseDb::from_connection(open_keyed(&dir.join(DB_FILE), &db_key)?, entropy.clone())?;
        db.set_profile(profile)?;
        // The key file is written last: its presence marks a complete vault.
        KeyFile::seal(&db_key, passphrase, params, &*entropy)?.write(&dir.join(KEY_FILE))?;
        Ok(Vault {
            dir: dir.to_path_buf(),
            db,
            entropy,
            _lock: lock,
        })
    }

    /// Unlocks the vault in `dir`.
    pub fn open(dir: &Path, passphrase: &Passphrase, entropy: Arc<dyn Entropy>) -> Result<Vault> {
        if !Vault::exists(dir) {
            return Err(StoreError::VaultMissing(dir.to_path_buf()));
        }
        let lock = take_lock(dir)?;
        let db_key = KeyFile::read(&dir.join(KEY_FILE))?.unseal(passphrase)?;
        let db_path = dir.join(DB_FILE);
        match std::fs::metadata(&db_path) {
            Ok(m) if m.len() > 0 => {}
            Ok(_) => {
                return Err(StoreError::DatabaseCorrupt(
                    "the database file is empty".into(),
                ));
            }
            Err(_) => {
                return Err(StoreError::DatabaseCorrupt(
                    "the database file is missing".into(),
                ));
            }
        }
        let conn = open_keyed(&db_path, &db_key)?;
        drop(db_key);
        let found: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| StoreError::DatabaseCorrupt(e.to_string()))?;
        if found == 0 {
            return Err(StoreError::DatabaseCorrupt(
                "the database has no schema".into(),
            ));
        }
        let db = CaseDb::from_connection(conn, entropy.clone()).map_err(corrupt_if_sqlite)?;
        db.quick_check().map_err(corrupt_if_sqlite)?;
        db.profile()?;
        let vault = Vault {
            dir: dir.to_path_buf(),
            db,
            entropy,
            _lock: lock,
        };
        vault.sweep_orphaned_blobs()?;
        Ok(vault)
    }

    /// Re-wraps the database key under `new`; `current` must unlock the vault. The database is
    /// not re-encrypted, and afterwards only `new` opens the vault.
    pub fn change_passphrase(&self, current: &Passphrase, new: &Passphrase) -> Result<()> {
        if new.expose().is_empty() {
            return Err(StoreError::Invalid(
                "the new passphrase must not be empty".into(),
            ));
        }
        let path = self.dir.join(KEY_FILE);
        let old = KeyFile::read(&path)?;
        let db_key = old.unseal(current)?;
        KeyFile::seal(&db_key, new, old.params(), &*self.entropy)?.write(&path)
    }

    /// Closes the database and releases the profile; keys held by SQLCipher are wiped.
    pub fn lock(self) {
        drop(self);
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The case tables.
    pub fn db(&self) -> &CaseDb {
        &self.db
    }

    pub fn db_mut(&mut self) -> &mut CaseDb {
        &mut self.db
    }

    pub(crate) fn entropy(&self) -> &dyn Entropy {
        &*self.entropy
    }

    pub(crate) fn blob_dir(&self) -> PathBuf {
        self.dir.join(BLOB_DIR)
    }

    /// Encrypts and writes every rendition, then records the attachment in one transaction.
    /// If anything fails, the files written so far are removed and nothing is recorded.
    pub fn add_attachment(
        &mut self,
        case: &CaseId,
        record: &AttachmentRecord,
        renditions: Vec<NewRendition>,
        now: Timestamp,
    ) -> Result<AttachmentId> {
        self.add_attachment_as(case, None, record, renditions, now, |_| Ok(()))
    }

    /// `add_attachment` under a given id, running `also` in the recording transaction.
    pub(crate) fn add_attachment_as(
        &mut self,
        case: &CaseId,
        id: Option<&AttachmentId>,
        record: &AttachmentRecord,
        renditions: Vec<NewRendition>,
        now: Timestamp,
        also: impl FnOnce(&CaseDb) -> Result<()>,
    ) -> Result<AttachmentId> {
        let mut stored = Vec::with_capacity(renditions.len());
        let result = (|| {
            for r in renditions {
                stored.push(self.write_blob(r)?);
            }
            self.db
                .attachments()
                .insert_as(case, id, record, &stored, now, also)
        })();
        if result.is_err() {
            for b in &stored {
                let _ = std::fs::remove_file(self.blob_path(&b.id));
            }
        }
        result
    }

    /// Gives an attachment new renditions (its pixels redacted), keeping its id. The new files
    /// are written first; the old ones are removed once the switch committed (a crash in between
    /// leaves orphans the next unlock sweeps).
    pub fn replace_attachment(
        &mut self,
        case: &CaseId,
        attachment: &AttachmentId,
        record: &AttachmentRecord,
        renditions: Vec<NewRendition>,
        now: Timestamp,
    ) -> Result<()> {
        let mut stored = Vec::with_capacity(renditions.len());
        let result = (|| {
            for r in renditions {
                stored.push(self.write_blob(r)?);
            }
            self.db
                .attachments()
                .replace_rows(case, attachment, record, &stored, now)
        })();
        match result {
            Ok(old) => {
                self.remove_blob_files(&old);
                Ok(())
            }
            Err(e) => {
                let ids: Vec<BlobId> = stored.iter().map(|b| b.id.clone()).collect();
                self.remove_blob_files(&ids);
                Err(e)
            }
        }
    }

    /// Removes an attachment and its encrypted files.
    pub fn remove_attachment(
        &mut self,
        case: &CaseId,
        attachment: &AttachmentId,
        now: Timestamp,
    ) -> Result<()> {
        let old = self.db.attachments().delete_rows(case, attachment, now)?;
        self.remove_blob_files(&old);
        Ok(())
    }

    /// Finishes erasures committed in the database: removes the blob files no row names any
    /// more (their keys are gone already) and truncates the WAL (see `CaseDb::erase_case`).
    pub fn settle_erasures(&self) -> Result<()> {
        self.sweep_orphaned_blobs()?;
        self.db.truncate_wal()
    }

    fn remove_blob_files(&self, ids: &[BlobId]) {
        for id in ids {
            let _ = std::fs::remove_file(self.blob_path(id));
        }
    }

    fn blob_path(&self, id: &BlobId) -> PathBuf {
        self.dir.join(BLOB_DIR).join(id.to_string())
    }

    /// Seals the rendition in place (its buffer becomes the ciphertext), writes it to a partial
    /// file, flushes it, and renames it into place.
    fn write_blob(&self, r: NewRendition) -> Result<StoredBlob> {
        let id = BlobId::from_bytes(random_16(&*self.entropy)?);
        let key = SecretKey::random(&*self.entropy)?;
        let final_path = self.blob_path(&id);
        let partial = final_path.with_extension(&PARTIAL_SUFFIX[1..]);
        let mut buf = r.bytes;
        let plain_size = buf.len() as u64;
        seal_in_place(&mut buf, &key, &id, &*self.entropy)?;
        let write = || -> Result<()> {
            let mut file =
                create_private(&partial).map_err(StoreError::io("writing an attachment file"))?;
            file.write_all(&buf)
                .map_err(StoreError::io("writing an attachment file"))?;
            file.sync_all()
                .map_err(StoreError::io("flushing an attachment file"))?;
            std::fs::rename(&partial, &final_path)
                .map_err(StoreError::io("storing an attachment file"))?;
            sync_parent(&final_path)
        };
        match write() {
            Ok(()) => Ok(StoredBlob {
                id,
                rendition: r.rendition,
                mime: r.mime,
                key,
                plain_size,
            }),
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                Err(e)
            }
        }
    }

    /// Reads a whole rendition; nothing is returned unless the entire file verified.
    pub fn read_rendition(
        &self,
        case: &CaseId,
        attachment: &AttachmentId,
        rendition: Rendition,
    ) -> Result<(Zeroizing<Vec<u8>>, String)> {
        let (id, key, mime, size) = self.db.attachments().blob_of(case, attachment, rendition)?;
        let mut file = self.open_blob_file(&id)?;
        let mut buf = Zeroizing::new(Vec::with_capacity(sealed_len(size as usize)));
        file.read_to_end(&mut buf)
            .map_err(StoreError::io("reading an attachment file"))?;
        open_in_place(&mut buf, &key, &id)?;
        Ok((buf, mime))
    }

    /// Streams a rendition into `out` with bounded memory. On error, what was written so far
    /// must be discarded by the caller (it came from chunks that verified, but is incomplete).
    pub fn copy_rendition(
        &self,
        case: &CaseId,
        attachment: &AttachmentId,
        rendition: Rendition,
        out: &mut dyn Write,
    ) -> Result<u64> {
        let (id, key, _, _) = self.db.attachments().blob_of(case, attachment, rendition)?;
        let file = self.open_blob_file(&id)?;
        let mut opener = BlobOpener::new(BufReader::with_capacity(1 << 17, file), &key, &id)?;
        let mut buf = Zeroizing::new(vec![0u8; 1 << 16]);
        let mut total = 0u64;
        loop {
            let n = opener.read(&mut buf).map_err(map_read_error)?;
            if n == 0 {
                return Ok(total);
            }
            out.write_all(&buf[..n])
                .map_err(StoreError::io("writing the exported file"))?;
            total += n as u64;
        }
    }

    fn open_blob_file(&self, id: &BlobId) -> Result<File> {
        File::open(self.blob_path(id)).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => StoreError::BlobMissing(id.to_string()),
            _ => StoreError::Io {
                context: "opening an attachment file",
                source: e,
            },
        })
    }

    /// Removes blob files no record refers to: what a crash between writing a file and
    /// committing its record leaves behind. Runs with the profile lock held.
    fn sweep_orphaned_blobs(&self) -> Result<()> {
        let known = self.db.attachments().blob_ids()?;
        let dir = self.dir.join(BLOB_DIR);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                create_private_dir(&dir).map_err(StoreError::io("creating the blob directory"))?;
                return Ok(());
            }
            Err(e) => return Err(StoreError::io("listing attachment files")(e)),
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let orphan = match name.parse::<BlobId>() {
                Ok(id) => !known.contains(&id),
                Err(_) => name.ends_with(PARTIAL_SUFFIX),
            };
            if orphan {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(())
    }
}

fn take_lock(dir: &Path) -> Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options
        .open(dir.join(LOCK_FILE))
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => StoreError::VaultMissing(dir.to_path_buf()),
            _ => StoreError::Io {
                context: "opening the vault lock",
                source: e,
            },
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::VaultBusy),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::io("locking the vault")(e)),
    }
}

/// Opens a SQLCipher connection with a raw 256-bit key (no KDF inside SQLCipher). Pages are
/// AES-256-CBC with an HMAC-SHA256 per page (SQLCipher's SHA-512 default costs more on CPUs
/// with SHA extensions and adds nothing at this key size); these settings are part of the vault
/// format and must not change without a migration.
pub fn open_keyed(path: &Path, key: &SecretKey) -> Result<Connection> {
    let conn = Connection::open(path)?;
    let sql = Zeroizing::new(format!(
        "PRAGMA key = \"{}\"; PRAGMA cipher_hmac_algorithm = HMAC_SHA256;",
        key.sqlcipher_literal().as_str()
    ));
    conn.execute_batch(&sql)?;
    // Touch the schema so a damaged file or a wrong key fails here, not at the first query.
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(|e| StoreError::DatabaseCorrupt(e.to_string()))?;
    Ok(conn)
}

fn corrupt_if_sqlite(e: StoreError) -> StoreError {
    match e {
        StoreError::Sqlite(inner) => StoreError::DatabaseCorrupt(inner.to_string()),
        other => other,
    }
}

/// A vault built with an earlier schema, for migration tests.
#[cfg(test)]
pub(crate) fn create_with_schema(
    dir: &Path,
    passphrase: &Passphrase,
    version: i64,
    entropy: Arc<dyn Entropy>,
) -> Result<SecretKey> {
    create_private_dir(&dir.join(BLOB_DIR)).map_err(StoreError::io("test"))?;
    let db_key = SecretKey::random(&*entropy)?;
    let mut conn = open_keyed(&dir.join(DB_FILE), &db_key)?;
    crate::migrations::migrate_to(&mut conn, version)?;
    KeyFile::seal(&db_key, passphrase, KdfParams::TEST_ONLY_WEAK, &*entropy)?
        .write(&dir.join(KEY_FILE))?;
    Ok(db_key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::SystemEntropy;
    use consilium_model::{CaseFields, codec::to_cbor};

    #[test]
    fn a_vault_written_with_schema_1_opens_after_the_search_migration() {
        let tmp = tempfile::tempdir().unwrap();
        let e: Arc<dyn Entropy> = Arc::new(SystemEntropy::new());
        let pass = Passphrase::new("pw");
        let key = create_with_schema(tmp.path(), &pass, 1, e.clone()).unwrap();
        {
            // Write rows exactly as schema 1 knew them.
            let conn = open_keyed(&tmp.path().join(DB_FILE), &key).unwrap();
            conn.execute(
                "INSERT INTO profile (id, name, specialty, created_at) VALUES (1, 'Dr Old', 'derm', 5)",
                [],
            )
            .unwrap();
            let fields = CaseFields {
                title: "Pemphigus vulgaris".into(),
                history: "blisters".into(),
                ..Default::default()
            };
            let blob = to_cbor(&fields).unwrap();
            conn.execute(
                "INSERT INTO cases VALUES (?1, 'Pemphigus vulgaris', '', 'open', 'routine', ?2, NULL, 1, 5, 5)",
                rusqlite::params![&[9u8; 16][..], blob],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO comments VALUES (?1, ?2, NULL, 'Dr B', 'Nikolsky sign positive', 6)",
                rusqlite::params![&[1u8; 16][..], &[9u8; 16][..]],
            )
            .unwrap();
            let v: i64 = conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .unwrap();
            assert_eq!(v, 1);
        }
        let vault = Vault::open(tmp.path(), &pass, e).unwrap();
        let id = CaseId::from_bytes([9; 16]);
        assert_eq!(
            vault.db().cases().get(&id).unwrap().fields.title,
            "Pemphigus vulgaris"
        );
        assert_eq!(vault.db().search().query("blisters", 5).unwrap()[0].id, id);
        assert_eq!(
            vault.db().search().query("nikolsky", 5).unwrap()[0].field,
            "comment"
        );
    }

    #[test]
    fn a_profile_of_before_the_device_split_keeps_its_one_key_as_its_device_key() {
        let tmp = tempfile::tempdir().unwrap();
        let e: Arc<dyn Entropy> = Arc::new(SystemEntropy::new());
        let pass = Passphrase::new("pw");
        let key = create_with_schema(tmp.path(), &pass, 16, e.clone()).unwrap();
        {
            let conn = open_keyed(&tmp.path().join(DB_FILE), &key).unwrap();
            conn.execute(
                "INSERT INTO profile (id, name, specialty, created_at) VALUES (1, 'Dr Old', '', 5)",
                [],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO identity (id, seed, created_at) VALUES (1, ?1, 5)",
                [&[7u8; 32][..]],
            )
            .unwrap();
        }
        let vault = Vault::open(tmp.path(), &pass, e).unwrap();
        let m = vault.db().membership();
        assert_eq!(*m.identity_seed().unwrap().unwrap(), [7u8; 32]);
        assert_eq!(*m.device_seed().unwrap().unwrap(), [7u8; 32]);
    }

    #[test]
    fn a_second_opener_is_told_the_vault_is_busy() {
        let tmp = tempfile::tempdir().unwrap();
        let e: Arc<dyn Entropy> = Arc::new(SystemEntropy::new());
        let pass = Passphrase::new("pw");
        let profile = Profile {
            name: "Dr A".into(),
            specialty: "derm".into(),
            created_at: Timestamp(0),
        };
        let v = Vault::create(
            tmp.path(),
            &pass,
            &profile,
            KdfParams::TEST_ONLY_WEAK,
            e.clone(),
        )
        .unwrap();
        assert!(matches!(
            Vault::open(tmp.path(), &pass, e.clone()),
            Err(StoreError::VaultBusy)
        ));
        v.lock();
        assert!(Vault::open(tmp.path(), &pass, e).is_ok());
    }
}
