//! The real desktop window under Xvfb, driven over WebDriver (`tauri-driver` in front of
//! `WebKitWebDriver`), against a real relay process; the second physician is the CLI on another
//! profile. Every check reads what the window shows.
//!
//! Needs a display (the test command runs the tests under `xvfb-run`), `tauri-driver`
//! (`scripts/install-deps.sh` installs it) and the desktop binary built with the front end.

use std::path::Path;
use std::time::{Duration, Instant};

use fantoccini::Locator;
use fantoccini::key::Key;
use serde_json::json;

use crate::support::window::{WAIT, Window};
use crate::support::with_window;
use crate::support::{Cli, PASSPHRASE, Relay};

const TITLE: &str = "Annular plaque on the forearm, six weeks";
const CIRCLE: &str = "Dermatology Lyon";
const COMMENT: &str = "The scaly advancing edge favours tinea; a KOH prep would settle it.";

/// A camera photo with GPS, serial numbers and a rotated orientation (made by exiftool), a real
/// photo from Pillow's test corpus, Pillow's portrait (a face), and pydicom's CT slice.
pub(crate) fn photos(root: &Path) -> Vec<String> {
    let camera = consilium_testkit::camera_photo(root, "forearm.jpg", 1600, 1200, 6, "desktop");
    let real = |name: &str| {
        consilium_testkit::sample(name)
            .filter(|p| p.exists())
            .unwrap_or_else(|| panic!("{name}: run tests/samples/fetch.sh"))
    };
    let ct = consilium_testkit::pydicom_file("CT_small.dcm")
        .filter(|p| p.exists())
        .expect("CT_small.dcm: run tests/samples/fetch.sh");
    [camera, real("flower.jpg"), real("hopper.jpg"), ct]
        .iter()
        .map(|p| p.to_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_physician_works_a_case_through_the_window_with_a_colleague_on_the_cli() {
    let root = tempfile::tempdir().unwrap();
    let relay = Relay::start(&root.path().join("relay"));
    let b = Cli::init(root.path(), "Dr Bruno Lefevre", "Dermatology");
    let photos = photos(root.path());
    with_window(root.path(), &relay.url(), async |w| {
        journey(w, &b, &photos).await;
    });
}

/// Prints how long the journey took to reach each step (the test's log shows where time goes).
fn step(name: &str) {
    use std::sync::OnceLock;
    static START: OnceLock<Instant> = OnceLock::new();
    let start = START.get_or_init(Instant::now);
    eprintln!("[desktop] {:>6.1} s  {name}", start.elapsed().as_secs_f64());
}

/// Skips the first-run screens, which a new profile folder shows first.
pub(crate) async fn skip_welcome(w: &Window) {
    w.sees_t("welcome.passphrase_title").await;
    w.press_t("welcome.skip").await;
}

/// Creates the profile; the strength meter and confirmation gate the button.
pub(crate) async fn create_profile(w: &Window, name: &str, specialty: &str) {
    skip_welcome(w).await;
    fill_profile(w, name, specialty).await;
}

/// Creates the profile from the create screen.
async fn fill_profile(w: &Window, name: &str, specialty: &str) {
    w.sees_t("lock.create_title").await;
    w.type_in("input[name=name]", name).await;
    w.type_in("input[name=specialty]", specialty).await;
    w.type_in("input[name=passphrase]", PASSPHRASE).await;
    w.type_in("input[name=confirm]", PASSPHRASE).await;
    w.shot("create-profile").await;
    w.press_t("lock.create").await;
    w.sees_t("sidebar.all_cases").await;
}

/// The three first-run screens, read to the end: they say what the passphrase protects, what
/// circles and the relay are, and how to begin; the create screen follows.
async fn welcome(w: &Window) {
    w.sees_t("welcome.passphrase_title").await;
    w.shot("welcome-1").await;
    w.press_t("welcome.next").await;
    w.sees_t("welcome.circles_title").await;
    w.shot("welcome-2").await;
    w.press_t("welcome.next").await;
    w.sees_t("welcome.start_title").await;
    w.shot("welcome-3").await;
    w.press_t("welcome.begin").await;
}

pub(crate) async fn journey(w: &Window, b: &Cli, photos: &[String]) {
    step("window open");
    welcome(w).await;
    fill_profile(w, "Dr Alice Martin", "Dermatology").await;
    step("profile created");

    // Settings: the longest auto-lock, so the window stays open while the colleague's CLI works.
    w.press_t("sidebar.settings").await;
    w.type_in("input[name=auto_lock]", "240").await;
    w.press_t("settings.save").await;
    w.sees_t("settings.saved").await;

    // A case with two images, one of them redacted.
    w.press_t("sidebar.new_case").await;
    w.type_in("input[name=title]", TITLE).await;
    w.choose("select[name=age_band]", "40-49").await;
    w.choose("select[name=sex]", "female").await;
    w.type_in(
        "textarea[name=chief_complaint]",
        "Slowly enlarging itchy ring on the left forearm.",
    )
    .await;
    w.type_in(
        "textarea[name=history]",
        "First noticed on 12/03/2024. Cat at home. Topical steroid for two weeks made it spread.",
    )
    .await;
    w.type_in(
        "textarea[name=examination]",
        "4 cm annular plaque, scaly advancing edge, central clearing.",
    )
    .await;
    w.type_in(
        "input[name=working_diagnosis]",
        "Tinea corporis (incognito)",
    )
    .await;
    w.type_in(
        "textarea[name=differential]",
        &format!(
            "Granuloma annulare{}Nummular eczema",
            char::from(Key::Enter)
        ),
    )
    .await;
    w.type_in(
        "textarea[name=question]",
        "Would you treat empirically or confirm with KOH first?",
    )
    .await;
    w.press_t("editor.save_draft").await;
    w.sees_t("case.written_by_you").await;
    // Back to the editor to add the images.
    w.press_t("case.edit").await;
    w.sees_t("editor.drop_here").await;
    let input = w.field("input[type=file][name=images]").await;
    input.send_keys(&photos.join("\n")).await.unwrap();
    w.sees(&w.tv("case.image", json!({"n": 4})).await).await;
    // The portrait's face is proposed for redaction and the image waits for the author; the CT
    // slice lost every DICOM attribute and kept its modality only.
    w.sees(&w.tv("report.faces_found", json!({"n": 1})).await)
        .await;
    w.sees(w.tv("editor.waits", json!({"what": ""})).await.trim())
        .await;
    let modality = w.tv("report.modality", json!({"modality": "CT"})).await;
    w.sees(&w.tv("report.kept_one", json!({"what": modality})).await)
        .await;
    // The camera photo was turned upright (1600 × 1200 → 1200 × 1600) and its metadata named.
    w.sees("1200 × 1600").await;
    w.sees_t("report.gps").await;
    w.press_t("editor.redact").await;
    w.sees_t("redact.nothing_to_hide").await;
    let typed = w.c.find_all(Locator::Css(".typed input")).await.unwrap();
    for (f, v) in typed.iter().zip(["10", "10", "300", "200"]) {
        f.clear().await.unwrap();
        f.send_keys(v).await.unwrap();
    }
    w.press_t("redact.add").await;
    w.shot("redaction-editor").await;
    let burn_one = w.tv("redact.burn_in", json!({"n": 1})).await;
    w.press(&burn_one).await;
    w.sees(&w.tv("report.redactions", json!({"n": 1})).await)
        .await;
    // The face: the editor opens with the proposal drawn; the author keeps it and burns it in.
    w.press_t("editor.review").await;
    w.sees(&w.tv("redact.proposed_face", json!({"n": 1})).await)
        .await;
    w.shot("face-proposal").await;
    w.press(&burn_one).await;
    w.sees(&w.tv("report.proposals_accepted", json!({"n": 1})).await)
        .await;
    // The CT's modality goes into the case only when the author copies it.
    let field = w.t("field.investigations").await;
    w.press(
        &w.tv("editor.copy_imaging", json!({"line": "CT", "field": field}))
            .await,
    )
    .await;
    let investigations = w
        .field("textarea[name=investigations]")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    let imaging = w.tv("editor.imaging", json!({"line": "CT"})).await;
    assert!(investigations.contains(&imaging), "{investigations}");
    // A 30-frame ultrasound loop: the author shows its tenth frame in place of the first, then
    // decides against the image and removes it.
    let cine = consilium_testkit::pydicom_file("examples_ybr_color.dcm")
        .filter(|p| p.exists())
        .expect("examples_ybr_color.dcm: run tests/samples/fetch.sh");
    w.field("input[type=file][name=images]")
        .await
        .send_keys(cine.to_str().unwrap())
        .await
        .unwrap();
    let image5 = w.tv("case.image", json!({"n": 5})).await;
    w.sees(&image5).await;
    w.sees(&w.tv("report.frame", json!({"n": 1, "of": 30})).await)
        .await;
    w.type_in("input[name=frame-5]", "10").await;
    w.press_t("editor.show_frame").await;
    let frame10 = w.tv("report.frame", json!({"n": 10, "of": 30})).await;
    w.sees(&frame10).await;
    w.shot("dicom-frame").await;
    let remove = w.t("common.remove").await;
    w.c.find(Locator::XPath(&format!(
        "//li[contains(@class,'image-item')][.//strong[normalize-space(.)='{image5}']]//button[normalize-space(.)='{remove}']",
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    let started = Instant::now();
    while w.shows(&frame10).await {
        assert!(started.elapsed() < WAIT, "the loop was never removed");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    w.shot("case-editor").await;

    step("case with images");
    // A circle, and B's request to join it, approved in the window.
    w.press_t("sidebar.new_or_join").await;
    let label = w.t("circles.name").await;
    w.type_in(&format!("input[aria-label='{label}']"), CIRCLE)
        .await;
    w.press_t("circles.create").await;
    w.press_t("circle.make_invite").await;
    let label = w.t("circles.invite_code").await;
    let code = w
        .field(&format!("textarea[aria-label='{label}']"))
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert!(!code.trim().is_empty());
    b.ok(&["circle", "join", code.trim()]);
    let bruno = json!({"name": "Dr Bruno Lefevre"});
    let approve = w.tv("circle.approve", bruno.clone()).await;
    w.sees(&approve).await;
    w.shot("join-request").await;
    let compared = w.tv("circle.compared_label", bruno).await;
    w.tick(&format!("input[aria-label='{compared}']")).await;
    w.press(&approve).await;
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
    w.sees(&w.tv("circle.members_count", json!({"n": 2})).await)
        .await;

    step("B joined");
    // A second draft holds Pillow's portrait, whose face is proposed for redaction and not yet
    // settled: sharing it from the case view is refused, and the window says why in words.
    w.press_t("sidebar.new_case").await;
    w.type_in("input[name=title]", "Portrait awaiting review")
        .await;
    w.press_t("editor.save_draft").await;
    w.sees_t("case.written_by_you").await;
    w.press_t("case.edit").await;
    w.field("input[type=file][name=images]")
        .await
        .send_keys(&photos[2])
        .await
        .unwrap();
    w.sees(&w.tv("report.faces_found", json!({"n": 1})).await)
        .await;
    w.case_row("Portrait awaiting review")
        .await
        .click()
        .await
        .unwrap();
    let option = w
        .field(".author-tools select option:not([disabled])")
        .await
        .attr("value")
        .await
        .unwrap()
        .unwrap();
    w.choose(".author-tools select", &option).await;
    w.press_t("share.share").await;
    w.sees_t("error.image_review_needed").await;
    w.shot("image-review-needed").await;
    // The message stays until dismissed (it would cover the editor's share box below).
    let dismiss = w.t("app.dismiss").await;
    w.c.find(Locator::Css(&format!("button[aria-label='{dismiss}']")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    step("an image awaiting review holds the share, in words");
    // Share from the editor (consent first), then open a poll on the case.
    w.case_row(TITLE).await.click().await.unwrap();
    w.press_t("case.edit").await;
    // The text scan found the date in the history: sharing waits for the author's decision.
    // (Waiting for the scan and the report first: a click made while they still push the share
    // box down could land on "Not an identifier".)
    w.sees(&w.tv("privacy.left", json!({"n": 1})).await).await;
    w.sees_t("deid.title").await;
    w.tick("input[name=consent]").await;
    w.choose(".share-box select", &circle_id(w).await).await;
    let save_and_share = w.t("editor.save_and_share").await;
    let share =
        w.c.find(Locator::XPath(&format!(
            "//button[normalize-space(.)='{save_and_share}']"
        )))
        .await
        .unwrap();
    assert!(
        share.attr("disabled").await.unwrap().is_some(),
        "share is refused while a finding is open"
    );
    w.c.execute(
        "document.querySelector('.privacy').scrollIntoView({block: 'center'})",
        vec![],
    )
    .await
    .unwrap();
    w.shot("privacy-review").await;
    // The thumbnails and the report panel above and below may still be settling: a click
    // that lands while the button moves is tried again.
    let all_reviewed = w.t("privacy.all_reviewed").await;
    for _ in 0..3 {
        if w.shows(&all_reviewed).await {
            break;
        }
        w.press_t("privacy.not_identifier").await;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    w.sees(&all_reviewed).await;
    // The report the vault keeps shows the decision and each image's part.
    w.sees_t("resolution.acknowledged").await;
    let dicom = w.tv("report.dicom", json!({"n": 0})).await;
    let dicom = dicom.split('0').next().unwrap().trim();
    w.sees(&w.tv("deid.image", json!({"n": 4, "what": dicom})).await)
        .await;
    w.press(&save_and_share).await;
    w.sees(&w.tv("case.in_circles", json!({"circles": CIRCLE})).await)
        .await;
    let label = w.t("poll.options").await;
    w.type_in(
        &format!("input[aria-label='{label}']"),
        "Treat empirically, Confirm with KOH first",
    )
    .await;
    w.press_t("poll.open").await;
    w.sees(&w.tv("poll.votes", json!({"n": 0})).await).await;

    step("shared");
    // B receives it, comments and votes; the window shows both without a restart.
    let started = Instant::now();
    let case = loop {
        b.ok(&["sync"]);
        let listed = b.json(&["case", "list"]);
        if let Some(c) = listed.as_array().and_then(|l| l.first()) {
            let id = c["id"].as_str().unwrap().to_string();
            if b.json(&["case", "show", &id])["polls"]
                .as_array()
                .is_some_and(|p| !p.is_empty())
            {
                break id;
            }
        }
        assert!(
            started.elapsed() < WAIT,
            "B never received the case and its poll"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let shown = b.json(&["case", "show", &case]);
    assert_eq!(shown["fields"]["title"], TITLE);
    assert_eq!(shown["attachments"].as_array().unwrap().len(), 4);
    // The rectangle drawn in the window is black in the colleague's copy of the photo.
    let photo = shown["attachments"][0]["id"].as_str().unwrap();
    let out = b.dir.join("redacted.jpg");
    b.ok(&[
        "case",
        "export-attachment",
        &case,
        photo,
        out.to_str().unwrap(),
    ]);
    let got = image::open(&out).unwrap().to_luma8();
    assert_eq!(got.dimensions(), (1200, 1600));
    for (x, y) in [(12, 12), (150, 100), (305, 205)] {
        assert!(got.get_pixel(x, y)[0] < 16, "({x}, {y}) is not redacted");
    }
    b.ok(&["comment", &case, COMMENT]);
    b.ok(&["vote", &case, "Confirm with KOH first"]);
    b.ok(&["sync"]);
    w.sees(COMMENT).await;
    let one_vote = w.tv("poll.votes", json!({"n": 1})).await;
    w.sees(&format!("{one_vote} · 100%")).await;
    w.shot("case-view").await;

    step("comment and vote seen");
    // Lock; a wrong passphrase is refused in words; the right one brings the case back.
    w.press_t("sidebar.lock").await;
    w.sees_t("lock.unlock_title").await;
    w.type_in("input[name=passphrase]", "not the passphrase at all")
        .await;
    w.press_t("lock.unlock").await;
    w.sees_t("error.wrong_passphrase").await;
    w.shot("wrong-passphrase").await;
    w.type_in("input[name=passphrase]", PASSPHRASE).await;
    w.press_t("lock.unlock").await;
    // The case is listed again after unlocking.
    w.case_row(TITLE).await;
    step("locked and unlocked");

    // The patient withdraws consent: the author retracts the case in the window, which says
    // what happens on colleagues' laptops first; B's copy is erased at its next sync.
    w.case_row(TITLE).await.click().await.unwrap();
    w.press_t("case.delete").await;
    w.sees_t("case.retract_text").await;
    w.shot("retract-case").await;
    w.press_t("case.retract").await;
    let started = Instant::now();
    while w.shows(TITLE).await {
        assert!(started.elapsed() < WAIT, "the case stayed in the window");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // The list says what happened, and nothing of the case.
    w.sees(&w.tv("list.retracted", json!({"n": 1})).await).await;
    w.field("details.retracted summary")
        .await
        .click()
        .await
        .unwrap();
    let you = w.t("list.you").await;
    let retracted = w
        .tv("list.retracted_by", json!({"who": you, "date": "\u{1}"}))
        .await;
    w.sees(retracted.split('\u{1}').next().unwrap()).await;
    w.shot("retracted").await;
    let started = Instant::now();
    loop {
        b.ok(&["sync"]);
        if b.json(&["case", "list"])
            .as_array()
            .is_some_and(|l| l.is_empty())
        {
            break;
        }
        assert!(started.elapsed() < WAIT, "B's copy was never erased");
        std::thread::sleep(Duration::from_millis(500));
    }
    step("retracted");
}

/// The id of the circle the window's share box offers (its only one).
/// A new profile with a circle of its own, synced once.
pub(crate) async fn profile_with_a_circle(w: &Window) {
    create_profile(w, "Dr Chloe Dubois", "Cardiology").await;
    w.press("New or join a circle").await;
    w.type_in("input[aria-label='Circle name']", "Cardiology Nantes")
        .await;
    w.press("Create circle").await;
    // Pressing only starts it: the circle is there once its page offers an invite code. (A
    // test that paused the relay right after the click caught the creation in flight and
    // failed under load: no circle, so nothing to find offline.)
    w.sees("Create an invite code").await;
    w.press("Sync now").await;
    w.sees("Up to date").await;
}

async fn circle_id(w: &Window) -> String {
    let option = w.field(".share-box select option:not([disabled])").await;
    option.attr("value").await.unwrap().unwrap()
}

/// The relay hangs (it accepts connections and answers nothing): the window says "Offline,
/// will retry" and keeps working on the vault; when the relay answers again, so does the sync.
#[test]
fn a_hung_relay_leaves_the_window_working_and_says_offline() {
    let root = tempfile::tempdir().unwrap();
    let relay = Relay::start(&root.path().join("relay"));
    with_window(root.path(), &relay.url(), async |w| {
        profile_with_a_circle(w).await;

        relay.pause();
        w.press("Sync now").await;
        w.sees("Offline, will retry").await;
        // Work on the vault goes on at once: nothing waits on the relay, whose requests
        // would only give up after 20 s of silence.
        let started = Instant::now();
        w.press("New case").await;
        w.type_in(
            "input[name=title]",
            "Exertional syncope in a 17-year-old athlete",
        )
        .await;
        w.press("Save draft").await;
        w.sees("written by you").await;
        w.press("Settings").await;
        w.sees("Relay for new circles").await;
        w.press("My drafts").await;
        w.case_row("Exertional syncope").await;
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(15),
            "the window waited on the hung relay ({took:?})"
        );
        w.sees("Offline, will retry").await;

        relay.resume();
        w.press("Sync now").await;
        w.sees("Up to date").await;
    });
}

/// The relay answers its health check and holds every other request: the background sync is
/// inside a relay call that would wait 20 s for a byte. A draft is written and saved meanwhile
/// in seconds: the pass sets its calls aside for the window's commands. Locking shows the lock
/// screen at once and ends the call, so the engine is free at once: unlocking right after (the
/// relay behaving again) brings the cases back in far less than the 20 s the call would have
/// held it.
#[test]
fn while_the_relay_stalls_the_window_works_and_locks_at_once() {
    let root = tempfile::tempdir().unwrap();
    let socket = crate::support::StallingProxy::bind();
    let relay = Relay::start_behind(&root.path().join("relay"), &[&socket.url]);
    let proxy = socket.forward_to(&relay.addr);
    with_window(root.path(), &proxy.url, async |w| {
        profile_with_a_circle(w).await;

        proxy.stall(true);
        w.press("Sync now").await;
        // The pass passes the health check and waits in its first relay call.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let started = Instant::now();
        w.press("New case").await;
        w.type_in("input[name=title]", "Palpitations after a marathon")
            .await;
        w.press("Save draft").await;
        w.sees("written by you").await;
        let drafted = started.elapsed();
        // The pass is taken up again after each command and waits on the relay anew.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let pressed = Instant::now();
        w.press("Lock").await;
        w.sees("Unlock Consilium").await;
        let shown = pressed.elapsed();
        w.shot("locked-while-relay-stalls").await;

        proxy.stall(false);
        w.type_in("input[name=passphrase]", PASSPHRASE).await;
        w.press("Unlock").await;
        w.sees("All cases").await;
        w.sees("Cardiology Nantes").await;
        let back = pressed.elapsed();
        assert!(
            drafted < Duration::from_secs(10),
            "the window waited on the pass's relay call: the draft took {drafted:?}"
        );
        assert!(
            shown < Duration::from_secs(2),
            "the lock screen took {shown:?}"
        );
        assert!(
            back < Duration::from_secs(12),
            "the engine was held by the stalled call: unlocked after {back:?}"
        );
    });
}
