//! The engine against a real relay on 127.0.0.1:0 (in this process, sharing a clock the test
//! moves): a share made while the relay is down waits and goes when it is back, with upload and
//! download progress; keys rotate on schedule; key packages are claimed and topped up. The
//! attacks of a relay turned hostile are in `hostile_relay`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod backup;
mod device_move;
mod erasure;
mod hostile_member;
mod hostile_relay;
mod slow_relay;
mod support;
mod tamper;
mod tls_relay;

use std::sync::{Arc, Mutex};

use consilium_client::model::CaseFields;
use consilium_client::{Direction, Engine, Event, Transfer};
use support::{MovableClock, bring_in, circle_of_two, engine, start_relay};

#[test]
fn a_share_made_while_the_relay_is_down_goes_when_it_is_back_with_progress_both_ways() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let relay = start_relay(&root.path().join("relay"), clock.clone(), "127.0.0.1:0");
    let (url, addr) = (relay.url(), relay.addr().to_string());
    let (mut a, mut b) = circle_of_two(root.path(), &clock, &url, "Skin");

    let case = a
        .create_case(CaseFields {
            title: "Violaceous papules".into(),
            ..Default::default()
        })
        .unwrap();
    let photo = consilium_testkit::camera_photo(root.path(), "p.jpg", 1600, 1200, 1, "client");
    a.attach_files(&case, &[photo], &Default::default(), &mut |_| {})
        .unwrap();
    let seen: Arc<Mutex<Vec<Transfer>>> = Arc::default();
    let log = seen.clone();
    a.on_transfer(move |t| log.lock().unwrap().push(t.clone()));

    drop(relay);
    a.share(&case, "Skin").unwrap();
    let offline = a.sync().unwrap();
    assert!(offline.offline.is_some(), "the relay is down");
    assert_eq!(offline.queued, 1, "the share waits in the outbox");
    assert!(seen.lock().unwrap().is_empty(), "nothing was uploaded");

    let _relay = start_relay(&root.path().join("relay"), clock.clone(), &addr);
    let back = a.sync().unwrap();
    assert_eq!((back.sent, back.queued, back.offline), (1, 0, None));
    let uploads = seen.lock().unwrap().clone();
    assert_eq!(uploads.len(), 3, "full, preview and thumbnail");
    assert!(
        uploads
            .iter()
            .all(|t| t.direction == Direction::Upload && t.total == 3)
    );
    assert_eq!(uploads.last().unwrap().done, 3);

    let got: Arc<Mutex<Vec<Transfer>>> = Arc::default();
    let log = got.clone();
    b.on_transfer(move |t| log.lock().unwrap().push(t.clone()));
    b.sync().unwrap();
    let downloads = got.lock().unwrap().clone();
    assert_eq!(downloads.len(), 3);
    assert!(downloads.iter().all(|t| t.direction == Direction::Download));
    assert_eq!(b.case(&case).unwrap().attachments.len(), 1);

    // An image added to the shared case later reaches the circle alone (three more uploads).
    let second = consilium_testkit::camera_photo(root.path(), "q.jpg", 900, 700, 1, "later");
    a.attach_files(&case, &[second], &Default::default(), &mut |_| {})
        .unwrap();
    seen.lock().unwrap().clear();
    a.sync().unwrap();
    assert_eq!(seen.lock().unwrap().len(), 3, "only the new image went up");
    b.sync().unwrap();
    assert_eq!(b.case(&case).unwrap().attachments.len(), 2);
    // B cannot add images to A's case.
    let third = consilium_testkit::camera_photo(root.path(), "r.jpg", 300, 200, 1, "no");
    assert!(
        b.attach_files(&case, &[third], &Default::default(), &mut |_| {})
            .is_err()
    );
}

#[test]
fn keys_rotate_on_schedule_and_key_packages_are_claimed_and_topped_up() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let relay = start_relay(&root.path().join("relay"), clock.clone(), "127.0.0.1:0");
    let url = relay.url();
    let (mut a, mut b) = circle_of_two(root.path(), &clock, &url, "C0");
    let epoch = |e: &Engine| e.circles().unwrap()[0].epoch;
    assert_eq!(epoch(&a), 1);

    // Six days: nothing. Eight: each member rotates once, and stays in step.
    clock.advance_days(6);
    a.sync().unwrap();
    b.sync().unwrap();
    assert_eq!(epoch(&a), 1);
    clock.advance_days(2);
    a.sync().unwrap();
    b.sync().unwrap();
    a.sync().unwrap();
    assert_eq!((epoch(&a), epoch(&b)), (3, 3), "one rotation each");
    a.sync().unwrap();
    assert_eq!(epoch(&a), 3, "not again until the next period");

    // B is added to six more circles with key packages claimed from the relay; its next sync
    // publishes a fresh batch.
    let b_account = b.identity().unwrap().device;
    let held = || -> i64 {
        let db = rusqlite::Connection::open(root.path().join("relay").join("relay.db")).unwrap();
        db.query_row(
            "SELECT count(*) FROM key_packages WHERE hex(account) = upper(?1) AND last_resort = 0",
            [&b_account],
            |r| r.get(0),
        )
        .unwrap()
    };
    let before = held();
    assert!(before >= 7, "a batch was published: {before}");
    for i in 1..=6 {
        let name = format!("C{i}");
        a.create_circle(&name, &url).unwrap();
        bring_in(&mut a, &mut b, &name);
        if i == 5 {
            assert_eq!(held(), before - 5, "each approval claimed one");
        }
    }
    assert_eq!(b.circles().unwrap().len(), 7);
    assert_eq!(
        held(),
        before - 6 + 8,
        "the sixth Welcome left two: a new batch went up"
    );
}

#[test]
fn a_member_who_leaves_is_out_even_when_another_commit_drops_the_request() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let relay = start_relay(&root.path().join("relay"), clock.clone(), "127.0.0.1:0");
    let url = relay.url();
    let (mut a, mut b, mut c) = (
        engine(root.path(), "a", &clock),
        engine(root.path(), "b", &clock),
        engine(root.path(), "c", &clock),
    );
    a.create_circle("Onc", &url).unwrap();
    bring_in(&mut a, &mut b, "Onc");
    bring_in(&mut a, &mut c, "Onc");
    b.sync().unwrap();

    // C asks to leave while B rotates: B's commit may pass without C's request.
    c.leave("Onc").unwrap();
    b.rotate_keys("Onc").unwrap();
    c.sync().unwrap();
    b.sync().unwrap();
    for _ in 0..4 {
        for e in [&mut a, &mut b, &mut c] {
            e.sync().unwrap();
        }
    }
    assert!(c.circles().unwrap().is_empty(), "C is out");
    for e in [&a, &b] {
        let members = e.members("Onc").unwrap();
        assert_eq!(members.len(), 2, "{members:?}");
    }
    assert_eq!(a.circles().unwrap()[0].epoch, b.circles().unwrap()[0].epoch);
}

/// The window reloads a circle when a pass reports an event: the pass that makes the admin's
/// own commit take effect must report it, or the window keeps showing the epoch and members it
/// read before (a race CI lost: the approve's reload ran before the pass sent the commit).
#[test]
fn an_own_commit_taking_effect_is_reported_like_a_received_one() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let relay = start_relay(&root.path().join("relay"), clock.clone(), "127.0.0.1:0");
    let url = relay.url();
    let (mut a, mut b) = (
        engine(root.path(), "a", &clock),
        engine(root.path(), "b", &clock),
    );
    a.create_circle("Derm", &url).unwrap();
    b.join(&a.invite("Derm").unwrap()).unwrap();
    a.sync().unwrap();
    let request = a.join_requests("Derm").unwrap().remove(0);
    let number = consilium_client::ApprovalCheck::SafetyNumber(request.safety_number);
    a.approve("Derm", request.id, &number).unwrap();
    let b_account = b.identity().unwrap().account;
    let events = a.sync().unwrap().events;
    assert!(
        events.iter().any(|e| matches!(
            e,
            Event::MembersChanged { added, removed, .. } if *added == vec![b_account.clone()] && removed.is_empty()
        )),
        "{events:?}"
    );
    b.sync().unwrap();

    a.rotate_keys("Derm").unwrap();
    let events = a.sync().unwrap().events;
    assert!(
        events.iter().any(|e| matches!(
            e,
            Event::MembersChanged { added, removed, .. } if added.is_empty() && removed.is_empty()
        )),
        "a rotation changes the circle's epoch: {events:?}"
    );
}

#[test]
fn a_watching_sync_wakes_on_the_relays_push_not_on_its_idle_timer() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let relay = start_relay(&root.path().join("relay"), clock.clone(), "127.0.0.1:0");
    let url = relay.url();
    let (mut a, mut b) = circle_of_two(root.path(), &clock, &url, "Watch");
    let case = a
        .create_case(CaseFields {
            title: "Watched".into(),
            ..Default::default()
        })
        .unwrap();
    a.share(&case, "Watch").unwrap();
    a.sync().unwrap();
    b.sync().unwrap();

    let (tx, rx) = std::sync::mpsc::channel();
    let watcher = std::thread::spawn(move || {
        let mut passes = 0;
        b.sync_watch(std::time::Duration::from_secs(120), &mut |r| {
            passes += 1;
            tx.send(r.received).unwrap();
            passes < 2
        })
        .unwrap();
    });
    assert_eq!(rx.recv().unwrap(), 0, "the first pass finds nothing new");
    // Give the watcher time to open its push socket, then write.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let start = std::time::Instant::now();
    a.comment(&case, "Seen?", None).unwrap();
    a.sync().unwrap();
    let received = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the push woke the watcher");
    assert_eq!(received, 1);
    assert!(start.elapsed() < std::time::Duration::from_secs(60));
    watcher.join().unwrap();
}

/// A profile with no circle yet has no relay to wait on: the wait still lasts its idle time,
/// so a face's sync loop does not spin (a fresh profile once kept a core busy and the engine's
/// lock contended, slowing every command of the window).
#[test]
fn with_no_relay_to_watch_the_wait_for_news_lasts_its_idle_time() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let mut a = engine(root.path(), "a", &clock);
    let idle = std::time::Duration::from_millis(400);
    let started = std::time::Instant::now();
    a.news_waiter().wait(idle);
    assert!(started.elapsed() >= idle, "{:?}", started.elapsed());
    let started = std::time::Instant::now();
    a.news_waiter()
        .wait_with(idle, async { std::future::pending::<()>().await });
    assert!(started.elapsed() >= idle, "{:?}", started.elapsed());
}

/// The desktop's sync thread waits for news on the engine's one-thread runtime while a
/// window command makes its own relay calls on it from another thread: the command is answered
/// long before the wait ends.
#[test]
fn a_relay_call_goes_through_while_another_thread_waits_for_news() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let relay = start_relay(&root.path().join("relay"), clock.clone(), "127.0.0.1:0");
    let mut a = engine(root.path(), "a", &clock);
    a.create_circle("First", &relay.url()).unwrap();
    let waiter = a.news_waiter();
    let idle = std::time::Duration::from_secs(5);
    let waiting = std::thread::spawn(move || waiter.wait(idle));
    std::thread::sleep(std::time::Duration::from_millis(300));
    a.create_circle("Second", &relay.url()).unwrap();
    assert!(!waiting.is_finished(), "the call waited for the news wait");
    waiting.join().unwrap();
}

/// A relay that accepts connections and then says nothing (hung, or a dead link) is found out
/// by the health probe within its short limit, without the engine: the desktop asks before each
/// pass so a hang never holds the engine the window's commands need.
#[test]
fn the_probe_finds_a_hung_or_absent_relay_quickly_and_a_live_one_reachable() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let relay = start_relay(&root.path().join("relay"), clock.clone(), "127.0.0.1:0");
    let (url, addr) = (relay.url(), relay.addr().to_string());
    let mut a = engine(root.path(), "a", &clock);
    a.create_circle("Probe", &url).unwrap();
    let limit = std::time::Duration::from_secs(1);
    assert_eq!(
        a.news_waiter().unreachable(limit),
        None,
        "the relay answers"
    );

    drop(relay);
    let why = a.news_waiter().unreachable(limit).expect("nothing listens");
    assert!(why.contains("cannot be reached"), "{why}");

    // Something holds the port, accepts, and never answers.
    let hung = std::net::TcpListener::bind(&addr).unwrap();
    let held = std::thread::spawn(move || {
        let mut kept = Vec::new();
        while let Ok((socket, _)) = hung.accept() {
            kept.push(socket);
            if kept.len() == 2 {
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_secs(3));
    });
    let why = a.news_waiter().unreachable(limit).expect("the relay hangs");
    assert!(why.contains("did not answer within 1 s"), "{why}");
    drop(held);
}

/// An ultrasound added to a case already in a circle is held back from the revision (its pixels
/// may show the patient's name) and goes only once the author has reviewed it; a text edit made
/// meanwhile still reaches the circle.
#[test]
fn a_flagged_image_added_to_a_shared_case_waits_for_review_before_it_goes() {
    let Some(us) = consilium_testkit::pydicom_file("examples_jpeg2k.dcm") else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let relay = start_relay(&root.path().join("relay"), clock.clone(), "127.0.0.1:0");
    let (mut a, mut b) = circle_of_two(root.path(), &clock, &relay.url(), "Echo");
    let case = a
        .create_case(CaseFields {
            title: "Pericardial effusion".into(),
            ..Default::default()
        })
        .unwrap();
    a.share(&case, "Echo").unwrap();
    a.sync().unwrap();

    let added = a
        .attach_files(&case, &[us], &Default::default(), &mut |_| {})
        .unwrap();
    assert!(
        !added[0].report.pending_review().is_empty(),
        "ultrasound is flagged"
    );
    a.edit_case(
        &case,
        consilium_client::CasePatch {
            examination: Some("Global effusion, 18 mm posteriorly.".into()),
            ..Default::default()
        },
    )
    .unwrap();
    a.sync().unwrap();
    b.sync().unwrap();
    let seen = b.case(&case).unwrap();
    assert_eq!(
        seen.fields.examination,
        "Global effusion, 18 mm posteriorly."
    );
    assert!(
        seen.attachments.is_empty(),
        "the ultrasound waits for review"
    );

    a.review_attachment(&case, &added[0].id).unwrap();
    a.sync().unwrap();
    b.sync().unwrap();
    let seen = b.case(&case).unwrap();
    assert_eq!(seen.attachments.len(), 1, "reviewed, it goes");
    assert_eq!(
        (seen.attachments[0].width, seen.attachments[0].height),
        (640, 480)
    );
}

/// A 30-frame ultrasound: the author puts frame 10 in place of the first; the image keeps its id
/// and place, shows the new frame (its pixels differ), and still waits for review. A file that is
/// not the DICOM, a frame past the end, and a single-frame image are refused, and the image stays.
#[test]
fn another_frame_of_a_cine_loop_takes_the_place_of_the_first() {
    let (Some(cine), Some(photo)) = (
        consilium_testkit::pydicom_file("examples_ybr_color.dcm"),
        consilium_testkit::sample("hopper.jpg"),
    ) else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let mut a = engine(root.path(), "a", &clock);
    let case = a
        .create_case(CaseFields {
            title: "Mitral regurgitation".into(),
            ..Default::default()
        })
        .unwrap();
    let added = a
        .attach_files(
            &case,
            &[photo.clone(), cine.clone()],
            &Default::default(),
            &mut |_| {},
        )
        .unwrap();
    let loop_id = added[1].id.clone();
    assert_eq!(added[1].report.dicom.as_ref().unwrap().frame, 0);
    let (first, _) = a
        .attachment_bytes(&case, &loop_id, consilium_client::model::Rendition::Full)
        .unwrap();

    let bytes = std::fs::read(&cine).unwrap();
    let chosen = a.choose_frame(&case, &loop_id, &bytes, 9).unwrap();
    assert_eq!(chosen.id, loop_id);
    let d = chosen.report.dicom.as_ref().unwrap();
    assert_eq!((d.frame, d.frames), (9, 30));
    assert!(
        !chosen.report.pending_review().is_empty(),
        "still to review"
    );
    let view = a.case(&case).unwrap();
    assert_eq!(view.attachments.len(), 2);
    assert_eq!(view.attachments[1].id, loop_id, "same place");
    let (tenth, _) = a
        .attachment_bytes(&case, &loop_id, consilium_client::model::Rendition::Full)
        .unwrap();
    assert_ne!(first, tenth, "the pixels are the tenth frame's");

    let photo_bytes = std::fs::read(&photo).unwrap();
    assert!(a.choose_frame(&case, &loop_id, &photo_bytes, 3).is_err());
    if let Some(other) = consilium_testkit::pydicom_file("examples_jpeg2k.dcm") {
        let err = a
            .choose_frame(&case, &loop_id, &std::fs::read(other).unwrap(), 0)
            .unwrap_err();
        assert!(err.to_string().contains("not the DICOM file"), "{err}");
    }
    assert!(a.choose_frame(&case, &loop_id, &bytes, 30).is_err());
    assert!(
        a.choose_frame(&case, &added[0].id, &bytes, 3).is_err(),
        "the photo has no frames"
    );
    let after = a.case(&case).unwrap();
    assert_eq!(
        after.attachments[1].report.dicom.as_ref().unwrap().frame,
        9,
        "refusals change nothing"
    );
}

/// An admin approves a join only with the requester's safety number as read back to her (the
/// requester is then verified), or by saying she did not check (the member stays unverified);
/// a number that does not match is refused, and nothing is queued.
#[test]
fn approving_a_join_takes_the_safety_number_or_an_explicit_no_check() {
    use consilium_client::{ApprovalCheck, Verification};
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let relay = start_relay(&root.path().join("relay"), clock.clone(), "127.0.0.1:0");
    let (mut a, mut b, mut c) = (
        engine(root.path(), "a", &clock),
        engine(root.path(), "b", &clock),
        engine(root.path(), "c", &clock),
    );
    a.create_circle("Derm", &relay.url()).unwrap();
    b.join(&a.invite("Derm").unwrap()).unwrap();
    c.join(&a.invite("Derm").unwrap()).unwrap();
    a.sync().unwrap();
    let requests = a.join_requests("Derm").unwrap();
    let of = |name: &str| requests.iter().find(|r| r.name == name).unwrap().clone();
    let (from_b, from_c) = (of("b"), of("c"));

    let wrong = ApprovalCheck::SafetyNumber(from_c.safety_number.clone());
    let refused = a.approve("Derm", from_b.id, &wrong).unwrap_err();
    assert!(refused.to_string().contains("does not match"), "{refused}");
    assert_eq!(a.queued().unwrap(), 0, "nothing queued");

    let read_back = ApprovalCheck::SafetyNumber(from_b.safety_number.clone());
    a.approve("Derm", from_b.id, &read_back).unwrap();
    a.approve("Derm", from_c.id, &ApprovalCheck::WithoutChecking)
        .unwrap();
    a.sync().unwrap();
    let members = a.members("Derm").unwrap();
    let state = |name: &str| {
        members
            .iter()
            .find(|m| m.name == name)
            .unwrap()
            .verification
    };
    assert_eq!(state("b"), Verification::Verified);
    assert_eq!(state("c"), Verification::Unverified);
}
