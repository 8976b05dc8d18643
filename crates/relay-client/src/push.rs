//! The push socket: a WebSocket on `/v1/ws`, opened by signing the relay's challenge. It only
//! says where new data is; the data is fetched over HTTP.

use consilium_model::wire::{Push, WsAnswer, WsChallenge, challenge_signing_bytes};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use crate::error::{RelayClientError, Result};
use crate::key::AccountKey;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct PushSocket {
    socket: Socket,
}

impl std::fmt::Debug for PushSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PushSocket")
    }
}

fn bad(what: &str) -> RelayClientError {
    RelayClientError::BadAnswer(format!("push socket: {what}"))
}

impl PushSocket {
    pub(crate) async fn connect(
        base: &str,
        key: &AccountKey,
        tls: std::sync::Arc<rustls::ClientConfig>,
    ) -> Result<PushSocket> {
        let url = match base.split_once("://") {
            Some(("https", rest)) => format!("wss://{rest}/v1/ws"),
            Some((_, rest)) => format!("ws://{rest}/v1/ws"),
            None => return Err(RelayClientError::BadAddress(base.to_string())),
        };
        let connector = tokio_tungstenite::Connector::Rustls(tls);
        let (mut socket, _) = tokio_tungstenite::connect_async_tls_with_config(
            url.as_str(),
            None,
            false,
            Some(connector),
        )
        .await
        .map_err(|e| RelayClientError::Unreachable(e.to_string()))?;
        let hello = match socket.next().await {
            Some(Ok(Message::Text(t))) => t,
            _ => return Err(bad("no challenge")),
        };
        let challenge: WsChallenge =
            serde_json::from_str(&hello).map_err(|_| bad("malformed challenge"))?;
        let challenge =
            hex::decode(&challenge.challenge).map_err(|_| bad("malformed challenge"))?;
        let answer = WsAnswer {
            account: key.account_id(),
            signature: hex::encode(key.sign(&challenge_signing_bytes(
                &consilium_model::wire::origin(base),
                &challenge,
                &key.public_key(),
            ))),
        };
        let answer = serde_json::to_string(&answer).map_err(|_| bad("answer"))?;
        socket
            .send(Message::Text(answer.into()))
            .await
            .map_err(|e| RelayClientError::Unreachable(e.to_string()))?;
        match socket.next().await {
            Some(Ok(Message::Text(t))) if t.as_str() == r#"{"ok":true}"# => {}
            _ => return Err(bad("the relay did not accept the signature")),
        }
        Ok(PushSocket { socket })
    }

    /// The next notification; `None` when the relay closed the socket.
    pub async fn next(&mut self) -> Option<Result<Push>> {
        loop {
            match self.socket.next().await? {
                Ok(Message::Text(t)) => {
                    return Some(serde_json::from_str(&t).map_err(|_| bad("unknown notification")));
                }
                Ok(Message::Close(_)) => return None,
                Ok(_) => continue,
                Err(e) => return Some(Err(RelayClientError::Unreachable(e.to_string()))),
            }
        }
    }
}
