//! The vault at rest: nothing readable on disk, damage reported, passphrases, a killed import.

use crate::support::*;

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
    let attached = p.attach(&case, &photo, &[]);
    let exported = p.export(&case, attached["id"].as_str().unwrap(), "full");

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
    // Every file of the profile, the lock too, and an exported image: the owner's alone.
    #[cfg(unix)]
    for file in files
        .iter()
        .chain([&p.dir, &p.dir.join("blobs"), &exported])
    {
        use std::os::unix::fs::PermissionsExt;
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
