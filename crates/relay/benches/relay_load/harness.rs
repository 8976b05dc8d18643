//! What the relay load harnesses share: MLS members whose leaf is their relay account, circles
//! formed through the relay, the relay as a process, and the load itself (every account posting
//! while every account listens on its push socket).

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

pub const CS: Ciphersuite = Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;

pub fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub struct Participant {
    pub client: RelayClient,
    pub group_id: Vec<u8>,
    /// Pre-made application messages (TLS-serialized MLS).
    pub messages: Vec<Vec<u8>>,
}

pub struct MlsMember {
    pub provider: OpenMlsRustCrypto,
    pub signer: SignatureKeyPair,
    pub cwk: CredentialWithKey,
}

/// A member whose MLS leaf and relay account are one key, as the relay requires.
pub fn mls_member(base: &str, clock: Arc<dyn Clock>) -> (MlsMember, RelayClient) {
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

pub fn create_config() -> MlsGroupCreateConfig {
    MlsGroupCreateConfig::builder()
        .ciphersuite(CS)
        .wire_format_policy(MIXED_PLAINTEXT_WIRE_FORMAT_POLICY)
        .build()
}

pub fn join_config() -> MlsGroupJoinConfig {
    MlsGroupJoinConfig::builder()
        .wire_format_policy(MIXED_PLAINTEXT_WIRE_FORMAT_POLICY)
        .build()
}

/// A group's public state for the relay, as `m` exports it.
pub fn state_of(m: &MlsMember, group: &MlsGroup) -> GroupStateUpload {
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

pub fn message_id() -> ByteBuf {
    let mut id = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut id).unwrap();
    ByteBuf::from(id.to_vec())
}

pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// CPU time (user + system) a process has used, in seconds.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which is in parentheses): state is field 3, utime 14.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// A circle of `size` made on the relay: the creator adds the others with one commit, they join
/// from its Welcome. Members, their relay clients, their MLS groups (all at epoch 1), the id.
pub async fn formed_group(
    base: &str,
    size: usize,
) -> (Vec<MlsMember>, Vec<RelayClient>, Vec<MlsGroup>, Vec<u8>) {
    formed_group_across(&[base.to_owned()], size).await
}

/// `formed_group` with member `i` a client of `bases[i % bases.len()]` (instances of one
/// relay).
pub async fn formed_group_across(
    bases: &[String],
    size: usize,
) -> (Vec<MlsMember>, Vec<RelayClient>, Vec<MlsGroup>, Vec<u8>) {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (members, clients): (Vec<MlsMember>, Vec<RelayClient>) = (0..size)
        .map(|i| mls_member(&bases[i % bases.len()], clock.clone()))
        .unzip();
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
pub async fn circles(
    bases: &[String],
    accounts: usize,
    groups: usize,
    per_account: usize,
) -> Vec<Participant> {
    let size = accounts / groups;
    let mut out = Vec::new();
    for _ in 0..groups {
        let (members, clients, groups_of_members, gid) = formed_group_across(bases, size).await;
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

pub struct Relay {
    pub child: std::process::Child,
    pub base: String,
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The relay as a process on a free loopback port with its data in `data`, `extra` options
/// (its database, its blobs) and `env` (the bucket's server).
pub async fn start_relay(
    data: &std::path::Path,
    extra: &[String],
    env: &[(String, String)],
) -> Relay {
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
        .args(extra)
        .envs(env.iter().map(|(k, v)| (k, v)))
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
pub type Pushed = (usize, String, u64, Instant);
/// Who sent a message and when the post started.
pub type Sent = (usize, Instant);

/// Sends every participant's messages, all participants at once; returns posts per second and
/// the push latencies (ms) seen by the other members.
pub async fn load(
    participants: Vec<Participant>,
    pace: Option<Duration>,
) -> (f64, Vec<f64>, usize) {
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
                    let posted = post_until_taken(&p.client, &p.group_id, &bundle).await;
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

/// Posts answered `busy` and sent again, as the app does (a relay on PostgreSQL answers `busy`
/// when a write lost to concurrent ones too many times).
pub static BUSY: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Posts `bundle` until the relay takes it: again after a `busy`, with the same message id.
async fn post_until_taken(
    client: &RelayClient,
    group_id: &[u8],
    bundle: &PostBundle,
) -> consilium_model::wire::Posted {
    loop {
        match client.post(group_id, bundle).await {
            Ok(posted) => return posted,
            Err(consilium_relay_client::RelayClientError::Refused { code, .. })
                if code == consilium_relay_client::RelayCode::Other("busy".into()) =>
            {
                BUSY.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("a post was refused: {e}"),
        }
    }
}
