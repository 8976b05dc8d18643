//! What each pass keeps up without being asked: our keys rotated in every circle, and the leave
//! proposals of members who asked to go committed.

use consilium_groups::{Circle, Provider};

use super::payload::Queued;
use super::queue::enqueue;
use crate::engine::Engine;
use crate::error::Result;

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
            if now.0 - last.0 >= ROTATE_EVERY_MS
                && !db.outbox().is_payload_queued(&c.id, &rotate)?
            {
                let op = Queued::Rotate;
                enqueue(db, &*self.config.entropy, &c.id, &op, now)?;
            }
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
