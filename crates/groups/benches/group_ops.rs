//! Group operations as Consilium does them (state in the SQLCipher vault, each operation one
//! committed transaction) against raw openmls with its in-memory provider, in the same run, on
//! a circle of 50: add a member, process another member's commit, and encrypt then decrypt a
//! 2 KiB message. Every state change is written to the vault and committed (fsync) before the
//! operation counts as done; the circle is loaded once and kept, as the engine's sync pass does
//! (loading it is measured on its own). `tests/bench/report.py` prints each pair as a ratio
//! (goal ≤ 1.5×).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_debug_implementations
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use consilium_groups::{CIPHERSUITE, Circle, Identity, Incoming, Provider, make_key_packages};
use consilium_store::{KdfParams, Passphrase, Profile, SystemEntropy, Vault};
use criterion::{Criterion, criterion_group, criterion_main};
use openmls::prelude::*;
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::OpenMlsRustCrypto;
use tls_codec::{Deserialize as _, Serialize as _};

const SIZE: usize = 50;

// --- raw openmls, in memory ---------------------------------------------------------------

struct RawMember {
    provider: OpenMlsRustCrypto,
    signer: SignatureKeyPair,
    credential: CredentialWithKey,
}

fn raw_member(name: &str) -> RawMember {
    let provider = OpenMlsRustCrypto::default();
    let signer = SignatureKeyPair::new(SignatureScheme::ED25519).unwrap();
    signer.store(provider.storage()).unwrap();
    let credential = CredentialWithKey {
        credential: BasicCredential::new(name.as_bytes().to_vec()).into(),
        signature_key: signer.public().into(),
    };
    RawMember {
        provider,
        signer,
        credential,
    }
}

/// A key package as it travels: an MLSMessage.
fn raw_key_package(m: &RawMember) -> Vec<u8> {
    let kp = KeyPackage::builder()
        .build(CIPHERSUITE, &m.provider, &m.signer, m.credential.clone())
        .unwrap();
    MlsMessageOut::from(kp.key_package().clone())
        .tls_serialize_detached()
        .unwrap()
}

fn raw_validate(provider: &OpenMlsRustCrypto, bytes: &[u8]) -> KeyPackage {
    let MlsMessageBodyIn::KeyPackage(kp) = MlsMessageIn::tls_deserialize_exact(bytes)
        .unwrap()
        .extract()
    else {
        panic!("not a key package")
    };
    kp.validate(provider.crypto(), ProtocolVersion::Mls10)
        .unwrap()
}

fn raw_config() -> MlsGroupCreateConfig {
    MlsGroupCreateConfig::builder()
        .ciphersuite(CIPHERSUITE)
        .use_ratchet_tree_extension(true)
        .max_past_epochs(0)
        .build()
}

/// Alice's group of 50 (Bob among them, with his own state).
fn raw_circle() -> (RawMember, MlsGroup, RawMember, MlsGroup) {
    let alice = raw_member("alice");
    let bob = raw_member("bob");
    let mut group = MlsGroup::new(
        &alice.provider,
        &alice.signer,
        &raw_config(),
        alice.credential.clone(),
    )
    .unwrap();
    let mut kps = vec![raw_validate(&alice.provider, &raw_key_package(&bob))];
    for i in 0..SIZE - 2 {
        let other = raw_member(&format!("m{i}"));
        kps.push(raw_validate(&alice.provider, &raw_key_package(&other)));
    }
    let (_, welcome, _) = group
        .add_members(&alice.provider, &alice.signer, &kps)
        .unwrap();
    group.merge_pending_commit(&alice.provider).unwrap();
    let MlsMessageBodyOut::Welcome(welcome) = welcome.body() else {
        panic!()
    };
    let bob_group = StagedWelcome::new_from_welcome(
        &bob.provider,
        &MlsGroupJoinConfig::builder()
            .use_ratchet_tree_extension(true)
            .max_past_epochs(0)
            .build(),
        welcome.clone(),
        None,
    )
    .unwrap()
    .into_group(&bob.provider)
    .unwrap();
    (alice, group, bob, bob_group)
}

fn raw_process(bob: &RawMember, group: &mut MlsGroup, message: MlsMessageOut) -> Vec<u8> {
    let bytes = message.tls_serialize_detached().unwrap();
    let protocol = MlsMessageIn::tls_deserialize_exact(&bytes)
        .unwrap()
        .try_into_protocol_message()
        .unwrap();
    let processed = group.process_message(&bob.provider, protocol).unwrap();
    match processed.into_content() {
        ProcessedMessageContent::ApplicationMessage(m) => m.into_bytes(),
        ProcessedMessageContent::StagedCommitMessage(staged) => {
            group.merge_staged_commit(&bob.provider, *staged).unwrap();
            vec![]
        }
        _ => panic!("unexpected"),
    }
}

// --- Consilium: state in the vault ----------------------------------------------------------

struct VaultMember {
    _dir: tempfile::TempDir,
    vault: Vault,
    id: Identity,
}

fn vault_member(name: &str) -> VaultMember {
    let dir = tempfile::tempdir().unwrap();
    let profile = Profile {
        name: name.into(),
        specialty: String::new(),
        created_at: consilium_model::Timestamp(0),
    };
    let mut vault = Vault::create(
        &dir.path().join("v"),
        &Passphrase::new("bench passphrase"),
        &profile,
        KdfParams::TEST_ONLY_WEAK,
        Arc::new(SystemEntropy::new()),
    )
    .unwrap();
    consilium_groups::migrate(vault.db_mut().connection_mut()).unwrap();
    VaultMember {
        _dir: dir,
        vault,
        id: Identity::generate().unwrap(),
    }
}

/// Runs `f` as one committed transaction on the member's vault, as the client does.
fn tx<T>(m: &VaultMember, f: impl FnOnce(&Provider<'_>) -> T) -> T {
    let conn = m.vault.db().connection();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    let out = f(&Provider::new(conn));
    conn.execute_batch("COMMIT").unwrap();
    out
}

fn vault_key_package(m: &VaultMember) -> Vec<u8> {
    tx(m, |p| {
        make_key_packages(p, &m.id, 1, false, 3600).unwrap()[0]
            .to_message_bytes()
            .unwrap()
    })
}

/// A key package of a member who never acts (its private half stays in a throwaway provider).
fn bystander_key_package() -> Vec<u8> {
    let provider = OpenMlsRustCrypto::default();
    make_key_packages(&provider, &Identity::generate().unwrap(), 1, false, 3600).unwrap()[0]
        .to_message_bytes()
        .unwrap()
}

fn vault_circle() -> (VaultMember, Vec<u8>, VaultMember) {
    let alice = vault_member("alice");
    let bob = vault_member("bob");
    // The other members' keys come from throwaway in-memory providers: only Alice and Bob act.
    let mut kps = vec![vault_key_package(&bob)];
    for _ in 0..SIZE - 2 {
        kps.push(bystander_key_package());
    }
    let (gid, welcome) = tx(&alice, |p| {
        let mut c = Circle::create(p, &alice.id).unwrap();
        let out = c.add(p, &alice.id, &kps).unwrap();
        c.confirm(p).unwrap();
        (c.id(), out.welcome.unwrap())
    });
    tx(&bob, |p| {
        Circle::join(p, &welcome, &[alice.id.public_key()]).unwrap()
    });
    (alice, gid, bob)
}

fn load(m: &VaultMember, p: &Provider<'_>, gid: &[u8]) -> Circle {
    let _ = m;
    Circle::load(p, gid).unwrap().unwrap()
}

// --- the benchmarks -----------------------------------------------------------------------

fn add_member(c: &mut Criterion) {
    let mut g = c.benchmark_group("group_add_to_50");
    g.sample_size(20);
    let (alice, mut group, _, _) = raw_circle();
    g.bench_function("raw_openmls_memory", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for i in 0..iters {
                let newcomer = raw_key_package(&raw_member(&format!("n{i}")));
                let start = Instant::now();
                let kp = raw_validate(&alice.provider, &newcomer);
                group
                    .add_members(&alice.provider, &alice.signer, &[kp])
                    .unwrap();
                group.merge_pending_commit(&alice.provider).unwrap();
                spent += start.elapsed();
                // Back to 50, untimed.
                let last = group.members().last().unwrap().index;
                group
                    .remove_members(&alice.provider, &alice.signer, &[last])
                    .unwrap();
                group.merge_pending_commit(&alice.provider).unwrap();
            }
            spent
        })
    });
    let (alice, gid, _bob) = vault_circle();
    let mut circle = tx(&alice, |p| load(&alice, p, &gid));
    g.bench_function("consilium_vault", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let kp = bystander_key_package();
                let start = Instant::now();
                tx(&alice, |p| {
                    circle.add(p, &alice.id, &[kp]).unwrap();
                    circle.confirm(p).unwrap();
                });
                spent += start.elapsed();
                tx(&alice, |p| {
                    let last = *circle.members().unwrap().last().unwrap();
                    circle.remove(p, &alice.id, &[last]).unwrap();
                    circle.confirm(p).unwrap();
                });
            }
            spent
        })
    });
    g.finish();
}

fn process_commit(c: &mut Criterion) {
    let mut g = c.benchmark_group("group_process_commit_50");
    g.sample_size(20);
    let (alice, mut ag, bob, mut bg) = raw_circle();
    g.bench_function("raw_openmls_memory", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let bundle = ag
                    .self_update(
                        &alice.provider,
                        &alice.signer,
                        LeafNodeParameters::default(),
                    )
                    .unwrap();
                ag.merge_pending_commit(&alice.provider).unwrap();
                let commit = bundle.into_commit();
                let start = Instant::now();
                raw_process(&bob, &mut bg, commit);
                spent += start.elapsed();
            }
            spent
        })
    });
    let (alice, gid, bob) = vault_circle();
    let (mut ac, mut bc) = (
        tx(&alice, |p| load(&alice, p, &gid)),
        tx(&bob, |p| load(&bob, p, &gid)),
    );
    g.bench_function("consilium_vault", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let commit = tx(&alice, |p| {
                    let out = ac.rotate(p, &alice.id).unwrap();
                    ac.confirm(p).unwrap();
                    out.commit
                });
                let start = Instant::now();
                let got = tx(&bob, |p| bc.open(p, &commit).unwrap());
                spent += start.elapsed();
                assert!(matches!(got, Incoming::Commit { .. }));
            }
            spent
        })
    });
    g.finish();
}

fn message_2k(c: &mut Criterion) {
    let mut g = c.benchmark_group("group_message_2k_50");
    g.sample_size(30);
    let payload = vec![0x5au8; 2048];
    let (alice, mut ag, bob, mut bg) = raw_circle();
    g.bench_function("raw_openmls_memory", |b| {
        b.iter(|| {
            let m = ag
                .create_message(&alice.provider, &alice.signer, &payload)
                .unwrap();
            assert_eq!(raw_process(&bob, &mut bg, m).len(), 2048);
        })
    });
    let (alice, gid, bob) = vault_circle();
    let (mut ac, mut bc) = (
        tx(&alice, |p| load(&alice, p, &gid)),
        tx(&bob, |p| load(&bob, p, &gid)),
    );
    g.bench_function("consilium_vault", |b| {
        b.iter(|| {
            let sealed = tx(&alice, |p| ac.seal(p, alice.id.signer(), &payload).unwrap());
            let got = tx(&bob, |p| bc.open(p, &sealed).unwrap());
            assert!(matches!(got, Incoming::Application { bytes, .. } if bytes.len() == 2048));
        })
    });
    // Diagnostic, not a product setting: the same without waiting for the disk, to show how
    // much of the difference is the two fsyncs.
    for m in [&alice, &bob] {
        m.vault
            .db()
            .connection()
            .execute_batch("PRAGMA synchronous = OFF")
            .unwrap();
    }
    g.bench_function("consilium_vault_without_fsync", |b| {
        b.iter(|| {
            let sealed = tx(&alice, |p| ac.seal(p, alice.id.signer(), &payload).unwrap());
            let got = tx(&bob, |p| bc.open(p, &sealed).unwrap());
            assert!(matches!(got, Incoming::Application { bytes, .. } if bytes.len() == 2048));
        })
    });
    g.finish();
}

/// Loading a circle of 50 from the vault: paid once per circle per sync pass.
fn load_50(c: &mut Criterion) {
    let mut g = c.benchmark_group("group_load_50");
    let (alice, gid, _bob) = vault_circle();
    g.bench_function("consilium_vault", |b| {
        b.iter(|| tx(&alice, |p| load(&alice, p, &gid).epoch()))
    });
    g.finish();
}

criterion_group!(benches, add_member, process_commit, message_2k, load_50);
criterion_main!(benches);
