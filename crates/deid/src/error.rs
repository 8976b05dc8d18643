//! Errors of de-identification, each in words a physician understands.

#[derive(Debug, thiserror::Error)]
pub enum DeidError {
    #[error(
        "this file is not an image Consilium can read (JPEG, PNG, HEIC, WebP, TIFF, GIF, BMP or a DICOM Part 10 file)"
    )]
    UnknownFormat,
    #[error(
        "this is not a DICOM Part 10 file (no 128-byte preamble and DICM marker); export it from the viewer or PACS as a DICOM file"
    )]
    NotDicomPart10,
    #[error("{0}")]
    Dicom(String),
    #[error("only a DICOM file has frames to choose from")]
    BadFrame,
    #[error("this image format is not supported: {0}")]
    UnsupportedFormat(String),
    #[error("the image file is damaged or truncated: {0}")]
    Corrupt(String),
    #[error(
        "the image is too large{detail} (at most {max_side} pixels a side and {max_pixels} pixels in all); it may be a decompression bomb"
    )]
    TooLarge {
        max_side: u32,
        max_pixels: u64,
        detail: String,
    },
    #[error("the file is too large ({bytes} bytes; at most {limit})")]
    InputTooLarge { bytes: u64, limit: u64 },
    #[error("the redaction {x},{y},{w},{h} lies outside the {width}×{height} image")]
    RedactionOutside {
        x: u32,
        y: u32,
        w: u32,
        h: u32,
        width: u32,
        height: u32,
    },
    #[error("'{0}' is not a redaction rectangle: use X,Y,W,H in pixels, e.g. 10,20,300,200")]
    BadRedaction(String),
    /// The confined image reader (`consilium-decoder`) is missing, cannot start, or is from
    /// another version: the installation's fault, never the image's.
    #[error("Consilium's image reader cannot run ({0}); reinstall Consilium")]
    ReaderUnavailable(String),
    #[error("the cleaned image could not be encoded: {0}")]
    Encode(String),
}

impl DeidError {
    pub(crate) fn with_detail(self, d: String) -> Self {
        match self {
            DeidError::TooLarge {
                max_side,
                max_pixels,
                ..
            } => DeidError::TooLarge {
                max_side,
                max_pixels,
                detail: format!(": {d}"),
            },
            other => other,
        }
    }
}

pub type Result<T, E = DeidError> = std::result::Result<T, E>;
