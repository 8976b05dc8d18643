//! Vault benchmarks, each beside the baseline that bounds it, measured in the same run:
//! - the case store on SQLCipher vs the same schema and code on plain SQLite (10 000 cases:
//!   insert, list, full-text search);
//! - blob encryption and decryption vs raw `ring` AES-256-GCM over the same buffer.
//!
//! `tests/bench/report.py` turns criterion's estimates into the ratios in docs/BENCHMARKS.md.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use consilium_model::{BlobId, CaseFields, CaseFilter, Timestamp};
use consilium_store::blob::{BlobOpener, BlobSealer, open_in_place, seal_in_place, sealed_len};
use consilium_store::{CaseDb, Entropy, SecretKey, SystemEntropy};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use zeroize::Zeroizing;

const CASES: usize = 10_000;

fn scratch_root() -> PathBuf {
    // Both variants on the same storage; tmpfs when there is one, so fsync cost does not hide
    // the cost of encryption that is being compared.
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

fn entropy() -> Arc<dyn Entropy> {
    Arc::new(SystemEntropy::new())
}

fn open(dir: &Path, keyed: bool) -> CaseDb {
    let path = dir.join("bench.db");
    let conn = if keyed {
        // Exactly how the vault opens its database.
        let key = SecretKey::random(&SystemEntropy::new()).unwrap();
        consilium_store::open_keyed(&path, &key).unwrap()
    } else {
        rusqlite::Connection::open(&path).unwrap()
    };
    CaseDb::from_connection(conn, entropy()).unwrap()
}

const WORDS: &[&str] = &[
    "erythema",
    "annular",
    "plaque",
    "pruritic",
    "vesicle",
    "biopsy",
    "lymphadenopathy",
    "fever",
    "arthralgia",
    "tick",
    "migrans",
    "psoriasis",
    "eczema",
    "urticaria",
    "melanoma",
    "naevus",
    "dermoscopy",
    "ulcer",
    "necrosis",
    "cellulitis",
    "abscess",
    "steroid",
    "methotrexate",
    "rash",
];

fn case_fields(i: usize) -> CaseFields {
    let w = |k: usize| WORDS[(i * 7 + k * 13) % WORDS.len()];
    let sentence = |k: usize| (0..24).map(|j| w(k + j)).collect::<Vec<_>>().join(" ");
    CaseFields {
        title: format!("Case {i}: {} {}", w(1), w(2)),
        chief_complaint: sentence(3),
        history: format!("{} {}", sentence(5), sentence(6)),
        examination: sentence(7),
        investigations: sentence(8),
        question: format!("{}? marker{}", sentence(9), i % 100),
        specialty: ["dermatology", "rheumatology", "infectious"][i % 3].into(),
        tags: vec![w(10).into(), w(11).into()],
        ..Default::default()
    }
}

fn fill(db: &mut CaseDb) {
    for i in 0..CASES {
        db.cases()
            .create(case_fields(i), Timestamp(i as i64))
            .unwrap();
    }
}

fn store(c: &mut Criterion) {
    let root = scratch_root();
    for (name, keyed) in [("sqlite", false), ("sqlcipher", true)] {
        let mut g = c.benchmark_group(format!("store_{name}"));
        g.sample_size(10);
        g.bench_function("insert_10k", |b| {
            b.iter_batched(
                || tempfile::tempdir_in(&root).unwrap(),
                |dir| {
                    let mut db = open(dir.path(), keyed);
                    fill(&mut db);
                    dir
                },
                BatchSize::PerIteration,
            )
        });
        let dir = tempfile::tempdir_in(&root).unwrap();
        let mut db = open(dir.path(), keyed);
        fill(&mut db);
        g.bench_function("list_10k", |b| {
            b.iter(|| {
                assert_eq!(
                    db.cases().list(&CaseFilter::default()).unwrap().len(),
                    CASES
                )
            })
        });
        g.bench_function("list_tag_10k", |b| {
            b.iter(|| {
                db.cases()
                    .list(&CaseFilter {
                        tag: Some("biopsy".into()),
                        ..Default::default()
                    })
                    .unwrap()
            })
        });
        g.bench_function("search_10k", |b| {
            b.iter(|| {
                assert!(
                    !db.search()
                        .query("marker42 erythema", 100)
                        .unwrap()
                        .is_empty()
                )
            })
        });
        g.finish();
    }
}

/// The same per-case inserts on the real file system, where every commit is fsynced
/// (`synchronous = FULL`): what a physician's laptop does. Fewer cases, since each costs a flush.
fn store_on_disk(c: &mut Criterion) {
    let root = std::env::temp_dir();
    for (name, keyed) in [("sqlite", false), ("sqlcipher", true)] {
        let mut g = c.benchmark_group(format!("store_disk_{name}"));
        g.sample_size(10);
        g.bench_function("insert_1k", |b| {
            b.iter_batched(
                || tempfile::tempdir_in(&root).unwrap(),
                |dir| {
                    let db = open(dir.path(), keyed);
                    for i in 0..1000 {
                        db.cases()
                            .create(case_fields(i), Timestamp(i as i64))
                            .unwrap();
                    }
                    dir
                },
                BatchSize::PerIteration,
            )
        });
        g.finish();
    }
}

fn blobs(c: &mut Criterion) {
    const LEN: usize = 32 * 1024 * 1024;
    let plain: Vec<u8> = (0..LEN).map(|i| (i * 31 % 251) as u8).collect();
    let key = SecretKey::random(&SystemEntropy::new()).unwrap();
    let id = BlobId::from_bytes([3; 16]);
    let e = SystemEntropy::new();
    let raw_key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key.expose()).unwrap());

    let mut g = c.benchmark_group("blob");
    g.sample_size(20);
    g.throughput(Throughput::Bytes(LEN as u64));
    g.bench_function("raw_ring_seal", |b| {
        b.iter_batched_ref(
            || {
                let mut v = plain.clone();
                v.reserve(16);
                v
            },
            |buf| {
                raw_key
                    .seal_in_place_append_tag(
                        Nonce::assume_unique_for_key([0; 12]),
                        Aad::empty(),
                        buf,
                    )
                    .unwrap()
            },
            BatchSize::LargeInput,
        )
    });
    // What the vault does: seal the rendition's own buffer in place.
    g.bench_function("blob_seal", |b| {
        b.iter_batched_ref(
            || {
                let mut v = plain.clone();
                v.reserve(sealed_len(LEN) - LEN);
                v
            },
            |buf| seal_in_place(buf, &key, &id, &e).unwrap(),
            BatchSize::LargeInput,
        )
    });
    // The streaming writer, for sources that do not fit in memory. Output buffers are reused
    // (already touched), as the baseline's buffer is.
    let mut out = Vec::with_capacity(LEN + LEN / 1000 + 64);
    g.bench_function("blob_seal_streaming", |b| {
        b.iter(|| {
            out.clear();
            let mut s = BlobSealer::new(&mut out, &key, &id, &e).unwrap();
            s.write_all(&plain).unwrap();
            s.finish().unwrap();
        })
    });
    let mut sealed_raw = plain.clone();
    raw_key
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key([0; 12]),
            Aad::empty(),
            &mut sealed_raw,
        )
        .unwrap();
    g.bench_function("raw_ring_open", |b| {
        b.iter_batched_ref(
            || sealed_raw.clone(),
            |buf| {
                raw_key
                    .open_in_place(Nonce::assume_unique_for_key([0; 12]), Aad::empty(), buf)
                    .unwrap();
            },
            BatchSize::LargeInput,
        )
    });
    let mut sealed = Vec::new();
    let mut s = BlobSealer::new(&mut sealed, &key, &id, &e).unwrap();
    s.write_all(&plain).unwrap();
    s.finish().unwrap();
    g.bench_function("blob_open", |b| {
        b.iter_batched_ref(
            || Zeroizing::new(sealed.clone()),
            |buf| {
                open_in_place(buf, &key, &id).unwrap();
                assert_eq!(buf.len(), LEN);
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("blob_open_streaming", |b| {
        let mut opened = Vec::with_capacity(LEN + 64 * 1024);
        b.iter(|| {
            opened.clear();
            let mut o = BlobOpener::new(std::io::Cursor::new(&sealed[..]), &key, &id).unwrap();
            std::io::Read::read_to_end(&mut o, &mut opened).unwrap();
            assert_eq!(opened.len(), LEN);
        })
    });
    g.finish();
}

/// Unlocking a vault: dominated by Argon2id with the interactive parameters (goal ≈ 0.5 s).
fn unlock(c: &mut Criterion) {
    use consilium_store::{KdfParams, Passphrase, Profile, Vault};
    let dir = tempfile::tempdir().unwrap();
    let pass = Passphrase::new("bench passphrase");
    let profile = Profile {
        name: "Dr Bench".into(),
        specialty: String::new(),
        created_at: Timestamp(0),
    };
    Vault::create(
        dir.path(),
        &pass,
        &profile,
        KdfParams::INTERACTIVE,
        entropy(),
    )
    .unwrap()
    .lock();
    let mut g = c.benchmark_group("vault");
    g.sample_size(10);
    g.bench_function("unlock_interactive_kdf", |b| {
        b.iter(|| Vault::open(dir.path(), &pass, entropy()).unwrap().lock())
    });
    g.finish();
}

criterion_group!(benches, store, store_on_disk, blobs, unlock);
criterion_main!(benches);
