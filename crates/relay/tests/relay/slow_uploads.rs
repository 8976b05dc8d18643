//! Uploads that stream slowly, or declare a byte and send nothing: each holds a thread and a
//! file or a multipart upload while it lasts, so they are counted (past the count, `busy` from
//! the headers), and none holds up what else the relay does with blobs: a withdrawal, another
//! upload, a download.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

/// An upload of `bytes` whose headers are sent and whose body never comes; the open socket.
async fn stalled_upload(
    relay: &Relay,
    acc: &Account,
    gid: &str,
    bytes: &[u8],
) -> tokio::net::TcpStream {
    let id = hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes));
    let path = format!("/v1/groups/{gid}/blobs/{id}");
    let head = signed_head(&relay.base, "PUT", &path, acc, acc, bytes, bytes.len());
    let host = relay.base.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(host).await.unwrap();
    socket.write_all(head.as_bytes()).await.unwrap();
    socket
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_uploads_are_counted_and_hold_up_no_other_blob_work() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start_with(dir.path(), |c| {
        c.max_uploads = 3;
        c.body_timeout = std::time::Duration::from_secs(30);
    })
    .await;
    let (alice, _a, _ga, bob, _b, _gb, gid) = circle_of_two(&relay).await;
    let kept = vec![3u8; 10_000];
    let kept_id = hex::encode(ring::digest::digest(&ring::digest::SHA256, &kept));
    let (status, _) = alice
        .send("PUT", &format!("/v1/groups/{gid}/blobs/{kept_id}"), kept)
        .await;
    assert_eq!(status, 201);

    // Two uploads stall: one declaring a megabyte, one a single byte.
    let _big = stalled_upload(&relay, &bob, &gid, &vec![1u8; 1 << 20]).await;
    let _tiny = stalled_upload(&relay, &bob, &gid, b"x").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    // What else the relay does with blobs goes on at once: a withdrawal (which waits for the
    // blob lock that pruning shares), a download, a third upload.
    let quick = std::time::Duration::from_secs(5);
    let (status, _) = tokio::time::timeout(
        quick,
        alice.send(
            "DELETE",
            &format!("/v1/groups/{gid}/blobs/{kept_id}"),
            vec![],
        ),
    )
    .await
    .expect("a withdrawal is not held up by stalled uploads");
    assert_eq!(status, 204);
    let third = vec![4u8; 20_000];
    let third_id = hex::encode(ring::digest::digest(&ring::digest::SHA256, &third));
    let (status, _) = tokio::time::timeout(
        quick,
        alice.send("PUT", &format!("/v1/groups/{gid}/blobs/{third_id}"), third),
    )
    .await
    .expect("an upload is not held up by stalled ones");
    assert_eq!(status, 201);
    let (status, _) = tokio::time::timeout(
        quick,
        bob.send("GET", &format!("/v1/blobs/{third_id}"), vec![]),
    )
    .await
    .expect("a download is not held up");
    assert_eq!(status, 200);

    // A third stall takes the last place; a fourth upload is `busy` from its headers.
    let _third_stall = stalled_upload(&relay, &bob, &gid, b"y").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut fourth = stalled_upload(&relay, &bob, &gid, b"z").await;
    let mut answer = vec![0u8; 512];
    let n = tokio::time::timeout(quick, fourth.read(&mut answer))
        .await
        .expect("answered from the headers")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("busy"), "{answer}");
    // Messages and mailboxes go on.
    let (status, _) = alice.send("GET", "/v1/mailbox", vec![]).await;
    assert_eq!(status, 200);
    relay.stop().await;
}
