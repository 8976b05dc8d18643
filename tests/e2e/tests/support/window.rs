//! The desktop window driven over WebDriver: `tauri-driver` (in front of `WebKitWebDriver`)
//! launching the real app binary, and a client that reads what the window shows. Shared by the
//! window's end-to-end test and its benchmark.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};

/// How long the window may take to show what a step expects.
pub const WAIT: Duration = Duration::from_secs(90);

pub fn free_port() -> u16 {
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
pub struct Driver {
    child: Child,
    pub port: u16,
}

impl Driver {
    /// (The benchmarks start it this way; the tests through `with_window`.)
    #[allow(dead_code)]
    pub fn start(profile: &Path, relay: &str, log: &Path) -> Driver {
        Driver::start_in(profile, relay, log, None)
    }

    /// Like `start`, with the app in the system locale `locale` ("fr_FR.UTF-8").
    pub fn start_in(profile: &Path, relay: &str, log: &Path, locale: Option<&str>) -> Driver {
        assert!(
            std::env::var_os("DISPLAY").is_some(),
            "the desktop test needs a display: run it under xvfb-run"
        );
        let (port, native) = (free_port(), free_port());
        // Its own process group, so the WebKitWebDriver and app it starts go with it.
        // English unless asked otherwise, whatever the machine's own locale.
        let locale = locale.unwrap_or("en_US.UTF-8");
        let mut command = Command::new(tauri_driver());
        command
            .env("LANG", locale)
            .env("LC_ALL", locale)
            .env("LANGUAGE", locale.split('.').next().unwrap_or(locale));
        let child = command
            .process_group(0)
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .env("CONSILIUM_PROFILE", profile)
            .env("CONSILIUM_RELAY", relay)
            .env("CONSILIUM_EMBEDDED_RELAY", "0")
            .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .expect("tauri-driver is missing: bash scripts/install-deps.sh installs it");
        // Both must listen: tauri-driver forwards the session request to WebKitWebDriver and,
        // if that one is not up yet (a loaded CI machine), closes the connection unanswered.
        let started = Instant::now();
        let listening = |p: u16| std::net::TcpStream::connect(("127.0.0.1", p)).is_ok();
        while !(listening(port) && listening(native)) {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "tauri-driver or WebKitWebDriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver { child, port }
    }
}

impl Driver {
    /// tauri-driver's process id (the benchmark finds the app below it).
    #[allow(dead_code)]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Ok(group) = i32::try_from(self.child.id()) {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{group}")])
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The window as a person sees it.
pub struct Window {
    pub c: Client,
    shots: Option<PathBuf>,
}

impl Window {
    #[allow(dead_code)]
    pub async fn open(driver: &Driver, app: &Path) -> Window {
        Window::open_with_shots_in(driver, app, None).await
    }

    /// Like `open`, keeping screenshots in `subfolder` of `CONSILIUM_SCREENSHOTS` (a language's).
    pub async fn open_with_shots_in(
        driver: &Driver,
        app: &Path,
        subfolder: Option<&str>,
    ) -> Window {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": app }),
        );
        caps.insert("browserName".into(), "wry".into());
        // Two TLS back ends are in the build; the WebDriver client (plain HTTP to loopback)
        // takes ring. Already chosen is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let c = ClientBuilder::rustls()
            .unwrap()
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .expect("a WebDriver session on the desktop window");
        let shots = std::env::var_os("CONSILIUM_SCREENSHOTS")
            .map(PathBuf::from)
            .map(|d| subfolder.map_or(d.clone(), |s| d.join(s)));
        Window { c, shots }
    }

    /// Waits until the window shows `text` somewhere.
    pub async fn sees(&self, text: &str) {
        let started = Instant::now();
        loop {
            if self.shows(text).await {
                return;
            }
            if started.elapsed() > WAIT {
                self.shot("failure").await;
                panic!(
                    "the window never showed {text:?}; it shows:\n{}",
                    self.text().await
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The window's words for catalog message `key`, in its language: the page formats them
    /// (`window.__consiliumT`), so a journey runs the same in every language.
    pub async fn t(&self, key: &str) -> String {
        self.tv(key, serde_json::json!({})).await
    }

    /// Like `t`, with the message's placeholders filled in.
    pub async fn tv(&self, key: &str, values: serde_json::Value) -> String {
        let started = Instant::now();
        loop {
            let said = self
                .c
                .execute(
                    "return window.__consiliumT ? window.__consiliumT(arguments[0], arguments[1]) : null;",
                    vec![key.into(), values.clone()],
                )
                .await
                .ok()
                .and_then(|v| v.as_str().map(str::to_string));
            match said {
                Some(s) if s != key => return s,
                Some(_) => panic!("{key} is in no catalog"),
                None if started.elapsed() < WAIT => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                None => panic!("the page never offered its words"),
            }
        }
    }

    /// Waits until the window shows catalog message `key`.
    pub async fn sees_t(&self, key: &str) {
        let text = self.t(key).await;
        self.sees(&text).await;
    }

    /// Clicks the enabled button whose text starts with catalog message `key`.
    pub async fn press_t(&self, key: &str) {
        let label = self.t(key).await;
        self.press(&label).await;
    }

    pub async fn shows(&self, text: &str) -> bool {
        // WebDriver gives a page's no-break spaces (French puts them before colons) as spaces.
        let plain = |s: &str| s.replace(['\u{a0}', '\u{202f}'], " ");
        plain(&self.text().await).contains(&plain(text))
    }

    /// The page's text, and any script error the page recorded.
    pub async fn text(&self) -> String {
        let mut text = match self.c.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        let errors = self
            .c
            .execute(
                "return (window.__consiliumErrors || []).join('\\n');",
                vec![],
            )
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        if !errors.is_empty() {
            text.push_str("\n[script errors]\n");
            text.push_str(&errors);
        }
        text
    }

    pub async fn field(&self, css: &str) -> fantoccini::elements::Element {
        match self
            .c
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(field) => field,
            Err(e) => {
                // What the window showed instead (an error banner, another screen) says why.
                self.shot("failure").await;
                panic!("no {css}: {e}; the window shows:\n{}", self.text().await)
            }
        }
    }

    /// Ticks the checkbox `css`, clicking again while the page still moves under the click
    /// (images loading above it) until it reads ticked.
    pub async fn tick(&self, css: &str) {
        for _ in 0..5 {
            let b = self.field(css).await;
            let _ = self
                .c
                .execute(
                    "arguments[0].scrollIntoView({block: 'center'});",
                    vec![serde_json::to_value(&b).unwrap()],
                )
                .await;
            if b.prop("checked").await.unwrap().as_deref() != Some("true") {
                b.click().await.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            if self
                .field(css)
                .await
                .prop("checked")
                .await
                .unwrap()
                .as_deref()
                == Some("true")
            {
                return;
            }
        }
        self.shot("failure").await;
        panic!("{css} never read ticked");
    }

    pub async fn type_in(&self, css: &str, text: &str) {
        let f = self.field(css).await;
        f.clear().await.unwrap();
        f.send_keys(text).await.unwrap();
    }

    pub async fn choose(&self, css: &str, value: &str) {
        self.field(css).await.select_by_value(value).await.unwrap();
    }

    /// The case list's row of the case whose title contains `title`, once it is drawn (rows are
    /// found by XPath: WebKitWebDriver's page text leaves the virtual list's rows out).
    pub async fn case_row(&self, title: &str) -> fantoccini::elements::Element {
        let xpath = format!("//button[contains(@class,'case-row')][contains(., '{title}')]");
        match self
            .c
            .wait()
            .at_most(WAIT)
            .for_element(Locator::XPath(&xpath))
            .await
        {
            Ok(row) => row,
            Err(_) => {
                self.shot("failure").await;
                panic!("no row for {title:?} in the case list");
            }
        }
    }

    /// Clicks the enabled button whose text starts with `label`.
    pub async fn press(&self, label: &str) {
        let xpath =
            format!("//button[starts-with(normalize-space(.), '{label}') and not(@disabled)]");
        let button = self
            .c
            .wait()
            .at_most(WAIT)
            .for_element(Locator::XPath(&xpath))
            .await
            .ok();
        let Some(button) = button else {
            self.shot("failure").await;
            panic!(
                "no enabled button {label:?}; the window shows:\n{}",
                self.text().await
            );
        };
        // Into the middle of the view first: a button at the window's lower edge (longer words
        // push it there) can take a click that lands on nothing.
        let _ = self
            .c
            .execute(
                "arguments[0].scrollIntoView({block: 'center'});",
                vec![serde_json::to_value(&button).unwrap()],
            )
            .await;
        button.click().await.unwrap();
    }

    /// Presses `keys` (text, or `fantoccini::key::Key`s as chars) one after the other on
    /// whatever has the focus, as a person at the keyboard does.
    pub async fn keys(&self, keys: &str) {
        let mut actions = KeyActions::new("keyboard".into());
        for k in keys.chars() {
            actions = actions
                .then(KeyAction::Down { value: k })
                .then(KeyAction::Up { value: k });
        }
        self.c.perform_actions(actions).await.unwrap();
    }

    /// Presses `k` with `modifier` held (Ctrl+N).
    pub async fn chord(&self, modifier: Key, k: char) {
        let m = char::from(modifier);
        let actions = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: m })
            .then(KeyAction::Down { value: k })
            .then(KeyAction::Up { value: k })
            .then(KeyAction::Up { value: m });
        self.c.perform_actions(actions).await.unwrap();
    }

    /// Presses Tab until the focused element matches the script predicate `is` (on `e`, the
    /// focused element); panics after a window's worth of stops.
    pub async fn tab_until(&self, is: &str) {
        let check = format!("const e = document.activeElement; return !!e && ({is});");
        for _ in 0..80 {
            let there = self.c.execute(&check, vec![]).await.unwrap();
            if there.as_bool() == Some(true) {
                return;
            }
            self.keys(&char::from(Key::Tab).to_string()).await;
        }
        self.shot("failure").await;
        panic!(
            "Tab never reached an element where {is}; the window shows:\n{}",
            self.text().await
        );
    }

    /// Tabs to the element matching `css`.
    pub async fn tab_to(&self, css: &str) {
        self.tab_until(&format!("e.matches({})", serde_json::json!(css)))
            .await;
    }

    /// Tabs to the enabled button whose text starts with `label`.
    pub async fn tab_to_button(&self, label: &str) {
        self.tab_until(&format!(
            "e.tagName === 'BUTTON' && !e.disabled && e.textContent.trim().startsWith({})",
            serde_json::json!(label)
        ))
        .await;
    }

    /// axe-core's checks of what the window shows now (WCAG 2 A and AA, and best practices):
    /// the violations of serious or critical impact, each with the elements at fault.
    pub async fn axe(&self) -> Vec<String> {
        static AXE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let source = AXE.get_or_init(|| {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../ui/node_modules/axe-core/axe.min.js");
            std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e} (npm install in ui/)", path.display()))
        });
        let loaded = self
            .c
            .execute("return typeof window.axe === 'object';", vec![])
            .await
            .unwrap();
        if loaded.as_bool() != Some(true) {
            self.c
                .execute(source, vec![])
                .await
                .expect("axe-core loads");
        }
        let found = self
            .c
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                   .then((r) => done(r.violations
                     .filter((v) => v.impact === 'serious' || v.impact === 'critical')
                     .map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.slice(0, 4).map((n) => n.target.join(' ')).join(', ')}`)))
                   .catch((e) => done([`axe failed: ${e}`]));",
                vec![],
            )
            .await
            .expect("axe-core runs");
        // Anything but a list of findings is a run that did not happen, never "none found".
        let list = found
            .as_array()
            .unwrap_or_else(|| panic!("axe-core gave no list of findings: {found}"));
        list.iter()
            .map(|s| {
                s.as_str()
                    .unwrap_or_else(|| panic!("axe-core gave {s}"))
                    .to_string()
            })
            .collect()
    }

    /// Saves what the display shows (the real window, `import -window root`) when
    /// `CONSILIUM_SCREENSHOTS` names a folder. (WebKitWebDriver's own screenshot can stall.)
    pub async fn shot(&self, name: &str) {
        if let Some(dir) = &self.shots {
            std::fs::create_dir_all(dir).unwrap();
            tokio::time::sleep(Duration::from_millis(400)).await;
            let out = dir.join(format!("{name}.png"));
            let ok = Command::new("import")
                .args(["-window", "root"])
                .arg(&out)
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                eprintln!("screenshot {name} not taken (is ImageMagick installed?)");
            }
        }
    }
}
