//! Test support: the corpus of real-world images nobody on the project wrote, exiftool checks,
//! and photo fixtures with real metadata written by exiftool. Used only by tests and benches.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

pub mod load_balancer;
pub mod services;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Folder of Pillow's test images (real camera photos, broken and hostile files), fetched from
/// PyPI by `tests/samples/fetch.sh`. `None` when absent, unless `CONSILIUM_REQUIRE_SAMPLES=1`
/// (set by the project's test command), in which case a missing corpus fails the test.
pub fn samples_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("CONSILIUM_SAMPLES")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/consilium-samples"))
        })?;
    let images = dir.join("pillow/Tests/images");
    if images.is_dir() {
        return Some(images);
    }
    if std::env::var("CONSILIUM_REQUIRE_SAMPLES").as_deref() == Ok("1") {
        panic!(
            "sample corpus missing at {}; run tests/samples/fetch.sh",
            images.display()
        );
    }
    eprintln!("skipping: sample corpus not fetched (tests/samples/fetch.sh)");
    None
}

/// One sample file by name; see [`samples_dir`].
pub fn sample(name: &str) -> Option<PathBuf> {
    samples_dir().map(|d| d.join(name))
}

/// `name` in the fetched corpus folder `sub` (see `tests/samples/fetch.sh`), or `None` (with a
/// note) when the corpus is not there and not required.
fn corpus_file(sub: &str, what: &str, name: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("CONSILIUM_SAMPLES")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/consilium-samples"))
        })?
        .join(sub);
    if dir.is_dir() {
        return Some(dir.join(name));
    }
    if std::env::var("CONSILIUM_REQUIRE_SAMPLES").as_deref() == Ok("1") {
        panic!(
            "{what} corpus missing at {}; run tests/samples/fetch.sh",
            dir.display()
        );
    }
    eprintln!("skipping: {what} corpus not fetched (tests/samples/fetch.sh)");
    None
}

/// One of the DICOM test files `pydicom` ships (fetched from PyPI by `tests/samples/fetch.sh`).
pub fn pydicom_file(name: &str) -> Option<PathBuf> {
    corpus_file("pydicom/test_files", "DICOM", name)
}

/// One of pillow-heif's HEIF test images (real iPhone, Samsung and Xiaomi photos, damaged
/// files), fetched from PyPI by `tests/samples/fetch.sh`.
pub fn heif_file(name: &str) -> Option<PathBuf> {
    corpus_file("pillow_heif/tests/images", "HEIF", name)
}

/// Metadata groups exiftool may report for a clean file: file-system facts, the JFIF/PNG
/// headers an encoder writes, and exiftool's own derived values.
pub const CLEAN_GROUPS: &[&str] = &[
    "SourceFile",
    "ExifTool",
    "System",
    "File",
    "JFIF",
    "PNG",
    "Composite",
];

/// Every metadata group exiftool finds in `file` (`-G1 -a -u`, so unknown and duplicate tags
/// count too).
pub fn exiftool_groups(file: &Path) -> BTreeSet<String> {
    let out = Command::new("exiftool")
        .args(["-j", "-G1", "-a", "-u", "-b"])
        .arg(file)
        .output()
        .expect("exiftool must be installed (apt-get install libimage-exiftool-perl)");
    assert!(
        out.status.success(),
        "exiftool failed on {}",
        file.display()
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let obj = v[0].as_object().unwrap();
    obj.keys()
        .map(|k| k.split(':').next().unwrap_or(k).to_string())
        .collect()
}

/// Metadata groups of every file under `dir`, from one exiftool run (fast for a corpus).
pub fn exiftool_scan(dir: &Path) -> std::collections::BTreeMap<PathBuf, BTreeSet<String>> {
    exiftool_tags(dir)
        .into_iter()
        .map(|(path, tags)| {
            let groups = tags
                .iter()
                .map(|k| k.split(':').next().unwrap_or(k).to_string())
                .collect();
            (path, groups)
        })
        .collect()
}

/// Every tag exiftool finds in each file under `dir`, as `Group:Tag` (`-G1 -a -u`).
pub fn exiftool_tags(dir: &Path) -> std::collections::BTreeMap<PathBuf, BTreeSet<String>> {
    let out = Command::new("exiftool")
        .args(["-j", "-G1", "-a", "-u", "-r", "-q", "-q"])
        .arg(dir)
        .output()
        .expect("exiftool must be installed (apt-get install libimage-exiftool-perl)");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::json!([]));
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let obj = entry.as_object()?;
            let path = PathBuf::from(obj.get("SourceFile")?.as_str()?);
            Some((path, obj.keys().cloned().collect()))
        })
        .collect()
}

/// The groups of `file` that a cleaned image must not have; empty when clean.
pub fn forbidden_metadata(file: &Path) -> BTreeSet<String> {
    exiftool_groups(file)
        .into_iter()
        .filter(|g| !CLEAN_GROUPS.contains(&g.as_str()))
        .collect()
}

/// Writes a camera-like JPEG (`width`×`height`, textured pixels) and then, with exiftool, EXIF
/// with GPS position, camera make/model and serial numbers, a date, an XMP packet, IPTC, an
/// embedded thumbnail and the given orientation. Returns the file's path inside `dir`.
pub fn camera_photo(
    dir: &Path,
    name: &str,
    width: u32,
    height: u32,
    orientation: u8,
    marker: &str,
) -> PathBuf {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        let v = ((x * 7 + y * 13) ^ (x * y)) as u8;
        image::Rgb([v, v.wrapping_add(80), 255 - v])
    });
    let path = dir.join(name);
    img.save(&path).unwrap();
    let thumb = dir.join(format!("{name}.thumb.jpg"));
    image::DynamicImage::ImageRgb8(img)
        .thumbnail(160, 120)
        .to_rgb8()
        .save(&thumb)
        .unwrap();
    let status = Command::new("exiftool")
        .args(["-q", "-overwrite_original"])
        .args([
            "-EXIF:Make=CanonMarkerMake",
            "-EXIF:Model=PowerShot MarkerModel",
            "-EXIF:SerialNumber=SN-4242-MARKER",
            "-EXIF:LensSerialNumber=LENS-777-MARKER",
            "-EXIF:DateTimeOriginal=2024:03:05 14:22:01",
            "-EXIF:GPSLatitude=48.8566",
            "-EXIF:GPSLatitudeRef=N",
            "-EXIF:GPSLongitude=2.3522",
            "-EXIF:GPSLongitudeRef=E",
            "-EXIF:ImageDescription=Patient Jane Marker-Doe",
            "-XMP-dc:Creator=Dr XMP Marker",
            "-XMP-dc:Description=Ward 7 bed 3",
            "-IPTC:Keywords=iptc-marker",
            "-IPTC:City=Lyon",
        ])
        .arg(format!("-EXIF:Orientation#={orientation}"))
        .arg(format!("-EXIF:UserComment={marker}"))
        .arg(format!("-ThumbnailImage<={}", thumb.display()))
        .arg(&path)
        .status()
        .expect("exiftool must be installed");
    assert!(status.success());
    path
}

/// Copies the folder `from` into `to`, at any depth (a profile or a backup "carried" to
/// another disk).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Every file under `dir`, at any depth.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The files under `dir` whose bytes contain `needle` (a file that vanished meanwhile, such as a
/// WAL file SQLite removed on close, holds nothing).
pub fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|f| {
            std::fs::read(f).is_ok_and(|data| data.windows(needle.len()).any(|w| w == needle))
        })
        .collect()
}

/// The peak resident memory of process `pid` so far, in bytes: the kernel's own count
/// (`VmHWM` in `/proc/PID/status`), which an address-space limit does not measure.
pub fn peak_resident_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024
}

/// Lowers the process's peak resident size to what it holds now (Linux `clear_refs` 5), so
/// a later `peak_resident_bytes` measures only what came after.
pub fn reset_peak_resident(pid: u32) {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();
}

/// A scratch directory for one test.
pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// A 12-megapixel (4000×3000) camera JPEG for benchmarks: Pillow's real Canon photo
/// (`flower.jpg`) scaled up, with deterministic sensor-like noise so it compresses like a real
/// photo, and the original's EXIF (maker notes, thumbnail) copied in with exiftool. Falls back
/// to [`camera_photo`] when the corpus is absent.
pub fn photo_12mp(dir: &Path) -> PathBuf {
    let path = dir.join("photo-12mp.jpg");
    let Some(src) = sample("flower.jpg") else {
        return camera_photo(dir, "photo-12mp.jpg", 4000, 3000, 1, "bench");
    };
    let base = image::open(&src)
        .unwrap()
        .resize_exact(4000, 3000, image::imageops::FilterType::Triangle)
        .to_rgb8();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let noisy = image::RgbImage::from_fn(4000, 3000, |x, y| {
        let p = base.get_pixel(x, y).0;
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let n = (state % 17) as i16 - 8;
        image::Rgb(p.map(|c| (i16::from(c) + n).clamp(0, 255) as u8))
    });
    let file = std::fs::File::create(&path).unwrap();
    image::codecs::jpeg::JpegEncoder::new_with_quality(std::io::BufWriter::new(file), 92)
        .encode_image(&noisy)
        .unwrap();
    let status = Command::new("exiftool")
        .args(["-q", "-overwrite_original", "-TagsFromFile"])
        .arg(&src)
        .args(["-all:all", "-ThumbnailImage"])
        .arg(&path)
        .status()
        .expect("exiftool must be installed");
    assert!(status.success());
    path
}
