//! Errors as the relay answers them: an HTTP status and a JSON `{code, message}` with a stable
//! code. Refusals reveal nothing about other accounts or groups.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use consilium_model::wire::RelayErrorBody;

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("authentication required")]
    Unauthenticated,
    #[error("bad signature")]
    BadSignature,
    #[error("request timestamp outside the accepted window")]
    Expired,
    #[error("request replayed")]
    Replayed,
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("no key package available")]
    NoKeyPackage,
    #[error("stale epoch: the group is at epoch {current}")]
    StaleEpoch { current: u64 },
    #[error("the message is for epoch {got}, but the group is at epoch {current}")]
    FutureEpoch { got: u64, current: u64 },
    #[error("the relay does not hold this group's public state yet; a member uploads it first")]
    StateMissing,
    #[error("invalid MLS message: {0}")]
    InvalidMessage(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("too large: {0}")]
    TooLarge(String),
    #[error("the blob's content does not match its id")]
    DigestMismatch,
    #[error("the invitation is unknown, used or expired")]
    InvitationInvalid,
    #[error("this relay admits only enrolled accounts: ask its operator for an enrolment code")]
    NotAdmitted,
    #[error("the enrolment code is unknown, used or expired")]
    EnrolmentInvalid,
    #[error("this device was replaced by another of its physician's and is refused")]
    Revoked,
    #[error("already exists")]
    Conflict,
    #[error("storage quota exceeded")]
    QuotaExceeded,
    #[error("the recipient's mailbox is full")]
    MailboxFull,
    #[error("the relay is busy; try again in a moment")]
    Busy,
    #[error("too many requests; slow down")]
    RateLimited,
    #[error("the request was not received in time")]
    Timeout,
    #[error("internal error")]
    Internal(String),
}

impl RelayError {
    /// What went wrong, for the operator: an internal error's own words, which clients are
    /// never shown.
    pub fn detail(&self) -> String {
        match self {
            RelayError::Internal(detail) => detail.clone(),
            other => other.to_string(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            RelayError::Unauthenticated => "unauthenticated",
            RelayError::BadSignature => "bad_signature",
            RelayError::Expired => "expired",
            RelayError::Replayed => "replayed",
            RelayError::Forbidden => "forbidden",
            RelayError::NotFound => "not_found",
            RelayError::NoKeyPackage => "no_key_package",
            RelayError::StaleEpoch { .. } => "stale_epoch",
            RelayError::FutureEpoch { .. } => "future_epoch",
            RelayError::StateMissing => "group_state_missing",
            RelayError::InvalidMessage(_) => "invalid_message",
            RelayError::BadRequest(_) => "bad_request",
            RelayError::TooLarge(_) => "too_large",
            RelayError::DigestMismatch => "digest_mismatch",
            RelayError::InvitationInvalid => "invitation_invalid",
            RelayError::NotAdmitted => "not_admitted",
            RelayError::EnrolmentInvalid => "enrolment_invalid",
            RelayError::Revoked => "device_revoked",
            RelayError::Conflict => "conflict",
            RelayError::QuotaExceeded => "quota_exceeded",
            RelayError::MailboxFull => "mailbox_full",
            RelayError::Busy => "busy",
            RelayError::RateLimited => "rate_limited",
            RelayError::Timeout => "timeout",
            RelayError::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            RelayError::Unauthenticated
            | RelayError::BadSignature
            | RelayError::Expired
            | RelayError::Replayed
            | RelayError::NotAdmitted
            | RelayError::Revoked => StatusCode::UNAUTHORIZED,
            RelayError::Forbidden => StatusCode::FORBIDDEN,
            RelayError::NotFound | RelayError::NoKeyPackage => StatusCode::NOT_FOUND,
            RelayError::StaleEpoch { .. }
            | RelayError::FutureEpoch { .. }
            | RelayError::StateMissing
            | RelayError::Conflict => StatusCode::CONFLICT,
            RelayError::InvalidMessage(_)
            | RelayError::BadRequest(_)
            | RelayError::DigestMismatch => StatusCode::BAD_REQUEST,
            RelayError::InvitationInvalid | RelayError::EnrolmentInvalid => StatusCode::GONE,
            RelayError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            RelayError::QuotaExceeded | RelayError::MailboxFull => StatusCode::INSUFFICIENT_STORAGE,
            RelayError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            RelayError::Timeout => StatusCode::REQUEST_TIMEOUT,
            RelayError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            RelayError::Busy => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl From<rusqlite::Error> for RelayError {
    fn from(e: rusqlite::Error) -> Self {
        RelayError::Internal(e.to_string())
    }
}

impl IntoResponse for RelayError {
    fn into_response(self) -> Response {
        if let RelayError::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        let body = RelayErrorBody {
            code: self.code().to_string(),
            // Internal details stay in the log.
            message: match &self {
                RelayError::Internal(_) => "internal error".to_string(),
                other => other.to_string(),
            },
            current_epoch: match &self {
                RelayError::StaleEpoch { current } | RelayError::FutureEpoch { current, .. } => {
                    Some(*current)
                }
                _ => None,
            },
        };
        let mut response = (self.status(), axum::Json(body)).into_response();
        if matches!(self, RelayError::Busy) {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        if matches!(self, RelayError::TooLarge(_) | RelayError::Timeout) {
            // The rest of the body is not read: say the connection closes, so a client does not
            // send its next request on it.
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
        }
        response
    }
}

pub type Result<T, E = RelayError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use axum::response::IntoResponse;

    use super::RelayError;

    #[test]
    fn busy_is_a_503_that_says_when_to_come_back() {
        let response = RelayError::Busy.into_response();
        assert_eq!(response.status().as_u16(), 503);
        assert_eq!(
            response
                .headers()
                .get(axum::http::header::RETRY_AFTER)
                .unwrap(),
            "1"
        );
    }
}
