//! Import of a 12-megapixel camera JPEG through the engine (decode, orient, clean, preview,
//! thumbnail, encrypt, store) against `vipsthumbnail` making one thumbnail of the same file,
//! measured in the same run. Peak memory is measured by `tests/bench/run.sh` with GNU time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use consilium_client::model::CaseFields;
use consilium_client::{Engine, EngineConfig, KdfParams, Passphrase};
use criterion::{Criterion, criterion_group, criterion_main};

fn import(c: &mut Criterion) {
    let work = tempfile::tempdir().unwrap();
    let photo = consilium_testkit::photo_12mp(work.path());
    let bytes = std::fs::read(&photo).unwrap();
    let profile = work.path().join("profile");
    let config = EngineConfig {
        kdf: KdfParams::TEST_ONLY_WEAK,
        ..Default::default()
    };
    let mut engine =
        Engine::init(&profile, &Passphrase::new("bench"), "Dr Bench", "", config).unwrap();
    let case = engine
        .create_case(CaseFields {
            title: "bench".into(),
            ..Default::default()
        })
        .unwrap();

    let mut g = c.benchmark_group("import_12mp");
    g.sample_size(10);
    g.bench_function("vipsthumbnail", |b| {
        let out = work.path().join("vips-thumb.jpg");
        b.iter(|| {
            let status = Command::new("vipsthumbnail")
                .arg(&photo)
                .args(["--size", "320", "-o"])
                .arg(&out)
                .status()
                .expect("vipsthumbnail (apt-get install libvips-tools)");
            assert!(status.success());
        })
    });
    g.bench_function("consilium_attach", |b| {
        b.iter(|| {
            engine
                .attach_bytes(&case, &bytes, &Default::default())
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, import);
criterion_main!(benches);
