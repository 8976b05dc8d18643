//! The engine's connections: one relay client per relay address, all signing with the profile's
//! account key, driven by one small runtime (the engine's API is synchronous).

use std::collections::HashMap;
use std::sync::Arc;

use consilium_groups::Identity;
use consilium_model::Clock;
use consilium_relay_client::{AccountKey, RelayClient};
use tokio::runtime::Runtime;

use crate::error::{ClientError, Result};
use crate::relay_transport::{RelayTransport, runtime};

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

    pub fn transport(&mut self, base: &str) -> Result<RelayTransport> {
        Ok(RelayTransport::with_runtime(
            self.client(base)?,
            self.runtime.clone(),
        ))
    }
}

/// Posts each circle's items to that circle's relay.
#[derive(Debug, Default)]
pub struct CircleRoutes {
    pub routes: HashMap<Vec<u8>, RelayTransport>,
}

impl crate::outbox::Transport for CircleRoutes {
    fn post(
        &mut self,
        circle: &[u8],
        message_id: [u8; 16],
        sealed: &[u8],
    ) -> crate::outbox::Delivery {
        match self.routes.get_mut(circle) {
            Some(t) => t.post(circle, message_id, sealed),
            None => crate::outbox::Delivery::Refused("this profile is not in that circle".into()),
        }
    }
}
