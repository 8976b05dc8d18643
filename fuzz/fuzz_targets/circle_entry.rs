//! Untrusted bytes from a circle's relay: as a log entry opened by a member's MLS state, and as
//! a downloaded encrypted image. Never a panic; a forged image is never accepted.
#![no_main]

use std::sync::{Mutex, OnceLock};

use consilium_client::blob_crypto::{Expected, open};
use consilium_groups::{Circle, Identity, Provider, migrate};
use libfuzzer_sys::fuzz_target;

struct Member {
    conn: rusqlite::Connection,
    circle: Vec<u8>,
}

fn member() -> &'static Mutex<Member> {
    static MEMBER: OnceLock<Mutex<Member>> = OnceLock::new();
    MEMBER.get_or_init(|| {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let id = Identity::generate().unwrap();
        let circle = Circle::create(&Provider::new(&conn), &id).unwrap().id();
        Mutex::new(Member { conn, circle })
    })
}

fuzz_target!(|data: &[u8]| {
    let sha = ring::digest::digest(&ring::digest::SHA256, data);
    let expected = Expected {
        blob_sha256: sha.as_ref(),
        plain_sha256: &[0; 32],
        size: data.len() as u64 / 2,
    };
    assert!(open(data.to_vec(), &[7; 32], &[9; 12], expected).is_err(), "forged image accepted");

    let m = member().lock().unwrap();
    m.conn.execute_batch("SAVEPOINT fuzz").unwrap();
    let provider = Provider::new(&m.conn);
    if let Ok(Some(mut circle)) = Circle::load(&provider, &m.circle) {
        let _ = circle.open(&provider, data);
    }
    m.conn
        .execute_batch("ROLLBACK TO fuzz; RELEASE fuzz")
        .unwrap();
});
