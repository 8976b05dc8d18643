//! MLS state kept in SQLCipher databases through the vault's own connection: groups survive a
//! reopen, and what openmls writes while processing a message is committed or rolled back with
//! the caller's transaction.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use consilium_groups::{CIPHERSUITE, Identity, Provider, make_key_packages, migrate};
use consilium_store::SecretKey;
use consilium_store::vault::open_keyed;
use openmls::prelude::*;
use rusqlite::Connection;
use tls_codec::{Deserialize as _, Serialize as _};

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
fn the_identity_signs_for_mls_and_the_relay_with_one_key() {
    let id = Identity::generate().unwrap();
    let again = Identity::from_seed(id.seed()).unwrap();
    assert_eq!(again.public_key(), id.public_key());
    let account = consilium_relay_client::AccountKey::from_seed(id.seed()).unwrap();
    assert_eq!(account.account_id(), id.account_id());
    assert_eq!(id.signer().public(), &id.public_key()[..]);
    assert!(!format!("{id:?}").contains(&hex::encode(id.seed())));
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
            &id.public_key()
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
        let w = match MlsMessageIn::tls_deserialize_exact(&welcome)
            .unwrap()
            .extract()
        {
            MlsMessageBodyIn::Welcome(w) => w,
            _ => panic!("not a welcome"),
        };
        StagedWelcome::new_from_welcome(&pb, &MlsGroupJoinConfig::default(), w, None)
            .unwrap()
            .into_group(&pb)
            .unwrap()
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
        let w = match MlsMessageIn::tls_deserialize_exact(welcome.tls_serialize_detached().unwrap())
            .unwrap()
            .extract()
        {
            MlsMessageBodyIn::Welcome(w) => w,
            _ => panic!("not a welcome"),
        };
        StagedWelcome::new_from_welcome(&pb, &MlsGroupJoinConfig::default(), w, None)
            .unwrap()
            .into_group(&pb)
            .unwrap();
    }
    let case = db
        .create_case(
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
            db.add_comment(&case, None, "Dr Alice", &text, Timestamp(2))?;
            if fail {
                return Err(UnitError::Refused);
            }
            Ok(())
        })
    };
    assert!(matches!(apply(&mut db, true), Err(UnitError::Refused)));
    assert!(db.comments(&case).unwrap().is_empty());
    apply(&mut db, false).unwrap();
    assert_eq!(db.comments(&case).unwrap()[0].body, "Consider tinea");
    assert!(
        matches!(apply(&mut db, false), Err(UnitError::Refused)),
        "a replay is refused by MLS and adds nothing"
    );
    assert_eq!(db.comments(&case).unwrap().len(), 1);
}
