//! Sending the outbox: each circle's head item sealed for the epoch current when it goes and
//! posted to that circle's relay.

use super::circle_apply::CircleSealer;
use super::outbox::{DeliveryReport, deliver_due};
use super::queue::random;
use super::report::SyncReport;
use super::routes::{CircleRoutes, RelayTransport};
use crate::engine::Engine;
use crate::error::Result;

impl Engine {
    pub(super) fn deliver(&mut self, report: &mut SyncReport) -> Result<DeliveryReport> {
        let mut routes = CircleRoutes::default();
        let mut on_old_key = std::collections::HashSet::new();
        for c in self.vault.db().circles().all()? {
            routes.routes.insert(
                c.id.clone(),
                RelayTransport::with_runner(self.net.client(&c.relay)?, self.net.runner()),
            );
            if !self.net.knows_device(&c.relay) {
                on_old_key.insert(c.id.clone());
            }
        }
        let now = self.config.clock.now();
        let mut sealer = CircleSealer {
            identity: &self.identity,
            before_split: self.before_split.as_ref().map(|old| (old, on_old_key)),
            now,
            events: Vec::new(),
        };
        let entropy = self.config.entropy.clone();
        let mut jitter = || {
            random::<4>(&*entropy)
                .map(|b| f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX))
                .unwrap_or(0.5)
        };
        let delivery = deliver_due(
            self.vault.db_mut(),
            &mut routes,
            &mut sealer,
            now,
            &mut jitter,
        )?;
        report.sent += delivery.delivered;
        report.events.append(&mut sealer.events);
        report.redone += delivery.resealed;
        if let Some(why) = &delivery.offline {
            report.offline = Some(why.clone());
        }
        Ok(delivery)
    }
}
