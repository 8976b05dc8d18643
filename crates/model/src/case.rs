//! A clinical case: the structured fields of case-presentation practice (CARE checklist).

use serde::{Deserialize, Serialize};

use crate::attachment::Attachment;
use crate::comment::Comment;
use crate::ids::CaseId;
use crate::time::Timestamp;
use crate::vocab::{AgeBand, QuestionKind, Sex, Status, Urgency};

/// One event of the timeline, in days relative to presentation (day 0), never a date.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TimelineEntry {
    pub day: i32,
    pub event: String,
}

/// The fields an author writes. Every field has a default so a message from an older or newer
/// client (fewer or more fields) still decodes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CaseFields {
    pub title: String,
    pub age_band: Option<AgeBand>,
    pub sex: Option<Sex>,
    pub chief_complaint: String,
    pub history: String,
    pub examination: String,
    pub investigations: String,
    pub timeline: Vec<TimelineEntry>,
    pub working_diagnosis: String,
    pub differential: Vec<String>,
    pub question: String,
    pub question_kind: Option<QuestionKind>,
    pub urgency: Urgency,
    pub specialty: String,
    pub tags: Vec<String>,
}

impl CaseFields {
    /// Checks what a case must have before it is stored: a title, bounded sizes, clean tags.
    pub fn validate(&self) -> Result<(), crate::error::ModelError> {
        use crate::error::ModelError::Invalid;
        if self.title.trim().is_empty() {
            return Err(Invalid("a case needs a title".into()));
        }
        if self.title.chars().count() > MAX_TITLE_CHARS {
            return Err(Invalid(format!(
                "the title is longer than {MAX_TITLE_CHARS} characters"
            )));
        }
        for (name, text) in self.text_fields() {
            if text.len() > MAX_FIELD_BYTES {
                return Err(Invalid(format!(
                    "the field '{name}' is longer than {} KiB",
                    MAX_FIELD_BYTES / 1024
                )));
            }
        }
        if self.tags.len() > MAX_TAGS {
            return Err(Invalid(format!("a case has at most {MAX_TAGS} tags")));
        }
        for tag in &self.tags {
            if tag.trim().is_empty() || tag.chars().count() > MAX_TAG_CHARS {
                return Err(Invalid(format!(
                    "a tag must have 1 to {MAX_TAG_CHARS} characters"
                )));
            }
        }
        Ok(())
    }

    /// Every free-text field with its name, in form order (used by search and by validation).
    pub fn text_fields(&self) -> Vec<(&'static str, String)> {
        let timeline = self
            .timeline
            .iter()
            .map(|e| format!("day {}: {}", e.day, e.event))
            .collect::<Vec<_>>()
            .join("\n");
        vec![
            ("title", self.title.clone()),
            ("chief_complaint", self.chief_complaint.clone()),
            ("history", self.history.clone()),
            ("examination", self.examination.clone()),
            ("investigations", self.investigations.clone()),
            ("timeline", timeline),
            ("working_diagnosis", self.working_diagnosis.clone()),
            ("differential", self.differential.join("\n")),
            ("question", self.question.clone()),
            ("specialty", self.specialty.clone()),
            ("tags", self.tags.join(" ")),
        ]
    }

    /// Tags trimmed, lower-cased and deduplicated, in first-seen order.
    pub fn normalise_tags(&mut self) {
        let mut seen = Vec::<String>::new();
        for tag in self.tags.drain(..) {
            let t = tag.trim().to_lowercase();
            if !t.is_empty() && !seen.contains(&t) {
                seen.push(t);
            }
        }
        self.tags = seen;
    }
}

pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_FIELD_BYTES: usize = 64 * 1024;
pub const MAX_TAGS: usize = 32;
pub const MAX_TAG_CHARS: usize = 48;

/// A case as the vault holds it: current fields plus lifecycle, attachments and discussion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Case {
    pub id: CaseId,
    pub fields: CaseFields,
    pub status: Status,
    pub outcome: Option<String>,
    /// 1 for a new case, +1 per edit.
    pub revision: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub attachments: Vec<Attachment>,
    pub comments: Vec<Comment>,
}

/// One line of a case list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CaseSummary {
    pub id: CaseId,
    pub title: String,
    pub specialty: String,
    pub status: Status,
    pub urgency: Urgency,
    pub tags: Vec<String>,
    pub revision: u32,
    pub attachment_count: u32,
    pub comment_count: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Received from a circle (not written here).
    #[serde(default)]
    pub received: bool,
    /// Changed or commented since the user last opened it.
    #[serde(default)]
    pub unread: bool,
}

/// Filters of a case list; `None` means "any".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CaseFilter {
    pub status: Option<Status>,
    pub specialty: Option<String>,
    pub tag: Option<String>,
    /// Only cases received from or shared with this circle (its id; hex outside Rust, like
    /// every other id).
    #[serde(with = "circle_hex")]
    #[cfg_attr(feature = "specta", specta(type = Option<String>))]
    pub circle: Option<Vec<u8>>,
    /// Only own cases not shared with any circle.
    pub drafts: bool,
    /// Only cases changed or commented since last opened.
    pub unread: bool,
}

/// A circle id as lower-case hex, the way every id crosses to a face.
mod circle_hex {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(id: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match id {
            Some(bytes) => {
                s.serialize_some(&bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
            }
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let Some(hex) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        let hex = hex.trim();
        if !hex.is_ascii() || hex.len() % 2 != 0 || hex.len() > 128 {
            return Err(serde::de::Error::custom(
                "a circle id is up to 128 hex digits",
            ));
        }
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map(Some)
            .map_err(|_| serde::de::Error::custom("a circle id is written in hex digits"))
    }
}

/// A full-text search hit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SearchHit {
    pub id: CaseId,
    pub title: String,
    /// Where the match was: a field name or "comment".
    pub field: String,
    /// A short excerpt around the match, with the matched terms in `[` `]`.
    pub snippet: String,
}
