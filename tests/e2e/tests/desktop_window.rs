//! The real desktop window under Xvfb, driven over WebDriver (`tauri-driver` in front of
//! `WebKitWebDriver`), against a real relay process; the second physician is the CLI on another
//! profile. Every check reads what the window shows.
//!
//! Needs a display (the test command runs the tests under `xvfb-run`), `tauri-driver`
//! (`scripts/install-deps.sh` installs it) and the desktop binary built with the front end.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

use crate::support::{Cli, PASSPHRASE, Relay, bin};

const TITLE: &str = "Annular plaque on the forearm, six weeks";
const CIRCLE: &str = "Dermatology Lyon";
const COMMENT: &str = "The scaly advancing edge favours tinea; a KOH prep would settle it.";
const WAIT: Duration = Duration::from_secs(90);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn tauri_driver() -> PathBuf {
    if let Some(p) = std::env::var_os("TAURI_DRIVER") {
        return p.into();
    }
    let cached = std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cache/consilium/tools/bin/tauri-driver"))
        .filter(|p| p.exists());
    cached.unwrap_or_else(|| "tauri-driver".into())
}

/// `tauri-driver` serving one app: the desktop binary on `profile`, pointed at `relay`.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start(profile: &Path, relay: &str, log: &Path) -> Driver {
        assert!(
            std::env::var_os("DISPLAY").is_some(),
            "the desktop test needs a display: run it under xvfb-run"
        );
        let (port, native) = (free_port(), free_port());
        let child = Command::new(tauri_driver())
            .args(["--port", &port.to_string(), "--native-port", &native.to_string()])
            .env("CONSILIUM_PROFILE", profile)
            .env("CONSILIUM_RELAY", relay)
            .env("CONSILIUM_EMBEDDED_RELAY", "0")
            .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .expect("tauri-driver is missing: bash scripts/install-deps.sh installs it");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "tauri-driver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The window as a person sees it.
struct Window {
    c: Client,
    shots: Option<PathBuf>,
}

impl Window {
    async fn open(driver: &Driver) -> Window {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": bin("consilium-desktop") }),
        );
        caps.insert("browserName".into(), "wry".into());
        let c = ClientBuilder::rustls()
            .unwrap()
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .expect("a WebDriver session on the desktop window");
        let shots = std::env::var_os("CONSILIUM_SCREENSHOTS").map(PathBuf::from);
        Window { c, shots }
    }

    /// Waits until the window shows `text` somewhere.
    async fn sees(&self, text: &str) {
        let started = Instant::now();
        loop {
            if self.shows(text).await {
                return;
            }
            assert!(started.elapsed() < WAIT, "the window never showed {text:?}; it shows:\n{}", self.text().await);
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn shows(&self, text: &str) -> bool {
        self.text().await.contains(text)
    }

    async fn text(&self) -> String {
        match self.c.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    async fn field(&self, css: &str) -> fantoccini::elements::Element {
        self.c
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
    }

    async fn type_in(&self, css: &str, text: &str) {
        let f = self.field(css).await;
        f.clear().await.unwrap();
        f.send_keys(text).await.unwrap();
    }

    async fn choose(&self, css: &str, value: &str) {
        self.field(css).await.select_by_value(value).await.unwrap();
    }

    /// Clicks the enabled button whose text starts with `label`.
    async fn press(&self, label: &str) {
        let xpath = format!("//button[starts-with(normalize-space(.), '{label}') and not(@disabled)]");
        self.c
            .wait()
            .at_most(WAIT)
            .for_element(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("no enabled button {label:?}: {e}"))
            .click()
            .await
            .unwrap();
    }

    async fn shot(&self, name: &str) {
        if let Some(dir) = &self.shots {
            std::fs::create_dir_all(dir).unwrap();
            let png = self.c.screenshot().await.unwrap();
            std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
        }
    }
}

fn photos(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for name in ["exif_gps.jpg", "flower.jpg"] {
        let p = match consilium_testkit::sample(name).filter(|p| p.exists()) {
            Some(p) => p,
            None => consilium_testkit::camera_photo(root, name, 1200, 900, 6, "desktop"),
        };
        out.push(p.to_str().unwrap().to_string());
    }
    out
}

#[test]
fn a_physician_works_a_case_through_the_window_with_a_colleague_on_the_cli() {
    let root = tempfile::tempdir().unwrap();
    let relay = Relay::start(&root.path().join("relay"));
    let relay_url = relay.url();
    let driver = Driver::start(
        &root.path().join("desktop-profile"),
        &relay_url,
        &root.path().join("tauri-driver.log"),
    );
    let b = Cli::init(root.path(), "Dr Bruno Lefevre", "Dermatology");
    let photos = photos(root.path());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let w = Window::open(&driver).await;
        let result = journey(&w, &b, &photos).await;
        let _ = w.c.close().await;
        result
    });
}

async fn journey(w: &Window, b: &Cli, photos: &[String]) {
    // Create the profile; the strength meter and confirmation gate the button.
    w.sees("Create your Consilium profile").await;
    w.type_in("input[name=name]", "Dr Alice Martin").await;
    w.type_in("input[name=specialty]", "Dermatology").await;
    w.type_in("input[name=passphrase]", PASSPHRASE).await;
    w.type_in("input[name=confirm]", PASSPHRASE).await;
    w.shot("create-profile").await;
    w.press("Create profile").await;
    w.sees("All cases").await;

    // A case with two images, one of them redacted.
    w.press("New case").await;
    w.type_in("input[name=title]", TITLE).await;
    w.choose("select[name=age_band]", "40-49").await;
    w.choose("select[name=sex]", "female").await;
    w.type_in("textarea[name=chief_complaint]", "Slowly enlarging itchy ring on the left forearm.").await;
    w.type_in("textarea[name=history]", "Six weeks. Cat at home. Topical steroid for two weeks made it spread.").await;
    w.type_in("textarea[name=examination]", "4 cm annular plaque, scaly advancing edge, central clearing.").await;
    w.type_in("input[name=working_diagnosis]", "Tinea corporis (incognito)").await;
    w.type_in("textarea[name=differential]", "Granuloma annulare\nNummular eczema").await;
    w.type_in("textarea[name=question]", "Would you treat empirically or confirm with KOH first?").await;
    w.press("Save draft").await;
    w.sees("written by you").await;
    // Back to the editor to add the images.
    w.press("Edit").await;
    w.sees("Drop photos here").await;
    let input = w.field("input[type=file][name=images]").await;
    input.send_keys(&photos.join("\n")).await.unwrap();
    w.sees("Image 2").await;
    w.sees("Removed").await;
    w.press("Redact").await;
    w.sees("Burn in 0").await;
    let typed = w.c.find_all(Locator::Css(".typed input")).await.unwrap();
    for (f, v) in typed.iter().zip(["10", "10", "300", "200"]) {
        f.clear().await.unwrap();
        f.send_keys(v).await.unwrap();
    }
    w.press("Add rectangle").await;
    w.shot("redaction-editor").await;
    w.press("Burn in 1").await;
    w.sees("1 redaction burned in").await;
    w.shot("case-editor").await;

    // A circle, and B's request to join it, approved in the window.
    w.press("New or join a circle").await;
    w.type_in("input[aria-label='Circle name']", CIRCLE).await;
    w.press("Create circle").await;
    w.press("Create an invite code").await;
    let code = w
        .field("textarea[aria-label='Invite code']")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert!(!code.trim().is_empty());
    b.ok(&["circle", "join", code.trim()]);
    w.sees("Approve Dr Bruno Lefevre").await;
    w.shot("join-request").await;
    w.press("Approve Dr Bruno Lefevre").await;
    let started = Instant::now();
    loop {
        b.ok(&["sync"]);
        let circles = b.json(&["circle", "list"]);
        if circles.as_array().is_some_and(|c| !c.is_empty()) {
            break;
        }
        assert!(started.elapsed() < WAIT, "B never joined");
        std::thread::sleep(Duration::from_millis(500));
    }
    w.sees("2 members").await;

    // Share from the editor (consent first), then open a poll on the case.
    let case_row = format!("//button[contains(@class,'case-row')][contains(., '{TITLE}')]");
    w.c.find(Locator::XPath(&case_row)).await.unwrap().click().await.unwrap();
    w.press("Edit").await;
    w.field("input[name=consent]").await.click().await.unwrap();
    w.choose(".share-box select", &circle_id(w).await).await;
    w.press("Save and share").await;
    w.sees(&format!("in {CIRCLE}")).await;
    w.type_in("input[aria-label='Poll options']", "Treat empirically, Confirm with KOH first").await;
    w.press("Open poll").await;
    w.sees("0 votes").await;

    // B receives it, comments and votes; the window shows both without a restart.
    let started = Instant::now();
    let case = loop {
        b.ok(&["sync"]);
        let listed = b.json(&["case", "list"]);
        if let Some(c) = listed.as_array().and_then(|l| l.first()) {
            let id = c["id"].as_str().unwrap().to_string();
            if b.json(&["case", "show", &id])["polls"].as_array().is_some_and(|p| !p.is_empty()) {
                break id;
            }
        }
        assert!(started.elapsed() < WAIT, "B never received the case and its poll");
        std::thread::sleep(Duration::from_millis(500));
    };
    let shown = b.json(&["case", "show", &case]);
    assert_eq!(shown["fields"]["title"], TITLE);
    assert_eq!(shown["attachments"].as_array().unwrap().len(), 2);
    b.ok(&["comment", &case, COMMENT]);
    b.ok(&["vote", &case, "Confirm with KOH first"]);
    b.ok(&["sync"]);
    w.sees(COMMENT).await;
    w.sees("1 vote · 100%").await;
    w.shot("case-view").await;

    // Lock; a wrong passphrase is refused in words; the right one brings the case back.
    w.press("Lock").await;
    w.sees("Unlock Consilium").await;
    w.type_in("input[name=passphrase]", "not the passphrase at all").await;
    w.press("Unlock").await;
    w.sees("That passphrase is not the one for this profile").await;
    w.shot("wrong-passphrase").await;
    w.type_in("input[name=passphrase]", PASSPHRASE).await;
    w.press("Unlock").await;
    w.sees(TITLE).await;
}

/// The id of the circle the window's share box offers (its only one).
async fn circle_id(w: &Window) -> String {
    let option = w.field(".share-box select option:not([disabled])").await;
    option.attr("value").await.unwrap().unwrap()
}
