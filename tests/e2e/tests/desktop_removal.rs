//! Removed from a circle, in the window: the physician is asked what becomes of the cases
//! received there, and "erase" leaves none of them on the laptop.

use std::time::{Duration, Instant};

use crate::desktop_window::create_profile;
use crate::support::window::WAIT;
use crate::support::with_window;
use crate::support::{Cli, Relay};

const TITLE: &str = "Pruritic nodules on both shins";

#[test]
fn removed_from_a_circle_the_window_asks_and_erases_the_cases_received_there() {
    let root = tempfile::tempdir().unwrap();
    let relay = Relay::start(&root.path().join("relay"));
    let b = Cli::init(root.path(), "Dr Bruno Lefevre", "Dermatology");
    b.ok(&["circle", "create", "Skin", "--relay", &relay.url()]);
    let code = b.ok(&["circle", "invite", "Skin"]);
    with_window(root.path(), &relay.url(), async |w| {
        create_profile(w, "Dr Chloe Dubois", "Dermatology").await;
        w.press("New or join a circle").await;
        w.type_in("textarea[name=invite]", code.trim()).await;
        w.press("Ask to join").await;
        w.sees("Your request to join").await;

        // Bruno lets her in and shares a case; it reaches the window.
        let started = Instant::now();
        loop {
            b.ok(&["sync"]);
            let requests = b.json(&["circle", "requests", "Skin"]);
            if let Some(r) = requests.as_array().and_then(|r| r.first()) {
                let id = r["id"].to_string();
                b.ok(&["circle", "approve", "Skin", &id, "--without-checking"]);
                break;
            }
            assert!(started.elapsed() < WAIT, "the join request never came");
            std::thread::sleep(Duration::from_millis(500));
        }
        let case = b.json(&["case", "new", "--title", TITLE])["id"]
            .as_str()
            .unwrap()
            .to_string();
        b.ok(&["share", &case, "Skin"]);
        w.press("Sync now").await;
        w.case_row(TITLE).await;

        // Bruno removes her: the window asks, and erasing takes the case away.
        b.ok(&["circle", "remove", "Skin", "Dr Chloe Dubois"]);
        w.press("Sync now").await;
        w.sees("You were removed from a circle").await;
        w.shot("removed-from-circle").await;
        w.press("Erase them from this laptop").await;
        let started = Instant::now();
        while w.shows(TITLE).await || w.shows("You were removed").await {
            assert!(started.elapsed() < WAIT, "the case stayed in the window");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    });
}
