//! Taking a case away. `delete_case` erases this laptop's copy, own or received; `retract_case`
//! withdraws an own shared case from every circle it went to, where each member's client erases
//! its copy and keeps a tombstone. Erased means gone from the vault's pages, not only from its
//! tables (see `CaseDb::erase_case`), and from the outbox: a queued message about the case
//! keeps its number (so colleagues see no gap in ours) but no longer its content.

use consilium_model::CaseId;
use consilium_model::app::{AppMessage, CaseRetracted};
use consilium_store::Tombstone;

use crate::engine::Engine;
use crate::error::{ClientError, Result};
use crate::sync::erasure::{empty_queued, erase_here};
use crate::sync::queue::{app, enqueue};

impl Engine {
    /// Erases the case here with everything it holds (revisions, comments, polls, images, its
    /// privacy records and its queued messages). Colleagues keep their copies: see
    /// `retract_case`.
    pub fn delete_case(&mut self, case: &CaseId) -> Result<()> {
        self.vault.db().cases().revision(case)?;
        self.vault.db_mut().atomically(|db| erase_here(db, case))?;
        Ok(self.vault.settle_erasures()?)
    }

    /// Erases every case received from `circle` (after leaving it, or being removed): the
    /// number erased. Own cases shared there stay.
    pub fn delete_received_cases(&mut self, circle: &str) -> Result<usize> {
        // A circle left, or one this profile was removed from, is named too.
        let c = match self.resolve_circle(circle) {
            Ok(c) => c,
            Err(e) => {
                let wanted = circle.trim().to_lowercase();
                self.vault
                    .db()
                    .circles()
                    .left()?
                    .into_iter()
                    .find(|c| c.name.to_lowercase() == wanted || hex::encode(&c.id) == wanted)
                    .ok_or(e)?
            }
        };
        let cases = self.vault.db().shares().received_from(&c.id)?;
        self.vault
            .db_mut()
            .atomically(|db| cases.iter().try_for_each(|case| erase_here(db, case)))?;
        self.vault.settle_erasures()?;
        Ok(cases.len())
    }

    /// What is left of a case its author retracted, if it was.
    pub fn tombstone(&self, case: &CaseId) -> Result<Option<Tombstone>> {
        Ok(self.vault.db().tombstone(case)?)
    }

    /// Every tombstone, the latest first.
    pub fn tombstones(&self) -> Result<Vec<Tombstone>> {
        Ok(self.vault.db().tombstones()?)
    }

    /// Withdraws an own case from every circle it was shared with: each member's client erases
    /// its copy and keeps a tombstone, and so does this one. The number of circles told.
    pub fn retract_case(&mut self, case: &CaseId) -> Result<usize> {
        let db = self.vault.db();
        db.cases().revision(case)?;
        if db.shares().origin(case)?.is_some() {
            return Err(ClientError::Invalid(
                "only its author can retract a case; delete your copy instead".into(),
            ));
        }
        let circles = db.shares().circles_of(case)?;
        if circles.is_empty() {
            return Err(ClientError::Invalid(
                "this case was never shared: delete it instead".into(),
            ));
        }
        let retracted = AppMessage::CaseRetracted(CaseRetracted {
            case_id: case.clone(),
        });
        let (now, entropy) = (self.config.clock.now(), self.config.entropy.clone());
        self.vault.db_mut().atomically(|db| {
            empty_queued(db, case, || Ok(retracted.clone()))?;
            // Its images leave the relays too, at this pass or the next that reaches them.
            db.transfers().withdraw_sent_blobs(case)?;
            db.erase_case(case)?;
            db.add_tombstone(case, None, now)?;
            for circle in &circles {
                let queued = app(db, circle, &retracted)?;
                enqueue(db, &*entropy, circle, &queued, now)?;
            }
            Ok::<_, ClientError>(())
        })?;
        self.vault.settle_erasures()?;
        Ok(circles.len())
    }
}
