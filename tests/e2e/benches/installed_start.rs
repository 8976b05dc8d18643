//! The installed app's cold start against the development build's: the packaged, stripped
//! release `consilium-desktop` (`/usr/bin/consilium-desktop`, or `CONSILIUM_INSTALLED_APP`)
//! and the debug build the developers run (`target/debug/consilium-desktop`), each started on
//! the same empty profile under Xvfb over WebDriver, alternately, until the lock screen shows and
//! then until the unlocked case list does. Medians of five runs each.
//!
//! Run: `bash tests/bench/installed_start.sh` (builds and installs the package, then this).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "../tests/support/window.rs"]
mod window;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use consilium_client::{Engine, EngineConfig, KdfParams, Passphrase};
use window::{Driver, Window};

const PASSPHRASE: &str = "bench passphrase, long enough 4 all";
const RUNS: usize = 5;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("installed_start bench: run tests/bench/installed_start.sh");
        return;
    }
    let installed = PathBuf::from(
        std::env::var_os("CONSILIUM_INSTALLED_APP")
            .unwrap_or_else(|| "/usr/bin/consilium-desktop".into()),
    );
    assert!(
        installed.exists(),
        "install the package first: {installed:?}"
    );
    // target/release/deps/installed_start-… → target/debug/consilium-desktop
    let target = std::env::current_exe().unwrap();
    let development = target
        .ancestors()
        .nth(3)
        .unwrap()
        .join("debug/consilium-desktop");
    assert!(
        development.exists(),
        "build it first: cargo build -p consilium-desktop"
    );
    let root = tempfile::tempdir().unwrap();
    let profile = root.path().join("profile");
    let config = EngineConfig {
        kdf: KdfParams::TEST_ONLY_WEAK,
        ..Default::default()
    };
    Engine::init(
        &profile,
        &Passphrase::new(PASSPHRASE),
        "Dr Bench",
        "Dermatology",
        config,
    )
    .unwrap()
    .lock();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut figures: Vec<(&str, &str, Vec<f64>)> = Vec::new();
    for _ in 0..RUNS {
        for (label, app) in [("installed", &installed), ("development", &development)] {
            let driver = Driver::start(
                &profile,
                "http://127.0.0.1:9",
                &root.path().join("driver.log"),
            );
            let (window, list) = rt.block_on(async {
                let started = Instant::now();
                let w = Window::open(&driver, app).await;
                w.sees("Unlock Consilium").await;
                let window = started.elapsed();
                w.type_in("input[name=passphrase]", PASSPHRASE).await;
                w.press("Unlock").await;
                w.sees("All cases").await;
                let list = started.elapsed();
                let _ = w.c.close().await;
                (window, list)
            });
            drop(driver);
            for (what, d) in [("window", window), ("list", list)] {
                let ms = d.as_secs_f64() * 1000.0;
                match figures
                    .iter_mut()
                    .find(|(l, w, _)| *l == label && *w == what)
                {
                    Some((_, _, v)) => v.push(ms),
                    None => figures.push((label, what, vec![ms])),
                }
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    let get = |label: &str, what: &str| {
        median(
            figures
                .iter()
                .find(|(l, w, _)| *l == label && *w == what)
                .unwrap()
                .2
                .clone(),
        )
    };
    for what in ["window", "list"] {
        let (i, d) = (get("installed", what), get("development", what));
        println!("RESULT start_to_{what}_installed_ms {i:.0}");
        println!("RESULT start_to_{what}_development_ms {d:.0}");
        println!(
            "RESULT ratio_start_to_{what}_installed_vs_development {:.2}",
            i / d
        );
    }
}
