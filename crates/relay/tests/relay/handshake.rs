//! The relay checks the handshake messages it orders against each group's public state: a
//! member cannot wedge a circle with a commit nobody can apply, nor change who is in it by
//! saying so.

use crate::device_keys::*;
use crate::support::*;

/// Bob's next self-update, as posted bytes; his pending commit is dropped again, so his state
/// stays at the group's epoch.
fn bobs_update(bob: &Member, gb: &mut MlsGroup) -> Vec<u8> {
    let update = gb
        .self_update(&bob.provider, &bob.signer, LeafNodeParameters::default())
        .unwrap();
    gb.clear_pending_commit(bob.provider.storage()).unwrap();
    bytes(update.commit())
}

/// What the relay took for the group: the epoch of its last entry, and how many entries.
async fn log_of(acc: &Account, gid: &str) -> Vec<LogEntry> {
    read_log(acc, &format!("/v1/groups/{gid}/messages")).await
}

/// The wedge: a member posts a commit that every client would reject (its signature broken, or
/// framed as a PrivateMessage the relay cannot check). Before, the relay moved its epoch on the
/// framing alone and every honest post after was `stale_epoch` for ever. Now each is refused,
/// nothing changes, and the next honest commit and message go through and are read.
#[tokio::test]
async fn a_garbage_commit_is_refused_and_the_circle_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (alice_acc, alice, mut ga, bob_acc, bob, mut gb, gid) = circle_of_two(&relay).await;
    let path = format!("/v1/groups/{gid}/messages");

    // A commit whose signature is broken: its last byte flipped. A commit ends with its
    // signature (64 bytes and a length), its confirmation tag and its membership tag (32 bytes
    // and a length each). The two tags need the epoch's secrets, which the relay does not
    // have: a commit broken there is what members report (see `unprocessable`).
    let mut broken = bobs_update(&bob, &mut gb);
    let at = broken.len() - 33 - 33 - 1;
    broken[at] ^= 0x01;
    let (status, body) = bob_acc
        .send("POST", &path, to_cbor(&bundle(broken)).unwrap())
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "invalid_message")
    );

    // A commit signed by Bob's key but with its content changed after signing: a byte in the
    // middle flipped.
    let mut tampered = bobs_update(&bob, &mut gb);
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0x40;
    let (status, body) = bob_acc
        .send("POST", &path, to_cbor(&bundle(tampered)).unwrap())
        .await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));

    // A well-formed commit framed as an encrypted PrivateMessage: the relay cannot check it.
    gb.set_configuration(
        bob.provider.storage(),
        &MlsGroupJoinConfig::builder()
            .wire_format_policy(PURE_CIPHERTEXT_WIRE_FORMAT_POLICY)
            .build(),
    )
    .unwrap();
    let hidden = bobs_update(&bob, &mut gb);
    gb.set_configuration(bob.provider.storage(), &join_config())
        .unwrap();
    let (status, body) = bob_acc
        .send("POST", &path, to_cbor(&bundle(hidden)).unwrap())
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "invalid_message")
    );

    // Alice's own commit from Bob's account: the poster is not the member who signed it.
    let update = ga
        .self_update(
            &alice.provider,
            &alice.signer,
            LeafNodeParameters::default(),
        )
        .unwrap();
    let alices = bytes(update.commit());
    let (status, body) = bob_acc
        .send("POST", &path, to_cbor(&bundle(alices.clone())).unwrap())
        .await;
    assert_eq!((status, error_code(&body).as_str()), (403, "forbidden"));
    assert_eq!(log_of(&alice_acc, &gid).await.len(), 1, "nothing was taken");

    // Alice's commit from Alice goes through at the epoch both still hold.
    let posted: Posted = alice_acc
        .ok("POST", &path, to_cbor(&bundle(alices.clone())).unwrap())
        .await;
    assert_eq!(posted.epoch, 2);
    ga.merge_pending_commit(&alice.provider).unwrap();
    apply_commit(&bob, &mut gb, &alices);
    let hello = gb
        .create_message(&bob.provider, &bob.signer, b"still one circle")
        .unwrap();
    let posted: Posted = bob_acc
        .ok("POST", &path, to_cbor(&bundle(bytes(&hello))).unwrap())
        .await;
    let log = log_of(&alice_acc, &gid).await;
    assert_eq!(log.last().unwrap().seq, posted.seq);
    assert_eq!(
        open_application(&alice, &mut ga, &log.last().unwrap().mls[..]),
        b"still one circle"
    );
    relay.stop().await;
}

/// A commit for an epoch the group has not reached is refused with its own code.
#[tokio::test]
async fn a_commit_for_a_future_epoch_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (alice_acc, alice, mut ga, _bob_acc, _bob, _gb, gid) = circle_of_two(&relay).await;
    // Alice merges a commit locally without posting it, then posts the next one.
    let first = ga
        .self_update(
            &alice.provider,
            &alice.signer,
            LeafNodeParameters::default(),
        )
        .unwrap();
    drop(first);
    ga.merge_pending_commit(&alice.provider).unwrap();
    let ahead = ga
        .self_update(
            &alice.provider,
            &alice.signer,
            LeafNodeParameters::default(),
        )
        .unwrap();
    let (status, body) = alice_acc
        .send(
            "POST",
            &format!("/v1/groups/{gid}/messages"),
            to_cbor(&bundle(bytes(ahead.commit()))).unwrap(),
        )
        .await;
    assert_eq!((status, error_code(&body).as_str()), (409, "future_epoch"));
    relay.stop().await;
}

/// Evict and enrol: membership is the tree's leaves, whatever a bundle says. A bundle carrying
/// the old routing hints (`removed` everyone else, `added` an outsider) changes nothing: the
/// others still post and read, and the outsider is refused the log.
#[tokio::test]
async fn routing_hints_neither_evict_nor_enrol() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (alice_acc, alice, mut ga, bob_acc, bob, mut gb, gid) = circle_of_two(&relay).await;
    let outsider = Account::new(&relay);
    let path = format!("/v1/groups/{gid}/messages");
    let update = gb
        .self_update(&bob.provider, &bob.signer, LeafNodeParameters::default())
        .unwrap();
    let commit = bytes(update.commit());
    #[derive(serde::Serialize)]
    struct OldBundle {
        message_id: ByteBuf,
        mls: ByteBuf,
        welcomes: Vec<WelcomeFor>,
        added: Vec<String>,
        removed: Vec<String>,
    }
    let old = OldBundle {
        message_id: message_id(),
        mls: ByteBuf::from(commit.clone()),
        welcomes: vec![],
        added: vec![outsider.id()],
        removed: vec![alice_acc.id()],
    };
    let _: Posted = bob_acc.ok("POST", &path, to_cbor(&old).unwrap()).await;
    gb.merge_pending_commit(&bob.provider).unwrap();
    apply_commit(&alice, &mut ga, &commit);

    let (status, body) = outsider.send("GET", &path, vec![]).await;
    assert_eq!((status, error_code(&body).as_str()), (403, "forbidden"));
    let spam = {
        let m = outsider.member();
        let (mut own, _) = create_group(&outsider, &m).await;
        bytes(&own.create_message(&m.provider, &m.signer, b"spam").unwrap())
    };
    let (status, _) = outsider
        .send("POST", &path, to_cbor(&bundle(spam)).unwrap())
        .await;
    assert!(status == 400 || status == 403, "{status}");

    let hello = ga
        .create_message(&alice.provider, &alice.signer, b"still here")
        .unwrap();
    let _: Posted = alice_acc
        .ok("POST", &path, to_cbor(&bundle(bytes(&hello))).unwrap())
        .await;
    assert_eq!(log_of(&alice_acc, &gid).await.len(), 3);
    relay.stop().await;
}

/// A member removed by a commit can post nothing more: the tree no longer has its leaf, so the
/// relay's member list no longer has its account.
#[tokio::test]
async fn a_removed_member_can_neither_commit_nor_read() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (alice_acc, alice, mut ga, bob_acc, bob, mut gb, gid) = circle_of_two(&relay).await;
    let path = format!("/v1/groups/{gid}/messages");
    let bob_leaf = ga
        .members()
        .find(|m| m.signature_key == bob_acc.key.public_key().as_ref())
        .unwrap()
        .index;
    let (remove, _, _) = ga
        .remove_members(&alice.provider, &alice.signer, &[bob_leaf])
        .unwrap();
    let _: Posted = alice_acc
        .ok("POST", &path, to_cbor(&bundle(bytes(&remove))).unwrap())
        .await;
    ga.merge_pending_commit(&alice.provider).unwrap();
    // Bob, who has not seen his removal, commits for the epoch he holds.
    let update = gb
        .self_update(&bob.provider, &bob.signer, LeafNodeParameters::default())
        .unwrap();
    let (status, body) = bob_acc
        .send(
            "POST",
            &path,
            to_cbor(&bundle(bytes(update.commit()))).unwrap(),
        )
        .await;
    assert_eq!((status, error_code(&body).as_str()), (403, "forbidden"));
    let (status, _) = bob_acc.send("GET", &path, vec![]).await;
    assert_eq!(status, 403);
    relay.stop().await;
}

/// A group whose creator's leaf is not its account key (another key signs, or the credential
/// names something else) is refused at creation: every later check relies on leaf and account
/// being one key.
#[tokio::test]
async fn a_group_whose_leaf_is_not_the_account_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let acc = Account::new(&relay);
    let m = member("not an account key");
    let group = MlsGroup::new(&m.provider, &m.signer, &create_config(), m.cwk.clone()).unwrap();
    let (status, body) = post_group(&acc, &m, &group).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "invalid_message")
    );
    // Another account's real group state, uploaded by someone not in it.
    let owner = Account::new(&relay);
    let om = owner.member();
    let group = MlsGroup::new(&om.provider, &om.signer, &create_config(), om.cwk.clone()).unwrap();
    let (status, body) = post_group(&acc, &om, &group).await;
    assert_eq!((status, error_code(&body).as_str()), (400, "bad_request"));
    relay.stop().await;
}

/// Alice makes a circle of three: Bob and Carol added by one commit; everyone at epoch 1.
async fn circle_of_three(relay: &Relay) -> (Vec<Account>, Vec<Member>, Vec<MlsGroup>, String) {
    let accounts: Vec<Account> = (0..3).map(|_| Account::new(relay)).collect();
    let members: Vec<Member> = accounts.iter().map(Account::member).collect();
    let (mut ga, gid) = create_group(&accounts[0], &members[0]).await;
    let (commit, welcome, _) = ga
        .add_members(
            &members[0].provider,
            &members[0].signer,
            &[key_package(&members[1]), key_package(&members[2])],
        )
        .unwrap();
    let mut b = bundle(bytes(&commit));
    for acc in &accounts[1..] {
        b.welcomes.push(WelcomeFor {
            account: acc.id(),
            mls: ByteBuf::from(bytes(&welcome)),
        });
    }
    let _: Posted = accounts[0]
        .ok(
            "POST",
            &format!("/v1/groups/{gid}/messages"),
            to_cbor(&b).unwrap(),
        )
        .await;
    ga.merge_pending_commit(&members[0].provider).unwrap();
    let gb = join(&members[1], &bytes(&welcome));
    let gc = join(&members[2], &bytes(&welcome));
    (accounts, members, vec![ga, gb, gc], gid)
}

async fn report(acc: &Account, gid: &str, seq: u64) -> (u16, Vec<u8>) {
    acc.send(
        "POST",
        &format!("/v1/groups/{gid}/reports"),
        to_cbor(&CommitReport { seq }).unwrap(),
    )
    .await
}

/// A member posts a commit signed by its leaf, which the relay checks and takes, but whose
/// confirmation tag (which needs the epoch's secrets, and is outside the signature) is wrong:
/// no other member can process it. Alice and Carol report it; on the second report the relay
/// undoes it, and the circle goes on from the epoch before: Alice's next message is read by
/// Carol. The committer's own report counts for nothing, and an outsider cannot report.
#[tokio::test]
async fn a_commit_nobody_can_process_is_undone_once_two_members_report_it() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (accs, ms, mut gs, gid) = circle_of_three(&relay).await;
    let path = format!("/v1/groups/{gid}/messages");
    let update = gs[1]
        .self_update(
            &ms[1].provider,
            &ms[1].signer,
            LeafNodeParameters::default(),
        )
        .unwrap();
    let mut poisoned = bytes(update.commit());
    // The confirmation tag's last byte: before the membership tag (32 bytes and a length).
    let at = poisoned.len() - 33 - 1;
    poisoned[at] ^= 0x01;
    let posted: Posted = accs[1]
        .ok("POST", &path, to_cbor(&bundle(poisoned.clone())).unwrap())
        .await;
    assert_eq!(
        posted.epoch, 2,
        "the relay cannot tell: it takes the commit"
    );

    // Alice and Carol cannot process it.
    for i in [0, 2] {
        let msg = MlsMessageIn::tls_deserialize_exact(&poisoned).unwrap();
        assert!(
            gs[i]
                .process_message(&ms[i].provider, msg.try_into_protocol_message().unwrap())
                .is_err()
        );
    }
    // Meanwhile an honest post at the epoch everyone else holds is refused.
    let hello = gs[0]
        .create_message(&ms[0].provider, &ms[0].signer, b"after the undo")
        .unwrap();
    let (status, _) = accs[0]
        .send("POST", &path, to_cbor(&bundle(bytes(&hello))).unwrap())
        .await;
    assert_eq!(status, 409, "stale until the commit is undone");

    let outsider = Account::new(&relay);
    assert_eq!(report(&outsider, &gid, posted.seq).await.0, 403);
    let answer: ReportAnswer = from_cbor(&report(&accs[1], &gid, posted.seq).await.1).unwrap();
    assert_eq!(answer, ReportAnswer::Ignored, "the committer's own report");
    let answer: ReportAnswer = from_cbor(&report(&accs[0], &gid, posted.seq).await.1).unwrap();
    assert_eq!(answer, ReportAnswer::Counted);
    let answer: ReportAnswer = from_cbor(&report(&accs[0], &gid, posted.seq).await.1).unwrap();
    assert_eq!(answer, ReportAnswer::Counted, "one member counts once");
    let answer: ReportAnswer = from_cbor(&report(&accs[2], &gid, posted.seq).await.1).unwrap();
    assert_eq!(answer, ReportAnswer::Undone);

    // The circle goes on at epoch 1.
    let posted_hello: Posted = accs[0]
        .ok("POST", &path, to_cbor(&bundle(bytes(&hello))).unwrap())
        .await;
    assert_eq!(posted_hello.epoch, 1);
    assert!(
        posted_hello.seq > posted.seq,
        "sequence numbers keep counting"
    );
    let log = read_log(&accs[2], &path).await;
    assert!(
        log.iter().all(|e| e.seq != posted.seq),
        "the undone commit left the log"
    );
    assert_eq!(
        open_application(&ms[2], &mut gs[2], &log.last().unwrap().mls[..]),
        b"after the undo"
    );
    // And the next honest commit is checked against the state before the undone one.
    let update = gs[2]
        .self_update(
            &ms[2].provider,
            &ms[2].signer,
            LeafNodeParameters::default(),
        )
        .unwrap();
    let next: Posted = accs[2]
        .ok(
            "POST",
            &path,
            to_cbor(&bundle(bytes(update.commit()))).unwrap(),
        )
        .await;
    assert_eq!(next.epoch, 2);
    relay.stop().await;
}

/// A member moves its leaf to a new device key: allowed only under a certificate its own
/// identity key signed. Bob cannot become another physician (a fresh identity, or Alice's with a
/// signature he forged); he can move to a new device of his own, after which the relay knows
/// him by that device's account and no longer by the old one.
#[tokio::test]
async fn a_leaf_changes_device_only_under_its_own_identitys_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (alice_acc, _alice, _ga, bob_acc, bob, mut gb, gid) = circle_of_two(&relay).await;
    let path = format!("/v1/groups/{gid}/messages");
    let mut update_to = |cwk: CredentialWithKey, signer: &SignatureKeyPair| -> Vec<u8> {
        let bundle = gb
            .self_update_with_new_signer(
                &bob.provider,
                &bob.signer,
                NewSignerBundle {
                    signer,
                    credential_with_key: cwk,
                },
                LeafNodeParameters::default(),
            )
            .unwrap();
        gb.clear_pending_commit(bob.provider.storage()).unwrap();
        bytes(bundle.commit())
    };

    // Another physician: a fresh identity of Bob's making.
    let mut stranger = [0u8; 32];
    SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut stranger).unwrap();
    let (_, cwk, signer) = certified_device(&stranger, &stranger, &relay.base);
    let (status, body) = bob_acc
        .send(
            "POST",
            &path,
            to_cbor(&bundle(update_to(cwk, &signer))).unwrap(),
        )
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "invalid_message")
    );
    // Alice, with a certificate Bob signed himself.
    let (_, cwk, signer) = certified_device(&alice_acc.seed, &bob_acc.seed, &relay.base);
    let (status, body) = bob_acc
        .send(
            "POST",
            &path,
            to_cbor(&bundle(update_to(cwk, &signer))).unwrap(),
        )
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "invalid_message")
    );
    assert_eq!(log_of(&alice_acc, &gid).await.len(), 1, "nothing was taken");

    // A new device of Bob's own, certified by his key.
    let (device, cwk, signer) = certified_device(&bob_acc.seed, &bob_acc.seed, &relay.base);
    let moved = update_to(cwk.clone(), &signer);
    let posted: Posted = bob_acc
        .ok("POST", &path, to_cbor(&bundle(moved)).unwrap())
        .await;
    assert_eq!(posted.epoch, 2);
    // The relay now knows Bob by his new device, and the old account is no member.
    let (status, _) = bob_acc.send("GET", &path, vec![]).await;
    assert_eq!(status, 403);
    let log: Vec<LogEntry> = read_log(&device, &path).await;
    assert_eq!(log.len(), 2);
    relay.stop().await;
}

/// A member posts a proposal of its own making (an update here): the relay, like every
/// client, takes only a member's own leaving, so nothing waits in its state for the next
/// commit to carry into a split.
#[tokio::test]
async fn only_a_members_own_leaving_is_taken_as_a_proposal() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (alice_acc, _alice, _ga, bob_acc, bob, mut gb, gid) = circle_of_two(&relay).await;
    let path = format!("/v1/groups/{gid}/messages");
    let (update, _) = gb
        .propose_self_update(&bob.provider, &bob.signer, LeafNodeParameters::default())
        .unwrap();
    let (status, body) = bob_acc
        .send("POST", &path, to_cbor(&bundle(bytes(&update))).unwrap())
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "invalid_message")
    );
    assert_eq!(log_of(&alice_acc, &gid).await.len(), 1, "nothing was taken");
    let leave = gb.leave_group(&bob.provider, &bob.signer).unwrap();
    let posted: Posted = bob_acc
        .ok("POST", &path, to_cbor(&bundle(bytes(&leave))).unwrap())
        .await;
    assert_eq!(posted.epoch, 1);
    relay.stop().await;
}
