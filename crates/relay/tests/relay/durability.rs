//! What the relay acknowledged survives a restart and a SIGKILL, and nothing on disk is plaintext.

use crate::support::*;
use crate::uploads::{broken_off_upload, forged_upload};

#[tokio::test]
async fn everything_acknowledged_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (alice_acc, alice, mut ga, _bob_acc, _bob, _gb, gid) = circle_of_two(&relay).await;
    let path = format!("/v1/groups/{gid}/messages");
    for i in 0..20 {
        let m = ga
            .create_message(
                &alice.provider,
                &alice.signer,
                format!("message {i}").as_bytes(),
            )
            .unwrap();
        let _: Posted = alice_acc
            .ok("POST", &path, to_cbor(&bundle(bytes(&m))).unwrap())
            .await;
    }
    relay.stop().await;
    let relay = start(dir.path()).await;
    let alice_acc = Account {
        base: relay.base.clone(),
        ..alice_acc
    };
    let log: Vec<LogEntry> = alice_acc.ok("GET", &path, vec![]).await;
    assert_eq!(
        log.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=21).collect::<Vec<_>>()
    );
    relay.stop().await;
}

/// SIGKILL during a burst of posts from several clients: after a restart every acknowledged
/// message is there exactly once, at the sequence number it was given, with no gaps; the posts
/// that were never acknowledged are retried (same message ids) and each is stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_burst_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = spawn_relay(dir.path());
    let (alice_acc, alice, mut ga, bob_acc, bob, mut gb, gid) = circle_of_two_at(&relay.base).await;
    let path = format!("/v1/groups/{gid}/messages");
    // Four senders' worth of application messages, made before the burst.
    let mut batches: Vec<(bool, Vec<PostBundle>)> = Vec::new();
    for sender in 0..4 {
        let is_alice = sender % 2 == 0;
        let msgs = (0..150)
            .map(|i| {
                let text = format!("sender {sender} message {i}");
                let m = if is_alice {
                    ga.create_message(&alice.provider, &alice.signer, text.as_bytes())
                        .unwrap()
                } else {
                    gb.create_message(&bob.provider, &bob.signer, text.as_bytes())
                        .unwrap()
                };
                bundle(bytes(&m))
            })
            .collect();
        batches.push((is_alice, msgs));
    }
    let alice_acc = Arc::new(alice_acc);
    let bob_acc = Arc::new(bob_acc);
    let acked = Arc::new(std::sync::Mutex::new(Vec::<(Vec<u8>, u64)>::new()));
    let mut tasks = Vec::new();
    for (is_alice, msgs) in batches.clone() {
        let acc = if is_alice {
            alice_acc.clone()
        } else {
            bob_acc.clone()
        };
        let (acked, path) = (acked.clone(), path.clone());
        tasks.push(tokio::spawn(async move {
            for b in msgs {
                let sent = tokio::time::timeout(
                    std::time::Duration::from_secs(5),
                    acc.send("POST", &path, to_cbor(&b).unwrap()),
                );
                match sent.await {
                    Ok((200, body)) => {
                        let p: Posted = from_cbor(body.as_slice()).unwrap();
                        acked.lock().unwrap().push((b.message_id.to_vec(), p.seq));
                    }
                    _ => break,
                }
            }
        }));
    }
    // Kill once a good part of the burst is acknowledged and the rest is in flight.
    while acked.lock().unwrap().len() < 200 {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    relay.child.kill().unwrap(); // SIGKILL
    relay.child.wait().unwrap();
    for t in tasks {
        let _ = t.await;
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 10,
        "the kill must land during the burst ({} acknowledged)",
        acked.len()
    );
    assert!(acked.len() < 600, "the kill must land during the burst");

    let relay = spawn_relay(dir.path());
    let alice_acc = Account {
        base: relay.base.clone(),
        ..Arc::try_unwrap(alice_acc).ok().unwrap()
    };
    let bob_acc = Account {
        base: relay.base.clone(),
        ..Arc::try_unwrap(bob_acc).ok().unwrap()
    };
    let log = read_log(&alice_acc, &path).await;
    let seqs: Vec<u64> = log.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=log.len() as u64).collect::<Vec<_>>(),
        "no gaps, no duplicates"
    );
    for (id, seq) in &acked {
        let found: Vec<_> = log
            .iter()
            .filter(|e| e.message_id.as_slice() == id.as_slice())
            .collect();
        assert_eq!(found.len(), 1, "acknowledged message stored once");
        assert_eq!(found[0].seq, *seq, "at the sequence number it was given");
    }
    // Retry everything (as clients with an outbox would): each message ends up stored once.
    for (is_alice, msgs) in &batches {
        let acc = if *is_alice { &alice_acc } else { &bob_acc };
        for b in msgs {
            let _: Posted = acc.ok("POST", &path, to_cbor(b).unwrap()).await;
        }
    }
    let log = read_log(&bob_acc, &path).await;
    assert_eq!(
        log.len(),
        1 + 4 * 150,
        "the add commit and every message, once each"
    );
    let ids: std::collections::HashSet<_> = log.iter().map(|e| e.message_id.to_vec()).collect();
    assert_eq!(ids.len(), log.len());
    let mut relay = relay;
    relay.child.kill().unwrap();
    relay.child.wait().unwrap();
}

/// The data directory, after real MLS traffic and an encrypted blob, holds none of the
/// plaintext (the clients never sent any; the relay must not have made any up either).
#[tokio::test]
async fn the_data_directory_holds_no_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (alice_acc, alice, mut ga, _bob_acc, _bob, _gb, gid) = circle_of_two(&relay).await;
    let secret = "Patient ZQX-MARKER-93 has erythema migrans";
    for _ in 0..5 {
        let m = ga
            .create_message(&alice.provider, &alice.signer, secret.as_bytes())
            .unwrap();
        let _: Posted = alice_acc
            .ok(
                "POST",
                &format!("/v1/groups/{gid}/messages"),
                to_cbor(&bundle(bytes(&m))).unwrap(),
            )
            .await;
    }
    relay.stop().await;
    let leaked = consilium_testkit::files_containing(dir.path(), b"ZQX-MARKER");
    assert!(leaked.is_empty(), "plaintext in {leaked:?}");
    // What it holds is the operator's alone: the folder and every file in it.
    #[cfg(unix)]
    for file in consilium_testkit::files_under(dir.path())
        .iter()
        .chain([&dir.path().to_path_buf(), &dir.path().join("blobs")])
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o077,
            0,
            "{} is open to others ({mode:o})",
            file.display()
        );
    }
}

/// On the relay's disk a blob is streamed to a file of its own and renamed into place only
/// once its bytes are what its id says: bytes signed for one blob and differing at their end,
/// or an upload that breaks off, leave no file behind, whole or partial.
#[tokio::test]
async fn a_forged_or_broken_off_upload_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (alice, _a, _ga, _bob, _b, _gb, gid) = circle_of_two(&relay).await;
    let honest: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 253) as u8).collect();
    let id = hex::encode(ring::digest::digest(&ring::digest::SHA256, &honest));
    let path = format!("/v1/groups/{gid}/blobs/{id}");
    let files = || {
        std::fs::read_dir(dir.path().join("blobs"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    assert_eq!(
        forged_upload(&alice, &path, &honest).await,
        (400, "digest_mismatch".into())
    );
    assert_eq!(files(), 0, "nothing of the forged bytes stays");
    assert!(!broken_off_upload(&alice, &path, &honest, 2 * 1024 * 1024).await);
    let started = std::time::Instant::now();
    while files() > 0 && started.elapsed() < std::time::Duration::from_secs(10) {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(files(), 0, "nothing of the broken-off upload stays");

    let (status, _) = alice.send("PUT", &path, honest).await;
    assert_eq!(status, 201);
    assert_eq!(files(), 1);
    relay.stop().await;
}
