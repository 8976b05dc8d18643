//! DICOM import against the test files pydicom ships (nobody on this project wrote them): CT, MR,
//! nuclear medicine, ultrasound and secondary captures; uncompressed, big-endian, RLE, JPEG and
//! JPEG 2000; truncated and preamble-less files. Several carry patient, ID and institution names.

use consilium_deid::{CleanImage, CleanOptions, DeidError, ImportLimits, clean_image};
use consilium_model::BurnedInRisk;
use consilium_testkit::{forbidden_metadata, pydicom_file, scratch};

/// File, width, height, modality, whether it must be reviewed for burned-in text (ultrasound,
/// "other", or a secondary capture), and the identifying values it carries.
type Rendered = (
    &'static str,
    u32,
    u32,
    &'static str,
    bool,
    &'static [&'static str],
);
const RENDERED: &[Rendered] = &[
    (
        "CT_small.dcm",
        128,
        128,
        "CT",
        false,
        &["CompressedSamples", "1CT1", "JFK IMAGING CENTER"],
    ),
    (
        "MR_small.dcm",
        64,
        64,
        "MR",
        false,
        &["CompressedSamples", "4MR1", "TOSHIBA"],
    ),
    (
        "MR_small_bigendian.dcm",
        64,
        64,
        "MR",
        false,
        &["CompressedSamples", "4MR1"],
    ),
    (
        "MR_small_RLE.dcm",
        64,
        64,
        "MR",
        false,
        &["CompressedSamples", "4MR1"],
    ),
    (
        "MR_small_jp2klossless.dcm",
        64,
        64,
        "MR",
        false,
        &["CompressedSamples", "4MR1"],
    ),
    // Nuclear medicine stored as a secondary capture, JPEG 2000 lossy, signed samples.
    (
        "JPEG2000.dcm",
        256,
        1024,
        "NM",
        true,
        &["CompressedSamples", "8NM1", "Hospital Name 12345"],
    ),
    ("693_J2KI.dcm", 512, 512, "CT", false, &["CQ500-CT-310"]),
    (
        "examples_overlay.dcm",
        484,
        300,
        "MR",
        false,
        &["Sssssss", "021234567", "AKH - WIEN"],
    ),
    (
        "examples_jpeg2k.dcm",
        640,
        480,
        "US",
        true,
        &["CompressedSamples", "13US1", "BAPTIST MED CTR"],
    ),
    (
        "examples_rgb_color.dcm",
        320,
        240,
        "US",
        true,
        &["CompressedSamples", "13US1", "BAPTIST"],
    ),
    (
        "SC_rgb_jpeg_dcmtk.dcm",
        100,
        100,
        "OT",
        true,
        &["Lestrade", "ID1"],
    ),
    ("SC_rgb_rle_16bit.dcm", 100, 100, "OT", true, &["Lestrade"]),
];

fn import(bytes: &[u8], frame: Option<u32>) -> Result<CleanImage, DeidError> {
    let options = CleanOptions {
        frame,
        propose_faces: true,
        ..CleanOptions::default()
    };
    clean_image(bytes, &options, &ImportLimits::default())
}

/// The spread of grey levels of a rendition: a blank or flat image has next to none.
fn grey_spread(bytes: &[u8]) -> (u8, u8) {
    let img = image::load_from_memory(bytes).unwrap().to_luma8();
    let min = img.pixels().map(|p| p.0[0]).min().unwrap();
    let max = img.pixels().map(|p| p.0[0]).max().unwrap();
    (min, max)
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    let n = needle.as_bytes();
    haystack.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

#[test]
fn pydicom_files_render_at_their_size_with_no_attribute_in_any_output() {
    let Some(probe) = pydicom_file("CT_small.dcm") else {
        return;
    };
    let dir = scratch();
    assert!(probe.exists(), "{} missing", probe.display());
    for (name, w, h, modality, flagged, identifying) in RENDERED {
        let bytes = std::fs::read(pydicom_file(name).unwrap()).unwrap();
        for id in *identifying {
            assert!(
                contains(&bytes, id),
                "{name}: the fixture must carry {id:?}"
            );
        }
        let c = import(&bytes, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            (c.full.width, c.full.height),
            (*w, *h),
            "{name}: native size"
        );
        let (lo, hi) = grey_spread(&c.full.bytes);
        assert!(hi - lo > 40, "{name}: not blank ({lo}..{hi})");

        let d = c.report.dicom.as_ref().expect("a DICOM report");
        assert_eq!(c.report.source_format, "DICOM");
        assert_eq!(d.modality.as_deref(), Some(*modality), "{name}");
        assert!(d.attributes_dropped > 10, "{name}: {d:?}");
        assert!(
            d.identifying_dropped.iter().any(|k| k == "patient name"),
            "{name}: {d:?}"
        );
        assert_eq!(d.burned_in_risk.is_some(), *flagged, "{name}: {d:?}");
        assert_eq!(c.report.pending_review().is_empty(), !flagged, "{name}");

        // No identifying value in any rendition or in the report the vault keeps.
        let report = serde_json::to_vec(&c.report).unwrap();
        for (label, out) in [
            ("full", &c.full.bytes),
            ("preview", &c.preview.bytes),
            ("thumbnail", &c.thumbnail.bytes),
            ("report", &report),
        ] {
            for id in *identifying {
                assert!(!contains(out, id), "{name}: {id:?} in the {label}");
            }
        }
        // exiftool finds nothing but the encoder's own headers.
        let ext = if c.full.mime == "image/png" {
            "png"
        } else {
            "jpg"
        };
        let out = dir.path().join(format!("{name}.{ext}"));
        std::fs::write(&out, &c.full.bytes).unwrap();
        let found = forbidden_metadata(&out);
        assert!(found.is_empty(), "{name}: exiftool found {found:?}");
    }
}

#[test]
fn the_modality_and_body_part_are_the_only_values_kept() {
    let Some(path) = pydicom_file("JPEG2000.dcm") else {
        return;
    };
    let c = import(&std::fs::read(path).unwrap(), None).unwrap();
    let d = c.report.dicom.unwrap();
    assert_eq!(d.modality.as_deref(), Some("NM"));
    assert_eq!(d.body_part.as_deref(), Some("WHOLE BODY"));
    for kind in ["patient name", "patient ID", "institution", "dates"] {
        assert!(
            d.identifying_dropped.iter().any(|k| k == kind),
            "{kind}: {d:?}"
        );
    }
}

#[test]
fn monochrome1_is_inverted_so_dense_bone_stays_white() {
    // A computed radiograph stored as MONOCHROME1: the highest stored value means black.
    let Some(path) = pydicom_file("dicomdirtests/77654033/CR1/6154") else {
        return;
    };
    let bytes = std::fs::read(path).unwrap();
    let obj = dicom_object::OpenFileOptions::new()
        .read_preamble(dicom_object::file::ReadPreamble::Always)
        .from_reader(&bytes[..])
        .unwrap();
    use dicom_pixeldata::PixelDecoder;
    let raw: Vec<u16> = obj.decode_pixel_data().unwrap().to_vec().unwrap();
    let (hi_at, _) = raw.iter().enumerate().max_by_key(|(_, v)| **v).unwrap();
    let (lo_at, _) = raw.iter().enumerate().min_by_key(|(_, v)| **v).unwrap();

    let c = import(&bytes, None).unwrap();
    let img = image::load_from_memory(&c.full.bytes).unwrap().to_luma8();
    let at = |i: usize| {
        img.get_pixel(i as u32 % img.width(), i as u32 / img.width())
            .0[0]
    };
    assert!(
        at(hi_at) < at(lo_at),
        "the highest stored value renders darker ({} vs {})",
        at(hi_at),
        at(lo_at)
    );
    assert_eq!(c.report.dicom.unwrap().modality.as_deref(), Some("CR"));
}

#[test]
fn a_chosen_frame_of_a_multi_frame_ultrasound_is_kept_and_flagged() {
    let Some(path) = pydicom_file("examples_ybr_color.dcm") else {
        return;
    };
    let bytes = std::fs::read(path).unwrap();
    let c = import(&bytes, Some(9)).unwrap();
    assert_eq!((c.full.width, c.full.height), (320, 240));
    let d = c.report.dicom.as_ref().unwrap();
    assert_eq!((d.frames, d.frame), (30, 9));
    assert_eq!(d.burned_in_risk, Some(BurnedInRisk::Ultrasound));
    assert!(
        c.report.summary().contains("frame 10 of 30"),
        "{}",
        c.report.summary()
    );
    let err = import(&bytes, Some(30)).unwrap_err();
    assert!(err.to_string().contains("30 frames"), "{err}");
}

#[test]
fn ct_and_radiology_images_get_no_face_proposal() {
    for name in [
        "CT_small.dcm",
        "693_J2KI.dcm",
        "JPEG2000.dcm",
        "examples_overlay.dcm",
    ] {
        let Some(path) = pydicom_file(name) else {
            return;
        };
        let c = import(&std::fs::read(path).unwrap(), None).unwrap();
        assert!(
            c.report.proposals.is_empty(),
            "{name}: {:?}",
            c.report.proposals
        );
    }
}

#[test]
fn files_that_are_not_part_10_truncated_or_imageless_get_a_clear_error() {
    let Some(probe) = pydicom_file("no_meta.dcm") else {
        return;
    };
    let read = |n: &str| std::fs::read(pydicom_file(n).unwrap()).unwrap();
    // A bare data set, as some viewers export: named as what it is.
    let err = import(&std::fs::read(probe).unwrap(), None).unwrap_err();
    assert!(matches!(err, DeidError::NotDicomPart10), "{err}");
    assert!(err.to_string().contains("Part 10"), "{err}");

    let err = import(&read("MR_truncated.dcm"), None).unwrap_err();
    assert!(matches!(err, DeidError::Dicom(_)), "{err:?}");
    assert!(err.to_string().contains("truncated"), "{err}");

    for n in ["rtplan.dcm", "waveform_ecg.dcm", "test-SR.dcm"] {
        let err = import(&read(n), None).unwrap_err();
        assert!(err.to_string().contains("no image"), "{n}: {err}");
    }
    // 12-bit lossy JPEG: a compression the decoder does not support, said so.
    let err = import(&read("JPEG-lossy.dcm"), None).unwrap_err();
    assert!(err.to_string().contains("cannot decode"), "{err}");

    let err = import(&read("rtplan_truncated.dcm"), None).unwrap_err();
    assert!(matches!(err, DeidError::Dicom(_)), "{err:?}");

    // Not DICOM at all, with a name that says it is.
    let err = import(b"PatientName: not a DICOM file\n", None).unwrap_err();
    assert!(matches!(err, DeidError::UnknownFormat), "{err:?}");
    assert!(err.to_string().contains("DICOM"), "{err}");

    // Every cut of a real file, and garbage after a valid preamble: an error, never a panic.
    let ct = read("CT_small.dcm");
    for cut in (132..ct.len()).step_by(997) {
        assert!(import(&ct[..cut], None).is_err(), "cut at {cut}");
    }
    let mut junk = vec![0u8; 128];
    junk.extend_from_slice(b"DICM");
    junk.extend((0..4000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    assert!(import(&junk, None).is_err());
}

#[test]
fn corrupted_dicom_files_give_an_error_or_an_image_never_a_crash() {
    // Real files with bytes overwritten past the preamble: the reader, the RLE and JPEG 2000
    // decoders and the rendering meet damaged lengths, tags and codestreams. (The RLE decoder of
    // dicom-transfer-syntax-registry 0.10.1 panics on some: the import catches it and says the
    // file is damaged.)
    const ROUNDS: usize = 12;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for name in [
        "CT_small.dcm",
        "MR_small_RLE.dcm",
        "JPEG2000.dcm",
        "examples_jpeg2k.dcm",
    ] {
        let Some(path) = pydicom_file(name) else {
            return;
        };
        let original = std::fs::read(path).unwrap();
        let (mut images, mut errors) = (0, 0);
        for _ in 0..ROUNDS {
            let mut bytes = original.clone();
            for _ in 0..1 + next() % 8 {
                let at = 132 + (next() as usize) % (bytes.len() - 132);
                bytes[at] = next() as u8;
            }
            let small = ImportLimits {
                max_input_bytes: 1 << 20,
                max_side: 2048,
                max_pixels: 2_000_000,
                max_alloc: 64 << 20,
            };
            match clean_image(&bytes, &CleanOptions::default(), &small) {
                Ok(c) => {
                    images += 1;
                    assert!(c.full.width > 0 && c.report.dicom.is_some());
                }
                Err(e) => {
                    errors += 1;
                    assert!(!e.to_string().is_empty());
                }
            }
        }
        assert_eq!(images + errors, ROUNDS, "{name}");
    }
}

/// Found by the `dicom_import` fuzz target after five fixes to the length walk: a file the walk
/// reads differently from the reader, which then allocates (and zero-fills) 4 GiB. In the
/// decoder process, under its address-space limit, the allocation fails and the import is
/// refused in words; this process never holds the 4 GiB.
#[test]
fn a_file_that_makes_the_reader_allocate_4_gib_costs_the_app_nothing() {
    let file = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/corpus/allocates-4gb.dcm"
    ))
    .unwrap();
    let before = consilium_testkit::peak_resident_bytes(std::process::id());
    let err = clean_image(&file, &CleanOptions::default(), &ImportLimits::default()).unwrap_err();
    assert!(matches!(err, DeidError::Dicom(_)), "{err}");
    let grown = consilium_testkit::peak_resident_bytes(std::process::id()).saturating_sub(before);
    assert!(
        grown < 256 << 20,
        "this process grew by {grown} bytes: {err}"
    );
}

/// Found by the fuzz target driving the decoder: a text value whose declared length makes the
/// reader allocate without asking (`Vec::resize`); past the decoder's address-space limit the
/// decoder process aborts. The import is refused in words, and this process goes on.
#[test]
fn a_file_that_makes_the_reader_abort_is_refused_in_words() {
    let file = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/corpus/aborts-the-reader.dcm"
    ))
    .unwrap();
    let err = clean_image(&file, &CleanOptions::default(), &ImportLimits::default()).unwrap_err();
    assert!(
        matches!(&err, DeidError::Dicom(why) if why.contains("memory and time limits")),
        "{err}"
    );
}
