//! What checking commits costs the relay: in a circle of ten, one member's self-update commits
//! posted one after the other (each merged before the next), against application messages of
//! the same size posted the same way (which the relay only frames) in the same run; and the
//! relay's own work per commit, in process: the full check against the group's public state
//! against reading the framing alone.

use std::time::Instant;

use consilium_model::wire::PostBundle;
use consilium_relay::auth::Account;
use consilium_relay::{framing, handshake};
use openmls::prelude::*;
use serde_bytes::ByteBuf;
use tls_codec::Serialize as _;

use super::{formed_group, message_id, state_of};

pub async fn run(base: &str, commits: usize) {
    let (members, clients, mut groups, gid) = formed_group(base, 10).await;
    let (me, client, group) = (&members[0], &clients[0], &mut groups[0]);
    let mut sizes = 0;
    let started = Instant::now();
    for _ in 0..commits {
        let update = group
            .self_update(&me.provider, &me.signer, LeafNodeParameters::default())
            .unwrap();
        let bytes = update.commit().tls_serialize_detached().unwrap();
        sizes += bytes.len();
        let bundle = PostBundle {
            message_id: message_id(),
            mls: ByteBuf::from(bytes),
            welcomes: vec![],
        };
        client.post(&gid, &bundle).await.unwrap();
        group.merge_pending_commit(&me.provider).unwrap();
    }
    let commits_per_s = commits as f64 / started.elapsed().as_secs_f64();
    let padding = vec![0x2au8; sizes / commits];
    let started = Instant::now();
    for _ in 0..commits {
        let message = group
            .create_message(&me.provider, &me.signer, &padding)
            .unwrap();
        let bundle = PostBundle {
            message_id: message_id(),
            mls: ByteBuf::from(message.tls_serialize_detached().unwrap()),
            welcomes: vec![],
        };
        client.post(&gid, &bundle).await.unwrap();
    }
    let messages_per_s = commits as f64 / started.elapsed().as_secs_f64();
    println!("RESULT commit_bytes {}", sizes / commits);
    println!("RESULT commits_per_s_checked {commits_per_s:.0}");
    println!("RESULT same_size_messages_per_s {messages_per_s:.0}");

    // In process: the group's public state as the relay holds it, and one more commit.
    let state = state_of(me, group);
    let record = handshake::establish(&gid, &state.group_info, &state.ratchet_tree)
        .unwrap()
        .record;
    let commit = group
        .self_update(&me.provider, &me.signer, LeafNodeParameters::default())
        .unwrap()
        .commit()
        .tls_serialize_detached()
        .unwrap();
    let account = Account(me.cwk.credential.serialized_content().try_into().unwrap());
    let rounds = commits * 5;
    let started = Instant::now();
    for _ in 0..rounds {
        handshake::check(&record, &commit, &account, None).unwrap();
    }
    let check_us = started.elapsed().as_secs_f64() * 1e6 / rounds as f64;
    let started = Instant::now();
    for _ in 0..rounds {
        framing::read_group_message(&commit).unwrap();
    }
    let framing_us = started.elapsed().as_secs_f64() * 1e6 / rounds as f64;
    println!("RESULT commit_check_us {check_us:.1}");
    println!("RESULT commit_framing_only_us {framing_us:.1}");
}
