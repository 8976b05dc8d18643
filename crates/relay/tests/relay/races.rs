//! Commit races: two members committing for the same epoch at once.

use crate::support::*;

/// One side of a commit race: an account, its MLS member and its group.
pub type Racer<'a> = (&'a Account, &'a Member, &'a mut MlsGroup);

/// Alice and Bob each post a commit for the same epoch of circle `gid` at once, `rounds` times
/// (each through the relay its account names): exactly one is taken each round, the other is
/// `409 stale_epoch` naming the epoch the winner made, and both go on from the winner's. Then
/// Bob reads a message Alice posts: still one circle.
pub async fn race_commits_then_talk(alice: Racer<'_>, bob: Racer<'_>, gid: &str, rounds: u64) {
    let ((alice_acc, alice, ga), (bob_acc, bob, gb)) = (alice, bob);
    let path = format!("/v1/groups/{gid}/messages");
    let first_epoch = ga.epoch().as_u64();
    for round in 0..rounds {
        let ca = ga
            .self_update(
                &alice.provider,
                &alice.signer,
                LeafNodeParameters::default(),
            )
            .unwrap();
        let cb = gb
            .self_update(&bob.provider, &bob.signer, LeafNodeParameters::default())
            .unwrap();
        let (ba, bb) = (bytes(ca.commit()), bytes(cb.commit()));
        let (ra, rb) = tokio::join!(
            alice_acc.send("POST", &path, to_cbor(&bundle(ba.clone())).unwrap()),
            bob_acc.send("POST", &path, to_cbor(&bundle(bb.clone())).unwrap()),
        );
        let accepted = [ra.0, rb.0].iter().filter(|s| **s == 200).count();
        assert_eq!(accepted, 1, "round {round}: {} / {}", ra.0, rb.0);
        let (loser_status, loser_body) = if ra.0 == 200 { &rb } else { &ra };
        assert_eq!(*loser_status, 409, "round {round}");
        let err: RelayErrorBody = serde_json::from_slice(loser_body).unwrap();
        assert_eq!(
            (err.code.as_str(), err.current_epoch),
            ("stale_epoch", Some(first_epoch + round + 1)),
            "round {round}"
        );
        if ra.0 == 200 {
            ga.merge_pending_commit(&alice.provider).unwrap();
            gb.clear_pending_commit(bob.provider.storage()).unwrap();
            apply_commit(bob, gb, &ba);
        } else {
            gb.merge_pending_commit(&bob.provider).unwrap();
            ga.clear_pending_commit(alice.provider.storage()).unwrap();
            apply_commit(alice, ga, &bb);
        }
        assert_eq!(ga.epoch(), gb.epoch());
    }
    let hello = ga
        .create_message(&alice.provider, &alice.signer, b"still one circle")
        .unwrap();
    let posted: Posted = alice_acc
        .ok("POST", &path, to_cbor(&bundle(bytes(&hello))).unwrap())
        .await;
    let log: Vec<LogEntry> = bob_acc
        .ok("GET", &format!("{path}?after={}", posted.seq - 1), vec![])
        .await;
    assert_eq!(
        open_application(bob, gb, &log[0].mls[..]),
        b"still one circle"
    );
}
