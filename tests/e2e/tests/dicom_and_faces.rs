//! Images that wait for the author before they leave: DICOM files from pydicom's test set (CT,
//! nuclear medicine stored as a secondary capture, ultrasound in JPEG 2000), a full-size chest
//! radiograph in JPEG 2000 from pydicom's data package, and Pillow's portrait photo. The CT and
//! the radiograph go as they are (no face is proposed on the film); the flagged DICOM images wait for `case review`; the face proposed
//! in the photo waits until accepted. No patient name, ID or institution of the DICOM files
//! reaches any file of either profile or of the relay, or the colleague's view of the case.

use crate::support::{Cli, Relay, leaks};

/// The identifying values the chosen DICOM files carry (checked to be in them below).
const IDENTIFYING: &[&str] = &[
    "CompressedSamples",
    "1CT1",
    "8NM1",
    "13US1",
    "JFK IMAGING CENTER",
    "Hospital Name 12345",
    "BAPTIST MED CTR",
    "Philips Medical Systems Hamburg",
];

#[test]
fn dicom_images_and_faces_wait_for_the_author_and_no_dicom_identifier_leaves() {
    let (Some(ct), Some(nm), Some(us), Some(face), Some(chest)) = (
        consilium_testkit::pydicom_file("CT_small.dcm"),
        consilium_testkit::pydicom_file("JPEG2000.dcm"),
        consilium_testkit::pydicom_file("examples_jpeg2k.dcm"),
        consilium_testkit::sample("hopper.jpg"),
        consilium_testkit::pydicom_file("data_store/RG1_J2KR.dcm"),
    ) else {
        return;
    };
    let originals: Vec<u8> = [&ct, &nm, &us, &chest]
        .iter()
        .flat_map(|p| std::fs::read(p).unwrap())
        .collect();
    for id in IDENTIFYING {
        assert!(
            crate::support::contains(&originals, id.as_bytes()),
            "the fixtures carry {id}"
        );
    }

    let root = tempfile::tempdir().unwrap();
    let relay = Relay::start(&root.path().join("relay"));
    let (a, b) = (
        Cli::init(root.path(), "Dr Alice Martin", "Radiology"),
        Cli::init(root.path(), "Dr Bruno Lefevre", "Radiology"),
    );
    a.ok(&["circle", "create", "Imaging", "--relay", &relay.url()]);
    let code = a.ok(&["circle", "invite", "Imaging"]);
    b.ok(&["circle", "join", code.trim()]);
    let requests = a.json(&["circle", "requests", "Imaging"]);
    a.ok(&[
        "circle",
        "approve",
        "Imaging",
        &requests[0]["id"].to_string(),
        requests[0]["safety_number"].as_str().unwrap(),
    ]);
    b.ok(&["sync"]);

    let case = a.json(&["case", "new", "--title", "Incidental lung nodule"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let attached = a.json(&[
        "case",
        "attach",
        &case,
        ct.to_str().unwrap(),
        nm.to_str().unwrap(),
        us.to_str().unwrap(),
        face.to_str().unwrap(),
        chest.to_str().unwrap(),
    ]);
    let atts = attached.as_array().unwrap();
    let id = |i: usize| atts[i]["id"].as_str().unwrap().to_string();
    assert_eq!(atts[0]["report"]["dicom"]["modality"], "CT", "{attached}");
    assert_eq!(
        (atts[0]["width"].as_u64(), atts[0]["height"].as_u64()),
        (Some(128), Some(128))
    );
    assert_eq!(
        atts[1]["report"]["dicom"]["burned_in_risk"],
        "secondary_capture"
    );
    assert_eq!(atts[2]["report"]["dicom"]["burned_in_risk"], "ultrasound");
    for ct_or_film in [0, 4] {
        assert!(
            atts[ct_or_film]["report"]["proposals"]
                .as_array()
                .unwrap()
                .is_empty(),
            "{attached}"
        );
    }
    assert_eq!(atts[4]["report"]["dicom"]["modality"], "CR", "{attached}");
    assert!(atts[4]["report"]["dicom"]["burned_in_risk"].is_null());
    assert_eq!(
        (atts[4]["width"].as_u64(), atts[4]["height"].as_u64()),
        (Some(1841), Some(1955))
    );

    // The CT's modality goes into the case when the author asks, and only then.
    a.ok(&["case", "copy-imaging", &case, &id(0)]);
    let copied = a.json(&["case", "show", &case]);
    assert_eq!(
        copied["fields"]["investigations"], "Imaging: CT",
        "{copied}"
    );
    let not_dicom = a.run(&["case", "copy-imaging", &case, &id(3)]);
    assert!(!not_dicom.status.success());

    // `case show --json` lists the face proposal with its kind.
    let shown = a.json(&["case", "show", &case]);
    let proposals = shown["attachments"][3]["report"]["proposals"].clone();
    assert_eq!(proposals.as_array().map(Vec::len), Some(1), "{shown}");
    assert_eq!(proposals[0]["kind"], "face");
    let words = a.ok(&["case", "show", &case]);
    assert!(words.contains("proposed face redaction"), "{words}");
    assert!(words.contains("NOT SHAREABLE YET"), "{words}");

    // Sharing is refused while three images wait, and says which and how.
    let refused = a.run(&["share", &case, "Imaging"]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    for part in [
        "image 2",
        "image 3",
        "image 4",
        "burned-in",
        "face",
        "case review",
    ] {
        assert!(said.contains(part), "{part}: {said}");
    }

    // The author accepts the face (burned in), reviews the secondary capture after a redaction
    // of its lower edge, and reviews the ultrasound as it is.
    let redacted = a.json(&["case", "redact", &case, &id(3), "--accept-proposals"]);
    assert_eq!(redacted[0]["report"]["proposals_accepted"], 1, "{redacted}");
    a.ok(&["case", "redact", &case, &id(1), "--rect", "0,1000,256,24"]);
    let still = a.run(&["share", &case, "Imaging"]);
    assert!(!still.status.success(), "a redaction alone is not a review");
    a.ok(&["case", "review", &case, &id(1)]);
    a.ok(&["case", "review", &case, &id(2)]);
    a.ok(&["share", &case, "Imaging"]);
    let report = a.json(&["case", "show", &case])["deid_report"].clone();
    let images = report["images"].as_array().unwrap();
    assert_eq!(images.len(), 5, "{report}");
    assert!(
        images[0]["summary"]
            .as_str()
            .unwrap()
            .contains("patient name"),
        "{report}"
    );
    assert!(
        images
            .iter()
            .all(|i| i["pending"].as_array().unwrap().is_empty())
    );
    assert_eq!(images[2]["report"]["reviewed"], true);
    assert_eq!(images[3]["report"]["proposals_accepted"], 1);
    let later = a.run(&["case", "review", &case, &id(2)]);
    assert!(!later.status.success(), "a sent image is no longer changed");

    // B receives five images; the face is black in B's copy.
    b.ok(&["sync"]);
    let got = b.json(&["case", "show", &case]);
    assert_eq!(got["attachments"].as_array().unwrap().len(), 5, "{got}");
    let out = root.path().join("face.jpg");
    b.ok(&[
        "case",
        "export-attachment",
        &case,
        &id(3),
        out.to_str().unwrap(),
    ]);
    let img = image::open(&out).unwrap().to_rgb8();
    let p = &atts[3]["report"]["proposals"][0];
    let (x, y, w, h) = (
        p["x"].as_u64().unwrap() as u32,
        p["y"].as_u64().unwrap() as u32,
        p["w"].as_u64().unwrap() as u32,
        p["h"].as_u64().unwrap() as u32,
    );
    let centre = img.get_pixel(x + w / 2, y + h / 2);
    assert!(
        centre.0.iter().all(|c| *c < 16),
        "the face is burned in: {centre:?}"
    );

    // No DICOM identifier anywhere: relay files, both profiles, B's view of the case. The
    // relay's files and the profiles are ciphertext, in which a needle of n bytes turns up by
    // chance about once in 2^(8n) bytes: a 4-byte one once in 4 GiB, so in a few CI runs over
    // tens of MiB of encrypted images (it did, once). Those are searched for the needles of 8
    // bytes or more; the decrypted views, where a leak would show, for every one.
    let b_view = got.to_string();
    let a_view = a.json(&["case", "show", &case]).to_string();
    for id in IDENTIFYING {
        let needle = id.as_bytes();
        if needle.len() >= 8 {
            let found = leaks(&relay.data, needle);
            assert!(found.is_empty(), "{id} reached the relay: {found:?}");
            assert!(leaks(&a.dir, needle).is_empty(), "{id} is in A's profile");
            assert!(leaks(&b.dir, needle).is_empty(), "{id} is in B's profile");
        }
        assert!(
            !b_view.contains(id) && !a_view.contains(id),
            "{id} in a case view"
        );
    }
    // The modality and body part stay in A's report only: the colleague's copy carries none.
    assert!(got["attachments"][1]["report"]["dicom"].is_null(), "{got}");

    // A 30-frame ultrasound loop added later: the command says how to choose another frame, and
    // the tenth takes the first's place (the same image, waiting for review all the same).
    let Some(cine) = consilium_testkit::pydicom_file("examples_ybr_color.dcm") else {
        return;
    };
    let said = a.ok(&["case", "attach", &case, cine.to_str().unwrap()]);
    assert!(
        said.contains("another frame: consilium case frame"),
        "{said}"
    );
    let loop_id = a.json(&["case", "show", &case])["attachments"][5]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let chosen = a.json(&[
        "case",
        "frame",
        &case,
        &loop_id,
        cine.to_str().unwrap(),
        "10",
    ]);
    assert_eq!(chosen[0]["id"], loop_id.as_str(), "{chosen}");
    assert_eq!(chosen[0]["report"]["dicom"]["frame"], 9, "{chosen}");
    let zero = a.run(&[
        "case",
        "frame",
        &case,
        &loop_id,
        cine.to_str().unwrap(),
        "0",
    ]);
    assert!(!zero.status.success(), "frames count from 1");
    let sent = a.run(&["case", "frame", &case, &id(4), chest.to_str().unwrap(), "1"]);
    assert!(!sent.status.success(), "a sent image is no longer changed");
}
