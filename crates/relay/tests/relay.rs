//! The relay on a real socket (127.0.0.1:0), driven by signed HTTP requests carrying real MLS
//! messages made by openmls.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use consilium_model::codec::{from_cbor, to_cbor};
use consilium_model::wire::*;
use consilium_model::{Clock, Timestamp};
use consilium_relay::auth::{
    HEADER_ACCOUNT, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, signed_message,
};
use consilium_relay::{RelayConfig, run};
use openmls::prelude::*;
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::OpenMlsRustCrypto;
use ring::rand::SecureRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_bytes::ByteBuf;
use tls_codec::{Deserialize as _, Serialize as _};

#[derive(Debug)]
struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> Timestamp {
        Timestamp(now_ms())
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

struct Relay {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(dir: &std::path::Path) -> Relay {
    start_with(dir, |_| {}).await
}

async fn start_with(dir: &std::path::Path, tweak: impl FnOnce(&mut RelayConfig)) -> Relay {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let mut config = RelayConfig::new(dir.to_path_buf(), Arc::new(WallClock));
    config.shutdown_grace = std::time::Duration::from_secs(2);
    tweak(&mut config);
    let task = tokio::spawn(run(listener, config, async {
        let _ = rx.await;
    }));
    Relay {
        base,
        stop: Some(tx),
        task,
    }
}

impl Relay {
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap().unwrap();
    }
}

/// An account: an Ed25519 key that signs every request.
struct Account {
    key: Ed25519KeyPair,
    http: reqwest::Client,
    base: String,
}

impl Account {
    fn new(relay: &Relay) -> Account {
        Account::at(&relay.base)
    }

    fn at(base: &str) -> Account {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        Account {
            key: Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap(),
            http: reqwest::Client::new(),
            base: base.to_string(),
        }
    }

    fn id(&self) -> String {
        hex::encode(self.key.public_key().as_ref())
    }

    fn nonce() -> String {
        let mut n = [0u8; 16];
        ring::rand::SystemRandom::new().fill(&mut n).unwrap();
        hex::encode(n)
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
        ts: i64,
        nonce: &str,
    ) -> reqwest::RequestBuilder {
        let sig = self
            .key
            .sign(&signed_message(method, path, ts, nonce, &body));
        self.http
            .request(method.parse().unwrap(), format!("{}{}", self.base, path))
            .header(HEADER_ACCOUNT, self.id())
            .header(HEADER_TIMESTAMP, ts.to_string())
            .header(HEADER_NONCE, nonce)
            .header(HEADER_SIGNATURE, hex::encode(sig.as_ref()))
            .body(body)
    }

    async fn send(&self, method: &str, path: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
        let r = self
            .request(method, path, body, now_ms(), &Self::nonce())
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
    }

    async fn ok<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
    ) -> T {
        let (status, bytes) = self.send(method, path, body).await;
        assert!(
            status < 300,
            "{method} {path}: {status} {}",
            String::from_utf8_lossy(&bytes)
        );
        from_cbor(&bytes).unwrap()
    }
}

/// The status and the error code of an answer.
async fn status_and_code(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    (status, error_code(&r.bytes().await.unwrap()))
}

fn error_code(bytes: &[u8]) -> String {
    serde_json::from_slice::<RelayErrorBody>(bytes)
        .map(|e| e.code)
        .unwrap_or_else(|_| String::from_utf8_lossy(bytes).into())
}

/// An MLS participant (openmls with its in-memory provider).
struct Member {
    provider: OpenMlsRustCrypto,
    signer: SignatureKeyPair,
    cwk: CredentialWithKey,
}

const CS: Ciphersuite = Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;

fn member(name: &str) -> Member {
    let provider = OpenMlsRustCrypto::default();
    let signer = SignatureKeyPair::new(CS.signature_algorithm()).unwrap();
    signer.store(provider.storage()).unwrap();
    let cwk = CredentialWithKey {
        credential: BasicCredential::new(name.as_bytes().to_vec()).into(),
        signature_key: signer.public().into(),
    };
    Member {
        provider,
        signer,
        cwk,
    }
}

fn key_package(m: &Member) -> KeyPackage {
    KeyPackage::builder()
        .build(CS, &m.provider, &m.signer, m.cwk.clone())
        .unwrap()
        .key_package()
        .clone()
}

fn bytes(m: &MlsMessageOut) -> Vec<u8> {
    m.tls_serialize_detached().unwrap()
}

fn message_id() -> ByteBuf {
    let mut id = [0u8; 16];
    ring::rand::SystemRandom::new().fill(&mut id).unwrap();
    ByteBuf::from(id.to_vec())
}

fn bundle(mls: Vec<u8>) -> PostBundle {
    PostBundle {
        message_id: message_id(),
        mls: ByteBuf::from(mls),
        welcomes: vec![],
        added: vec![],
        removed: vec![],
    }
}

fn apply_commit(m: &Member, group: &mut MlsGroup, commit: &[u8]) {
    let msg = MlsMessageIn::tls_deserialize_exact(commit).unwrap();
    let processed = group
        .process_message(&m.provider, msg.try_into_protocol_message().unwrap())
        .unwrap();
    match processed.into_content() {
        ProcessedMessageContent::StagedCommitMessage(sc) => {
            group.merge_staged_commit(&m.provider, *sc).unwrap()
        }
        _ => panic!("expected a commit"),
    }
}

/// Alice creates a group on the relay and in MLS and adds Bob through the relay; both hold the
/// group at epoch 1.
async fn circle_of_two(
    relay: &Relay,
) -> (Account, Member, MlsGroup, Account, Member, MlsGroup, String) {
    circle_of_two_at(&relay.base).await
}

async fn circle_of_two_at(
    base: &str,
) -> (Account, Member, MlsGroup, Account, Member, MlsGroup, String) {
    let (alice_acc, bob_acc) = (Account::at(base), Account::at(base));
    let (alice, bob) = (member("alice"), member("bob"));
    let mut ga = MlsGroup::new(
        &alice.provider,
        &alice.signer,
        &MlsGroupCreateConfig::default(),
        alice.cwk.clone(),
    )
    .unwrap();
    let gid = ga.group_id().as_slice().to_vec();
    let gid_hex = hex::encode(&gid);
    let (status, body) = alice_acc
        .send(
            "POST",
            "/v1/groups",
            to_cbor(&CreateGroup {
                group_id: ByteBuf::from(gid),
            })
            .unwrap(),
        )
        .await;
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));

    let (commit, welcome, _) = ga
        .add_members(&alice.provider, &alice.signer, &[key_package(&bob)])
        .unwrap();
    let mut b = bundle(bytes(&commit));
    b.welcomes.push(WelcomeFor {
        account: bob_acc.id(),
        mls: ByteBuf::from(bytes(&welcome)),
    });
    b.added.push(bob_acc.id());
    let posted: Posted = alice_acc
        .ok(
            "POST",
            &format!("/v1/groups/{gid_hex}/messages"),
            to_cbor(&b).unwrap(),
        )
        .await;
    assert_eq!((posted.seq, posted.epoch), (1, 1));
    ga.merge_pending_commit(&alice.provider).unwrap();

    let mail: Vec<MailboxItem> = bob_acc.ok("GET", "/v1/mailbox", vec![]).await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].kind, MailboxKind::Welcome);
    let w = match MlsMessageIn::tls_deserialize_exact(&mail[0].body[..])
        .unwrap()
        .extract()
    {
        MlsMessageBodyIn::Welcome(w) => w,
        _ => panic!("not a welcome"),
    };
    let gb = StagedWelcome::new_from_welcome(
        &bob.provider,
        &MlsGroupJoinConfig::default(),
        w,
        Some(ga.export_ratchet_tree().into()),
    )
    .unwrap()
    .into_group(&bob.provider)
    .unwrap();
    let (status, _) = bob_acc
        .send("DELETE", &format!("/v1/mailbox/{}", mail[0].id), vec![])
        .await;
    assert_eq!(status, 204);
    (alice_acc, alice, ga, bob_acc, bob, gb, gid_hex)
}

#[tokio::test]
async fn health_answers_without_authentication() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let r = reqwest::get(format!("{}/v1/health", relay.base))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commits_for_one_epoch_never_fork_the_group_100_times() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (alice_acc, alice, mut ga, bob_acc, bob, mut gb, gid) = circle_of_two(&relay).await;
    let path = format!("/v1/groups/{gid}/messages");
    for round in 0..100u64 {
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
        assert_eq!(*loser_status, 409);
        let err: RelayErrorBody = serde_json::from_slice(loser_body).unwrap();
        assert_eq!(
            (err.code.as_str(), err.current_epoch),
            ("stale_epoch", Some(round + 2))
        );
        if ra.0 == 200 {
            ga.merge_pending_commit(&alice.provider).unwrap();
            gb.clear_pending_commit(bob.provider.storage()).unwrap();
            apply_commit(&bob, &mut gb, &ba);
        } else {
            gb.merge_pending_commit(&bob.provider).unwrap();
            ga.clear_pending_commit(alice.provider.storage()).unwrap();
            apply_commit(&alice, &mut ga, &bb);
        }
        assert_eq!(ga.epoch(), gb.epoch());
    }
    // Both still read each other.
    let hello = ga
        .create_message(&alice.provider, &alice.signer, b"still one circle")
        .unwrap();
    let posted: Posted = alice_acc
        .ok("POST", &path, to_cbor(&bundle(bytes(&hello))).unwrap())
        .await;
    let log: Vec<LogEntry> = bob_acc
        .ok("GET", &format!("{path}?after={}", posted.seq - 1), vec![])
        .await;
    let msg = MlsMessageIn::tls_deserialize_exact(&log[0].mls[..]).unwrap();
    match gb
        .process_message(&bob.provider, msg.try_into_protocol_message().unwrap())
        .unwrap()
        .into_content()
    {
        ProcessedMessageContent::ApplicationMessage(m) => {
            assert_eq!(m.into_bytes(), b"still one circle")
        }
        _ => panic!("expected an application message"),
    }
    relay.stop().await;
}

#[tokio::test]
async fn stale_messages_half_valid_bundles_and_refused_welcomes() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (alice_acc, alice, mut ga, bob_acc, bob, mut gb, gid) = circle_of_two(&relay).await;
    let path = format!("/v1/groups/{gid}/messages");
    // Bob writes a message at epoch 1, then Alice's commit moves the group to epoch 2.
    let old = gb
        .create_message(&bob.provider, &bob.signer, b"late")
        .unwrap();
    let c = ga
        .self_update(
            &alice.provider,
            &alice.signer,
            LeafNodeParameters::default(),
        )
        .unwrap();
    let _: Posted = alice_acc
        .ok("POST", &path, to_cbor(&bundle(bytes(c.commit()))).unwrap())
        .await;
    ga.merge_pending_commit(&alice.provider).unwrap();
    let (status, body) = bob_acc
        .send("POST", &path, to_cbor(&bundle(bytes(&old))).unwrap())
        .await;
    assert_eq!((status, error_code(&body).as_str()), (409, "stale_epoch"));

    // Bob's commit for the old epoch adds Carol: refused, and her Welcome is never delivered.
    let carol_acc = Account::new(&relay);
    let carol = member("carol");
    let (commit, welcome, _) = gb
        .add_members(&bob.provider, &bob.signer, &[key_package(&carol)])
        .unwrap();
    let mut b = bundle(bytes(&commit));
    b.welcomes.push(WelcomeFor {
        account: carol_acc.id(),
        mls: ByteBuf::from(bytes(&welcome)),
    });
    b.added.push(carol_acc.id());
    let (status, _) = bob_acc.send("POST", &path, to_cbor(&b).unwrap()).await;
    assert_eq!(status, 409);
    let mail: Vec<MailboxItem> = carol_acc.ok("GET", "/v1/mailbox", vec![]).await;
    assert!(mail.is_empty(), "Welcome of a refused commit delivered");
    gb.clear_pending_commit(bob.provider.storage()).unwrap();
    apply_commit(&bob, &mut gb, &bytes(c.commit()));

    // A valid commit with a garbage Welcome: refused whole, the epoch does not move.
    let (commit, _, _) = ga
        .add_members(&alice.provider, &alice.signer, &[key_package(&carol)])
        .unwrap();
    let mut b = bundle(bytes(&commit));
    b.welcomes.push(WelcomeFor {
        account: carol_acc.id(),
        mls: ByteBuf::from(vec![0u8; 40]),
    });
    b.added.push(carol_acc.id());
    let (status, body) = alice_acc.send("POST", &path, to_cbor(&b).unwrap()).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "invalid_message")
    );
    // The same commit without the bad part is still for the current epoch: nothing moved.
    let b2 = PostBundle {
        welcomes: vec![],
        added: vec![],
        ..b
    };
    let posted: Posted = alice_acc.ok("POST", &path, to_cbor(&b2).unwrap()).await;
    assert_eq!(posted.epoch, 3);
    // A retry of the same message id returns the first answer and stores nothing new.
    let again: Posted = alice_acc.ok("POST", &path, to_cbor(&b2).unwrap()).await;
    assert_eq!(again, posted);
    let log: Vec<LogEntry> = alice_acc.ok("GET", &path, vec![]).await;
    assert_eq!(log.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    relay.stop().await;
}

/// A relay with a circle of Alice and Bob, for the refusal tests.
async fn alice_in_a_circle() -> (tempfile::TempDir, Relay, Account, String) {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (alice_acc, _alice, _ga, _bob_acc, _bob, _gb, gid) = circle_of_two(&relay).await;
    (dir, relay, alice_acc, gid)
}

/// A request signed by `signer` but naming `account`, for `path`.
async fn forged_get(
    base: &str,
    path: &str,
    account: &Account,
    signer: &Account,
    signed_path: &str,
) -> (u16, String) {
    let ts = now_ms();
    let nonce = Account::nonce();
    let sig = signer
        .key
        .sign(&signed_message("GET", signed_path, ts, &nonce, b""));
    let r = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .header(HEADER_ACCOUNT, account.id())
        .header(HEADER_TIMESTAMP, ts.to_string())
        .header(HEADER_NONCE, &nonce)
        .header(HEADER_SIGNATURE, hex::encode(sig.as_ref()))
        .send()
        .await
        .unwrap();
    status_and_code(r).await
}

#[tokio::test]
async fn auth_an_unsigned_request_is_refused() {
    let (_dir, relay, _alice, gid) = alice_in_a_circle().await;
    let r = reqwest::get(format!("{}/v1/groups/{gid}/messages", relay.base))
        .await
        .unwrap();
    assert_eq!(
        status_and_code(r).await,
        (401, "unauthenticated".to_string())
    );
    relay.stop().await;
}

#[tokio::test]
async fn auth_a_request_signed_by_another_key_is_refused() {
    let (_dir, relay, alice, gid) = alice_in_a_circle().await;
    let mallory = Account::new(&relay);
    let path = format!("/v1/groups/{gid}/messages");
    let (status, code) = forged_get(&relay.base, &path, &alice, &mallory, &path).await;
    assert_eq!((status, code.as_str()), (401, "bad_signature"));
    relay.stop().await;
}

#[tokio::test]
async fn auth_a_signature_moved_to_another_route_is_refused() {
    let (_dir, relay, alice, gid) = alice_in_a_circle().await;
    let path = format!("/v1/groups/{gid}/messages");
    let (status, code) = forged_get(&relay.base, &path, &alice, &alice, "/v1/mailbox").await;
    assert_eq!((status, code.as_str()), (401, "bad_signature"));
    relay.stop().await;
}

#[tokio::test]
async fn auth_an_expired_request_is_refused() {
    let (_dir, relay, alice, gid) = alice_in_a_circle().await;
    let path = format!("/v1/groups/{gid}/messages");
    let r = alice
        .request(
            "GET",
            &path,
            vec![],
            now_ms() - 10 * 60 * 1000,
            &Account::nonce(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(status_and_code(r).await, (401, "expired".to_string()));
    relay.stop().await;
}

#[tokio::test]
async fn auth_a_replayed_request_is_refused_even_after_a_restart() {
    let (dir, relay, alice, gid) = alice_in_a_circle().await;
    let path = format!("/v1/groups/{gid}/messages");
    let (nonce, ts) = (Account::nonce(), now_ms());
    let first = alice
        .request("GET", &path, vec![], ts, &nonce)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status().as_u16(), 200);
    let replay = alice
        .request("GET", &path, vec![], ts, &nonce)
        .send()
        .await
        .unwrap();
    assert_eq!(status_and_code(replay).await, (401, "replayed".to_string()));
    relay.stop().await;
    let relay = start(dir.path()).await;
    let alice = Account {
        base: relay.base.clone(),
        ..alice
    };
    let replay = alice
        .request("GET", &path, vec![], ts, &nonce)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status().as_u16(), 401);
    relay.stop().await;
}

#[tokio::test]
async fn auth_a_non_member_neither_reads_nor_posts_to_a_group() {
    let (_dir, relay, _alice, gid) = alice_in_a_circle().await;
    let mallory = Account::new(&relay);
    let path = format!("/v1/groups/{gid}/messages");
    let (status, body) = mallory.send("GET", &path, vec![]).await;
    assert_eq!((status, error_code(&body).as_str()), (403, "forbidden"));
    let m = member("mallory");
    let mut own = MlsGroup::new(
        &m.provider,
        &m.signer,
        &MlsGroupCreateConfig::default(),
        m.cwk.clone(),
    )
    .unwrap();
    let msg = own.create_message(&m.provider, &m.signer, b"spam").unwrap();
    let (status, _) = mallory
        .send("POST", &path, to_cbor(&bundle(bytes(&msg))).unwrap())
        .await;
    assert!(status == 400 || status == 403, "{status}");
    relay.stop().await;
}

#[tokio::test]
async fn auth_a_non_member_cannot_fetch_a_blob_nor_learn_it_exists() {
    let (_dir, relay, alice, gid) = alice_in_a_circle().await;
    let mallory = Account::new(&relay);
    let blob = b"ciphertext of an image".to_vec();
    let id = hex::encode(ring::digest::digest(&ring::digest::SHA256, &blob));
    let (status, _) = alice
        .send("PUT", &format!("/v1/groups/{gid}/blobs/{id}"), blob.clone())
        .await;
    assert_eq!(status, 201);
    let (status, got) = alice.send("GET", &format!("/v1/blobs/{id}"), vec![]).await;
    assert_eq!((status, got), (200, blob));
    let (status, body) = mallory
        .send("GET", &format!("/v1/blobs/{id}"), vec![])
        .await;
    assert_eq!((status, error_code(&body).as_str()), (404, "not_found"));
    let (status, body) = alice
        .send(
            "PUT",
            &format!("/v1/groups/{gid}/blobs/{id}"),
            b"other bytes".to_vec(),
        )
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "digest_mismatch")
    );
    relay.stop().await;
}

#[tokio::test]
async fn auth_another_accounts_mailbox_is_out_of_reach() {
    let (_dir, relay, alice, gid) = alice_in_a_circle().await;
    let (joiner, mallory) = (Account::new(&relay), Account::new(&relay));
    // A join request lands in Alice's mailbox.
    let token = b"token for the mailbox test".to_vec();
    let hash = ring::digest::digest(&ring::digest::SHA256, &token)
        .as_ref()
        .to_vec();
    let reg = RegisterInvitation {
        token_hash: ByteBuf::from(hash),
        expires_at: now_ms() + 60_000,
    };
    let (status, _) = alice
        .send(
            "POST",
            &format!("/v1/groups/{gid}/invitations"),
            to_cbor(&reg).unwrap(),
        )
        .await;
    assert_eq!(status, 201);
    let kp = MlsMessageOut::from(key_package(&member("joiner")))
        .tls_serialize_detached()
        .unwrap();
    let redeem = RedeemInvitation {
        token: ByteBuf::from(token),
        key_package: ByteBuf::from(kp),
        note: ByteBuf::from(vec![]),
    };
    let (status, _) = joiner
        .send("POST", "/v1/invitations/redeem", to_cbor(&redeem).unwrap())
        .await;
    assert_eq!(status, 202);
    let items: Vec<MailboxItem> = alice.ok("GET", "/v1/mailbox", vec![]).await;
    assert_eq!(items.len(), 1);
    // Mallory sees none of it and cannot remove it; the answer does not say it exists.
    let mine: Vec<MailboxItem> = mallory.ok("GET", "/v1/mailbox", vec![]).await;
    assert!(mine.is_empty());
    let (status, body) = mallory
        .send("DELETE", &format!("/v1/mailbox/{}", items[0].id), vec![])
        .await;
    assert_eq!((status, error_code(&body).as_str()), (404, "not_found"));
    let (status, _) = mallory.send("DELETE", "/v1/mailbox/999999", vec![]).await;
    assert_eq!(status, 404, "same answer for an item that does not exist");
    let still: Vec<MailboxItem> = alice.ok("GET", "/v1/mailbox", vec![]).await;
    assert_eq!(still, items);
    relay.stop().await;
}

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
    let claim = format!("/v1/accounts/{}/key-packages/claim", owner.id());
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
            &format!("/v1/accounts/{}/key-packages/claim", asker.id()),
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

#[tokio::test]
async fn everything_acknowledged_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (alice_acc, alice, mut ga, _bob_acc, _bob, _gb, gid) = circle_of_two(&relay).await;
    let path = format!("/v1/groups/{gid}/messages");
    for i in 0..20 {
        let m = ga
            .create_message(
                &alice.provider,
                &alice.signer,
                format!("message {i}").as_bytes(),
            )
            .unwrap();
        let _: Posted = alice_acc
            .ok("POST", &path, to_cbor(&bundle(bytes(&m))).unwrap())
            .await;
    }
    relay.stop().await;
    let relay = start(dir.path()).await;
    let alice_acc = Account {
        base: relay.base.clone(),
        ..alice_acc
    };
    let log: Vec<LogEntry> = alice_acc.ok("GET", &path, vec![]).await;
    assert_eq!(
        log.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=21).collect::<Vec<_>>()
    );
    relay.stop().await;
}

/// The whole log of a group, page by page.
async fn read_log(acc: &Account, path: &str) -> Vec<LogEntry> {
    let mut all: Vec<LogEntry> = Vec::new();
    loop {
        let after = all.last().map(|e| e.seq).unwrap_or(0);
        let page: Vec<LogEntry> = acc
            .ok("GET", &format!("{path}?after={after}"), vec![])
            .await;
        if page.is_empty() {
            return all;
        }
        all.extend(page);
    }
}

/// The relay as a real process, on a port it picks and reports.
struct RelayProcess {
    child: std::process::Child,
    base: String,
}

fn spawn_relay(dir: &std::path::Path) -> RelayProcess {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_consilium-relay"))
        .args(["--listen", "127.0.0.1:0", "--data"])
        .arg(dir)
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("relay exited before listening")
            .unwrap();
        if let Some(rest) = line.split("addr=").nth(1) {
            break format!("http://{}", rest.split_whitespace().next().unwrap());
        }
    };
    // Keep draining the log so the relay never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    RelayProcess { child, base }
}

/// SIGKILL during a burst of posts from several clients: after a restart every acknowledged
/// message is there exactly once, at the sequence number it was given, with no gaps; the posts
/// that were never acknowledged are retried (same message ids) and each is stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_burst_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = spawn_relay(dir.path());
    let (alice_acc, alice, mut ga, bob_acc, bob, mut gb, gid) = circle_of_two_at(&relay.base).await;
    let path = format!("/v1/groups/{gid}/messages");
    // Four senders' worth of application messages, made before the burst.
    let mut batches: Vec<(bool, Vec<PostBundle>)> = Vec::new();
    for sender in 0..4 {
        let is_alice = sender % 2 == 0;
        let msgs = (0..150)
            .map(|i| {
                let text = format!("sender {sender} message {i}");
                let m = if is_alice {
                    ga.create_message(&alice.provider, &alice.signer, text.as_bytes())
                        .unwrap()
                } else {
                    gb.create_message(&bob.provider, &bob.signer, text.as_bytes())
                        .unwrap()
                };
                bundle(bytes(&m))
            })
            .collect();
        batches.push((is_alice, msgs));
    }
    let alice_acc = Arc::new(alice_acc);
    let bob_acc = Arc::new(bob_acc);
    let acked = Arc::new(std::sync::Mutex::new(Vec::<(Vec<u8>, u64)>::new()));
    let mut tasks = Vec::new();
    for (is_alice, msgs) in batches.clone() {
        let acc = if is_alice {
            alice_acc.clone()
        } else {
            bob_acc.clone()
        };
        let (acked, path) = (acked.clone(), path.clone());
        tasks.push(tokio::spawn(async move {
            for b in msgs {
                let sent = tokio::time::timeout(
                    std::time::Duration::from_secs(5),
                    acc.send("POST", &path, to_cbor(&b).unwrap()),
                );
                match sent.await {
                    Ok((200, body)) => {
                        let p: Posted = from_cbor(body.as_slice()).unwrap();
                        acked.lock().unwrap().push((b.message_id.to_vec(), p.seq));
                    }
                    _ => break,
                }
            }
        }));
    }
    // Kill once a good part of the burst is acknowledged and the rest is in flight.
    while acked.lock().unwrap().len() < 200 {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    relay.child.kill().unwrap(); // SIGKILL
    relay.child.wait().unwrap();
    for t in tasks {
        let _ = t.await;
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 10,
        "the kill must land during the burst ({} acknowledged)",
        acked.len()
    );
    assert!(acked.len() < 600, "the kill must land during the burst");

    let relay = spawn_relay(dir.path());
    let alice_acc = Account {
        base: relay.base.clone(),
        ..Arc::try_unwrap(alice_acc).ok().unwrap()
    };
    let bob_acc = Account {
        base: relay.base.clone(),
        ..Arc::try_unwrap(bob_acc).ok().unwrap()
    };
    let log = read_log(&alice_acc, &path).await;
    let seqs: Vec<u64> = log.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=log.len() as u64).collect::<Vec<_>>(),
        "no gaps, no duplicates"
    );
    for (id, seq) in &acked {
        let found: Vec<_> = log
            .iter()
            .filter(|e| e.message_id.as_slice() == id.as_slice())
            .collect();
        assert_eq!(found.len(), 1, "acknowledged message stored once");
        assert_eq!(found[0].seq, *seq, "at the sequence number it was given");
    }
    // Retry everything (as clients with an outbox would): each message ends up stored once.
    for (is_alice, msgs) in &batches {
        let acc = if *is_alice { &alice_acc } else { &bob_acc };
        for b in msgs {
            let _: Posted = acc.ok("POST", &path, to_cbor(b).unwrap()).await;
        }
    }
    let log = read_log(&bob_acc, &path).await;
    assert_eq!(
        log.len(),
        1 + 4 * 150,
        "the add commit and every message, once each"
    );
    let ids: std::collections::HashSet<_> = log.iter().map(|e| e.message_id.to_vec()).collect();
    assert_eq!(ids.len(), log.len());
    let mut relay = relay;
    relay.child.kill().unwrap();
    relay.child.wait().unwrap();
}

/// A member connected over the WebSocket (after the challenge–response) is told of a new
/// message in its group; a wrong signature gets no subscription.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_members_are_pushed_new_messages_after_a_challenge() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (alice_acc, alice, mut ga, bob_acc, _bob, _gb, gid) = circle_of_two(&relay).await;
    let ws_url = format!("{}/v1/ws", relay.base.replace("http://", "ws://"));

    async fn connect(
        url: &str,
        acc: &Account,
        sign_with: &Account,
    ) -> Option<
        tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
    > {
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let hello = ws.next().await.unwrap().unwrap().into_text().unwrap();
        let v: serde_json::Value = serde_json::from_str(&hello).unwrap();
        let challenge = hex::decode(v["challenge"].as_str().unwrap()).unwrap();
        let account = consilium_relay::auth::Account::parse(&acc.id()).unwrap();
        let sig = sign_with
            .key
            .sign(&consilium_relay::auth::challenge_message(
                &challenge, &account,
            ));
        let answer =
            serde_json::json!({"account": acc.id(), "signature": hex::encode(sig.as_ref())});
        ws.send(Message::Text(answer.to_string().into()))
            .await
            .unwrap();
        let reply = ws.next().await.unwrap().unwrap().into_text().unwrap();
        if reply.contains("\"ok\"") {
            Some(ws)
        } else {
            None
        }
    }

    let mallory = Account::new(&relay);
    assert!(
        connect(&ws_url, &bob_acc, &mallory).await.is_none(),
        "a forged answer is refused"
    );
    let mut ws = connect(&ws_url, &bob_acc, &bob_acc)
        .await
        .expect("bob subscribes");
    let m = ga
        .create_message(&alice.provider, &alice.signer, b"ping")
        .unwrap();
    let posted: Posted = alice_acc
        .ok(
            "POST",
            &format!("/v1/groups/{gid}/messages"),
            to_cbor(&bundle(bytes(&m))).unwrap(),
        )
        .await;
    let push = tokio::time::timeout(std::time::Duration::from_secs(5), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let push: Push = serde_json::from_str(&push.into_text().unwrap()).unwrap();
    assert_eq!(
        push,
        Push::Group {
            group_id: gid.clone(),
            seq: posted.seq
        }
    );
    relay.stop().await;
}

/// Garbage on the socket, malformed HTTP, truncated and oversized bodies, invalid MLS framing and
/// a huge declared blob: each gets a clear refusal (or a closed connection), and the relay keeps
/// serving everyone else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_gets_clear_errors_and_the_relay_keeps_serving() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (alice_acc, _alice, _ga, _bob_acc, _bob, _gb, gid) = circle_of_two(&relay).await;
    let addr = relay.base.trim_start_matches("http://").to_string();

    let mut rng_bytes = vec![0u8; 64 * 1024];
    ring::rand::SystemRandom::new()
        .fill(&mut rng_bytes)
        .unwrap();
    let raw: Vec<Vec<u8>> = vec![
        rng_bytes.clone(),
        b"GET /v1/health HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n".to_vec(),
        b"POST /v1/groups HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nshort".to_vec(),
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec(), // a TLS hello to a plain port
        b"GET /v1/health HTTP/9.9\r\n\r\n".to_vec(),
    ];
    for garbage in raw {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let _ = s.write_all(&garbage).await;
        let _ = s.shutdown().await;
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            s.read_to_end(&mut answer),
        )
        .await;
        let text = String::from_utf8_lossy(&answer);
        assert!(
            answer.is_empty() || text.starts_with("HTTP/1.1 4"),
            "{text}"
        );
    }

    let path = format!("/v1/groups/{gid}/messages");
    // Not CBOR, CBOR of the wrong shape, CBOR with garbage where the MLS message goes.
    let (s1, b1) = alice_acc.send("POST", &path, b"not cbor".to_vec()).await;
    let (s2, b2) = alice_acc
        .send("POST", &path, to_cbor(&vec![1, 2, 3]).unwrap())
        .await;
    let (s3, b3) = alice_acc
        .send("POST", &path, to_cbor(&bundle(vec![0u8; 300])).unwrap())
        .await;
    assert_eq!((s1, error_code(&b1).as_str()), (400, "bad_request"));
    assert_eq!((s2, error_code(&b2).as_str()), (400, "bad_request"));
    assert_eq!((s3, error_code(&b3).as_str()), (400, "invalid_message"));
    // A declared body over the limit (64 MiB for messages, 60 MiB for blobs) is refused from
    // its headers, before any of it is sent.
    let declared_too_large = |method: &'static str, path: String, length: u64| {
        let addr = addr.clone();
        async move {
            let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
            let req =
                format!("{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n");
            s.write_all(req.as_bytes()).await.unwrap();
            let mut answer = vec![0u8; 4096];
            let n = tokio::time::timeout(std::time::Duration::from_secs(5), s.read(&mut answer))
                .await
                .expect("answered before the body")
                .unwrap();
            String::from_utf8_lossy(&answer[..n]).to_string()
        }
    };
    let blob_path = format!("/v1/groups/{gid}/blobs/{}", "00".repeat(32));
    for (method, route, length) in [
        ("POST", path.clone(), 65 * 1024 * 1024),
        ("PUT", blob_path.clone(), 61 * 1024 * 1024),
        ("PUT", blob_path.clone(), 99_999_999_999),
    ] {
        let answer = declared_too_large(method, route, length).await;
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert!(answer.contains(r#""code":"too_large""#), "{answer}");
    }
    // Without a declared length (chunked), the limit holds while reading.
    let chunks = (0..65).map(|_| Ok::<_, std::io::Error>(vec![0u8; 1024 * 1024]));
    let r = alice_acc
        .request("POST", &path, vec![], now_ms(), &Account::nonce())
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await;
    // The relay answers 413 and closes mid-body; a client still sending may see the closed
    // connection before it reads the answer. Either way nothing is accepted.
    if let Ok(r) = r {
        assert_eq!(status_and_code(r).await, (413, "too_large".to_string()));
    }
    // Everyone else is still served.
    let r = reqwest::get(format!("{}/v1/health", relay.base))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let log: Vec<LogEntry> = alice_acc.ok("GET", &path, vec![]).await;
    assert_eq!(log.len(), 1);
    relay.stop().await;
}

/// The data directory, after real MLS traffic and an encrypted blob, holds none of the
/// plaintext (the clients never sent any; the relay must not have made any up either).
#[tokio::test]
async fn the_data_directory_holds_no_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (alice_acc, alice, mut ga, _bob_acc, _bob, _gb, gid) = circle_of_two(&relay).await;
    let secret = "Patient ZQX-MARKER-93 has erythema migrans";
    for _ in 0..5 {
        let m = ga
            .create_message(&alice.provider, &alice.signer, secret.as_bytes())
            .unwrap();
        let _: Posted = alice_acc
            .ok(
                "POST",
                &format!("/v1/groups/{gid}/messages"),
                to_cbor(&bundle(bytes(&m))).unwrap(),
            )
            .await;
    }
    relay.stop().await;
    let leaked = consilium_testkit::files_containing(dir.path(), b"ZQX-MARKER");
    assert!(leaked.is_empty(), "plaintext in {leaked:?}");
}

/// Each abuse limit answers with its own code and the relay keeps serving: the per-account
/// request rate, the blob quota, and the connection cap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abuse_limits_answer_with_their_own_codes() {
    use tokio::io::AsyncReadExt;
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut config = RelayConfig::new(dir.path().to_path_buf(), Arc::new(WallClock));
    config.shutdown_grace = std::time::Duration::from_secs(1);
    config.rate_burst = 40;
    config.rate_per_second = 1;
    config.blob_quota_bytes = 1000;
    config.max_connections = 8;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(run(listener, config, async {
        let _ = rx.await;
    }));
    let relay = Relay {
        base: base.clone(),
        stop: Some(tx),
        task,
    };
    let (alice_acc, _a, _ga, bob_acc, _b, _gb, gid) = circle_of_two(&relay).await;

    let blob = vec![7u8; 800];
    let id = hex::encode(ring::digest::digest(&ring::digest::SHA256, &blob));
    let (status, _) = alice_acc
        .send("PUT", &format!("/v1/groups/{gid}/blobs/{id}"), blob)
        .await;
    assert_eq!(status, 201);
    let blob2 = vec![8u8; 800];
    let id2 = hex::encode(ring::digest::digest(&ring::digest::SHA256, &blob2));
    let (status, body) = alice_acc
        .send("PUT", &format!("/v1/groups/{gid}/blobs/{id2}"), blob2)
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (507, "quota_exceeded")
    );

    let mut limited = false;
    for _ in 0..60 {
        let (status, body) = alice_acc.send("GET", "/v1/mailbox", vec![]).await;
        if status == 429 {
            assert_eq!(error_code(&body), "rate_limited");
            limited = true;
            break;
        }
    }
    assert!(limited, "a burst over the limit is refused");
    let (status, _) = bob_acc.send("GET", "/v1/mailbox", vec![]).await;
    assert_eq!(status, 200, "other accounts are not affected");

    // Hold the connection slots open; one more connection gets a clear 503.
    let addr = base.trim_start_matches("http://").to_string();
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    let mut extra = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut answer = String::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        extra.read_to_string(&mut answer),
    )
    .await;
    assert!(
        answer.starts_with("HTTP/1.1 503") && answer.contains("too_many_connections"),
        "{answer}"
    );
    drop(held);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let r = reqwest::get(format!("{base}/v1/health")).await.unwrap();
    assert_eq!(
        r.status().as_u16(),
        200,
        "served again once connections close"
    );
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

/// With a certificate the relay speaks TLS (rustls): a client that trusts the certificate gets
/// its answers, a plain-HTTP client gets nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_certificate_the_relay_serves_tls() {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, certified.cert.pem()).unwrap();
    std::fs::write(&key_path, certified.signing_key.serialize_pem()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut config = RelayConfig::new(dir.path().join("data"), Arc::new(WallClock));
    config.tls = Some((cert_path, key_path));
    config.shutdown_grace = std::time::Duration::from_secs(1);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(run(listener, config, async {
        let _ = rx.await;
    }));
    let client = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).unwrap(),
        )
        .resolve(
            "localhost",
            std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        )
        .build()
        .unwrap();
    let r = client
        .get(format!("https://localhost:{port}/v1/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let relay = Relay {
        base: format!("https://localhost:{port}"),
        stop: Some(tx),
        task,
    };
    // An untrusting client and a plain-HTTP client are both refused.
    assert!(
        reqwest::get(format!("https://localhost:{port}/v1/health"))
            .await
            .is_err()
    );
    assert!(
        reqwest::get(format!("http://127.0.0.1:{port}/v1/health"))
            .await
            .is_err()
    );
    // And the relay still serves the trusting client afterwards.
    let r = client
        .get(format!("https://localhost:{port}/v1/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    relay.stop().await;
}

/// Slow clients (headers or body trickled in) lose their connection after the configured time
/// instead of holding a slot for ever; everyone else is served meanwhile.
#[tokio::test]
async fn slow_headers_and_slow_bodies_are_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let relay = start_with(dir.path(), |c| {
        c.header_timeout = std::time::Duration::from_secs(1);
        c.body_timeout = std::time::Duration::from_secs(1);
    })
    .await;
    let addr = relay.base.trim_start_matches("http://").to_string();
    let started = std::time::Instant::now();
    let mut slow_headers = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow_headers
        .write_all(b"GET /v1/mailbox HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut slow_body = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow_body
        .write_all(b"POST /v1/groups HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
        .await
        .unwrap();
    let r = reqwest::get(format!("{}/v1/health", relay.base))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "others are served meanwhile");

    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        slow_headers.read_to_end(&mut answer),
    )
    .await
    .expect("the slow-header connection is closed")
    .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        slow_body.read_to_end(&mut answer),
    )
    .await
    .expect("the slow-body connection is answered")
    .unwrap();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains(r#""code":"timeout""#), "{text}");
    assert!(started.elapsed() < std::time::Duration::from_secs(8));
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
