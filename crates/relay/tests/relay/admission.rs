//! Admission in `invite` mode (the relay's default): a fresh key is not an account. Only the
//! operator's one-time enrolment codes and circle invitations admit one; everything else from an
//! unknown key is refused from its headers, before its body is read.

use crate::support::*;

async fn inviting(dir: &std::path::Path) -> Relay {
    start_with(dir, |c| c.admission = consilium_relay::Admission::Invite).await
}

/// What `consilium-relay admit` prints, made against the running relay's data folder.
fn enrolment_code(dir: &std::path::Path) -> String {
    consilium_relay::new_enrolment_code(dir, &database_for(dir), now_ms()).unwrap()
}

async fn enrol(acc: &Account, code: &str) -> (u16, String) {
    let (status, body) = acc
        .send(
            "POST",
            "/v1/accounts/enrol",
            to_cbor(&Enrolment {
                code: code.to_string(),
            })
            .unwrap(),
        )
        .await;
    (status, error_code(&body))
}

/// An unknown key's group creation and key-package upload announce megabytes of body that
/// never come: each is answered 401 `not_admitted` at once, not after the body timeout. Its
/// other requests, and its push socket, are refused too.
#[tokio::test]
async fn an_unknown_key_is_refused_before_its_body_is_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let relay = inviting(dir.path()).await;
    let stranger = Account::new(&relay);
    for (method, path) in [("POST", "/v1/groups"), ("PUT", "/v1/key-packages")] {
        let head = signed_head(
            &relay.base,
            method,
            path,
            &stranger,
            &stranger,
            b"",
            3_000_000,
        );
        let mut socket = tokio::net::TcpStream::connect(relay.base.trim_start_matches("http://"))
            .await
            .unwrap();
        socket.write_all(head.as_bytes()).await.unwrap();
        let mut answer = vec![0u8; 512];
        let n = tokio::time::timeout(std::time::Duration::from_secs(3), socket.read(&mut answer))
            .await
            .expect("answered without waiting for the body")
            .unwrap();
        let answer = String::from_utf8_lossy(&answer[..n]);
        assert!(
            answer.starts_with("HTTP/1.1 401"),
            "{method} {path}: {answer}"
        );
        assert!(answer.contains("not_admitted"), "{answer}");
    }
    let (status, body) = stranger.send("GET", "/v1/mailbox", vec![]).await;
    assert_eq!((status, error_code(&body).as_str()), (401, "not_admitted"));
    relay.stop().await;
}

/// The operator's code admits the first account that redeems it, once; the same account may
/// redeem it again (a retry), anyone else is refused; a made-up code is refused.
#[tokio::test]
async fn an_enrolment_code_admits_one_account_once() {
    let dir = tempfile::tempdir().unwrap();
    let relay = inviting(dir.path()).await;
    let code = enrolment_code(dir.path());
    assert_eq!(code.len(), 39, "{code}");
    let (alice, mallory) = (Account::new(&relay), Account::new(&relay));
    assert_eq!(
        enrol(&mallory, "0000-1111-2222-3333").await,
        (410, "enrolment_invalid".into())
    );
    // As a person might type it: upper case, spaces.
    let typed = code.to_uppercase().replace('-', " ");
    assert_eq!(enrol(&alice, &typed).await.0, 204);
    assert_eq!(
        enrol(&alice, &code).await.0,
        204,
        "a retry by the same account"
    );
    assert_eq!(
        enrol(&mallory, &code).await,
        (410, "enrolment_invalid".into())
    );
    let m = alice.member();
    let (_group, _gid) = create_group(&alice, &m).await;
    let (status, body) = mallory.send("GET", "/v1/mailbox", vec![]).await;
    assert_eq!((status, error_code(&body).as_str()), (401, "not_admitted"));
    relay.stop().await;
}

/// A joiner nobody enrolled redeems a circle's invitation, and is an account from then on: it
/// reads its mailbox and publishes key packages. Its key packages go only to a member of the
/// circle it asked to join, never to anyone else who asks.
#[tokio::test]
async fn an_invited_joiner_gets_an_account_and_only_the_circle_claims_its_key_packages() {
    let dir = tempfile::tempdir().unwrap();
    let relay = inviting(dir.path()).await;
    let (alice, joiner, other) = (
        Account::new(&relay),
        Account::new(&relay),
        Account::new(&relay),
    );
    assert_eq!(enrol(&alice, &enrolment_code(dir.path())).await.0, 204);
    assert_eq!(enrol(&other, &enrolment_code(dir.path())).await.0, 204);
    let om = other.member();
    let (_go, other_gid) = create_group(&other, &om).await;
    let (status, body) = joiner.send("GET", "/v1/mailbox", vec![]).await;
    assert_eq!((status, error_code(&body).as_str()), (401, "not_admitted"));
    let gid = owner_asks_to_join(&alice, &joiner).await;
    let (status, _) = joiner.send("GET", "/v1/mailbox", vec![]).await;
    assert_eq!(status, 200, "an account through the invitation");
    let jm = joiner.member();
    let upload = KeyPackageUpload {
        packages: (0..3)
            .map(|_| KeyPackageItem {
                mls: ByteBuf::from(
                    MlsMessageOut::from(key_package(&jm))
                        .tls_serialize_detached()
                        .unwrap(),
                ),
                last_resort: false,
                expires_at: now_ms() + 3_600_000,
            })
            .collect(),
    };
    let (status, _) = joiner
        .send("PUT", "/v1/key-packages", to_cbor(&upload).unwrap())
        .await;
    assert!(status < 300, "{status}");
    let claim = |group: &str| {
        format!(
            "/v1/accounts/{}/key-packages/claim?group={group}",
            joiner.id()
        )
    };
    // Another account, naming its own group or the joiner's, gets nothing.
    for group in [&other_gid, &gid] {
        let (status, body) = other.send("POST", &claim(group), vec![]).await;
        assert_eq!(
            (status, error_code(&body).as_str()),
            (404, "no_key_package")
        );
    }
    let (status, _) = alice.send("POST", &claim(&gid), vec![]).await;
    assert_eq!(
        status, 200,
        "a member of the circle the joiner asked to join"
    );
    relay.stop().await;
}

/// Open admission lets any key in: the relay refuses to start with it off loopback.
#[tokio::test]
async fn open_admission_is_refused_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let mut config = test_config(dir.path());
    config.admission = consilium_relay::Admission::Open;
    let refused = run(listener, config, std::future::pending::<()>()).await;
    assert!(refused.is_err(), "{refused:?}");
}

/// A stranger holding 10 000 sockets from one address (127.0.0.2) against the relay's default
/// caps does not keep an enrolled member on another address from being served. The relay is a
/// real process, so its descriptors and the stranger's are counted apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_sockets_from_one_address_do_not_keep_a_member_out() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = spawn_relay_admitting(dir.path(), "invite");
    let member = Account::at(&relay.base);
    assert_eq!(enrol(&member, &enrolment_code(dir.path())).await.0, 204);
    let addr: std::net::SocketAddr = relay.base.trim_start_matches("http://").parse().unwrap();
    let mut held = Vec::new();
    for _ in 0..10_000 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        if let Ok(s) = socket.connect(addr).await {
            held.push(s);
        }
    }
    assert!(held.len() >= 9_000, "only {} sockets connected", held.len());
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let (status, _) = member.send("GET", "/v1/mailbox", vec![]).await;
    assert_eq!(status, 200, "a member on another address is served");
    drop(held);
    relay.child.kill().unwrap();
    relay.child.wait().unwrap();
}
