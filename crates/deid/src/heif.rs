//! HEIC/HEIF, the iPhone's photo format. libheif (C) reads it, and only in the decoder process
//! (`confined`), under the same limits as a DICOM file: a hostile file costs that process at
//! most. libheif applies the container's rotation, mirror and crop as it decodes, so the EXIF
//! orientation, which says the same again, must not be applied a second time.

use image::RgbImage;
use libheif_rs::{ColorSpace, HeifContext, ItemId, LibHeif, RgbChroma};

use crate::error::{DeidError, Result};
use crate::limits::ImportLimits;

/// Brands of HEIF files holding HEVC images (ISO/IEC 23008-12), as the `ftyp` box names them.
const BRANDS: [&[u8; 4]; 8] = [
    b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1",
];

/// Whether `bytes` start like a HEIF file of HEVC images (AVIF, which shares the container, is
/// not taken: its decoder is not part of the import).
pub(crate) fn is_heif(bytes: &[u8]) -> bool {
    if bytes.len() < 16 || &bytes[4..8] != b"ftyp" {
        return false;
    }
    let size = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    let end = size.clamp(16, bytes.len().min(4096));
    let brands: Vec<&[u8]> = std::iter::once(&bytes[8..12])
        .chain(bytes[16..end].chunks_exact(4))
        .collect();
    let avif = brands.iter().any(|b| *b == b"avif" || *b == b"avis");
    !avif && brands.iter().any(|b| BRANDS.iter().any(|h| &h[..] == *b))
}

/// A HEIF file's primary image as pixels (rotation and mirror applied), and what metadata it
/// carried for the report.
pub(crate) struct HeifFrame {
    pub pixels: RgbImage,
    /// The EXIF block, its TIFF header first.
    pub exif: Option<Vec<u8>>,
    pub xmp: bool,
    pub icc: bool,
}

/// Decodes the primary image of `bytes` in this process (the decoder process: see `confined`).
pub(crate) fn decode_here(bytes: &[u8], limits: &ImportLimits) -> Result<HeifFrame> {
    let unreadable = |e: libheif_rs::HeifError| DeidError::Corrupt(format!("HEIF: {}", e.message));
    let context = HeifContext::read_from_bytes(bytes).map_err(unreadable)?;
    let handle = context.primary_image_handle().map_err(unreadable)?;
    // The size after the container's transforms, before any pixel is decoded.
    let (w, h) = (handle.width(), handle.height());
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
    let exif = first_block(&handle, b"Exif").and_then(|block| exif_tiff(&block));
    let xmp = handle.number_of_metadata_blocks(b"mime") > 0;
    let icc = handle.color_profile_raw().is_some();
    let image = LibHeif::new()
        .decode(&handle, ColorSpace::Rgb(RgbChroma::Rgb), None)
        .map_err(unreadable)?;
    let planes = image.planes();
    let plane = planes
        .interleaved
        .ok_or_else(|| DeidError::Corrupt("HEIF: no RGB plane".into()))?;
    let (pw, ph) = (plane.width, plane.height);
    // The limits were checked on the header's size: a stream that decodes to another is refused.
    if (pw, ph) != (w, h) {
        return Err(DeidError::Corrupt(format!(
            "HEIF: the header says {w}×{h} pixels, the image decodes to {pw}×{ph}"
        )));
    }
    let row = pw as usize * 3;
    let mut pixels = Vec::with_capacity(row * ph as usize);
    for y in 0..ph as usize {
        let start = y * plane.stride;
        let line = plane
            .data
            .get(start..start + row)
            .ok_or_else(|| DeidError::Corrupt("HEIF: the decoded rows are short".into()))?;
        pixels.extend_from_slice(line);
    }
    let pixels = RgbImage::from_raw(pw, ph, pixels)
        .ok_or_else(|| DeidError::Corrupt("HEIF: the decoded image has the wrong size".into()))?;
    Ok(HeifFrame {
        pixels,
        exif,
        xmp,
        icc,
    })
}

fn first_block(handle: &libheif_rs::ImageHandle, kind: &[u8; 4]) -> Option<Vec<u8>> {
    let mut ids: [ItemId; 1] = [0];
    if handle.metadata_block_ids(&mut ids, kind) == 0 {
        return None;
    }
    handle.metadata(ids[0]).ok()
}

/// A HEIF Exif item starts with the offset of the TIFF header (32 bits, big-endian) after it.
fn exif_tiff(block: &[u8]) -> Option<Vec<u8>> {
    let offset = u32::from_be_bytes(block.get(..4)?.try_into().ok()?) as usize;
    let tiff = block.get(4usize.checked_add(offset)?..)?;
    Some(crate::metadata::tiff_part(tiff).to_vec())
}
