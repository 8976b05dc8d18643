//! Authentication: an account is an Ed25519 public key; every request but `GET /v1/health` is
//! signed with it. The signature covers the method, the path and query, a timestamp, a random
//! nonce and the SHA-256 of the body, so a request cannot be altered, replayed (nonces are
//! remembered until their timestamp leaves the window) or moved to another route.

use axum::http::{HeaderMap, Method};
use ring::signature::{ED25519, UnparsedPublicKey};

use crate::error::{RelayError, Result};

pub use consilium_model::wire::{
    HEADER_ACCOUNT, HEADER_BODY_SHA256, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP,
};

/// How far a request's timestamp may be from the relay's clock.
pub const WINDOW_MS: i64 = 5 * 60 * 1000;

/// An account: an Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Account(pub [u8; 32]);

impl Account {
    pub fn parse(hex_text: &str) -> Result<Account> {
        let bytes =
            hex::decode(hex_text).map_err(|_| RelayError::BadRequest("bad account id".into()))?;
        bytes
            .try_into()
            .map(Account)
            .map_err(|_| RelayError::BadRequest("bad account id".into()))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Account({}…)", &self.to_hex()[..12])
    }
}

/// The bytes a client signs for one request to the relay at `origin`.
pub fn signed_message(
    origin: &str,
    method: &str,
    path_and_query: &str,
    timestamp_ms: i64,
    nonce_hex: &str,
    body: &[u8],
) -> Vec<u8> {
    let digest = ring::digest::digest(&ring::digest::SHA256, body);
    let mut sha = [0u8; 32];
    sha.copy_from_slice(digest.as_ref());
    consilium_model::wire::request_signing_bytes(
        origin,
        method,
        path_and_query,
        timestamp_ms,
        nonce_hex,
        &sha,
    )
}

/// The bytes a client signs to answer a WebSocket challenge of the relay at `origin`.
pub fn challenge_message(origin: &str, challenge: &[u8], account: &Account) -> Vec<u8> {
    consilium_model::wire::challenge_signing_bytes(origin, challenge, &account.0)
}

/// A request whose signature verified from its headers; its body still has to match the signed
/// digest (`check_body`) and its nonce to be recorded (see `Store`).
#[derive(Debug)]
pub struct Verified {
    pub account: Account,
    pub nonce: [u8; 16],
    pub timestamp_ms: i64,
    pub body_sha256: [u8; 32],
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or(RelayError::Unauthenticated)
}

/// Checks the signature headers of a request against the clock, before its body is read: the
/// signature covers the body's digest, which the request states (`x-consilium-body-sha256`) and
/// `check_body` holds the body to. The signature must be over one of the relay's own `origins`
/// (the addresses it is configured to be reached at).
pub fn verify(
    origins: &[String],
    method: &Method,
    path_and_query: &str,
    headers: &HeaderMap,
    now_ms: i64,
) -> Result<Verified> {
    let account = Account::parse(header(headers, HEADER_ACCOUNT)?)
        .map_err(|_| RelayError::Unauthenticated)?;
    let timestamp_ms: i64 = header(headers, HEADER_TIMESTAMP)?
        .parse()
        .map_err(|_| RelayError::Unauthenticated)?;
    let nonce_hex = header(headers, HEADER_NONCE)?;
    let nonce: [u8; 16] = hex::decode(nonce_hex)
        .ok()
        .and_then(|n| n.try_into().ok())
        .ok_or(RelayError::Unauthenticated)?;
    let body_sha256: [u8; 32] = hex::decode(header(headers, HEADER_BODY_SHA256)?)
        .ok()
        .and_then(|d| d.try_into().ok())
        .ok_or(RelayError::Unauthenticated)?;
    let signature =
        hex::decode(header(headers, HEADER_SIGNATURE)?).map_err(|_| RelayError::BadSignature)?;
    let key = UnparsedPublicKey::new(&ED25519, account.0);
    let signed_here = origins.iter().any(|origin| {
        let message = consilium_model::wire::request_signing_bytes(
            origin,
            method.as_str(),
            path_and_query,
            timestamp_ms,
            nonce_hex,
            &body_sha256,
        );
        key.verify(&message, &signature).is_ok()
    });
    if !signed_here {
        return Err(RelayError::BadSignature);
    }
    // Checked after the signature, so an unsigned probe learns nothing about the clock. The
    // distance is taken without overflow: a hostile timestamp at either end of `i64` is simply
    // far away.
    if timestamp_ms.abs_diff(now_ms) > WINDOW_MS.unsigned_abs() {
        return Err(RelayError::Expired);
    }
    Ok(Verified {
        account,
        nonce,
        timestamp_ms,
        body_sha256,
    })
}

/// Holds a request's body to the digest its signature covers.
pub fn check_body(verified: &Verified, body: &[u8]) -> Result<()> {
    let digest = ring::digest::digest(&ring::digest::SHA256, body);
    if digest.as_ref() == verified.body_sha256 {
        Ok(())
    } else {
        Err(RelayError::BadSignature)
    }
}

/// Verifies a WebSocket challenge answer, signed for one of the relay's `origins`.
pub fn verify_challenge(
    origins: &[String],
    account: &Account,
    challenge: &[u8],
    signature: &[u8],
) -> Result<()> {
    let key = UnparsedPublicKey::new(&ED25519, account.0);
    origins
        .iter()
        .any(|origin| {
            key.verify(&challenge_message(origin, challenge, account), signature)
                .is_ok()
        })
        .then_some(())
        .ok_or(RelayError::BadSignature)
}
