//! Images through the CLI: exported without metadata, upright, redactions burned in.

use crate::support::*;

#[test]
fn exported_images_carry_no_metadata_and_come_out_upright() {
    let p = Profile::new();
    let case = p.new_case("Metadata");
    let photo = camera_photo(&p.work, "rot.jpg", 1800, 1200, 6, "m");
    assert!(forbidden_metadata(&photo).len() >= 4);
    let att = p.attach(&case, &photo, &[]);
    assert_eq!(
        (att["width"].as_u64(), att["height"].as_u64()),
        (Some(1200), Some(1800)),
        "rotated upright"
    );
    let report = &att["report"];
    for key in [
        "gps",
        "camera_model",
        "camera_serial",
        "embedded_thumbnail",
        "xmp",
        "iptc",
    ] {
        assert_eq!(report[key], Value::Bool(true), "{key}: {report}");
    }
    let id = att["id"].as_str().unwrap();
    for (rendition, longest) in [("full", 1800), ("preview", 1600), ("thumbnail", 320)] {
        let out = p.export(&case, id, rendition);
        assert_eq!(forbidden_metadata(&out), Default::default(), "{rendition}");
        let img = open_image(&out);
        assert!(img.height() > img.width(), "{rendition} is upright");
        assert_eq!(img.height(), longest);
    }
    let shown = p.json(&["case", "show", &case]);
    let a = &shown["attachments"][0];
    assert_eq!(a["id"], att["id"]);
    for key in ["mime", "width", "height", "size", "report"] {
        assert!(!a[key].is_null(), "{key} in {a}");
    }
    assert!(
        a["report_summary"]
            .as_str()
            .unwrap()
            .contains("GPS position")
    );
}

#[test]
fn a_redaction_is_black_in_the_exported_full_preview_and_thumbnail() {
    let p = Profile::new();
    let case = p.new_case("Redaction");
    let photo = camera_photo(&p.work, "r.jpg", 2400, 1800, 1, "m");
    let att = p.attach(&case, &photo, &["--redact", "600,450,1200,900"]);
    let id = att["id"].as_str().unwrap();
    for rendition in ["full", "preview", "thumbnail"] {
        let img = open_image(&p.export(&case, id, rendition)).to_rgb8();
        let s = f64::from(img.width()) / 2400.0;
        let (cx, cy) = ((1200.0 * s) as u32, (900.0 * s) as u32);
        let half = (500.0 * s) as u32;
        for y in (cy - half / 2)..(cy + half / 2) {
            for x in (cx - half)..(cx + half) {
                assert!(
                    img.get_pixel(x, y).0.iter().all(|&v| v <= 12),
                    "{rendition} ({x},{y})"
                );
            }
        }
        // And outside it, the picture is still there.
        assert!(img.get_pixel(2, 2).0.iter().any(|&v| v > 30), "{rendition}");
    }
}
