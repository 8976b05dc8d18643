//! A self-hosted relay with a self-signed certificate, trusted by the key its invite codes pin.

use std::path::Path;
use std::sync::Arc;

use crate::support::{MovableClock, bring_in, engine};
use consilium_client::Event;

/// The relay at `addr` ("127.0.0.1:0" for any port) serving TLS with a new self-signed key;
/// the pin of that key.
fn tls_relay(
    dir: &Path,
    clock: &Arc<MovableClock>,
    addr: &str,
) -> (consilium_relay::Background, [u8; 32]) {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let listener = std::net::TcpListener::bind(addr).unwrap();
    let mut config = consilium_relay::RelayConfig::new(dir.join("data"), clock.clone());
    config.admission = consilium_relay::Admission::Open;
    config.tls = Some((cert, key));
    let pin = consilium_relay_client::spki_sha256(certified.cert.der()).unwrap();
    (
        consilium_relay::Background::start(listener, config).unwrap(),
        pin,
    )
}

/// The admin pins her self-hosted relay's key when she makes the circle; her invite code carries
/// it and the joiner's app takes it. Then someone else answers at the relay's address with
/// another key (its data and all): both apps refuse it in words and send it nothing; an
/// invite code that names another key for the pinned relay is refused too.
#[test]
fn a_self_signed_relay_is_reached_by_its_pinned_key_and_an_impostor_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let (relay, pin) = tls_relay(&root.path().join("relay"), &clock, "127.0.0.1:0");
    let url = format!("https://{}", relay.addr());
    let (mut a, mut b) = (
        engine(root.path(), "a", &clock),
        engine(root.path(), "b", &clock),
    );
    assert!(
        a.create_circle("Self-hosted", &url).is_err(),
        "a self-signed certificate passed the system's roots"
    );
    // As a person types it (the window's field, the CLI's --relay-key): hex, checked.
    let typo = a
        .pin_relay_key_hex(&url, &hex::encode(&pin[..31]))
        .unwrap_err();
    assert_eq!(
        typo.code(),
        consilium_client::ErrorCode::InvalidInput,
        "{typo}"
    );
    a.pin_relay_key_hex(&url, &format!(" {} ", hex::encode(pin)))
        .unwrap();
    a.create_circle("Self-hosted", &url).unwrap();
    bring_in(&mut a, &mut b, "Self-hosted");
    assert_eq!(
        b.circles().unwrap().len(),
        1,
        "the joiner got in by the pin"
    );

    // The impostor: the same address, the relay's data, another key.
    let addr = relay.addr().to_string();
    drop(relay);
    let (_impostor, other) = tls_relay(&root.path().join("relay"), &clock, &addr);
    assert_ne!(pin, other);
    for p in [&mut a, &mut b] {
        let report = p.sync().unwrap();
        let refused = report.events.iter().any(|e| {
            matches!(e, Event::SyncFailed { reason, .. } if reason.contains("presented another key"))
        });
        assert!(refused, "{report:?}");
    }
    let invite = a.invite("Self-hosted").unwrap_err();
    assert!(
        invite.to_string().contains("presented another key"),
        "{invite}"
    );
    let refused = a.pin_relay_key(&url, other).unwrap_err();
    assert!(
        refused.to_string().contains("pinned to another key"),
        "{refused}"
    );
}

/// A relay this profile already reaches through the system's trust (here a relay on this
/// machine) is never pinned: a key named for it, by an invite code or by hand, is refused, and
/// the circle on it goes on as before.
#[test]
fn a_relay_already_in_use_is_never_pinned_afterwards() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let relay =
        crate::support::start_relay(&root.path().join("relay"), clock.clone(), "127.0.0.1:0");
    let mut a = engine(root.path(), "a", &clock);
    a.create_circle("Plain", &relay.url()).unwrap();
    let refused = a.pin_relay_key(&relay.url(), [7; 32]).unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("a pinned key for it is refused"),
        "{refused}"
    );
    let report = a.sync().unwrap();
    assert!(
        report.offline.is_none() && report.events.is_empty(),
        "{report:?}"
    );
}
