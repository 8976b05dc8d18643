//! The desktop window's speed and memory, measured on the real release binary under Xvfb over
//! WebDriver, each figure beside its baseline from the same run:
//! - cold start to an interactive, unlocked case list with 5 000 cases, against an empty profile
//!   (the profiles use a cheap passphrase derivation; the real Argon2id cost is measured apart);
//! - opening a case with eight images (until all eight thumbnails are decoded), against a case
//!   with none; scrolling the 5 000-row list (how many rows exist at once, time per step),
//!   against the display's frame interval with nothing to do;
//! - memory after idling with 5 000 cases, against the empty profile: the app process's RSS,
//!   and the app with its WebKit processes as PSS (shared library pages divided among them) and
//!   as a plain RSS sum.
//!
//! Run: `xvfb-run -a cargo bench -p consilium-e2e --bench desktop` after
//! `cargo build --release -p consilium-desktop` (tests/bench/run.sh does both). Prints RESULT
//! lines.

#![allow(clippy::unwrap_used, clippy::expect_used)]

// The bench uses part of the shared window harness.
#[allow(dead_code)]
#[path = "../tests/support/window.rs"]
mod window;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use consilium_client::model::CaseFields;
use consilium_client::{Engine, EngineConfig, KdfParams, Passphrase};
use window::{Driver, Window};

const PASSPHRASE: &str = "bench passphrase, long enough 4 all";
const CASES: usize = 5_000;
const RUNS: usize = 3;

fn profile(dir: &Path, cases: usize, photos: &[PathBuf], kdf: KdfParams) -> Engine {
    let config = EngineConfig {
        kdf,
        ..Default::default()
    };
    let mut e = Engine::init(
        dir,
        &Passphrase::new(PASSPHRASE),
        "Dr Bench",
        "Dermatology",
        config,
    )
    .unwrap();
    let specialties = [
        "Dermatology",
        "Cardiology",
        "Neurology",
        "Rheumatology",
        "Infectious diseases",
    ];
    for i in 0..cases {
        e.create_case(CaseFields {
            title: format!(
                "Case {i}: annular plaque with central clearing, week {}",
                i % 52
            ),
            specialty: specialties[i % specialties.len()].into(),
            history: "Slowly enlarging itchy ring; topical steroid made it spread.".repeat(4),
            question: "Treat empirically or confirm with KOH first?".into(),
            tags: vec!["annular".into(), format!("batch-{}", i % 10)],
            ..Default::default()
        })
        .unwrap();
    }
    if !photos.is_empty() {
        let none = e
            .create_case(CaseFields {
                title: "No images".into(),
                ..Default::default()
            })
            .unwrap();
        let _ = none;
        let eight = e
            .create_case(CaseFields {
                title: "Eight images".into(),
                ..Default::default()
            })
            .unwrap();
        e.attach_files(&eight, photos, &Default::default(), &mut |_| {})
            .unwrap();
    }
    e
}

/// The sum over `pid` and every process below it of the KiB figure `field` (e.g. `VmRSS:`) in
/// each one's `/proc/PID/{file}`.
fn tree_sum(pid: u32, file: &str, field: &str) -> u64 {
    let mut total = 0;
    let mut stack = vec![pid];
    while let Some(p) = stack.pop() {
        if let Ok(text) = std::fs::read_to_string(format!("/proc/{p}/{file}")) {
            total += text
                .lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
                .unwrap_or(0);
        }
        stack.extend(children(p));
    }
    total
}

/// The resident memory (KiB) of `pid` and every process below it.
fn tree_rss(pid: u32) -> u64 {
    tree_sum(pid, "status", "VmRSS:")
}

fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.flatten() {
            if let Ok(c) = std::fs::read_to_string(t.path().join("children")) {
                out.extend(c.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
            }
        }
    }
    out
}

/// The proportional set size (KiB) of `pid` and every process below it: shared library pages
/// are divided among the processes that map them, so the sum is what the app costs the machine
/// (a plain RSS sum counts WebKit's libraries once per process).
fn tree_pss(pid: u32) -> u64 {
    tree_sum(pid, "smaps_rollup", "Pss:")
}

/// The app's process under the driver (tauri-driver → WebKitWebDriver → consilium-desktop).
fn app_pid(driver_pid: u32) -> Option<u32> {
    let mut stack = vec![driver_pid];
    while let Some(p) = stack.pop() {
        let comm = std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
        if comm.trim().starts_with("consilium-deskt") {
            return Some(p);
        }
        stack.extend(children(p));
    }
    None
}

struct Cold {
    window: Duration,
    unlocked_list: Duration,
}

/// Launches the app on `profile`, waits for the lock screen, unlocks, waits for the first row.
async fn cold_start(w: &Window, started: Instant) -> Cold {
    w.sees("Unlock Consilium").await;
    let window = started.elapsed();
    w.type_in("input[name=passphrase]", PASSPHRASE).await;
    let t = Instant::now();
    w.press("Unlock").await;
    w.sees("All cases").await;
    wait_js(w, "return document.querySelectorAll('.case-row').length > 0 || document.querySelector('.empty') !== null").await;
    Cold {
        window,
        unlocked_list: t.elapsed(),
    }
}

async fn wait_js(w: &Window, script: &str) {
    let t = Instant::now();
    loop {
        if w.c.execute(script, vec![]).await.unwrap().as_bool() == Some(true) {
            return;
        }
        assert!(t.elapsed() < window::WAIT, "never true: {script}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Opens the case titled `title` from the list; the time until every thumbnail is decoded.
async fn open_case(w: &Window, title: &str, images: usize) -> Duration {
    let el = w.case_row(title).await;
    let t = Instant::now();
    el.click().await.unwrap();
    let script = format!(
        "const h = document.querySelector('article.case h1'); \
         const imgs = [...document.querySelectorAll('.tile img')]; \
         return !!h && h.textContent === '{title}' && imgs.length === {images} && imgs.every(i => i.complete && i.naturalWidth > 0)"
    );
    wait_js(w, &script).await;
    t.elapsed()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    // Under `cargo test` (no `--bench`) there is nothing to check quickly: the figures need the
    // release binary and minutes of idling.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("desktop bench: run with `cargo bench` (see the file's header)");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let app = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("consilium-desktop");
    assert!(
        app.exists(),
        "build it first: cargo build --release -p consilium-desktop"
    );
    let root = tempfile::tempdir().unwrap();
    let photos: Vec<PathBuf> = (0..8)
        .map(|i| {
            consilium_testkit::camera_photo(
                root.path(),
                &format!("p{i}.jpg"),
                3000,
                2000,
                1,
                "bench",
            )
        })
        .collect();

    // The real passphrase derivation, on its own.
    let kdf_dir = root.path().join("kdf");
    profile(&kdf_dir, 0, &[], KdfParams::INTERACTIVE).lock();
    let t = Instant::now();
    Engine::unlock(
        &kdf_dir,
        &Passphrase::new(PASSPHRASE),
        EngineConfig::default(),
    )
    .unwrap()
    .lock();
    let kdf = t.elapsed();

    let empty = root.path().join("empty");
    profile(&empty, 0, &[], KdfParams::TEST_ONLY_WEAK).lock();
    let full = root.path().join("full");
    let t = Instant::now();
    profile(&full, CASES, &photos, KdfParams::TEST_ONLY_WEAK).lock();
    eprintln!(
        "made {CASES} cases and one with 8 images in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut results: Vec<(String, Vec<f64>)> = Vec::new();
    let mut record = |name: &str, v: f64| match results.iter_mut().find(|(n, _)| n == name) {
        Some((_, vs)) => vs.push(v),
        None => results.push((name.to_string(), vec![v])),
    };
    for run in 0..RUNS {
        for (label, dir) in [("empty", &empty), ("5000", &full)] {
            let driver = Driver::start(dir, "http://127.0.0.1:9", &root.path().join("driver.log"));
            rt.block_on(async {
                let started = Instant::now();
                let w = Window::open(&driver, &app).await;
                let cold = cold_start(&w, started).await;
                record(&format!("cold_window_{label}_ms"), ms(cold.window));
                record(&format!("unlock_to_list_{label}_ms"), ms(cold.unlocked_list));
                record(&format!("cold_total_{label}_ms"), ms(cold.window + cold.unlocked_list));
                if label == "5000" {
                    // The frame interval of this display with nothing to do: the floor of
                    // any step that waits for a frame (the scroll's baseline).
                    let frame = w
                        .c
                        .execute_async(
                            "const done = arguments[arguments.length - 1]; let i = 0; \
                             const t0 = performance.now(); \
                             const tick = () => { if (++i < 60) requestAnimationFrame(tick); \
                               else done((performance.now() - t0) / 60); }; \
                             requestAnimationFrame(tick);",
                            vec![],
                        )
                        .await;
                    if let Ok(frame) = frame {
                        record("idle_frame_ms", frame.as_f64().unwrap_or(f64::NAN));
                    }
                    record("open_case_no_images_ms", ms(open_case(&w, "No images", 0).await));
                    record("open_case_eight_images_ms", ms(open_case(&w, "Eight images", 8).await));
                    let scroll = w
                        .c
                        .execute_async(
                            // One step a frame; a frame that does not come within 50 ms
                            // (WebKit can pause a window it thinks hidden) is counted, and
                            // the step goes on a timer.
                            "const done = arguments[arguments.length - 1]; \
                             const list = document.querySelector('.rows'); let i = 0; let most = 0; let stalls = 0; \
                             const next = (f) => { let fired = false; \
                               requestAnimationFrame(() => { if (!fired) { fired = true; f(); } }); \
                               setTimeout(() => { if (!fired) { fired = true; stalls++; f(); } }, 50); }; \
                             const t0 = performance.now(); \
                             const step = () => { list.scrollTop += 64 * 25; \
                               most = Math.max(most, list.querySelectorAll('.case-row').length); \
                               if (++i < 200) next(step); \
                               else done([(performance.now() - t0) / 200, most, stalls]); }; \
                             next(step);",
                            vec![],
                        )
                        .await;
                    // Now and then WebKit pauses the page's frames and timers altogether under
                    // Xvfb (the script times out); that run's scroll is counted, not measured.
                    match scroll {
                        Ok(scroll) => {
                            record("scroll_step_ms", scroll[0].as_f64().unwrap());
                            record("rows_in_dom", scroll[1].as_f64().unwrap());
                            record("scroll_frames_stalled", scroll[2].as_f64().unwrap());
                        }
                        Err(e) => {
                            eprintln!("scroll not measured in this run: {e}");
                            record("scroll_runs_paused", 1.0);
                        }
                    }
                }
                // Idle with the list shown, then the resident memory of the whole app.
                tokio::time::sleep(Duration::from_secs(10)).await;
                let pid = app_pid(driver.pid()).expect("the app's process");
                record(&format!("idle_rss_{label}_mib"), tree_rss(pid) as f64 / 1024.0);
                record(&format!("idle_pss_{label}_mib"), tree_pss(pid) as f64 / 1024.0);
                record(&format!("idle_rss_app_only_{label}_mib"), {
                    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
                    s.lines().find_map(|l| l.strip_prefix("VmRSS:")).unwrap().split_whitespace().next().unwrap().parse::<f64>().unwrap() / 1024.0
                });
                let _ = w.c.close().await;
            });
            eprintln!("run {run} {label} done");
        }
    }
    println!("RESULT kdf_interactive_ms {:.1}", ms(kdf));
    for (name, vs) in &results {
        println!(
            "RESULT {name} {:.1} (median of {}: {:?})",
            median(vs.clone()),
            vs.len(),
            vs.iter()
                .map(|v| (v * 10.0).round() / 10.0)
                .collect::<Vec<_>>()
        );
    }
    let get = |n: &str| median(results.iter().find(|(k, _)| k == n).unwrap().1.clone());
    println!(
        "RESULT ratio_cold_total_5000_vs_empty {:.2}",
        get("cold_total_5000_ms") / get("cold_total_empty_ms")
    );
    println!(
        "RESULT ratio_open_eight_vs_none {:.2}",
        get("open_case_eight_images_ms") / get("open_case_no_images_ms")
    );
    println!(
        "RESULT ratio_idle_rss_5000_vs_empty {:.2}",
        get("idle_rss_5000_mib") / get("idle_rss_empty_mib")
    );
    println!(
        "RESULT ratio_idle_pss_5000_vs_empty {:.2}",
        get("idle_pss_5000_mib") / get("idle_pss_empty_mib")
    );
    if results.iter().any(|(k, _)| k == "idle_frame_ms") {
        println!(
            "RESULT ratio_scroll_step_vs_idle_frame {:.2}",
            get("scroll_step_ms") / get("idle_frame_ms")
        );
    }
}
