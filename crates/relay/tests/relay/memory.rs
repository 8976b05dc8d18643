//! The relay's memory under the cheapest attack on it: one account posts maximum-size messages
//! while a hundred connections fetch them and read slowly. The real relay process's peak
//! resident memory (the kernel's `VmHWM`) stays under 1 GiB and `/v1/health` answers
//! throughout.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::support::*;

const MESSAGES: usize = 40;
const READERS: usize = 100;

/// Reads one answer slowly (16 KiB every 50 ms) until it is whole or the relay ends it.
async fn read_slowly(base: String, acc: Arc<Account>, path: String) -> usize {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let head = signed_head(&base, "GET", &path, &acc, &acc, b"", 0);
    let mut socket = tokio::net::TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .unwrap();
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 16 * 1024];
    let mut total = 0;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(40) {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_readers_of_maximum_size_messages_keep_the_relay_under_a_gibibyte() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = spawn_relay(dir.path());
    let pid = relay.child.id();
    let base = relay.base.clone();
    let (alice_acc, alice, mut ga, bob_acc, _bob, _gb, gid) = circle_of_two_at(&base).await;
    let path = format!("/v1/groups/{gid}/messages");
    let payload = vec![0x42u8; 1000 * 1024];
    for _ in 0..MESSAGES {
        let m = ga
            .create_message(&alice.provider, &alice.signer, &payload)
            .unwrap();
        let (status, body) = alice_acc
            .send("POST", &path, to_cbor(&bundle(bytes(&m))).unwrap())
            .await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    }

    let stop = Arc::new(AtomicBool::new(false));
    let (answered, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let health = {
        let (stop, answered, failed, base) =
            (stop.clone(), answered.clone(), failed.clone(), base.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            while !stop.load(Ordering::Relaxed) {
                let r = http
                    .get(format!("{base}/v1/health"))
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status().is_success() => answered.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let bob = Arc::new(bob_acc);
    let readers: Vec<_> = (0..READERS)
        .map(|i| {
            // Pages at different places of the log, so the answers differ.
            let after = (i % MESSAGES) as u64;
            tokio::spawn(read_slowly(
                base.clone(),
                bob.clone(),
                format!("{path}?after={after}"),
            ))
        })
        .collect();
    let mut read = 0;
    for r in readers {
        read += r.await.unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    health.await.unwrap();
    let peak_kib = consilium_testkit::peak_resident_bytes(pid) / 1024;
    println!(
        "memory attack: {READERS} slow readers read {} MiB; relay peak resident {} MiB; \
         health answered {} times, failed {}",
        read / (1024 * 1024),
        peak_kib / 1024,
        answered.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed)
    );
    assert!(read > READERS * 1024 * 1024, "the readers were served");
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "health answered throughout"
    );
    assert!(answered.load(Ordering::Relaxed) > 10);
    assert!(
        peak_kib < 1024 * 1024,
        "peak resident memory {peak_kib} KiB is over 1 GiB"
    );
    relay.child.kill().unwrap();
    relay.child.wait().unwrap();
}
