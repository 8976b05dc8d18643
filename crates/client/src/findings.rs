//! What the review gates find and report: a possible identifier in the text, an image that waits
//! for the author. The errors that refuse a share carry these, so they sit below the error type
//! and know nothing of the engine.

use consilium_model::{AttachmentId, FindingKind};
use serde::Serialize;

/// One possible identifier in a field of a case, and whether the author has acknowledged it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TextFinding {
    /// The field it is in ("history", "differential", "comment"…).
    pub field: String,
    pub kind: FindingKind,
    pub matched: String,
    /// Byte offsets in the field's text.
    pub start: usize,
    pub end: usize,
    /// The same offsets in UTF-16 code units, for a face written in JavaScript.
    pub start_utf16: usize,
    pub end_utf16: usize,
    pub acknowledged: bool,
}

impl TextFinding {
    /// `kind:text`, as the CLI's `--acknowledge` takes it.
    pub fn label(&self) -> String {
        format!("{}:{}", self.kind, self.matched)
    }
}

/// An own, unsent image that waits for the author.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PendingImage {
    pub attachment: AttachmentId,
    /// 1-based position among the case's images, as the faces number them.
    pub position: usize,
    /// What waits, in words.
    pub reasons: Vec<String>,
}

/// "The text may identify the patient: a date “12/03/2024” in history; … Edit them, or
/// acknowledge each as not an identifier (--acknowledge date:12/03/2024)."
pub(crate) fn identifiers_message(found: &[TextFinding]) -> String {
    let listed: Vec<String> = found
        .iter()
        .map(|f| {
            format!(
                "{} “{}” in {} ({})",
                f.kind.describe(),
                f.matched,
                f.field.replace('_', " "),
                f.label()
            )
        })
        .collect();
    format!(
        "the text may identify the patient: {}. Edit it out, or acknowledge each as not an identifier",
        listed.join("; ")
    )
}

/// "image 2 (CT…): review for burned-in text …; image 3: 1 proposed face redaction …"
pub(crate) fn review_message(pending: &[PendingImage]) -> String {
    let listed: Vec<String> = pending
        .iter()
        .map(|p| {
            format!(
                "image {} ({}): {}",
                p.position,
                p.attachment,
                p.reasons.join("; ")
            )
        })
        .collect();
    format!(
        "an image must be reviewed before it is shared: {}. Open it in the redaction editor (CLI: case redact, then case review)",
        listed.join("; ")
    )
}
