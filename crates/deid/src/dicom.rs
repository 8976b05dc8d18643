//! DICOM import: one frame of a Part 10 file rendered to pixels, and nothing else kept. The
//! frame is rendered at its native resolution with the modality rescale, the file's first VOI
//! window (or a min–max stretch when it has none) and MONOCHROME1 inverted; from then on it is an
//! image like any other. No attribute value leaves this module except the modality and the body
//! part, and those only when they are short coded strings.

use consilium_model::{BurnedInRisk, DicomReport};
use dicom_core::Tag;
use dicom_dictionary_std::{tags, uids};
use dicom_object::file::ReadPreamble;
use dicom_object::{DefaultDicomObject, OpenFileOptions};
use dicom_pixeldata::{
    ConvertOptions, DecodedPixelData, PhotometricInterpretation, PixelDecoder, VoiLutOption,
    WindowLevel,
};
use image::DynamicImage;

use crate::error::{DeidError, Result};
use crate::limits::ImportLimits;

/// Whether `bytes` start like a DICOM Part 10 file: a 128-byte preamble, then `DICM`.
pub(crate) fn is_part10(bytes: &[u8]) -> bool {
    bytes.get(128..132) == Some(b"DICM")
}

/// Whether `bytes` look like a bare DICOM data set (no preamble, no file meta, as some viewers
/// export): near the start, an element of group 0002 or 0008, little endian, with an explicit VR;
/// or, in implicit VR, two elements of group 0002 or 0008 in ascending order, the first with a
/// short length.
pub(crate) fn looks_like_bare_dataset(bytes: &[u8]) -> bool {
    const VRS: &[&[u8; 2]] = &[
        b"AE", b"AS", b"CS", b"DA", b"DS", b"DT", b"IS", b"LO", b"LT", b"OB", b"OW", b"PN", b"SH",
        b"SQ", b"ST", b"TM", b"UI", b"UL", b"US", b"UN",
    ];
    let head = &bytes[..bytes.len().min(64)];
    let explicit = head.windows(6).any(|w| {
        matches!(w[0..2], [0x02, 0x00] | [0x08, 0x00])
            && w[3] == 0
            && VRS.iter().any(|vr| w[4..6] == vr[..])
    });
    explicit || implicit_vr_start(bytes)
}

fn implicit_vr_start(bytes: &[u8]) -> bool {
    let u16_at = |at: usize| {
        bytes
            .get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let (Some(group), Some(element), Some(length)) = (u16_at(0), u16_at(2), u32_at(4)) else {
        return false;
    };
    if !(group == 0x0002 || group == 0x0008) || length > 1024 {
        return false;
    }
    let next = 8 + length as usize;
    u16_at(next) == Some(group) && u16_at(next + 2).is_some_and(|e| e > element)
}

/// Attributes that identify the patient, the staff or the place, by the words the report uses.
const IDENTIFYING: &[(Tag, &str)] = &[
    (tags::PATIENT_NAME, "patient name"),
    (tags::PATIENT_ID, "patient ID"),
    // Other Patient IDs: retired, still written by older systems.
    (Tag(0x0010, 0x1000), "patient ID"),
    (tags::ISSUER_OF_PATIENT_ID, "patient ID"),
    (tags::PATIENT_BIRTH_DATE, "birth date"),
    (tags::PATIENT_ADDRESS, "address"),
    (tags::PATIENT_TELEPHONE_NUMBERS, "telephone"),
    (tags::INSTITUTION_NAME, "institution"),
    (tags::INSTITUTION_ADDRESS, "institution"),
    (tags::INSTITUTIONAL_DEPARTMENT_NAME, "institution"),
    (tags::STATION_NAME, "station name"),
    (tags::REFERRING_PHYSICIAN_NAME, "staff names"),
    (tags::PERFORMING_PHYSICIAN_NAME, "staff names"),
    (tags::OPERATORS_NAME, "staff names"),
    (tags::PHYSICIANS_OF_RECORD, "staff names"),
    (tags::NAME_OF_PHYSICIANS_READING_STUDY, "staff names"),
    (tags::STUDY_DATE, "dates"),
    (tags::SERIES_DATE, "dates"),
    (tags::ACQUISITION_DATE, "dates"),
    (tags::CONTENT_DATE, "dates"),
    (tags::ACCESSION_NUMBER, "accession number"),
    (tags::STUDY_ID, "study ID"),
    (tags::DEVICE_SERIAL_NUMBER, "device serial number"),
    (tags::STUDY_INSTANCE_UID, "UIDs"),
    (tags::SERIES_INSTANCE_UID, "UIDs"),
    (tags::SOP_INSTANCE_UID, "UIDs"),
];

/// A DICOM frame rendered to pixels, and what the import kept and dropped.
pub(crate) struct DicomFrame {
    pub pixels: DynamicImage,
    pub report: DicomReport,
}

/// Reads a Part 10 file and renders `frame` (0-based; the first when `None`), in this process:
/// what the decoder process (`confined`) runs.
pub(crate) fn render_here(
    bytes: &[u8],
    frame: Option<u32>,
    limits: &ImportLimits,
) -> Result<DicomFrame> {
    if !is_part10(bytes) {
        return Err(DeidError::NotDicomPart10);
    }
    // The parser and the decoders are third-party code reading hostile bytes: a panic is caught
    // and reported as a damaged file.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        render_part10(bytes, frame, limits)
    }))
    .unwrap_or_else(|_| {
        Err(DeidError::Dicom(
            "the DICOM reader could not read this file".into(),
        ))
    })
}

fn render_part10(bytes: &[u8], frame: Option<u32>, limits: &ImportLimits) -> Result<DicomFrame> {
    crate::dicom_lengths::check(bytes)?;
    let obj = OpenFileOptions::new()
        .read_preamble(ReadPreamble::Always)
        .from_reader(bytes)
        .map_err(|e| DeidError::Dicom(describe_read_error(&chain(&e))))?;
    if obj.get(tags::PIXEL_DATA).is_none() {
        return Err(DeidError::Dicom(
            "the file holds no image (it has no pixel data; it may be a report, a plan or a waveform)"
                .into(),
        ));
    }
    let rows = uint(&obj, tags::ROWS).unwrap_or(0);
    let cols = uint(&obj, tags::COLUMNS).unwrap_or(0);
    let frames = uint(&obj, tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1);
    if rows == 0 || cols == 0 {
        return Err(DeidError::Dicom(
            "the file gives no image size (rows and columns)".into(),
        ));
    }
    if rows > limits.max_side
        || cols > limits.max_side
        || u64::from(rows) * u64::from(cols) > limits.max_pixels
    {
        return Err(DeidError::TooLarge {
            detail: format!(": {cols}×{rows} pixels"),
            max_side: limits.max_side,
            max_pixels: limits.max_pixels,
        });
    }
    let bits = match uint(&obj, tags::BITS_ALLOCATED) {
        Some(bits @ (8 | 16)) => bits,
        Some(bits) => {
            return Err(DeidError::Dicom(format!(
                "the DICOM image stores {bits}-bit samples, which Consilium cannot show (8 and 16 bits are)"
            )));
        }
        None => {
            return Err(DeidError::Dicom(
                "the file does not say how many bits each sample has".into(),
            ));
        }
    };
    let bytes_per_frame = u64::from(rows)
        * u64::from(cols)
        * u64::from(uint(&obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1).clamp(1, 4))
        * u64::from(bits / 8);
    let chosen = frame.unwrap_or(0);
    if chosen >= frames {
        return Err(DeidError::Dicom(format!(
            "the file has {frames} frame{}; frame {} does not exist",
            if frames == 1 { "" } else { "s" },
            chosen + 1
        )));
    }
    // The decoder holds one frame, or every frame when it cannot decode one alone.
    if bytes_per_frame.saturating_mul(u64::from(frames)) > limits.max_alloc.saturating_mul(2) {
        return Err(DeidError::TooLarge {
            detail: format!(": {frames} frames of {cols}×{rows}"),
            max_side: limits.max_side,
            max_pixels: limits.max_pixels,
        });
    }

    let decoded = if frames > 1 {
        obj.decode_pixel_data_frame(chosen)
    } else {
        obj.decode_pixel_data()
    }
    .map_err(|e| {
        DeidError::Dicom(format!(
            "the DICOM image is stored in a form Consilium cannot decode ({})",
            chain(&e)
        ))
    })?;
    let index = if frames > 1 { 0 } else { chosen };
    let cannot_show = |e: &dyn std::error::Error| {
        DeidError::Dicom(format!("the DICOM image cannot be shown ({})", chain(e)))
    };
    let pixels = if *decoded.photometric_interpretation() == PhotometricInterpretation::PaletteColor
    {
        let indices: Vec<u16> = decoded.to_vec_frame(index).map_err(|e| cannot_show(&e))?;
        crate::dicom_palette::apply(&obj, &indices, cols, rows)?
    } else {
        let options = ConvertOptions::new()
            .force_8bit()
            .with_voi_lut(voi_for(&decoded, index)?);
        decoded
            .to_dynamic_image_with_options(index, &options)
            .map_err(|e| cannot_show(&e))?
    };
    if pixels.width() != cols || pixels.height() != rows {
        return Err(DeidError::Dicom(format!(
            "the decoded frame is {}×{}, the file says {cols}×{rows}",
            pixels.width(),
            pixels.height()
        )));
    }
    Ok(DicomFrame {
        pixels,
        report: report(&obj, frames, chosen),
    })
}

/// The file's own VOI (its first window, or its VOI LUT) when it has one. Without one, a window
/// spanning the frame's rescaled values: the reader's own min–max stretch measures signed samples
/// as unsigned, which turns a signed image with negative values into a flat one.
fn voi_for(decoded: &DecodedPixelData<'_>, frame: u32) -> Result<VoiLutOption> {
    let has_window = decoded
        .window()
        .ok()
        .flatten()
        .is_some_and(|w| !w.is_empty());
    let has_lut = decoded
        .voi_lut_sequence()
        .ok()
        .flatten()
        .is_some_and(|l| !l.is_empty());
    if decoded.samples_per_pixel() != 1 || has_window || has_lut {
        return Ok(VoiLutOption::First);
    }
    let values: Vec<f32> = decoded.to_vec_frame(frame).map_err(|e| {
        DeidError::Dicom(format!("the DICOM image cannot be shown ({})", chain(&e)))
    })?;
    let (min, max) = values
        .iter()
        .filter(|v| v.is_finite())
        .fold((f32::MAX, f32::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    if min > max {
        return Ok(VoiLutOption::First);
    }
    let (min, max) = (f64::from(min), f64::from(max));
    Ok(VoiLutOption::Custom(WindowLevel {
        center: (min + max + 1.0) / 2.0,
        width: (max - min + 1.0).max(2.0),
    }))
}

fn report(obj: &DefaultDicomObject, frames: u32, frame: u32) -> DicomReport {
    let modality = coded(obj, tags::MODALITY);
    let body_part = coded(obj, tags::BODY_PART_EXAMINED);
    let mut identifying: Vec<String> = Vec::new();
    for (tag, words) in IDENTIFYING {
        if present(obj, *tag) && !identifying.iter().any(|w| w == words) {
            identifying.push((*words).to_string());
        }
    }
    let sop_class = obj
        .meta()
        .media_storage_sop_class_uid()
        .trim_end_matches('\0');
    // Secondary Capture Image Storage and its multi-frame variants (…1.1.7.1 to …1.1.7.4).
    let secondary_capture = sop_class == uids::SECONDARY_CAPTURE_IMAGE_STORAGE
        || sop_class
            .strip_prefix(uids::SECONDARY_CAPTURE_IMAGE_STORAGE)
            .is_some_and(|rest| rest.starts_with('.'));
    let declared = obj
        .get(tags::BURNED_IN_ANNOTATION)
        .and_then(|e| e.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("YES"));
    let burned_in_risk = if declared {
        Some(BurnedInRisk::DeclaredBurnedIn)
    } else {
        match modality.as_deref() {
            Some("US") => Some(BurnedInRisk::Ultrasound),
            Some("SC") => Some(BurnedInRisk::SecondaryCapture),
            Some("OT") => Some(BurnedInRisk::Other),
            _ if secondary_capture => Some(BurnedInRisk::SecondaryCapture),
            _ => None,
        }
    };
    DicomReport {
        modality,
        body_part,
        frames,
        frame,
        attributes_dropped: (obj.meta().to_element_iter().count() + obj.iter().count()) as u32,
        identifying_dropped: identifying,
        burned_in_risk,
    }
}

fn uint(obj: &DefaultDicomObject, tag: Tag) -> Option<u32> {
    obj.get(tag)?.to_int::<u32>().ok()
}

/// An attribute that is there with a value.
fn present(obj: &DefaultDicomObject, tag: Tag) -> bool {
    obj.get(tag)
        .is_some_and(|e| e.to_str().map(|s| !s.trim().is_empty()).unwrap_or(true))
}

/// A code string (CS: at most 16 upper-case letters, digits, spaces and underscores), or none:
/// a free text typed where a code belongs is not copied, since it may be a name.
fn coded(obj: &DefaultDicomObject, tag: Tag) -> Option<String> {
    let value = obj.get(tag)?.to_str().ok()?;
    let value = value.trim_matches(|c: char| c == ' ' || c == '\0');
    let is_code = !value.is_empty()
        && value.len() <= 16
        && value
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ' || b == b'_');
    is_code.then(|| value.to_string())
}

/// The reader's error in a physician's words, with the reader's own words after.
fn describe_read_error(e: &str) -> String {
    let lower = e.to_ascii_lowercase();
    if lower.contains("eof") || lower.contains("end of file") || lower.contains("fill whole buffer")
    {
        format!("the DICOM file is truncated ({e})")
    } else {
        format!("the DICOM file is damaged ({e})")
    }
}

/// An error and its causes, one after the other ("JPEG decoding failure: unsupported precision").
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        next = cause.source();
    }
    out
}
