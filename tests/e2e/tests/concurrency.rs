//! Two members commit at once, fifty times (both rotate their keys, or both add a member): the
//! relay takes one commit per epoch, the other is redone on the new epoch, and the circle never
//! forks.

use consilium_client::Engine;
use consilium_model::CaseFields;

use crate::support::{Relay, engine, form_circle};

const CIRCLE: &str = "Cardiology";

fn state(e: &Engine) -> (u64, Vec<String>) {
    let c = &e.circles().unwrap()[0];
    let mut members: Vec<String> = e
        .members(CIRCLE)
        .unwrap()
        .into_iter()
        .map(|m| m.account)
        .collect();
    members.sort();
    (c.epoch, members)
}

#[test]
fn two_members_committing_at_once_fifty_times_never_fork_the_circle() {
    let root = tempfile::tempdir().unwrap();
    let relay = Relay::start(&root.path().join("relay"));
    let url = relay.url();
    let mut a = engine(root.path(), "A", "Cardiology");
    let mut b = engine(root.path(), "B", "Cardiology");
    let mut c = engine(root.path(), "C", "Cardiology");
    form_circle(&mut a, &mut [&mut b, &mut c], CIRCLE, &url);
    // Two admins, so both can add.
    let b_account = b.identity().unwrap().account;
    a.make_admin(CIRCLE, &b_account).unwrap();
    a.sync().unwrap();
    b.sync().unwrap();
    let mut joiners = Vec::new();
    let redone = std::sync::atomic::AtomicUsize::new(0);

    for round in 0..50 {
        let adding = round % 10 == 0;
        if adding {
            // Each admin invites a newcomer; the requests reach each inviter.
            let (mut ja, mut jb) = (
                engine(root.path(), &format!("JA{round}"), "Cardiology"),
                engine(root.path(), &format!("JB{round}"), "Cardiology"),
            );
            ja.join(&a.invite(CIRCLE).unwrap()).unwrap();
            jb.join(&b.invite(CIRCLE).unwrap()).unwrap();
            a.sync().unwrap();
            b.sync().unwrap();
            joiners.push(ja);
            joiners.push(jb);
        }
        let barrier = std::sync::Barrier::new(2);
        std::thread::scope(|s| {
            for e in [&mut a, &mut b] {
                let (barrier, redone) = (&barrier, &redone);
                s.spawn(move || {
                    if adding {
                        let r = e.join_requests(CIRCLE).unwrap();
                        let number = consilium_client::ApprovalCheck::SafetyNumber(
                            r[0].safety_number.clone(),
                        );
                        e.approve(CIRCLE, r[0].id, &number).unwrap();
                    } else {
                        e.rotate_keys(CIRCLE).unwrap();
                    }
                    barrier.wait();
                    let report = e.sync().unwrap();
                    assert!(report.failed.is_empty(), "{:?}", report.failed);
                    redone.fetch_add(report.redone, std::sync::atomic::Ordering::Relaxed);
                });
            }
        });
    }
    for _ in 0..2 {
        for e in [&mut a, &mut b, &mut c] {
            e.sync().unwrap();
        }
        for j in &mut joiners {
            j.sync().unwrap();
        }
    }
    let redone = redone.into_inner();
    assert!(
        redone >= 10,
        "the race was lost and redone only {redone} times"
    );
    let expected = state(&a);
    // Two adds to form the circle, B made admin, then two commits per round.
    assert_eq!(
        expected.0,
        3 + 2 * 50,
        "every commit landed once: {expected:?}"
    );
    assert_eq!(expected.1.len(), 3 + 10);
    assert_eq!(state(&b), expected);
    assert_eq!(state(&c), expected);
    for j in &joiners {
        assert_eq!(state(j), expected);
    }

    // And everyone reads a new message.
    let case = a
        .create_case(CaseFields {
            title: "After the storm".into(),
            ..Default::default()
        })
        .unwrap();
    a.share(&case, CIRCLE).unwrap();
    a.sync().unwrap();
    for e in [&mut b, &mut c].into_iter().chain(joiners.iter_mut()) {
        e.sync().unwrap();
        assert_eq!(e.case(&case).unwrap().fields.title, "After the storm");
    }
}
