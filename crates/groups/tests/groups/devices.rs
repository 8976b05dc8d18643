//! Identity and device keys in circles: a device certified by its physician's identity, a
//! member moving to a new device of its own, and never becoming another physician.

use super::*;

#[test]
fn the_device_key_signs_for_mls_and_the_relay_and_the_identity_certifies_it() {
    let id = Identity::generate().unwrap();
    assert_ne!(id.public_key(), id.device_key());
    let again = Identity::from_seeds(id.identity_seed(), id.device_seed()).unwrap();
    assert_eq!(again.keys(), id.keys());
    let account = consilium_relay_client::AccountKey::from_seed(id.device_seed()).unwrap();
    assert_eq!(account.account_id(), id.device_account_id());
    assert_eq!(id.signer().public(), &id.device_key()[..]);
    let credential = id.credential();
    let basic = BasicCredential::try_from(credential.credential).unwrap();
    assert_eq!(
        consilium_model::device::member_keys(basic.identity(), credential.signature_key.as_slice())
            .unwrap(),
        id.keys()
    );
    for secret in [id.identity_seed(), id.device_seed()] {
        assert!(!format!("{id:?}").contains(&hex::encode(secret)));
    }
    // A new device for the same physician: the same identity, another key.
    let restored = Identity::new_device(id.identity_seed()).unwrap();
    assert_eq!(restored.public_key(), id.public_key());
    assert_ne!(restored.device_key(), id.device_key());
    // A profile of before the split keeps its one key as both, and its credential as it was.
    let old = Identity::from_seed(&[9; 32]).unwrap();
    assert_eq!(old.public_key(), old.device_key());
    let basic = BasicCredential::try_from(old.credential().credential).unwrap();
    assert_eq!(basic.identity(), &old.public_key()[..]);
}

/// Bob's commit moving his leaf to a device signing with `signer` under `credential`, made with
/// raw openmls as a hostile member would; his own state is left where it was.
fn bobs_move(
    b: &Member,
    gid: &[u8],
    signer: &openmls_basic_credential::SignatureKeyPair,
    credential: CredentialWithKey,
) -> Vec<u8> {
    let provider = Provider::new(&b.conn);
    let mut group = MlsGroup::load(provider.storage(), &GroupId::from_slice(gid))
        .unwrap()
        .unwrap();
    let bundle = group
        .self_update_with_new_signer(
            &provider,
            b.id.signer(),
            NewSignerBundle {
                signer,
                credential_with_key: credential,
            },
            LeafNodeParameters::default(),
        )
        .unwrap();
    group.clear_pending_commit(provider.storage()).unwrap();
    bundle.commit().tls_serialize_detached().unwrap()
}

/// A member may move its leaf to another device of its own (its identity certifies the key),
/// never to another physician's identity: colleagues refuse that commit, as the relay does.
#[test]
fn a_member_moves_to_a_new_device_of_its_own_but_never_becomes_another_physician() {
    let dir = tempfile::tempdir().unwrap();
    let ms = members(dir.path(), &["a", "b"]);
    let (a, b) = (&ms[0], &ms[1]);
    let (gid, out) = circle_of_two(a, b);
    assert_eq!(
        out.welcome_to,
        vec![b.id.device_key()],
        "the Welcome goes to the device"
    );

    // Bob as a physician of his own making, and as Alice (whose identity key he lacks: he can
    // only pair her identity with a certificate his own key signed, which does not verify).
    let stranger = Identity::generate().unwrap();
    let err = open(
        a,
        &gid,
        &bobs_move(b, &gid, stranger.signer(), stranger.credential()),
    )
    .unwrap_err();
    assert!(err.to_string().contains("another physician"), "{err}");
    let forged = Identity::from_seeds(b.id.identity_seed(), stranger.device_seed()).unwrap();
    let mut as_alice = forged.credential();
    let basic = BasicCredential::try_from(as_alice.credential.clone()).unwrap();
    let mut cert = basic.identity().to_vec();
    cert[4..36].copy_from_slice(&a.id.public_key());
    as_alice.credential = BasicCredential::new(cert).into();
    let forged_commit = bobs_move(b, &gid, forged.signer(), as_alice);
    assert!(open(a, &gid, &forged_commit).is_err());
    assert_eq!(load(a, &gid).epoch(), 1, "nothing was merged");

    // A new device of Bob's own: taken; he is the same member, on another key.
    let new_device = Identity::new_device(b.id.identity_seed()).unwrap();
    open(
        a,
        &gid,
        &bobs_move(b, &gid, new_device.signer(), new_device.credential()),
    )
    .unwrap();
    let after = load(a, &gid);
    assert_eq!(
        after.members().unwrap(),
        vec![a.id.public_key(), b.id.public_key()]
    );
    assert!(
        after
            .member_keys()
            .unwrap()
            .iter()
            .any(|k| k.device == new_device.device_key())
    );
}

/// A profile of before the split (one key as identity and leaf) gets a device key: its leaves
/// sign with the old key until its next rotation, which moves each to the device key and its
/// certificate in one commit. Colleagues see the same physician throughout.
#[test]
fn a_leaf_of_before_the_split_moves_to_the_device_key_at_its_next_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let mut ms = members(dir.path(), &["a", "b"]);
    let seed = [7u8; 32];
    ms[1].id = Identity::from_seed(&seed).unwrap();
    let (a, b) = (&ms[0], &ms[1]);
    let (gid, _) = circle_of_two(a, b);
    let text = |m: &Member, message: &[u8]| match open(m, &gid, message).unwrap() {
        Incoming::Application { bytes, .. } => bytes,
        other => panic!("{other:?}"),
    };

    // Bob's profile now has a device key; his leaf is still the old key, and signs with it.
    let moved = Identity::new_device(&seed).unwrap();
    assert!(moved.is_split() && !b.id.is_split());
    let mut circle = load(b, &gid);
    assert!(circle.leaf_awaits_device(&moved));
    assert!(!circle.leaf_awaits_device(&b.id), "nothing to move to");
    let signer = circle.own_signer(&moved);
    assert_eq!(signer.public(), &moved.public_key()[..]);
    let before = circle
        .seal(&Provider::new(&b.conn), signer, b"before the move")
        .unwrap();
    assert_eq!(text(a, &before), b"before the move");

    // The rotation moves the leaf.
    let mut circle = load(b, &gid);
    let out = circle.rotate(&Provider::new(&b.conn), &moved).unwrap();
    circle.confirm(&Provider::new(&b.conn)).unwrap();
    open(a, &gid, &out.commit).unwrap();
    let circle = load(b, &gid);
    assert!(!circle.leaf_awaits_device(&moved));
    assert_eq!(circle.own_signer(&moved).public(), &moved.device_key()[..]);
    let seen = load(a, &gid);
    assert_eq!(
        seen.members().unwrap(),
        vec![a.id.public_key(), moved.public_key()],
        "the same physician"
    );
    assert!(
        seen.member_keys()
            .unwrap()
            .iter()
            .any(|k| k.identity == moved.public_key() && k.device == moved.device_key())
    );
    let after = load(b, &gid)
        .seal(&Provider::new(&b.conn), moved.signer(), b"after the move")
        .unwrap();
    assert_eq!(text(a, &after), b"after the move");
}
