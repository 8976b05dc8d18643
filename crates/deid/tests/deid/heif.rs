//! iPhone photos (HEIC) from pillow-heif's test images, decoded by libheif in the decoder
//! process: nothing of their metadata in any rendition (the real `exiftool` judges), upright
//! once, and damaged or oversized files refused in words while the next import works.

use consilium_deid::DeidError;
use consilium_testkit::{CLEAN_GROUPS, exiftool_scan, exiftool_tags, heif_file, scratch};

use crate::{clean, write_renditions};

fn original(name: &str) -> Option<Vec<u8>> {
    heif_file(name).map(|p| std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
}

#[test]
fn iphone_photos_import_with_none_of_their_metadata_and_turned_upright_once() {
    let (Some(pug), Some(arrow)) = (
        original("heif_other/pug.heic"),
        original("heif_other/arrow.heic"),
    ) else {
        return;
    };
    let dir = scratch();
    // The originals are what they claim: an iPhone's photos with its make, GPS and orientation.
    std::fs::write(dir.path().join("pug.heic"), &pug).unwrap();
    std::fs::write(dir.path().join("arrow.heic"), &arrow).unwrap();
    let tags = exiftool_tags(dir.path());
    let pug_tags = &tags[&dir.path().join("pug.heic")];
    assert!(
        pug_tags.iter().any(|t| t.ends_with(":GPSLatitude")),
        "{pug_tags:?}"
    );
    assert!(
        pug_tags.iter().any(|t| t.ends_with(":Make")),
        "{pug_tags:?}"
    );
    let arrow_tags = &tags[&dir.path().join("arrow.heic")];
    assert!(
        arrow_tags.iter().any(|t| t.ends_with(":Orientation")),
        "{arrow_tags:?}"
    );

    let out = scratch();
    let c = clean(&pug, &[]).unwrap();
    assert_eq!(c.report.source_format, "HEIC");
    assert!(
        c.report.gps && c.report.camera_model && c.report.timestamps,
        "{:?}",
        c.report
    );
    assert!(c.report.exif_fields > 10, "{:?}", c.report);
    assert_eq!(c.report.orientation_applied, None, "the photo was upright");
    assert_eq!((c.full.width, c.full.height), (4032, 3024));
    let pug_dir = out.path().join("pug");
    std::fs::create_dir(&pug_dir).unwrap();
    write_renditions(&pug_dir, &c);

    // Taken sideways: stored 4032 × 3024 with a rotation in the container and Orientation
    // "Rotate 90 CW" in its EXIF. libheif turns it; turned again by the EXIF it would lie on its
    // side once more (4032 × 3024).
    let c = clean(&arrow, &[]).unwrap();
    assert_eq!(
        (c.full.width, c.full.height),
        (3024, 4032),
        "turned once, upright"
    );
    assert_eq!(c.report.orientation_applied, Some(6));
    let arrow_dir = out.path().join("arrow");
    std::fs::create_dir(&arrow_dir).unwrap();
    write_renditions(&arrow_dir, &c);

    let outputs = exiftool_scan(out.path());
    assert_eq!(outputs.len(), 6, "exiftool must read every rendition");
    for (path, groups) in &outputs {
        let bad: Vec<_> = groups
            .iter()
            .filter(|g| !CLEAN_GROUPS.contains(&g.as_str()))
            .collect();
        assert!(bad.is_empty(), "{}: {bad:?}", path.display());
    }
}

#[test]
fn damaged_and_oversized_heif_files_are_refused_in_words_and_the_next_import_works() {
    let Some(pug) = original("heif_other/pug.heic") else {
        return;
    };
    for name in [
        "heif_corrupted/corrupted.heic",
        "heif_corrupted/corrupted.hif",
        "heif_corrupted/empty.heic",
    ] {
        let Some(bytes) = original(name) else { return };
        match clean(&bytes, &[]) {
            Err(DeidError::Corrupt(why)) => assert!(!why.is_empty(), "{name}"),
            Err(DeidError::UnknownFormat | DeidError::UnsupportedFormat(_)) => {}
            other => panic!("{name}: {:?}", other.map(|c| c.report)),
        }
    }
    // 16320 × 12240 is past the limits: refused from the header, before any pixel is decoded.
    let huge = original("heif_special/200MP.heic").unwrap();
    match clean(&huge, &[]) {
        Err(DeidError::TooLarge { detail, .. }) => assert!(detail.contains("12240"), "{detail}"),
        other => panic!("{:?}", other.map(|c| c.report)),
    }
    // A file cut short half-way through its image data.
    match clean(&pug[..pug.len() / 2], &[]) {
        Err(DeidError::Corrupt(_)) => {}
        other => panic!("a truncated photo: {:?}", other.map(|c| c.report)),
    }
    assert!(clean(&pug, &[]).is_ok());
}
