//! End to end on loopback: A shares a case with three 12-megapixel photos with a circle of ten;
//! the time until the last member has it stored (all renditions downloaded, checked, decrypted
//! and written to its vault), and where the time goes. The baseline, in the same run, is the
//! transfer alone: the same encrypted bytes uploaded once and downloaded by the nine members in
//! parallel through the same relay, with no MLS, no vault and no cryptography.
//!
//! `cargo bench -p consilium-client --bench circle_share` prints `RESULT key value` lines
//! (tests/bench/report.py reads them). Under `cargo test` it runs once, small, as a smoke test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use consilium_client::model::{CaseFields, SystemClock};
use consilium_client::{Engine, EngineConfig, KdfParams, Passphrase};

fn relay(dir: &Path) -> consilium_relay::Background {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = consilium_relay::RelayConfig::new(dir.to_path_buf(), Arc::new(SystemClock));
    config.admission = consilium_relay::Admission::Open;
    consilium_relay::Background::start(listener, config).unwrap()
}

fn engine(root: &Path, name: &str) -> Engine {
    let config = EngineConfig {
        kdf: KdfParams::TEST_ONLY_WEAK,
        ..Default::default()
    };
    Engine::init(
        &root.join(name),
        &Passphrase::new("bench passphrase, long enough"),
        name,
        "Dermatology",
        config,
    )
    .unwrap()
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

struct Run {
    share: Duration,
    send: Duration,
    last_member: Duration,
    mean_member: Duration,
    bytes: u64,
}

/// One timed share: a fresh case with the photos, shared, sent, and received by everyone.
fn share_once(a: &mut Engine, members: &mut [Engine], photos: &[PathBuf]) -> Run {
    let case = a
        .create_case(CaseFields {
            title: "Bench: pigmented lesions".into(),
            ..Default::default()
        })
        .unwrap();
    a.attach_files(&case, photos, &Default::default(), &mut |_| {})
        .unwrap();
    let bytes: u64 = a
        .case(&case)
        .unwrap()
        .attachments
        .iter()
        .map(|x| x.size)
        .sum();
    let start = Instant::now();
    a.share(&case, "Bench").unwrap();
    let shared = start.elapsed();
    let sent = a.sync().unwrap();
    assert_eq!((sent.sent, sent.queued), (1, 0));
    let send = start.elapsed() - shared;
    let done: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = members
            .iter_mut()
            .map(|m| {
                let case = case.clone();
                s.spawn(move || {
                    m.sync().unwrap();
                    let elapsed = start.elapsed();
                    assert_eq!(m.case(&case).unwrap().attachments.len(), photos.len());
                    elapsed
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let last = *done.iter().max().unwrap();
    let mean = done.iter().sum::<Duration>() / done.len() as u32;
    Run {
        share: shared,
        send,
        last_member: last,
        mean_member: mean,
        bytes,
    }
}

/// The transfer alone: the same number of bytes up once, then down by every member at once,
/// through the same relay (blobs of random bytes, no MLS, no vault, no cryptography).
fn transfer_baseline(url: &str, sizes: &[u64]) -> Duration {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let key = Arc::new(consilium_relay_client::AccountKey::from_seed(&[7; 32]).unwrap());
    let client = consilium_relay_client::RelayClient::new(url, key, Arc::new(SystemClock)).unwrap();
    let identity = consilium_groups::Identity::from_seed(&[7; 32]).unwrap();
    let (group, state) = consilium_groups::group_of_one(&identity).unwrap();
    let state = consilium_model::wire::GroupStateUpload {
        group_info: state.group_info.into(),
        ratchet_tree: state.ratchet_tree.into(),
    };
    rt.block_on(client.create_group(&group, state)).unwrap();
    let blobs: Vec<Vec<u8>> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| (0..n).map(|j| (j as u8) ^ (i as u8) ^ 0x3c).collect())
        .collect();
    let start = Instant::now();
    let ids: Vec<[u8; 32]> = blobs
        .into_iter()
        .map(|b| rt.block_on(client.put_blob(&group, b)).unwrap())
        .collect();
    // Read back nine times in parallel, as nine members would (one account: the relay serves a
    // group's blobs to its members, and this bare group has one).
    rt.block_on(async {
        let mut tasks = Vec::new();
        for _ in 1..10 {
            let (c, ids) = (client.clone(), ids.clone());
            tasks.push(tokio::spawn(async move {
                for id in ids {
                    c.get_blob(&id, 64 << 20).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    start.elapsed()
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let root = tempfile::tempdir().unwrap();
    let server = relay(&root.path().join("relay"));
    let (size, runs) = if full { (10, 3) } else { (3, 1) };
    let mut a = engine(root.path(), "a");
    a.create_circle("Bench", &server.url()).unwrap();
    let mut members: Vec<Engine> = (1..size)
        .map(|i| engine(root.path(), &format!("m{i}")))
        .collect();
    for m in &mut members {
        m.join(&a.invite("Bench").unwrap()).unwrap();
    }
    a.sync().unwrap();
    for r in a.join_requests("Bench").unwrap() {
        a.approve(
            "Bench",
            r.id,
            &consilium_client::ApprovalCheck::SafetyNumber(r.safety_number.clone()),
        )
        .unwrap();
    }
    a.sync().unwrap();
    for _ in 0..2 {
        for m in &mut members {
            m.sync().unwrap();
        }
        a.sync().unwrap();
    }
    let photo = if full {
        consilium_testkit::photo_12mp(root.path())
    } else {
        consilium_testkit::camera_photo(root.path(), "small.jpg", 800, 600, 1, "smoke")
    };
    let photos = vec![photo.clone(), photo.clone(), photo];

    let mut results: Vec<Run> = (0..runs)
        .map(|_| share_once(&mut a, &mut members, &photos))
        .collect();
    results.sort_by_key(|r| r.last_member);
    let median = &results[results.len() / 2];
    // The encrypted renditions the members downloaded: what the baseline moves.
    let blob_dir = root.path().join("relay").join("blobs");
    let mut sizes: Vec<u64> = consilium_testkit::files_under(&blob_dir)
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .collect();
    sizes.sort_unstable();
    let per_share: Vec<u64> = sizes.iter().rev().take(photos.len() * 3).copied().collect();
    let baseline = transfer_baseline(&server.url(), &per_share);
    println!("RESULT share_members {size}");
    println!("RESULT share_images {}", photos.len());
    println!("RESULT share_image_bytes {}", median.bytes);
    println!("RESULT share_encrypt_s {:.3}", secs(median.share));
    println!("RESULT share_send_s {:.3}", secs(median.send));
    println!(
        "RESULT share_receive_mean_s {:.3}",
        secs(median.mean_member - median.share - median.send)
    );
    println!(
        "RESULT share_receive_last_s {:.3}",
        secs(median.last_member - median.share - median.send)
    );
    println!(
        "RESULT share_last_member_stored_s {:.3}",
        secs(median.last_member)
    );
    println!("RESULT share_transfer_baseline_s {:.3}", secs(baseline));
}
