//! WebSocket push: after a challenge–response with the account key, the relay tells a connected
//! member "new data in group G up to seq N" or "new mail". Only notifications travel here; the
//! data itself is fetched over HTTP.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use ring::rand::SecureRandom;
use serde::{Deserialize, Serialize};

use crate::auth::{Account, verify_challenge};
use crate::routes::AppState;

#[derive(Debug, Serialize)]
struct Challenge {
    challenge: String,
}

#[derive(Debug, Deserialize)]
struct Answer {
    account: String,
    signature: String,
}

pub(crate) async fn upgrade(State(s): State<AppState>, ws: WebSocketUpgrade) -> Response {
    ws.max_message_size(4096)
        .on_upgrade(move |socket| serve(socket, s))
}

async fn serve(mut socket: WebSocket, s: AppState) {
    let mut challenge = [0u8; 32];
    if ring::rand::SystemRandom::new()
        .fill(&mut challenge)
        .is_err()
    {
        return;
    }
    let hello = serde_json::to_string(&Challenge {
        challenge: hex::encode(challenge),
    })
    .unwrap_or_default();
    if socket.send(Message::Text(hello.into())).await.is_err() {
        return;
    }
    let answer = tokio::time::timeout(Duration::from_secs(10), socket.recv()).await;
    let Ok(Some(Ok(Message::Text(text)))) = answer else {
        return;
    };
    let Ok(answer) = serde_json::from_str::<Answer>(&text) else {
        return;
    };
    let (Ok(account), Ok(signature)) = (
        Account::parse(&answer.account),
        hex::decode(&answer.signature),
    ) else {
        return;
    };
    if verify_challenge(&account, &challenge, &signature).is_err() {
        let _ = socket
            .send(Message::Text(r#"{"error":"bad_signature"}"#.into()))
            .await;
        return;
    }
    let mut rx = s.push.subscribe();
    if socket
        .send(Message::Text(r#"{"ok":true}"#.into()))
        .await
        .is_err()
    {
        return;
    }
    loop {
        tokio::select! {
            event = rx.recv() => match event {
                Ok((to, push)) if to == account => {
                    let Ok(text) = serde_json::to_string(&push) else { continue };
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                // A slow client missed notifications: tell it to fetch everything.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    if socket.send(Message::Text(r#"{"type":"resync"}"#.into())).await.is_err() {
                        return;
                    }
                }
                Err(_) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                _ => {}
            },
        }
    }
}
