//! De-identification against real files: photos with metadata written by exiftool, Pillow's
//! corpus of real and hostile images, and the real `exiftool` as the judge.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

mod dicom;
mod dicom_full_size;
mod heif;
mod text_corpus;

use consilium_deid::{CleanImage, CleanOptions, DeidError, ImportLimits, Redaction, clean_image};
use consilium_testkit::{
    CLEAN_GROUPS, camera_photo, exiftool_scan, exiftool_tags, forbidden_metadata, sample,
    samples_dir, scratch,
};

fn clean(bytes: &[u8], redactions: &[Redaction]) -> Result<CleanImage, DeidError> {
    let options = CleanOptions {
        redactions,
        ..CleanOptions::default()
    };
    clean_image(bytes, &options, &ImportLimits::default())
}

fn write_renditions(dir: &Path, c: &CleanImage) -> Vec<std::path::PathBuf> {
    [
        ("full", &c.full),
        ("preview", &c.preview),
        ("thumb", &c.thumbnail),
    ]
    .iter()
    .map(|(n, e)| {
        let ext = if e.mime == "image/png" { "png" } else { "jpg" };
        let p = dir.join(format!("{n}.{ext}"));
        std::fs::write(&p, &e.bytes).unwrap();
        p
    })
    .collect()
}

#[test]
fn a_photo_with_gps_serial_xmp_iptc_and_thumbnail_comes_out_with_none_of_them() {
    let dir = scratch();
    let photo = camera_photo(dir.path(), "cam.jpg", 640, 480, 1, "MARKER-UC");
    assert!(
        !forbidden_metadata(&photo).is_empty(),
        "the fixture must carry metadata"
    );
    let bytes = std::fs::read(&photo).unwrap();
    let c = clean(&bytes, &[]).unwrap();
    let r = &c.report;
    assert!(
        r.gps && r.camera_model && r.camera_serial && r.embedded_thumbnail && r.xmp && r.iptc,
        "{r:?}"
    );
    assert!(r.exif_fields >= 10, "{r:?}");
    let summary = r.summary();
    assert!(
        summary.contains("GPS position")
            && summary.contains("camera serial")
            && summary.contains("XMP"),
        "{summary}"
    );
    for out in write_renditions(dir.path(), &c) {
        assert_eq!(
            forbidden_metadata(&out),
            Default::default(),
            "{}",
            out.display()
        );
        let raw = std::fs::read(&out).unwrap();
        for needle in ["MARKER", "Canon", "Lyon", "Jane"] {
            assert!(
                !raw.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle} in {}",
                out.display()
            );
        }
    }
    assert_eq!((c.full.width, c.full.height), (640, 480));
    assert_eq!((c.preview.width, c.preview.height), (640, 480));
    assert_eq!((c.thumbnail.width, c.thumbnail.height), (320, 240));
}

#[test]
fn renditions_have_their_bounded_sizes() {
    let dir = scratch();
    let photo = camera_photo(dir.path(), "big.jpg", 4000, 2250, 1, "x");
    let c = clean(&std::fs::read(photo).unwrap(), &[]).unwrap();
    assert_eq!((c.full.width, c.full.height), (4000, 2250));
    assert_eq!((c.preview.width, c.preview.height), (1600, 900));
    assert_eq!((c.thumbnail.width, c.thumbnail.height), (320, 180));
}

fn mean_abs_diff(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

#[test]
fn every_exif_orientation_of_a_real_photo_comes_out_upright() {
    let Some(reference) = sample("hopper.jpg") else {
        return;
    };
    let upright = image::open(reference).unwrap().to_rgb8();
    for o in 2..=8u8 {
        for ext in ["jpg", "webp"] {
            let file = sample(&format!("hopper_orientation_{o}.{ext}")).unwrap();
            let c = clean(&std::fs::read(&file).unwrap(), &[]).unwrap();
            assert_eq!(c.report.orientation_applied, Some(o), "{}", file.display());
            let out = image::load_from_memory(&c.full.bytes).unwrap().to_rgb8();
            let d = mean_abs_diff(&out, &upright);
            assert!(
                d < 12.0,
                "orientation {o} ({ext}) not upright: mean difference {d}"
            );
        }
    }
}

#[test]
fn a_rotated_camera_photo_is_rotated_in_its_pixels() {
    let dir = scratch();
    let photo = camera_photo(dir.path(), "rot.jpg", 300, 200, 6, "x");
    let c = clean(&std::fs::read(photo).unwrap(), &[]).unwrap();
    assert_eq!((c.full.width, c.full.height), (200, 300));
    assert_eq!(c.report.orientation_applied, Some(6));
}

#[test]
fn a_redaction_is_fill_colour_in_every_rendition() {
    let dir = scratch();
    let photo = camera_photo(dir.path(), "r.jpg", 2000, 1500, 1, "x");
    let rect = Redaction {
        x: 400,
        y: 300,
        w: 800,
        h: 600,
    };
    let c = clean(&std::fs::read(photo).unwrap(), &[rect]).unwrap();
    assert_eq!(c.report.redactions, 1);
    for e in [&c.full, &c.preview, &c.thumbnail] {
        let img = image::load_from_memory(&e.bytes).unwrap().to_rgb8();
        let s = f64::from(e.width) / 2000.0;
        // Inside the rectangle, away from its edges (resampling and JPEG blur edges by a few px).
        let (x0, y0) = ((400.0 * s) as u32 + 8, (300.0 * s) as u32 + 8);
        let (x1, y1) = ((1200.0 * s) as u32 - 8, (900.0 * s) as u32 - 8);
        for y in y0..y1 {
            for x in x0..x1 {
                let p = img.get_pixel(x, y).0;
                assert!(
                    p.iter().all(|&v| v <= 12),
                    "pixel ({x},{y}) of {e:?} is {p:?}"
                );
            }
        }
    }
}

#[test]
fn a_redaction_outside_the_image_is_refused() {
    let dir = scratch();
    let photo = camera_photo(dir.path(), "o.jpg", 100, 100, 1, "x");
    let err = clean(
        &std::fs::read(photo).unwrap(),
        &[Redaction {
            x: 500,
            y: 0,
            w: 10,
            h: 10,
        }],
    )
    .unwrap_err();
    assert!(matches!(err, DeidError::RedactionOutside { .. }), "{err}");
}

#[test]
fn truncated_corrupt_unknown_and_bomb_files_get_their_own_errors() {
    let dir = scratch();
    let photo = std::fs::read(camera_photo(dir.path(), "t.jpg", 800, 600, 1, "x")).unwrap();
    let truncated = &photo[..photo.len() * 2 / 3];
    assert!(
        matches!(clean(truncated, &[]), Err(DeidError::Corrupt(_))),
        "{:?}",
        clean(truncated, &[]).err()
    );

    let mut corrupt = photo.clone();
    for b in corrupt.iter_mut().skip(2).take(600) {
        *b = 0x5a;
    }
    assert!(clean(&corrupt, &[]).is_err());

    assert!(matches!(
        clean(b"%PDF-1.7 not an image", &[]),
        Err(DeidError::UnknownFormat)
    ));
    assert!(matches!(clean(b"", &[]), Err(DeidError::UnknownFormat)));

    // A 1×1 PNG re-labelled as 100 000 × 100 000: refused from the header, before any allocation.
    let mut png = Vec::new();
    image::RgbImage::new(1, 1)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    let err = clean(&png, &[]).unwrap_err();
    assert!(matches!(err, DeidError::TooLarge { .. }), "{err}");
    assert!(err.to_string().contains("too large"));
}

/// Pillow's GIF "bombs" declare a huge logical screen around a small frame: only the frame is
/// decoded, so they are either refused or come out within the limits.
#[test]
fn pillows_decompression_bombs_are_refused_or_bounded() {
    let limits = ImportLimits::default();
    for name in ["decompression_bomb.gif", "decompression_bomb_extents.gif"] {
        let Some(p) = sample(name) else { return };
        match clean(&std::fs::read(p).unwrap(), &[]) {
            Ok(c) => {
                assert!(u64::from(c.full.width) * u64::from(c.full.height) <= limits.max_pixels)
            }
            Err(e) => assert!(
                matches!(e, DeidError::TooLarge { .. } | DeidError::Corrupt(_)),
                "{name}: {e}"
            ),
        }
    }
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A real image in a format Consilium does not import is refused with the format's name, and
/// not mistaken for a damaged file.
#[test]
fn unsupported_formats_are_named() {
    for (name, format) in [("hopper.ico", "Ico"), ("hopper.qoi", "Qoi")] {
        let Some(p) = sample(name) else {
            return;
        };
        let err = clean(&std::fs::read(p).unwrap(), &[]).unwrap_err();
        assert!(
            matches!(err, DeidError::UnsupportedFormat(_)),
            "{name}: {err}"
        );
        assert!(err.to_string().contains(format), "{name}: {err}");
    }
}

/// Every file of the real-world corpus: never a panic; whatever is accepted comes out with no
/// metadata at all according to exiftool, in every rendition. Among the accepted inputs are real
/// photos with GPS, maker notes, serial numbers, XMP, IPTC, ICC profiles and thumbnails (checked).
#[test]
fn the_whole_real_world_corpus_is_handled_without_panic_and_comes_out_clean() {
    let Some(dir) = samples_dir() else { return };
    let out = scratch();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    let (mut accepted, mut refused) = (Vec::new(), 0);
    for file in files.iter().filter(|p| p.is_file()) {
        let bytes = std::fs::read(file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let Ok(result) = std::panic::catch_unwind(|| clean(&bytes, &[])) else {
            panic!("panic on {name}")
        };
        match result {
            Ok(c) => {
                let sub = out.path().join(&name);
                std::fs::create_dir(&sub).unwrap();
                write_renditions(&sub, &c);
                accepted.push(file.clone());
            }
            Err(_) => refused += 1,
        }
    }
    let originals = exiftool_scan(&dir);
    // The accepted inputs carry each kind of metadata a camera or an editor leaves, in real
    // files: GPS, maker notes, serial numbers, XMP, IPTC, ICC profiles, embedded thumbnails.
    let tags = exiftool_tags(&dir);
    let input_tags: Vec<&String> = accepted
        .iter()
        .filter_map(|f| tags.get(f))
        .flatten()
        .collect();
    let has = |what: &str, test: &dyn Fn(&str) -> bool| {
        let n = input_tags.iter().filter(|t| test(t)).count();
        assert!(n > 0, "no accepted input carries {what}");
    };
    has("GPS", &|t| t.starts_with("GPS:"));
    has("maker notes", &|t| {
        [
            "Canon:",
            "FujiFilm:",
            "Nintendo:",
            "Nikon:",
            "Olympus:",
            "Sony:",
        ]
        .iter()
        .any(|g| t.starts_with(g))
    });
    has("a serial number", &|t| t.contains("SerialNumber"));
    has("XMP", &|t| t.starts_with("XMP-"));
    has("IPTC", &|t| t.starts_with("IPTC:"));
    has("an ICC profile", &|t| t.starts_with("ICC_Profile:"));
    has("an embedded thumbnail", &|t| {
        t.starts_with("IFD1:Thumbnail") || t.ends_with(":ThumbnailImage")
    });
    let carried = accepted
        .iter()
        .filter(|f| {
            originals
                .get(*f)
                .is_some_and(|g| g.iter().any(|g| !CLEAN_GROUPS.contains(&g.as_str())))
        })
        .count();
    let outputs = exiftool_scan(out.path());
    assert_eq!(
        outputs.len(),
        accepted.len() * 3,
        "exiftool must read every rendition"
    );
    for (path, groups) in &outputs {
        let bad: Vec<_> = groups
            .iter()
            .filter(|g| !CLEAN_GROUPS.contains(&g.as_str()))
            .collect();
        assert!(bad.is_empty(), "{}: {bad:?}", path.display());
    }
    eprintln!(
        "corpus: {} accepted ({carried} carried metadata), {refused} refused",
        accepted.len()
    );
    assert!(
        accepted.len() > 300 && carried > 20,
        "{} accepted, {carried} with metadata",
        accepted.len()
    );
}

/// Whether the rectangle covers the point.
fn covers(r: &Redaction, x: u32, y: u32) -> bool {
    (r.x..r.x + r.w).contains(&x) && (r.y..r.y + r.h).contains(&y)
}

/// Pillow's portrait of Grace Hopper (a real photo nobody here took): the face is proposed for
/// redaction, eyes and mouth inside the rectangle; the same photo at camera size gets the same
/// proposal scaled up (the detector runs on a downscaled copy); a flower has none.
#[test]
fn a_frontal_face_is_proposed_for_redaction_and_a_flower_is_not() {
    let Some(path) = sample("hopper.jpg") else {
        return;
    };
    let portrait = image::open(&path).unwrap();
    let faces = consilium_deid::propose_faces(&portrait);
    assert_eq!(faces.len(), 1, "{faces:?}");
    let f = &faces[0];
    for (x, y) in [(55, 45), (70, 45), (62, 64)] {
        assert!(
            covers(f, x, y),
            "{f:?} leaves ({x}, {y}) of the face uncovered"
        );
    }
    assert!(
        f.w < 110 && f.h < 110,
        "the proposal is the face, not the photo: {f:?}"
    );

    let big = portrait.resize_exact(2048, 2048, image::imageops::FilterType::Lanczos3);
    let scaled = consilium_deid::propose_faces(&big);
    assert_eq!(scaled.len(), 1, "{scaled:?}");
    for (x, y) in [(55, 45), (70, 45), (62, 64)] {
        assert!(covers(&scaled[0], x * 16, y * 16), "{:?}", scaled[0]);
    }

    let flower = image::open(sample("flower.jpg").unwrap()).unwrap();
    assert!(consilium_deid::propose_faces(&flower).is_empty());
}
