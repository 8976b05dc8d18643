//! WebSocket push after a challenge–response.

use crate::support::*;

/// A member connected over the WebSocket (after the challenge–response) is told of a new
/// message in its group; a wrong signature gets no subscription.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_members_are_pushed_new_messages_after_a_challenge() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let (alice_acc, alice, mut ga, bob_acc, _bob, _gb, gid) = circle_of_two(&relay).await;
    let ws_url = format!("{}/v1/ws", relay.base.replace("http://", "ws://"));

    let mallory = Account::new(&relay);
    assert!(
        push_connect(&ws_url, &bob_acc, &mallory).await.is_none(),
        "a forged answer is refused"
    );
    let mut ws = push_connect(&ws_url, &bob_acc, &bob_acc)
        .await
        .expect("bob subscribes");
    let m = ga
        .create_message(&alice.provider, &alice.signer, b"ping")
        .unwrap();
    let posted: Posted = alice_acc
        .ok(
            "POST",
            &format!("/v1/groups/{gid}/messages"),
            to_cbor(&bundle(bytes(&m))).unwrap(),
        )
        .await;
    assert_eq!(
        next_push(&mut ws).await,
        Push::Group {
            group_id: gid.clone(),
            seq: posted.seq
        }
    );
    relay.stop().await;
}
