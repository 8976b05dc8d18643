//! How long a circle keeps its cases. A circle's admin sets a retention period; every member's
//! client erases a case received in the circle once that many days have passed since it
//! arrived (own cases are the author's to keep). The setting travels as an application message
//! whose sender must be an admin where it is received; the relay is told too, and keeps the
//! circle's messages and images no longer than that.

use consilium_model::app::{AppMessage, MAX_RETENTION_DAYS, RetentionSet};

use crate::engine::Engine;
use crate::error::{ClientError, Result};
use crate::events::Event;
use crate::sync::erasure::erase_here;
use crate::sync::queue::{app, enqueue};

impl Engine {
    /// Sets how many days the cases received in `circle` are kept by every member (`None`: for
    /// ever). Only an admin may.
    pub fn set_retention(&mut self, circle: &str, days: Option<u32>) -> Result<()> {
        let c = self.resolve_circle(circle)?;
        if days.is_some_and(|d| d == 0 || d > MAX_RETENTION_DAYS) {
            return Err(ClientError::Invalid(format!(
                "a retention is 1 to {MAX_RETENTION_DAYS} days"
            )));
        }
        if !self.group(&c.id)?.may_manage(&self.identity.public_key())? {
            return Err(ClientError::Invalid(
                "only an admin of the circle sets how long its cases are kept".into(),
            ));
        }
        // The relay first: it keeps the circle's messages and images no longer than that. If
        // it cannot be reached, nothing changed.
        let client = self.net.client(&c.relay)?;
        self.net.run(client.set_group_retention(&c.id, days))?;
        let message = AppMessage::Retention(RetentionSet { days });
        let (now, entropy) = (self.config.clock.now(), self.config.entropy.clone());
        self.vault.db_mut().atomically(|db| {
            db.circles().set_retention(&c.id, days)?;
            let queued = app(db, &c.id, &message)?;
            enqueue(db, &*entropy, &c.id, &queued, now)?;
            Ok::<_, ClientError>(())
        })?;
        if self.expire_cases(&mut Vec::new())? {
            self.vault.settle_erasures()?;
        }
        Ok(())
    }

    /// How many days the cases received in `circle` are kept (`None`: for ever).
    pub fn retention(&self, circle: &str) -> Result<Option<u32>> {
        let c = self.resolve_circle(circle)?;
        Ok(self.vault.db().circles().retention(&c.id)?)
    }

    /// Erases the received cases whose circle's retention ran out, each told as an event;
    /// whether any was (the caller then settles the vault's erasures).
    pub(crate) fn expire_cases(&mut self, events: &mut Vec<Event>) -> Result<bool> {
        let now = self.config.clock.now();
        let expired = self.vault.db().shares().expired(now)?;
        if expired.is_empty() {
            return Ok(false);
        }
        self.vault.db_mut().atomically(|db| {
            expired
                .iter()
                .try_for_each(|(_, case)| erase_here(db, case))
        })?;
        events.extend(
            expired
                .into_iter()
                .map(|(circle, case)| Event::CaseExpired {
                    circle: hex::encode(circle),
                    case: case.to_string(),
                }),
        );
        Ok(true)
    }
}
