//! MLS state kept in SQLCipher databases through the vault's own connection: groups survive a
//! reopen, and what openmls writes while processing a message is committed or rolled back with
//! the caller's transaction.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use consilium_groups::{
    CIPHERSUITE, Circle, Identity, Incoming, Provider, make_key_packages, migrate,
};
use consilium_store::SecretKey;
use consilium_store::open_keyed;
use openmls::prelude::*;
use rusqlite::Connection;
use tls_codec::{Deserialize as _, Serialize as _};

mod devices;

fn vault_db(dir: &std::path::Path, name: &str, key: &SecretKey) -> Connection {
    let mut conn = open_keyed(&dir.join(name), key).unwrap();
    migrate(&mut conn).unwrap();
    conn
}

fn roundtrip(m: &MlsMessageOut) -> ProtocolMessage {
    let bytes = m.tls_serialize_detached().unwrap();
    MlsMessageIn::tls_deserialize_exact(&bytes)
        .unwrap()
        .try_into_protocol_message()
        .unwrap()
}

/// Joins with raw openmls from a Welcome's bytes (these tests drive openmls directly).
fn join_raw(provider: &Provider<'_>, welcome: &[u8]) -> MlsGroup {
    let MlsMessageBodyIn::Welcome(w) = MlsMessageIn::tls_deserialize_exact(welcome)
        .unwrap()
        .extract()
    else {
        panic!("not a welcome")
    };
    StagedWelcome::new_from_welcome(provider, &MlsGroupJoinConfig::default(), w, None)
        .unwrap()
        .into_group(provider)
        .unwrap()
}

fn application_text(
    conn: &Connection,
    group: &mut MlsGroup,
    msg: ProtocolMessage,
) -> Result<Vec<u8>, String> {
    let provider = Provider::new(conn);
    let processed = group
        .process_message(&provider, msg)
        .map_err(|e| e.to_string())?;
    match processed.into_content() {
        ProcessedMessageContent::ApplicationMessage(a) => Ok(a.into_bytes()),
        _ => Err("not an application message".into()),
    }
}

#[test]
fn key_packages_validate_and_the_last_resort_one_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let key = SecretKey::from_bytes([7; 32]);
    let conn = vault_db(dir.path(), "a.db", &key);
    let id = Identity::generate().unwrap();
    let provider = Provider::new(&conn);
    let made = make_key_packages(&provider, &id, 5, true, 28 * 24 * 3600).unwrap();
    assert_eq!(made.len(), 6);
    assert_eq!(made.iter().filter(|p| p.last_resort).count(), 1);
    for p in &made {
        let bytes = p.key_package.tls_serialize_detached().unwrap();
        let parsed = KeyPackageIn::tls_deserialize_exact(&bytes).unwrap();
        let valid = parsed
            .validate(provider.crypto(), ProtocolVersion::Mls10)
            .unwrap();
        assert_eq!(valid.last_resort(), p.last_resort);
        assert_eq!(
            valid.leaf_node().signature_key().as_slice(),
            &id.device_key()
        );
    }
}

#[test]
fn groups_live_in_sqlcipher_and_a_rolled_back_transaction_leaves_no_mls_trace() {
    let dir = tempfile::tempdir().unwrap();
    let (ka, kb) = (
        SecretKey::from_bytes([1; 32]),
        SecretKey::from_bytes([2; 32]),
    );
    let (alice, bob) = (Identity::generate().unwrap(), Identity::generate().unwrap());
    let group_id;
    let welcome;
    let first;
    {
        let ca = vault_db(dir.path(), "alice.db", &ka);
        let cb = vault_db(dir.path(), "bob.db", &kb);
        let (pa, pb) = (Provider::new(&ca), Provider::new(&cb));
        let bob_kp = make_key_packages(&pb, &bob, 1, false, 3600).unwrap();
        let config = MlsGroupCreateConfig::builder()
            .ciphersuite(CIPHERSUITE)
            .use_ratchet_tree_extension(true)
            .build();
        let mut ga = MlsGroup::new(&pa, alice.signer(), &config, alice.credential()).unwrap();
        group_id = ga.group_id().clone();
        let (_commit, w, _) = ga
            .add_members(&pa, alice.signer(), &[bob_kp[0].key_package.clone()])
            .unwrap();
        ga.merge_pending_commit(&pa).unwrap();
        welcome = w.tls_serialize_detached().unwrap();
        first = ga
            .create_message(&pa, alice.signer(), b"first message")
            .unwrap();
    }
    // Both databases closed; Bob joins from the Welcome after reopening his.
    let cb = vault_db(dir.path(), "bob.db", &kb);
    let mut gb = {
        let pb = Provider::new(&cb);
        join_raw(&pb, &welcome)
    };

    // Processed inside a transaction that is rolled back: as if it never happened, so the same
    // message processes again (a committed ratchet step would refuse it as a reused secret).
    {
        let tx = cb.unchecked_transaction().unwrap();
        let text = application_text(&tx, &mut gb, roundtrip(&first)).unwrap();
        assert_eq!(text, b"first message");
        tx.rollback().unwrap();
    }
    let mut gb = MlsGroup::load(Provider::new(&cb).storage(), &group_id)
        .unwrap()
        .expect("Bob's group is stored");
    {
        let tx = cb.unchecked_transaction().unwrap();
        let text = application_text(&tx, &mut gb, roundtrip(&first)).unwrap();
        assert_eq!(text, b"first message");
        tx.commit().unwrap();
    }
    let mut gb = MlsGroup::load(Provider::new(&cb).storage(), &group_id)
        .unwrap()
        .unwrap();
    assert!(
        application_text(&cb, &mut gb, roundtrip(&first)).is_err(),
        "once committed, the same message is refused"
    );

    // Alice's group, loaded from her reopened database, reads Bob's reply.
    let ca = vault_db(dir.path(), "alice.db", &ka);
    let mut ga = MlsGroup::load(Provider::new(&ca).storage(), &group_id)
        .unwrap()
        .unwrap();
    let reply = gb
        .create_message(&Provider::new(&cb), bob.signer(), b"reply")
        .unwrap();
    assert_eq!(
        application_text(&ca, &mut ga, roundtrip(&reply)).unwrap(),
        b"reply"
    );

    // Nothing of it is readable without the key: the files are SQLCipher pages.
    for name in ["alice.db", "bob.db"] {
        let raw = std::fs::read(dir.path().join(name)).unwrap();
        assert!(!raw.starts_with(b"SQLite format 3"));
        assert!(open_keyed(&dir.path().join(name), &SecretKey::from_bytes([9; 32])).is_err());
    }
}

#[derive(Debug)]
#[allow(dead_code)] // the store error is shown by Debug when a test fails
enum UnitError {
    Store(consilium_store::StoreError),
    Refused,
}

impl From<consilium_store::StoreError> for UnitError {
    fn from(e: consilium_store::StoreError) -> Self {
        UnitError::Store(e)
    }
}

/// A received comment is applied as one unit with the MLS step that decrypted it: when the unit
/// fails after both were written, neither the comment nor the ratchet step remains, and the same
/// message applies cleanly afterwards.
#[test]
fn the_mls_step_and_the_case_effect_of_a_message_share_one_transaction() {
    use consilium_model::{CaseFields, Timestamp};
    use consilium_store::{CaseDb, SystemEntropy};
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let (alice, bob) = (Identity::generate().unwrap(), Identity::generate().unwrap());
    let ca = vault_db(dir.path(), "alice.db", &SecretKey::from_bytes([1; 32]));
    let conn = open_keyed(&dir.path().join("bob.db"), &SecretKey::from_bytes([2; 32])).unwrap();
    let mut db = CaseDb::from_connection(conn, Arc::new(SystemEntropy::new())).unwrap();
    migrate(db.connection_mut()).unwrap();

    let pa = Provider::new(&ca);
    let kp = make_key_packages(&Provider::new(db.connection()), &bob, 1, false, 3600).unwrap();
    let config = MlsGroupCreateConfig::builder()
        .ciphersuite(CIPHERSUITE)
        .use_ratchet_tree_extension(true)
        .build();
    let mut ga = MlsGroup::new(&pa, alice.signer(), &config, alice.credential()).unwrap();
    let (_, welcome, _) = ga
        .add_members(&pa, alice.signer(), &[kp[0].key_package.clone()])
        .unwrap();
    ga.merge_pending_commit(&pa).unwrap();
    let gid = ga.group_id().clone();
    {
        let pb = Provider::new(db.connection());
        join_raw(&pb, &welcome.tls_serialize_detached().unwrap());
    }
    let case = db
        .cases()
        .create(
            CaseFields {
                title: "Shared case".into(),
                ..Default::default()
            },
            Timestamp(1),
        )
        .unwrap();
    let comment = ga
        .create_message(&pa, alice.signer(), b"Consider tinea")
        .unwrap();

    let apply = |db: &mut CaseDb, fail: bool| {
        db.atomically(|db| {
            let text = {
                let pb = Provider::new(db.connection());
                let mut gb = MlsGroup::load(pb.storage(), &gid).unwrap().unwrap();
                application_text(db.connection(), &mut gb, roundtrip(&comment))
                    .map_err(|_| UnitError::Refused)?
            };
            let text = String::from_utf8(text).unwrap();
            db.comments()
                .add(&case, None, "Dr Alice", &text, Timestamp(2))?;
            if fail {
                return Err(UnitError::Refused);
            }
            Ok(())
        })
    };
    assert!(matches!(apply(&mut db, true), Err(UnitError::Refused)));
    assert!(db.comments().of_case(&case).unwrap().is_empty());
    apply(&mut db, false).unwrap();
    assert_eq!(
        db.comments().of_case(&case).unwrap()[0].body,
        "Consider tinea"
    );
    assert!(
        matches!(apply(&mut db, false), Err(UnitError::Refused)),
        "a replay is refused by MLS and adds nothing"
    );
    assert_eq!(db.comments().of_case(&case).unwrap().len(), 1);
}

/// A profile: an identity and its own encrypted database.
struct Member {
    id: Identity,
    conn: Connection,
}

fn members(dir: &std::path::Path, names: &[&str]) -> Vec<Member> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| Member {
            id: Identity::generate().unwrap(),
            conn: vault_db(
                dir,
                &format!("{name}.db"),
                &SecretKey::from_bytes([i as u8 + 1; 32]),
            ),
        })
        .collect()
}

fn key_package(m: &Member) -> Vec<u8> {
    make_key_packages(&Provider::new(&m.conn), &m.id, 1, false, 3600).unwrap()[0]
        .to_message_bytes()
        .unwrap()
}

/// A creates a circle and adds B, who joins from the Welcome; both at epoch 1. The circle's id
/// and A's commit.
fn circle_of_two(a: &Member, b: &Member) -> (Vec<u8>, consilium_groups::Outgoing) {
    let mut circle = Circle::create(&Provider::new(&a.conn), &a.id).unwrap();
    let out = circle
        .add(&Provider::new(&a.conn), &a.id, &[key_package(b)])
        .unwrap();
    circle.confirm(&Provider::new(&a.conn)).unwrap();
    Circle::join(
        &Provider::new(&b.conn),
        out.welcome.as_ref().unwrap(),
        &[a.id.public_key()],
    )
    .unwrap();
    (circle.id(), out)
}

fn load(m: &Member, gid: &[u8]) -> Circle {
    Circle::load(&Provider::new(&m.conn), gid).unwrap().unwrap()
}

fn open(m: &Member, gid: &[u8], message: &[u8]) -> consilium_groups::Result<Incoming> {
    load(m, gid).open(&Provider::new(&m.conn), message)
}

fn seal(m: &Member, gid: &[u8], text: &[u8]) -> Vec<u8> {
    load(m, gid)
        .seal(&Provider::new(&m.conn), m.id.signer(), text)
        .unwrap()
}

/// Anyone may claim the inviter's key packages: a relay (here "m") builds a group around one, and
/// the joiner's, and welcomes the joiner. The inviter is a member of it, but did not sign its
/// GroupInfo: the joiner refuses it and stores nothing, then takes the inviter's real Welcome.
#[test]
fn a_welcome_to_a_group_built_around_the_inviters_key_package_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ms = members(dir.path(), &["inviter", "joiner", "m"]);
    let (inviter, joiner, relay) = (&ms[0], &ms[1], &ms[2]);
    let mut fake = Circle::create(&Provider::new(&relay.conn), &relay.id).unwrap();
    let out = fake
        .add(
            &Provider::new(&relay.conn),
            &relay.id,
            &[key_package(inviter), key_package(joiner)],
        )
        .unwrap();
    fake.confirm(&Provider::new(&relay.conn)).unwrap();
    let Err(err) = Circle::join(
        &Provider::new(&joiner.conn),
        &out.welcome.unwrap(),
        &[inviter.id.public_key()],
    ) else {
        panic!("a Welcome the inviter did not send was taken");
    };
    assert!(err.to_string().contains("neither the inviter"), "{err}");
    assert!(
        Circle::load(&Provider::new(&joiner.conn), &fake.id())
            .unwrap()
            .is_none()
    );

    let mut real = Circle::create(&Provider::new(&inviter.conn), &inviter.id).unwrap();
    let out = real
        .add(
            &Provider::new(&inviter.conn),
            &inviter.id,
            &[key_package(joiner)],
        )
        .unwrap();
    real.confirm(&Provider::new(&inviter.conn)).unwrap();
    let joined = Circle::join(
        &Provider::new(&joiner.conn),
        &out.welcome.unwrap(),
        &[inviter.id.public_key()],
    )
    .unwrap();
    assert_eq!(joined.id(), real.id());
}

#[test]
fn a_circle_of_three_talks_and_a_removed_member_reads_nothing_after() {
    let dir = tempfile::tempdir().unwrap();
    let ms = members(dir.path(), &["a", "b", "c"]);
    let (a, b, c) = (&ms[0], &ms[1], &ms[2]);
    let mut circle = Circle::create(&Provider::new(&a.conn), &a.id).unwrap();
    let gid = circle.id();
    let out = circle
        .add(
            &Provider::new(&a.conn),
            &a.id,
            &[key_package(b), key_package(c)],
        )
        .unwrap();
    assert_eq!(out.added, vec![b.id.public_key(), c.id.public_key()]);
    circle.confirm(&Provider::new(&a.conn)).unwrap();
    let welcome = out.welcome.unwrap();
    for m in [b, c] {
        let joined = Circle::join(&Provider::new(&m.conn), &welcome, &[a.id.public_key()]).unwrap();
        assert_eq!(joined.epoch(), 1);
        let mut who = joined.members().unwrap();
        who.sort();
        let mut expected = vec![a.id.public_key(), b.id.public_key(), c.id.public_key()];
        expected.sort();
        assert_eq!(who, expected);
    }
    let hello = seal(a, &gid, b"hello circle");
    for m in [b, c] {
        assert_eq!(
            open(m, &gid, &hello).unwrap(),
            Incoming::Application {
                sender: a.id.public_key(),
                bytes: b"hello circle".to_vec()
            }
        );
    }
    let reply = seal(b, &gid, b"reply");
    assert_eq!(
        open(a, &gid, &reply).unwrap(),
        Incoming::Application {
            sender: b.id.public_key(),
            bytes: b"reply".to_vec()
        }
    );
    assert_eq!(
        open(c, &gid, &reply).unwrap(),
        Incoming::Application {
            sender: b.id.public_key(),
            bytes: b"reply".to_vec()
        }
    );

    // A removes C.
    let mut circle = load(a, &gid);
    let out = circle
        .remove(&Provider::new(&a.conn), &a.id, &[c.id.public_key()])
        .unwrap();
    circle.confirm(&Provider::new(&a.conn)).unwrap();
    match open(b, &gid, &out.commit).unwrap() {
        Incoming::Commit {
            removed,
            self_removed,
            epoch,
            ..
        } => {
            assert_eq!(removed, vec![c.id.public_key()]);
            assert!(!self_removed);
            assert_eq!(epoch, 2);
        }
        other => panic!("{other:?}"),
    }
    match open(c, &gid, &out.commit).unwrap() {
        Incoming::Commit { self_removed, .. } => assert!(self_removed),
        other => panic!("{other:?}"),
    }
    let secret = seal(a, &gid, b"after C left");
    assert_eq!(
        open(b, &gid, &secret).unwrap(),
        Incoming::Application {
            sender: a.id.public_key(),
            bytes: b"after C left".to_vec()
        }
    );
    assert!(
        matches!(
            open(c, &gid, &secret),
            Err(consilium_groups::GroupError::Rejected(_))
        ),
        "C cannot read what is sent after its removal"
    );
    // Garbage and a message for another group are refused, not panics.
    assert!(matches!(
        open(b, &gid, b"garbage"),
        Err(consilium_groups::GroupError::Rejected(_))
    ));
}

#[test]
fn two_admins_committing_at_once_never_fork_the_circle() {
    let dir = tempfile::tempdir().unwrap();
    let ms = members(dir.path(), &["a", "b"]);
    let (a, b) = (&ms[0], &ms[1]);
    let (gid, _) = circle_of_two(a, b);

    for round in 0..10 {
        // Both rotate on the same epoch; the relay takes whichever came first.
        let (mut ca, mut cb) = (load(a, &gid), load(b, &gid));
        let from_a = ca.rotate(&Provider::new(&a.conn), &a.id).unwrap();
        let from_b = cb.rotate(&Provider::new(&b.conn), &b.id).unwrap();
        let (winner, w_commit, loser, mut l_circle) = if round % 2 == 0 {
            (a, from_a, b, cb)
        } else {
            (b, from_b, a, ca)
        };
        load(winner, &gid)
            .confirm(&Provider::new(&winner.conn))
            .unwrap();
        // The loser's commit got stale_epoch: it abandons it and applies the winner's.
        l_circle.abandon(&Provider::new(&loser.conn)).unwrap();
        assert!(matches!(
            open(loser, &gid, &w_commit.commit).unwrap(),
            Incoming::Commit { .. }
        ));
        let (ea, eb) = (load(a, &gid).epoch(), load(b, &gid).epoch());
        assert_eq!(ea, eb, "round {round}: same epoch on both sides");
        let m = seal(a, &gid, b"still one circle");
        assert_eq!(
            open(b, &gid, &m).unwrap(),
            Incoming::Application {
                sender: a.id.public_key(),
                bytes: b"still one circle".to_vec()
            }
        );
    }
}
