//! The engine's connections: one relay client per relay address, all signing with the profile's
//! account key, driven by one small runtime (the engine's API is synchronous), and the waiter on
//! the relays' push sockets. Knows nothing of circles or the outbox.

mod news;

pub use news::NewsWaiter;

use std::collections::HashMap;
use std::sync::Arc;

use consilium_groups::Identity;
use consilium_model::Clock;
use consilium_relay_client::{AccountKey, RelayClient};
use tokio::runtime::Runtime;

use crate::error::{ClientError, Result};

/// The engine's network runtime: one thread, driven by each blocking call.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ClientError::io("starting the network runtime"))
}

pub struct Net {
    runtime: Arc<Runtime>,
    key: Arc<AccountKey>,
    clock: Arc<dyn Clock>,
    clients: HashMap<String, RelayClient>,
}

impl std::fmt::Debug for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Net")
            .field("relays", &self.clients.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Net {
    pub fn new(identity: &Identity, clock: Arc<dyn Clock>) -> Result<Net> {
        let key = AccountKey::from_seed(identity.seed())?;
        Ok(Net {
            runtime: Arc::new(runtime()?),
            key: Arc::new(key),
            clock,
            clients: HashMap::new(),
        })
    }

    /// The client of the relay at `base`.
    pub fn client(&mut self, base: &str) -> Result<RelayClient> {
        if let Some(c) = self.clients.get(base) {
            return Ok(c.clone());
        }
        let client = RelayClient::new(base, self.key.clone(), self.clock.clone())?;
        self.clients.insert(base.to_string(), client.clone());
        Ok(client)
    }

    pub fn runtime(&self) -> Arc<Runtime> {
        self.runtime.clone()
    }

    /// Runs one relay call to completion.
    pub fn run<T>(
        &self,
        call: impl std::future::Future<Output = consilium_relay_client::Result<T>>,
    ) -> Result<T> {
        self.runtime.block_on(call).map_err(ClientError::from)
    }
}
