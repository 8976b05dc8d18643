//! What the relay checks of a member's proposal or commit against a group's public state, with
//! bytes from anyone: raw, and a real commit with fuzzer-chosen bytes overwritten (so the
//! checks past the parser are reached). Never a panic; a changed commit is never accepted
//! unless the change is in what the relay cannot check (the two tags at its end).
#![no_main]

use std::sync::OnceLock;

use consilium_groups::{Circle, Identity, Provider, migrate};
use consilium_relay::auth::Account;
use consilium_relay::handshake::{self, Checked};
use libfuzzer_sys::fuzz_target;

struct Group {
    record: Vec<u8>,
    commit: Vec<u8>,
    member: Account,
}

fn group() -> &'static Group {
    static GROUP: OnceLock<Group> = OnceLock::new();
    GROUP.get_or_init(|| {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let id = Identity::generate().unwrap();
        let provider = Provider::new(&conn);
        let mut circle = Circle::create(&provider, &id).unwrap();
        let state = circle.public_state(&provider, &id).unwrap();
        let record = handshake::establish(&circle.id(), &state.group_info, &state.ratchet_tree)
            .unwrap()
            .record;
        let commit = circle.rotate(&provider, &id).unwrap().commit;
        assert!(matches!(
            handshake::check(&record, &commit, &Account(id.public_key()), None),
            Ok(Checked::Commit { .. })
        ));
        Group {
            record,
            commit,
            member: Account(id.public_key()),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let g = group();
    let _ = handshake::check(&g.record, data, &g.member, None);
    let _ = handshake::check_welcome(data, &g.member, &[]);
    let (info, tree) = data.split_at(data.len() / 2);
    let _ = handshake::establish(b"g", info, tree);

    // The real commit with bytes overwritten: (position, value) pairs.
    let mut changed = g.commit.clone();
    for pair in data.chunks_exact(3) {
        let at = usize::from(u16::from_le_bytes([pair[0], pair[1]])) % changed.len();
        changed[at] = pair[2];
    }
    let tags_start = changed.len() - 33 - 33;
    let body_changed = changed[..tags_start] != g.commit[..tags_start];
    if body_changed && handshake::check(&g.record, &changed, &g.member, None).is_ok() {
        panic!("a commit changed in its signed part was accepted");
    }
});
