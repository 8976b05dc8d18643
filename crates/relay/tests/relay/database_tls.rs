//! A relay reaches a managed PostgreSQL over TLS, as the operator's address says
//! (`sslmode`, `sslrootcert`), and verifies the server's certificate: a server presenting a
//! certificate of another authority (a machine in the middle) is refused, and so is one that
//! does not speak TLS when the address requires it.

use consilium_testkit::services::PostgresServer;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

use crate::support::*;

/// An authority, and a certificate it issued for 127.0.0.1 (with its key).
struct Authority {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

fn authority() -> Authority {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    Authority {
        ca_pem: ca.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// The relay started on `url`; the error it stopped with, if it did not start.
async fn relay_on(dir: &std::path::Path, url: &str) -> Result<Relay, String> {
    let url = url.to_owned();
    let relay = start_with(dir, |c| c.database = DatabaseLocation::Postgres(url)).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    if relay.task.is_finished() {
        return Err(match relay.task.await.unwrap() {
            Ok(()) => "stopped".into(),
            Err(e) => e.to_string(),
        });
    }
    Ok(relay)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_relay_reaches_its_database_over_verified_tls_and_refuses_an_impostor() {
    let dir = tempfile::tempdir().unwrap();
    let real = authority();
    let server = PostgresServer::start_tls(&real.cert_pem, &real.key_pem);
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &real.ca_pem).unwrap();
    let database = server.create_database();
    let verified = format!(
        "{database}?sslmode=verify-full&sslrootcert={}",
        ca.display()
    );

    // Through TLS, verified against the operator's authority: the relay works, and the server
    // sees its connections encrypted.
    let relay = relay_on(&dir.path().join("a"), &verified).await.unwrap();
    let (alice, _a, _ga, _bob, _b, _gb, _gid) = circle_of_two(&relay).await;
    let (status, _) = alice.send("GET", "/v1/mailbox", vec![]).await;
    assert_eq!(status, 200);
    let encrypted = server.encrypted_connections("consilium-relay");
    assert!(encrypted > 0, "the relay's connections use TLS");
    relay.stop().await;

    // The same server, but the relay told to trust another authority (as when a machine in
    // the middle presents its own certificate): it does not start, and says why.
    let other = authority();
    let wrong = dir.path().join("other-ca.pem");
    std::fs::write(&wrong, &other.ca_pem).unwrap();
    let err = relay_on(
        &dir.path().join("b"),
        &format!(
            "{database}?sslmode=verify-full&sslrootcert={}",
            wrong.display()
        ),
    )
    .await
    .err()
    .expect("a certificate of another authority is refused");
    assert!(err.contains("certificate"), "{err}");

    // Without TLS the server refuses the relay (its pg_hba takes TLS only).
    let err = relay_on(
        &dir.path().join("c"),
        &format!("{database}?sslmode=disable"),
    )
    .await
    .err()
    .expect("a plain connection is refused");
    assert!(err.contains("database cannot be reached"), "{err}");
}
