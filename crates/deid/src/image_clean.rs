//! Image import that never lets metadata through: bounded decode, orientation applied to the
//! pixels, redactions burned in, and every rendition encoded from the cleaned pixels alone.

use std::collections::HashSet;
use std::io::Cursor;

use consilium_model::{DeidReport, Proposal, ProposalKind};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageEncoder, ImageFormat, ImageReader, Limits};

use crate::error::{DeidError, Result};
use crate::limits::ImportLimits;
use crate::metadata::{RawMetadata, describe, tiff_part};
use crate::redaction::Redaction;

/// Longest side of the preview rendition.
pub const PREVIEW_SIDE: u32 = 1600;
/// Longest side of the thumbnail rendition.
pub const THUMBNAIL_SIDE: u32 = 320;
const JPEG_QUALITY: u8 = 90;

/// One encoded rendition of a cleaned image.
#[derive(Clone, PartialEq, Eq)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub mime: &'static str,
    pub width: u32,
    pub height: u32,
}

impl std::fmt::Debug for Encoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Encoded({} {}x{}, {} bytes)",
            self.mime,
            self.width,
            self.height,
            self.bytes.len()
        )
    }
}

/// The result of cleaning one image: three renditions made from the same cleaned pixels, and
/// the report of what was removed.
#[derive(Clone, Debug)]
pub struct CleanImage {
    pub full: Encoded,
    pub preview: Encoded,
    pub thumbnail: Encoded,
    pub report: DeidReport,
}

/// Output codec, chosen from the pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Codec {
    Jpeg,
    Png,
}

/// What to do besides cleaning.
#[derive(Clone, Copy, Debug, Default)]
pub struct CleanOptions<'a> {
    /// Pixel rectangles on the upright image to burn in.
    pub redactions: &'a [Redaction],
    /// The frame of a multi-frame DICOM file to keep (0-based; the first when `None`).
    pub frame: Option<u32>,
    /// Look for frontal faces in the cleaned pixels and report them as proposals.
    pub propose_faces: bool,
}

/// Decodes `original` (an image, or a DICOM Part 10 file's frame), applies its orientation,
/// burns in the redactions (pixel rectangles on the upright image), and encodes full, preview and
/// thumbnail renditions from the pixels alone.
pub fn clean_image(
    original: &[u8],
    options: &CleanOptions<'_>,
    limits: &ImportLimits,
) -> Result<CleanImage> {
    if original.len() as u64 > limits.max_input_bytes {
        return Err(DeidError::InputTooLarge {
            bytes: original.len() as u64,
            limit: limits.max_input_bytes,
        });
    }
    let (mut pixels, mut report) = if crate::dicom::is_part10(original) {
        let frame = crate::confined::render(original, options.frame, limits)?;
        let report = DeidReport {
            source_format: "DICOM".into(),
            dicom: Some(frame.report),
            ..Default::default()
        };
        (frame.pixels, report)
    } else if options.frame.is_some_and(|f| f > 0) {
        return Err(DeidError::BadFrame);
    } else if crate::heif::is_heif(original) {
        decode_heif(original, limits)?
    } else {
        decode(original, limits)?
    };
    for r in options.redactions {
        r.burn_into(&mut pixels)?;
    }
    report.redactions = options.redactions.len() as u32;

    let codec = choose_codec(&pixels);
    report.output_format = match codec {
        Codec::Jpeg => "JPEG",
        Codec::Png => "PNG",
    }
    .into();

    // The full-size encode runs beside the downscaling and the face detector.
    let (full, smaller) = std::thread::scope(|s| {
        let small = s.spawn(|| -> Result<(Encoded, Encoded, Vec<Redaction>)> {
            let faces = if options.propose_faces && photographic(&report) {
                crate::faces::propose_faces(&pixels)
            } else {
                Vec::new()
            };
            let preview_px = downscale(&pixels, PREVIEW_SIDE);
            let thumb_px = downscale(&preview_px, THUMBNAIL_SIDE);
            Ok((
                encode(&preview_px, codec)?,
                encode(&thumb_px, codec)?,
                faces,
            ))
        });
        let full = encode(&pixels, codec);
        (full, small.join())
    });
    let (preview, thumbnail, faces) =
        smaller.map_err(|_| DeidError::Encode("the resizer stopped".into()))??;
    report.proposals = faces
        .into_iter()
        .map(|r| Proposal {
            kind: ProposalKind::Face,
            x: r.x,
            y: r.y,
            w: r.w,
            h: r.h,
        })
        .collect();
    Ok(CleanImage {
        full: full?,
        preview,
        thumbnail,
        report,
    })
}

/// Decodes a rendition a colleague sent (JPEG or PNG, as Consilium encodes them) under
/// `limits` and at most `max_side` pixels a side, and gives its size: a received image is
/// decoded whole before it is stored or shown, so a decompression bomb or a file that is not
/// the image it claims never reaches the window.
pub fn check_rendition(bytes: &[u8], max_side: u32, limits: &ImportLimits) -> Result<(u32, u32)> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| DeidError::Corrupt(e.to_string()))?;
    match reader.format() {
        Some(ImageFormat::Jpeg | ImageFormat::Png) => {}
        Some(other) => return Err(DeidError::UnsupportedFormat(format!("{other:?}"))),
        None => return Err(DeidError::UnknownFormat),
    }
    let side = max_side.min(limits.max_side);
    let mut decoder_limits = Limits::default();
    decoder_limits.max_image_width = Some(side);
    decoder_limits.max_image_height = Some(side);
    decoder_limits.max_alloc = Some(limits.max_alloc);
    reader.limits(decoder_limits.clone());
    let (w, h) = reader
        .into_dimensions()
        .map_err(|e| map_image_error(e, limits))?;
    if w > side || h > side || u64::from(w) * u64::from(h) > limits.max_pixels {
        return Err(DeidError::TooLarge {
            detail: format!(": {w}×{h} pixels"),
            max_side: side,
            max_pixels: limits.max_pixels,
        });
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| DeidError::Corrupt(e.to_string()))?;
    reader.limits(decoder_limits);
    let decoded = reader.decode().map_err(|e| map_image_error(e, limits))?;
    Ok((decoded.width(), decoded.height()))
}

fn decode(original: &[u8], limits: &ImportLimits) -> Result<(DynamicImage, DeidReport)> {
    let reader = ImageReader::new(Cursor::new(original))
        .with_guessed_format()
        .map_err(|e| DeidError::Corrupt(e.to_string()))?;
    let Some(format) = reader.format() else {
        return Err(if crate::dicom::looks_like_bare_dataset(original) {
            DeidError::NotDicomPart10
        } else {
            DeidError::UnknownFormat
        });
    };
    if !matches!(
        format,
        ImageFormat::Jpeg
            | ImageFormat::Png
            | ImageFormat::WebP
            | ImageFormat::Tiff
            | ImageFormat::Gif
            | ImageFormat::Bmp
    ) {
        return Err(DeidError::UnsupportedFormat(format!("{format:?}")));
    }
    let mut reader = reader;
    let mut decoder_limits = Limits::default();
    decoder_limits.max_image_width = Some(limits.max_side);
    decoder_limits.max_image_height = Some(limits.max_side);
    decoder_limits.max_alloc = Some(limits.max_alloc);
    reader.limits(decoder_limits);
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| map_image_error(e, limits))?;

    let (w, h) = decoder.dimensions();
    if w == 0 || h == 0 {
        return Err(DeidError::Corrupt("the image has no pixels".into()));
    }
    if w > limits.max_side || h > limits.max_side || u64::from(w) * u64::from(h) > limits.max_pixels
    {
        return Err(DeidError::TooLarge {
            detail: format!(": {w}×{h} pixels"),
            max_side: limits.max_side,
            max_pixels: limits.max_pixels,
        });
    }

    let decoded_orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let raw = RawMetadata {
        exif: decoder.exif_metadata().ok().flatten(),
        xmp: decoder
            .xmp_metadata()
            .ok()
            .flatten()
            .is_some_and(|x| !x.is_empty()),
        iptc: decoder
            .iptc_metadata()
            .ok()
            .flatten()
            .is_some_and(|x| !x.is_empty()),
        icc: decoder
            .icc_profile()
            .ok()
            .flatten()
            .is_some_and(|x| !x.is_empty()),
    };
    let mut report = DeidReport {
        source_format: format
            .extensions_str()
            .first()
            .map(|e| e.to_uppercase())
            .unwrap_or_default(),
        ..Default::default()
    };
    let exif_orientation = describe(original, &raw, &mut report);
    // Not every decoder finds the EXIF orientation (the WebP one misses some); the EXIF parser's
    // reading is the fallback.
    let orientation = match decoded_orientation {
        Orientation::NoTransforms => exif_orientation
            .and_then(Orientation::from_exif)
            .or_else(|| {
                raw.exif
                    .as_deref()
                    .map(tiff_part)
                    .and_then(Orientation::from_exif_chunk)
            })
            .unwrap_or(Orientation::NoTransforms),
        o => o,
    };
    let mut pixels = decode_pixels(decoder, limits)?;
    if format == ImageFormat::Jpeg {
        check_jpeg_complete(original)?;
    }
    pixels.apply_orientation(orientation);
    if orientation != Orientation::NoTransforms {
        report.orientation_applied = Some(orientation.to_exif());
    }
    if format == ImageFormat::Gif {
        report.frames_dropped = gif_has_more_frames(original);
    }
    Ok((pixels, report))
}

/// Decodes a HEIF photo in the decoder process. libheif turned it upright already (the
/// container's rotation and mirror): the EXIF orientation, which repeats them, is reported as
/// applied and never applied again.
fn decode_heif(original: &[u8], limits: &ImportLimits) -> Result<(DynamicImage, DeidReport)> {
    let frame = crate::confined::render_heif(original, limits)?;
    let raw = RawMetadata {
        exif: frame.exif,
        xmp: frame.xmp,
        iptc: false,
        icc: frame.icc,
    };
    let mut report = DeidReport {
        source_format: "HEIC".into(),
        ..Default::default()
    };
    if let Some(o) = describe(original, &raw, &mut report).filter(|o| *o != 1) {
        report.orientation_applied = Some(o);
    }
    Ok((DynamicImage::ImageRgb8(frame.pixels), report))
}

/// Decodes the pixels. A panic inside a third-party decoder on a hostile file (seen with the
/// `tiff` crate on real files) is caught and reported as a damaged file, never propagated.
fn decode_pixels(decoder: impl ImageDecoder, limits: &ImportLimits) -> Result<DynamicImage> {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        DynamicImage::from_decoder(decoder)
    }));
    match result {
        Ok(decoded) => decoded.map_err(|e| map_image_error(e, limits)),
        Err(_) => Err(DeidError::Corrupt(
            "the image decoder could not read this file".into(),
        )),
    }
}

/// The JPEG decoder fills a cut-off scan with grey rather than failing; a file whose entropy-coded
/// data does not end with an EOI marker is refused as truncated.
fn check_jpeg_complete(bytes: &[u8]) -> Result<()> {
    let tail = &bytes[bytes.len().saturating_sub(4096)..];
    if tail.windows(2).any(|w| w == [0xFF, 0xD9]) {
        Ok(())
    } else {
        Err(DeidError::Corrupt(
            "the JPEG file is truncated (no end-of-image marker)".into(),
        ))
    }
}

/// Whether a GIF holds a second image descriptor (an animation); only the first frame is kept.
fn gif_has_more_frames(bytes: &[u8]) -> bool {
    use image::AnimationDecoder;
    image::codecs::gif::GifDecoder::new(Cursor::new(bytes))
        .map(|d| d.into_frames().take(2).count() > 1)
        .unwrap_or(false)
}

fn map_image_error(e: image::ImageError, limits: &ImportLimits) -> DeidError {
    use image::ImageError as E;
    match e {
        E::Limits(l) => DeidError::TooLarge {
            max_side: limits.max_side,
            max_pixels: limits.max_pixels,
            detail: String::new(),
        }
        .with_detail(l.to_string()),
        E::Unsupported(u) => DeidError::UnsupportedFormat(u.to_string()),
        E::Decoding(d) => DeidError::Corrupt(d.to_string()),
        E::IoError(io) => DeidError::Corrupt(io.to_string()),
        other => DeidError::Corrupt(other.to_string()),
    }
}

/// Whether faces are looked for: in every photo and screenshot, and in DICOM images made by a
/// camera (external, endoscopic, ophthalmic, microscopic, visible light) or of unknown kind. Not
/// in radiology (CT, MR, X-ray, nuclear medicine, ultrasound): a slice shows no face a detector
/// trained on photographs should judge, and it finds false ones there (an MR abdomen in pydicom's
/// test files).
fn photographic(report: &DeidReport) -> bool {
    match report.dicom.as_ref() {
        None => true,
        Some(d) => matches!(
            d.modality.as_deref(),
            None | Some("XC" | "ES" | "OP" | "GM" | "SM" | "VL" | "OT" | "SC" | "DOC")
        ),
    }
}

/// PNG when the image uses transparency or has few colours (drawings, screenshots, scans of
/// text); JPEG for photographs. Common pixel layouts are inspected in place, without a copy.
fn choose_codec(img: &DynamicImage) -> Codec {
    fn few_colours<P: Eq + std::hash::Hash>(pixels: impl Iterator<Item = P>) -> bool {
        let mut colours = HashSet::with_capacity(257);
        for p in pixels {
            colours.insert(p);
            if colours.len() > 256 {
                return false;
            }
        }
        true
    }
    let few = match img {
        DynamicImage::ImageRgb8(b) => few_colours(b.pixels().map(|p| p.0)),
        DynamicImage::ImageLuma8(b) => few_colours(b.pixels().map(|p| p.0)),
        DynamicImage::ImageRgba8(b) => {
            if b.pixels().any(|p| p.0[3] != u8::MAX) {
                return Codec::Png;
            }
            few_colours(b.pixels().map(|p| p.0))
        }
        other => {
            if other.color().has_alpha() && other.to_rgba8().pixels().any(|p| p.0[3] != u8::MAX) {
                return Codec::Png;
            }
            few_colours(other.to_rgb8().pixels().map(|p| p.0))
        }
    };
    if few { Codec::Png } else { Codec::Jpeg }
}

fn downscale(img: &DynamicImage, side: u32) -> DynamicImage {
    if img.width().max(img.height()) <= side {
        img.clone()
    } else {
        // Area averaging: good quality for large reductions, and fast.
        img.thumbnail(side, side)
    }
}

fn encode(img: &DynamicImage, codec: Codec) -> Result<Encoded> {
    let mut bytes = Vec::new();
    let (w, h) = (img.width(), img.height());
    let err = |e: image::ImageError| DeidError::Encode(e.to_string());
    match codec {
        Codec::Jpeg => {
            let enc = JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY);
            match img {
                DynamicImage::ImageLuma8(g) => {
                    enc.write_image(g.as_raw(), w, h, image::ExtendedColorType::L8)
                }
                DynamicImage::ImageRgb8(c) => {
                    enc.write_image(c.as_raw(), w, h, image::ExtendedColorType::Rgb8)
                }
                _ => {
                    let rgb = img.to_rgb8();
                    enc.write_image(rgb.as_raw(), w, h, image::ExtendedColorType::Rgb8)
                }
            }
            .map_err(err)?;
        }
        Codec::Png => {
            let enc = PngEncoder::new_with_quality(
                &mut bytes,
                CompressionType::Fast,
                PngFilter::Adaptive,
            );
            let rgba = to_png_pixels(img);
            match rgba {
                PngPixels::Luma(g) => {
                    enc.write_image(g.as_raw(), w, h, image::ExtendedColorType::L8)
                }
                PngPixels::Rgb(c) => {
                    enc.write_image(c.as_raw(), w, h, image::ExtendedColorType::Rgb8)
                }
                PngPixels::Rgba(c) => {
                    enc.write_image(c.as_raw(), w, h, image::ExtendedColorType::Rgba8)
                }
            }
            .map_err(err)?;
        }
    }
    let mime = match codec {
        Codec::Jpeg => "image/jpeg",
        Codec::Png => "image/png",
    };
    Ok(Encoded {
        bytes,
        mime,
        width: w,
        height: h,
    })
}

enum PngPixels {
    Luma(image::GrayImage),
    Rgb(image::RgbImage),
    Rgba(image::RgbaImage),
}

fn to_png_pixels(img: &DynamicImage) -> PngPixels {
    if img.color().has_alpha() {
        PngPixels::Rgba(img.to_rgba8())
    } else if matches!(
        img,
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageLuma16(_)
    ) {
        PngPixels::Luma(img.to_luma8())
    } else {
        PngPixels::Rgb(img.to_rgb8())
    }
}
