//! A restored laptop comes back into a group: its key package reaches the members only when its
//! certificate names an identity in the group, and a member may swap a colleague's leaf only for
//! a device that asked. A hostile member can neither re-add a colleague's live device in place
//! of itself, nor swap in a device of its choosing.

use crate::device_keys::*;
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_members_new_device_comes_in_only_once_it_asked_and_never_a_live_one_twice() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (alice_acc, alice, _ga, bob_acc, bob, mut gb, gid) = circle_of_two(&relay).await;
    let path = format!("/v1/groups/{gid}/messages");
    let alice_leaf = LeafNodeIndex::new(0);
    let mut swap = |kp: KeyPackage| -> (Vec<u8>, Vec<u8>) {
        let out = gb
            .swap_members(&bob.provider, &bob.signer, &[alice_leaf], &[kp])
            .unwrap();
        gb.clear_pending_commit(bob.provider.storage()).unwrap();
        (bytes(&out.commit), bytes(&out.welcome))
    };

    // Bob swaps Alice's leaf for a fresh package of her live device: refused.
    let (commit, _) = swap(key_package(&alice));
    let (status, body) = bob_acc
        .send("POST", &path, to_cbor(&bundle(commit)).unwrap())
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "invalid_message")
    );

    // Alice's new laptop: certified by her identity key.
    let (device, cwk, signer) = certified_device(&alice_acc.seed, &alice_acc.seed, &relay.base);
    let (device_provider, kp) = package_of(&cwk, &signer);
    // Bob swaps it in before it asked: refused.
    let (commit, _) = swap(kp.clone());
    let (status, body) = bob_acc
        .send("POST", &path, to_cbor(&bundle(commit)).unwrap())
        .await;
    assert_eq!((status, error_code(&body).as_str()), (403, "forbidden"));

    // A device certified by an identity that is not in the group asks: refused; so is a
    // device sending another's package.
    let mut stranger_seed = [0u8; 32];
    SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut stranger_seed).unwrap();
    let (stranger, s_cwk, s_signer) = certified_device(&stranger_seed, &stranger_seed, &relay.base);
    let (_, s_kp) = package_of(&s_cwk, &s_signer);
    let readmission = format!("/v1/groups/{gid}/readmission");
    let ask = |kp: &KeyPackage| {
        to_cbor(&Readmission {
            key_package: ByteBuf::from(kp_bytes(kp)),
        })
        .unwrap()
    };
    let (status, _) = stranger.send("POST", &readmission, ask(&s_kp)).await;
    assert_eq!(status, 403);
    let (status, _) = stranger.send("POST", &readmission, ask(&kp)).await;
    assert_eq!(status, 403);
    // Alice's live device is a member already.
    let (status, _) = alice_acc
        .send("POST", &readmission, ask(&key_package(&alice)))
        .await;
    assert_eq!(status, 400);

    // The new device asks: Bob's mailbox has it, and his swap now goes through.
    let (status, body) = device.send("POST", &readmission, ask(&kp)).await;
    assert_eq!(status, 202, "{}", String::from_utf8_lossy(&body));
    let mail: Vec<MailboxItem> = bob_acc.ok("GET", "/v1/mailbox", vec![]).await;
    assert!(
        mail.iter()
            .any(|m| m.kind == MailboxKind::JoinRequest && m.sender == device.id())
    );
    // The lost laptop is connected to its push socket when it is replaced.
    let ws_url = format!("{}/v1/ws", relay.base.replace("http://", "ws://"));
    let mut old_socket = push_connect(&ws_url, &alice_acc, &alice_acc)
        .await
        .expect("the old laptop is connected");
    let (commit, welcome) = swap(kp);
    let mut b = bundle(commit);
    b.welcomes.push(WelcomeFor {
        account: device.id(),
        mls: ByteBuf::from(welcome),
    });
    let posted: Posted = bob_acc.ok("POST", &path, to_cbor(&b).unwrap()).await;
    assert_eq!(posted.epoch, 2);
    let mail: Vec<MailboxItem> = device.ok("GET", "/v1/mailbox", vec![]).await;
    assert!(mail.iter().any(|m| m.kind == MailboxKind::Welcome));
    drop(device_provider);
    // Its push socket is told and closed.
    {
        use futures_util::StreamExt;
        let said = tokio::time::timeout(std::time::Duration::from_secs(5), old_socket.next())
            .await
            .expect("the socket is told at once")
            .unwrap()
            .unwrap();
        assert!(said.into_text().unwrap().contains("device_revoked"));
    }
    // The lost laptop's device is revoked: refused on every route, including the ones open to
    // strangers, and its key packages are gone (nobody can add it back).
    for (method, route) in [
        ("GET", path.as_str()),
        ("GET", "/v1/mailbox"),
        ("POST", readmission.as_str()),
    ] {
        let (status, body) = alice_acc
            .send(method, route, ask(&key_package(&alice)))
            .await;
        assert_eq!(
            (status, error_code(&body).as_str()),
            (401, "device_revoked"),
            "{method} {route}"
        );
    }
    // The relay remembers it after a restart.
    relay.stop().await;
    let relay = start(dir.path()).await;
    let alice_acc = Account {
        base: relay.base.clone(),
        ..alice_acc
    };
    let (status, body) = alice_acc.send("GET", "/v1/mailbox", vec![]).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (401, "device_revoked")
    );
    relay.stop().await;
}

/// A member mints device keys of its own identity and asks back in with each, to fill its
/// colleagues' mailboxes (200 items) so that nothing more reaches them. Each request supersedes
/// the one before: a colleague holds one, and what else comes to her still arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minted_devices_asking_back_in_cannot_fill_a_colleagues_mailbox() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (alice_acc, _alice, _ga, bob_acc, _bob, _gb, gid) = circle_of_two(&relay).await;
    let readmission = format!("/v1/groups/{gid}/readmission");
    for i in 0..250 {
        let (device, cwk, signer) = certified_device(&bob_acc.seed, &bob_acc.seed, &relay.base);
        let (_, kp) = package_of(&cwk, &signer);
        let ask = to_cbor(&Readmission {
            key_package: ByteBuf::from(kp_bytes(&kp)),
        })
        .unwrap();
        let (status, body) = device.send("POST", &readmission, ask).await;
        assert_eq!(status, 202, "request {i}: {}", error_code(&body));
    }
    let mail: Vec<MailboxItem> = alice_acc.ok("GET", "/v1/mailbox", vec![]).await;
    assert_eq!(mail.len(), 1, "only the last request waits");
    relay.stop().await;
}
