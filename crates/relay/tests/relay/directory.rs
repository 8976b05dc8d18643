//! The key-package directory, invitations, and blobs shared between groups.

use crate::support::*;

#[tokio::test]
async fn key_packages_are_served_once_the_last_resort_again_and_expired_never() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (owner, asker) = (Account::new(&relay), Account::new(&relay));
    let m = member("owner");
    let kps: Vec<Vec<u8>> = (0..3)
        .map(|_| {
            MlsMessageOut::from(key_package(&m))
                .tls_serialize_detached()
                .unwrap()
        })
        .collect();
    let upload = KeyPackageUpload {
        packages: vec![
            KeyPackageItem {
                mls: ByteBuf::from(kps[0].clone()),
                last_resort: false,
                expires_at: now_ms() + 3_600_000,
            },
            KeyPackageItem {
                mls: ByteBuf::from(kps[1].clone()),
                last_resort: false,
                expires_at: now_ms() - 1,
            },
            KeyPackageItem {
                mls: ByteBuf::from(kps[2].clone()),
                last_resort: true,
                expires_at: now_ms() + 3_600_000,
            },
        ],
    };
    let (status, _) = owner
        .send("PUT", "/v1/key-packages", to_cbor(&upload).unwrap())
        .await;
    assert_eq!(status, 204);
    // Only a member of a circle the owner asked to join may claim its packages.
    let gid = owner_asks_to_join(&asker, &owner).await;
    let claim = format!("/v1/accounts/{}/key-packages/claim?group={gid}", owner.id());
    let (s1, first) = asker.send("POST", &claim, vec![]).await;
    let (s2, second) = asker.send("POST", &claim, vec![]).await;
    let (s3, third) = asker.send("POST", &claim, vec![]).await;
    assert_eq!((s1, s2, s3), (200, 200, 200));
    assert_eq!(first, kps[0], "the ordinary package first");
    assert_eq!(
        second, kps[2],
        "then the last-resort one (the expired one is never served)"
    );
    assert_eq!(third, kps[2], "and the last-resort one again");
    let (status, body) = asker
        .send(
            "POST",
            &format!("/v1/accounts/{}/key-packages/claim?group={gid}", asker.id()),
            vec![],
        )
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (404, "no_key_package")
    );
    let junk = KeyPackageUpload {
        packages: vec![KeyPackageItem {
            mls: ByteBuf::from(vec![1, 2, 3]),
            last_resort: false,
            expires_at: 0,
        }],
    };
    let (status, _) = owner
        .send("PUT", "/v1/key-packages", to_cbor(&junk).unwrap())
        .await;
    assert_eq!(status, 400);
    relay.stop().await;
}

/// A one-time invitation: redeeming it puts the joiner's key package and note in the inviter's
/// mailbox; the same token again, an unknown token or an expired one is `invitation_invalid`;
/// only a member registers invitations.
#[tokio::test]
async fn invitation_tokens_work_once_and_expire() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (alice_acc, _a, _ga, _bob_acc, _b, _gb, gid) = circle_of_two(&relay).await;
    let joiner_acc = Account::new(&relay);
    let joiner = member("joiner");
    let kp = MlsMessageOut::from(key_package(&joiner))
        .tls_serialize_detached()
        .unwrap();
    let token = b"one-time token 0123456789abcdef".to_vec();
    let hash = ring::digest::digest(&ring::digest::SHA256, &token)
        .as_ref()
        .to_vec();
    let register = |hash: Vec<u8>, expires_at: i64| RegisterInvitation {
        token_hash: ByteBuf::from(hash),
        expires_at,
    };
    let (status, _) = alice_acc
        .send(
            "POST",
            &format!("/v1/groups/{gid}/invitations"),
            to_cbor(&register(hash.clone(), now_ms() + 60_000)).unwrap(),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = joiner_acc
        .send(
            "POST",
            &format!("/v1/groups/{gid}/invitations"),
            to_cbor(&register(vec![1; 32], now_ms() + 60_000)).unwrap(),
        )
        .await;
    assert_eq!(status, 403, "a non-member cannot register invitations");

    let redeem = |token: Vec<u8>| RedeemInvitation {
        token: ByteBuf::from(token),
        key_package: ByteBuf::from(kp.clone()),
        note: ByteBuf::from(b"Dr Joiner, dermatology".to_vec()),
    };
    let (status, _) = joiner_acc
        .send(
            "POST",
            "/v1/invitations/redeem",
            to_cbor(&redeem(token.clone())).unwrap(),
        )
        .await;
    assert_eq!(status, 202);
    let mail: Vec<MailboxItem> = alice_acc.ok("GET", "/v1/mailbox", vec![]).await;
    assert_eq!(mail.len(), 1);
    assert_eq!(
        (mail[0].kind, mail[0].sender.clone()),
        (MailboxKind::JoinRequest, joiner_acc.id())
    );
    let (got_kp, note): (ByteBuf, ByteBuf) = from_cbor(&mail[0].body).unwrap();
    assert_eq!(
        (got_kp.to_vec(), note.to_vec()),
        (kp.clone(), b"Dr Joiner, dermatology".to_vec())
    );

    let (status, body) = joiner_acc
        .send(
            "POST",
            "/v1/invitations/redeem",
            to_cbor(&redeem(token.clone())).unwrap(),
        )
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (410, "invitation_invalid"),
        "a token works once"
    );
    let (status, _) = joiner_acc
        .send(
            "POST",
            "/v1/invitations/redeem",
            to_cbor(&redeem(b"guess".to_vec())).unwrap(),
        )
        .await;
    assert_eq!(status, 410);
    let expired = b"expired token".to_vec();
    let h = ring::digest::digest(&ring::digest::SHA256, &expired)
        .as_ref()
        .to_vec();
    let (status, _) = alice_acc
        .send(
            "POST",
            &format!("/v1/groups/{gid}/invitations"),
            to_cbor(&register(h, now_ms() - 1)).unwrap(),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = joiner_acc
        .send(
            "POST",
            "/v1/invitations/redeem",
            to_cbor(&redeem(expired)).unwrap(),
        )
        .await;
    assert_eq!(status, 410, "an expired token is refused");
    relay.stop().await;
}

/// The same ciphertext uploaded to two groups is readable by the members of each, and only by
/// them.
#[tokio::test]
async fn a_blob_uploaded_to_two_groups_is_readable_in_both() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (alice, _, _, bob, _, _, gid1) = circle_of_two(&relay).await;
    let (carol, _, _, dave, _, _, gid2) = circle_of_two(&relay).await;
    let blob = vec![42u8; 4096];
    let id = hex::encode(ring::digest::digest(&ring::digest::SHA256, &blob));
    for (who, gid) in [(&alice, &gid1), (&carol, &gid2)] {
        let (status, body) = who
            .send("PUT", &format!("/v1/groups/{gid}/blobs/{id}"), blob.clone())
            .await;
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    }
    for reader in [&alice, &bob, &carol, &dave] {
        let (status, bytes) = reader.send("GET", &format!("/v1/blobs/{id}"), vec![]).await;
        assert_eq!((status, bytes.len()), (200, blob.len()));
    }
    let (stranger, _, _, _, _, _, _) = circle_of_two(&relay).await;
    let (status, body) = stranger
        .send("GET", &format!("/v1/blobs/{id}"), vec![])
        .await;
    assert_eq!((status, error_code(&body).as_str()), (404, "not_found"));
    relay.stop().await;
}

/// The uploader withdraws a blob from a group (its author retracted the case): the members can
/// no longer fetch it and, when no other group holds it, its file is gone. Nobody else may
/// withdraw it (a member who did not upload it, a stranger), and a withdrawal says nothing of
/// a blob the caller did not upload there.
#[tokio::test]
async fn only_its_uploader_withdraws_a_blob_and_its_file_goes_with_the_last_record() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (alice, _, _, bob, _, _, gid1) = circle_of_two(&relay).await;
    let (carol, _, _, _dave, _, _, gid2) = circle_of_two(&relay).await;
    let blob = vec![7u8; 4096];
    let id = hex::encode(ring::digest::digest(&ring::digest::SHA256, &blob));
    for (who, gid) in [(&alice, &gid1), (&carol, &gid2)] {
        let (status, _) = who
            .send("PUT", &format!("/v1/groups/{gid}/blobs/{id}"), blob.clone())
            .await;
        assert_eq!(status, 201);
    }
    let file = dir.path().join("blobs").join(&id);
    assert!(file.exists());
    let route = |gid: &str| format!("/v1/groups/{gid}/blobs/{id}");

    for (who, gid) in [(&bob, &gid1), (&carol, &gid1), (&alice, &gid2)] {
        let (status, body) = who.send("DELETE", &route(gid), vec![]).await;
        assert_eq!((status, error_code(&body).as_str()), (404, "not_found"));
    }
    let (status, _) = bob.send("GET", &format!("/v1/blobs/{id}"), vec![]).await;
    assert_eq!(status, 200, "nothing was withdrawn");

    let (status, _) = alice.send("DELETE", &route(&gid1), vec![]).await;
    assert_eq!(status, 204);
    let (status, _) = bob.send("GET", &format!("/v1/blobs/{id}"), vec![]).await;
    assert_eq!(status, 404, "the group's members no longer get it");
    assert!(file.exists(), "the other group still holds it");
    let (status, _) = carol.send("DELETE", &route(&gid2), vec![]).await;
    assert_eq!(status, 204);
    assert!(!file.exists(), "the last record took the file with it");
    relay.stop().await;
}
