//! Instances of one relay keep each other current (`store::wakeups`): every change a route
//! makes to who is pushed what, or who is admitted, is applied here at once and announced to
//! the others; each instance listens on one PostgreSQL connection and applies what the others
//! announced. A relay on SQLite announces nothing and listens to no one.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;

use crate::admission::Admitted;
use crate::push::PushHub;
use crate::store::{Store, WAKEUP_CHANNEL, Wakeup};

/// Read anyway this often, for a wake-up lost while the listening connection was down.
const READ_EVERY: Duration = Duration::from_secs(10);

/// How far back each read looks: a wake-up may commit a little after a later one.
const LOOK_BACK_MS: i64 = 10_000;

/// What this instance holds in memory, that wake-ups change.
#[derive(Debug, Clone)]
pub(crate) struct Listeners {
    pub hub: Arc<PushHub>,
    pub admitted: Arc<Admitted>,
}

impl Listeners {
    pub(crate) fn new(hub: &Arc<PushHub>, admitted: &Arc<Admitted>) -> Listeners {
        Listeners {
            hub: hub.clone(),
            admitted: admitted.clone(),
        }
    }

    /// Acts on `wakeup` in this instance.
    pub(crate) fn apply(&self, wakeup: &Wakeup) {
        match wakeup {
            Wakeup::Group {
                group_id,
                seq,
                members,
            } => self.hub.group(members, &hex::encode(group_id), *seq),
            Wakeup::Mailbox(accounts) => self.hub.mailbox(accounts),
            Wakeup::Admit(accounts) => {
                for a in accounts {
                    self.admitted.add(*a);
                }
            }
            Wakeup::Revoke(accounts) => {
                for a in accounts {
                    self.admitted.revoke(*a);
                }
                self.hub.revoke(accounts);
            }
        }
    }
}

/// Acts on `wakeups` here, in order, and tells the other instances in the background, all in
/// one announcement (the changes they report are committed already; a failure to tell is
/// logged, and their next read of the tables catches up on data, not on these pushes).
pub(crate) fn tell(store: &Arc<Store>, here: &Listeners, wakeups: Vec<Wakeup>, now: i64) {
    for wakeup in &wakeups {
        here.apply(wakeup);
    }
    if store.wakeup_address().is_none() {
        return;
    }
    let store = store.clone();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = store.announce(&wakeups, now) {
            tracing::warn!(error = %e, "the other instances were not told");
        }
    });
}

/// Listens for the other instances' wake-ups and applies them, for as long as the relay runs;
/// a lost connection is made again.
pub(crate) async fn listen(
    store: Arc<Store>,
    here: Listeners,
    clock: Arc<dyn consilium_model::Clock>,
) {
    let Some(url) = store.wakeup_address() else {
        return;
    };
    let mut seen: HashSet<i64> = HashSet::new();
    let mut since = clock.now().0;
    loop {
        let heard = Arc::new(tokio::sync::Notify::new());
        let connected = connect(&url, heard.clone()).await;
        if connected.is_none() {
            tracing::warn!("cannot listen for the other instances; trying again");
        }
        loop {
            let now = clock.now().0;
            let (reader, from) = (store.clone(), since - LOOK_BACK_MS);
            match tokio::task::spawn_blocking(move || reader.wakeups_since(from)).await {
                Ok(Ok(wakeups)) => {
                    for (id, wakeup) in wakeups {
                        if seen.insert(id) {
                            here.apply(&wakeup);
                        }
                    }
                    since = now;
                    // Ids older than anything a read can return again are forgotten.
                    if seen.len() > 100_000 {
                        seen.clear();
                    }
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "reading the other instances' wake-ups"),
                Err(_) => {}
            }
            let alive = connected.as_ref().is_some_and(|c| !c.is_closed());
            tokio::select! {
                () = heard.notified() => {}
                () = tokio::time::sleep(READ_EVERY) => {}
            }
            if !alive {
                break;
            }
        }
    }
}

/// One connection that LISTENs on the wake-up channel and signals `heard` for each
/// notification; `None` when the server cannot be reached.
async fn connect(url: &str, heard: Arc<tokio::sync::Notify>) -> Option<tokio_postgres::Client> {
    let address = crate::store::sql::postgres_address::PostgresAddress::parse(url).ok()?;
    let (client, mut connection) = address.config.connect(address.tls).await.ok()?;
    tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(Ok(message)) = messages.next().await {
            if matches!(message, tokio_postgres::AsyncMessage::Notification(_)) {
                heard.notify_one();
            }
        }
        heard.notify_one();
    });
    client
        .batch_execute(&format!("LISTEN {WAKEUP_CHANNEL}"))
        .await
        .ok()?;
    Some(client)
}
