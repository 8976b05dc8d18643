//! De-identification before anything is stored or shared: images are cleaned as they enter the
//! vault, and the text of a case is scanned for identifiers before it leaves.
//!
//! Invariants: this crate does no IO besides the bytes it is given, but for running its own
//! DICOM decoder process (`confined`: a reader of hostile files, bounded by OS limits); the
//! original bytes are never
//! passed on — every rendition is encoded from decoded pixels, with orientation applied and
//! redactions burned in first. The text scan only reports; it never changes the text.

pub mod confined;
mod dicom;
mod dicom_lengths;
mod dicom_palette;
pub mod error;
mod faces;
mod heif;
mod image_clean;
mod limits;
mod metadata;
pub mod redaction;
pub mod text;

pub use error::{DeidError, Result};
pub use faces::{DETECT_SIDE, propose_faces};
pub use image_clean::{
    CleanImage, CleanOptions, Encoded, PREVIEW_SIDE, THUMBNAIL_SIDE, check_rendition, clean_image,
};
pub use limits::ImportLimits;
pub use redaction::Redaction;
pub use text::{DenyList, scan};

/// Width and height read from an image's header (no pixels decoded), if it is one.
pub fn image_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .ok()?
        .into_dimensions()
        .ok()
}
