//! A relay moved out of its data folder (SQLite, blobs on disk) into PostgreSQL and a bucket by
//! `consilium-relay migrate`, run as the operator runs it: the members then go on as if nothing
//! happened (the same log, cursors, mailbox items, key packages, invitations, nonces and
//! blobs), and a database that already holds a relay is refused.

use consilium_testkit::services::S3Server;
use futures_util::StreamExt;

use crate::bucket::bucket_of;
use crate::configs::new_database;
use crate::support::*;

/// `consilium-relay migrate …` as a process, with the bucket's server in its environment;
/// whether it succeeded, and what it printed.
fn migrate(args: &[&str], s3: &S3Server) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_consilium-relay"))
        .arg("migrate")
        .args(args)
        .envs(s3.env())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), printed)
}

fn rebased(acc: Account, base: &str) -> Account {
    Account {
        base: base.to_owned(),
        ..acc
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_relay_of_10000_messages_and_100_blobs_moves_and_its_members_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let s3 = S3Server::start();
    let (_server, url) = new_database();
    // The relay before: SQLite and blobs in its folder, whatever the suite runs on.
    let folder_only = |c: &mut RelayConfig| {
        c.database = DatabaseLocation::DataFolder;
        c.rate_burst = 100_000;
        c.rate_per_second = 100_000;
    };
    let relay = start_with(dir.path(), folder_only).await;
    let address = relay.base.trim_start_matches("http://").to_owned();
    let (alice_acc, alice, mut ga, bob_acc, bob, mut gb, gid) = circle_of_two(&relay).await;
    let log_path = format!("/v1/groups/{gid}/messages");

    // 10 000 messages, posted 16 at a time.
    let messages: Vec<Vec<u8>> = (0..10_000)
        .map(|i| {
            let m = ga
                .create_message(
                    &alice.provider,
                    &alice.signer,
                    format!("case note {i}").as_bytes(),
                )
                .unwrap();
            bytes(&m)
        })
        .collect();
    futures_util::stream::iter(messages)
        .map(|m| {
            let (acc, path) = (&alice_acc, &log_path);
            async move {
                let _: Posted = acc.ok("POST", path, to_cbor(&bundle(m)).unwrap()).await;
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    // 100 blobs of 1 to 100 KiB.
    let blobs: Vec<Vec<u8>> = (0..100u32)
        .map(|n| (0..1024 * (n + 1)).map(|i| (i * 7 + n) as u8).collect())
        .collect();
    let sha = |b: &[u8]| hex::encode(ring::digest::digest(&ring::digest::SHA256, b));
    for blob in &blobs {
        let (status, _) = alice_acc
            .send(
                "PUT",
                &format!("/v1/groups/{gid}/blobs/{}", sha(blob)),
                blob.clone(),
            )
            .await;
        assert_eq!(status, 201);
    }
    // Bob has read up to 5 000; Carol's Welcome waits in her mailbox; Dave asked to join
    // another circle of Alice's and left key packages; a request of Bob's was seen.
    let (status, _) = bob_acc
        .send(
            "PUT",
            &format!("/v1/groups/{gid}/cursor"),
            br#"{"seq": 5000}"#.to_vec(),
        )
        .await;
    assert!(status < 300, "{status}");
    let (carol_acc, dave_acc) = (Account::at(&relay.base), Account::at(&relay.base));
    let carol = carol_acc.member();
    let added = add_with_welcome(&alice_acc, &alice, &mut ga, &gid, &carol, &carol_acc).await;
    ga.merge_pending_commit(&alice.provider).unwrap();
    let dave_gid = owner_asks_to_join(&alice_acc, &dave_acc).await;
    let dm = dave_acc.member();
    let upload = KeyPackageUpload {
        packages: (0..3)
            .map(|_| KeyPackageItem {
                mls: ByteBuf::from(
                    MlsMessageOut::from(key_package(&dm))
                        .tls_serialize_detached()
                        .unwrap(),
                ),
                last_resort: false,
                expires_at: now_ms() + 3_600_000,
            })
            .collect(),
    };
    let (status, _) = dave_acc
        .send("PUT", "/v1/key-packages", to_cbor(&upload).unwrap())
        .await;
    assert!(status < 300, "{status}");
    let (ts, nonce) = (now_ms(), Account::nonce());
    let seen = bob_acc
        .request("GET", "/v1/mailbox", vec![], ts, &nonce)
        .send()
        .await
        .unwrap();
    assert_eq!(seen.status(), 200);
    // The newest mailbox item (Dave's join request) is acknowledged, so deleted: its number
    // must not be given again after the move.
    let mail: Vec<MailboxItem> = alice_acc.ok("GET", "/v1/mailbox", vec![]).await;
    let newest = mail.iter().map(|m| m.id).max().unwrap();
    let (status, _) = alice_acc
        .send("DELETE", &format!("/v1/mailbox/{newest}"), vec![])
        .await;
    assert_eq!(status, 204);
    let before = read_log(&alice_acc, &log_path).await;
    assert_eq!(before.len(), 1 + 10_000 + 1);
    let carol_mail: Vec<MailboxItem> = carol_acc.ok("GET", "/v1/mailbox", vec![]).await;
    let alice_mail: Vec<MailboxItem> = alice_acc.ok("GET", "/v1/mailbox", vec![]).await;
    relay.stop().await;

    // While something still writes to the folder's database (a relay left running), the move
    // is refused rather than miss what it acknowledges.
    let from = dir.path().to_str().unwrap();
    {
        let writer = rusqlite::Connection::open(dir.path().join("relay.db")).unwrap();
        writer.execute_batch("BEGIN IMMEDIATE").unwrap();
        let (ok, printed) = migrate(&["--from", from, "--to", &url], &s3);
        assert!(!ok && printed.contains("stop the relay"), "{printed}");
    }

    // The move, as the operator types it.
    let (ok, printed) = migrate(
        &[
            "--from",
            from,
            "--to",
            &url,
            "--blobs",
            &format!("s3://{}/moved", s3.bucket),
        ],
        &s3,
    );
    assert!(ok, "{printed}");
    assert!(printed.contains("messages: 10002 rows"), "{printed}");
    assert!(
        printed.contains("blobs: 100 copied into the bucket"),
        "{printed}"
    );
    // Again into the same database: refused, nothing touched.
    let (ok, printed) = migrate(&["--from", from, "--to", &url], &s3);
    assert!(
        !ok && printed.contains("already holds a relay's data"),
        "{printed}"
    );

    // The relay after, on the same address: PostgreSQL and the bucket.
    let moved_url = url.clone();
    let moved_blobs = bucket_of(&s3, "moved");
    let relay = start_at(&address, dir.path(), move |c| {
        c.database = DatabaseLocation::Postgres(moved_url);
        c.blobs = moved_blobs;
    })
    .await;
    let base = relay.base.clone();
    let (alice_acc, bob_acc, carol_acc, dave_acc) = (
        rebased(alice_acc, &base),
        rebased(bob_acc, &base),
        rebased(carol_acc, &base),
        rebased(dave_acc, &base),
    );
    // The same log, entry for entry; the same mailboxes.
    assert!(
        read_log(&bob_acc, &log_path).await == before,
        "the log moved whole"
    );
    let mail: Vec<MailboxItem> = carol_acc.ok("GET", "/v1/mailbox", vec![]).await;
    assert_eq!(mail, carol_mail);
    let mail: Vec<MailboxItem> = alice_acc.ok("GET", "/v1/mailbox", vec![]).await;
    assert_eq!(mail, alice_mail);
    // Every blob, read back whole from the bucket.
    for blob in &blobs {
        let (status, got) = bob_acc
            .send("GET", &format!("/v1/blobs/{}", sha(blob)), vec![])
            .await;
        assert!(
            status == 200 && got == *blob,
            "blob of {} bytes",
            blob.len()
        );
    }
    // The request seen before the move is still refused as a replay.
    let replayed = bob_acc
        .request("GET", "/v1/mailbox", vec![], ts, &nonce)
        .send()
        .await
        .unwrap();
    assert_eq!(status_and_code(replayed).await.1, "replayed");
    // Carol joins from her Welcome; Bob takes the commit that added her from the log.
    let mut gc = join(&carol, &carol_mail[0].body);
    let (status, _) = carol_acc
        .send(
            "DELETE",
            &format!("/v1/mailbox/{}", carol_mail[0].id),
            vec![],
        )
        .await;
    assert_eq!(status, 204);
    let commit = before.iter().find(|e| e.seq == added.seq).unwrap();
    apply_commit(&bob, &mut gb, &commit.mls);
    // The circle goes on: a commit at the epoch the public state moved with, then a message
    // every member opens.
    let update = ga
        .self_update(
            &alice.provider,
            &alice.signer,
            LeafNodeParameters::default(),
        )
        .unwrap();
    let commit = update.commit().clone();
    let posted: Posted = alice_acc
        .ok("POST", &log_path, to_cbor(&bundle(bytes(&commit))).unwrap())
        .await;
    assert_eq!(posted.seq, added.seq + 1);
    ga.merge_pending_commit(&alice.provider).unwrap();
    apply_commit(&bob, &mut gb, &bytes(&commit));
    apply_commit(&carol, &mut gc, &bytes(&commit));
    let after = ga
        .create_message(&alice.provider, &alice.signer, b"after the move")
        .unwrap();
    let posted: Posted = alice_acc
        .ok("POST", &log_path, to_cbor(&bundle(bytes(&after))).unwrap())
        .await;
    for (m, g) in [(&bob, &mut gb), (&carol, &mut gc)] {
        assert_eq!(open_application(m, g, &bytes(&after)), b"after the move");
    }
    assert_eq!(posted.seq, added.seq + 2);
    // Dave's key packages are there for the circle he asked into; a new mailbox item is
    // numbered after the moved ones.
    let (status, _) = alice_acc
        .send(
            "POST",
            &format!(
                "/v1/accounts/{}/key-packages/claim?group={dave_gid}",
                dave_acc.id()
            ),
            vec![],
        )
        .await;
    assert_eq!(status, 200);
    let erin_acc = Account::at(&base);
    let erin = erin_acc.member();
    add_with_welcome(&alice_acc, &alice, &mut ga, &gid, &erin, &erin_acc).await;
    let mail: Vec<MailboxItem> = erin_acc.ok("GET", "/v1/mailbox", vec![]).await;
    assert!(
        mail.len() == 1 && mail[0].id > newest && mail[0].id > carol_mail[0].id,
        "new items numbered after the moved ones: {:?}",
        mail.iter().map(|m| m.id).collect::<Vec<_>>()
    );
    relay.stop().await;
}
