//! The text scan's speed on what physicians write: the corpus sentences (identifiers and clean
//! clinical text, markers removed) repeated to 1 MiB, with a deny-list of five names. Baseline in
//! the same run: one pass of a single compiled regex over the same bytes (the least any
//! regex-based scan costs). Throughput is reported in MB/s; `tests/bench/report.py` prints the
//! ratio.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use consilium_deid::{DenyList, scan};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// The corpus text without its `[[kind|text]]` markers.
fn corpus_text() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut text = String::new();
    for name in ["identifiers.txt", "clean.txt"] {
        let raw = std::fs::read_to_string(dir.join(name)).unwrap();
        for line in raw.lines() {
            let Some((_, mut rest)) = line.split_once('\t') else {
                continue;
            };
            while let Some(open) = rest.find("[[") {
                text.push_str(&rest[..open]);
                let close = rest[open..].find("]]").unwrap() + open;
                let inner = &rest[open + 2..close];
                text.push_str(inner.split_once('|').map_or(inner, |(_, shown)| shown));
                rest = &rest[close + 2..];
            }
            text.push_str(rest);
            text.push('\n');
        }
    }
    let mut big = String::with_capacity(1 << 20);
    while big.len() < 1 << 20 {
        big.push_str(&text);
    }
    big
}

fn bench(c: &mut Criterion) {
    let text = corpus_text();
    let deny = DenyList::new(&[
        "Hélène Dupont",
        "José Núñez",
        "Wolfgang Hartmann",
        "Aoife Byrne",
        "Yılmaz",
    ]);
    let one = regex::Regex::new(r"\d{8,}").unwrap();
    let mut g = c.benchmark_group("text_scan_1mib");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.sample_size(10);
    g.bench_function("consilium_scan", |b| b.iter(|| scan(&text, &deny).len()));
    g.bench_function("one_regex_pass", |b| {
        b.iter(|| one.find_iter(&text).count())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
