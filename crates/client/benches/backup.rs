//! Backing up and restoring a physician's profile: 200 cases (a third with a comment) and 50
//! photos, each figure beside its baseline in the same run.
//!
//! - a full backup into an empty folder, against `tar -cf` of the same vault folder followed by
//!   `sync` of the archive (a backup on an external drive must be on it when it says so);
//! - a backup after ten new cases (incremental), against the full backup;
//! - a restore into a new profile (checked whole first), against `tar -xf` of that archive
//!   followed by `sync`.
//!
//! `cargo bench -p consilium-client --bench backup` prints `RESULT key value` lines
//! (tests/bench/report.py reads them). Under `cargo test` it runs once, small, as a smoke test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use consilium_client::model::CaseFields;
use consilium_client::{Engine, EngineConfig, ImportRequest, KdfParams, Passphrase};

const PASS: &str = "bench passphrase, long enough";

fn config() -> EngineConfig {
    EngineConfig {
        kdf: KdfParams::TEST_ONLY_WEAK,
        ..Default::default()
    }
}

fn add_cases(e: &mut Engine, from: usize, n: usize) -> Vec<consilium_client::model::CaseId> {
    (from..from + n)
        .map(|i| {
            let id = e
                .create_case(CaseFields {
                    title: format!("Case {i}: annular plaque on the shin"),
                    history: "A plaque with a raised edge, slowly growing for six weeks; \
                              itching at night; no response to a topical steroid."
                        .repeat(4),
                    ..Default::default()
                })
                .unwrap();
            if i % 3 == 0 {
                e.comment(&id, "A KOH prep of the edge would settle it.", None)
                    .unwrap();
            }
            id
        })
        .collect()
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

fn run(cmd: &mut Command) {
    assert!(cmd.status().unwrap().success(), "{cmd:?}");
}

fn size_of(dir: &Path) -> u64 {
    consilium_testkit::files_under(dir)
        .iter()
        .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
        .sum()
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (cases, photos, rounds) = if full { (200, 50, 5) } else { (20, 3, 1) };
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let profile = root.join("profile");
    let mut a = Engine::init(
        &profile,
        &Passphrase::new(PASS),
        "Dr Bench",
        "Derm",
        config(),
    )
    .unwrap();
    let ids = add_cases(&mut a, 0, cases);
    // Camera photos of 2000×1500 with EXIF; their texture compresses poorly, so the vault keeps
    // about 8.7 MB per photo (three renditions): heavier than a phone's, which favours neither side.
    for i in 0..photos {
        let photo =
            consilium_testkit::camera_photo(root, &format!("p{i}.jpg"), 2000, 1500, 1, "bench");
        let bytes = std::fs::read(&photo).unwrap();
        a.attach_bytes(&ids[i % ids.len()], &bytes, &ImportRequest::default())
            .unwrap();
    }
    a.lock();
    let vault_bytes = size_of(&profile);

    // Baseline: an archive of the vault folder, made durable.
    let tar = root.join("vault.tar");
    let tar_runs: Vec<Duration> = (0..rounds)
        .map(|_| {
            let _ = std::fs::remove_file(&tar);
            timed(|| {
                run(Command::new("tar")
                    .arg("-cf")
                    .arg(&tar)
                    .arg("-C")
                    .arg(&profile)
                    .arg("."));
                run(Command::new("sync").arg(&tar));
            })
        })
        .collect();

    let mut a = Engine::unlock(&profile, &Passphrase::new(PASS), config()).unwrap();
    let mut code = String::new();
    let backup_runs: Vec<Duration> = (0..rounds)
        .map(|i| {
            let into = root.join(format!("backup-{i}"));
            timed(|| {
                code = a.back_up(&into).unwrap().recovery_code.unwrap();
            })
        })
        .collect();
    let last = root.join(format!("backup-{}", rounds - 1));
    let backup_bytes = size_of(&last);

    // Ten new cases, then the next run into the same folder.
    let mut written = 0;
    let incremental_runs: Vec<Duration> = (0..rounds)
        .map(|i| {
            add_cases(&mut a, cases + i * 10, 10);
            timed(|| written = a.back_up(&last).unwrap().files_written)
        })
        .collect();
    assert_eq!(written, 10);
    a.lock();

    let restore_runs: Vec<Duration> = (0..rounds)
        .map(|i| {
            let into = root.join(format!("restored-{i}"));
            timed(|| {
                let (e, _) =
                    Engine::restore(&last, &code, &into, &Passphrase::new(PASS), config()).unwrap();
                e.lock();
            })
        })
        .collect();
    let untar_runs: Vec<Duration> = (0..rounds)
        .map(|i| {
            let into = root.join(format!("untarred-{i}"));
            std::fs::create_dir(&into).unwrap();
            timed(|| {
                run(Command::new("tar")
                    .arg("-xf")
                    .arg(&tar)
                    .arg("-C")
                    .arg(&into));
                run(Command::new("sync").arg("-f").arg(&into));
            })
        })
        .collect();

    let s = |d: Duration| d.as_secs_f64();
    println!("RESULT backup_cases {cases}");
    println!("RESULT backup_photos {photos}");
    println!("RESULT backup_vault_bytes {vault_bytes}");
    println!("RESULT backup_folder_bytes {backup_bytes}");
    println!("RESULT backup_full_s {:.4}", s(median(backup_runs)));
    println!("RESULT backup_tar_s {:.4}", s(median(tar_runs)));
    println!(
        "RESULT backup_incremental_10_s {:.4}",
        s(median(incremental_runs))
    );
    println!("RESULT backup_restore_s {:.4}", s(median(restore_runs)));
    println!("RESULT backup_untar_s {:.4}", s(median(untar_runs)));
}
