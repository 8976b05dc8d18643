//! The window in another language, and its first-run screens: the same journey as
//! `desktop_window` runs with the system locale French (`fr_FR.UTF-8`, which
//! `scripts/install-deps.sh` generates), every step reading the French catalog's words as the
//! page formats them; its screenshots go to `docs/screenshots/fr/`.

use std::time::Duration;

use crate::desktop_window::{journey, photos, skip_welcome};
use crate::support::{Cli, Relay, with_window, with_window_in};

const FRENCH_MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// Whether `text` holds a day written as French writes it: "12 mars 2026".
fn has_french_date(text: &str) -> bool {
    let words: Vec<&str> = text.split_whitespace().collect();
    words.windows(3).any(|w| {
        w[0].parse::<u8>().is_ok_and(|d| (1..=31).contains(&d))
            && FRENCH_MONTHS.contains(&w[1])
            && w[2]
                .trim_end_matches([',', ';', '.'])
                .parse::<u16>()
                .is_ok()
    })
}

#[test]
fn a_physician_works_a_case_through_the_window_in_french() {
    let root = tempfile::tempdir().unwrap();
    let relay = Relay::start(&root.path().join("relay"));
    let b = Cli::init(root.path(), "Dr Bruno Lefevre", "Dermatology");
    let photos = photos(root.path());
    with_window_in(root.path(), &relay.url(), Some("fr_FR.UTF-8"), async |w| {
        // The window follows the system's language before anything is set.
        w.sees_t("welcome.passphrase_title").await;
        assert!(
            !w.shows("Your passphrase").await,
            "the window is in English"
        );
        let lang =
            w.c.execute("return document.documentElement.lang;", vec![])
                .await
                .unwrap();
        assert_eq!(lang, "fr");
        journey(w, &b, &photos).await;
        // The retracted case's line carries its day, in French.
        let text = w.text().await;
        assert!(has_french_date(&text), "no French date in:\n{text}");
        assert!(!text.contains("Retracted"), "English left:\n{text}");
    });
}

#[test]
fn french_dates_are_told_apart_from_others() {
    assert!(has_french_date(
        "Retiré par vous le 12 mars 2026 ; plus rien"
    ));
    assert!(!has_french_date("Retracted by you on March 12, 2026"));
    assert!(!has_french_date("12. März 2026"));
}

/// The first-run screens come once: skipped (or read), a new start of the app goes straight to
/// the create screen, even before a profile was made.
#[test]
fn the_first_run_screens_are_shown_once() {
    let root = tempfile::tempdir().unwrap();
    let relay = Relay::start(&root.path().join("relay"));
    with_window(root.path(), &relay.url(), async |w| {
        skip_welcome(w).await;
        w.sees_t("lock.create_title").await;
    });
    with_window(root.path(), &relay.url(), async |w| {
        w.sees_t("lock.create_title").await;
        let welcome = w.t("welcome.passphrase_title").await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!w.shows(&welcome).await, "the first-run screens came back");
        // The restore screen, which the accessibility journey does not pass, checked here.
        w.press_t("lock.restore_instead").await;
        w.sees_t("lock.restore_title").await;
        let found = w.axe().await;
        assert!(
            found.is_empty(),
            "axe-core on the restore screen:\n{}",
            found.join("\n")
        );
    });
}
