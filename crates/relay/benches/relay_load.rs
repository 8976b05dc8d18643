//! Load harness for the relay (not criterion: it measures a running server from outside).
//!
//! Starts the real `consilium-relay` binary as its own process on loopback, with its data on
//! disk, and drives it from this process: 100 accounts in 10 circles (real openmls groups, real
//! MLS application messages made before the clock starts), each account posting as fast as the
//! relay acknowledges while every account listens on its push socket. Then 5 000 idle push
//! sockets, for the relay's memory per connection. Then the same messages into plain SQLite with
//! the same durability (WAL, `synchronous = FULL`), the baseline that bounds the relay.
//!
//! `cargo bench -p consilium-relay --bench relay_load` prints one `RESULT key value` line per
//! figure (tests/bench/report.py reads them).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use consilium_model::{Clock, SystemClock};
use consilium_relay_client::{AccountKey, RelayClient};

#[path = "relay_load/commits.rs"]
mod commits;
#[path = "relay_load/harness.rs"]
mod harness;

use harness::*;

/// Opens `n` authenticated idle push sockets; returns them (kept open by the caller).
async fn idle_sockets(base: &str, n: usize) -> Vec<consilium_relay_client::PushSocket> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let clients: Vec<RelayClient> = (0..100)
        .map(|_| {
            let (key, _seed) = AccountKey::generate().unwrap();
            RelayClient::new(base, Arc::new(key), clock.clone()).unwrap()
        })
        .collect();
    let mut sockets = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let opened = futures_util::future::join_all(
            chunk
                .iter()
                .map(|i| clients[i % clients.len()].push_socket()),
        )
        .await;
        sockets.extend(opened.into_iter().map(|s| s.unwrap()));
    }
    sockets
}

/// The baseline: the same rows into plain SQLite (WAL, synchronous = FULL), committed one by one
/// as each writer would without a group commit, and in transactions of `batch` rows, the most a
/// group commit could gather from `batch` concurrent writers.
fn sqlite_baseline(dir: &std::path::Path, rows: usize, batch: usize) -> (f64, f64) {
    let run = |name: &str, per_tx: usize| {
        let c = rusqlite::Connection::open(dir.join(name)).unwrap();
        c.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
             CREATE TABLE messages (group_id BLOB NOT NULL, seq INTEGER NOT NULL,
               message_id BLOB NOT NULL, sender BLOB NOT NULL, epoch INTEGER NOT NULL,
               kind INTEGER NOT NULL, body BLOB NOT NULL, created_at INTEGER NOT NULL,
               resulting_epoch INTEGER NOT NULL,
               PRIMARY KEY (group_id, seq), UNIQUE (group_id, message_id));",
        )
        .unwrap();
        let body = vec![7u8; 300];
        let started = Instant::now();
        let mut i = 0;
        while i < rows {
            c.execute_batch("BEGIN IMMEDIATE").unwrap();
            for _ in 0..per_tx.min(rows - i) {
                c.prepare_cached("INSERT INTO messages VALUES (?1, ?2, ?3, ?4, 1, 2, ?5, 0, 1)")
                    .unwrap()
                    .execute(rusqlite::params![
                        &[(i % 10) as u8; 16][..],
                        i as i64,
                        &(i as u128).to_le_bytes()[..],
                        &[1u8; 32][..],
                        &body
                    ])
                    .unwrap();
                i += 1;
            }
            c.execute_batch("COMMIT").unwrap();
        }
        rows as f64 / started.elapsed().as_secs_f64()
    };
    (run("one.db", 1), run("batched.db", batch))
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this as a smoke test with
    // a load small enough for a debug build (its figures mean nothing and are not for docs).
    let full = std::env::args().any(|a| a == "--bench");
    let (accounts, groups, per_account, idle, rate, paced) = if full {
        (
            env_or("RELAY_BENCH_ACCOUNTS", 100),
            env_or("RELAY_BENCH_GROUPS", 10),
            env_or("RELAY_BENCH_MESSAGES", 200),
            env_or("RELAY_BENCH_IDLE", 5000),
            // The paced run: this many posts per second in all, `paced` posts per account.
            env_or("RELAY_BENCH_RATE", 1000),
            env_or("RELAY_BENCH_PACED_MESSAGES", 30),
        )
    } else {
        (4, 2, 5, 20, 200, 2)
    };
    // On the real file system, not tmpfs: the fsync is part of what is measured.
    let parent = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let work = tempfile::tempdir_in(parent).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let relay = start_relay(&work.path().join("relay"), &[], &[]).await;
        let made = Instant::now();
        let participants = circles(
            std::slice::from_ref(&relay.base),
            accounts,
            groups,
            per_account + paced,
        )
        .await;
        println!(
            "made {} circles of {} and {} MLS messages in {:.1} s",
            groups,
            accounts / groups,
            accounts * (per_account + paced),
            made.elapsed().as_secs_f64()
        );
        let (saturating, paced_run): (Vec<_>, Vec<_>) = participants
            .into_iter()
            .map(|mut p| {
                let rest = p.messages.split_off(per_account);
                let later = Participant {
                    client: p.client.clone(),
                    group_id: p.group_id.clone(),
                    messages: rest,
                };
                (p, later)
            })
            .unzip();
        let cpu_before = cpu_seconds(relay.child.id());
        let (posts_per_s, latencies, missing) = load(saturating, None).await;
        let cpu = cpu_seconds(relay.child.id()) - cpu_before;
        println!("RESULT relay_posts_per_s {posts_per_s:.0}");
        println!(
            "RESULT relay_cpu_us_per_post {:.0}",
            cpu * 1e6 / (accounts * per_account) as f64
        );
        println!(
            "RESULT saturated_push_latency_p50_ms {:.2}",
            percentile(&latencies, 0.5)
        );
        println!(
            "RESULT saturated_push_latency_p99_ms {:.2}",
            percentile(&latencies, 0.99)
        );
        println!("RESULT push_missing {missing}");
        assert_eq!(missing, 0, "every member was told of every message");
        let every = Duration::from_secs_f64(accounts as f64 / rate as f64);
        let (offered, latencies, missing) = load(paced_run, Some(every)).await;
        println!("RESULT paced_posts_per_s {offered:.0}");
        println!(
            "RESULT paced_push_latency_p50_ms {:.2}",
            percentile(&latencies, 0.5)
        );
        println!(
            "RESULT paced_push_latency_p99_ms {:.2}",
            percentile(&latencies, 0.99)
        );
        println!("RESULT paced_push_latency_samples {}", latencies.len());
        println!("RESULT paced_push_missing {missing}");
        assert_eq!(missing, 0, "every member was told of every message");

        let before = rss_kib(relay.child.id());
        let sockets = idle_sockets(&relay.base, idle).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let after = rss_kib(relay.child.id());
        assert_eq!(sockets.len(), idle);
        println!("RESULT idle_sockets {}", sockets.len());
        println!("RESULT relay_rss_before_kib {before}");
        println!("RESULT relay_rss_with_idle_kib {after}");
        println!(
            "RESULT kib_per_idle_socket {:.1}",
            (after.saturating_sub(before)) as f64 / sockets.len() as f64
        );
        drop(sockets);
        commits::run(&relay.base, if full { 200 } else { 3 }).await;
    });
    let (one, batched) = sqlite_baseline(work.path(), accounts * per_account, accounts);
    println!("RESULT sqlite_one_per_commit_per_s {one:.0}");
    println!("RESULT sqlite_batched_{accounts}_per_s {batched:.0}");
}
