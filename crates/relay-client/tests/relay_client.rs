//! The client against a real relay on 127.0.0.1:0: signed requests accepted, refusals mapped
//! to their codes, blobs checked against their ids, the push socket opened by challenge.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use consilium_model::wire::GroupStateUpload;
use consilium_model::{Clock, SystemClock};
use consilium_relay::{RelayConfig, run};
use consilium_relay_client::{AccountKey, DeviceMove, RelayClient, RelayClientError, RelayCode};

async fn relay(dir: &std::path::Path) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut config = RelayConfig::new(dir.to_path_buf(), Arc::new(SystemClock));
    config.admission = consilium_relay::Admission::Open;
    tokio::spawn(run(listener, config, async {
        let _ = stopped.await;
    }));
    (base, stop)
}

fn client(base: &str) -> RelayClient {
    client_and_seed(base).0
}

fn client_and_seed(base: &str) -> (RelayClient, [u8; 32]) {
    let (key, seed) = AccountKey::generate().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    (RelayClient::new(base, Arc::new(key), clock).unwrap(), *seed)
}

/// A group of one for the account with `seed`: its id and its public state for the relay.
fn group_of_one(seed: &[u8; 32]) -> (Vec<u8>, GroupStateUpload) {
    let identity = consilium_groups::Identity::from_seed(seed).unwrap();
    let (id, state) = consilium_groups::group_of_one(&identity).unwrap();
    let upload = GroupStateUpload {
        group_info: state.group_info.into(),
        ratchet_tree: state.ratchet_tree.into(),
    };
    (id, upload)
}

#[tokio::test]
async fn signed_requests_work_and_refusals_carry_their_codes() {
    let dir = tempfile::tempdir().unwrap();
    let (base, _stop) = relay(dir.path()).await;
    let ((alice, seed), stranger) = (client_and_seed(&base), client(&base));
    alice.health().await.unwrap();
    let (group, state) = group_of_one(&seed);
    alice.create_group(&group, state.clone()).await.unwrap();
    let again = alice.create_group(&group, state).await.unwrap_err();
    assert_eq!(again.code(), Some(&RelayCode::Conflict));

    let id = alice
        .put_blob(&group, b"ciphertext".to_vec())
        .await
        .unwrap();
    assert_eq!(alice.get_blob(&id, 1 << 20).await.unwrap(), b"ciphertext");
    let hidden = stranger.get_blob(&id, 1 << 20).await.unwrap_err();
    assert_eq!(hidden.code(), Some(&RelayCode::NotFound));
    let forbidden = stranger.fetch(&group, 0, 10).await.unwrap_err();
    assert_eq!(forbidden.code(), Some(&RelayCode::Forbidden));

    assert!(alice.mailbox().await.unwrap().is_empty());
    let none = alice
        .claim_key_package(&stranger.account_id(), &group)
        .await
        .unwrap_err();
    assert_eq!(none.code(), Some(&RelayCode::NoKeyPackage));
    assert!(alice.fetch(&group, 0, 10).await.unwrap().is_empty());
    alice.set_cursor(&group, 0).await.unwrap();
}

#[tokio::test]
async fn the_push_socket_opens_with_the_account_key() {
    let dir = tempfile::tempdir().unwrap();
    let (base, _stop) = relay(dir.path()).await;
    let alice = client(&base);
    let mut socket = alice.push_socket().await.unwrap();
    // Nothing to say yet: the socket stays open and quiet.
    let quiet = tokio::time::timeout(std::time::Duration::from_millis(300), socket.next()).await;
    assert!(quiet.is_err());
}

#[tokio::test]
async fn a_relay_that_is_down_or_not_a_relay_is_named_as_such() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (down, seed) = client_and_seed(&format!("http://127.0.0.1:{port}"));
    assert!(matches!(
        down.create_group(&[1; 16], group_of_one(&seed).1).await,
        Err(RelayClientError::Unreachable(_))
    ));
    assert!(matches!(
        down.push_socket().await,
        Err(RelayClientError::Unreachable(_))
    ));
    let (key, _) = AccountKey::generate().unwrap();
    assert!(matches!(
        RelayClient::new("ftp://example", Arc::new(key), Arc::new(SystemClock)),
        Err(RelayClientError::BadAddress(_))
    ));
}

#[test]
fn the_key_debug_output_shows_no_secret() {
    let (key, seed) = AccountKey::generate().unwrap();
    let shown = format!("{key:?}");
    assert!(shown.contains("redacted"));
    assert!(!shown.contains(&hex::encode(&seed[..])));
    assert_eq!(
        AccountKey::from_seed(&seed).unwrap().account_id(),
        key.account_id()
    );
}

/// A listener process, killed when dropped (a failed assertion leaves nothing running).
struct Listener(std::process::Child);

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A listener on a loopback port run by `as_user` (through `setpriv`) or by us; it prints
/// "ready", then the byte count of whatever each connection sends.
fn listener(port: u16, as_user: Option<u32>) -> Listener {
    let script = r#"$|=1; my $s=IO::Socket::INET->new(LocalAddr=>"127.0.0.1",LocalPort=>$ARGV[0],Listen=>5,ReuseAddr=>1) or die "$!"; print "ready\n"; while (my $c=$s->accept) { my $n=sysread($c,my $b,65536); print "got $n\n"; close $c }"#;
    let mut command = match as_user {
        Some(uid) => {
            let mut c = std::process::Command::new("setpriv");
            c.args([
                &format!("--reuid={uid}"),
                &format!("--regid={uid}"),
                "--clear-groups",
                "/usr/bin/perl",
            ]);
            c
        }
        None => std::process::Command::new("/usr/bin/perl"),
    };
    let mut child = command
        .args(["-MIO::Socket::INET", "-e", script, &port.to_string()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    child.stdout = Some(out.into_inner());
    let child = Listener(child);
    assert_eq!(line, "ready\n");
    child
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What the listener printed after "ready", once it is stopped.
fn heard(mut child: Listener) -> String {
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _ = child.0.kill();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.0.stdout.take().unwrap(), &mut out).unwrap();
    out
}

/// Another user of this computer listens on a loopback port (their relay, or anything else):
/// the client sends it nothing, not even the health check, and says why. The same listener run
/// by us is spoken to. Needs root to run a process as another user (CI runs as root).
#[tokio::test]
async fn a_relay_on_this_machine_run_by_another_user_is_never_spoken_to() {
    if consilium_relay_client::this_user() != Some(0) {
        eprintln!("skipped: running a listener as another user takes root");
        return;
    }
    let port = free_port();
    let theirs = listener(port, Some(65534));
    let c = client(&format!("http://127.0.0.1:{port}"));
    for refused in [
        c.health().await.unwrap_err(),
        c.mailbox().await.unwrap_err(),
    ] {
        assert!(
            matches!(&refused, RelayClientError::BadAddress(m) if m.contains("another user")),
            "{refused:?}"
        );
    }
    assert_eq!(
        heard(theirs),
        "",
        "a byte reached the other user's listener"
    );

    let port = free_port();
    let ours = listener(port, None);
    let c = client(&format!("http://127.0.0.1:{port}"));
    assert!(c.health().await.is_err(), "not a relay, but spoken to");
    assert!(
        heard(ours).starts_with("got "),
        "our own listener was not spoken to"
    );
}

/// A relay serving TLS with a self-signed certificate of its own (its key new each time).
async fn tls_relay(
    dir: &std::path::Path,
) -> (
    String,
    rcgen::CertifiedKey<rcgen::KeyPair>,
    tokio::sync::oneshot::Sender<()>,
) {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("https://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut config = RelayConfig::new(dir.join("data"), Arc::new(SystemClock));
    config.admission = consilium_relay::Admission::Open;
    config.tls = Some((cert, key));
    tokio::spawn(run(listener, config, async {
        let _ = stopped.await;
    }));
    (base, certified, stop)
}

fn pinned(base: &str, pin: Option<[u8; 32]>) -> RelayClient {
    let (key, _) = AccountKey::generate().unwrap();
    RelayClient::with(
        base,
        Arc::new(key),
        Arc::new(SystemClock),
        consilium_relay_client::Patience::default(),
        pin,
    )
    .unwrap()
}

/// A self-hosted relay with a self-signed certificate: the client that holds its key's pin (as
/// an invite code carries it) works with it, health, requests and push socket alike. The same
/// address presenting another key (an impostor, or the operator's new key) is refused in words
/// before a request is sent; without a pin, the system's roots refuse the self-signed
/// certificate, in words that say how to trust it.
#[tokio::test]
async fn a_self_signed_relay_is_trusted_by_its_pinned_key_and_no_other() {
    let dir = tempfile::tempdir().unwrap();
    let (base, certified, _stop) = tls_relay(dir.path()).await;
    let pin = consilium_relay_client::spki_sha256(certified.cert.der()).unwrap();
    let good = pinned(&base, Some(pin));
    good.health().await.unwrap();
    good.mailbox().await.unwrap();
    good.push_socket().await.unwrap();

    let other = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let other_pin = consilium_relay_client::spki_sha256(other.cert.der()).unwrap();
    assert_ne!(pin, other_pin);
    let fooled = pinned(&base, Some(other_pin));
    for refused in [
        fooled.health().await.unwrap_err(),
        fooled.mailbox().await.unwrap_err(),
        fooled.push_socket().await.map(drop).unwrap_err(),
    ] {
        assert!(
            matches!(&refused, RelayClientError::KeyChanged { relay } if *relay == base),
            "{refused:?}"
        );
        assert!(refused.to_string().contains("presented another key"));
    }

    // Without a pin the system's roots refuse it, and the error says what to do.
    let unpinned = pinned(&base, None);
    for refused in [
        unpinned.health().await.unwrap_err(),
        unpinned.mailbox().await.unwrap_err(),
        unpinned.push_socket().await.map(drop).unwrap_err(),
    ] {
        assert!(
            matches!(&refused, RelayClientError::NotVouched { relay, .. } if *relay == base),
            "{refused:?}"
        );
        assert!(refused.to_string().contains("--relay-key"), "{refused}");
    }
}

/// A key of before the device split moves to its device: done; asked again (an answer lost on
/// the way, the old key now revoked) it is done too, and the device is the account from then
/// on. A certificate for another identity is a refusal, not a move.
#[tokio::test]
async fn a_move_to_the_device_key_is_done_once_and_a_retry_reads_as_done() {
    let dir = tempfile::tempdir().unwrap();
    let (base, _stop) = relay(dir.path()).await;
    let (old, seed) = client_and_seed(&base);
    let (group, state) = group_of_one(&seed);
    old.create_group(&group, state).await.unwrap();
    let moved = consilium_groups::Identity::new_device(&seed).unwrap();
    let (stranger, _) = client_and_seed(&base);
    let refused = stranger
        .move_to_device(moved.certificate())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some(&RelayCode::Forbidden));

    assert_eq!(
        old.move_to_device(moved.certificate()).await.unwrap(),
        DeviceMove::Done
    );
    assert_eq!(
        old.move_to_device(moved.certificate()).await.unwrap(),
        DeviceMove::Done
    );
    let gone = old.fetch(&group, 0, 10).await.unwrap_err();
    assert_eq!(gone.code(), Some(&RelayCode::DeviceRevoked));
    let device = RelayClient::new(
        &base,
        Arc::new(AccountKey::from_seed(moved.device_seed()).unwrap()),
        Arc::new(SystemClock),
    )
    .unwrap();
    assert!(device.fetch(&group, 0, 10).await.unwrap().is_empty());
}
