//! Authentication: unsigned, forged, moved, expired and replayed requests, and what a non-member can reach.

use crate::support::*;

#[tokio::test]
async fn auth_an_unsigned_request_is_refused() {
    let (_dir, relay, _alice, gid) = alice_in_a_circle().await;
    let r = reqwest::get(format!("{}/v1/groups/{gid}/messages", relay.base))
        .await
        .unwrap();
    assert_eq!(
        status_and_code(r).await,
        (401, "unauthenticated".to_string())
    );
    relay.stop().await;
}

#[tokio::test]
async fn auth_a_request_signed_by_another_key_is_refused() {
    let (_dir, relay, alice, gid) = alice_in_a_circle().await;
    let mallory = Account::new(&relay);
    let path = format!("/v1/groups/{gid}/messages");
    let (status, code) = forged_get(&relay.base, &path, &alice, &mallory, &path).await;
    assert_eq!((status, code.as_str()), (401, "bad_signature"));
    relay.stop().await;
}

#[tokio::test]
async fn auth_a_signature_moved_to_another_route_is_refused() {
    let (_dir, relay, alice, gid) = alice_in_a_circle().await;
    let path = format!("/v1/groups/{gid}/messages");
    let (status, code) = forged_get(&relay.base, &path, &alice, &alice, "/v1/mailbox").await;
    assert_eq!((status, code.as_str()), (401, "bad_signature"));
    relay.stop().await;
}

#[tokio::test]
async fn auth_an_expired_request_is_refused() {
    let (_dir, relay, alice, gid) = alice_in_a_circle().await;
    let path = format!("/v1/groups/{gid}/messages");
    let r = alice
        .request(
            "GET",
            &path,
            vec![],
            now_ms() - 10 * 60 * 1000,
            &Account::nonce(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(status_and_code(r).await, (401, "expired".to_string()));
    relay.stop().await;
}

#[tokio::test]
async fn auth_a_replayed_request_is_refused_even_after_a_restart() {
    let (dir, relay, alice, gid) = alice_in_a_circle().await;
    let path = format!("/v1/groups/{gid}/messages");
    let (nonce, ts) = (Account::nonce(), now_ms());
    let first = alice
        .request("GET", &path, vec![], ts, &nonce)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status().as_u16(), 200);
    let replay = alice
        .request("GET", &path, vec![], ts, &nonce)
        .send()
        .await
        .unwrap();
    assert_eq!(status_and_code(replay).await, (401, "replayed".to_string()));
    relay.stop().await;
    let relay = start(dir.path()).await;
    let alice = Account {
        base: relay.base.clone(),
        ..alice
    };
    let replay = alice
        .request("GET", &path, vec![], ts, &nonce)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status().as_u16(), 401);
    relay.stop().await;
}

#[tokio::test]
async fn auth_a_non_member_neither_reads_nor_posts_to_a_group() {
    let (_dir, relay, _alice, gid) = alice_in_a_circle().await;
    let mallory = Account::new(&relay);
    let path = format!("/v1/groups/{gid}/messages");
    let (status, body) = mallory.send("GET", &path, vec![]).await;
    assert_eq!((status, error_code(&body).as_str()), (403, "forbidden"));
    let m = member("mallory");
    let mut own = MlsGroup::new(
        &m.provider,
        &m.signer,
        &MlsGroupCreateConfig::default(),
        m.cwk.clone(),
    )
    .unwrap();
    let msg = own.create_message(&m.provider, &m.signer, b"spam").unwrap();
    let (status, _) = mallory
        .send("POST", &path, to_cbor(&bundle(bytes(&msg))).unwrap())
        .await;
    assert!(status == 400 || status == 403, "{status}");
    relay.stop().await;
}

#[tokio::test]
async fn auth_a_non_member_cannot_fetch_a_blob_nor_learn_it_exists() {
    let (_dir, relay, alice, gid) = alice_in_a_circle().await;
    let mallory = Account::new(&relay);
    let blob = b"ciphertext of an image".to_vec();
    let id = hex::encode(ring::digest::digest(&ring::digest::SHA256, &blob));
    let (status, _) = alice
        .send("PUT", &format!("/v1/groups/{gid}/blobs/{id}"), blob.clone())
        .await;
    assert_eq!(status, 201);
    let (status, got) = alice.send("GET", &format!("/v1/blobs/{id}"), vec![]).await;
    assert_eq!((status, got), (200, blob));
    let (status, body) = mallory
        .send("GET", &format!("/v1/blobs/{id}"), vec![])
        .await;
    assert_eq!((status, error_code(&body).as_str()), (404, "not_found"));
    let (status, body) = alice
        .send(
            "PUT",
            &format!("/v1/groups/{gid}/blobs/{id}"),
            b"other bytes".to_vec(),
        )
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "digest_mismatch")
    );
    relay.stop().await;
}

#[tokio::test]
async fn auth_another_accounts_mailbox_is_out_of_reach() {
    let (_dir, relay, alice, _gid) = alice_in_a_circle().await;
    let (joiner, mallory) = (Account::new(&relay), Account::new(&relay));
    // A join request lands in Alice's mailbox.
    owner_asks_to_join(&alice, &joiner).await;
    let items: Vec<MailboxItem> = alice.ok("GET", "/v1/mailbox", vec![]).await;
    assert_eq!(items.len(), 1);
    // Mallory sees none of it and cannot remove it; the answer does not say it exists.
    let mine: Vec<MailboxItem> = mallory.ok("GET", "/v1/mailbox", vec![]).await;
    assert!(mine.is_empty());
    let (status, body) = mallory
        .send("DELETE", &format!("/v1/mailbox/{}", items[0].id), vec![])
        .await;
    assert_eq!((status, error_code(&body).as_str()), (404, "not_found"));
    let (status, _) = mallory.send("DELETE", "/v1/mailbox/999999", vec![]).await;
    assert_eq!(status, 404, "same answer for an item that does not exist");
    let still: Vec<MailboxItem> = alice.ok("GET", "/v1/mailbox", vec![]).await;
    assert_eq!(still, items);
    relay.stop().await;
}

/// A request signed for one relay, replayed to another within the signature window: the signed
/// bytes name the relay, so the second refuses it.
#[tokio::test]
async fn auth_a_request_signed_for_another_relay_is_refused() {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (start(dir_a.path()).await, start(dir_b.path()).await);
    let alice = Account::new(&a);
    let signed = alice
        .request("GET", "/v1/mailbox", vec![], now_ms(), &Account::nonce())
        .build()
        .unwrap();
    let mut replayed = signed.try_clone().unwrap();
    *replayed.url_mut() = format!("{}/v1/mailbox", b.base).parse().unwrap();
    let at_a = alice.http.execute(signed).await.unwrap();
    assert_eq!(
        at_a.status().as_u16(),
        200,
        "the relay it was signed for takes it"
    );
    let at_b = alice.http.execute(replayed).await.unwrap();
    assert_eq!(
        status_and_code(at_b).await,
        (401, "bad_signature".to_string())
    );
    a.stop().await;
    b.stop().await;
}

/// A signed request whose timestamp is as far from the relay's clock as an `i64` allows: refused
/// as expired, never an arithmetic overflow (a panic in a debug build, a wrapped difference that
/// passes the window check in a release build), and the relay keeps serving.
#[tokio::test]
async fn auth_a_timestamp_at_the_ends_of_time_is_expired_not_an_overflow() {
    let (_dir, relay, alice, gid) = alice_in_a_circle().await;
    let path = format!("/v1/groups/{gid}/messages");
    for ts in [now_ms().wrapping_add(i64::MIN), i64::MIN, i64::MAX] {
        let r = alice
            .request("GET", &path, vec![], ts, &Account::nonce())
            .send()
            .await
            .unwrap();
        assert_eq!(
            status_and_code(r).await,
            (401, "expired".to_string()),
            "timestamp {ts}"
        );
    }
    let (status, _) = alice.send("GET", &path, vec![]).await;
    assert_eq!(status, 200);
    relay.stop().await;
}

/// A request whose signature does not verify is refused from its headers: the relay never waits
/// for (nor buffers) the megabytes its `content-length` announces.
#[tokio::test]
async fn a_bad_signature_is_refused_before_the_body_is_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (_dir, relay, alice, gid) = alice_in_a_circle().await;
    let mallory = Account::new(&relay);
    let path = format!("/v1/groups/{gid}/messages");
    // Signed by another key: the signature cannot verify, whatever the body.
    let head = signed_head(&relay.base, "POST", &path, &alice, &mallory, b"", 4_000_000);
    let mut socket = tokio::net::TcpStream::connect(relay.base.trim_start_matches("http://"))
        .await
        .unwrap();
    socket.write_all(head.as_bytes()).await.unwrap();
    // No body follows. The answer must come at once, not after the body timeout.
    let mut answer = vec![0u8; 512];
    let n = tokio::time::timeout(std::time::Duration::from_secs(3), socket.read(&mut answer))
        .await
        .expect("answered without waiting for the body")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(answer.contains("bad_signature"), "{answer}");
    relay.stop().await;
}

/// A body other than the one whose digest was signed is refused.
#[tokio::test]
async fn a_body_that_is_not_the_signed_one_is_refused() {
    let (_dir, relay, alice, _gid) = alice_in_a_circle().await;
    let signed = alice
        .request(
            "PUT",
            "/v1/key-packages",
            b"the signed body".to_vec(),
            now_ms(),
            &Account::nonce(),
        )
        .build()
        .unwrap();
    let mut swapped = signed.try_clone().unwrap();
    *swapped.body_mut() = Some(b"another body, same len".to_vec().into());
    swapped
        .headers_mut()
        .remove(reqwest::header::CONTENT_LENGTH);
    let r = alice.http.execute(swapped).await.unwrap();
    assert_eq!(status_and_code(r).await, (401, "bad_signature".to_string()));
    relay.stop().await;
}
