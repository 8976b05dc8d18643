//! What the face proposal adds to an import. A 12 MP camera-sized photo (Pillow's portrait
//! scaled up to 4032 × 3024 and encoded as JPEG) is imported with and without the proposal; the
//! import without it is the baseline measured in the same run. The detector works on a copy at
//! most `DETECT_SIDE` pixels long, so its cost should stay a fraction of the decode and encodes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use consilium_deid::{CleanOptions, ImportLimits, clean_image, propose_faces};
use criterion::{Criterion, criterion_group, criterion_main};

fn photo() -> Option<Vec<u8>> {
    let path = consilium_testkit::sample("hopper.jpg")?;
    let small = image::open(path).ok()?;
    let big = small.resize_exact(4032, 3024, image::imageops::FilterType::Triangle);
    let mut out = std::io::Cursor::new(Vec::new());
    big.to_rgb8()
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .unwrap();
    Some(out.into_inner())
}

fn bench(c: &mut Criterion) {
    let Some(bytes) = photo() else {
        eprintln!("skipping: run tests/samples/fetch.sh");
        return;
    };
    let limits = ImportLimits::default();
    let with = CleanOptions {
        propose_faces: true,
        ..CleanOptions::default()
    };
    let found = clean_image(&bytes, &with, &limits)
        .unwrap()
        .report
        .proposals;
    assert_eq!(found.len(), 1, "the portrait's face is found at 12 MP");

    let mut g = c.benchmark_group("import_12mp");
    g.sample_size(10);
    g.bench_function("baseline_without_faces", |b| {
        b.iter(|| clean_image(&bytes, &CleanOptions::default(), &limits).unwrap())
    });
    g.bench_function("with_face_proposal", |b| {
        b.iter(|| clean_image(&bytes, &with, &limits).unwrap())
    });
    g.finish();

    let decoded = image::load_from_memory(&bytes).unwrap();
    let mut g = c.benchmark_group("faces_12mp");
    g.sample_size(10);
    g.bench_function("propose_faces", |b| b.iter(|| propose_faces(&decoded)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
