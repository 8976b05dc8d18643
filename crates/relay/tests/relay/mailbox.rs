//! Mailboxes: what a stranger can put in someone else's, and what the owner can always read.

use crate::support::*;

/// A stranger (a fresh key is an account) makes its own group and posts commits whose bundle
/// names a victim: a self-update with a junk "Welcome", and a commit adding the stranger's own
/// second account with that account's real Welcome addressed to the victim. The relay delivers
/// a Welcome only to the owner of a key package the accepted commit adds, so both are refused
/// and the victim's mailbox stays empty.
#[tokio::test]
async fn a_stranger_cannot_put_a_welcome_in_a_victims_mailbox() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (stranger_acc, puppet_acc, victim_acc) = (
        Account::new(&relay),
        Account::new(&relay),
        Account::new(&relay),
    );
    let (stranger, puppet) = (stranger_acc.member(), puppet_acc.member());
    let (mut group, gid) = create_group(&stranger_acc, &stranger).await;
    let path = format!("/v1/groups/{gid}/messages");

    let mut junk = vec![0x00, 0x01, 0x00, 0x03, 0x00, 0x01, 0x00];
    junk.extend(
        tls_codec::VLBytes::new(vec![0x5a; 900 * 1024])
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
    b.welcomes.push(WelcomeFor {
        account: victim_acc.id(),
        mls: ByteBuf::from(junk),
    });
    let (status, body) = stranger_acc.send("POST", &path, to_cbor(&b).unwrap()).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "bad_request"),
        "a Welcome with no secrets for anyone the commit adds"
    );
    group
        .clear_pending_commit(stranger.provider.storage())
        .unwrap();

    let (commit, welcome, _) = group
        .add_members(
            &stranger.provider,
            &stranger.signer,
            &[key_package(&puppet)],
        )
        .unwrap();
    let mut b = bundle(bytes(&commit));
    b.welcomes.push(WelcomeFor {
        account: victim_acc.id(),
        mls: ByteBuf::from(bytes(&welcome)),
    });
    let (status, body) = stranger_acc.send("POST", &path, to_cbor(&b).unwrap()).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "bad_request"),
        "a Welcome addressed to someone the commit does not add"
    );
    let mail: Vec<MailboxItem> = victim_acc.ok("GET", "/v1/mailbox", vec![]).await;
    assert!(mail.is_empty(), "nothing reached the victim: {mail:?}");
    // The same commit with its Welcome addressed to the account it adds goes through.
    let b = PostBundle {
        welcomes: vec![WelcomeFor {
            account: puppet_acc.id(),
            mls: ByteBuf::from(bytes(&welcome)),
        }],
        ..b
    };
    let posted: Posted = stranger_acc.ok("POST", &path, to_cbor(&b).unwrap()).await;
    assert_eq!(posted.epoch, 1);
    relay.stop().await;
}

/// A Welcome over the largest mailbox item is refused on its own, before it is parsed or any
/// mailbox counts it.
#[tokio::test]
async fn a_welcome_over_the_item_limit_is_refused_as_too_large() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (stranger_acc, victim_acc) = (Account::new(&relay), Account::new(&relay));
    let stranger = stranger_acc.member();
    let (mut group, gid) = create_group(&stranger_acc, &stranger).await;
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
    b.welcomes.push(WelcomeFor {
        account: victim_acc.id(),
        mls: ByteBuf::from(welcome),
    });
    let (status, body) = stranger_acc
        .send(
            "POST",
            &format!("/v1/groups/{gid}/messages"),
            to_cbor(&b).unwrap(),
        )
        .await;
    assert_eq!((status, error_code(&body).as_str()), (413, "too_large"));
    let mail: Vec<MailboxItem> = victim_acc.ok("GET", "/v1/mailbox", vec![]).await;
    assert!(mail.is_empty(), "nothing reached the mailbox");
    relay.stop().await;
}
