//! What every relay test uses: a relay on a real socket, signed requests, MLS members made by
//! openmls, a circle of two, and the relay as a real process (`processes`).

pub use std::sync::Arc;

pub use consilium_model::Clock;
pub use consilium_model::codec::{from_cbor, to_cbor};
pub use consilium_model::wire::*;
pub use consilium_relay::auth::{
    HEADER_ACCOUNT, HEADER_BODY_SHA256, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP,
    signed_message,
};
pub use consilium_relay::store::DatabaseLocation;
pub use consilium_relay::{RelayConfig, run};
pub use openmls::prelude::*;
pub use openmls_basic_credential::SignatureKeyPair;
pub use openmls_rust_crypto::OpenMlsRustCrypto;
pub use ring::rand::SecureRandom;
pub use ring::signature::{Ed25519KeyPair, KeyPair};
pub use serde_bytes::ByteBuf;
pub use tls_codec::{Deserialize as _, Serialize as _};

pub use crate::configs::{database_for, now_ms, test_config};
pub use crate::processes::{spawn_relay, spawn_relay_admitting};

pub struct Relay {
    pub base: String,
    pub stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

pub async fn start(dir: &std::path::Path) -> Relay {
    start_with(dir, |_| {}).await
}

pub async fn start_with(dir: &std::path::Path, tweak: impl FnOnce(&mut RelayConfig)) -> Relay {
    start_at("127.0.0.1:0", dir, tweak).await
}

/// A relay listening on `address` (a port a relay before it had, so requests signed for that
/// one are for this one too).
pub async fn start_at(
    address: &str,
    dir: &std::path::Path,
    tweak: impl FnOnce(&mut RelayConfig),
) -> Relay {
    let listener = tokio::net::TcpListener::bind(address).await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let mut config = test_config(dir);
    config.shutdown_grace = std::time::Duration::from_secs(2);
    // Most tests are about something else than admission (`admission.rs` tests it).
    config.admission = consilium_relay::Admission::Open;
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
    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap().unwrap();
    }
}

/// An account: an Ed25519 key that signs every request, and is also the signature key and
/// credential of its MLS leaf (as the relay requires).
pub struct Account {
    pub key: Ed25519KeyPair,
    pub seed: [u8; 32],
    pub http: reqwest::Client,
    pub base: String,
}

impl Account {
    pub fn new(relay: &Relay) -> Account {
        Account::at(&relay.base)
    }

    pub fn at(base: &str) -> Account {
        let mut seed = [0u8; 32];
        ring::rand::SystemRandom::new().fill(&mut seed).unwrap();
        Account {
            key: Ed25519KeyPair::from_seed_unchecked(&seed).unwrap(),
            seed,
            http: reqwest::Client::new(),
            base: base.to_string(),
        }
    }

    /// The MLS participant with this account's key (a fresh provider each call: call it once).
    pub fn member(&self) -> Member {
        let provider = OpenMlsRustCrypto::default();
        let public = self.key.public_key().as_ref().to_vec();
        let signer = SignatureKeyPair::from_raw(
            SignatureScheme::ED25519,
            self.seed.to_vec(),
            public.clone(),
        );
        signer.store(provider.storage()).unwrap();
        let cwk = CredentialWithKey {
            credential: BasicCredential::new(public).into(),
            signature_key: signer.public().into(),
        };
        Member {
            provider,
            signer,
            cwk,
        }
    }

    pub fn id(&self) -> String {
        hex::encode(self.key.public_key().as_ref())
    }

    pub fn nonce() -> String {
        let mut n = [0u8; 16];
        ring::rand::SystemRandom::new().fill(&mut n).unwrap();
        hex::encode(n)
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
        ts: i64,
        nonce: &str,
    ) -> reqwest::RequestBuilder {
        self.request_to(&self.base, method, path, body, ts, nonce)
    }

    /// A request signed for this account's relay (`base`, the origin behind a load balancer)
    /// but sent to `address` (one instance behind it).
    pub fn request_to(
        &self,
        address: &str,
        method: &str,
        path: &str,
        body: Vec<u8>,
        ts: i64,
        nonce: &str,
    ) -> reqwest::RequestBuilder {
        self.signed_as(address, method, path, &body, ts, nonce)
            .body(body)
    }

    /// A request signed as carrying `signed` (its digest in the signature and its header),
    /// whose body the caller gives: other bytes than were signed, or a stream.
    pub fn signed_as(
        &self,
        address: &str,
        method: &str,
        path: &str,
        signed: &[u8],
        ts: i64,
        nonce: &str,
    ) -> reqwest::RequestBuilder {
        let sig = self
            .key
            .sign(&signed_message(&self.base, method, path, ts, nonce, signed));
        self.http
            .request(method.parse().unwrap(), format!("{address}{path}"))
            .header(HEADER_ACCOUNT, self.id())
            .header(HEADER_TIMESTAMP, ts.to_string())
            .header(HEADER_NONCE, nonce)
            .header(HEADER_SIGNATURE, hex::encode(sig.as_ref()))
            .header(
                HEADER_BODY_SHA256,
                hex::encode(ring::digest::digest(&ring::digest::SHA256, signed)),
            )
    }

    pub async fn send(&self, method: &str, path: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
        let r = self
            .request(method, path, body, now_ms(), &Self::nonce())
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
    }

    pub async fn ok<T: serde::de::DeserializeOwned>(
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
pub async fn status_and_code(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    (status, error_code(&r.bytes().await.unwrap()))
}

pub fn error_code(bytes: &[u8]) -> String {
    serde_json::from_slice::<RelayErrorBody>(bytes)
        .map(|e| e.code)
        .unwrap_or_else(|_| String::from_utf8_lossy(bytes).into())
}

/// An MLS participant (openmls with its in-memory provider).
pub struct Member {
    pub provider: OpenMlsRustCrypto,
    pub signer: SignatureKeyPair,
    pub cwk: CredentialWithKey,
}

pub const CS: Ciphersuite = Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;

/// An MLS participant whose credential is not an account key (the relay refuses its leaf).
pub fn member(name: &str) -> Member {
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

pub fn key_package(m: &Member) -> KeyPackage {
    KeyPackage::builder()
        .build(CS, &m.provider, &m.signer, m.cwk.clone())
        .unwrap()
        .key_package()
        .clone()
}

/// How every circle frames its messages: handshake messages as PublicMessages, which the relay
/// checks; application messages are always encrypted.
pub fn create_config() -> MlsGroupCreateConfig {
    MlsGroupCreateConfig::builder()
        .ciphersuite(CS)
        .use_ratchet_tree_extension(true)
        .wire_format_policy(MIXED_PLAINTEXT_WIRE_FORMAT_POLICY)
        .build()
}

pub fn join_config() -> MlsGroupJoinConfig {
    MlsGroupJoinConfig::builder()
        .wire_format_policy(MIXED_PLAINTEXT_WIRE_FORMAT_POLICY)
        .build()
}

/// A group's public state as `m` exports it for the relay.
pub fn state_of(m: &Member, group: &MlsGroup) -> GroupStateUpload {
    GroupStateUpload {
        group_info: ByteBuf::from(bytes(
            &group
                .export_group_info(m.provider.crypto(), &m.signer, false)
                .unwrap(),
        )),
        ratchet_tree: ByteBuf::from(
            group
                .export_ratchet_tree()
                .tls_serialize_detached()
                .unwrap(),
        ),
    }
}

/// `acc` creates a group in MLS and on the relay; its id in hex.
pub async fn create_group(acc: &Account, m: &Member) -> (MlsGroup, String) {
    let group = MlsGroup::new(&m.provider, &m.signer, &create_config(), m.cwk.clone()).unwrap();
    let (status, body) = post_group(acc, m, &group).await;
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let gid = hex::encode(group.group_id().as_slice());
    (group, gid)
}

/// `m` joins from a Welcome.
pub fn join(m: &Member, welcome: &[u8]) -> MlsGroup {
    let w = match MlsMessageIn::tls_deserialize_exact(welcome)
        .unwrap()
        .extract()
    {
        MlsMessageBodyIn::Welcome(w) => w,
        _ => panic!("not a welcome"),
    };
    StagedWelcome::new_from_welcome(&m.provider, &join_config(), w, None)
        .unwrap()
        .into_group(&m.provider)
        .unwrap()
}

pub fn bytes(m: &MlsMessageOut) -> Vec<u8> {
    m.tls_serialize_detached().unwrap()
}

pub fn message_id() -> ByteBuf {
    let mut id = [0u8; 16];
    ring::rand::SystemRandom::new().fill(&mut id).unwrap();
    ByteBuf::from(id.to_vec())
}

pub fn bundle(mls: Vec<u8>) -> PostBundle {
    PostBundle {
        message_id: message_id(),
        mls: ByteBuf::from(mls),
        welcomes: vec![],
    }
}

/// The text of an application message `m` opens in `group`.
pub fn open_application(m: &Member, group: &mut MlsGroup, message: &[u8]) -> Vec<u8> {
    let msg = MlsMessageIn::tls_deserialize_exact(message).unwrap();
    match group
        .process_message(&m.provider, msg.try_into_protocol_message().unwrap())
        .unwrap()
        .into_content()
    {
        ProcessedMessageContent::ApplicationMessage(a) => a.into_bytes(),
        _ => panic!("expected an application message"),
    }
}

/// `acc` asks the relay to create `group` with the state `m` exports; status and body.
pub async fn post_group(acc: &Account, m: &Member, group: &MlsGroup) -> (u16, Vec<u8>) {
    acc.send(
        "POST",
        "/v1/groups",
        to_cbor(&CreateGroup {
            group_id: ByteBuf::from(group.group_id().as_slice().to_vec()),
            state: state_of(m, group),
        })
        .unwrap(),
    )
    .await
}

pub fn apply_commit(m: &Member, group: &mut MlsGroup, commit: &[u8]) {
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
pub async fn circle_of_two(
    relay: &Relay,
) -> (Account, Member, MlsGroup, Account, Member, MlsGroup, String) {
    circle_of_two_at(&relay.base).await
}

/// `acc` (as `m`) adds a key package of `joiner` to `group` (id `gid_hex`) and posts the commit
/// with its Welcome addressed to `to`; the commit stays pending in `group`.
pub async fn add_with_welcome(
    acc: &Account,
    m: &Member,
    group: &mut MlsGroup,
    gid_hex: &str,
    joiner: &Member,
    to: &Account,
) -> Posted {
    let (commit, welcome, _) = group
        .add_members(&m.provider, &m.signer, &[key_package(joiner)])
        .unwrap();
    let mut b = bundle(bytes(&commit));
    b.welcomes.push(WelcomeFor {
        account: to.id(),
        mls: ByteBuf::from(bytes(&welcome)),
    });
    acc.ok(
        "POST",
        &format!("/v1/groups/{gid_hex}/messages"),
        to_cbor(&b).unwrap(),
    )
    .await
}

pub async fn circle_of_two_at(
    base: &str,
) -> (Account, Member, MlsGroup, Account, Member, MlsGroup, String) {
    let (alice_acc, bob_acc) = (Account::at(base), Account::at(base));
    let (alice, bob) = (alice_acc.member(), bob_acc.member());
    let (mut ga, gid_hex) = create_group(&alice_acc, &alice).await;

    let posted = add_with_welcome(&alice_acc, &alice, &mut ga, &gid_hex, &bob, &bob_acc).await;
    assert_eq!((posted.seq, posted.epoch), (1, 1));
    ga.merge_pending_commit(&alice.provider).unwrap();

    let mail: Vec<MailboxItem> = bob_acc.ok("GET", "/v1/mailbox", vec![]).await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].kind, MailboxKind::Welcome);
    let gb = join(&bob, &mail[0].body);
    let (status, _) = bob_acc
        .send("DELETE", &format!("/v1/mailbox/{}", mail[0].id), vec![])
        .await;
    assert_eq!(status, 204);
    (alice_acc, alice, ga, bob_acc, bob, gb, gid_hex)
}

/// A relay with a circle of Alice and Bob, for the refusal tests.
pub async fn alice_in_a_circle() -> (tempfile::TempDir, Relay, Account, String) {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (alice_acc, _alice, _ga, _bob_acc, _bob, _gb, gid) = circle_of_two(&relay).await;
    (dir, relay, alice_acc, gid)
}

/// A request signed by `signer` but naming `account`, for `path`.
pub async fn forged_get(
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
        .sign(&signed_message(base, "GET", signed_path, ts, &nonce, b""));
    let r = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .header(HEADER_ACCOUNT, account.id())
        .header(HEADER_TIMESTAMP, ts.to_string())
        .header(HEADER_NONCE, &nonce)
        .header(HEADER_SIGNATURE, hex::encode(sig.as_ref()))
        .header(
            HEADER_BODY_SHA256,
            hex::encode(ring::digest::digest(&ring::digest::SHA256, b"")),
        )
        .send()
        .await
        .unwrap();
    status_and_code(r).await
}

/// The whole log of a group, page by page.
pub async fn read_log(acc: &Account, path: &str) -> Vec<LogEntry> {
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

/// The head of a raw HTTP request (for tests that write to the socket themselves): signed by
/// `signer` in the name of `account` over `body`'s digest, announcing `content_length` bytes.
pub fn signed_head(
    base: &str,
    method: &str,
    path: &str,
    account: &Account,
    signer: &Account,
    body: &[u8],
    content_length: usize,
) -> String {
    let (ts, nonce) = (now_ms(), Account::nonce());
    let sig = signer
        .key
        .sign(&signed_message(base, method, path, ts, &nonce, body));
    format!(
        "{method} {path} HTTP/1.1\r\nhost: {host}\r\ncontent-length: {content_length}\r\n\
         {HEADER_ACCOUNT}: {id}\r\n{HEADER_TIMESTAMP}: {ts}\r\n{HEADER_NONCE}: {nonce}\r\n\
         {HEADER_SIGNATURE}: {sig}\r\n{HEADER_BODY_SHA256}: {digest}\r\n\r\n",
        host = base.trim_start_matches("http://"),
        id = account.id(),
        sig = hex::encode(sig.as_ref()),
        digest = hex::encode(ring::digest::digest(&ring::digest::SHA256, body)),
    )
}

pub type PushSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A push socket for `acc`, its challenge signed by `sign_with`; `None` when refused.
pub async fn push_connect(url: &str, acc: &Account, sign_with: &Account) -> Option<PushSocket> {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let hello = ws.next().await.unwrap().unwrap().into_text().unwrap();
    let v: serde_json::Value = serde_json::from_str(&hello).unwrap();
    let challenge = hex::decode(v["challenge"].as_str().unwrap()).unwrap();
    let account = consilium_relay::auth::Account::parse(&acc.id()).unwrap();
    let sig = sign_with
        .key
        .sign(&consilium_relay::auth::challenge_message(
            &acc.base, &challenge, &account,
        ));
    let answer = serde_json::json!({"account": acc.id(), "signature": hex::encode(sig.as_ref())});
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

/// `admin` makes a circle and invites `joiner`, who redeems the invitation; the circle's id.
pub async fn owner_asks_to_join(admin: &Account, joiner: &Account) -> String {
    let m = admin.member();
    let (_group, gid) = create_group(admin, &m).await;
    let token = b"a one-time token for the owner...".to_vec();
    let register = RegisterInvitation {
        token_hash: ByteBuf::from(
            ring::digest::digest(&ring::digest::SHA256, &token)
                .as_ref()
                .to_vec(),
        ),
        expires_at: now_ms() + 3_600_000,
    };
    let (status, _) = admin
        .send(
            "POST",
            &format!("/v1/groups/{gid}/invitations"),
            to_cbor(&register).unwrap(),
        )
        .await;
    assert_eq!(status, 201);
    let kp = MlsMessageOut::from(key_package(&joiner.member()))
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
    gid
}

/// The next push a socket is sent, within 5 s.
pub async fn next_push(ws: &mut PushSocket) -> Push {
    use futures_util::StreamExt;
    let message = tokio::time::timeout(std::time::Duration::from_secs(5), ws.next())
        .await
        .expect("pushed within 5 s")
        .unwrap()
        .unwrap();
    serde_json::from_str(&message.into_text().unwrap()).unwrap()
}
