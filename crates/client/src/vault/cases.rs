//! The profile's own cases: create, edit (a new revision, sent on to the case's circles), resolve,
//! read, list and search.

use consilium_model::{Case, CaseFields, CaseFilter, CaseId, CaseSummary, SearchHit, Timestamp};

use super::case_input::CasePatch;
use crate::engine::Engine;
use crate::error::{ClientError, Result};

impl Engine {
    /// Finds a case by its id or a unique prefix of at least 4 hex digits.
    pub fn resolve_case_id(&self, id_or_prefix: &str) -> Result<CaseId> {
        Ok(self.vault.db().cases().find(id_or_prefix)?)
    }

    pub fn create_case(&mut self, fields: CaseFields) -> Result<CaseId> {
        let now = self.config.clock.now();
        Ok(self.vault.db().cases().create(fields, now)?)
    }

    /// Applies `patch` to the case's current fields and stores the result as a new revision.
    pub fn edit_case(&mut self, id: &CaseId, patch: CasePatch) -> Result<u32> {
        if patch.is_empty() {
            return Err(ClientError::Invalid(
                "nothing to change: give at least one field".into(),
            ));
        }
        self.ensure_own(id, "edit")?;
        let mut fields = self.vault.db().cases().fields(id)?;
        patch.apply(&mut fields);
        if !self.vault.db().shares().circles_of(id)?.is_empty() {
            self.ensure_fields_reviewed(id, &fields)?;
        }
        let now = self.config.clock.now();
        let revision = self.vault.db().cases().edit(id, fields, now)?;
        self.send_revision(id)?;
        Ok(revision)
    }

    pub fn resolve_case(&mut self, id: &CaseId, outcome: &str) -> Result<()> {
        self.ensure_own(id, "resolve")?;
        if !self.vault.db().shares().circles_of(id)?.is_empty() {
            self.ensure_reviewed(id, &[("outcome".into(), outcome.to_string())])?;
        }
        let now = self.config.clock.now();
        self.vault.db().cases().resolve(id, outcome, now)?;
        self.send_outcome(id, outcome)
    }

    /// A case, with comment authors in circles shown by the names members gave themselves.
    pub fn case(&self, id: &CaseId) -> Result<Case> {
        let mut case = self.vault.db().cases().get(id)?;
        let circles = self.vault.db().shares().circles_of(id)?;
        if !circles.is_empty() {
            let me = self.identity.account_id();
            let mut names = vec![(me, self.vault.db().profile()?.name)];
            for circle in circles {
                for (account, name, _) in self.vault.db().circles().member_profiles(&circle)? {
                    names.push((account, name));
                }
            }
            for comment in &mut case.comments {
                if let Some((_, name)) = names
                    .iter()
                    .find(|(a, n)| *a == comment.author && !n.is_empty())
                {
                    comment.author = name.clone();
                }
            }
        }
        Ok(case)
    }

    pub fn revisions(&self, id: &CaseId) -> Result<Vec<(u32, CaseFields, Timestamp)>> {
        Ok(self.vault.db().cases().revisions(id)?)
    }

    pub fn list_cases(&self, filter: &CaseFilter) -> Result<Vec<CaseSummary>> {
        Ok(self.vault.db().cases().list(filter)?)
    }

    pub fn search(&self, query: &str) -> Result<Vec<SearchHit>> {
        Ok(self.vault.db().search().query(query, 100)?)
    }

    /// A received case belongs to its author: it is read-only here.
    pub(crate) fn ensure_own(&self, case: &CaseId, what: &str) -> Result<()> {
        if self.vault.db().shares().origin(case)?.is_some() {
            return Err(ClientError::Invalid(format!(
                "only the author of a case shared with you can {what} it"
            )));
        }
        Ok(())
    }
}
