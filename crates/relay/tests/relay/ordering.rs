//! The ordering rule: one commit per epoch, stale posts refused, half-valid bundles refused whole.

use crate::races::race_commits_then_talk;
use crate::support::*;

#[tokio::test]
async fn health_answers_without_authentication() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let r = reqwest::get(format!("{}/v1/health", relay.base))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commits_for_one_epoch_never_fork_the_group_100_times() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (alice_acc, alice, mut ga, bob_acc, bob, mut gb, gid) = circle_of_two(&relay).await;
    let alice = (&alice_acc, &alice, &mut ga);
    race_commits_then_talk(alice, (&bob_acc, &bob, &mut gb), &gid, 100).await;
    relay.stop().await;
}

#[tokio::test]
async fn stale_messages_half_valid_bundles_and_refused_welcomes() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (alice_acc, alice, mut ga, bob_acc, bob, mut gb, gid) = circle_of_two(&relay).await;
    let path = format!("/v1/groups/{gid}/messages");
    // Bob writes a message at epoch 1, then Alice's commit moves the group to epoch 2.
    let old = gb
        .create_message(&bob.provider, &bob.signer, b"late")
        .unwrap();
    let c = ga
        .self_update(
            &alice.provider,
            &alice.signer,
            LeafNodeParameters::default(),
        )
        .unwrap();
    let _: Posted = alice_acc
        .ok("POST", &path, to_cbor(&bundle(bytes(c.commit()))).unwrap())
        .await;
    ga.merge_pending_commit(&alice.provider).unwrap();
    let (status, body) = bob_acc
        .send("POST", &path, to_cbor(&bundle(bytes(&old))).unwrap())
        .await;
    assert_eq!((status, error_code(&body).as_str()), (409, "stale_epoch"));

    // Bob's commit for the old epoch adds Carol: refused, and her Welcome is never delivered.
    let carol_acc = Account::new(&relay);
    let carol = carol_acc.member();
    let (commit, welcome, _) = gb
        .add_members(&bob.provider, &bob.signer, &[key_package(&carol)])
        .unwrap();
    let mut b = bundle(bytes(&commit));
    b.welcomes.push(WelcomeFor {
        account: carol_acc.id(),
        mls: ByteBuf::from(bytes(&welcome)),
    });
    let (status, _) = bob_acc.send("POST", &path, to_cbor(&b).unwrap()).await;
    assert_eq!(status, 409);
    let mail: Vec<MailboxItem> = carol_acc.ok("GET", "/v1/mailbox", vec![]).await;
    assert!(mail.is_empty(), "Welcome of a refused commit delivered");
    gb.clear_pending_commit(bob.provider.storage()).unwrap();
    apply_commit(&bob, &mut gb, &bytes(c.commit()));

    // A valid commit with a garbage Welcome: refused whole, the epoch does not move.
    let (commit, _, _) = ga
        .add_members(&alice.provider, &alice.signer, &[key_package(&carol)])
        .unwrap();
    let mut b = bundle(bytes(&commit));
    b.welcomes.push(WelcomeFor {
        account: carol_acc.id(),
        mls: ByteBuf::from(vec![0u8; 40]),
    });
    let (status, body) = alice_acc.send("POST", &path, to_cbor(&b).unwrap()).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "invalid_message")
    );
    // The same commit without the bad part is still for the current epoch: nothing moved.
    let b2 = PostBundle {
        welcomes: vec![],
        ..b
    };
    let posted: Posted = alice_acc.ok("POST", &path, to_cbor(&b2).unwrap()).await;
    assert_eq!(posted.epoch, 3);
    // A retry of the same message id returns the first answer and stores nothing new.
    let again: Posted = alice_acc.ok("POST", &path, to_cbor(&b2).unwrap()).await;
    assert_eq!(again, posted);
    let log: Vec<LogEntry> = alice_acc.ok("GET", &path, vec![]).await;
    assert_eq!(log.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    relay.stop().await;
}

/// Large messages in a row (each well within the post limit) are read back in pages a client
/// can decode: every answer stays within the 4 MiB a client accepts, and paging reads them all.
#[tokio::test]
async fn a_log_page_stays_within_what_a_client_decodes() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (alice_acc, alice, mut ga, bob_acc, _bob, _gb, gid) = circle_of_two(&relay).await;
    let path = format!("/v1/groups/{gid}/messages");
    let payload = vec![0x42u8; 900 * 1024];
    for _ in 0..6 {
        let msg = ga
            .create_message(&alice.provider, &alice.signer, &payload)
            .unwrap();
        let (status, body) = alice_acc
            .send("POST", &path, to_cbor(&bundle(bytes(&msg))).unwrap())
            .await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    }
    let mut read = Vec::new();
    loop {
        let after = read.last().map(|e: &LogEntry| e.seq).unwrap_or(0);
        let (status, body) = bob_acc
            .send("GET", &format!("{path}?after={after}"), vec![])
            .await;
        assert_eq!(status, 200);
        assert!(
            body.len() <= consilium_model::codec::MAX_DOCUMENT_BYTES,
            "a page of {} bytes is past what a client decodes",
            body.len()
        );
        let page: Vec<LogEntry> = from_cbor(&body).unwrap();
        if page.is_empty() {
            break;
        }
        read.extend(page);
    }
    assert_eq!(
        read.len(),
        7,
        "paging reads the commit that added Bob and the six messages"
    );
    relay.stop().await;
}

/// One MLS message larger than a log page could carry is refused when it is posted.
#[tokio::test]
async fn an_mls_message_too_large_for_a_log_page_is_refused() {
    let (_dir, relay, alice_acc, gid) = alice_in_a_circle().await;
    let mut b = bundle(vec![0u8; 1024 * 1024 + 1]);
    b.message_id = message_id();
    let (status, body) = alice_acc
        .send(
            "POST",
            &format!("/v1/groups/{gid}/messages"),
            to_cbor(&b).unwrap(),
        )
        .await;
    assert_eq!((status, error_code(&body).as_str()), (413, "too_large"));
    relay.stop().await;
}
