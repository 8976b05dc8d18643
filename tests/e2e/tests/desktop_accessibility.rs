//! The window for a physician who works by keyboard or with a screen reader: one whole journey
//! (create the profile, create a circle, write a case, attach an image, redact it, share it,
//! look at it zoomed) driven by keys alone, with axe-core run over every screen on the way, in
//! the light and the dark theme. Only the operating system's file chooser is stood in for: the
//! file input is reached and opened by keys, and the WebDriver gives it the file's path.

use fantoccini::key::Key;
use serde_json::json;

use crate::support::window::Window;
use crate::support::{Cli, PASSPHRASE, Relay, with_window};

const TITLE: &str = "Pruritic papules on both shins";
const CIRCLE: &str = "Dermatology Rennes";

fn key(k: Key) -> String {
    char::from(k).to_string()
}

/// Every screen the journey passes, and what axe-core found wrong on it.
struct Audit {
    screens: Vec<&'static str>,
    violations: Vec<String>,
}

impl Audit {
    async fn check(&mut self, w: &Window, screen: &'static str) {
        self.screens.push(screen);
        for v in w.axe().await {
            self.violations.push(format!("{screen}: {v}"));
        }
    }
}

#[test]
fn every_screen_passes_axe_and_a_whole_journey_goes_by_keys_alone() {
    let root = tempfile::tempdir().unwrap();
    let relay = Relay::start(&root.path().join("relay"));
    let photo = consilium_testkit::camera_photo(root.path(), "shins.jpg", 1600, 1200, 1, "keys");
    // A colleague on the CLI, so the circle has someone to share with.
    let b = Cli::init(root.path(), "Dr Bruno Lefevre", "Dermatology");
    let mut audit = Audit {
        screens: vec![],
        violations: vec![],
    };
    with_window(root.path(), &relay.url(), async |w| {
        let enter = key(Key::Enter);
        // First run: three screens, paged by keys; each heading takes the focus.
        w.sees_t("welcome.passphrase_title").await;
        audit.check(w, "first run").await;
        for _ in 0..2 {
            w.tab_to_button(&w.t("welcome.next").await).await;
            w.keys(&enter).await;
        }
        w.sees_t("welcome.start_title").await;
        w.tab_to_button(&w.t("welcome.begin").await).await;
        w.keys(&enter).await;

        // The profile.
        w.sees_t("lock.create_title").await;
        audit.check(w, "create profile").await;
        w.tab_to("input[name=name]").await;
        w.keys("Dr Alice Martin").await;
        w.tab_to("input[name=specialty]").await;
        w.keys("Dermatology").await;
        w.tab_to("input[name=passphrase]").await;
        w.keys(PASSPHRASE).await;
        w.tab_to("input[name=confirm]").await;
        w.keys(PASSPHRASE).await;
        w.keys(&enter).await;
        w.sees_t("sidebar.all_cases").await;
        audit.check(w, "case list, empty").await;

        // A circle, from the sidebar's link.
        w.tab_to_button(&w.t("sidebar.new_or_join").await).await;
        w.keys(&enter).await;
        w.sees_t("circles.create_title").await;
        audit.check(w, "circles").await;
        let label = w.t("circles.name").await;
        w.tab_to(&format!("input[aria-label='{label}']")).await;
        w.keys(CIRCLE).await;
        w.keys(&enter).await;
        w.sees_t("circle.make_invite").await;
        w.tab_to_button(&w.t("circle.make_invite").await).await;
        w.keys(&enter).await;
        let label = w.t("circles.invite_code").await;
        let code = w
            .field(&format!("textarea[aria-label='{label}']"))
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap();
        b.ok(&["circle", "join", code.trim()]);
        let approve = w
            .tv("circle.approve", json!({"name": "Dr Bruno Lefevre"}))
            .await;
        w.sees(&approve).await;
        audit.check(w, "circle, with a join request").await;
        let compared = w
            .tv("circle.compared_label", json!({"name": "Dr Bruno Lefevre"}))
            .await;
        w.tab_to(&format!("input[aria-label='{compared}']")).await;
        w.keys(" ").await;
        w.tab_to_button(&approve).await;
        w.keys(&enter).await;
        w.sees_t("circle.no_requests").await;

        // A case: Ctrl+N, the form by Tab, saved with Enter.
        w.chord(Key::Control, 'n').await;
        w.tab_to("input[name=title]").await;
        w.keys(TITLE).await;
        audit.check(w, "new case").await;
        w.tab_to("textarea[name=history]").await;
        w.keys("Three weeks of itchy papules on both shins after a new washing powder.")
            .await;
        w.tab_to_button(&w.t("editor.save_draft").await).await;
        w.keys(&enter).await;
        w.sees_t("case.written_by_you").await;
        audit.check(w, "case, a draft").await;

        // Back to the editor (Ctrl+E); the image through the file input, reached by Tab.
        w.chord(Key::Control, 'e').await;
        w.tab_to("input[type=file][name=images]").await;
        let focused = w.c.active_element().await.unwrap();
        focused.send_keys(photo.to_str().unwrap()).await.unwrap();
        w.sees(&w.tv("case.image", json!({"n": 1})).await).await;
        w.sees_t("report.gps").await;
        audit.check(w, "case editor, with an image").await;

        // The redaction editor by keys: a typed rectangle, burned in; Escape would close it.
        w.tab_to_button(&w.t("editor.redact").await).await;
        w.keys(&enter).await;
        w.sees_t("redact.nothing_to_hide").await;
        audit.check(w, "redaction editor").await;
        for (field, value) in [(1, "20"), (2, "20"), (3, "200"), (4, "150")] {
            w.tab_to(&format!(".typed label:nth-of-type({field}) input"))
                .await;
            w.keys(&format!("{}{value}", key(Key::Backspace))).await;
        }
        w.tab_to_button(&w.t("redact.add").await).await;
        w.keys(&enter).await;
        let burn = w.tv("redact.burn_in", json!({"n": 1})).await;
        w.tab_to_button(&burn).await;
        w.keys(&enter).await;
        w.sees(&w.tv("report.redactions", json!({"n": 1})).await)
            .await;

        // Shared from the editor: consent with Space, the circle with the arrow keys.
        w.tab_to("input[name=consent]").await;
        w.keys(" ").await;
        w.tab_to(".share-box select").await;
        w.keys(&key(Key::Down)).await;
        let share = w.t("editor.save_and_share").await;
        w.tab_to_button(&share).await;
        audit.check(w, "case editor, ready to share").await;
        w.keys(&enter).await;
        w.sees(&w.tv("case.in_circles", json!({"circles": CIRCLE})).await)
            .await;
        audit.check(w, "case, shared").await;

        // The image viewer: opened with Enter, zoomed with +, closed with Escape.
        let open = w.tv("case.open_image", json!({"n": 1, "of": 1})).await;
        w.tab_to(&format!("button[aria-label='{open}']")).await;
        w.keys(&enter).await;
        w.sees_t("viewer.help").await;
        audit.check(w, "image viewer").await;
        let zoom = |w: &Window| {
            let c = w.c.clone();
            async move {
                c.execute(
                    "return document.querySelector('.viewer .bar span').textContent;",
                    vec![],
                )
                .await
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
            }
        };
        let before = zoom(w).await;
        w.keys("+").await;
        let after = zoom(w).await;
        assert_ne!(before, after, "+ did not zoom");
        w.keys(&key(Key::Escape)).await;
        let started = std::time::Instant::now();
        while w.shows(&w.t("viewer.help").await).await {
            assert!(
                started.elapsed().as_secs() < 20,
                "Escape did not close the viewer"
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        let back =
            w.c.execute(
                "return document.activeElement.getAttribute('aria-label');",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            back.as_str(),
            Some(open.as_str()),
            "the focus went back to the image"
        );

        // Settings by Ctrl+, and the dark theme, checked again where colours matter most.
        w.chord(Key::Control, ',').await;
        w.sees_t("settings.relay").await;
        audit.check(w, "settings").await;
        // A radio group is one Tab stop; the arrow keys choose within it.
        w.tab_to("input[name=theme]:checked").await;
        w.keys(&key(Key::Down).repeat(2)).await;
        w.tab_to_button(&w.t("settings.save").await).await;
        w.keys(&enter).await;
        w.sees_t("settings.saved").await;
        audit.check(w, "settings, dark").await;
        w.case_row(TITLE).await;
        w.tab_to("button.case-row").await;
        w.keys(&enter).await;
        w.sees_t("case.written_by_you").await;
        audit.check(w, "case, dark").await;

        // Locked by Ctrl+L: the unlock screen.
        w.chord(Key::Control, 'l').await;
        w.sees_t("lock.unlock_title").await;
        audit.check(w, "unlock").await;
    });
    assert!(audit.screens.len() >= 14, "{:?}", audit.screens);
    assert!(
        audit.violations.is_empty(),
        "axe-core found serious or critical violations:\n{}",
        audit.violations.join("\n")
    );
}
