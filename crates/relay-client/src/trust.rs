//! Which TLS certificate a relay may present. A relay with a certificate from a public
//! authority is checked against the system's roots (`/etc/ssl/certs`, through
//! `rustls-native-certs`). A self-hosted relay with a self-signed certificate is checked against
//! the pin its invite code carries: the SHA-256 of its public key (SubjectPublicKeyInfo), so a
//! renewed certificate on the same key still passes and any other key is refused in words, with
//! no fall-back to the roots. Handshake signatures are checked against the presented key either
//! way.

use std::sync::{Arc, Mutex, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, RootCertStore, SignatureScheme};

/// The SHA-256 of a certificate's SubjectPublicKeyInfo, what an invite pins; `None` when it
/// does not parse as X.509.
pub fn spki_sha256(certificate_der: &[u8]) -> Option<[u8; 32]> {
    let (_, cert) = x509_parser::parse_x509_certificate(certificate_der).ok()?;
    let digest = ring::digest::digest(&ring::digest::SHA256, cert.tbs_certificate.subject_pki.raw);
    digest.as_ref().try_into().ok()
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The system's roots, read once; Mozilla's (built in) where the system has none.
fn system_roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let mut roots = RootCertStore::empty();
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            }
            Arc::new(roots)
        })
        .clone()
}

/// Why the last handshake refused the relay's certificate, when it did: recorded by the
/// verifier so the caller can say so, rather than "unreachable".
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The relay presented another key than the pinned one.
    KeyChanged,
    /// No pin, and the system's roots refuse the certificate (self-signed, expired, for
    /// another name…): why, in rustls' words.
    NotVouched(String),
}

/// The verifier's last refusal, shared with the client.
#[derive(Debug, Clone, Default)]
pub(crate) struct Verdict(Arc<Mutex<Option<Refusal>>>);

impl Verdict {
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Refusal>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn clear(&self) {
        *self.slot() = None;
    }

    fn refuse(&self, why: Refusal) {
        *self.slot() = Some(why);
    }

    pub(crate) fn refusal(&self) -> Option<Refusal> {
        self.slot().clone()
    }
}

/// The TLS client configuration for one relay, and the verdict its verifier records.
pub(crate) fn client_config(
    pin: Option<[u8; 32]>,
) -> Result<(rustls::ClientConfig, Verdict), Error> {
    let provider = provider();
    let verdict = Verdict::default();
    let verifier = RelayCertificate {
        pin,
        roots: WebPkiServerVerifier::builder_with_provider(system_roots(), provider.clone())
            .build()
            .map_err(|e| Error::General(e.to_string()))?,
        algorithms: provider.signature_verification_algorithms,
        verdict: verdict.clone(),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok((config, verdict))
}

#[derive(Debug)]
struct RelayCertificate {
    pin: Option<[u8; 32]>,
    roots: Arc<WebPkiServerVerifier>,
    algorithms: WebPkiSupportedAlgorithms,
    verdict: Verdict,
}

impl ServerCertVerifier for RelayCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let Some(pin) = self.pin else {
            let vouched = self.roots.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            );
            if let Err(e @ Error::InvalidCertificate(_)) = &vouched {
                self.verdict.refuse(Refusal::NotVouched(e.to_string()));
            }
            return vouched;
        };
        match spki_sha256(end_entity) {
            Some(key) if key == pin => Ok(ServerCertVerified::assertion()),
            Some(_) => {
                self.verdict.refuse(Refusal::KeyChanged);
                Err(Error::InvalidCertificate(
                    CertificateError::ApplicationVerificationFailure,
                ))
            }
            None => Err(Error::InvalidCertificate(CertificateError::BadEncoding)),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
