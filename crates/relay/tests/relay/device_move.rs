//! A profile of before the device split (one key as identity, leaf and account) moves to a
//! device key of its own: only with a certificate its own key signed, once; the old account is
//! refused from then on, and the new one speaks for the old leaf until the circle is told.

use consilium_model::wire::DeviceMove;

use crate::device_keys::*;
use crate::support::*;

fn moving(certificate: &CredentialWithKey) -> Vec<u8> {
    to_cbor(&DeviceMove {
        certificate: ByteBuf::from(certificate.credential.serialized_content().to_vec()),
    })
    .unwrap()
}

#[tokio::test]
async fn a_key_of_before_the_split_moves_to_its_own_device_once_and_no_one_else_moves_it() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (alice_acc, alice, mut ga, bob_acc, bob, mut gb, gid) = circle_of_two(&relay).await;
    let path = format!("/v1/groups/{gid}/messages");

    // Alice tries to move Bob's account, or her own with a certificate Bob's key did not make
    // for her, or one whose signature is broken: refused, and nothing moved.
    let (_, bobs, _) = certified_device(&bob_acc.seed, &bob_acc.seed, &relay.base);
    let (status, _) = alice_acc
        .send("POST", "/v1/account/device", moving(&bobs))
        .await;
    assert_eq!(status, 403, "a certificate for another identity");
    let (_, mut broken, _) = certified_device(&alice_acc.seed, &alice_acc.seed, &relay.base);
    let mut bytes_of = broken.credential.serialized_content().to_vec();
    bytes_of[100] ^= 1;
    broken.credential = BasicCredential::new(bytes_of).into();
    let (status, _) = alice_acc
        .send("POST", "/v1/account/device", moving(&broken))
        .await;
    assert_eq!(status, 400, "a certificate that does not verify");
    let (status, _) = bob_acc.send("GET", &path, vec![]).await;
    assert_eq!(status, 200, "Bob's account is untouched");

    // Bob moves to a device of his own.
    let (device, cwk, signer) = certified_device(&bob_acc.seed, &bob_acc.seed, &relay.base);
    let (status, body) = bob_acc
        .send("POST", "/v1/account/device", moving(&cwk))
        .await;
    assert_eq!(status, 204, "{}", error_code(&body));
    // The old account is refused everywhere, a second move with it too.
    let (status, body) = bob_acc.send("GET", &path, vec![]).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (401, "device_revoked")
    );
    let (_, other, _) = certified_device(&bob_acc.seed, &bob_acc.seed, &relay.base);
    let (status, _) = bob_acc
        .send("POST", "/v1/account/device", moving(&other))
        .await;
    assert_eq!(status, 401);
    // A device key of after the split never moves this way (a new laptop asks back in).
    let (_, onward, _) = certified_device(&bob_acc.seed, &bob_acc.seed, &relay.base);
    let (status, _) = device
        .send("POST", "/v1/account/device", moving(&onward))
        .await;
    assert_eq!(status, 403);

    // The new device reads the circle and speaks for Bob's old leaf: an application message,
    // then the commit that gives the leaf its new key.
    assert_eq!(read_log(&device, &path).await.len(), 1);
    let hello = gb
        .create_message(&bob.provider, &bob.signer, b"from the new account")
        .unwrap();
    let posted: Posted = device
        .ok("POST", &path, to_cbor(&bundle(bytes(&hello))).unwrap())
        .await;
    assert_eq!(posted.seq, 2);
    let update = gb
        .self_update_with_new_signer(
            &bob.provider,
            &bob.signer,
            NewSignerBundle {
                signer: &signer,
                credential_with_key: cwk,
            },
            LeafNodeParameters::default(),
        )
        .unwrap();
    let posted: Posted = device
        .ok(
            "POST",
            &path,
            to_cbor(&bundle(bytes(update.commit()))).unwrap(),
        )
        .await;
    assert_eq!(posted.epoch, 2);
    let log = read_log(&alice_acc, &path).await;
    assert_eq!(
        open_application(&alice, &mut ga, &log[1].mls),
        b"from the new account"
    );
    apply_commit(&alice, &mut ga, &log[2].mls);

    // A Welcome for a key package of Bob's old key (claimed before the move) reaches the new
    // device's mailbox.
    let (mut g2, gid2) = create_group(&alice_acc, &alice).await;
    add_with_welcome(&alice_acc, &alice, &mut g2, &gid2, &bob, &bob_acc).await;
    let mail: Vec<MailboxItem> = device.ok("GET", "/v1/mailbox", vec![]).await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].kind, MailboxKind::Welcome);
    // And the device is that group's member too, for the old leaf it joins with.
    assert_eq!(
        read_log(&device, &format!("/v1/groups/{gid2}/messages"))
            .await
            .len(),
        1
    );
    relay.stop().await;
}

/// Bob moved his account to a device, his leaf not yet: his laptop is lost, and a restored one
/// is swapped in for that leaf. The relay revokes the old key and the device it moved to, so
/// the lost laptop reads nothing more under either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_key_whose_leaf_is_swapped_out_takes_its_device_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (alice_acc, alice, mut ga, bob_acc, _bob, _gb, gid) = circle_of_two(&relay).await;
    let path = format!("/v1/groups/{gid}/messages");
    let (device, cwk, _) = certified_device(&bob_acc.seed, &bob_acc.seed, &relay.base);
    let (status, _) = bob_acc
        .send("POST", "/v1/account/device", moving(&cwk))
        .await;
    assert_eq!(status, 204);
    assert_eq!(read_log(&device, &path).await.len(), 1);

    // Bob's restored laptop asks back in; Alice swaps it in for his leaf.
    let (restored, r_cwk, r_signer) = certified_device(&bob_acc.seed, &bob_acc.seed, &relay.base);
    let (_, kp) = package_of(&r_cwk, &r_signer);
    let ask = to_cbor(&Readmission {
        key_package: ByteBuf::from(kp_bytes(&kp)),
    })
    .unwrap();
    let (status, _) = restored
        .send("POST", &format!("/v1/groups/{gid}/readmission"), ask)
        .await;
    assert_eq!(status, 202);
    let out = ga
        .swap_members(
            &alice.provider,
            &alice.signer,
            &[LeafNodeIndex::new(1)],
            &[kp],
        )
        .unwrap();
    let mut b = bundle(bytes(&out.commit));
    b.welcomes.push(WelcomeFor {
        account: restored.id(),
        mls: ByteBuf::from(bytes(&out.welcome)),
    });
    let _: Posted = alice_acc.ok("POST", &path, to_cbor(&b).unwrap()).await;

    let (status, body) = device.send("GET", &path, vec![]).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (401, "device_revoked")
    );
    assert_eq!(read_log(&restored, &path).await.len(), 2);
    relay.stop().await;
}
