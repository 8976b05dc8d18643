//! The model's one error type.

/// Errors of the model: invalid values and codec failures.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{0}")]
    Invalid(String),
    #[error("could not encode: {0}")]
    Encode(String),
    #[error("could not decode: {0}")]
    Decode(String),
}

pub type Result<T, E = ModelError> = std::result::Result<T, E>;
