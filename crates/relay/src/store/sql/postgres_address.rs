//! A `postgres://` address as the relay connects to it: the client's configuration and the TLS
//! the address asks for. Managed PostgreSQL servers are reached over networks the operator does
//! not own, so TLS, when used, always verifies the server's certificate and name (libpq's
//! `verify-full`), against the address's `sslrootcert` (a PEM file of the authorities to trust,
//! as managed services hand out) or else the system's trust store. `sslmode` reads as libpq's:
//! `disable` is plain TCP (a server on the same machine); `prefer` (the default) is TLS when the
//! server offers it; `require`, `verify-ca` and `verify-full` refuse a server without TLS. The
//! libpq options tokio-postgres does not know are taken out of the address before it parses it.

use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;
use tokio_rustls::rustls;

use crate::error::{RelayError, Result};

/// How long a connection may take to open, when the address says nothing: an unreachable
/// server is then `busy` within seconds rather than a hung request.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// Where the relay's database is and how to reach it.
#[derive(Clone)]
pub(crate) struct PostgresAddress {
    pub config: tokio_postgres::Config,
    pub tls: MakeRustlsConnect,
}

fn invalid(why: impl std::fmt::Display) -> RelayError {
    RelayError::Internal(format!("the database address: {why}"))
}

impl PostgresAddress {
    pub(crate) fn parse(address: &str) -> Result<PostgresAddress> {
        let (address, mode, root) = take_tls_options(address)?;
        let mut config: tokio_postgres::Config = address.parse().map_err(invalid)?;
        if let Some(mode) = mode {
            config.ssl_mode(mode);
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.application_name("consilium-relay");
        let verifying = config.get_ssl_mode() != SslMode::Disable;
        let roots = if verifying {
            trusted(root.as_deref())?
        } else {
            rustls::RootCertStore::empty()
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(invalid)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(PostgresAddress {
            config,
            tls: MakeRustlsConnect::new(tls),
        })
    }
}

/// The address without `sslmode` and `sslrootcert` (in a `postgres://` URL), with what they
/// said. An address in `key=value` form goes through as written.
fn take_tls_options(address: &str) -> Result<(String, Option<SslMode>, Option<String>)> {
    if !(address.starts_with("postgres://") || address.starts_with("postgresql://")) {
        return Ok((address.to_owned(), None, None));
    }
    let mut url = url::Url::parse(address).map_err(invalid)?;
    let (mut mode, mut root, mut kept) = (None, None, Vec::new());
    for (key, value) in url.query_pairs() {
        match &*key {
            "sslmode" => {
                mode = Some(match &*value {
                    "disable" => SslMode::Disable,
                    "allow" | "prefer" => SslMode::Prefer,
                    "require" | "verify-ca" | "verify-full" => SslMode::Require,
                    other => {
                        return Err(invalid(format!("sslmode={other} is not one libpq knows")));
                    }
                });
            }
            "sslrootcert" => root = Some(value.into_owned()),
            _ => kept.push((key.into_owned(), value.into_owned())),
        }
    }
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
    Ok((url.into(), mode, root))
}

/// The authorities a server's certificate must chain to: those in the PEM file `root`, or the
/// system's (also when `root` is `system`, as libpq writes it).
fn trusted(root: Option<&str>) -> Result<rustls::RootCertStore> {
    let mut roots = rustls::RootCertStore::empty();
    match root.filter(|r| *r != "system") {
        Some(path) => {
            let pem =
                std::fs::read(path).map_err(|e| invalid(format!("sslrootcert {path}: {e}")))?;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| invalid(format!("sslrootcert {path}: {e}")))?;
                roots
                    .add(cert)
                    .map_err(|e| invalid(format!("sslrootcert {path}: {e}")))?;
            }
            if roots.is_empty() {
                return Err(invalid(format!("sslrootcert {path} holds no certificate")));
            }
        }
        None => {
            // A system without a trust store leaves TLS nothing to trust: a server that offers
            // TLS is then refused, and says why.
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        }
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpq_tls_options_are_read_and_taken_out() {
        let (rest, mode, root) = take_tls_options(
            "postgres://relay:pw@db.example.org:5432/consilium?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&connect_timeout=5",
        )
        .unwrap();
        assert_eq!(
            rest,
            "postgres://relay:pw@db.example.org:5432/consilium?connect_timeout=5"
        );
        assert_eq!(mode, Some(SslMode::Require));
        assert_eq!(root.as_deref(), Some("/etc/ca.pem"));
        let (rest, mode, root) = take_tls_options("postgres://h/db?sslmode=disable").unwrap();
        assert_eq!(
            (rest.as_str(), mode, root),
            ("postgres://h/db", Some(SslMode::Disable), None)
        );
        assert!(take_tls_options("postgres://h/db?sslmode=maybe").is_err());
        let kv = "host=h dbname=db";
        assert_eq!(take_tls_options(kv).unwrap().0, kv);
    }

    #[test]
    fn a_root_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        let address = format!(
            "postgres://h/db?sslmode=require&sslrootcert={}",
            path.display()
        );
        assert!(PostgresAddress::parse(&address).is_err());
        assert!(
            PostgresAddress::parse("postgres://h/db?sslmode=require&sslrootcert=/nowhere").is_err()
        );
    }
}
