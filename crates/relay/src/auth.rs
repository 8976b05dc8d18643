//! Authentication: an account is an Ed25519 public key; every request but `GET /v1/health` is
//! signed with it. The signature covers the method, the path and query, a timestamp, a random
//! nonce and the SHA-256 of the body, so a request cannot be altered, replayed (nonces are
//! remembered until their timestamp leaves the window) or moved to another route.

use axum::http::{HeaderMap, Method};
use ring::signature::{ED25519, UnparsedPublicKey};

use crate::error::{RelayError, Result};

pub use consilium_model::wire::{HEADER_ACCOUNT, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP};

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

/// The bytes a client signs for one request.
pub fn signed_message(
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
        method,
        path_and_query,
        timestamp_ms,
        nonce_hex,
        &sha,
    )
}

/// The bytes a client signs to answer a WebSocket challenge.
pub fn challenge_message(challenge: &[u8], account: &Account) -> Vec<u8> {
    consilium_model::wire::challenge_signing_bytes(challenge, &account.0)
}

/// A request whose signature verified; the nonce still has to be recorded (see `Store`).
#[derive(Debug)]
pub struct Verified {
    pub account: Account,
    pub nonce: [u8; 16],
    pub timestamp_ms: i64,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or(RelayError::Unauthenticated)
}

/// Checks the signature headers of a request against its body and the clock.
pub fn verify(
    method: &Method,
    path_and_query: &str,
    headers: &HeaderMap,
    body: &[u8],
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
    let signature =
        hex::decode(header(headers, HEADER_SIGNATURE)?).map_err(|_| RelayError::BadSignature)?;
    let message = signed_message(
        method.as_str(),
        path_and_query,
        timestamp_ms,
        nonce_hex,
        body,
    );
    UnparsedPublicKey::new(&ED25519, account.0)
        .verify(&message, &signature)
        .map_err(|_| RelayError::BadSignature)?;
    // Checked after the signature, so an unsigned probe learns nothing about the clock.
    if (timestamp_ms - now_ms).abs() > WINDOW_MS {
        return Err(RelayError::Expired);
    }
    Ok(Verified {
        account,
        nonce,
        timestamp_ms,
    })
}

/// Verifies a WebSocket challenge answer.
pub fn verify_challenge(account: &Account, challenge: &[u8], signature: &[u8]) -> Result<()> {
    UnparsedPublicKey::new(&ED25519, account.0)
        .verify(&challenge_message(challenge, account), signature)
        .map_err(|_| RelayError::BadSignature)
}
