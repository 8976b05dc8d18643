//! A restored profile's way back into its circles. Its backup held no MLS state, so each
//! circle restored with it waits: this laptop sends the circle's relay a key package of its new
//! device, which the relay takes only when the device's certificate names an identity that is a
//! member, and hands every member as a join request. Any member lets it in with one commit that
//! removes the lost laptop's leaf and adds this one (`Circle::add` of a member's new device);
//! the Welcome that follows is taken from any member this profile knew in the circle.

use consilium_groups::{Provider, make_key_packages};
use consilium_store::PendingJoin;

use super::key_publish::KEY_PACKAGE_LIFETIME_SECS;
use crate::engine::Engine;
use crate::error::Result;
use crate::sync::SyncReport;

impl Engine {
    /// Asks each restored circle not asked yet to let this laptop in again; a relay that cannot
    /// be reached fails that circle alone, and it is asked on a later pass.
    pub(crate) fn ask_readmissions(&mut self, report: &mut SyncReport) -> Result<()> {
        let asked: Vec<Vec<u8>> = self
            .vault
            .db()
            .membership()
            .pending_joins()?
            .into_iter()
            .map(|j| j.circle)
            .collect();
        for c in self.vault.db().circles().awaiting_readmission()? {
            if asked.contains(&c.id) {
                continue;
            }
            if let Err(e) = self.ask_readmission(&c) {
                crate::sync::isolate(e, &c.relay, Some(&c.id), report)?;
            }
        }
        Ok(())
    }

    fn ask_readmission(&mut self, c: &consilium_store::CircleRecord) -> Result<()> {
        let me = self.identity.account_id();
        // Whoever this profile knew in the circle may send the Welcome.
        let members: Vec<String> = self
            .vault
            .db()
            .circles()
            .member_profiles(&c.id)?
            .into_iter()
            .map(|(account, _, _)| account)
            .filter(|a| *a != me)
            .collect();
        let package = make_key_packages(
            &Provider::new(self.vault.db().connection()),
            &self.identity,
            1,
            false,
            KEY_PACKAGE_LIFETIME_SECS,
        )?
        .remove(0)
        .to_message_bytes()?;
        let client = self.net.client(&c.relay)?;
        self.net.run(client.request_readmission(&c.id, &package))?;
        let join = PendingJoin {
            circle: c.id.clone(),
            relay: c.relay.clone(),
            name: c.name.clone(),
            // This profile's own identity: the Welcome must put it in the circle.
            inviter: me,
            admins: members,
        };
        self.vault
            .db()
            .membership()
            .add_pending_join(&join, self.config.clock.now())?;
        Ok(())
    }
}
