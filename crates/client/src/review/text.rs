//! The text scan before anything leaves the laptop: the case's fields (and the outcome, and a
//! comment about to be posted) are scanned for identifiers with the case's own deny-list; what
//! is found must be edited out or acknowledged by the author as "not an identifier" before a
//! share, a revision, an outcome or a comment goes to a circle.

use consilium_deid::{DenyList, scan};
use consilium_model::{CaseFields, CaseId, FindingKind};

use crate::engine::Engine;
use crate::error::{ClientError, Result};
use crate::findings::TextFinding;

/// What the author acknowledges as not an identifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Acknowledge {
    /// Each of these findings (kind and the exact text found).
    These(Vec<(FindingKind, String)>),
    /// Every finding there is now.
    All,
}

impl Acknowledge {
    /// Parses `KIND:TEXT` (e.g. `date:12/03`).
    pub fn parse_one(s: &str) -> Result<(FindingKind, String)> {
        let (kind, text) = s.split_once(':').ok_or_else(|| {
            ClientError::Invalid(format!("{s:?}: write it as KIND:TEXT, e.g. date:12/03"))
        })?;
        let kind = kind
            .parse::<FindingKind>()
            .map_err(|e| ClientError::Invalid(e.to_string()))?;
        Ok((kind, text.to_string()))
    }
}

/// The fields of a case as (name, text), in the order a form shows them.
fn text_fields(f: &CaseFields) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = [
        ("title", &f.title),
        ("chief_complaint", &f.chief_complaint),
        ("history", &f.history),
        ("examination", &f.examination),
        ("investigations", &f.investigations),
        ("working_diagnosis", &f.working_diagnosis),
        ("question", &f.question),
        ("specialty", &f.specialty),
    ]
    .into_iter()
    .map(|(n, t)| (n.to_string(), t.clone()))
    .collect();
    out.extend(
        f.differential
            .iter()
            .map(|d| ("differential".to_string(), d.clone())),
    );
    out.extend(
        f.timeline
            .iter()
            .map(|t| ("timeline".to_string(), t.event.clone())),
    );
    out.extend(f.tags.iter().map(|t| ("tags".to_string(), t.clone())));
    out
}

/// The findings the author has not acknowledged, as the error that refuses to send.
fn refuse_open(found: Vec<TextFinding>) -> Result<()> {
    let open: Vec<TextFinding> = found.into_iter().filter(|f| !f.acknowledged).collect();
    if open.is_empty() {
        Ok(())
    } else {
        Err(ClientError::Identifiers(open))
    }
}

fn utf16_at(text: &str, byte: usize) -> usize {
    text[..byte].encode_utf16().count()
}

impl Engine {
    /// Replaces the names looked for in this case's text (the patient's, relatives'). They stay
    /// in the vault and are never shared.
    pub fn set_case_names(&mut self, case: &CaseId, names: &[String]) -> Result<()> {
        self.ensure_own(case, "list names for")?;
        Ok(self.vault.db().privacy().set_deny_names(case, names)?)
    }

    pub fn case_names(&self, case: &CaseId) -> Result<Vec<String>> {
        Ok(self.vault.db().privacy().deny_names(case)?)
    }

    /// Scans `texts` (field name, text) with the case's deny-list and marks what the author
    /// already acknowledged.
    fn scan_texts(&self, case: &CaseId, texts: &[(String, String)]) -> Result<Vec<TextFinding>> {
        let db = self.vault.db();
        let deny = DenyList::new(&db.privacy().deny_names(case)?);
        let acknowledged = db.privacy().acknowledged(case)?;
        let mut out = Vec::new();
        for (field, text) in texts {
            for f in scan(text, &deny) {
                let acknowledged = acknowledged
                    .iter()
                    .any(|(k, m)| k == f.kind.as_str() && *m == f.matched);
                out.push(TextFinding {
                    field: field.clone(),
                    kind: f.kind,
                    start_utf16: utf16_at(text, f.start),
                    end_utf16: utf16_at(text, f.end),
                    start: f.start,
                    end: f.end,
                    matched: f.matched,
                    acknowledged,
                });
            }
        }
        Ok(out)
    }

    /// What the scan finds in the case as it is now (its fields and outcome), and in `pending`
    /// (a comment, outcome, poll or edit about to be sent).
    pub fn scan_case(&self, case: &CaseId, pending: &[String]) -> Result<Vec<TextFinding>> {
        let full = self.vault.db().cases().get(case)?;
        let mut texts = text_fields(&full.fields);
        if let Some(outcome) = &full.outcome {
            texts.push(("outcome".into(), outcome.clone()));
        }
        texts.extend(pending.iter().map(|p| ("new text".to_string(), p.clone())));
        self.scan_texts(case, &texts)
    }

    /// Records the author's decisions; a finding named that is not in the case (or `pending`)
    /// now is refused, so a typo does not pass for a decision.
    pub fn acknowledge(
        &self,
        case: &CaseId,
        what: &Acknowledge,
        pending: &[String],
    ) -> Result<usize> {
        let found = self.scan_case(case, pending)?;
        let chosen: Vec<(FindingKind, String)> = match what {
            Acknowledge::All => found.iter().map(|f| (f.kind, f.matched.clone())).collect(),
            Acknowledge::These(list) => {
                for (kind, text) in list {
                    if !found.iter().any(|f| f.kind == *kind && f.matched == *text) {
                        return Err(ClientError::Invalid(format!(
                            "{kind}:{text} is not among what the scan found in this case"
                        )));
                    }
                }
                list.clone()
            }
        };
        let decided: Vec<TextFinding> = found
            .into_iter()
            .filter(|f| chosen.iter().any(|(k, t)| f.kind == *k && f.matched == *t))
            .collect();
        self.note_seen(case, &decided)?;
        let db = self.vault.db();
        for (kind, text) in &chosen {
            db.privacy().acknowledge(case, kind.as_str(), text)?;
        }
        Ok(chosen.len())
    }

    /// Refuses while the scan finds something unacknowledged in `texts`.
    pub(crate) fn ensure_reviewed(&self, case: &CaseId, texts: &[(String, String)]) -> Result<()> {
        let found = self.scan_texts(case, texts)?;
        self.note_seen(case, &found)?;
        refuse_open(found)
    }

    /// Refuses while the case as stored (fields and outcome) holds an unacknowledged finding;
    /// otherwise returns what the scan found (all acknowledged).
    pub(crate) fn ensure_case_reviewed(&self, case: &CaseId) -> Result<Vec<TextFinding>> {
        let found = self.scan_case(case, &[])?;
        self.note_seen(case, &found)?;
        refuse_open(found.clone())?;
        Ok(found)
    }

    /// Refuses while the case's fields hold an unacknowledged finding.
    pub(crate) fn ensure_fields_reviewed(&self, case: &CaseId, fields: &CaseFields) -> Result<()> {
        self.ensure_reviewed(case, &text_fields(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledgements_parse_as_kind_and_text() {
        assert_eq!(
            Acknowledge::parse_one("date:12/03").unwrap(),
            (FindingKind::Date, "12/03".into())
        );
        assert_eq!(
            Acknowledge::parse_one("phone:+33 6 12:34").unwrap(),
            (FindingKind::Phone, "+33 6 12:34".into())
        );
        assert!(Acknowledge::parse_one("12/03").is_err());
        assert!(Acknowledge::parse_one("birthday:12/03").is_err());
    }

    #[test]
    fn offsets_are_given_in_utf16_for_the_window() {
        assert_eq!(utf16_at("Hélène 😀 x", "Hélène 😀 ".len()), 10);
    }
}
