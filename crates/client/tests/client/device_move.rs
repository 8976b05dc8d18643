//! A profile of before the device split (one key as identity, MLS leaf and relay account) is
//! unlocked by this version: it gets a device key of its own. Its relay is of before the split
//! too at first (it has no move route): the profile goes on there with its old key, creating a
//! circle and sharing as before. Once the relay is updated, the next pass moves the account and
//! then the circle's leaf; colleagues see the same physician and safety number, and the old key
//! is refused by the relay from then on.

use std::sync::Arc;

use consilium_client::model::{CaseFields, CaseId};
use consilium_client::{Engine, EngineConfig, Event, KdfParams, Passphrase, Profile};
use consilium_relay_client::{AccountKey, Patience, RelayClient, RelayCode};
use consilium_store::{SystemEntropy, Vault};

use crate::support::{MovableClock, PASSPHRASE, bring_in, engine};
use crate::tamper::{Forged, TamperingRelay};

/// A profile as a version of before the split left it: one seed as identity and device key.
fn profile_of_before(dir: &std::path::Path, seed: &[u8; 32], clock: &Arc<MovableClock>) -> Engine {
    let profile = Profile {
        name: "Dr Old Key".into(),
        specialty: "Dermatology".into(),
        created_at: consilium_client::model::Timestamp(0),
    };
    let pass = Passphrase::new(PASSPHRASE);
    let vault = Vault::create(
        dir,
        &pass,
        &profile,
        KdfParams::TEST_ONLY_WEAK,
        Arc::new(SystemEntropy::new()),
    )
    .unwrap();
    let m = vault.db().membership();
    m.set_identity_seed(seed, profile.created_at).unwrap();
    m.set_device_seed(seed, profile.created_at).unwrap();
    vault.lock();
    unlock(dir, clock)
}

fn unlock(dir: &std::path::Path, clock: &Arc<MovableClock>) -> Engine {
    let config = EngineConfig {
        kdf: KdfParams::TEST_ONLY_WEAK,
        clock: clock.clone(),
        ..Default::default()
    };
    Engine::unlock(dir, &Passphrase::new(PASSPHRASE), config).unwrap()
}

fn key_of(seed: &[u8; 32]) -> String {
    AccountKey::from_seed(seed).unwrap().account_id()
}

/// A shares a new case titled `title` in "Skin"; B receives it. Its id.
fn shared_and_received(a: &mut Engine, b: &mut Engine, title: &str) -> CaseId {
    let case = a
        .create_case(CaseFields {
            title: title.into(),
            ..Default::default()
        })
        .unwrap();
    a.share(&case, "Skin").unwrap();
    assert_eq!(a.sync().unwrap().queued, 0);
    b.sync().unwrap();
    case
}

#[test]
fn a_profile_of_before_the_split_moves_to_its_device_key_once_its_relay_knows_how() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let relay = TamperingRelay::start(&root.path().join("relay"), clock.clone());
    // A relay of before the split: it has no move route.
    relay.forge(
        "POST",
        "/v1/account/device",
        Forged::Answer(404, Vec::new()),
    );
    let seed = [42u8; 32];
    let old_key = key_of(&seed);
    let mut a = profile_of_before(&root.path().join("a"), &seed, &clock);
    let me = a.identity().unwrap();
    assert_eq!(me.account, old_key, "the identity is the old key");
    assert_ne!(me.device, old_key, "a device key of its own was made");

    // There, the profile is its old key: its circle's leaf and its account.
    a.create_circle("Skin", &relay.url).unwrap();
    let mut b = engine(root.path(), "b", &clock);
    bring_in(&mut a, &mut b, "Skin");
    let first = shared_and_received(&mut a, &mut b, "Shared with the old key");
    assert_eq!(
        b.open_case(&first).unwrap().author.as_deref(),
        Some(&old_key[..])
    );
    let number = |e: &Engine| {
        e.members("Skin")
            .unwrap()
            .into_iter()
            .find(|m| m.account == old_key)
            .unwrap()
            .safety_number
    };
    let number_before = number(&b);
    let relay_db = || rusqlite::Connection::open(root.path().join("relay/relay.db")).unwrap();
    let old_bytes = hex::decode(&old_key).unwrap();
    let members_as_old: i64 = relay_db()
        .query_row(
            "SELECT count(*) FROM members WHERE account = ?1",
            [&old_bytes],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(members_as_old, 1, "the relay knows the old key");

    // The relay is updated: the next pass moves the account, then the leaf.
    relay.behave();
    let report = a.sync().unwrap();
    assert_eq!(
        (report.queued, report.failed.len()),
        (0, 0),
        "{:?}",
        report.failed
    );
    let report = b.sync().unwrap();
    assert!(
        !report.events.iter().any(|e| matches!(
            e,
            Event::DeviceChanged { .. } | Event::MessageRejected { .. }
        )),
        "{:?}",
        report.events
    );
    assert_eq!(number(&b), number_before, "the same safety number");
    let device = hex::decode(&me.device).unwrap();
    let (as_old, as_device): (i64, i64) = relay_db()
        .query_row(
            "SELECT (SELECT count(*) FROM members WHERE account = ?1),
                    (SELECT count(*) FROM members WHERE account = ?2)",
            [&old_bytes, &device],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((as_old, as_device), (0, 1));
    // The leaf moved too: a commit the device posted (its update path the new key).
    let commits_by_device: i64 = relay_db()
        .query_row(
            "SELECT count(*) FROM messages WHERE sender = ?1 AND resulting_epoch > epoch",
            [&device],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(commits_by_device, 1);

    // What A shares now reaches B, by the same physician; B's answer reaches A.
    let second = shared_and_received(&mut a, &mut b, "Shared with the device key");
    assert_eq!(
        b.open_case(&second).unwrap().author.as_deref(),
        Some(&old_key[..])
    );
    b.comment(&second, "Seen from the new key", None).unwrap();
    b.sync().unwrap();
    a.sync().unwrap();
    let comments = a.open_case(&second).unwrap().case.comments;
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].body, "Seen from the new key");

    // The old key is refused by the relay from now on.
    let old = RelayClient::with(
        &relay.url,
        Arc::new(AccountKey::from_seed(&seed).unwrap()),
        clock.clone(),
        Patience::default(),
        None,
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let refused = rt.block_on(old.mailbox()).unwrap_err();
    assert_eq!(refused.code(), Some(&RelayCode::DeviceRevoked));

    // The move is over: unlocked again, the profile is its device key everywhere.
    drop(a);
    let mut a = unlock(&root.path().join("a"), &clock);
    assert_eq!(a.identity().unwrap().device, me.device);
    let report = a.sync().unwrap();
    assert!(report.offline.is_none() && report.failed.is_empty());
}
