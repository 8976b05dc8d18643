//! Several instances of the relay sharing one PostgreSQL database (behind a load balancer):
//! any instance answers any request, and the rules hold across them as they do in one.

use crate::configs::new_database;
use crate::races::race_commits_then_talk;
use crate::support::*;

/// Two instances, each with a data folder of its own, on the database `url`, configured
/// further by `tweak`; the folders live as long as the instances are used.
async fn two_instances(
    url: &str,
    tweak: impl Fn(&mut RelayConfig) + Clone + Send + 'static,
) -> (Relay, Relay, [tempfile::TempDir; 2]) {
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let mut started = Vec::new();
    for dir in &dirs {
        let (url, tweak) = (url.to_owned(), tweak.clone());
        started.push(
            start_with(dir.path(), move |c| {
                c.database = DatabaseLocation::Postgres(url);
                tweak(c);
            })
            .await,
        );
    }
    let (b, a) = (started.pop().unwrap(), started.pop().unwrap());
    (a, b, dirs)
}

/// Alice posts through one instance and Bob through the other, each a commit for the same
/// epoch, 100 times: exactly one of each pair is taken, the other is told `stale_epoch` with
/// the epoch the winner made, and the log holds one entry per round, none twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn commit_races_sent_to_two_instances_never_fork_a_circle() {
    let (_server, url) = new_database();
    let (a, b, _dirs) = two_instances(&url, |_| {}).await;
    let (alice_acc, alice, mut ga, mut bob_acc, bob, mut gb, gid) = circle_of_two(&a).await;
    bob_acc.base = b.base.clone();
    // The add, then one commit per round: one log, read the same through either instance.
    race_commits_then_talk(
        (&alice_acc, &alice, &mut ga),
        (&bob_acc, &bob, &mut gb),
        &gid,
        100,
    )
    .await;
    let path = format!("/v1/groups/{gid}/messages?after=0&limit=102");
    let through_a: Vec<LogEntry> = alice_acc.ok("GET", &path, vec![]).await;
    let through_b: Vec<LogEntry> = bob_acc.ok("GET", &path, vec![]).await;
    let seqs: Vec<u64> = through_a.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=102).collect::<Vec<_>>(),
        "the add, 100 commits, one message"
    );
    assert_eq!(
        through_a.iter().map(|e| &e.mls).collect::<Vec<_>>(),
        through_b.iter().map(|e| &e.mls).collect::<Vec<_>>()
    );
    a.stop().await;
    b.stop().await;
}

/// A signed request is accepted once, whichever instance it reaches first: replayed to the
/// other, it is refused (the nonces are in the shared database).
#[tokio::test]
async fn a_request_replayed_to_another_instance_is_refused() {
    let (_server, url) = new_database();
    // Both behind one public address, as behind a load balancer.
    const ORIGIN: &str = "http://relay.example.test";
    let (a, b, _dirs) = two_instances(&url, |c| c.origins = vec![ORIGIN.into()]).await;
    let acc = Account::at(ORIGIN);
    let (nonce, ts) = (Account::nonce(), now_ms());
    let send = |to: &str| {
        acc.request_to(to, "GET", "/v1/mailbox", vec![], ts, &nonce)
            .send()
    };
    assert_eq!(send(&a.base).await.unwrap().status().as_u16(), 200);
    let replay = send(&b.base).await.unwrap();
    assert_eq!(
        replay.status().as_u16(),
        401,
        "a replay through the other instance"
    );
    let err: RelayErrorBody = serde_json::from_slice(&replay.bytes().await.unwrap()).unwrap();
    assert_eq!(err.code, "replayed");
    a.stop().await;
    b.stop().await;
}

/// Both engines hold the same tables and columns: a change to one schema without the other
/// fails here.
#[test]
fn postgresql_and_sqlite_hold_the_same_tables_and_columns() {
    let (_server, url) = new_database();
    let dir = tempfile::tempdir().unwrap();
    drop(consilium_relay::store::Store::open(dir.path()).unwrap());
    drop(
        consilium_relay::store::Store::open_in(
            dir.path(),
            &DatabaseLocation::Postgres(url.clone()),
            &consilium_relay::store::BlobLocation::Folder,
        )
        .unwrap(),
    );
    let sqlite = rusqlite::Connection::open(dir.path().join("relay.db")).unwrap();
    let mut stmt = sqlite
        .prepare(
            "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY 1, 2",
        )
        .unwrap();
    let in_sqlite: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let in_postgres: Vec<(String, String)> = std::thread::spawn(move || {
        let mut pg = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        pg.query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name NOT IN ('schema_version', 'wakeups')
             ORDER BY 1, 2",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
    })
    .join()
    .unwrap();
    assert!(in_sqlite.len() > 40, "{in_sqlite:?}");
    assert_eq!(in_sqlite, in_postgres);
}

/// Bob's push socket is on one instance; Alice posts through the other: Bob is told, by the
/// other instance's wake-up (its fallback read comes only every 10 s, after this test's wait).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_is_pushed_a_message_posted_through_another_instance() {
    let (_server, url) = new_database();
    let (a, b, _dirs) = two_instances(&url, |_| {}).await;
    let (alice_acc, alice, mut ga, mut bob_acc, _bob, _gb, gid) = circle_of_two(&a).await;
    bob_acc.base = b.base.clone();
    let on_b = format!("{}/v1/ws", b.base.replace("http://", "ws://"));
    let mut ws = push_connect(&on_b, &bob_acc, &bob_acc)
        .await
        .expect("bob subscribes on instance B");
    let m = ga
        .create_message(&alice.provider, &alice.signer, b"ping")
        .unwrap();
    let posted: Posted = alice_acc
        .ok(
            "POST",
            &format!("/v1/groups/{gid}/messages"),
            to_cbor(&bundle(bytes(&m))).unwrap(),
        )
        .await;
    assert_eq!(
        next_push(&mut ws).await,
        Push::Group {
            group_id: gid.clone(),
            seq: posted.seq
        }
    );
    a.stop().await;
    b.stop().await;
}

/// An account the operator's code admitted through one instance is admitted by the other at
/// once (each keeps its admitted accounts in memory, kept current by wake-ups).
#[tokio::test]
async fn an_account_admitted_through_one_instance_is_admitted_by_the_other() {
    let (_server, url) = new_database();
    let invite = |c: &mut RelayConfig| c.admission = consilium_relay::Admission::Invite;
    let (a, b, dirs) = two_instances(&url, invite).await;
    let code = consilium_relay::new_enrolment_code(
        dirs[0].path(),
        &DatabaseLocation::Postgres(url.clone()),
        now_ms(),
    )
    .unwrap();
    let mut acc = Account::at(&a.base);
    let (status, _) = acc
        .send(
            "POST",
            "/v1/accounts/enrol",
            to_cbor(&Enrolment { code }).unwrap(),
        )
        .await;
    assert_eq!(status, 204);
    acc.base = b.base.clone();
    let mut answered = 0;
    for _ in 0..50 {
        answered = acc.send("GET", "/v1/mailbox", vec![]).await.0;
        if answered == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        answered, 200,
        "instance B still refuses the enrolled account"
    );
    a.stop().await;
    b.stop().await;
}

/// An account's requests spread over two instances, each counting them alone: with the rate
/// divided among the instances (`--instances 2`), the account gets about the relay's burst in
/// all, not twice it.
#[tokio::test]
async fn the_rate_limit_is_shared_among_instances() {
    let (_server, url) = new_database();
    // Several instances run on a shared database and bucket only.
    let s3 = consilium_testkit::services::S3Server::start();
    let bucket = crate::bucket::bucket_of(&s3, "rates");
    const ORIGIN: &str = "http://relay.example.test";
    let (a, b, _dirs) = two_instances(&url, move |c| {
        c.origins = vec![ORIGIN.into()];
        c.rate_burst = 20;
        c.rate_per_second = 1;
        c.instances = 2;
        c.blobs = bucket.clone();
    })
    .await;
    let acc = Account::at(ORIGIN);
    let mut accepted = 0;
    for i in 0..60 {
        let to = if i % 2 == 0 { &a.base } else { &b.base };
        let r = acc
            .request_to(
                to,
                "GET",
                "/v1/mailbox",
                vec![],
                now_ms(),
                &Account::nonce(),
            )
            .send()
            .await
            .unwrap();
        match r.status().as_u16() {
            200 => accepted += 1,
            429 => {}
            other => panic!("{other}"),
        }
    }
    assert!(
        (18..=24).contains(&accepted),
        "{accepted} requests accepted for a burst of 20 over two instances"
    );
    a.stop().await;
    b.stop().await;
}

/// `--instances` above one with records or blobs in the data folder is refused at start: a
/// folder is one machine's alone.
#[tokio::test]
async fn several_instances_on_a_data_folder_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start_with(dir.path(), |c| {
        c.database = DatabaseLocation::DataFolder;
        c.instances = 2;
    })
    .await;
    let stopped = relay.task.await.unwrap();
    let err = stopped.expect_err("refused");
    assert!(
        err.to_string().contains("shared database and bucket"),
        "{err}"
    );
}

/// One account uploads ten blobs at once through two instances, more than its quota holds:
/// the quota is counted in the database, so the blobs taken fit in it whichever instance took
/// them (each instance's own count would take twice as many).
#[tokio::test(flavor = "multi_thread")]
async fn a_quota_holds_across_instances() {
    let (_server, url) = new_database();
    const ORIGIN: &str = "http://relay.example.test";
    let (a, b, _dirs) = two_instances(&url, |c| {
        c.origins = vec![ORIGIN.into()];
        c.blob_quota_bytes = 1000;
    })
    .await;
    let (alice, _am, _ga, _bob, _bm, _gb, gid) = circle_of_two_at(&a.base).await;
    let alice = Account {
        base: ORIGIN.into(),
        ..alice
    };
    let uploads = (0..10u8).map(|n| {
        let (alice, gid) = (&alice, &gid);
        let to = if n % 2 == 0 {
            a.base.clone()
        } else {
            b.base.clone()
        };
        async move {
            let blob = vec![n; 300];
            let id = hex::encode(ring::digest::digest(&ring::digest::SHA256, &blob));
            let path = format!("/v1/groups/{gid}/blobs/{id}");
            let r = alice
                .request_to(&to, "PUT", &path, blob, now_ms(), &Account::nonce())
                .send()
                .await
                .unwrap();
            status_and_code(r).await
        }
    });
    let answers = futures_util::future::join_all(uploads).await;
    let taken = answers.iter().filter(|(s, _)| *s == 201).count();
    for (status, code) in &answers {
        assert!(
            *status == 201 || code == "quota_exceeded" || code == "busy",
            "{status} {code}"
        );
    }
    assert!(
        (1..=3).contains(&taken),
        "{taken} blobs of 300 bytes taken for a quota of 1000: {answers:?}"
    );
    a.stop().await;
    b.stop().await;
}
