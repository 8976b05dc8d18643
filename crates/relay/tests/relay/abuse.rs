//! Garbage, abuse limits, TLS and slow clients: each refused in its own way while the relay serves everyone else.

use crate::support::*;

/// Garbage on the socket, malformed HTTP, truncated and oversized bodies, invalid MLS framing and
/// a huge declared blob: each gets a clear refusal (or a closed connection), and the relay keeps
/// serving everyone else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_gets_clear_errors_and_the_relay_keeps_serving() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (alice_acc, _alice, _ga, _bob_acc, _bob, _gb, gid) = circle_of_two(&relay).await;
    let addr = relay.base.trim_start_matches("http://").to_string();

    let mut rng_bytes = vec![0u8; 64 * 1024];
    ring::rand::SystemRandom::new()
        .fill(&mut rng_bytes)
        .unwrap();
    let raw: Vec<Vec<u8>> = vec![
        rng_bytes.clone(),
        b"GET /v1/health HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n".to_vec(),
        b"POST /v1/groups HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nshort".to_vec(),
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec(), // a TLS hello to a plain port
        b"GET /v1/health HTTP/9.9\r\n\r\n".to_vec(),
    ];
    for garbage in raw {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let _ = s.write_all(&garbage).await;
        let _ = s.shutdown().await;
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            s.read_to_end(&mut answer),
        )
        .await;
        let text = String::from_utf8_lossy(&answer);
        assert!(
            answer.is_empty() || text.starts_with("HTTP/1.1 4"),
            "{text}"
        );
    }

    let path = format!("/v1/groups/{gid}/messages");
    // Not CBOR, CBOR of the wrong shape, CBOR with garbage where the MLS message goes.
    let (s1, b1) = alice_acc.send("POST", &path, b"not cbor".to_vec()).await;
    let (s2, b2) = alice_acc
        .send("POST", &path, to_cbor(&vec![1, 2, 3]).unwrap())
        .await;
    let (s3, b3) = alice_acc
        .send("POST", &path, to_cbor(&bundle(vec![0u8; 300])).unwrap())
        .await;
    assert_eq!((s1, error_code(&b1).as_str()), (400, "bad_request"));
    assert_eq!((s2, error_code(&b2).as_str()), (400, "bad_request"));
    assert_eq!((s3, error_code(&b3).as_str()), (400, "invalid_message"));
    // A declared body over the limit (64 MiB for messages, 60 MiB for blobs) is refused from
    // its headers, before any of it is sent.
    let declared_too_large = |method: &'static str, path: String, length: u64| {
        let addr = addr.clone();
        async move {
            let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
            let req =
                format!("{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n");
            s.write_all(req.as_bytes()).await.unwrap();
            let mut answer = vec![0u8; 4096];
            let n = tokio::time::timeout(std::time::Duration::from_secs(5), s.read(&mut answer))
                .await
                .expect("answered before the body")
                .unwrap();
            String::from_utf8_lossy(&answer[..n]).to_string()
        }
    };
    let blob_path = format!("/v1/groups/{gid}/blobs/{}", "00".repeat(32));
    for (method, route, length) in [
        ("POST", path.clone(), 65 * 1024 * 1024),
        ("PUT", blob_path.clone(), 61 * 1024 * 1024),
        ("PUT", blob_path.clone(), 99_999_999_999),
    ] {
        let answer = declared_too_large(method, route, length).await;
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert!(answer.contains(r#""code":"too_large""#), "{answer}");
    }
    // Without a declared length (chunked), the limit holds while reading.
    let chunks = (0..65).map(|_| Ok::<_, std::io::Error>(vec![0u8; 1024 * 1024]));
    let r = alice_acc
        .request("POST", &path, vec![], now_ms(), &Account::nonce())
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await;
    // The relay answers 413 and closes mid-body; a client still sending may see the closed
    // connection before it reads the answer. Either way nothing is accepted.
    if let Ok(r) = r {
        assert_eq!(status_and_code(r).await, (413, "too_large".to_string()));
    }
    // Everyone else is still served.
    let r = reqwest::get(format!("{}/v1/health", relay.base))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let log: Vec<LogEntry> = alice_acc.ok("GET", &path, vec![]).await;
    assert_eq!(log.len(), 1);
    relay.stop().await;
}

/// Each abuse limit answers with its own code and the relay keeps serving: the per-account
/// request rate, the blob quota, and the connection cap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abuse_limits_answer_with_their_own_codes() {
    use tokio::io::AsyncReadExt;
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut config = test_config(dir.path());
    config.admission = consilium_relay::Admission::Open;
    config.shutdown_grace = std::time::Duration::from_secs(1);
    config.rate_burst = 40;
    config.rate_per_second = 1;
    config.blob_quota_bytes = 1000;
    config.max_connections = 8;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(run(listener, config, async {
        let _ = rx.await;
    }));
    let relay = Relay {
        base: base.clone(),
        stop: Some(tx),
        task,
    };
    let (alice_acc, _a, _ga, bob_acc, _b, _gb, gid) = circle_of_two(&relay).await;

    let blob = vec![7u8; 800];
    let id = hex::encode(ring::digest::digest(&ring::digest::SHA256, &blob));
    let (status, _) = alice_acc
        .send("PUT", &format!("/v1/groups/{gid}/blobs/{id}"), blob)
        .await;
    assert_eq!(status, 201);
    let blob2 = vec![8u8; 800];
    let id2 = hex::encode(ring::digest::digest(&ring::digest::SHA256, &blob2));
    let (status, body) = alice_acc
        .send("PUT", &format!("/v1/groups/{gid}/blobs/{id2}"), blob2)
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (507, "quota_exceeded")
    );

    let mut limited = false;
    for _ in 0..60 {
        let (status, body) = alice_acc.send("GET", "/v1/mailbox", vec![]).await;
        if status == 429 {
            assert_eq!(error_code(&body), "rate_limited");
            limited = true;
            break;
        }
    }
    assert!(limited, "a burst over the limit is refused");
    let (status, _) = bob_acc.send("GET", "/v1/mailbox", vec![]).await;
    assert_eq!(status, 200, "other accounts are not affected");

    // Hold the connection slots open; one more connection gets a clear 503.
    let addr = base.trim_start_matches("http://").to_string();
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    let mut extra = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut answer = String::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        extra.read_to_string(&mut answer),
    )
    .await;
    assert!(
        answer.starts_with("HTTP/1.1 503") && answer.contains("too_many_connections"),
        "{answer}"
    );
    drop(held);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let r = reqwest::get(format!("{base}/v1/health")).await.unwrap();
    assert_eq!(
        r.status().as_u16(),
        200,
        "served again once connections close"
    );
    relay.stop().await;
}

/// With a certificate the relay speaks TLS (rustls): a client that trusts the certificate gets
/// its answers, a plain-HTTP client gets nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_certificate_the_relay_serves_tls() {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, certified.cert.pem()).unwrap();
    std::fs::write(&key_path, certified.signing_key.serialize_pem()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut config = test_config(&dir.path().join("data"));
    config.admission = consilium_relay::Admission::Open;
    config.tls = Some((cert_path, key_path));
    config.shutdown_grace = std::time::Duration::from_secs(1);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(run(listener, config, async {
        let _ = rx.await;
    }));
    let client = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).unwrap(),
        )
        .resolve(
            "localhost",
            std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        )
        .build()
        .unwrap();
    let r = client
        .get(format!("https://localhost:{port}/v1/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let relay = Relay {
        base: format!("https://localhost:{port}"),
        stop: Some(tx),
        task,
    };
    // An untrusting client and a plain-HTTP client are both refused.
    assert!(
        reqwest::get(format!("https://localhost:{port}/v1/health"))
            .await
            .is_err()
    );
    assert!(
        reqwest::get(format!("http://127.0.0.1:{port}/v1/health"))
            .await
            .is_err()
    );
    // And the relay still serves the trusting client afterwards.
    let r = client
        .get(format!("https://localhost:{port}/v1/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    relay.stop().await;
}

/// Slow clients (headers or body trickled in) lose their connection after the configured time
/// instead of holding a slot for ever; everyone else is served meanwhile.
#[tokio::test]
async fn slow_headers_and_slow_bodies_are_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let relay = start_with(dir.path(), |c| {
        c.header_timeout = std::time::Duration::from_secs(1);
        c.body_timeout = std::time::Duration::from_secs(1);
    })
    .await;
    let addr = relay.base.trim_start_matches("http://").to_string();
    let started = std::time::Instant::now();
    let mut slow_headers = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow_headers
        .write_all(b"GET /v1/mailbox HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // A properly signed request (the relay only reads the body of one) whose body trickles.
    let member = Account::new(&relay);
    let body = vec![b'a'; 100];
    let head = signed_head(
        &relay.base,
        "POST",
        "/v1/groups",
        &member,
        &member,
        &body,
        100,
    ) + "abc";
    let mut slow_body = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow_body.write_all(head.as_bytes()).await.unwrap();
    let r = reqwest::get(format!("{}/v1/health", relay.base))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "others are served meanwhile");

    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        slow_headers.read_to_end(&mut answer),
    )
    .await
    .expect("the slow-header connection is closed")
    .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        slow_body.read_to_end(&mut answer),
    )
    .await
    .expect("the slow-body connection is answered")
    .unwrap();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains(r#""code":"timeout""#), "{text}");
    assert!(started.elapsed() < std::time::Duration::from_secs(8));
    relay.stop().await;
}

/// A post larger than any CBOR document the relay can decode is refused as too large from its
/// declared size, not read whole and then refused as malformed (the request limit was 64 MiB
/// while the decoder stops at 4 MiB).
#[tokio::test]
async fn a_post_over_the_decodable_size_is_refused_as_too_large() {
    let (_dir, relay, alice, gid) = alice_in_a_circle().await;
    let body = vec![0u8; consilium_model::codec::MAX_DOCUMENT_BYTES + 1];
    let r = alice
        .request(
            "POST",
            &format!("/v1/groups/{gid}/messages"),
            body,
            now_ms(),
            &Account::nonce(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(status_and_code(r).await, (413, "too_large".to_string()));
    relay.stop().await;
}

/// A stranger holding every socket it can from one address (127.0.0.2) does not keep a member
/// on another address from connecting: past its per-address share, its sockets are turned away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_holding_sockets_does_not_lock_others_out() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start_with(dir.path(), |c| {
        c.max_connections = 40;
        c.max_connections_per_address = 10;
    })
    .await;
    let addr: std::net::SocketAddr = relay.base.trim_start_matches("http://").parse().unwrap();
    let mut held = Vec::new();
    for _ in 0..40 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        held.push(socket.connect(addr).await.unwrap());
    }
    // Let the relay accept them all (those over the share are answered and closed).
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let member = Account::new(&relay);
    let (status, _) = member.send("GET", "/v1/mailbox", vec![]).await;
    assert_eq!(status, 200, "a member on another address is served");
    drop(held);
    relay.stop().await;
}

/// Blob uploads in flight hold the relay's disk, bucket and network, so all of them together
/// may declare only so much: an upload that would go past it is answered 503 `busy` from its
/// headers, while the first still waits for its body; once that one is gone, uploads go through
/// again.
#[tokio::test]
async fn uploads_past_the_relays_budget_are_busy_before_their_bodies_are_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let relay = start_with(dir.path(), |c| c.max_uploading_bytes = 2 * 1024 * 1024).await;
    let (alice, _a, _ga, _bob, _b, _gb, gid) = circle_of_two(&relay).await;
    let host = relay.base.trim_start_matches("http://").to_string();
    // Each signed for the bytes its id names (else it is refused at once, freeing its share).
    let bytes = |n: u8| vec![n; 1_500_000];
    let path = |n: u8| {
        let id = ring::digest::digest(&ring::digest::SHA256, &bytes(n));
        format!("/v1/groups/{gid}/blobs/{}", hex::encode(id))
    };
    let first_path = path(1);
    let head = signed_head(
        &relay.base,
        "PUT",
        &first_path,
        &alice,
        &alice,
        &bytes(1),
        1_500_000,
    );
    let mut first = tokio::net::TcpStream::connect(&host).await.unwrap();
    first.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let second_path = path(2);
    let head = signed_head(
        &relay.base,
        "PUT",
        &second_path,
        &alice,
        &alice,
        &bytes(2),
        1_500_000,
    );
    let mut second = tokio::net::TcpStream::connect(&host).await.unwrap();
    second.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 512];
    let n = tokio::time::timeout(std::time::Duration::from_secs(3), second.read(&mut answer))
        .await
        .expect("answered without waiting for the body")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("busy"), "{answer}");
    drop(first);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let blob = vec![7u8; 1_000_000];
    let id = hex::encode(ring::digest::digest(&ring::digest::SHA256, &blob));
    let (status, _) = alice
        .send("PUT", &format!("/v1/groups/{gid}/blobs/{id}"), blob)
        .await;
    assert_eq!(
        status, 201,
        "the budget is back once the first upload is gone"
    );
    relay.stop().await;
}
