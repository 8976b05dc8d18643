//! The `consilium` binary driven as a user would: fresh profiles, real photos with metadata
//! written by exiftool, exiftool as the judge of exported images, raw scans of the profile
//! directory, damaged vaults, and SIGKILL in the middle of an import.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use consilium_testkit::{camera_photo, forbidden_metadata, sample, scratch};
use serde_json::Value;

const PASS: &str = "correct horse battery staple";

struct Profile {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    work: PathBuf,
}

impl Profile {
    fn new() -> Profile {
        let tmp = scratch();
        let dir = tmp.path().join("profile");
        let work = tmp.path().join("work");
        std::fs::create_dir(&work).unwrap();
        let p = Profile {
            _tmp: tmp,
            dir,
            work,
        };
        p.ok(&[
            "init",
            "--name",
            "Dr Ada Test",
            "--specialty",
            "dermatology",
        ]);
        p
    }

    fn cmd(&self, args: &[&str], pass: &str) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_consilium"));
        c.arg("--profile")
            .arg(&self.dir)
            .args(args)
            .env("CONSILIUM_PASSPHRASE", pass)
            .env_remove("CONSILIUM_PROFILE");
        c
    }

    fn run_with(&self, args: &[&str], pass: &str) -> Output {
        self.cmd(args, pass).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run_with(args, PASS);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        serde_json::from_str(&self.ok(&a)).unwrap()
    }

    /// Runs a command that must fail cleanly; returns its one-line message.
    fn fails(&self, args: &[&str], pass: &str) -> String {
        let out = self.run_with(args, pass);
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?} should fail with status 1; stderr: {stderr}"
        );
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
            "{stderr}"
        );
        stderr
    }

    fn new_case(&self, title: &str) -> String {
        self.json(&["case", "new", "--title", title])["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn attach(&self, case: &str, file: &Path, extra: &[&str]) -> Value {
        let mut args = vec!["case", "attach", case, file.to_str().unwrap()];
        args.extend_from_slice(extra);
        self.json(&args)[0].clone()
    }

    fn export(&self, case: &str, att: &str, rendition: &str) -> PathBuf {
        let out = self.work.join(format!("{att}-{rendition}.img"));
        self.ok(&[
            "case",
            "export-attachment",
            case,
            att,
            out.to_str().unwrap(),
            "--rendition",
            rendition,
        ]);
        out
    }

    fn all_files(&self) -> Vec<PathBuf> {
        consilium_testkit::files_under(&self.dir)
    }

    fn blob_files(&self) -> usize {
        std::fs::read_dir(self.dir.join("blobs")).unwrap().count()
    }
}

fn open_image(path: &Path) -> image::DynamicImage {
    image::ImageReader::open(path)
        .unwrap()
        .with_guessed_format()
        .unwrap()
        .decode()
        .unwrap()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn nothing_readable_is_left_on_disk_after_a_case_and_a_photo_are_stored() {
    let p = Profile::new();
    let marker = "ZQXMARKER4711";
    let case = p.json(&[
        "case",
        "new",
        "--title",
        &format!("Rash {marker}"),
        "--history",
        &format!("seen by {marker}"),
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    p.ok(&["case", "comment", &case, &format!("comment {marker}")]);
    let photo = camera_photo(&p.work, "cam.jpg", 1200, 900, 1, marker);
    let original = std::fs::read(&photo).unwrap();
    p.attach(&case, &photo, &[]);

    let mut needles: Vec<Vec<u8>> = [
        marker,
        "CanonMarkerMake",
        "MarkerModel",
        "SN-4242-MARKER",
        "LENS-777-MARKER",
        "Jane Marker-Doe",
        "Dr XMP Marker",
        "iptc-marker",
        "Dr Ada Test",
        "dermatology",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    // Windows of the original file: its EXIF block, its embedded thumbnail and its scan data.
    for at in [
        20,
        original.len() / 4,
        original.len() / 2,
        original.len() - 200,
    ] {
        needles.push(original[at..at + 48].to_vec());
    }
    let files = p.all_files();
    assert!(files.len() >= 5, "{files:?}");
    #[cfg(unix)]
    for file in files.iter().chain([&p.dir, &p.dir.join("blobs")]) {
        use std::os::unix::fs::PermissionsExt;
        let name = file.file_name().unwrap().to_string_lossy();
        if name == "vault.lock" {
            continue;
        }
        let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode & 0o077,
            0,
            "{} is readable by others ({mode:o})",
            file.display()
        );
    }
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        for n in &needles {
            assert!(
                !contains(&bytes, n),
                "{} contains {:?}",
                file.display(),
                String::from_utf8_lossy(&n[..n.len().min(20)])
            );
        }
    }
}

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

#[test]
fn bad_passphrases_missing_vaults_and_bad_images_fail_cleanly_and_leave_the_vault_intact() {
    let p = Profile::new();
    let case = p.new_case("Intact after errors");
    p.attach(
        &case,
        &camera_photo(&p.work, "ok.jpg", 400, 300, 1, "m"),
        &[],
    );

    assert!(
        p.fails(&["case", "list"], "wrong passphrase")
            .contains("wrong passphrase")
    );
    let missing = Profile {
        _tmp: scratch(),
        dir: p.work.join("nowhere"),
        work: p.work.clone(),
    };
    assert!(missing.fails(&["case", "list"], PASS).contains("no vault"));
    assert!(
        p.fails(&["init", "--name", "again"], PASS)
            .contains("already exists")
    );

    let photo = std::fs::read(camera_photo(&p.work, "src.jpg", 800, 600, 1, "m")).unwrap();
    let truncated = p.work.join("truncated.jpg");
    std::fs::write(&truncated, &photo[..photo.len() / 2]).unwrap();
    let garbage = p.work.join("garbage.png");
    std::fs::write(&garbage, [&b"\x89PNG\r\n\x1a\n"[..], &[0x42; 300]].concat()).unwrap();
    let pdf = p.work.join("scan.pdf");
    std::fs::write(&pdf, b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n").unwrap();
    let mut bomb = Vec::new();
    image::RgbImage::new(1, 1)
        .write_to(
            &mut std::io::Cursor::new(&mut bomb),
            image::ImageFormat::Png,
        )
        .unwrap();
    bomb[16..24].copy_from_slice(&[0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0]); // 100 000 × 100 000
    let bomb_path = p.work.join("bomb.png");
    std::fs::write(&bomb_path, &bomb).unwrap();

    let cases: Vec<(PathBuf, &str)> = vec![
        (truncated, "truncated"),
        (garbage, "damaged"),
        (pdf, "not an image"),
        (bomb_path, ""),
    ];
    for (file, expect) in cases {
        let msg = p.fails(&["case", "attach", &case, file.to_str().unwrap()], PASS);
        assert!(msg.contains(expect), "{}: {msg}", file.display());
    }
    if let Some(tiff_bomb) = sample("oom-225817ca0f8c663be7ab4b9e717b02c661e66834.tif") {
        p.fails(
            &["case", "attach", &case, tiff_bomb.to_str().unwrap()],
            PASS,
        );
    }
    if let Some(ico) = sample("hopper.ico") {
        let msg = p.fails(&["case", "attach", &case, ico.to_str().unwrap()], PASS);
        assert!(
            msg.contains("not supported") || msg.contains("not an image"),
            "{msg}"
        );
    }
    p.fails(&["case", "show", "ffffffff"], PASS);
    p.fails(&["case", "attach", &case, "/nonexistent/photo.jpg"], PASS);

    let shown = p.json(&["case", "show", &case]);
    assert_eq!(shown["fields"]["title"], "Intact after errors");
    assert_eq!(shown["attachments"].as_array().unwrap().len(), 1);
    assert_eq!(
        p.blob_files(),
        3,
        "no file left behind by the failed imports"
    );
}

#[test]
fn a_truncated_database_and_a_tampered_blob_are_reported_not_returned() {
    let p = Profile::new();
    let case = p.new_case("Tamper");
    let att = p.attach(
        &case,
        &camera_photo(&p.work, "t.jpg", 600, 400, 1, "m"),
        &[],
    );
    let id = att["id"].as_str().unwrap().to_string();

    // Flip one byte in the middle of every blob file.
    for e in std::fs::read_dir(p.dir.join("blobs")).unwrap().flatten() {
        let mut b = std::fs::read(e.path()).unwrap();
        let mid = b.len() / 2;
        b[mid] ^= 0x01;
        std::fs::write(e.path(), b).unwrap();
    }
    let out = p.work.join("tampered.jpg");
    let msg = p.fails(
        &[
            "case",
            "export-attachment",
            &case,
            &id,
            out.to_str().unwrap(),
        ],
        PASS,
    );
    assert!(msg.contains("damaged or was tampered"), "{msg}");
    assert!(
        !out.exists() && !p.work.join("tampered.jpg.partial").exists(),
        "nothing half-written is left"
    );
    assert_eq!(
        p.json(&["case", "show", &case])["fields"]["title"],
        "Tamper",
        "the rest of the vault still opens"
    );

    // Now cut the database file in half.
    let db = p.dir.join("vault.db");
    let bytes = std::fs::read(&db).unwrap();
    std::fs::write(&db, &bytes[..bytes.len() / 2]).unwrap();
    let msg = p.fails(&["case", "list"], PASS);
    assert!(msg.contains("damaged or truncated"), "{msg}");
    std::fs::write(&db, b"").unwrap();
    assert!(p.fails(&["case", "list"], PASS).contains("damaged"));
    // A wrong passphrase is still told apart from damage.
    assert!(
        p.fails(&["case", "list"], "nope")
            .contains("wrong passphrase")
    );
}

#[test]
fn a_reader_that_closes_the_pipe_early_is_not_an_error() {
    let p = Profile::new();
    for i in 0..5 {
        p.new_case(&format!("case {i}"));
    }
    let mut child = p
        .cmd(&["case", "list"], PASS)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // closed before the vault is even unlocked
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_changed_passphrase_opens_the_vault_and_the_old_one_does_not() {
    let p = Profile::new();
    let case = p.new_case("Passphrase change");
    let out = p
        .cmd(&["passphrase", "change"], PASS)
        .env("CONSILIUM_NEW_PASSPHRASE", "a new long passphrase")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        p.fails(&["case", "list"], PASS)
            .contains("wrong passphrase")
    );
    let out = p.run_with(&["--json", "case", "show", &case], "a new long passphrase");
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["fields"]["title"], "Passphrase change");
    // Changing needs the current passphrase.
    let out = p
        .cmd(&["passphrase", "change"], PASS)
        .env("CONSILIUM_NEW_PASSPHRASE", "x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn cases_are_edited_resolved_listed_filtered_and_searched() {
    let p = Profile::new();
    let a = p.json(&[
        "case",
        "new",
        "--title",
        "Annular plaque",
        "--tag",
        "derm",
        "--specialty",
        "Dermatology",
        "--age-band",
        "93",
        "--question-kind",
        "diagnosis",
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b = p.new_case("Chest pain");
    let toml = p.work.join("case.toml");
    std::fs::write(&toml, "title = \"Pemphigus\"\nhistory = \"oral erosions\"\ntags = [\"derm\"]\nage_band = \"60-69\"\n").unwrap();
    let c = p.json(&["case", "new", "--from-file", toml.to_str().unwrap()])["id"]
        .as_str()
        .unwrap()
        .to_string();

    let shown = p.json(&["case", "show", &a]);
    assert_eq!(shown["fields"]["age_band"], "90+", "ages over 89 collapse");
    p.ok(&[
        "case",
        "edit",
        &a[..8],
        "--title",
        "Erythema migrans",
        "--history",
        "tick bite",
    ]);
    p.ok(&[
        "case",
        "resolve",
        &b,
        "--outcome",
        "Pericarditis, responded to colchicine",
    ]);
    let comment = p.json(&["case", "comment", &c, "Nikolsky sign?"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    p.ok(&["case", "comment", &c, "Positive", "--reply-to", &comment]);

    let shown = p.json(&["case", "show", &a]);
    assert_eq!(shown["revision"], 2);
    assert_eq!(shown["fields"]["tags"], serde_json::json!(["derm"]));
    let derm = p.json(&["case", "list", "--tag", "derm"]);
    assert_eq!(derm.as_array().unwrap().len(), 2);
    assert!(derm.as_array().unwrap().iter().all(|c| c["id"].is_string()));
    let resolved = p.json(&["case", "list", "--status", "resolved"]);
    assert_eq!(resolved[0]["id"], b.as_str());
    assert_eq!(
        p.json(&["case", "list", "--specialty", "dermatology"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        p.json(&["case", "search", "colchicine"])[0]["id"],
        b.as_str()
    );
    assert_eq!(p.json(&["case", "search", "nikolsky"])[0]["id"], c.as_str());
    assert_eq!(
        p.json(&["case", "search", "migrans tick"])[0]["id"],
        a.as_str()
    );
    assert!(
        p.json(&["case", "search", "annular"])
            .as_array()
            .unwrap()
            .is_empty(),
        "old revision not indexed"
    );
    assert!(
        p.fails(
            &["case", "new", "--title", "x", "--question-kind", "surgery"],
            PASS
        )
        .contains("surgery")
    );
    assert!(
        p.fails(&["case", "edit", &a], PASS)
            .contains("nothing to change")
    );
}

/// Kills the CLI with SIGKILL at several points of a multi-file import; each time the vault
/// opens, every attachment it lists exports whole, and no orphaned file survives the next open.
#[test]
#[cfg(unix)]
fn sigkill_during_a_large_import_leaves_a_consistent_vault() {
    let p = Profile::new();
    let case = p.new_case("Crash safety");
    let photos: Vec<PathBuf> = (0..12)
        .map(|i| camera_photo(&p.work, &format!("big{i}.jpg"), 2400, 1800, 1, "m"))
        .collect();
    let mut killed_mid_import = 0;
    for round in 0..4u64 {
        let mut args: Vec<&str> = vec!["case", "attach", &case];
        args.extend(photos.iter().map(|p| p.to_str().unwrap()));
        let before = p.blob_files();
        let mut child = p.cmd(&args, PASS).spawn().unwrap();
        // Wait until the import has written some files, then kill at a slightly different point.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while p.blob_files() < before + 2 + round as usize && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        std::thread::sleep(std::time::Duration::from_millis(37 * round));
        if child.try_wait().unwrap().is_none() {
            killed_mid_import += 1;
        }
        child.kill().unwrap();
        child.wait().unwrap();

        let shown = p.json(&["case", "show", &case]);
        let atts = shown["attachments"].as_array().unwrap().clone();
        assert_eq!(
            p.blob_files(),
            atts.len() * 3,
            "round {round}: orphans swept, records complete"
        );
        for a in &atts {
            let id = a["id"].as_str().unwrap();
            for r in ["full", "preview", "thumbnail"] {
                let out = p.export(&case, id, r);
                open_image(&out);
                std::fs::remove_file(out).unwrap();
            }
        }
    }
    assert!(
        killed_mid_import >= 2,
        "the kill must land during the import"
    );
}
