//! Deleted means gone. A case deleted here, or retracted by its author, leaves nothing of its
//! text in any page of the vault (database and WAL, free pages included, read with the vault's
//! own key by `consilium_store::forensics`) and none of its image files; a retracted case leaves
//! a tombstone without content.

use std::path::Path;
use std::sync::Arc;

use consilium_client::model::{CaseFields, CaseId};
use consilium_client::{Engine, Passphrase};

use crate::support::{MovableClock, PASSPHRASE, circle_of_two, start_relay};

/// Words found nowhere else, in the case's fields, a comment and a poll.
const TITLE: &str = "Okapiform dermatosis";
const BODY: &str = "Xanthelasmic quokka plaques on the left forearm";
const COMMENT: &str = "Quillwort nodules seen in a sibling";
const OPTION: &str = "Zebroid sarcoidosis";

/// Whether `text` (or its lower-case form, as the search index keeps terms) can be read in the
/// vault at `dir`.
fn readable(dir: &Path, text: &str) -> Vec<String> {
    let pages = consilium_store::forensics::readable_pages(dir, &Passphrase::new(PASSPHRASE))
        .expect("the vault's pages");
    let mut found = Vec::new();
    for word in text.split_whitespace().filter(|w| w.len() > 6) {
        for form in [word.to_string(), word.to_lowercase()] {
            if pages.windows(form.len()).any(|w| w == form.as_bytes()) {
                found.push(form);
            }
        }
    }
    found
}

fn blob_files(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("blobs")).map_or(0, |d| d.count())
}

/// Nothing of the case is left in the vault at `dir`: no word in any page, no image file.
fn assert_gone(dir: &Path, who: &str) {
    assert_eq!(
        traces(dir),
        Vec::<String>::new(),
        "{who} still holds words of the case"
    );
    assert_eq!(blob_files(dir), 0, "{who} still holds image files");
}

fn traces(dir: &Path) -> Vec<String> {
    [TITLE, BODY, COMMENT, OPTION]
        .iter()
        .flat_map(|t| readable(dir, t))
        .collect()
}

/// A shares a case with an image; B comments and votes on its poll. Both laptops hold it.
fn shared_and_discussed(
    root: &Path,
    clock: &Arc<MovableClock>,
    url: &str,
) -> (Engine, Engine, CaseId) {
    let (mut a, mut b) = circle_of_two(root, clock, url, "Skin");
    let case = a
        .create_case(CaseFields {
            title: TITLE.into(),
            history: BODY.into(),
            ..Default::default()
        })
        .unwrap();
    let photo = consilium_testkit::camera_photo(root, "p.jpg", 800, 600, 1, "erasure");
    a.attach_files(&case, &[photo], &Default::default(), &mut |_| {})
        .unwrap();
    a.share(&case, "Skin").unwrap();
    a.open_poll(&case, &[OPTION.to_string(), "Lichen planus".to_string()])
        .unwrap();
    a.sync().unwrap();
    b.sync().unwrap();
    b.comment(&case, COMMENT, None).unwrap();
    b.vote(&case, OPTION).unwrap();
    b.sync().unwrap();
    a.sync().unwrap();
    assert_eq!(b.case(&case).unwrap().attachments.len(), 1);
    for dir in [root.join("a"), root.join("b")] {
        // The check can fail: before, every word is there to read.
        let before = traces(&dir);
        for word in ["Okapiform", "xanthelasmic", "Quillwort", "Zebroid"] {
            assert!(
                before.iter().any(|w| w == word),
                "{word} not in {dir:?}: {before:?}"
            );
        }
        assert!(blob_files(&dir) >= 3, "the image's renditions are stored");
    }
    (a, b, case)
}

/// The author retracts: after syncing, B has no trace of the case's text, comments, poll or
/// image files, and lists a tombstone; A keeps a tombstone too. A replay of the case is refused.
#[test]
fn a_retracted_case_leaves_no_trace_on_either_laptop() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let relay = start_relay(&root.path().join("relay"), clock.clone(), "127.0.0.1:0");
    let (mut a, mut b, case) = shared_and_discussed(root.path(), &clock, &relay.url());

    let relay_blobs = root.path().join("relay").join("blobs");
    assert_eq!(
        std::fs::read_dir(&relay_blobs).unwrap().count(),
        3,
        "the relay holds the renditions"
    );
    assert_eq!(a.retract_case(&case).unwrap(), 1, "one circle told");
    a.sync().unwrap();
    b.sync().unwrap();
    assert_eq!(
        std::fs::read_dir(&relay_blobs).unwrap().count(),
        0,
        "the relay no longer holds the case's images"
    );
    for (who, engine) in [("a", &a), ("b", &b)] {
        assert_gone(&root.path().join(who), who);
        assert!(engine.case(&case).is_err());
        assert!(engine.search("xanthelasmic").unwrap().is_empty());
        assert!(
            engine.tombstone(&case).unwrap().is_some(),
            "{who} lists what happened"
        );
    }
}

/// Deleting here: an own case (A) and a received one (B) are erased from their laptops alone.
#[test]
fn a_case_deleted_here_leaves_no_trace_in_the_vault() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let relay = start_relay(&root.path().join("relay"), clock.clone(), "127.0.0.1:0");
    let (mut a, mut b, case) = shared_and_discussed(root.path(), &clock, &relay.url());

    b.delete_case(&case).unwrap();
    assert_gone(&root.path().join("b"), "B");
    assert!(b.case(&case).is_err() && b.tombstone(&case).unwrap().is_none());

    // A still has it (a delete is this laptop's alone), then deletes its own.
    assert!(a.case(&case).is_ok());
    a.delete_case(&case).unwrap();
    assert_gone(&root.path().join("a"), "A");
    assert!(a.case(&case).is_err());
}

/// B leaves the circle and erases what it received there: nothing of the case is left in B's
/// vault, while A's own copy stays.
#[test]
fn leaving_a_circle_can_erase_the_cases_received_there() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let relay = start_relay(&root.path().join("relay"), clock.clone(), "127.0.0.1:0");
    let (mut a, mut b, case) = shared_and_discussed(root.path(), &clock, &relay.url());

    // B is out once A's client commits the request; the circle is named still.
    b.leave("Skin").unwrap();
    b.sync().unwrap();
    a.sync().unwrap();
    b.sync().unwrap();
    assert!(b.circles().unwrap().is_empty(), "B left");
    assert_eq!(b.delete_received_cases("Skin").unwrap(), 1);
    assert_gone(&root.path().join("b"), "B");
    assert!(b.case(&case).is_err());
    a.sync().unwrap();
    assert!(a.case(&case).is_ok(), "the author's own case stays");
}

/// The circle's admin sets a 30-day retention. A case that arrived 35 days ago is erased from
/// the member's laptop (gone from every page), one that arrived 15 days ago stays, and the
/// author keeps both. A member who is not an admin cannot set it: refused at their own client,
/// and their message setting it anyway is refused by the others.
#[test]
fn cases_past_the_circles_retention_vanish_from_members_laptops() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let relay = start_relay(&root.path().join("relay"), clock.clone(), "127.0.0.1:0");
    let (mut a, mut b) = circle_of_two(root.path(), &clock, &relay.url(), "Skin");
    a.set_retention("Skin", Some(30)).unwrap();
    let share = |a: &mut Engine, title: &str, history: &str| {
        let case = a
            .create_case(CaseFields {
                title: title.into(),
                history: history.into(),
                ..Default::default()
            })
            .unwrap();
        a.share(&case, "Skin").unwrap();
        a.sync().unwrap();
        case
    };
    let old = share(&mut a, TITLE, BODY);
    b.sync().unwrap();
    assert_eq!(
        b.retention("Skin").unwrap(),
        Some(30),
        "the member keeps it so"
    );
    clock.advance_days(20);
    let young = share(&mut a, "Younger papules", "Seen a fortnight later");
    b.sync().unwrap();
    assert!(
        !traces(&root.path().join("b")).is_empty(),
        "the old case is there"
    );

    clock.advance_days(15);
    let report = b.sync().unwrap();
    assert!(report.events.iter().any(|e| matches!(
        e,
        consilium_client::Event::CaseExpired { case, .. } if *case == old.to_string()
    )));
    assert!(b.case(&old).is_err(), "35 days: erased");
    assert!(b.case(&young).is_ok(), "15 days: kept");
    assert_gone(&root.path().join("b"), "B");
    a.sync().unwrap();
    assert!(
        a.case(&old).is_ok() && a.case(&young).is_ok(),
        "the author keeps both"
    );

    let refused = b.set_retention("Skin", Some(1)).unwrap_err();
    assert_eq!(refused.code(), consilium_client::ErrorCode::InvalidInput);
    let mut m = crate::hostile_member::HostileMember::join(&mut a, "Skin", &clock);
    m.post(&consilium_client::model::app::AppMessage::Retention(
        consilium_client::model::app::RetentionSet { days: Some(1) },
    ));
    a.sync().unwrap();
    b.sync().unwrap();
    assert_eq!(a.retention("Skin").unwrap(), Some(30));
    assert_eq!(b.retention("Skin").unwrap(), Some(30));
    assert!(b.case(&young).is_ok());
}

/// B comments on a received case while the relay is down; the circle's retention runs out
/// before the comment could go. The case is erased, and so is the comment's text waiting in
/// the outbox: nothing of either is left in B's pages.
#[test]
fn an_unsent_comment_on_an_expired_case_leaves_no_trace() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let relay = start_relay(&root.path().join("relay"), clock.clone(), "127.0.0.1:0");
    let (mut a, mut b) = circle_of_two(root.path(), &clock, &relay.url(), "Skin");
    a.set_retention("Skin", Some(30)).unwrap();
    let case = a
        .create_case(CaseFields {
            title: TITLE.into(),
            ..Default::default()
        })
        .unwrap();
    a.share(&case, "Skin").unwrap();
    a.sync().unwrap();
    b.sync().unwrap();
    drop(relay);
    b.comment(&case, COMMENT, None).unwrap();
    assert!(b.sync().unwrap().offline.is_some(), "the comment waits");
    assert!(b.queued().unwrap() >= 1);
    clock.advance_days(31);
    b.sync().unwrap();
    assert!(b.case(&case).is_err(), "expired");
    assert_gone(&root.path().join("b"), "B");
}

/// The author retracts while the relay is down: the retraction and the withdrawal of the
/// case's images wait, and both go once the relay is back.
#[test]
fn a_case_retracted_while_the_relay_is_down_leaves_it_once_it_is_back() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let relay = start_relay(&root.path().join("relay"), clock.clone(), "127.0.0.1:0");
    let (url, addr) = (relay.url(), relay.addr().to_string());
    let (mut a, mut b, case) = shared_and_discussed(root.path(), &clock, &url);
    drop(relay);
    a.retract_case(&case).unwrap();
    assert!(a.sync().unwrap().offline.is_some(), "nothing went");
    let relay_blobs = root.path().join("relay").join("blobs");
    assert_eq!(std::fs::read_dir(&relay_blobs).unwrap().count(), 3);

    let _relay = start_relay(&root.path().join("relay"), clock.clone(), &addr);
    // Past the retraction's retry backoff (the clock moves only when told).
    clock.advance_days(1);
    let back = a.sync().unwrap();
    assert_eq!(back.offline, None);
    assert_eq!(
        std::fs::read_dir(&relay_blobs).unwrap().count(),
        0,
        "the images were withdrawn once the relay was back"
    );
    b.sync().unwrap();
    assert_gone(&root.path().join("b"), "B");
}

/// The relay answers the withdrawal of a retracted case's images with a redirect: that pass
/// reports it and goes on (the retraction itself is delivered), the withdrawal is kept, and
/// it is done once the relay behaves.
#[test]
fn a_relay_that_mangles_a_withdrawal_fails_it_alone_and_it_is_tried_again() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let hostile = crate::tamper::TamperingRelay::start(&root.path().join("hostile"), clock.clone());
    let (mut a, mut b, case) = shared_and_discussed(root.path(), &clock, &hostile.url);
    hostile.forge(
        "DELETE",
        "/blobs/",
        crate::tamper::Forged::Redirect("http://127.0.0.1:9/".into()),
    );
    a.retract_case(&case).unwrap();
    let report = a.sync().expect("the pass goes on");
    assert!(
        report
            .events
            .iter()
            .any(|e| matches!(e, consilium_client::Event::SyncFailed { .. })),
        "{:?}",
        report.events
    );
    let blobs = root.path().join("hostile").join("blobs");
    assert_eq!(
        std::fs::read_dir(&blobs).unwrap().count(),
        3,
        "not withdrawn yet"
    );
    b.sync().unwrap();
    assert_gone(&root.path().join("b"), "B");

    hostile.behave();
    a.sync().unwrap();
    assert_eq!(
        std::fs::read_dir(&blobs).unwrap().count(),
        0,
        "withdrawn at last"
    );
}
