//! WebSocket push: after a challenge–response with the account key, the relay tells a connected
//! member "new data in group G up to seq N" or "new mail". Only notifications travel here; the
//! data itself is fetched over HTTP.
//!
//! Notifications are routed to the connections of the accounts concerned (no connection sees
//! another account's events) and coalesce: a connection holds at most the highest sequence
//! number per group and one "mail" flag, so a slow client costs bounded memory and is never
//! skipped.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use consilium_model::wire::{Push, WsAnswer, WsChallenge};

use crate::admission::Admitted;
use ring::rand::SecureRandom;
use tokio::sync::Notify;

use crate::auth::{Account, verify_challenge};

/// What waits to be pushed to one connection.
#[derive(Debug, Default)]
struct Pending {
    groups: BTreeMap<String, u64>,
    mailbox: bool,
    /// The account was revoked: the connection says so and closes.
    revoked: bool,
}

#[derive(Debug, Default)]
struct Inbox {
    pending: Mutex<Pending>,
    wake: Notify,
}

impl Inbox {
    fn update(&self, f: impl FnOnce(&mut Pending)) {
        if let Ok(mut p) = self.pending.lock() {
            f(&mut p);
        }
        self.wake.notify_one();
    }

    fn revoked(&self) -> bool {
        self.pending.lock().map(|p| p.revoked).unwrap_or(true)
    }

    fn take(&self) -> Vec<Push> {
        let Ok(mut p) = self.pending.lock() else {
            return vec![];
        };
        let p = std::mem::take(&mut *p);
        let mut out: Vec<Push> = p
            .groups
            .into_iter()
            .map(|(group_id, seq)| Push::Group { group_id, seq })
            .collect();
        if p.mailbox {
            out.push(Push::Mailbox);
        }
        out
    }
}

/// The connected accounts and their connections' inboxes.
#[derive(Debug, Default)]
pub(crate) struct PushHub {
    connections: Mutex<HashMap<Account, Vec<Arc<Inbox>>>>,
}

impl PushHub {
    fn each(&self, accounts: &[Account], f: impl Fn(&Inbox)) {
        let Ok(map) = self.connections.lock() else {
            return;
        };
        for a in accounts {
            for inbox in map.get(a).into_iter().flatten() {
                f(inbox);
            }
        }
    }

    /// Tells the connected `members` that `group_hex` has data up to `seq`.
    pub(crate) fn group(&self, members: &[Account], group_hex: &str, seq: u64) {
        self.each(members, |inbox| {
            inbox.update(|p| {
                let s = p.groups.entry(group_hex.to_string()).or_insert(0);
                *s = (*s).max(seq);
            })
        });
    }

    /// Tells the connected `accounts` they have mail.
    pub(crate) fn mailbox(&self, accounts: &[Account]) {
        self.each(accounts, |inbox| inbox.update(|p| p.mailbox = true));
    }

    /// Closes the connections of revoked `accounts` (they hear nothing more).
    pub(crate) fn revoke(&self, accounts: &[Account]) {
        self.each(accounts, |inbox| inbox.update(|p| p.revoked = true));
    }

    fn subscribe(self: &Arc<Self>, account: Account) -> Subscription {
        let inbox = Arc::new(Inbox::default());
        if let Ok(mut map) = self.connections.lock() {
            map.entry(account).or_default().push(inbox.clone());
        }
        Subscription {
            hub: self.clone(),
            account,
            inbox,
        }
    }
}

/// One connection's place in the hub; leaving it (drop) unregisters the connection.
struct Subscription {
    hub: Arc<PushHub>,
    account: Account,
    inbox: Arc<Inbox>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Ok(mut map) = self.hub.connections.lock()
            && let Some(list) = map.get_mut(&self.account)
        {
            list.retain(|i| !Arc::ptr_eq(i, &self.inbox));
            if list.is_empty() {
                map.remove(&self.account);
            }
        }
    }
}

pub(crate) fn upgrade(
    ws: WebSocketUpgrade,
    hub: Arc<PushHub>,
    origins: Vec<String>,
    admitted: Arc<Admitted>,
    ping_every: Duration,
) -> Response {
    // Frames are small notifications: small buffers keep an idle connection cheap.
    ws.max_message_size(4096)
        .max_frame_size(4096)
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_write_buffer_size(64 * 1024)
        .on_upgrade(move |socket| serve(socket, hub, origins, admitted, ping_every))
}

async fn send(socket: &mut WebSocket, value: &impl serde::Serialize) -> bool {
    let Ok(text) = serde_json::to_string(value) else {
        return false;
    };
    socket.send(Message::Text(text.into())).await.is_ok()
}

/// Challenge–response: the account whose key signed the challenge, if it did.
async fn authenticate(socket: &mut WebSocket, origins: &[String]) -> Option<Account> {
    let mut challenge = [0u8; 32];
    ring::rand::SystemRandom::new().fill(&mut challenge).ok()?;
    let hello = WsChallenge {
        challenge: hex::encode(challenge),
    };
    if !send(socket, &hello).await {
        return None;
    }
    let answer = tokio::time::timeout(Duration::from_secs(10), socket.recv()).await;
    let Ok(Some(Ok(Message::Text(text)))) = answer else {
        return None;
    };
    let answer = serde_json::from_str::<WsAnswer>(&text).ok()?;
    let account = Account::parse(&answer.account).ok()?;
    let signature = hex::decode(&answer.signature).ok()?;
    if verify_challenge(origins, &account, &challenge, &signature).is_err() {
        let _ = socket
            .send(Message::Text(r#"{"error":"bad_signature"}"#.into()))
            .await;
        return None;
    }
    Some(account)
}

async fn serve(
    mut socket: WebSocket,
    hub: Arc<PushHub>,
    origins: Vec<String>,
    admitted: Arc<Admitted>,
    ping_every: Duration,
) {
    let Some(account) = authenticate(&mut socket, &origins).await else {
        return;
    };
    if !admitted.allows(&account) {
        let _ = socket
            .send(Message::Text(r#"{"error":"not_admitted"}"#.into()))
            .await;
        return;
    }
    let subscription = hub.subscribe(account);
    if socket
        .send(Message::Text(r#"{"ok":true}"#.into()))
        .await
        .is_err()
    {
        return;
    }
    // A ping every `ping_every`; a peer that answered nothing for two of them is gone (a
    // laptop closed without a goodbye) and its socket is closed.
    let mut ping = tokio::time::interval(ping_every);
    ping.tick().await;
    let mut last_heard = tokio::time::Instant::now();
    loop {
        tokio::select! {
            () = subscription.inbox.wake.notified() => {
                if subscription.inbox.revoked() {
                    let _ = socket
                        .send(Message::Text(r#"{"error":"device_revoked"}"#.into()))
                        .await;
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
                for push in subscription.inbox.take() {
                    if !send(&mut socket, &push).await {
                        return;
                    }
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() >= ping_every * 2 {
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                    return;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => last_heard = tokio::time::Instant::now(),
            },
        }
    }
}
