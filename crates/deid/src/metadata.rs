//! Inventory of the metadata an original file carries, for the de-identification report.
//! Nothing found here is kept: the cleaned image is encoded from pixels alone.

use std::io::Cursor;

use consilium_model::DeidReport;
use exif::{Context, In, Tag};

/// Metadata blocks the decoder exposes, gathered before the pixels are decoded.
#[derive(Debug, Default)]
pub(crate) struct RawMetadata {
    pub exif: Option<Vec<u8>>,
    pub xmp: bool,
    pub iptc: bool,
    pub icc: bool,
}

/// Fills the metadata part of `report` from the original bytes and what the decoder saw, and
/// returns the EXIF orientation (1–8) when the EXIF carries one.
pub(crate) fn describe(original: &[u8], raw: &RawMetadata, report: &mut DeidReport) -> Option<u8> {
    report.xmp = raw.xmp;
    report.iptc = raw.iptc;
    report.icc_profile = raw.icc;
    let reader = exif::Reader::new();
    let parsed = reader
        .read_from_container(&mut Cursor::new(original))
        .ok()
        .or_else(|| {
            raw.exif
                .as_deref()
                .and_then(|e| reader.read_raw(tiff_part(e).to_vec()).ok())
        });
    let Some(exif) = parsed else {
        // The decoder saw an EXIF block that the parser could not read: still report it.
        if raw.exif.as_ref().is_some_and(|e| !e.is_empty()) {
            report.exif_fields = report.exif_fields.max(1);
        }
        return None;
    };
    let orientation = exif
        .get_field(Tag::Orientation, In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .and_then(|v| u8::try_from(v).ok())
        .filter(|v| (1..=8).contains(v));
    let mut count = 0u32;
    for field in exif.fields() {
        count += 1;
        if field.ifd_num == In::THUMBNAIL {
            if matches!(
                field.tag,
                Tag::JPEGInterchangeFormat | Tag::JPEGInterchangeFormatLength | Tag::StripOffsets
            ) {
                report.embedded_thumbnail = true;
            }
            continue;
        }
        if field.tag.context() == Context::Gps {
            report.gps = true;
        }
        match field.tag {
            Tag::Make | Tag::Model | Tag::LensMake | Tag::LensModel => report.camera_model = true,
            Tag::BodySerialNumber | Tag::LensSerialNumber | Tag::ImageUniqueID => {
                report.camera_serial = true
            }
            Tag::DateTime | Tag::DateTimeOriginal | Tag::DateTimeDigitized => {
                report.timestamps = true
            }
            Tag::MakerNote => report.maker_note = true,
            _ => {}
        }
        // Vendor serial numbers that kamadak-exif has no name for (e.g. Canon/Nikon 0xa431 aliases,
        // or the DNG/TIFF-EP "CameraSerialNumber" 0xc62f).
        if field.tag.number() == 0xc62f {
            report.camera_serial = true;
        }
    }
    report.exif_fields = count;
    orientation
}

/// EXIF as some writers store it (WebP from Pillow, for one) keeps the JPEG `Exif\0\0` prefix
/// before the TIFF header; parsers expect the TIFF header first.
pub(crate) fn tiff_part(exif: &[u8]) -> &[u8] {
    exif.strip_prefix(b"Exif\0\0").unwrap_or(exif)
}
