//! Blob routes: upload (streamed to where blobs live, its digest computed on the way),
//! withdrawal and download (streamed back).

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::app_state::{AppState, group_id};
use super::authed::{Authed, Uploading};
use super::blob_stream;
use crate::error::{RelayError, Result};

fn blob_id(hex_text: &str) -> Result<[u8; 32]> {
    hex::decode(hex_text)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            RelayError::BadRequest("a blob id is the SHA-256 of the blob, in hex".into())
        })
}

/// Streams the body to where blobs live while it arrives; the blob is kept (and readable) only
/// if the bytes are the blob the id names (see `Store::put_blob`).
pub(super) async fn put_blob(
    State(s): State<AppState>,
    Path((group, blob)): Path<(String, String)>,
    up: Uploading,
) -> Result<StatusCode> {
    let gid = group_id(&group)?;
    let id = blob_id(&blob)?;
    // The signature covers the body's digest and a blob's id is that digest: a request whose
    // id names other bytes than it signed is refused before they are read. The store then
    // holds the bytes to the id, which holds them to the signature.
    if up.body_sha256 != id {
        return Err(RelayError::DigestMismatch);
    }
    let now = s.now();
    let quota = s.config.blob_quota_bytes;
    let (account, declared) = (up.account, up.declared);
    let (mut source, pump) = blob_stream::incoming(up.body, declared, s.config.body_timeout);
    let mut pump = tokio::spawn(pump);
    let stored = s
        .blocking(move |st| st.put_blob(&account, &gid, &id, declared, &mut source, quota, now))
        .await;
    match stored {
        Ok(()) => {
            pump.abort();
            Ok(StatusCode::CREATED)
        }
        // The body's own failure (too large, too slow, broken off) says more than the store's;
        // a store that refused early (not a member, over quota) stops the pump rather than
        // wait for the sender's next chunk.
        Err(e) => match tokio::time::timeout(Duration::from_millis(200), &mut pump).await {
            Ok(Ok(Err(body))) => Err(body),
            Ok(_) => Err(e),
            Err(_) => {
                pump.abort();
                Err(e)
            }
        },
    }
}

/// The uploader withdraws a blob from a group (see `Store::withdraw_blob`).
pub(super) async fn withdraw_blob(
    State(s): State<AppState>,
    Path((group, blob)): Path<(String, String)>,
    a: Authed,
) -> Result<StatusCode> {
    let gid = group_id(&group)?;
    let id = blob_id(&blob)?;
    s.blocking(move |st| st.withdraw_blob(&a.account, &gid, &id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn get_blob(
    State(s): State<AppState>,
    Path(blob): Path<String>,
    a: Authed,
) -> Result<Response> {
    let id = blob_id(&blob)?;
    let (reader, len) = s.blocking(move |st| st.open_blob(&a.account, &id)).await?;
    let stream = blob_stream::chunks_of(reader);
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_LENGTH, len.to_string()),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response())
}
