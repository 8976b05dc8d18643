//! What can go wrong talking to a relay: it refused (with its stable code), it could not be
//! reached, or it answered something that is not the protocol.

/// The relay's stable error codes (`docs/relay-protocol.md`); a code from a newer relay is kept
/// as `Other`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RelayCode {
    Unauthenticated,
    BadSignature,
    Expired,
    Replayed,
    Forbidden,
    NotFound,
    NoKeyPackage,
    StaleEpoch,
    FutureEpoch,
    InvalidMessage,
    /// The relay does not hold the group's public state yet (a group made before it checked
    /// commits): a member uploads it, then the commit goes again.
    GroupStateMissing,
    BadRequest,
    TooLarge,
    DigestMismatch,
    InvitationInvalid,
    /// The relay admits only enrolled or invited accounts, and this one is neither.
    NotAdmitted,
    EnrolmentInvalid,
    /// This device was replaced by another of its physician's (a restored laptop): the relay
    /// refuses it for good.
    DeviceRevoked,
    Conflict,
    QuotaExceeded,
    /// The recipient's mailbox is full (it drains as its owner syncs): try again later.
    MailboxFull,
    RateLimited,
    Timeout,
    TooManyConnections,
    Internal,
    Other(String),
}

impl RelayCode {
    pub fn parse(code: &str) -> RelayCode {
        match code {
            "unauthenticated" => RelayCode::Unauthenticated,
            "bad_signature" => RelayCode::BadSignature,
            "expired" => RelayCode::Expired,
            "replayed" => RelayCode::Replayed,
            "forbidden" => RelayCode::Forbidden,
            "not_found" => RelayCode::NotFound,
            "no_key_package" => RelayCode::NoKeyPackage,
            "stale_epoch" => RelayCode::StaleEpoch,
            "future_epoch" => RelayCode::FutureEpoch,
            "invalid_message" => RelayCode::InvalidMessage,
            "group_state_missing" => RelayCode::GroupStateMissing,
            "bad_request" => RelayCode::BadRequest,
            "too_large" => RelayCode::TooLarge,
            "digest_mismatch" => RelayCode::DigestMismatch,
            "invitation_invalid" => RelayCode::InvitationInvalid,
            "not_admitted" => RelayCode::NotAdmitted,
            "enrolment_invalid" => RelayCode::EnrolmentInvalid,
            "device_revoked" => RelayCode::DeviceRevoked,
            "conflict" => RelayCode::Conflict,
            "quota_exceeded" => RelayCode::QuotaExceeded,
            "mailbox_full" => RelayCode::MailboxFull,
            "rate_limited" => RelayCode::RateLimited,
            "timeout" => RelayCode::Timeout,
            "too_many_connections" => RelayCode::TooManyConnections,
            "internal" => RelayCode::Internal,
            other => RelayCode::Other(other.to_string()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RelayClientError {
    #[error("the relay refused: {message} ({code:?}, HTTP {status})")]
    Refused {
        status: u16,
        code: RelayCode,
        message: String,
        current_epoch: Option<u64>,
    },
    /// Nothing came back: the request may or may not have been applied (retry the same bytes).
    #[error("the relay did not answer in time")]
    Timeout,
    #[error("the relay cannot be reached: {0}")]
    Unreachable(String),
    #[error("the relay answered something unexpected: {0}")]
    BadAnswer(String),
    #[error("not a relay address: {0}")]
    BadAddress(String),
    #[error("the account key is not usable")]
    BadKey,
    /// A self-hosted relay presented another key than the one its invite code pinned: someone
    /// may be posing as it. Nothing was sent.
    #[error(
        "the relay {relay} presented another key than the one its invite code pinned: someone \
         may be posing as it, or its operator changed its key; nothing was sent. Ask the circle's \
         admin for a new invite code"
    )]
    KeyChanged { relay: String },
    /// The system's roots refuse the relay's certificate and no key was pinned for it (a
    /// self-hosted relay's self-signed certificate, or an expired one…). Nothing was sent.
    #[error(
        "the relay {relay} presented a certificate this computer does not accept ({why}); \
         nothing was sent. For a self-hosted relay with a self-signed certificate, give its \
         key: the 64 hex digits its operator gives (--relay-key, or \"The relay's certificate \
         is self-signed\" in the window)"
    )]
    NotVouched { relay: String, why: String },
}

impl RelayClientError {
    pub(crate) fn from_transport(e: reqwest::Error) -> RelayClientError {
        if e.is_timeout() {
            RelayClientError::Timeout
        } else {
            // No URL, no body: the message names the failure only.
            RelayClientError::Unreachable(e.without_url().to_string())
        }
    }

    /// With `stale_epoch`: the group's current epoch on the relay.
    pub fn stale_epoch(&self) -> Option<u64> {
        match self {
            RelayClientError::Refused {
                code: RelayCode::StaleEpoch,
                current_epoch,
                ..
            } => *current_epoch,
            _ => None,
        }
    }

    pub fn code(&self) -> Option<&RelayCode> {
        match self {
            RelayClientError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}

pub type Result<T, E = RelayClientError> = std::result::Result<T, E>;
