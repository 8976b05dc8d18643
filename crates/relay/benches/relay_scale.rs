//! The relay past one machine, measured in one run against its single-machine baseline: the
//! same load (accounts in circles posting as fast as the relay acknowledges, every account on
//! its push socket) on one relay process with SQLite, on one with PostgreSQL, and on two
//! processes sharing that PostgreSQL (each circle's members spread over both, so pushes cross
//! instances); then blob uploads and downloads to a relay keeping blobs on its disk against one
//! keeping them in an S3 bucket. PostgreSQL is Debian's (syncing every commit, as in
//! production), the bucket moto's S3 server, all on this machine.
//!
//! `cargo bench -p consilium-relay --bench relay_scale` prints one `RESULT key value` line per
//! figure; `cargo test --all-targets` runs it small, as a smoke test whose figures mean nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::Instant;

use consilium_testkit::services::{PostgresServer, S3Server};
use futures_util::StreamExt;

#[path = "relay_load/harness.rs"]
#[allow(dead_code)]
mod harness;

use harness::*;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Posts per second, the push latency's p99 (ms) and the posts answered `busy` (then sent
/// again) of the load on the relay at `bases`.
async fn posts(
    bases: &[String],
    accounts: usize,
    groups: usize,
    per_account: usize,
) -> (f64, f64, usize) {
    let participants = circles(bases, accounts, groups, per_account).await;
    let busy_before = BUSY.load(std::sync::atomic::Ordering::Relaxed);
    let (per_s, latencies, missing) = load(participants, None).await;
    assert_eq!(missing, 0, "every member was told of every message");
    let busy = BUSY.load(std::sync::atomic::Ordering::Relaxed) - busy_before;
    (per_s, percentile(&latencies, 0.99), busy)
}

/// MB/s of uploading `count` blobs of `size` bytes, 4 at a time, and of downloading them.
async fn blob_throughput(base: &str, count: usize, size: usize) -> (f64, f64) {
    let (_members, clients, _groups, gid) = formed_group(base, 2).await;
    let blobs: Vec<Vec<u8>> = (0..count)
        .map(|n| (0..size).map(|i| (i.wrapping_mul(31) ^ n) as u8).collect())
        .collect();
    let megabytes = (count * size) as f64 / 1e6;
    let started = Instant::now();
    let ids: Vec<[u8; 32]> = futures_util::stream::iter(blobs)
        .map(|b| {
            let (client, gid) = (&clients[0], &gid);
            async move { client.put_blob(gid, b).await.unwrap() }
        })
        .buffered(4)
        .collect()
        .await;
    let up = megabytes / started.elapsed().as_secs_f64();
    let started = Instant::now();
    futures_util::stream::iter(ids)
        .map(|id| {
            let client = &clients[1];
            async move {
                let got = client.get_blob(&id, size).await.unwrap();
                assert_eq!(got.len(), size);
            }
        })
        .buffered(4)
        .collect::<Vec<_>>()
        .await;
    (up, megabytes / started.elapsed().as_secs_f64())
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let full = std::env::args().any(|a| a == "--bench");
    let (accounts, groups, per_account, blobs, blob_size) = if full {
        (
            env_or("RELAY_BENCH_ACCOUNTS", 100),
            env_or("RELAY_BENCH_GROUPS", 10),
            env_or("RELAY_BENCH_MESSAGES", 100),
            env_or("RELAY_BENCH_BLOBS", 24),
            env_or("RELAY_BENCH_BLOB_BYTES", 8 * 1024 * 1024),
        )
    } else {
        (4, 2, 3, 2, 64 * 1024)
    };
    // On the real file system, not tmpfs: the fsync is part of what is measured.
    let parent = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let work = tempfile::tempdir_in(parent).unwrap();
    let database = PostgresServer::start_durable();
    let s3 = S3Server::start();
    // The relay processes read the bucket's server from their environment.
    let env = s3.env();
    let on_postgres = |db: &str| vec!["--database".to_string(), db.to_string()];
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let sqlite = start_relay(&work.path().join("sqlite"), &[], &env).await;
        let (sqlite_posts, sqlite_p99, sqlite_busy) = posts(
            std::slice::from_ref(&sqlite.base),
            accounts,
            groups,
            per_account,
        )
        .await;
        println!("RESULT sqlite_posts_per_s {sqlite_posts:.0}");
        println!("RESULT sqlite_push_p99_ms {sqlite_p99:.1}");
        println!("RESULT sqlite_busy_retries {sqlite_busy}");

        let one = database.create_database();
        let pg = start_relay(&work.path().join("pg"), &on_postgres(&one), &env).await;
        let (pg_posts, pg_p99, pg_busy) = posts(
            std::slice::from_ref(&pg.base),
            accounts,
            groups,
            per_account,
        )
        .await;
        println!("RESULT postgres_posts_per_s {pg_posts:.0}");
        println!("RESULT postgres_push_p99_ms {pg_p99:.1}");
        println!("RESULT postgres_busy_retries {pg_busy}");
        println!(
            "RESULT postgres_over_sqlite_posts {:.2}",
            pg_posts / sqlite_posts
        );
        drop(pg);

        let shared = database.create_database();
        let two = [
            start_relay(&work.path().join("a"), &on_postgres(&shared), &env).await,
            start_relay(&work.path().join("b"), &on_postgres(&shared), &env).await,
        ];
        let bases: Vec<String> = two.iter().map(|r| r.base.clone()).collect();
        let (two_posts, two_p99, two_busy) = posts(&bases, accounts, groups, per_account).await;
        println!("RESULT two_instances_posts_per_s {two_posts:.0}");
        println!("RESULT two_instances_push_p99_ms {two_p99:.1}");
        println!("RESULT two_instances_busy_retries {two_busy}");
        println!(
            "RESULT two_over_one_instance_posts {:.2}",
            two_posts / pg_posts
        );
        drop(two);

        let (disk_up, disk_down) = blob_throughput(&sqlite.base, blobs, blob_size).await;
        drop(sqlite);
        let mut in_bucket = on_postgres(&database.create_database());
        in_bucket.extend(["--blobs".to_string(), format!("s3://{}/bench", s3.bucket)]);
        let bucket = start_relay(&work.path().join("bucket"), &in_bucket, &env).await;
        let (bucket_up, bucket_down) = blob_throughput(&bucket.base, blobs, blob_size).await;
        println!("RESULT disk_upload_mb_per_s {disk_up:.1}");
        println!("RESULT disk_download_mb_per_s {disk_down:.1}");
        println!("RESULT bucket_upload_mb_per_s {bucket_up:.1}");
        println!("RESULT bucket_download_mb_per_s {bucket_down:.1}");
        println!("RESULT bucket_over_disk_upload {:.2}", bucket_up / disk_up);
        println!(
            "RESULT bucket_over_disk_download {:.2}",
            bucket_down / disk_down
        );
    });
}
