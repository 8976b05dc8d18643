//! The engine against a slow relay: one that stalls or trickles. A slow relay costs a sync pass
//! one wait, never one per call, and never keeps a lock waiting.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::{MovableClock, bring_in, engine, engine_waiting, start_relay};
use crate::tamper::{Forged, TamperingRelay};
use consilium_client::Patience;
use consilium_client::model::CaseFields;

/// The relay stalls the mailbox for a minute while a sync holds the engine, as the desktop's
/// background sync does. Locking raises the engine's interrupt first: the sync lets go of the
/// engine within a second, and the engine is dropped (its keys with it).
#[test]
fn a_lock_takes_the_engine_within_a_second_while_the_relay_stalls() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let hostile = TamperingRelay::start(&root.path().join("hostile"), clock.clone());
    let mut a = engine(root.path(), "a", &clock);
    a.create_circle("Slow", &hostile.url).unwrap();
    hostile.forge(
        "GET",
        "/v1/mailbox",
        Forged::Stall(std::time::Duration::from_secs(60)),
    );
    let interrupt = a.interrupt();
    let session = Arc::new(std::sync::Mutex::new(Some(a)));
    let syncing = {
        let session = session.clone();
        std::thread::spawn(move || {
            let mut guard = session.lock().unwrap();
            let _ = guard.as_mut().unwrap().sync();
        })
    };
    // The sync is in the stalled call by now.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let asked = std::time::Instant::now();
    interrupt.raise();
    let engine = session.lock().unwrap().take();
    let waited = asked.elapsed();
    assert!(engine.is_some());
    drop(engine);
    assert!(
        waited < std::time::Duration::from_secs(1),
        "the lock waited {waited:?}"
    );
    syncing.join().unwrap();
}

/// The relay stalls the mailbox while a sync pass holds the engine. A window command that wants
/// the engine says so (`Interrupt::want`): the pass sets its relay calls aside and lets go
/// within a second; it reports itself cut short (not the relay offline), and nothing it had
/// queued is pushed back. Once the command is done, the next pass goes on as usual.
#[test]
fn a_command_takes_the_engine_within_a_second_from_a_pass_waiting_on_the_relay() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let hostile = TamperingRelay::start(&root.path().join("hostile"), clock.clone());
    let mut a = engine(root.path(), "a", &clock);
    a.create_circle("Slow", &hostile.url).unwrap();
    let case = a
        .create_case(CaseFields {
            title: "Shared before the stall".into(),
            ..Default::default()
        })
        .unwrap();
    a.share(&case, "Slow").unwrap();
    let queued = a.queued().unwrap();
    hostile.forge(
        "GET",
        "/v1/mailbox",
        Forged::Stall(std::time::Duration::from_secs(60)),
    );
    let interrupt = a.interrupt();
    let session = Arc::new(std::sync::Mutex::new(a));
    let syncing = {
        let session = session.clone();
        std::thread::spawn(move || session.lock().unwrap().sync().unwrap())
    };
    // The pass is in the stalled call by now.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let asked = Instant::now();
    let wanted = interrupt.want();
    let mut engine = session.lock().unwrap();
    let waited = asked.elapsed();
    engine
        .create_case(CaseFields {
            title: "Written while the relay stalls".into(),
            ..Default::default()
        })
        .unwrap();
    drop(engine);
    drop(wanted);
    assert!(
        waited < Duration::from_secs(1),
        "the command waited {waited:?}"
    );
    let report = syncing.join().unwrap();
    assert!(report.cut_short, "{report:?}");
    assert_eq!(report.offline, None, "set aside is not offline");

    assert_eq!(report.queued, queued, "nothing was sent");

    // The relay behaves again: the next pass, wanted by nobody, goes all the way, and sends
    // at once (the clock has not moved) what was set aside: it was not pushed back.
    hostile.behave();
    let report = session.lock().unwrap().sync().unwrap();
    assert!(!report.cut_short && report.offline.is_none(), "{report:?}");
    assert_eq!((report.sent, report.queued), (queued as usize, 0));
}

/// A relay that trickles every answer, a byte at a time and never done, in front of three of
/// the profile's circles; a fourth circle on an honest relay. The pass asks the trickling relay
/// once, gives up after its whole-request time, reports it offline, asks it nothing more, and
/// the honest circle's case arrives.
#[test]
fn a_trickling_relay_costs_the_pass_one_wait_and_the_other_relay_goes_on() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let slow = TamperingRelay::start(&root.path().join("slow"), clock.clone());
    let honest = start_relay(&root.path().join("honest"), clock.clone(), "127.0.0.1:0");
    let patience = Patience {
        connect: Duration::from_secs(2),
        silence: Duration::from_secs(2),
        whole: Duration::from_secs(2),
    };
    let mut a = engine(root.path(), "a", &clock);
    let mut b = engine_waiting(root.path(), "b", "b", &clock, patience);
    for name in ["Slow 1", "Slow 2", "Slow 3"] {
        a.create_circle(name, &slow.url).unwrap();
        bring_in(&mut a, &mut b, name);
    }
    a.create_circle("Honest", &honest.url()).unwrap();
    bring_in(&mut a, &mut b, "Honest");
    let case = a
        .create_case(CaseFields {
            title: "Annular plaque".into(),
            ..Default::default()
        })
        .unwrap();
    a.share(&case, "Honest").unwrap();
    a.sync().unwrap();

    slow.forge("GET", "/v1/", Forged::Trickle(Duration::from_millis(200)));
    slow.forge("POST", "/v1/", Forged::Trickle(Duration::from_millis(200)));
    let before = slow.requests();
    let started = Instant::now();
    let report = b.sync().expect("the sync goes on");
    let took = started.elapsed();
    assert!(report.offline.is_some(), "{report:?}");
    assert!(b.case(&case).is_ok(), "the honest relay's case arrived");
    assert_eq!(
        slow.requests() - before,
        1,
        "the relay that ran out of time was asked again in the same pass"
    );
    // One whole-request wait, not one per circle or call (bounded, not timed to the millisecond).
    assert!(took < Duration::from_secs(10), "the pass took {took:?}");

    // The next pass asks afresh; once the relay behaves, everything goes on.
    slow.behave();
    let report = b.sync().unwrap();
    assert!(report.offline.is_none(), "{report:?}");
}
