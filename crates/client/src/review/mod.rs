//! The gates before anything leaves the laptop, and what they leave on record: the text scan
//! (`text`: every finding edited out or acknowledged), the image review (`images`: proposed faces
//! settled, DICOM images of burned-in-text kinds looked at) and the case's de-identification
//! report (`report`), a copy of which is kept with each share.

mod images;
mod report;
mod text;

pub use report::{CaseDeidReport, ImageEntry, Resolution, TextEntry};
pub use text::Acknowledge;
