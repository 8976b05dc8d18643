//! What a face hands in to create or change a case: a patch of optional fields, or a TOML file.

use consilium_model::{AgeBand, CaseFields, QuestionKind, Sex, Urgency};
use serde::Deserialize;

use crate::error::{ClientError, Result};

/// Changes to a case's fields; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CasePatch {
    pub title: Option<String>,
    pub age_band: Option<AgeBand>,
    pub sex: Option<Sex>,
    pub chief_complaint: Option<String>,
    pub history: Option<String>,
    pub examination: Option<String>,
    pub investigations: Option<String>,
    pub working_diagnosis: Option<String>,
    pub differential: Option<Vec<String>>,
    pub question: Option<String>,
    pub question_kind: Option<QuestionKind>,
    pub urgency: Option<Urgency>,
    pub specialty: Option<String>,
    pub tags: Option<Vec<String>>,
}

impl CasePatch {
    pub fn is_empty(&self) -> bool {
        *self == CasePatch::default()
    }

    /// The text this patch would write, for the text scan before an edit goes out.
    pub fn texts(&self) -> Vec<String> {
        let single = [
            &self.title,
            &self.chief_complaint,
            &self.history,
            &self.examination,
            &self.investigations,
            &self.working_diagnosis,
            &self.question,
            &self.specialty,
        ];
        let lists = [&self.differential, &self.tags];
        single
            .into_iter()
            .flatten()
            .cloned()
            .chain(lists.into_iter().flatten().flatten().cloned())
            .collect()
    }

    pub fn apply(self, f: &mut CaseFields) {
        macro_rules! set {
            ($($field:ident),+) => { $(if let Some(v) = self.$field { f.$field = v; })+ };
        }
        set!(
            title,
            chief_complaint,
            history,
            examination,
            investigations,
            working_diagnosis,
            differential,
            question,
            specialty,
            tags
        );
        macro_rules! set_opt {
            ($($field:ident),+) => { $(if let Some(v) = self.$field { f.$field = Some(v); })+ };
        }
        set_opt!(age_band, sex, question_kind);
        if let Some(u) = self.urgency {
            f.urgency = u;
        }
    }
}

/// Reads a case from TOML with the same field names as the CLI flags' long forms
/// (`title`, `age_band`, `chief_complaint`, …, `timeline = [{ day = -3, event = "…" }]`).
/// Unknown keys are refused, so a typo does not silently drop a field.
pub fn case_from_toml(text: &str) -> Result<CaseFields> {
    #[derive(Deserialize)]
    struct TomlCase {
        #[serde(flatten)]
        patch: CasePatch,
        #[serde(default)]
        timeline: Vec<consilium_model::TimelineEntry>,
    }
    // serde's `deny_unknown_fields` does not work through `flatten`; check the keys by hand.
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        ClientError::Invalid(format!("case file: {}", e.message()))
    })?;
    const KNOWN: &[&str] = &[
        "title",
        "age_band",
        "sex",
        "chief_complaint",
        "history",
        "examination",
        "investigations",
        "working_diagnosis",
        "differential",
        "question",
        "question_kind",
        "urgency",
        "specialty",
        "tags",
        "timeline",
    ];
    if let Some(unknown) = table.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(ClientError::Invalid(format!(
            "case file: unknown field '{unknown}' (known: {})",
            KNOWN.join(", ")
        )));
    }
    let parsed: TomlCase = toml::from_str(text)
        .map_err(|e| ClientError::Invalid(format!("case file: {}", e.message())))?;
    let mut fields = CaseFields {
        timeline: parsed.timeline,
        ..Default::default()
    };
    parsed.patch.apply(&mut fields);
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_file_reads_every_field() {
        let f = case_from_toml(
            r#"
            title = "Annular rash"
            age_band = "47"
            sex = "female"
            chief_complaint = "spreading ring"
            question_kind = "diagnosis"
            urgency = "soon"
            tags = ["Derm", "lyme"]
            differential = ["erythema migrans", "tinea corporis"]
            timeline = [{ day = -10, event = "tick bite" }, { day = 0, event = "presentation" }]
            "#,
        )
        .unwrap();
        assert_eq!(f.title, "Annular rash");
        assert_eq!(f.age_band.map(|a| a.to_string()).as_deref(), Some("40-49"));
        assert_eq!(f.timeline.len(), 2);
        assert_eq!(f.urgency, Urgency::Soon);
    }

    #[test]
    fn a_typo_in_a_case_file_is_an_error_that_names_it() {
        let err = case_from_toml("title = \"x\"\nhistroy = \"y\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("histroy"), "{err}");
        assert!(case_from_toml("title = ").is_err());
        assert!(case_from_toml("title = \"x\"\nage_band = \"40-50\"").is_err());
    }
}
