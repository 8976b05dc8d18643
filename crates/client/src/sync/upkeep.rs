//! What each pass keeps up without being asked: our keys rotated in every circle, the leave
//! proposals of members who asked to go committed, and circles made before the relay checked
//! commits switched over.

use consilium_groups::{Circle, Provider, PublicState};
use consilium_model::wire::GroupStateUpload;
use consilium_relay_client::RelayCode;
use serde_bytes::ByteBuf;

use super::payload::Queued;
use super::queue::enqueue;
use super::report::{SyncReport, offline};
use crate::engine::Engine;
use crate::error::{ClientError, Result};

/// A group's public state as the relay's wire carries it.
pub(crate) fn relay_state(state: &PublicState) -> GroupStateUpload {
    GroupStateUpload {
        group_info: ByteBuf::from(state.group_info.clone()),
        ratchet_tree: ByteBuf::from(state.ratchet_tree.clone()),
    }
}

/// Every member gives itself fresh keys in each circle at least this often.
pub(crate) const ROTATE_EVERY_MS: i64 = 7 * 24 * 3600 * 1000;

impl Engine {
    /// Queues a key rotation in each circle where ours is older than `ROTATE_EVERY_MS` (counted
    /// from joining or creating it when we never rotated).
    pub(super) fn rotate_due(&mut self) -> Result<()> {
        let now = self.config.clock.now();
        let rotate = Queued::Rotate.encode()?;
        for c in self.vault.db().circles().all()? {
            let db = self.vault.db();
            let last = db.circles().rotated_at(&c.id)?.unwrap_or(c.created_at);
            // A circle made before roles moves towards them by rotations (see `Circle::rotate`),
            // and a leaf of before the device split to the device key, once its relay knows it.
            let identity = self.identity_at(&c.relay);
            let (for_roles, for_device) =
                match Circle::load(&Provider::new(db.connection()), &c.id)? {
                    Some(g) => (
                        g.wants_rotation_for_roles(identity)?,
                        g.leaf_awaits_device(identity),
                    ),
                    None => (false, false),
                };
            if (now.0 - last.0 >= ROTATE_EVERY_MS || for_roles || for_device)
                && !db.outbox().is_payload_queued(&c.id, &rotate)?
            {
                let op = Queued::Rotate;
                enqueue(db, &*self.config.entropy, &c.id, &op, now)?;
            }
        }
        Ok(())
    }

    /// For each circle that still sends its commits encrypted (made before the relay checked
    /// them): gives the relay the group's public state, then sends proposals and commits as
    /// PublicMessages. Runs after the logs were read, so the state is the relay's epoch; a
    /// refusal (another epoch, a relay that is away) is tried again on the next pass, and until
    /// then the circle's commits wait in the outbox.
    pub(super) fn switch_to_checked_commits(&mut self, report: &mut SyncReport) -> Result<()> {
        for c in self.vault.db().circles().all()? {
            let provider = Provider::new(self.vault.db().connection());
            let Some(circle) = Circle::load(&provider, &c.id)? else {
                continue;
            };
            if !circle.sends_hidden_handshakes() || !circle.is_active() {
                continue;
            }
            let state = relay_state(&circle.public_state(&provider, self.identity_at(&c.relay))?);
            let client = self.net.client(&c.relay)?;
            match self.net.run(client.upload_group_state(&c.id, &state)) {
                Ok(()) => {}
                Err(ClientError::Relay(e)) if matches!(e.code(), Some(RelayCode::Conflict)) => {}
                Err(e) => {
                    // An unreachable relay is reported; any other refusal (the relay moved to
                    // another epoch meanwhile) is tried again on the next pass.
                    let _ = offline(e, report);
                    continue;
                }
            }
            self.vault.db_mut().atomically(|db| {
                let provider = Provider::new(db.connection());
                if let Some(mut circle) = Circle::load(&provider, &c.id)? {
                    circle.switch_to_public_handshakes(&provider)?;
                }
                Ok::<_, ClientError>(())
            })?;
        }
        Ok(())
    }

    /// Queues a commit of the proposals (members asking to leave) waiting in our circles.
    pub(super) fn commit_proposals(&mut self) -> Result<usize> {
        let mut queued = 0;
        let now = self.config.clock.now();
        for c in self.vault.db().circles().all()? {
            let waiting = Circle::load(&Provider::new(self.vault.db().connection()), &c.id)?
                .is_some_and(|g| g.has_pending_proposals() && !g.has_pending_commit());
            let commit = Queued::CommitProposals;
            if waiting
                && !self
                    .vault
                    .db()
                    .outbox()
                    .is_payload_queued(&c.id, &commit.encode()?)?
            {
                enqueue(self.vault.db(), &*self.config.entropy, &c.id, &commit, now)?;
                queued += 1;
            }
        }
        Ok(queued)
    }
}
