//! The engine against a relay that turns hostile: the relay runs in this process and the test,
//! playing its operator, rewrites what it stores and serves (its database is the relay's whole
//! state). Each test is an attack the client must hold against, then the honest path after it.

use std::path::Path;
use std::sync::Arc;

use crate::support::{MovableClock, engine, start_relay};
use consilium_client::Event;
use consilium_client::model::codec::from_cbor;
use consilium_groups::{CIPHERSUITE, Identity};
use openmls::prelude::*;
use openmls_rust_crypto::OpenMlsRustCrypto;
use serde_bytes::ByteBuf;
use tls_codec::{Deserialize as _, Serialize as _};

/// The relay's operator: reads and writes the relay's database behind its back.
struct Operator {
    db: rusqlite::Connection,
}

impl Operator {
    fn of(relay_data: &Path) -> Operator {
        let db = rusqlite::Connection::open(relay_data.join("relay.db")).unwrap();
        db.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
        Operator { db }
    }

    /// A key package of `account` as the relay holds it (as good as claiming it).
    fn key_package_of(&self, account: &[u8]) -> Vec<u8> {
        self.db
            .query_row(
                "SELECT body FROM key_packages WHERE account = ?1 ORDER BY id LIMIT 1",
                [account],
                |r| r.get(0),
            )
            .unwrap()
    }

    /// The key package a joiner sent with its request to join `circle`.
    fn join_request_key_package(&self, circle: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let (joiner, body): (Vec<u8>, Vec<u8>) = self
            .db
            .query_row(
                "SELECT sender, body FROM mailbox WHERE kind = 'join_request' AND group_id = ?1",
                [circle],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let (key_package, _note) = from_cbor::<(ByteBuf, ByteBuf)>(&body).unwrap();
        (joiner, key_package.into_vec())
    }

    /// Puts `body` in `account`'s mailbox as a Welcome to `circle`.
    fn deliver_welcome(&self, account: &[u8], circle: &[u8], body: &[u8]) {
        self.db
            .execute(
                "INSERT INTO mailbox (account, kind, group_id, sender, body, created_at)
                 VALUES (?1, 'welcome', ?2, ?1, ?3, 0)",
                rusqlite::params![account, circle, body],
            )
            .unwrap();
    }
}

/// A group the relay makes up: its own leaf, then `key_packages` (claimed from the relay), under
/// the id of a real circle. Returns the Welcome.
fn fake_circle(circle: &[u8], key_packages: &[Vec<u8>]) -> Vec<u8> {
    let provider = OpenMlsRustCrypto::default();
    let relay = Identity::generate().unwrap();
    let mut group = MlsGroup::builder()
        .with_group_id(GroupId::from_slice(circle))
        .ciphersuite(CIPHERSUITE)
        .use_ratchet_tree_extension(true)
        .build(&provider, relay.signer(), relay.credential())
        .unwrap();
    let packages: Vec<KeyPackage> = key_packages
        .iter()
        .map(|bytes| {
            let MlsMessageBodyIn::KeyPackage(kp) = MlsMessageIn::tls_deserialize_exact(bytes)
                .unwrap()
                .extract()
            else {
                panic!("not a key package");
            };
            kp.validate(provider.crypto(), ProtocolVersion::Mls10)
                .unwrap()
        })
        .collect();
    let (_commit, welcome, _info) = group
        .add_members(&provider, relay.signer(), &packages)
        .unwrap();
    group.merge_pending_commit(&provider).unwrap();
    welcome.tls_serialize_detached().unwrap()
}

/// The relay claims the inviter's key package, builds a group around it and the joiner's with
/// the circle's id, and welcomes the joiner: a circle the relay reads, in which the window would
/// show the inviter. The joiner refuses it in words and keeps waiting; the inviter's real
/// Welcome then comes and works.
#[test]
fn a_circle_the_relay_made_up_around_the_inviters_key_package_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let relay_data = root.path().join("relay");
    let relay = start_relay(&relay_data, clock.clone(), "127.0.0.1:0");
    let (mut a, mut b) = (
        engine(root.path(), "a", &clock),
        engine(root.path(), "b", &clock),
    );
    let circle = hex::decode(a.create_circle("Derm", &relay.url()).unwrap().id).unwrap();
    b.join(&a.invite("Derm").unwrap()).unwrap();

    let operator = Operator::of(&relay_data);
    let inviter = hex::decode(a.identity().unwrap().account).unwrap();
    let (joiner, joiner_package) = operator.join_request_key_package(&circle);
    // A's sync publishes A's key packages (and takes B's request).
    a.sync().unwrap();
    let welcome = fake_circle(
        &circle,
        &[operator.key_package_of(&inviter), joiner_package],
    );
    operator.deliver_welcome(&joiner, &circle, &welcome);

    let report = b.sync().unwrap();
    assert!(
        b.circles().unwrap().is_empty(),
        "B joined the relay's circle"
    );
    assert!(
        report.events.iter().any(|e| matches!(
            e,
            Event::MessageRejected { reason, .. } if reason.contains("neither the inviter")
        )),
        "{:?}",
        report.events
    );

    let request = a.join_requests("Derm").unwrap()[0].id;
    a.approve("Derm", request).unwrap();
    a.sync().unwrap();
    b.sync().unwrap();
    let joined = b.circles().unwrap();
    assert_eq!(joined.len(), 1, "the real Welcome is taken");
    assert_eq!(joined[0].members, 2);
}
