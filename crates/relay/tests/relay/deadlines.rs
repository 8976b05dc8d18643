//! A peer that stops reading or goes silent does not hold its connection, its buffers or a
//! response for ever: writes must make progress, idle connections close, push sockets that no
//! longer answer pings close.

use std::time::Duration;

use crate::support::*;

/// A member asks for a 30 MiB blob and stops reading. Past what the kernel buffers, the relay's
/// write stalls, and after the stall timeout it closes the connection: the reader, waking up,
/// finds the stream ended short.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_stops_reading_a_blob_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let relay = start_with(dir.path(), |c| {
        c.write_stall_timeout = Duration::from_millis(500)
    })
    .await;
    let (alice, _a, _ga, _bob, _b, _gb, gid) = circle_of_two(&relay).await;
    let blob = vec![0x5au8; 30 * 1024 * 1024];
    let id = hex::encode(ring::digest::digest(&ring::digest::SHA256, &blob));
    let (status, _) = alice
        .send("PUT", &format!("/v1/groups/{gid}/blobs/{id}"), blob)
        .await;
    assert_eq!(status, 201);
    let path = format!("/v1/blobs/{id}");
    let head = signed_head(&relay.base, "GET", &path, &alice, &alice, b"", 0);
    let mut socket = tokio::net::TcpStream::connect(relay.base.trim_start_matches("http://"))
        .await
        .unwrap();
    socket.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut got)).await;
    assert!(read.is_ok(), "the relay ended the connection");
    assert!(
        got.len() < 30 * 1024 * 1024,
        "{} bytes: the whole blob went to a reader that stopped",
        got.len()
    );
    relay.stop().await;
}

/// A keep-alive connection left silent after its request is closed after the idle timeout.
#[tokio::test]
async fn a_silent_connection_is_closed_after_the_idle_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let relay = start_with(dir.path(), |c| c.idle_timeout = Duration::from_millis(500)).await;
    let mut socket = tokio::net::TcpStream::connect(relay.base.trim_start_matches("http://"))
        .await
        .unwrap();
    socket
        .write_all(b"GET /v1/health HTTP/1.1\r\nhost: relay\r\n\r\n")
        .await
        .unwrap();
    let mut answer = vec![0u8; 256];
    let n = socket.read(&mut answer).await.unwrap();
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 200"));
    let closed = tokio::time::timeout(Duration::from_secs(3), socket.read(&mut answer)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "the idle connection was closed: {closed:?}"
    );
    relay.stop().await;
}

/// A push socket whose peer reads (and so answers pings) stays open; one whose peer went
/// silent (a laptop closed without a goodbye) is closed after two unanswered pings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_socket_that_stops_answering_pings_is_closed() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let dir = tempfile::tempdir().unwrap();
    let relay = start_with(dir.path(), |c| c.ping_every = Duration::from_millis(200)).await;
    let member = Account::new(&relay);
    let url = format!("{}/v1/ws", relay.base.replace("http://", "ws://"));
    // Reading (tungstenite answers each ping) for a while: still open.
    let mut alive = push_connect(&url, &member, &member).await.unwrap();
    let watched = tokio::time::timeout(Duration::from_millis(1500), async {
        while let Some(frame) = alive.next().await {
            if matches!(frame, Ok(Message::Close(_)) | Err(_)) {
                return false;
            }
        }
        false
    })
    .await;
    assert!(watched.is_err(), "a socket that answers pings stays open");
    // Not reading at all: no pong goes back, and the relay closes it.
    let mut silent = push_connect(&url, &member, &member).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let ended = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match silent.next().await {
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return true,
                Some(Ok(_)) => continue,
            }
        }
    })
    .await;
    assert_eq!(ended, Ok(true), "the silent socket was closed");
    relay.stop().await;
}
