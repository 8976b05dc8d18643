//! The engine's connections: one relay client per relay address, all signing with the profile's
//! account key, driven by one small runtime (the engine's API is synchronous), and the waiter on
//! the relays' push sockets. Knows nothing of circles or the outbox.

mod news;

pub use news::NewsWaiter;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

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

/// Ends an engine's relay calls from outside its mutex. `raise` ends every call at once, for
/// good: the profile is locking, so a sync waiting on a slow relay lets go of the engine (and its
/// keys) within moments. `want` ends a sync pass's calls while someone waits for the engine (a
/// window command): the pass sets the rest aside and reports itself cut short, and the next
/// pass takes it up. A command's own calls are never set aside. A call ended either way reads
/// as the relay being out of reach.
#[derive(Clone, Debug, Default)]
pub struct Interrupt(Arc<Raised>);

#[derive(Debug, Default)]
struct Raised {
    flag: AtomicBool,
    /// How many callers wait for (or hold) the engine right now.
    wanted: AtomicUsize,
    /// Whether the engine is inside a sync pass (whose calls `want` sets aside).
    in_pass: AtomicBool,
    /// Whether a pass call was set aside since the pass began.
    set_aside: AtomicBool,
    wake: tokio::sync::Notify,
}

/// Someone waits for the engine while this lives (see [`Interrupt::want`]).
#[derive(Debug)]
pub struct Wanted(Arc<Raised>);

impl Drop for Wanted {
    fn drop(&mut self) {
        self.0.wanted.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Why a relay call ended before its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Locking,
    SetAside,
}

impl Interrupt {
    pub fn raise(&self) {
        self.0.flag.store(true, Ordering::SeqCst);
        self.0.wake.notify_waiters();
    }

    pub fn is_raised(&self) -> bool {
        self.0.flag.load(Ordering::SeqCst)
    }

    /// Says that the caller waits for the engine until the returned guard is dropped: a sync
    /// pass holding it ends its relay call under way, and makes no other, within moments.
    pub fn want(&self) -> Wanted {
        self.0.wanted.fetch_add(1, Ordering::SeqCst);
        self.0.wake.notify_waiters();
        Wanted(self.0.clone())
    }

    fn ended(&self) -> Option<Ended> {
        if self.is_raised() {
            Some(Ended::Locking)
        } else if self.0.in_pass.load(Ordering::SeqCst) && self.0.wanted.load(Ordering::SeqCst) > 0
        {
            self.0.set_aside.store(true, Ordering::SeqCst);
            Some(Ended::SetAside)
        } else {
            None
        }
    }

    async fn until_ended(&self) -> Ended {
        loop {
            let woken = self.0.wake.notified();
            tokio::pin!(woken);
            // Registered before the flags are read, so a raise in between is not missed.
            woken.as_mut().enable();
            if let Some(why) = self.ended() {
                return why;
            }
            woken.await;
        }
    }

    fn begin_pass(&self) {
        self.0.set_aside.store(false, Ordering::SeqCst);
        self.0.in_pass.store(true, Ordering::SeqCst);
    }

    /// Ends the pass; whether any of its calls was set aside.
    fn end_pass(&self) -> bool {
        self.0.in_pass.store(false, Ordering::SeqCst);
        self.0.set_aside.swap(false, Ordering::SeqCst)
    }
}

/// Drives relay calls on the engine's runtime until they end or the interrupt ends them.
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
                why = interrupt.until_ended() => Err(RelayClientError::Unreachable(match why {
                    Ended::Locking => "the profile is locking".into(),
                    Ended::SetAside => "set aside for a moment; the sync goes on next".into(),
                })),
            }
        })
    }

    /// Whether the pass this runner serves set its calls aside (then nothing was sent).
    pub fn setting_aside(&self) -> bool {
        self.interrupt.0.set_aside.load(Ordering::SeqCst)
    }
}

pub struct Net {
    runtime: Arc<Runtime>,
    interrupt: Interrupt,
    key: Arc<AccountKey>,
    /// A profile of before the device split, while moving: its one old key, which signs for it
    /// at every relay not in `moved` (see the engine's `device_move`).
    before_split: Option<Arc<AccountKey>>,
    moved: HashSet<String>,
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
        let key = AccountKey::from_seed(identity.device_seed())?;
        Ok(Net {
            runtime: Arc::new(runtime()?),
            interrupt: Interrupt::default(),
            key: Arc::new(key),
            before_split: None,
            moved: HashSet::new(),
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
                let key = match &self.before_split {
                    Some(old) if !self.moved.contains(base) => old.clone(),
                    _ => self.key.clone(),
                };
                let client = RelayClient::with(
                    base,
                    key,
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

    /// While a profile of before the split moves to its device key: `old` (its one key) signs
    /// at every relay but those in `moved`.
    pub fn moving_from(&mut self, old: &Identity, moved: Vec<String>) -> Result<()> {
        self.before_split = Some(Arc::new(AccountKey::from_seed(old.device_seed())?));
        self.moved = moved.into_iter().collect();
        self.clients.clear();
        Ok(())
    }

    /// Whether `relay` knows this profile by its device key.
    pub fn knows_device(&self, relay: &str) -> bool {
        self.before_split.is_none() || self.moved.contains(relay)
    }

    /// `relay` learnt of the device key: it is signed for with it from now on.
    pub fn device_moved(&mut self, relay: &str) {
        self.moved.insert(relay.to_string());
        self.clients.remove(relay);
    }

    /// Every relay knows the device key: the old key signs nothing more.
    pub fn device_move_done(&mut self) {
        self.before_split = None;
        self.moved.clear();
        self.clients.clear();
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
        self.interrupt.begin_pass();
        for c in self.clients.values() {
            c.try_again();
        }
    }

    /// Ends the pass; whether some of its calls were set aside for someone who wanted the
    /// engine (see [`Interrupt::want`]).
    pub fn end_pass(&mut self) -> bool {
        self.in_pass = false;
        self.interrupt.end_pass()
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
