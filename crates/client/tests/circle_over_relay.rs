//! The circle pipeline over a real relay on 127.0.0.1:0: Alice creates a circle and adds Bob
//! (commit, Welcome through Bob's mailbox), queues a shared case in the same transaction as the
//! case, the outbox seals and posts it, Bob fetches the log and applies it; the relay's data
//! directory never holds the case text.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use consilium_client::circle_apply::{CircleApplier, CircleSealer};
use consilium_client::key_publish::key_package_upload;
use consilium_client::outbox::deliver_due;
use consilium_client::receive::{Entry, apply_log};
use consilium_client::relay_transport::RelayTransport;
use consilium_groups::{Circle, Identity, Provider, migrate};
use consilium_model::app::{AppMessage, CaseShared};
use consilium_model::wire::{PostBundle, WelcomeFor};
use consilium_model::{CaseFields, Clock, SystemClock, Timestamp};
use consilium_relay_client::{AccountKey, RelayClient};
use consilium_store::{CaseDb, SystemEntropy};
use serde_bytes::ByteBuf;

fn now_ms() -> i64 {
    SystemClock.now().0
}

struct Relay {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.stop.take().unwrap().send(());
        let _ = self.thread.take().unwrap().join();
    }
}

fn relay(dir: &std::path::Path) -> Relay {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = consilium_relay::RelayConfig::new(dir.to_path_buf(), Arc::new(SystemClock));
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            consilium_relay::run(listener, config, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
    });
    Relay {
        base,
        stop: Some(stop),
        thread: Some(thread),
    }
}

struct Profile {
    id: Identity,
    db: CaseDb,
    relay: RelayClient,
}

fn profile(base: &str) -> Profile {
    let id = Identity::generate().unwrap();
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    let mut db = CaseDb::from_connection(conn, Arc::new(SystemEntropy::new())).unwrap();
    migrate(db.connection_mut()).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let relay = RelayClient::new(
        base,
        Arc::new(AccountKey::from_seed(id.seed()).unwrap()),
        clock,
    )
    .unwrap();
    Profile { id, db, relay }
}

#[test]
fn a_case_shared_through_the_outbox_reaches_a_member_through_a_real_relay() {
    let dir = tempfile::tempdir().unwrap();
    let server = relay(dir.path());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (mut alice, mut bob) = (profile(&server.base), profile(&server.base));

    // Bob publishes key packages; Alice claims one, creates the circle and adds Bob.
    let upload = key_package_upload(bob.db.connection(), &bob.id, 3, Timestamp(now_ms())).unwrap();
    assert_eq!(upload.packages.iter().filter(|p| p.last_resort).count(), 1);
    rt.block_on(bob.relay.upload_key_packages(&upload)).unwrap();
    let kp = rt
        .block_on(alice.relay.claim_key_package(&bob.id.account_id()))
        .unwrap();
    let pa = Provider::new(alice.db.connection());
    let mut circle = Circle::create(&pa, &alice.id).unwrap();
    let gid = circle.id();
    rt.block_on(alice.relay.create_group(&gid)).unwrap();
    let out = circle.add(&pa, &alice.id, &[kp]).unwrap();
    let bundle = PostBundle {
        message_id: ByteBuf::from(vec![1; 16]),
        mls: ByteBuf::from(out.commit.clone()),
        welcomes: vec![WelcomeFor {
            account: bob.id.account_id(),
            mls: ByteBuf::from(out.welcome.clone().unwrap()),
        }],
        added: vec![bob.id.account_id()],
        removed: vec![],
    };
    let posted = rt.block_on(alice.relay.post(&gid, &bundle)).unwrap();
    circle.confirm(&pa).unwrap();

    // Bob finds the Welcome in his mailbox and joins.
    let mail = rt.block_on(bob.relay.mailbox()).unwrap();
    Circle::join(&Provider::new(bob.db.connection()), &mail[0].body).unwrap();
    rt.block_on(bob.relay.ack_mail(mail[0].id)).unwrap();
    bob.db.advance_circle_cursor(&gid, posted.seq).unwrap();

    // Alice writes a case and queues its share in one transaction.
    let title = "ZQX-MARKER annular plaque on the forearm";
    let case = alice
        .db
        .atomically(|db| {
            let case = db.create_case(
                CaseFields {
                    title: title.into(),
                    ..Default::default()
                },
                Timestamp(1),
            )?;
            let share = AppMessage::CaseShared(CaseShared {
                case_id: case.clone(),
                revision: 1,
                fields: db.case(&case)?.fields,
                attachments: vec![],
                shared_at: Timestamp(1),
            });
            db.mark_shared(&case, &gid)?;
            db.enqueue(&gid, [2; 16], &share.encode().unwrap(), Timestamp(1))?;
            Ok::<_, consilium_store::StoreError>(case)
        })
        .unwrap();

    let mut transport = RelayTransport::new(alice.relay.clone()).unwrap();
    let mut no_catch_up = |_: &[u8]| -> consilium_client::Result<()> { panic!("not stale") };
    let mut sealer = CircleSealer {
        conn: alice.db.connection(),
        identity: &alice.id,
        catch_up: &mut no_catch_up,
    };
    let report = deliver_due(
        &alice.db,
        &mut transport,
        &mut sealer,
        Timestamp(1),
        &mut || 0.5,
    )
    .unwrap();
    assert_eq!(report.delivered, 1);
    assert_eq!(alice.db.outbox_len().unwrap(), 0);

    // Bob fetches the log and applies it.
    let log = rt
        .block_on(
            bob.relay
                .fetch(&gid, bob.db.circle_cursor(&gid).unwrap(), 100),
        )
        .unwrap();
    let entries = log
        .into_iter()
        .map(|e| Entry {
            seq: e.seq,
            sender: e.sender,
            message_id: e.message_id.to_vec().try_into().unwrap(),
            mls: e.mls.into_vec(),
        })
        .collect();
    let mut applier = CircleApplier { now: Timestamp(2) };
    let r = apply_log(
        &mut bob.db,
        &mut applier,
        &gid,
        &bob.id.account_id(),
        entries,
        Timestamp(2),
    )
    .unwrap();
    assert_eq!(r.applied, 1);
    assert_eq!(bob.db.case(&case).unwrap().fields.title, title);
    assert_eq!(
        bob.db.case_origin(&case).unwrap(),
        Some((gid.clone(), alice.id.account_id()))
    );

    drop(server);
    let leaked = consilium_testkit::files_containing(dir.path(), b"ZQX-MARKER");
    assert!(leaked.is_empty(), "the case text is in {leaked:?}");
}
