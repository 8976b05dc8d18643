//! Mailboxes: what a stranger can put in someone else's, and what the owner can always read.

use crate::support::*;

/// A stranger (a fresh key is an account) makes its own group and posts commit after commit
/// whose bundle names a victim with a 900 KiB "Welcome". The victim's mailbox stays within its
/// caps, every answer to the victim decodes within the client's 4 MiB limit, and draining it
/// leaves it empty; past the caps the stranger is refused with `mailbox_full`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_cannot_fill_a_victims_mailbox_past_what_it_can_read() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (stranger_acc, victim_acc) = (Account::new(&relay), Account::new(&relay));
    let stranger = member("stranger");
    let mut group = MlsGroup::new(
        &stranger.provider,
        &stranger.signer,
        &MlsGroupCreateConfig::default(),
        stranger.cwk.clone(),
    )
    .unwrap();
    let gid = hex::encode(group.group_id().as_slice());
    let (status, _) = stranger_acc
        .send(
            "POST",
            "/v1/groups",
            to_cbor(&CreateGroup {
                group_id: ByteBuf::from(group.group_id().as_slice().to_vec()),
            })
            .unwrap(),
        )
        .await;
    assert_eq!(status, 201);
    // A Welcome as the relay's framing check sees one (MLS 1.0, wire format Welcome, suite 1, no
    // group secrets) whose "encrypted group info" is 900 KiB of junk.
    let mut junk = vec![0x00, 0x01, 0x00, 0x03, 0x00, 0x01, 0x00];
    junk.extend(
        tls_codec::VLBytes::new(vec![0x5a; 900 * 1024])
            .tls_serialize_detached()
            .unwrap(),
    );
    let mut refused = None;
    for i in 0..12 {
        let update = group
            .self_update(
                &stranger.provider,
                &stranger.signer,
                LeafNodeParameters::default(),
            )
            .unwrap();
        let mut b = bundle(bytes(update.commit()));
        b.added.push(victim_acc.id());
        b.welcomes.push(WelcomeFor {
            account: victim_acc.id(),
            mls: ByteBuf::from(junk.clone()),
        });
        let (status, body) = stranger_acc
            .send(
                "POST",
                &format!("/v1/groups/{gid}/messages"),
                to_cbor(&b).unwrap(),
            )
            .await;
        if status != 200 {
            refused = Some((i, status, error_code(&body)));
            break;
        }
        group.merge_pending_commit(&stranger.provider).unwrap();
    }
    let (at, status, code) = refused.expect("the caps refuse the flood");
    assert_eq!(
        (status, code.as_str()),
        (507, "mailbox_full"),
        "at post {at}"
    );
    // The victim reads everything, page by page, each page decodable, and acknowledges it.
    let mut read = 0;
    loop {
        let (status, body) = victim_acc.send("GET", "/v1/mailbox", vec![]).await;
        assert_eq!(status, 200);
        assert!(
            body.len() <= consilium_model::codec::MAX_DOCUMENT_BYTES,
            "a page of {} bytes is past what a client decodes",
            body.len()
        );
        let page: Vec<MailboxItem> = from_cbor(&body).unwrap();
        if page.is_empty() {
            break;
        }
        for item in page {
            read += 1;
            let (status, _) = victim_acc
                .send("DELETE", &format!("/v1/mailbox/{}", item.id), vec![])
                .await;
            assert_eq!(status, 204);
        }
    }
    assert_eq!(read, at, "every item that was taken is read");
    relay.stop().await;
}

/// A Welcome over the largest mailbox item is refused on its own, before any mailbox counts it.
#[tokio::test]
async fn a_welcome_over_the_item_limit_is_refused_as_too_large() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (stranger_acc, victim_acc) = (Account::new(&relay), Account::new(&relay));
    let stranger = member("stranger");
    let mut group = MlsGroup::new(
        &stranger.provider,
        &stranger.signer,
        &MlsGroupCreateConfig::default(),
        stranger.cwk.clone(),
    )
    .unwrap();
    let gid = group.group_id().as_slice().to_vec();
    let (status, _) = stranger_acc
        .send(
            "POST",
            "/v1/groups",
            to_cbor(&CreateGroup {
                group_id: ByteBuf::from(gid.clone()),
            })
            .unwrap(),
        )
        .await;
    assert_eq!(status, 201);
    let mut welcome = vec![0x00, 0x01, 0x00, 0x03, 0x00, 0x01, 0x00];
    welcome.extend(
        tls_codec::VLBytes::new(vec![0x5a; 1024 * 1024 + 1])
            .tls_serialize_detached()
            .unwrap(),
    );
    let update = group
        .self_update(
            &stranger.provider,
            &stranger.signer,
            LeafNodeParameters::default(),
        )
        .unwrap();
    let mut b = bundle(bytes(update.commit()));
    b.added.push(victim_acc.id());
    b.welcomes.push(WelcomeFor {
        account: victim_acc.id(),
        mls: ByteBuf::from(welcome),
    });
    let (status, body) = stranger_acc
        .send(
            "POST",
            &format!("/v1/groups/{}/messages", hex::encode(&gid)),
            to_cbor(&b).unwrap(),
        )
        .await;
    assert_eq!((status, error_code(&body).as_str()), (413, "too_large"));
    let mail: Vec<MailboxItem> = victim_acc.ok("GET", "/v1/mailbox", vec![]).await;
    assert!(mail.is_empty(), "nothing reached the mailbox");
    relay.stop().await;
}
