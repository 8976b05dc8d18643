//! What a DICOM file costs to import. NEMA's chest radiograph (1841 × 1955, 15 bits stored,
//! from pydicom's data package) imported from its JPEG 2000 lossless and lossy forms, against
//! the same radiograph stored uncompressed — the baseline, measured in the same run — so the
//! ratio is the JPEG 2000 decode. A 12 MP photo import is printed beside it for scale.
//!
//! The decoder process: the uncompressed radiograph's request answered by `consilium-decoder`
//! against the same request answered in this process (the baseline), so the ratio is what
//! starting the process and piping 7 MB in and 3.6 MB out cost.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use consilium_deid::confined::{answer, answer_from_process, request};
use consilium_deid::{CleanOptions, ImportLimits, clean_image};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let files: Vec<(&str, Vec<u8>)> = ["RG1_UNCR.dcm", "RG1_J2KR.dcm", "RG1_J2KI.dcm"]
        .into_iter()
        .filter_map(|name| {
            let path = consilium_testkit::pydicom_file(&format!("data_store/{name}"))?;
            Some((name, std::fs::read(path).ok()?))
        })
        .collect();
    if files.len() < 3 {
        eprintln!("skipping: run tests/samples/fetch.sh");
        return;
    }
    let limits = ImportLimits::default();
    let options = CleanOptions::default();
    let mut g = c.benchmark_group("import_chest_radiograph");
    g.sample_size(10);
    for (name, bytes) in &files {
        let label = match *name {
            "RG1_UNCR.dcm" => "baseline_uncompressed",
            "RG1_J2KR.dcm" => "jpeg2000_lossless",
            _ => "jpeg2000_lossy",
        };
        g.bench_function(label, |b| {
            b.iter(|| clean_image(bytes, &options, &limits).unwrap())
        });
    }
    g.finish();

    let (_, uncompressed) = &files[0];
    let encoded = request(uncompressed, false, None, &limits).unwrap();
    let mut g = c.benchmark_group("decoder_process");
    g.sample_size(10);
    g.bench_function("baseline_in_this_process", |b| b.iter(|| answer(&encoded)));
    g.bench_function("in_the_decoder_process", |b| {
        b.iter(|| answer_from_process(&encoded, &limits).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
