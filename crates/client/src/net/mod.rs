//! The engine's connections: one relay client per relay address, all signing with the profile's
//! account key, driven by one small runtime (the engine's API is synchronous), and the waiter on
//! the relays' push sockets. Knows nothing of circles or the outbox.

mod news;

pub use news::NewsWaiter;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use consilium_groups::Identity;
use consilium_model::Clock;
use consilium_relay_client::{AccountKey, Patience, RelayClient, RelayClientError};
use tokio::runtime::Runtime;

use crate::error::{ClientError, Result};

/// The engine's network runtime: one thread, driven by each blocking call.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ClientError::io("starting the network runtime"))
}

/// Ends every relay call of an engine at once, for good: raised when the profile locks, so a
/// sync waiting on a slow relay lets go of the engine (and its keys) within moments. A call it
/// ends reads as the relay being out of reach.
#[derive(Clone, Debug, Default)]
pub struct Interrupt(Arc<Raised>);

#[derive(Debug, Default)]
struct Raised {
    flag: AtomicBool,
    wake: tokio::sync::Notify,
}

impl Interrupt {
    pub fn raise(&self) {
        self.0.flag.store(true, Ordering::SeqCst);
        self.0.wake.notify_waiters();
    }

    pub fn is_raised(&self) -> bool {
        self.0.flag.load(Ordering::SeqCst)
    }

    async fn raised(&self) {
        let woken = self.0.wake.notified();
        tokio::pin!(woken);
        // Registered before the flag is read, so a raise in between is not missed.
        woken.as_mut().enable();
        if !self.is_raised() {
            woken.await;
        }
    }
}

/// Drives relay calls on the engine's runtime until they end or the interrupt is raised.
#[derive(Clone, Debug)]
pub struct Runner {
    runtime: Arc<Runtime>,
    interrupt: Interrupt,
}

impl Runner {
    pub fn run<T>(
        &self,
        call: impl std::future::Future<Output = consilium_relay_client::Result<T>>,
    ) -> consilium_relay_client::Result<T> {
        let interrupt = self.interrupt.clone();
        self.runtime.block_on(async move {
            tokio::select! {
                answer = call => answer,
                () = interrupt.raised() => Err(RelayClientError::Unreachable(
                    "the profile is locking".into(),
                )),
            }
        })
    }
}

pub struct Net {
    runtime: Arc<Runtime>,
    interrupt: Interrupt,
    key: Arc<AccountKey>,
    clock: Arc<dyn Clock>,
    patience: Patience,
    /// Self-hosted relays' pinned keys (see `RelayClient::with`).
    pins: HashMap<String, [u8; 32]>,
    clients: HashMap<String, RelayClient>,
    /// Inside a sync pass a relay that ran out of patience is not asked again (see
    /// `RelayClient::given_up`); outside one, every call asks afresh.
    in_pass: bool,
}

impl std::fmt::Debug for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Net")
            .field("relays", &self.clients.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Net {
    pub fn new(identity: &Identity, clock: Arc<dyn Clock>, patience: Patience) -> Result<Net> {
        let key = AccountKey::from_seed(identity.seed())?;
        Ok(Net {
            runtime: Arc::new(runtime()?),
            interrupt: Interrupt::default(),
            key: Arc::new(key),
            clock,
            patience,
            pins: HashMap::new(),
            clients: HashMap::new(),
            in_pass: false,
        })
    }

    /// The client of the relay at `base`.
    pub fn client(&mut self, base: &str) -> Result<RelayClient> {
        let client = match self.clients.get(base) {
            Some(c) => c.clone(),
            None => {
                let client = RelayClient::with(
                    base,
                    self.key.clone(),
                    self.clock.clone(),
                    self.patience,
                    self.pins.get(&consilium_model::wire::origin(base)).copied(),
                )?;
                self.clients.insert(base.to_string(), client.clone());
                client
            }
        };
        if !self.in_pass {
            client.try_again();
        }
        Ok(client)
    }

    /// From now on `relay` is trusted by its key whose SubjectPublicKeyInfo hashes to `pin`.
    pub fn pin(&mut self, relay: &str, pin: [u8; 32]) {
        let origin = consilium_model::wire::origin(relay);
        self.pins.insert(origin.clone(), pin);
        self.clients
            .retain(|base, _| consilium_model::wire::origin(base) != origin);
    }

    /// From now until `end_pass`, a relay that runs out of patience once is not asked again:
    /// a slow or trickling relay costs the pass one wait, whatever the number of its circles.
    pub fn begin_pass(&mut self) {
        self.in_pass = true;
        for c in self.clients.values() {
            c.try_again();
        }
    }

    pub fn end_pass(&mut self) {
        self.in_pass = false;
    }

    pub fn runtime(&self) -> Arc<Runtime> {
        self.runtime.clone()
    }

    /// Runs one relay call to completion, or until the interrupt is raised.
    pub fn run<T>(
        &self,
        call: impl std::future::Future<Output = consilium_relay_client::Result<T>>,
    ) -> Result<T> {
        self.runner().run(call).map_err(ClientError::from)
    }

    pub fn runner(&self) -> Runner {
        Runner {
            runtime: self.runtime.clone(),
            interrupt: self.interrupt.clone(),
        }
    }

    /// The handle that ends this engine's relay calls (see [`Interrupt`]).
    pub fn interrupt(&self) -> Interrupt {
        self.interrupt.clone()
    }
}
