//! Frontal faces in photos, proposed as redaction rectangles for the author to accept, adjust or
//! remove. SeetaFace's frontal detector (the `rustface` crate, with the model it ships embedded
//! at build time: nothing is downloaded) runs on a grey copy at most `DETECT_SIDE` pixels on its
//! longer side, so it stays fast on a 12 MP photo; each face is scaled back to the upright
//! image's pixels and padded to cover hair, ears and chin.

use std::sync::LazyLock;

use image::DynamicImage;

use crate::redaction::Redaction;

static MODEL_BYTES: &[u8] = include_bytes!("../models/seeta_fd_frontal_v1.0.bin");
static MODEL: LazyLock<Option<rustface::Model>> =
    LazyLock::new(|| rustface::read_model(MODEL_BYTES).ok());

/// The longer side of the copy the detector sees.
pub const DETECT_SIDE: u32 = 800;
/// The smallest face looked for, in pixels of that copy.
const MIN_FACE: u32 = 24;
/// How far a proposal reaches past the detector's box, as a share of its size, each side.
const PAD: f64 = 0.2;

/// The faces found in `img` (upright), as rectangles on its pixels; none for an image with no
/// frontal face (an X-ray, a skin close-up).
pub fn propose_faces(img: &DynamicImage) -> Vec<Redaction> {
    let Some(model) = MODEL.as_ref() else {
        return Vec::new();
    };
    let (w, h) = (img.width(), img.height());
    if w == 0 || h == 0 {
        return Vec::new();
    }
    let scale = (f64::from(DETECT_SIDE) / f64::from(w.max(h))).min(1.0);
    let gray = if scale < 1.0 {
        let sw = ((f64::from(w) * scale).round() as u32).max(1);
        let sh = ((f64::from(h) * scale).round() as u32).max(1);
        // Area averaging: a tenth of a triangle filter's cost on a 12 MP photo, and as good
        // for the detector.
        img.thumbnail_exact(sw, sh).to_luma8()
    } else {
        img.to_luma8()
    };
    if gray.width() < MIN_FACE || gray.height() < MIN_FACE {
        return Vec::new();
    }
    let mut detector = rustface::create_detector_with_model(model.clone());
    detector.set_min_face_size(MIN_FACE);
    detector.set_score_thresh(2.0);
    detector.set_pyramid_scale_factor(0.8);
    detector.set_slide_window_step(4, 4);
    let data = rustface::ImageData::new(gray.as_raw(), gray.width(), gray.height());
    let mut faces: Vec<Redaction> = detector
        .detect(&data)
        .iter()
        .filter_map(|face| {
            let b = face.bbox();
            let (bw, bh) = (f64::from(b.width()), f64::from(b.height()));
            let x0 = (f64::from(b.x()) - bw * PAD) / scale;
            let y0 = (f64::from(b.y()) - bh * PAD) / scale;
            let x1 = (f64::from(b.x()) + bw * (1.0 + PAD)) / scale;
            let y1 = (f64::from(b.y()) + bh * (1.0 + PAD)) / scale;
            let clamp = |v: f64, max: u32| v.round().clamp(0.0, f64::from(max)) as u32;
            let (x0, y0, x1, y1) = (clamp(x0, w), clamp(y0, h), clamp(x1, w), clamp(y1, h));
            (x1 > x0 && y1 > y0).then_some(Redaction {
                x: x0,
                y: y0,
                w: x1 - x0,
                h: y1 - y0,
            })
        })
        .collect();
    faces.sort_by_key(|r| (r.y, r.x));
    faces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_model_loads_and_a_flat_image_has_no_face() {
        assert!(MODEL.is_some(), "the embedded SeetaFace model parses");
        let flat = DynamicImage::new_luma8(640, 480);
        assert!(propose_faces(&flat).is_empty());
        assert!(propose_faces(&DynamicImage::new_luma8(3, 3)).is_empty());
    }
}
