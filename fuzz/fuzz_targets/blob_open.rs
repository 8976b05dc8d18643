//! Untrusted bytes as a blob file (a tampered vault): never a panic, never accepted.
#![no_main]

use consilium_model::BlobId;
use consilium_store::SecretKey;
use consilium_store::blob::{BlobOpener, open_in_place};
use libfuzzer_sys::fuzz_target;
use std::io::Read;

fuzz_target!(|data: &[u8]| {
    let key = SecretKey::from_bytes([7; 32]);
    let id = BlobId::from_bytes([1; 16]);
    let mut buf = zeroize::Zeroizing::new(data.to_vec());
    assert!(open_in_place(&mut buf, &key, &id).is_err(), "forged blob accepted");
    if let Ok(mut o) = BlobOpener::new(std::io::Cursor::new(data), &key, &id) {
        let mut out = Vec::new();
        assert!(o.read_to_end(&mut out).is_err(), "forged blob streamed");
    }
});
