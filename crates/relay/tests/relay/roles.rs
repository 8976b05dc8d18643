//! A circle's roles as the relay holds commits to them: only an admin adds, removes or names
//! admins, and a change of members carries the roles it leads to.

use consilium_model::roles::{ROLES_EXTENSION, Roles};

use crate::support::*;

fn capabilities() -> Capabilities {
    Capabilities::new(
        None,
        Some(&[CS]),
        Some(&[ExtensionType::Unknown(ROLES_EXTENSION)]),
        None,
        None,
    )
}

fn extensions(roles: &Roles) -> Extensions<GroupContext> {
    Extensions::from_vec(vec![
        Extension::RequiredCapabilities(RequiredCapabilitiesExtension::new(
            &[ExtensionType::Unknown(ROLES_EXTENSION)],
            &[],
            &[],
        )),
        Extension::Unknown(ROLES_EXTENSION, UnknownExtension(roles.encode().unwrap())),
    ])
    .unwrap()
}

fn key(acc: &Account) -> [u8; 32] {
    acc.key.public_key().as_ref().try_into().unwrap()
}

fn package(m: &Member) -> KeyPackage {
    KeyPackage::builder()
        .leaf_node_capabilities(capabilities())
        .build(CS, &m.provider, &m.signer, m.cwk.clone())
        .unwrap()
        .key_package()
        .clone()
}

/// A commit of `m` in `g` with these adds, removals and roles (not merged: the relay judges).
fn commit(
    m: &Member,
    g: &mut MlsGroup,
    adds: Vec<KeyPackage>,
    removals: Vec<LeafNodeIndex>,
    roles: Option<&Roles>,
) -> (Vec<u8>, Option<Vec<u8>>) {
    let mut b = g
        .commit_builder()
        .propose_adds(adds)
        .propose_removals(removals);
    if let Some(r) = roles {
        b = b.propose_group_context_extensions(extensions(r)).unwrap();
    }
    let bundle = b
        .load_psks(m.provider.storage())
        .unwrap()
        .build(m.provider.rand(), m.provider.crypto(), &m.signer, |_| true)
        .unwrap()
        .stage_commit(&m.provider)
        .unwrap();
    let welcome = bundle.to_welcome_msg().map(|w| bytes(&w));
    (bytes(bundle.commit()), welcome)
}

fn leaf_of(g: &MlsGroup, acc: &Account) -> LeafNodeIndex {
    g.members()
        .find(|m| m.signature_key == acc.key.public_key().as_ref())
        .unwrap()
        .index
}

/// Evict and enrol, by a member who is not an admin: removing a colleague, adding an
/// outsider or naming itself admin is refused by the relay (honest clients do not even
/// try); the admin's own removal of the same colleague goes through.
#[tokio::test]
async fn a_member_who_is_not_an_admin_cannot_remove_add_or_promote() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let accs: Vec<Account> = (0..4).map(|_| Account::new(&relay)).collect();
    let ms: Vec<Member> = accs.iter().map(Account::member).collect();
    let founding = Roles::founding(key(&accs[0]));
    let config = MlsGroupCreateConfig::builder()
        .ciphersuite(CS)
        .use_ratchet_tree_extension(true)
        .wire_format_policy(MIXED_PLAINTEXT_WIRE_FORMAT_POLICY)
        .capabilities(capabilities())
        .with_group_context_extensions(extensions(&founding))
        .build();
    let mut ga = MlsGroup::new(&ms[0].provider, &ms[0].signer, &config, ms[0].cwk.clone()).unwrap();
    let gid = hex::encode(ga.group_id().as_slice());
    let (status, body) = post_group(&accs[0], &ms[0], &ga).await;
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let path = format!("/v1/groups/{gid}/messages");
    let three = founding.after(&[key(&accs[1]), key(&accs[2])], &[]);
    let (add, welcome) = commit(
        &ms[0],
        &mut ga,
        vec![package(&ms[1]), package(&ms[2])],
        vec![],
        Some(&three),
    );
    let _: Posted = accs[0]
        .ok("POST", &path, to_cbor(&bundle(add)).unwrap())
        .await;
    ga.merge_pending_commit(&ms[0].provider).unwrap();
    let mut gb = join(&ms[1], &welcome.unwrap());

    let carol = leaf_of(&gb, &accs[2]);
    let without_carol = three.after(&[], &[key(&accs[2])]);
    let attempts = [
        commit(&ms[1], &mut gb, vec![], vec![carol], Some(&without_carol)).0,
        commit(
            &ms[1],
            &mut gb,
            vec![package(&ms[3])],
            vec![],
            Some(&three.after(&[key(&accs[3])], &[])),
        )
        .0,
        commit(
            &ms[1],
            &mut gb,
            vec![],
            vec![],
            Some(&Roles {
                admins: vec![key(&accs[0]), key(&accs[1])],
                roster: three.roster.clone(),
            }),
        )
        .0,
    ];
    for (what, attempt) in ["remove", "add", "promote"].iter().zip(attempts) {
        gb.clear_pending_commit(ms[1].provider.storage()).unwrap();
        let (status, body) = accs[1]
            .send("POST", &path, to_cbor(&bundle(attempt)).unwrap())
            .await;
        assert_eq!(
            (status, error_code(&body).as_str()),
            (403, "forbidden"),
            "a non-admin's {what}"
        );
    }
    // Dara asks to join: only the admin, not Bob, may claim her key packages.
    let token = b"dara's one-time invitation token".to_vec();
    let register = RegisterInvitation {
        token_hash: ByteBuf::from(
            ring::digest::digest(&ring::digest::SHA256, &token)
                .as_ref()
                .to_vec(),
        ),
        expires_at: now_ms() + 3_600_000,
    };
    let (status, _) = accs[0]
        .send(
            "POST",
            &format!("/v1/groups/{gid}/invitations"),
            to_cbor(&register).unwrap(),
        )
        .await;
    assert_eq!(status, 201);
    let dara_package = || {
        MlsMessageOut::from(package(&ms[3]))
            .tls_serialize_detached()
            .unwrap()
    };
    let redeem = RedeemInvitation {
        token: ByteBuf::from(token),
        key_package: ByteBuf::from(dara_package()),
        note: ByteBuf::from(vec![]),
    };
    let (status, _) = accs[3]
        .send("POST", "/v1/invitations/redeem", to_cbor(&redeem).unwrap())
        .await;
    assert_eq!(status, 202);
    let upload = KeyPackageUpload {
        packages: vec![KeyPackageItem {
            mls: ByteBuf::from(dara_package()),
            last_resort: true,
            expires_at: now_ms() + 3_600_000,
        }],
    };
    let (status, _) = accs[3]
        .send("PUT", "/v1/key-packages", to_cbor(&upload).unwrap())
        .await;
    assert!(status < 300);
    let claim = format!(
        "/v1/accounts/{}/key-packages/claim?group={gid}",
        accs[3].id()
    );
    let (status, _) = accs[1].send("POST", &claim, vec![]).await;
    assert_eq!(status, 404, "a member who is not an admin claims nothing");
    let (status, _) = accs[0].send("POST", &claim, vec![]).await;
    assert_eq!(status, 200, "the admin claims");
    // The admin removing Carol without saying what the roles become is refused too.
    let carol = leaf_of(&ga, &accs[2]);
    let (silent, _) = commit(&ms[0], &mut ga, vec![], vec![carol], None);
    ga.clear_pending_commit(ms[0].provider.storage()).unwrap();
    let (status, _) = accs[0]
        .send("POST", &path, to_cbor(&bundle(silent)).unwrap())
        .await;
    assert_eq!(status, 403);
    let (remove, _) = commit(&ms[0], &mut ga, vec![], vec![carol], Some(&without_carol));
    let posted: Posted = accs[0]
        .ok("POST", &path, to_cbor(&bundle(remove)).unwrap())
        .await;
    assert_eq!(posted.epoch, 2);
    relay.stop().await;
}
