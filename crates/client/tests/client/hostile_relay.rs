//! The engine against a relay that turns hostile: the relay runs in this process and the test,
//! playing its operator, rewrites what it stores and serves (its database is the relay's whole
//! state). Each test is an attack the client must hold against, then the honest path after it.

use std::path::Path;
use std::sync::Arc;

use crate::support::{MovableClock, bring_in, circle_of_two, engine, engine_named, start_relay};
use crate::tamper::{Forged, TamperingRelay};
use consilium_client::Event;
use consilium_client::model::app::MemberProfile;
use consilium_client::model::codec::{from_cbor, to_cbor};
use consilium_client::model::{CaseFields, CaseId};
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

    /// Replaces the note of every join request to `circle` with `note`.
    fn rewrite_join_notes(&self, circle: &[u8], note: &[u8]) {
        let (id, body): (i64, Vec<u8>) = self
            .db
            .query_row(
                "SELECT id, body FROM mailbox WHERE kind = 'join_request' AND group_id = ?1",
                [circle],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let (key_package, _) = from_cbor::<(ByteBuf, ByteBuf)>(&body).unwrap();
        let body = to_cbor(&(key_package, ByteBuf::from(note.to_vec()))).unwrap();
        self.db
            .execute(
                "UPDATE mailbox SET body = ?1 WHERE id = ?2",
                rusqlite::params![body, id],
            )
            .unwrap();
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
    let inviter = hex::decode(a.identity().unwrap().device).unwrap();
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

    let request = a.join_requests("Derm").unwrap().remove(0);
    let number = consilium_client::ApprovalCheck::SafetyNumber(request.safety_number);
    a.approve("Derm", request.id, &number).unwrap();
    a.sync().unwrap();
    b.sync().unwrap();
    let joined = b.circles().unwrap();
    assert_eq!(joined.len(), 1, "the real Welcome is taken");
    assert_eq!(joined[0].members, 2);
}

/// A shares a short case with `circle`; its id.
/// The relay carries a joiner's note to the inviter: it reads neither name nor specialty in it,
/// and a note it writes itself ("Dr Mallory", in the clear as the old clients sent it) names
/// nobody: the request keeps its key package and safety number, without the relay's words.
#[test]
fn the_relay_can_neither_read_nor_write_who_a_joiner_says_they_are() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let relay_data = root.path().join("relay");
    let relay = start_relay(&relay_data, clock.clone(), "127.0.0.1:0");
    let mut a = engine(root.path(), "a", &clock);
    let mut b = engine_named(root.path(), "b", "Dr Bruno Lefevre", &clock);
    let mut c = engine_named(root.path(), "c", "Dr Chloe Petit", &clock);
    let circle = hex::decode(a.create_circle("Derm", &relay.url()).unwrap().id).unwrap();
    let operator = Operator::of(&relay_data);

    b.join(&a.invite("Derm").unwrap()).unwrap();
    let stored: Vec<u8> = operator
        .db
        .query_row(
            "SELECT body FROM mailbox WHERE kind = 'join_request'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    for clear in [&b"Bruno"[..], b"Dermatology"] {
        assert!(
            !stored.windows(clear.len()).any(|w| w == clear),
            "in clear at the relay"
        );
    }
    let mallory = to_cbor(&MemberProfile {
        name: "Dr Mallory".into(),
        specialty: "Dermatology".into(),
    })
    .unwrap();
    operator.rewrite_join_notes(&circle, &mallory);
    let report = a.sync().unwrap();
    let requests = a.join_requests("Derm").unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].name, "",
        "the relay's words were taken as the joiner's"
    );
    assert!(
        report.events.iter().any(|e| matches!(
            e,
            Event::MessageRejected { reason, .. } if reason.contains("note was refused")
        )),
        "{:?}",
        report.events
    );

    // The honest path: C's note arrives as C wrote it.
    c.join(&a.invite("Derm").unwrap()).unwrap();
    a.sync().unwrap();
    let requests = a.join_requests("Derm").unwrap();
    let from_c = requests
        .iter()
        .find(|r| r.account == c.identity().unwrap().account)
        .unwrap();
    assert_eq!(
        (&*from_c.name, &*from_c.specialty),
        ("Dr Chloe Petit", "Dermatology")
    );
}

fn share_case(a: &mut consilium_client::Engine, circle: &str, title: &str) -> CaseId {
    let case = a
        .create_case(CaseFields {
            title: title.into(),
            ..Default::default()
        })
        .unwrap();
    a.share(&case, circle).unwrap();
    a.sync().unwrap();
    case
}

fn sync_failed_at(report: &consilium_client::SyncReport, relay: &str) -> bool {
    report
        .events
        .iter()
        .any(|e| matches!(e, Event::SyncFailed { relay: r, .. } if r == relay))
}

/// Two circles on two relays; one relay answers the mailbox with 64 MiB, then with a list
/// whose one item is not a mailbox item, then a log page over the limit. Each time the sync
/// says which relay failed, and the other relay's circle goes on: its new case arrives.
#[test]
fn an_answer_over_any_limit_or_malformed_fails_that_relay_alone() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let hostile = TamperingRelay::start(&root.path().join("hostile"), clock.clone());
    let honest = start_relay(&root.path().join("honest"), clock.clone(), "127.0.0.1:0");
    let (mut a, mut b) = (
        engine(root.path(), "a", &clock),
        engine(root.path(), "b", &clock),
    );
    a.create_circle("Hostile", &hostile.url).unwrap();
    a.create_circle("Honest", &honest.url()).unwrap();
    bring_in(&mut a, &mut b, "Hostile");
    bring_in(&mut a, &mut b, "Honest");

    let not_an_item = {
        let mut v = Vec::new();
        ciborium::into_writer(&vec![ciborium::Value::Text("no".into())], &mut v).unwrap();
        v
    };
    let attacks = [
        ("GET", "/v1/mailbox", vec![0u8; 64 << 20]),
        ("GET", "/v1/mailbox", not_an_item),
        ("GET", "/messages?after", vec![0u8; 64 << 20]),
    ];
    for (round, (method, path, body)) in attacks.into_iter().enumerate() {
        hostile.behave();
        hostile.forge(method, path, Forged::Answer(200, body));
        let case = share_case(&mut a, "Honest", &format!("Case {round}"));
        let report = b.sync().expect("the sync goes on");
        assert!(
            sync_failed_at(&report, &hostile.url),
            "{round}: {:?}",
            report.events
        );
        assert!(
            b.case(&case).is_ok(),
            "{round}: the honest relay's case arrived"
        );
    }
}

/// 500 shared cases of 10 KiB each: a colleague who joins afterwards reads the log page by
/// page (the relay bounds pages in bytes) and catches up whole.
#[test]
fn a_member_catches_up_on_500_cases_of_10_kib() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let relay = start_relay(&root.path().join("relay"), clock.clone(), "127.0.0.1:0");
    let (mut a, mut b) = circle_of_two(root.path(), &clock, &relay.url(), "Big");
    let history = "a long history of presenting complaint and findings. ".repeat(200);
    assert!(history.len() >= 10 << 10);
    for i in 0..500 {
        let case = a
            .create_case(CaseFields {
                title: format!("Case {i}"),
                history: history.clone(),
                ..Default::default()
            })
            .unwrap();
        a.share(&case, "Big").unwrap();
    }
    let sent = a.sync().unwrap();
    assert_eq!(sent.queued, 0);
    let report = b.sync().unwrap();
    assert_eq!(report.received, 500, "{:?}", report.events.last());
}

/// The relay redirects the mailbox to another address: the client follows nothing (a redirect
/// would carry its signed headers there), says which relay failed, and no connection reaches
/// the redirect's target.
#[test]
fn a_redirect_is_never_followed() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let hostile = TamperingRelay::start(&root.path().join("hostile"), clock.clone());
    let (_a, mut b) = circle_of_two(root.path(), &clock, &hostile.url, "Hostile");
    let elsewhere = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    elsewhere.set_nonblocking(true).unwrap();
    let target = format!("http://{}/v1/mailbox", elsewhere.local_addr().unwrap());
    hostile.forge("GET", "/v1/mailbox", Forged::Redirect(target));

    let report = b.sync().expect("the sync goes on");
    assert!(sync_failed_at(&report, &hostile.url), "{:?}", report.events);
    assert!(
        elsewhere.accept().is_err(),
        "a connection reached the redirect's target"
    );
}

/// The relay answers every log page with an entry the member read already: the pass for that
/// circle ends (it would loop for ever otherwise) and says so.
#[test]
fn a_relay_serving_what_was_read_cannot_keep_the_sync_looping() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let hostile = TamperingRelay::start(&root.path().join("hostile"), clock.clone());
    let (mut a, mut b) = circle_of_two(root.path(), &clock, &hostile.url, "Loop");
    share_case(&mut a, "Loop", "Read already");
    b.sync().unwrap();
    let old = consilium_client::model::wire::LogEntry {
        seq: 1,
        sender: "00".repeat(32),
        message_id: ByteBuf::from(vec![1; 16]),
        mls: ByteBuf::from(vec![0; 64]),
    };
    let mut page = Vec::new();
    ciborium::into_writer(&vec![old], &mut page).unwrap();
    hostile.forge("GET", "/messages?after", Forged::Answer(200, page));

    let report = b.sync().expect("the sync ends");
    assert!(sync_failed_at(&report, &hostile.url), "{:?}", report.events);
}

/// The relay makes up log entries for ever, each just past the last: the pass reads a bounded
/// number of pages, says so, and ends.
#[test]
fn a_relay_that_never_runs_out_of_entries_cannot_keep_the_sync() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let hostile = TamperingRelay::start(&root.path().join("hostile"), clock.clone());
    let (_a, mut b) = circle_of_two(root.path(), &clock, &hostile.url, "Endless");
    hostile.forge("GET", "/messages?after", Forged::EndlessLog);

    let report = b.sync().expect("the sync ends");
    assert!(
        sync_failed_at(&report, &hostile.url),
        "{:?}",
        report.events.last()
    );
    assert!(report.rejected >= 100, "{}", report.rejected);
}

/// The relay drops one of A's three messages from the log it serves B: B's client sees the gap
/// in A's numbering and says so.
#[test]
fn a_message_the_relay_withholds_raises_the_gap_warning() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let relay_data = root.path().join("relay");
    let relay = start_relay(&relay_data, clock.clone(), "127.0.0.1:0");
    let (mut a, mut b) = circle_of_two(root.path(), &clock, &relay.url(), "Gap");
    b.sync().unwrap();
    a.sync().unwrap();
    let circle = hex::decode(&a.circles().unwrap()[0].id).unwrap();
    let cases: Vec<CaseId> = (0..3)
        .map(|i| share_case(&mut a, "Gap", &format!("Case {i}")))
        .collect();
    let operator = Operator::of(&relay_data);
    let middle: i64 = operator
        .db
        .query_row(
            "SELECT seq FROM messages WHERE group_id = ?1 ORDER BY seq DESC LIMIT 1 OFFSET 1",
            [&circle],
            |r| r.get(0),
        )
        .unwrap();
    operator
        .db
        .execute(
            "DELETE FROM messages WHERE group_id = ?1 AND seq = ?2",
            rusqlite::params![circle, middle],
        )
        .unwrap();

    let report = b.sync().unwrap();
    assert!(b.case(&cases[1]).is_err(), "the middle case was withheld");
    assert!(
        report
            .events
            .iter()
            .any(|e| matches!(e, Event::MessagesMissing { missing: 1, .. })),
        "{:?}",
        report.events
    );
}

/// The relay forks a circle: it accepts A's key rotation, hides it from B, puts its record of the
/// group back as it was, and accepts B's rotation for the same epoch. A and B are each at the
/// next epoch with other secrets. Their epoch codes differ (while a sound circle's agree), and
/// A's next message, which B cannot decrypt at the epoch both are at, raises the fork warning.
#[test]
fn a_relay_that_serves_two_members_different_commits_raises_the_fork_warning() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let relay_data = root.path().join("relay");
    let relay = start_relay(&relay_data, clock.clone(), "127.0.0.1:0");
    let (mut a, mut b) = circle_of_two(root.path(), &clock, &relay.url(), "Derm");
    a.sync().unwrap();
    let code = |e: &consilium_client::Engine| e.circle("Derm").unwrap();
    assert_eq!(
        code(&a).epoch_code,
        code(&b).epoch_code,
        "a sound circle agrees"
    );
    let circle = hex::decode(code(&a).id).unwrap();

    let operator = Operator::of(&relay_data);
    let before: (i64, Vec<u8>) = operator
        .db
        .query_row(
            "SELECT epoch, public_state FROM groups WHERE id = ?1",
            [&circle],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    a.rotate_keys("Derm").unwrap();
    a.sync().unwrap();
    let a_commit: i64 = operator
        .db
        .query_row(
            "SELECT max(seq) FROM messages WHERE group_id = ?1",
            [&circle],
            |r| r.get(0),
        )
        .unwrap();
    operator.db.execute_batch("BEGIN").unwrap();
    operator
        .db
        .execute(
            "DELETE FROM messages WHERE group_id = ?1 AND seq = ?2",
            rusqlite::params![circle, a_commit],
        )
        .unwrap();
    operator
        .db
        .execute(
            "UPDATE groups SET epoch = ?2, public_state = ?3 WHERE id = ?1",
            rusqlite::params![circle, before.0, before.1],
        )
        .unwrap();
    operator.db.execute_batch("COMMIT").unwrap();
    b.rotate_keys("Derm").unwrap();
    b.sync().unwrap();
    let (at_a, at_b) = (code(&a), code(&b));
    assert_eq!(at_a.epoch, at_b.epoch, "both moved to the next epoch");
    assert_ne!(at_a.epoch_code, at_b.epoch_code, "the codes show the fork");

    share_case(&mut a, "Derm", "after the fork");
    let report = b.sync().unwrap();
    let warned = report.events.iter().any(|e| {
        matches!(e, Event::ForkSuspected { sender, epoch, .. }
            if *sender == a.identity().unwrap().account && *epoch == at_b.epoch)
    });
    assert!(warned, "{:?}", report.events);
}
