//! What goes away under a burst of posts: PostgreSQL restarted (clients are told `busy`, then
//! everything goes on by itself) and one of two instances killed (clients carry on through the
//! other). Clients do what the real one does: a post that was not answered `200` is sent again
//! with the same message id. In the end every message is in the log exactly once, whatever
//! answer its first tries got.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use consilium_testkit::services::PostgresServer;
use futures_util::StreamExt;

use crate::configs::new_database;
use crate::processes::spawn_relay_with;
use crate::support::*;

/// What the burst saw.
#[derive(Default)]
struct Seen {
    acknowledged: AtomicUsize,
    busy: AtomicUsize,
    cut: AtomicUsize,
}

impl std::fmt::Display for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} acknowledged, {} busy, {} connections failed",
            self.acknowledged.load(Ordering::Relaxed),
            self.busy.load(Ordering::Relaxed),
            self.cut.load(Ordering::Relaxed)
        )
    }
}

/// Posts each of `messages` (Alice's, in `gid`) until it is acknowledged: through `to()` (the
/// instance to use now), again with the same message id after a `503 busy` or a connection
/// that failed. Any other answer fails the test.
async fn burst(
    acc: &Account,
    gid: &str,
    messages: Vec<Vec<u8>>,
    to: &(dyn Fn() -> String + Sync),
    seen: &Seen,
) {
    let path = format!("/v1/groups/{gid}/messages");
    futures_util::stream::iter(messages)
        .map(|m| {
            let path = &path;
            async move {
                let body = to_cbor(&bundle(m)).unwrap();
                let started = std::time::Instant::now();
                loop {
                    assert!(
                        started.elapsed() < std::time::Duration::from_secs(60),
                        "a post never went through"
                    );
                    let sent = acc
                        .request_to(
                            &to(),
                            "POST",
                            path,
                            body.clone(),
                            now_ms(),
                            &Account::nonce(),
                        )
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status() == 200 => {
                            seen.acknowledged.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                        Ok(r) => {
                            let (status, code) = status_and_code(r).await;
                            assert_eq!((status, code.as_str()), (503, "busy"));
                            seen.busy.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(_) => {
                            seen.cut.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
}

/// The group's whole log, read through `address`, holds each of `n` posts once (after the
/// add), none twice.
async fn each_once(acc: &Account, address: &str, gid: &str, n: usize) {
    let mut log: Vec<LogEntry> = Vec::new();
    loop {
        let after = log.last().map_or(0, |e| e.seq);
        let path = format!("/v1/groups/{gid}/messages?after={after}");
        let r = acc
            .request_to(address, "GET", &path, vec![], now_ms(), &Account::nonce())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let page: Vec<LogEntry> = from_cbor(&r.bytes().await.unwrap()).unwrap();
        if page.is_empty() {
            break;
        }
        log.extend(page);
    }
    let ids: HashSet<_> = log.iter().map(|e| e.message_id.to_vec()).collect();
    assert_eq!(ids.len(), log.len(), "a message is in the log twice");
    assert_eq!(log.len(), 1 + n, "every message is in the log");
}

fn messages(alice: &Member, ga: &mut MlsGroup, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            bytes(
                &ga.create_message(&alice.provider, &alice.signer, format!("m{i}").as_bytes())
                    .unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn postgresql_restarted_during_a_burst_is_busy_then_nothing_is_lost_or_doubled() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = PostgresServer::start();
    let url = server.create_database();
    let relay = start_with(dir.path(), |c| {
        c.database = DatabaseLocation::Postgres(url);
        c.rate_burst = 100_000;
        c.rate_per_second = 100_000;
    })
    .await;
    let (alice_acc, alice, mut ga, _bob_acc, _bob, _gb, gid) = circle_of_two(&relay).await;
    const N: usize = 400;
    let batch = messages(&alice, &mut ga, N);
    let seen = Seen::default();
    let base = relay.base.clone();
    let to = move || base.clone();
    let restarted = async {
        while seen.acknowledged.load(Ordering::Relaxed) < 100 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        tokio::task::block_in_place(|| server.restart());
    };
    tokio::join!(burst(&alice_acc, &gid, batch, &to, &seen), restarted);
    assert!(
        seen.busy.load(Ordering::Relaxed) > 0,
        "the restart was felt as busy: {seen}"
    );
    println!("PostgreSQL restarted: {seen}");
    each_once(&alice_acc, &relay.base, &gid, N).await;
    let r = reqwest::get(format!("{}/v1/health", relay.base))
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the relay resumed by itself");
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_killed_during_a_burst_loses_and_doubles_nothing_and_the_other_serves_on() {
    let (_server, url) = new_database();
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let args = |origin: Option<&str>| {
        let mut a = vec![
            "--admission".to_string(),
            "open".to_string(),
            "--database".to_string(),
            url.clone(),
        ];
        if let Some(origin) = origin {
            a.extend(["--origin".to_string(), origin.to_string()]);
        }
        a
    };
    // Both answer for the first one's address, as two instances behind one name.
    let mut first = spawn_relay_with(dirs[0].path(), &args(None));
    let second = spawn_relay_with(dirs[1].path(), &args(Some(&first.base)));
    let (alice_acc, alice, mut ga, _bob_acc, _bob, _gb, gid) = circle_of_two_at(&first.base).await;
    const N: usize = 400;
    let batch = messages(&alice, &mut ga, N);
    let seen = Seen::default();
    // Posts alternate between the instances while both live; then the second takes them all.
    let killed = std::sync::atomic::AtomicBool::new(false);
    let turn = AtomicUsize::new(0);
    let (a, b) = (first.base.clone(), second.base.clone());
    let to = |now_killed: bool, n: usize| {
        if now_killed || n % 2 == 1 {
            b.clone()
        } else {
            a.clone()
        }
    };
    let pick = || {
        to(
            killed.load(Ordering::Relaxed),
            turn.fetch_add(1, Ordering::Relaxed),
        )
    };
    let kill = async {
        while seen.acknowledged.load(Ordering::Relaxed) < 150 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        first.child.kill().unwrap();
        first.child.wait().unwrap();
        // Clients learn it from their failed connections; from here they use the other.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        killed.store(true, Ordering::Relaxed);
    };
    tokio::join!(burst(&alice_acc, &gid, batch, &pick, &seen), kill);
    assert!(
        seen.cut.load(Ordering::Relaxed) > 0,
        "the kill was felt as failed connections: {seen}"
    );
    println!("an instance killed: {seen}");
    each_once(&alice_acc, &second.base, &gid, N).await;
    let mut second = second;
    second.child.kill().unwrap();
    second.child.wait().unwrap();
}
