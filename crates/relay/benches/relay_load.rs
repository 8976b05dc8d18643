//! Load harness for the relay (not criterion: it measures a running server from outside).
//!
//! Starts the real `consilium-relay` binary as its own process on loopback, with its data on
//! disk, and drives it from this process: 100 accounts in 10 circles (real openmls groups, real
//! MLS application messages made before the clock starts), each account posting as fast as the
//! relay acknowledges while every account listens on its push socket. Then 5 000 idle push
//! sockets, for the relay's memory per connection. Then the same messages into plain SQLite with
//! the same durability (WAL, `synchronous = FULL`), the baseline that bounds the relay.
//!
//! `cargo bench -p consilium-relay --bench relay_load` prints one `RESULT key value` line per
//! figure (tests/bench/report.py reads them).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use consilium_model::wire::{GroupStateUpload, PostBundle, Push, WelcomeFor};
use consilium_model::{Clock, SystemClock};
use consilium_relay_client::{AccountKey, RelayClient};
use openmls::prelude::*;
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::OpenMlsRustCrypto;
use serde_bytes::ByteBuf;
use tls_codec::{Deserialize as _, Serialize as _};

#[path = "relay_load/commits.rs"]
mod commits;

const CS: Ciphersuite = Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Participant {
    client: RelayClient,
    group_id: Vec<u8>,
    /// Pre-made application messages (TLS-serialized MLS).
    messages: Vec<Vec<u8>>,
}

struct MlsMember {
    provider: OpenMlsRustCrypto,
    signer: SignatureKeyPair,
    cwk: CredentialWithKey,
}

/// A member whose MLS leaf and relay account are one key, as the relay requires.
fn mls_member(base: &str, clock: Arc<dyn Clock>) -> (MlsMember, RelayClient) {
    let (key, seed) = AccountKey::generate().unwrap();
    let public = key.public_key().to_vec();
    let provider = OpenMlsRustCrypto::default();
    let signer =
        SignatureKeyPair::from_raw(SignatureScheme::ED25519, seed.to_vec(), public.clone());
    signer.store(provider.storage()).unwrap();
    let cwk = CredentialWithKey {
        credential: BasicCredential::new(public).into(),
        signature_key: signer.public().into(),
    };
    let client = RelayClient::new(base, Arc::new(key), clock).unwrap();
    (
        MlsMember {
            provider,
            signer,
            cwk,
        },
        client,
    )
}

fn create_config() -> MlsGroupCreateConfig {
    MlsGroupCreateConfig::builder()
        .ciphersuite(CS)
        .wire_format_policy(MIXED_PLAINTEXT_WIRE_FORMAT_POLICY)
        .build()
}

fn join_config() -> MlsGroupJoinConfig {
    MlsGroupJoinConfig::builder()
        .wire_format_policy(MIXED_PLAINTEXT_WIRE_FORMAT_POLICY)
        .build()
}

/// A group's public state for the relay, as `m` exports it.
fn state_of(m: &MlsMember, group: &MlsGroup) -> GroupStateUpload {
    GroupStateUpload {
        group_info: ByteBuf::from(
            group
                .export_group_info(m.provider.crypto(), &m.signer, false)
                .unwrap()
                .tls_serialize_detached()
                .unwrap(),
        ),
        ratchet_tree: ByteBuf::from(
            group
                .export_ratchet_tree()
                .tls_serialize_detached()
                .unwrap(),
        ),
    }
}

fn message_id() -> ByteBuf {
    let mut id = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut id).unwrap();
    ByteBuf::from(id.to_vec())
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// CPU time (user + system) a process has used, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which is in parentheses): state is field 3, utime 14.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// A circle of `size` made on the relay: the creator adds the others with one commit, they join
/// from its Welcome. Members, their relay clients, their MLS groups (all at epoch 1), the id.
async fn formed_group(
    base: &str,
    size: usize,
) -> (Vec<MlsMember>, Vec<RelayClient>, Vec<MlsGroup>, Vec<u8>) {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (members, clients): (Vec<MlsMember>, Vec<RelayClient>) =
        (0..size).map(|_| mls_member(base, clock.clone())).unzip();
    let creator = &members[0];
    let mut group = MlsGroup::new(
        &creator.provider,
        &creator.signer,
        &create_config(),
        creator.cwk.clone(),
    )
    .unwrap();
    let gid = group.group_id().as_slice().to_vec();
    clients[0]
        .create_group(&gid, state_of(creator, &group))
        .await
        .unwrap();
    let key_packages: Vec<KeyPackage> = members[1..]
        .iter()
        .map(|m| {
            KeyPackage::builder()
                .build(CS, &m.provider, &m.signer, m.cwk.clone())
                .unwrap()
                .key_package()
                .clone()
        })
        .collect();
    let (commit, welcome, _) = group
        .add_members(&creator.provider, &creator.signer, &key_packages)
        .unwrap();
    let welcome_bytes = welcome.tls_serialize_detached().unwrap();
    let added: Vec<String> = clients[1..].iter().map(|c| c.account_id()).collect();
    let bundle = PostBundle {
        message_id: message_id(),
        mls: ByteBuf::from(commit.tls_serialize_detached().unwrap()),
        welcomes: added
            .iter()
            .map(|a| WelcomeFor {
                account: a.clone(),
                mls: ByteBuf::from(welcome_bytes.clone()),
            })
            .collect(),
    };
    clients[0].post(&gid, &bundle).await.unwrap();
    group.merge_pending_commit(&creator.provider).unwrap();
    let tree = group.export_ratchet_tree();
    let mut groups_of_members = vec![group];
    for m in &members[1..] {
        let w = match MlsMessageIn::tls_deserialize_exact(&welcome_bytes)
            .unwrap()
            .extract()
        {
            MlsMessageBodyIn::Welcome(w) => w,
            _ => unreachable!(),
        };
        let joined = StagedWelcome::new_from_welcome(
            &m.provider,
            &join_config(),
            w,
            Some(tree.clone().into()),
        )
        .unwrap()
        .into_group(&m.provider)
        .unwrap();
        groups_of_members.push(joined);
    }
    (members, clients, groups_of_members, gid)
}

/// Sets up the circles: each group's first member creates it on the relay and in MLS and adds
/// the other nine with one commit (posted with its Welcomes); the others join from the Welcome.
/// Every member then makes `per_account` application messages.
async fn circles(
    base: &str,
    accounts: usize,
    groups: usize,
    per_account: usize,
) -> Vec<Participant> {
    let size = accounts / groups;
    let mut out = Vec::new();
    for _ in 0..groups {
        let (members, clients, groups_of_members, gid) = formed_group(base, size).await;
        for ((m, mut group), client) in members.iter().zip(groups_of_members).zip(clients) {
            let messages = (0..per_account)
                .map(|i| {
                    let text = format!("{i:06} {}", "x".repeat(180));
                    group
                        .create_message(&m.provider, &m.signer, text.as_bytes())
                        .unwrap()
                        .tls_serialize_detached()
                        .unwrap()
                })
                .collect();
            out.push(Participant {
                client,
                group_id: gid.clone(),
                messages,
            });
        }
    }
    out
}

struct Relay {
    child: std::process::Child,
    base: String,
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_relay(data: &std::path::Path) -> Relay {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_consilium-relay"))
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--admission",
            "open",
            // Every bench client is on 127.0.0.1, and the idle-socket phase opens thousands.
            "--max-connections-per-address",
            "10000",
            "--data",
        ])
        .arg(data)
        .env("RUST_LOG", "warn")
        .spawn()
        .unwrap();
    let relay = Relay {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..200 {
        if reqwest::get(format!("{}/v1/health", relay.base))
            .await
            .is_ok()
        {
            return relay;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    drop(relay);
    panic!("the relay did not start");
}

/// A notification a member received: (member, group, seq, when).
type Pushed = (usize, String, u64, Instant);
/// Who sent a message and when the post started.
type Sent = (usize, Instant);

/// Sends every participant's messages, all participants at once; returns posts per second and
/// the push latencies (ms) seen by the other members.
async fn load(participants: Vec<Participant>, pace: Option<Duration>) -> (f64, Vec<f64>, usize) {
    // Every account listens; pushes are recorded as (group, seq, time).
    let pushes: Arc<Mutex<Vec<Pushed>>> = Arc::default();
    let mut listeners = Vec::new();
    for (i, p) in participants.iter().enumerate() {
        let mut socket = p.client.push_socket().await.unwrap();
        let pushes = pushes.clone();
        listeners.push(tokio::spawn(async move {
            while let Some(Ok(push)) = socket.next().await {
                if let Push::Group { group_id, seq } = push {
                    pushes
                        .lock()
                        .unwrap()
                        .push((i, group_id, seq, Instant::now()));
                }
            }
        }));
    }
    let sent: Arc<Mutex<HashMap<(String, u64), Sent>>> = Arc::default();
    let total: usize = participants.iter().map(|p| p.messages.len()).sum();
    let members_of: HashMap<String, Vec<usize>> =
        participants
            .iter()
            .enumerate()
            .fold(HashMap::new(), |mut m, (i, p)| {
                m.entry(hex::encode(&p.group_id)).or_default().push(i);
                m
            });
    let started = Instant::now();
    let senders: Vec<_> = participants
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let sent = sent.clone();
            tokio::spawn(async move {
                let gid_hex = hex::encode(&p.group_id);
                let mut tick = pace.map(|every| {
                    // Spread the senders over the interval so the offered load is even.
                    let start = tokio::time::Instant::now() + every.mul_f64(i as f64 / 100.0);
                    tokio::time::interval_at(start, every)
                });
                for mls in p.messages {
                    if let Some(tick) = tick.as_mut() {
                        tick.tick().await;
                    }
                    let bundle = PostBundle {
                        message_id: message_id(),
                        mls: ByteBuf::from(mls),
                        welcomes: vec![],
                    };
                    let at = Instant::now();
                    let posted = p.client.post(&p.group_id, &bundle).await.unwrap();
                    sent.lock()
                        .unwrap()
                        .insert((gid_hex.clone(), posted.seq), (i, at));
                }
            })
        })
        .collect();
    for s in senders {
        s.await.unwrap();
    }
    let elapsed = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    for l in listeners {
        l.abort();
    }
    // For each message and each other member: the first push for its group at or past its seq.
    let pushes = pushes.lock().unwrap();
    let mut by_reader: HashMap<(usize, String), Vec<(u64, Instant)>> = HashMap::new();
    for (i, g, seq, at) in pushes.iter() {
        by_reader
            .entry((*i, g.clone()))
            .or_default()
            .push((*seq, *at));
    }
    let sent = sent.lock().unwrap();
    let mut latencies = Vec::new();
    let mut missing = 0;
    for ((g, seq), (sender, at)) in sent.iter() {
        for reader in &members_of[g] {
            if reader == sender {
                continue;
            }
            let first = by_reader
                .get(&(*reader, g.clone()))
                .and_then(|list| list.iter().find(|(s, _)| s >= seq));
            match first {
                Some((_, pushed)) => {
                    latencies.push(pushed.saturating_duration_since(*at).as_secs_f64() * 1000.0)
                }
                None => missing += 1,
            }
        }
    }
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (total as f64 / elapsed.as_secs_f64(), latencies, missing)
}

/// Opens `n` authenticated idle push sockets; returns them (kept open by the caller).
async fn idle_sockets(base: &str, n: usize) -> Vec<consilium_relay_client::PushSocket> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let clients: Vec<RelayClient> = (0..100)
        .map(|_| {
            let (key, _seed) = AccountKey::generate().unwrap();
            RelayClient::new(base, Arc::new(key), clock.clone()).unwrap()
        })
        .collect();
    let mut sockets = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let opened = futures_util::future::join_all(
            chunk
                .iter()
                .map(|i| clients[i % clients.len()].push_socket()),
        )
        .await;
        sockets.extend(opened.into_iter().map(|s| s.unwrap()));
    }
    sockets
}

/// The baseline: the same rows into plain SQLite (WAL, synchronous = FULL), committed one by one
/// as each writer would without a group commit, and in transactions of `batch` rows, the most a
/// group commit could gather from `batch` concurrent writers.
fn sqlite_baseline(dir: &std::path::Path, rows: usize, batch: usize) -> (f64, f64) {
    let run = |name: &str, per_tx: usize| {
        let c = rusqlite::Connection::open(dir.join(name)).unwrap();
        c.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
             CREATE TABLE messages (group_id BLOB NOT NULL, seq INTEGER NOT NULL,
               message_id BLOB NOT NULL, sender BLOB NOT NULL, epoch INTEGER NOT NULL,
               kind INTEGER NOT NULL, body BLOB NOT NULL, created_at INTEGER NOT NULL,
               resulting_epoch INTEGER NOT NULL,
               PRIMARY KEY (group_id, seq), UNIQUE (group_id, message_id));",
        )
        .unwrap();
        let body = vec![7u8; 300];
        let started = Instant::now();
        let mut i = 0;
        while i < rows {
            c.execute_batch("BEGIN IMMEDIATE").unwrap();
            for _ in 0..per_tx.min(rows - i) {
                c.prepare_cached("INSERT INTO messages VALUES (?1, ?2, ?3, ?4, 1, 2, ?5, 0, 1)")
                    .unwrap()
                    .execute(rusqlite::params![
                        &[(i % 10) as u8; 16][..],
                        i as i64,
                        &(i as u128).to_le_bytes()[..],
                        &[1u8; 32][..],
                        &body
                    ])
                    .unwrap();
                i += 1;
            }
            c.execute_batch("COMMIT").unwrap();
        }
        rows as f64 / started.elapsed().as_secs_f64()
    };
    (run("one.db", 1), run("batched.db", batch))
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this as a smoke test with
    // a load small enough for a debug build (its figures mean nothing and are not for docs).
    let full = std::env::args().any(|a| a == "--bench");
    let (accounts, groups, per_account, idle, rate, paced) = if full {
        (
            env_or("RELAY_BENCH_ACCOUNTS", 100),
            env_or("RELAY_BENCH_GROUPS", 10),
            env_or("RELAY_BENCH_MESSAGES", 200),
            env_or("RELAY_BENCH_IDLE", 5000),
            // The paced run: this many posts per second in all, `paced` posts per account.
            env_or("RELAY_BENCH_RATE", 1000),
            env_or("RELAY_BENCH_PACED_MESSAGES", 30),
        )
    } else {
        (4, 2, 5, 20, 200, 2)
    };
    // On the real file system, not tmpfs: the fsync is part of what is measured.
    let parent = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let work = tempfile::tempdir_in(parent).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let relay = start_relay(&work.path().join("relay")).await;
        let made = Instant::now();
        let participants = circles(&relay.base, accounts, groups, per_account + paced).await;
        println!(
            "made {} circles of {} and {} MLS messages in {:.1} s",
            groups,
            accounts / groups,
            accounts * (per_account + paced),
            made.elapsed().as_secs_f64()
        );
        let (saturating, paced_run): (Vec<_>, Vec<_>) = participants
            .into_iter()
            .map(|mut p| {
                let rest = p.messages.split_off(per_account);
                let later = Participant {
                    client: p.client.clone(),
                    group_id: p.group_id.clone(),
                    messages: rest,
                };
                (p, later)
            })
            .unzip();
        let cpu_before = cpu_seconds(relay.child.id());
        let (posts_per_s, latencies, missing) = load(saturating, None).await;
        let cpu = cpu_seconds(relay.child.id()) - cpu_before;
        println!("RESULT relay_posts_per_s {posts_per_s:.0}");
        println!(
            "RESULT relay_cpu_us_per_post {:.0}",
            cpu * 1e6 / (accounts * per_account) as f64
        );
        println!(
            "RESULT saturated_push_latency_p50_ms {:.2}",
            percentile(&latencies, 0.5)
        );
        println!(
            "RESULT saturated_push_latency_p99_ms {:.2}",
            percentile(&latencies, 0.99)
        );
        println!("RESULT push_missing {missing}");
        assert_eq!(missing, 0, "every member was told of every message");
        let every = Duration::from_secs_f64(accounts as f64 / rate as f64);
        let (offered, latencies, missing) = load(paced_run, Some(every)).await;
        println!("RESULT paced_posts_per_s {offered:.0}");
        println!(
            "RESULT paced_push_latency_p50_ms {:.2}",
            percentile(&latencies, 0.5)
        );
        println!(
            "RESULT paced_push_latency_p99_ms {:.2}",
            percentile(&latencies, 0.99)
        );
        println!("RESULT paced_push_latency_samples {}", latencies.len());
        println!("RESULT paced_push_missing {missing}");
        assert_eq!(missing, 0, "every member was told of every message");

        let before = rss_kib(relay.child.id());
        let sockets = idle_sockets(&relay.base, idle).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let after = rss_kib(relay.child.id());
        assert_eq!(sockets.len(), idle);
        println!("RESULT idle_sockets {}", sockets.len());
        println!("RESULT relay_rss_before_kib {before}");
        println!("RESULT relay_rss_with_idle_kib {after}");
        println!(
            "RESULT kib_per_idle_socket {:.1}",
            (after.saturating_sub(before)) as f64 / sockets.len() as f64
        );
        drop(sockets);
        commits::run(&relay.base, if full { 200 } else { 3 }).await;
    });
    let (one, batched) = sqlite_baseline(work.path(), accounts * per_account, accounts);
    println!("RESULT sqlite_one_per_commit_per_s {one:.0}");
    println!("RESULT sqlite_batched_{accounts}_per_s {batched:.0}");
}
