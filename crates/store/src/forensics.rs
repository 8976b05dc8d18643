//! What someone holding a vault's files and its key could read in them: every page of the
//! database and of its write-ahead log, decrypted here with the key itself (the bundled
//! SQLCipher has no page-reading table), free pages and old page versions included. Tests use
//! it to show that deleted text is gone from the pages, not merely from the tables. Built only
//! with the `forensics` feature; never part of the app.
//!
//! SQLCipher 4 with HMAC-SHA256, as `open_keyed` sets it: 4096-byte pages, each AES-256-CBC
//! under the raw key up to its 48 reserved bytes (IV, then HMAC); page 1 starts with the
//! file's 16-byte salt, left unencrypted.

use std::path::Path;

use aes::Aes256;
use aes::cipher::{BlockDecrypt, KeyInit, generic_array::GenericArray};

use crate::error::{Result, StoreError};
use crate::keys::{KeyFile, Passphrase};
use crate::vault::{DB_FILE, KEY_FILE};

const PAGE: usize = 4096;
const RESERVE: usize = 48;
const SALT: usize = 16;
const WAL_HEADER: usize = 32;
const FRAME_HEADER: usize = 24;

/// The plaintext of every page of the vault in `dir`: the database file's, then every frame
/// of its WAL (a page can be there in several versions). An unreadable page comes out as
/// noise, never as an error: the point is what could be read.
pub fn readable_pages(dir: &Path, passphrase: &Passphrase) -> Result<Vec<u8>> {
    let key = KeyFile::read(&dir.join(KEY_FILE))?.unseal(passphrase)?;
    let cipher = Aes256::new(GenericArray::from_slice(key.expose()));
    let mut out = Vec::new();
    let db = read(&dir.join(DB_FILE))?;
    for (i, page) in db.chunks_exact(PAGE).enumerate() {
        decrypt_page(&cipher, page, i == 0, &mut out);
    }
    let wal = read(&dir.join(format!("{DB_FILE}-wal")))?;
    if wal.len() > WAL_HEADER {
        for frame in wal[WAL_HEADER..].chunks_exact(FRAME_HEADER + PAGE) {
            let page_number = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
            decrypt_page(&cipher, &frame[FRAME_HEADER..], page_number == 1, &mut out);
        }
    }
    Ok(out)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(StoreError::io("reading a vault file")(e)),
    }
}

fn decrypt_page(cipher: &Aes256, page: &[u8], first: bool, out: &mut Vec<u8>) {
    let start = if first { SALT } else { 0 };
    let end = PAGE - RESERVE;
    let mut previous: [u8; 16] = page[end..end + 16].try_into().unwrap_or([0; 16]);
    for block in page[start..end].chunks_exact(16) {
        let mut plain = GenericArray::clone_from_slice(block);
        cipher.decrypt_block(&mut plain);
        for (p, c) in plain.iter_mut().zip(previous) {
            *p ^= c;
        }
        out.extend_from_slice(&plain);
        previous.copy_from_slice(block);
    }
}
