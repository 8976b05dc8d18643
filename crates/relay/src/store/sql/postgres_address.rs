//! A `postgres://` address as the relay connects to it: the client's configuration and the TLS
//! the address asks for. Managed PostgreSQL servers are reached over networks the operator does
//! not own, so TLS, when used, always verifies the server's certificate and name (libpq's
//! `verify-full`), against the address's `sslrootcert` (a PEM file of the authorities to trust,
//! as managed services hand out) or else the system's trust store; `verify-ca` thus checks the
//! name too, stricter than libpq. `sslmode` reads as libpq's: `disable` is plain TCP (a server
//! on the same machine); `prefer` is TLS when the server offers it; `require`, `verify-ca` and
//! `verify-full` refuse a server without TLS. An address that says nothing requires TLS unless
//! every host is this machine (then `prefer`). The libpq options tokio-postgres does not know
//! are taken out of the address before it parses it.

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
        match mode {
            Some(mode) => {
                config.ssl_mode(mode);
            }
            // Off this machine, an address silent on TLS requires it: tokio-postgres' own
            // default (`prefer`) would talk in clear to whoever answers that it has no TLS.
            None if !on_this_machine(&config) => {
                config.ssl_mode(SslMode::Require);
            }
            None => {}
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
/// said. Only those pairs are taken out; the rest of the address is left byte for byte as
/// written (tokio-postgres decodes it). An address in `key=value` form goes through as written.
fn take_tls_options(address: &str) -> Result<(String, Option<SslMode>, Option<String>)> {
    if !(address.starts_with("postgres://") || address.starts_with("postgresql://")) {
        return Ok((address.to_owned(), None, None));
    }
    let Some((base, query)) = address.split_once('?') else {
        return Ok((address.to_owned(), None, None));
    };
    let (mut mode, mut root, mut kept) = (None, None, Vec::new());
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = || {
            percent_encoding::percent_decode_str(value)
                .decode_utf8()
                .map(|v| v.into_owned())
                .map_err(invalid)
        };
        match key {
            "sslmode" => {
                mode = Some(match value()?.as_str() {
                    "disable" => SslMode::Disable,
                    "allow" | "prefer" => SslMode::Prefer,
                    "require" | "verify-ca" | "verify-full" => SslMode::Require,
                    other => {
                        return Err(invalid(format!("sslmode={other} is not one libpq knows")));
                    }
                });
            }
            "sslrootcert" => root = Some(value()?),
            _ => kept.push(pair),
        }
    }
    let rest = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((rest, mode, root))
}

/// Whether every host of the address is this machine (a Unix socket, `localhost`, a loopback
/// address): only there may an address that says nothing of TLS fall back to plain TCP.
fn on_this_machine(config: &tokio_postgres::Config) -> bool {
    use tokio_postgres::config::Host;
    config.get_hosts().iter().all(|h| match h {
        Host::Unix(_) => true,
        Host::Tcp(name) => {
            name == "localhost"
                || name
                    .trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
    })
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
        // The rest is left as written: a space in an option stays `%20`, several hosts stay.
        let (rest, _, _) = take_tls_options(
            "postgres://u:p%40ss@h1:5432,h2:5433/db?options=-c%20statement_timeout%3D5000&sslmode=require",
        )
        .unwrap();
        assert_eq!(
            rest,
            "postgres://u:p%40ss@h1:5432,h2:5433/db?options=-c%20statement_timeout%3D5000"
        );
        let config: tokio_postgres::Config = rest.parse().unwrap();
        assert_eq!(config.get_options(), Some("-c statement_timeout=5000"));
        assert_eq!(config.get_hosts().len(), 2);
    }

    #[test]
    fn an_address_silent_on_tls_requires_it_off_this_machine() {
        let mode = |a: &str| PostgresAddress::parse(a).unwrap().config.get_ssl_mode();
        assert_eq!(mode("postgres://u@db.example.org/relay"), SslMode::Require);
        assert_eq!(mode("postgres://u@10.0.0.7/relay"), SslMode::Require);
        assert_eq!(mode("postgres://u@127.0.0.1:5432/relay"), SslMode::Prefer);
        assert_eq!(mode("postgres://u@localhost/relay"), SslMode::Prefer);
        assert_eq!(mode("postgres://u@[::1]/relay"), SslMode::Prefer);
        assert_eq!(
            mode("postgres://u@%2Fvar%2Frun%2Fpostgresql/relay"),
            SslMode::Prefer
        );
        assert_eq!(
            mode("postgres://u@db.example.org/relay?sslmode=disable"),
            SslMode::Disable
        );
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
