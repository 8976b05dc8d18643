//! A profile of before the device split had one key as identity, MLS leaf and relay account;
//! its first unlock by this version gave it a device key of its own (`Engine::ready`). Each pass
//! tells the relays that do not know it yet, first thing: a relay that learnt of it moves what
//! the old account held to the new one (`POST /v1/account/device`), and from then on the profile
//! signs there with the device key. Each circle's leaf then moves at its next rotation, queued
//! at once (`rotate_due`, `Circle::leaf_awaits_device`). A relay of before the split, which has
//! no such move, goes on knowing the old key until it is updated; one out of reach is tried
//! again next pass. Colleagues see the same physician (the identity key) throughout.

use super::report::{SyncReport, isolate};
use crate::engine::Engine;
use crate::error::Result;
use consilium_relay_client::DeviceMove;

impl Engine {
    pub(super) fn move_device(&mut self, report: &mut SyncReport) -> Result<()> {
        if self.before_split.is_none() {
            return Ok(());
        }
        let certificate = self.identity.certificate().to_vec();
        let relays: Vec<String> = (self.vault.db().membership().relays_used()?)
            .into_iter()
            .filter(|r| !self.net.knows_device(r))
            .collect();
        let mut left = 0;
        for relay in &relays {
            let client = self.net.client(relay)?;
            match self.net.run(client.move_to_device(&certificate)) {
                Ok(DeviceMove::Done) => {
                    let now = self.config.clock.now();
                    self.vault
                        .db()
                        .membership()
                        .record_relay_moved(relay, now)?;
                    self.net.device_moved(relay);
                    // Key packages of the old key are gone there: publish the device's.
                    self.vault.db().membership().forget_key_packages(relay)?;
                }
                Ok(DeviceMove::RelayOfBefore) => left += 1,
                Err(e) => {
                    left += 1;
                    isolate(e, relay, None, report)?;
                }
            }
        }
        if left == 0 {
            self.vault.db().membership().end_device_move()?;
            self.net.device_move_done();
            self.before_split = None;
        }
        Ok(())
    }
}
