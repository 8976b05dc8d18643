//! DICOM import against the full-size files of pydicom's data package (`pydicom-data`, fetched
//! from PyPI; NEMA's compression test set among them): real radiographs of 3.6 and 3.1 MP in
//! uncompressed and JPEG 2000 forms, ultrasound in RGB, YBR and palette colour, and a face in an
//! "other" modality file. Nobody on this project wrote them.

use consilium_deid::{CleanImage, CleanOptions, DeidError, ImportLimits, clean_image};
use consilium_model::BurnedInRisk;
use consilium_testkit::pydicom_file;

fn data_file(name: &str) -> Option<Vec<u8>> {
    pydicom_file(&format!("data_store/{name}")).map(|p| {
        std::fs::read(&p)
            .unwrap_or_else(|e| panic!("{}: {e} (tests/samples/fetch.sh)", p.display()))
    })
}

fn import(bytes: &[u8]) -> Result<CleanImage, DeidError> {
    let options = CleanOptions {
        propose_faces: true,
        ..CleanOptions::default()
    };
    clean_image(bytes, &options, &ImportLimits::default())
}

fn luma(c: &CleanImage) -> image::GrayImage {
    image::load_from_memory(&c.full.bytes).unwrap().to_luma8()
}

fn rgb(c: &CleanImage) -> image::RgbImage {
    image::load_from_memory(&c.full.bytes).unwrap().to_rgb8()
}

/// Mean absolute difference per sample of two images of the same size.
fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let sum: u64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / a.len() as f64
}

/// A chest and an extremity radiograph (MONOCHROME1, 15 and 10 bits stored) render at their
/// native size; JPEG 2000 lossless gives the very pixels of the uncompressed file, lossy nearly
/// them; the flag for burned-in text stays off for plain radiography; modality and body part
/// are read; and the face detector, run on the rendered film as if it were a photo of it, finds
/// no face.
#[test]
fn full_size_radiographs_render_alike_from_every_transfer_syntax_and_have_no_face() {
    for (stem, w, h, body_part) in [
        ("RG1", 1841, 1955, "CHEST"),
        ("RG3", 1760, 1760, "EXTREMITY"),
    ] {
        let Some(plain) = data_file(&format!("{stem}_UNCR.dcm")) else {
            return;
        };
        let reference = import(&plain).unwrap_or_else(|e| panic!("{stem}: {e}"));
        assert_eq!((reference.full.width, reference.full.height), (w, h));
        let d = reference.report.dicom.as_ref().unwrap();
        assert_eq!(d.modality.as_deref(), Some("CR"), "{stem}");
        assert_eq!(d.body_part.as_deref(), Some(body_part), "{stem}");
        assert_eq!(d.burned_in_risk, None, "{stem}");
        assert!(reference.report.proposals.is_empty(), "{stem}");
        let film = luma(&reference);
        let (lo, hi) = film
            .pixels()
            .fold((u8::MAX, 0), |(lo, hi), p| (lo.min(p.0[0]), hi.max(p.0[0])));
        assert!(hi - lo > 150, "{stem}: a full grey range ({lo}..{hi})");

        for (variant, at_most) in [("J2KR", 0.0), ("J2KI", 4.0)] {
            let bytes = data_file(&format!("{stem}_{variant}.dcm")).unwrap();
            let c = import(&bytes).unwrap_or_else(|e| panic!("{stem}_{variant}: {e}"));
            assert_eq!((c.full.width, c.full.height), (w, h), "{stem}_{variant}");
            let diff = mean_abs_diff(luma(&c).as_raw(), film.as_raw());
            assert!(
                diff <= at_most,
                "{stem}_{variant}: differs from the uncompressed file by {diff:.2} per pixel"
            );
        }

        // The rendered film given to the detector, as a photo of the viewing screen would be.
        let as_photo = image::DynamicImage::ImageLuma8(film);
        let faces = consilium_deid::propose_faces(&as_photo);
        assert!(faces.is_empty(), "{stem}: {faces:?}");
    }
}

/// Ultrasound in RGB, in JPEG 2000's reversible colour transform and in palette colour: each
/// renders in colour at its size, the same picture whatever the encoding, and waits for review.
#[test]
fn ultrasound_in_every_colour_encoding_renders_alike_and_waits_for_review() {
    let Some(plain) = data_file("US1_UNCR.dcm") else {
        return;
    };
    let reference = import(&plain).unwrap();
    assert_eq!((reference.full.width, reference.full.height), (640, 480));
    let reference_rgb = rgb(&reference);
    for name in ["US1_J2KR.dcm", "US1_J2KI.dcm"] {
        let c = import(&data_file(name).unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let diff = mean_abs_diff(rgb(&c).as_raw(), reference_rgb.as_raw());
        assert!(diff < 4.0, "{name}: {diff:.2} per sample from the RGB file");
    }
    // The palette ultrasound little endian, big endian and RLE-compressed: the same picture.
    let palette = rgb(&import(&data_file("OBXXXX1A.dcm").unwrap()).unwrap());
    for name in ["OBXXXX1A_expb.dcm", "OBXXXX1A_rle.dcm"] {
        let c = import(&data_file(name).unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let diff = mean_abs_diff(rgb(&c).as_raw(), palette.as_raw());
        assert!(diff < 0.5, "{name}: {diff:.2} per sample from OBXXXX1A.dcm");
    }
    for name in [
        "US1_UNCR.dcm",
        "OBXXXX1A.dcm",
        "OBXXXX1A_expb.dcm",
        "OBXXXX1A_rle.dcm",
        "gdcm-US-ALOKA-16.dcm",
        "color3d_jpeg_baseline.dcm",
    ] {
        let c = import(&data_file(name).unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let d = c.report.dicom.as_ref().unwrap();
        assert_eq!(d.burned_in_risk, Some(BurnedInRisk::Ultrasound), "{name}");
        assert!(!c.report.pending_review().is_empty(), "{name}");
        assert!(c.report.proposals.is_empty(), "{name}: no face in a scan");
        let img = rgb(&c);
        let coloured = img
            .pixels()
            .filter(|p| p.0.iter().max().unwrap() - p.0.iter().min().unwrap() > 30)
            .count();
        assert!(coloured > 0, "{name}: the colour survived the rendering");
    }
}

/// A face photographed into an "other" modality file, in palette colour, exported as a bare data
/// set (no Part 10 header): refused as such. The same data set saved as a Part 10 file, as a
/// viewer would: rendered in colour through its palette, the face proposed for redaction, the
/// file flagged for review.
#[test]
fn a_palette_colour_face_is_rendered_in_colour_and_proposed_for_redaction() {
    let Some(bare) = data_file("OT-PAL-8-face.dcm") else {
        return;
    };
    let err = import(&bare).unwrap_err();
    assert!(matches!(err, DeidError::NotDicomPart10), "{err:?}");

    let data_set = dicom_object::InMemDicomObject::read_dataset_with_ts(
        &bare[..],
        &dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN.erased(),
    )
    .unwrap();
    let file = data_set
        .with_meta(
            dicom_object::FileMetaTableBuilder::new()
                .transfer_syntax(dicom_dictionary_std::uids::IMPLICIT_VR_LITTLE_ENDIAN),
        )
        .unwrap();
    let mut part10 = Vec::new();
    file.write_all(&mut part10).unwrap();

    let c = import(&part10).unwrap();
    if let Some(dir) = std::env::var_os("CONSILIUM_KEEP_RENDERS") {
        std::fs::write(
            std::path::Path::new(&dir).join("ot-pal-face.jpg"),
            &c.full.bytes,
        )
        .unwrap();
    }
    assert_eq!((c.full.width, c.full.height), (640, 480));
    let d = c.report.dicom.as_ref().unwrap();
    assert_eq!(d.modality.as_deref(), Some("OT"));
    assert_eq!(d.burned_in_risk, Some(BurnedInRisk::Other));
    let img = rgb(&c);
    let coloured = img
        .pixels()
        .filter(|p| p.0.iter().max().unwrap() - p.0.iter().min().unwrap() > 40)
        .count();
    assert!(
        coloured > img.len() / 3 / 10,
        "a colour photo, not its palette indices in grey ({coloured} coloured pixels)"
    );
    assert_eq!(c.report.proposals.len(), 1, "{:?}", c.report.proposals);
    // A close-up: the face fills most of the height. Eyes and mouth are covered; the shirt and
    // the sides of the picture are not.
    let f = &c.report.proposals[0];
    let covers = |x: u32, y: u32| (f.x..f.x + f.w).contains(&x) && (f.y..f.y + f.h).contains(&y);
    for (x, y) in [(255, 150), (370, 150), (308, 290)] {
        assert!(
            covers(x, y),
            "{f:?} leaves ({x}, {y}) of the face uncovered"
        );
    }
    for (x, y) in [(40, 240), (600, 240), (300, 460)] {
        assert!(!covers(x, y), "{f:?} covers ({x}, {y}), away from the face");
    }
}

/// Every file of the package, whatever it holds (segmentations, 32-bit samples, multi-frame,
/// big-endian, a JPEG 2000 codestream cut short, a broken sequence): an image or a clear error,
/// never a crash.
#[test]
fn every_file_of_the_data_package_gives_an_image_or_a_clear_error() {
    let Some(dir) = pydicom_file("data_store") else {
        return;
    };
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    assert!(
        names.len() > 60,
        "{} files in {}",
        names.len(),
        dir.display()
    );
    let (mut images, mut errors) = (Vec::new(), Vec::new());
    for path in &names {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        match import(&std::fs::read(path).unwrap()) {
            Ok(c) => {
                assert!(c.full.width > 0 && c.full.height > 0, "{name}");
                // CONSILIUM_KEEP_RENDERS=DIR keeps each preview, to look at.
                if let Some(dir) = std::env::var_os("CONSILIUM_KEEP_RENDERS") {
                    let out = std::path::Path::new(&dir).join(format!("{name}.preview"));
                    std::fs::write(out, &c.preview.bytes).unwrap();
                }
                images.push(name);
            }
            Err(e) => {
                let said = e.to_string();
                assert!(
                    said.len() > 10 && !said.contains("panicked"),
                    "{name}: {said}"
                );
                errors.push(format!("{name}: {said}"));
            }
        }
    }
    eprintln!("{} rendered, {} refused:", images.len(), errors.len());
    for e in &errors {
        eprintln!("  {e}");
    }
    // Most of the package is ordinary imaging; refusals are the exceptions, each for a reason
    // of its own (a bare data set, 32-bit samples, 1-bit segmentations, JPEG-LS).
    assert!(images.len() >= 55, "{errors:#?}");
    assert!(errors.len() <= 10, "{errors:#?}");
    let sample_size = errors
        .iter()
        .filter(|e| e.contains("-bit samples, which Consilium cannot show"))
        .count();
    assert!(
        sample_size >= 5,
        "32-bit and 1-bit files say why: {errors:#?}"
    );
}
