//! Who sent a request: its signature, timestamp, admission and rate checked from the headers
//! before a byte of its body is read. `Authed` then reads the (small) body whole and holds it
//! to the signed digest; `Uploading` leaves a blob's body to be streamed (`blobs`), where its
//! digest is computed on the way.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::header;
use axum::http::request::Parts;

use super::app_state::AppState;
use crate::auth::{self, Account, Verified, WINDOW_MS};
use crate::error::{RelayError, Result};

/// Marks the routes an account not (yet) admitted may use: redeeming an invitation and an
/// enrolment code.
#[derive(Debug, Clone, Copy)]
pub(super) struct OpenToStrangers;

/// A request whose signature, timestamp and nonce verified, with its body.
#[derive(Debug)]
pub(crate) struct Authed {
    pub account: Account,
    pub body: Bytes,
}

/// A blob upload whose signature, timestamp and nonce verified, its body not yet read.
#[derive(Debug)]
pub(crate) struct Uploading {
    pub account: Account,
    /// The digest the signature covers: the upload is of the blob with this id, or refused.
    pub body_sha256: [u8; 32],
    /// What the request says it carries (at most `max_blob_bytes`), or that cap when it says
    /// nothing.
    pub declared: u64,
    pub body: Body,
    /// Its share of the upload budget and its place among the uploads in flight, held while
    /// the request is served.
    _budget: (
        tokio::sync::OwnedSemaphorePermit,
        tokio::sync::OwnedSemaphorePermit,
    ),
}

/// The size the request declares (`Content-Length`), refused past `limit` before its body is
/// read.
fn declared_size(parts: &Parts, limit: u64) -> Result<Option<u64>> {
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    Ok(declared)
}

pub(super) fn too_large(limit: u64) -> RelayError {
    RelayError::TooLarge(format!("this request is at most {limit} bytes"))
}

/// The signature, admission and rate of a request, from its headers: a stranger's request is
/// refused before a byte of its body is read or buffered.
fn verified(parts: &Parts, state: &AppState) -> Result<Verified> {
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let now = state.now();
    let v = auth::verify(
        &state.config.origins,
        &parts.method,
        path,
        &parts.headers,
        now,
    )?;
    if state.admitted.is_revoked(&v.account) {
        return Err(RelayError::Revoked);
    }
    if !state.admitted.allows(&v.account) && parts.extensions.get::<OpenToStrangers>().is_none() {
        return Err(RelayError::NotAdmitted);
    }
    state.limiter.check(&v.account, now)?;
    Ok(v)
}

/// Records the request's nonce (on every instance: it is in the database), so it is not taken
/// twice.
async fn spend_nonce(state: &AppState, v: &Verified) -> Result<()> {
    state
        .store
        .remember_nonce(&v.account, &v.nonce, v.timestamp_ms + WINDOW_MS)
        .await
}

impl FromRequest<AppState> for Authed {
    type Rejection = RelayError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self> {
        let (parts, body) = req.into_parts();
        let limit = state.config.max_request_bytes;
        declared_size(&parts, limit as u64)?;
        let v = verified(&parts, state)?;
        let bytes =
            tokio::time::timeout(state.config.body_timeout, axum::body::to_bytes(body, limit))
                .await
                .map_err(|_| RelayError::Timeout)?
                .map_err(|_| too_large(limit as u64))?;
        auth::check_body(&v, &bytes)?;
        spend_nonce(state, &v).await?;
        Ok(Authed {
            account: v.account,
            body: bytes,
        })
    }
}

impl FromRequest<AppState> for Uploading {
    type Rejection = RelayError;

    /// The nonce is spent before the body is read: a replayed upload is refused without
    /// streaming a byte.
    async fn from_request(req: Request, state: &AppState) -> Result<Self> {
        let (parts, body) = req.into_parts();
        let limit = state.config.max_blob_bytes;
        let declared = declared_size(&parts, limit)?.unwrap_or(limit);
        let v = verified(&parts, state)?;
        // The upload must fit in what all uploads may hold at once.
        let kib = u32::try_from(declared.div_ceil(1024).max(1)).map_err(|_| too_large(limit))?;
        let budget = state
            .uploading
            .clone()
            .try_acquire_many_owned(kib)
            .map_err(|_| RelayError::Busy)?;
        let place = state
            .uploads
            .clone()
            .try_acquire_owned()
            .map_err(|_| RelayError::Busy)?;
        spend_nonce(state, &v).await?;
        Ok(Uploading {
            account: v.account,
            body_sha256: v.body_sha256,
            declared,
            body,
            _budget: (budget, place),
        })
    }
}
