//! The engine's error: a closed set of codes the faces (CLI, desktop) switch on, and a message a
//! person understands. Faces never match on message text.

use consilium_deid::DeidError;
use consilium_relay_client::RelayClientError;
use consilium_store::StoreError;
use serde::Serialize;

use crate::findings::{PendingImage, TextFinding, identifiers_message, review_message};

/// What went wrong, as a closed set the UI can rely on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum ErrorCode {
    WrongPassphrase,
    VaultMissing,
    VaultExists,
    VaultBusy,
    VaultDamaged,
    AttachmentDamaged,
    NotFound,
    InvalidInput,
    ImageUnreadable,
    ImageTooLarge,
    ImageUnsupported,
    DiskFull,
    Io,
    /// The relay could not be reached or did not answer: what was queued goes later.
    Offline,
    /// The relay refused the request (not a member any more, invitation used or expired…).
    RelayRefused,
    /// A circle operation that cannot be done (not a member, a malformed invite or key package).
    CircleRefused,
    /// The profile is locked: unlock it first.
    Locked,
    /// The text may identify the patient: edit it, or acknowledge each finding as not an
    /// identifier, before it is shared.
    IdentifiersFound,
    /// An image must be looked at before it is shared: proposed face redactions to accept or
    /// dismiss, or a DICOM image that often carries burned-in text.
    ImageReviewNeeded,
    /// A relay or a circle member sent something that fails its checks (a Welcome to another
    /// circle, an image that no longer matches its digest…): it was refused and nothing changed.
    UntrustedInput,
    /// A backup that is incomplete or altered: nothing was restored from it.
    BackupDamaged,
    /// The recovery code does not open this backup.
    WrongRecoveryCode,
    /// A part of the installation is missing or from another version (the confined image
    /// reader): reinstalling mends it, and nothing of the user's is wrong.
    InstallDamaged,
    /// A fault inside Consilium: a bug, not something the user did.
    Internal,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Image(#[from] DeidError),
    #[error("{}: {source}", file.display())]
    ImageFile {
        file: std::path::PathBuf,
        #[source]
        source: DeidError,
    },
    /// What a person typed or chose is not acceptable; the message says what to change.
    #[error("{0}")]
    Invalid(String),
    /// Data in the vault that no longer decodes (a queued item, a kept report): the vault is
    /// damaged, not the user's input.
    #[error("the vault holds damaged data: {0}")]
    Damaged(String),
    /// Something a relay or a circle member sent that fails its checks.
    #[error("{0}")]
    Untrusted(String),
    /// A fault inside Consilium (an encoder that failed, a state that cannot happen).
    #[error("an internal error: {0}")]
    Internal(String),
    #[error(transparent)]
    BlobCrypto(#[from] crate::blob_crypto::BlobCryptoError),
    #[error("the profile is locked; unlock it with your passphrase")]
    Locked,
    #[error("{}", identifiers_message(.0))]
    Identifiers(Vec<TextFinding>),
    #[error("{}", review_message(.0))]
    ImagesToReview(Vec<PendingImage>),
    #[error(transparent)]
    Group(#[from] consilium_groups::GroupError),
    #[error("the relay: {0}")]
    Relay(#[from] consilium_relay_client::RelayClientError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl ClientError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> ClientError {
        let context = context.into();
        move |source| ClientError::Io { context, source }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            ClientError::Store(e) => match e {
                StoreError::WrongPassphrase => ErrorCode::WrongPassphrase,
                StoreError::VaultMissing(_) => ErrorCode::VaultMissing,
                StoreError::VaultExists(_) => ErrorCode::VaultExists,
                StoreError::VaultBusy => ErrorCode::VaultBusy,
                StoreError::KeyFileCorrupt(_)
                | StoreError::DatabaseCorrupt(_)
                | StoreError::SchemaTooNew { .. } => ErrorCode::VaultDamaged,
                StoreError::BlobCorrupt(_) | StoreError::BlobMissing(_) => {
                    ErrorCode::AttachmentDamaged
                }
                StoreError::NotFound { .. } => ErrorCode::NotFound,
                StoreError::Invalid(_) | StoreError::Refused(_) => ErrorCode::InvalidInput,
                StoreError::Io { source, .. } => io_code(source),
                StoreError::Sqlite(rusqlite_error) => {
                    if rusqlite_error.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) {
                        ErrorCode::DiskFull
                    } else {
                        ErrorCode::Internal
                    }
                }
                StoreError::BackupDamaged(_) => ErrorCode::BackupDamaged,
                StoreError::WrongRecoveryCode => ErrorCode::WrongRecoveryCode,
                StoreError::Entropy | StoreError::Crypto => ErrorCode::Internal,
            },
            ClientError::Image(e) | ClientError::ImageFile { source: e, .. } => image_code(e),
            ClientError::Invalid(_) => ErrorCode::InvalidInput,
            ClientError::Damaged(_) => ErrorCode::VaultDamaged,
            ClientError::Untrusted(_) => ErrorCode::UntrustedInput,
            ClientError::Internal(_) => ErrorCode::Internal,
            ClientError::BlobCrypto(e) if e.is_tampering() => ErrorCode::UntrustedInput,
            ClientError::BlobCrypto(_) => ErrorCode::Internal,
            ClientError::Locked => ErrorCode::Locked,
            ClientError::Identifiers(_) => ErrorCode::IdentifiersFound,
            ClientError::ImagesToReview(_) => ErrorCode::ImageReviewNeeded,
            ClientError::Group(e) => match e {
                consilium_groups::GroupError::Rejected(_)
                | consilium_groups::GroupError::BadIdentity => ErrorCode::CircleRefused,
                consilium_groups::GroupError::Undecryptable { .. } => ErrorCode::UntrustedInput,
                consilium_groups::GroupError::Storage(_) | consilium_groups::GroupError::Mls(_) => {
                    ErrorCode::Internal
                }
            },
            ClientError::Relay(e) => match e {
                RelayClientError::Timeout | RelayClientError::Unreachable(_) => ErrorCode::Offline,
                RelayClientError::Refused { status: 500.., .. } => ErrorCode::Offline,
                RelayClientError::Refused { .. } => ErrorCode::RelayRefused,
                RelayClientError::BadAddress(_) => ErrorCode::InvalidInput,
                RelayClientError::BadAnswer(_) | RelayClientError::BadKey => ErrorCode::Internal,
                RelayClientError::KeyChanged { .. } | RelayClientError::NotVouched { .. } => {
                    ErrorCode::UntrustedInput
                }
            },
            ClientError::Io { source, .. } => io_code(source),
        }
    }

    /// The `{code, message}` pair a face shows.
    pub fn to_public(&self) -> PublicError {
        let message = match self.code() {
            ErrorCode::DiskFull => "the disk is full; free some space and try again".to_string(),
            _ => self.to_string(),
        };
        PublicError {
            code: self.code(),
            message,
        }
    }
}

fn image_code(e: &DeidError) -> ErrorCode {
    match e {
        DeidError::UnknownFormat | DeidError::UnsupportedFormat(_) | DeidError::NotDicomPart10 => {
            ErrorCode::ImageUnsupported
        }
        DeidError::Corrupt(_) | DeidError::Dicom(_) => ErrorCode::ImageUnreadable,
        DeidError::BadFrame => ErrorCode::InvalidInput,
        DeidError::TooLarge { .. } | DeidError::InputTooLarge { .. } => ErrorCode::ImageTooLarge,
        DeidError::RedactionOutside { .. } | DeidError::BadRedaction(_) => ErrorCode::InvalidInput,
        DeidError::ReaderUnavailable(_) => ErrorCode::InstallDamaged,
        DeidError::Encode(_) => ErrorCode::Internal,
    }
}

fn io_code(e: &std::io::Error) -> ErrorCode {
    match e.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => ErrorCode::DiskFull,
        std::io::ErrorKind::NotFound => ErrorCode::NotFound,
        _ => ErrorCode::Io,
    }
}

/// The one serializable error the faces pass on: `{"code": "...", "message": "..."}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PublicError {
    pub code: ErrorCode,
    pub message: String,
}

impl std::fmt::Display for PublicError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PublicError {}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blob_crypto::BlobCryptoError;

    #[test]
    fn each_kind_of_fault_has_its_own_code() {
        let code = |e: ClientError| e.code();
        assert_eq!(
            code(ClientError::Invalid("x".into())),
            ErrorCode::InvalidInput
        );
        assert_eq!(
            code(ClientError::Damaged("x".into())),
            ErrorCode::VaultDamaged
        );
        assert_eq!(
            code(ClientError::Untrusted("x".into())),
            ErrorCode::UntrustedInput
        );
        assert_eq!(code(ClientError::Internal("x".into())), ErrorCode::Internal);
        // Bytes that came wrong from a relay are its doing; a failed encryption is ours.
        assert_eq!(
            code(BlobCryptoError::PlainDigest.into()),
            ErrorCode::UntrustedInput
        );
        assert_eq!(code(BlobCryptoError::Encrypt.into()), ErrorCode::Internal);
    }
}
