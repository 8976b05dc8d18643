//! The de-identification report of a case: what was removed from each image, what the text scan
//! found and how the author resolved each finding. It is made from what the vault keeps (each
//! image's report, the findings the author was shown, the acknowledgements) and a copy is kept
//! each time the case goes to a circle. It never leaves the laptop.

use consilium_model::codec::from_cbor;
use consilium_model::{AttachmentId, CaseId, DeidReport, FindingKind, Timestamp};
use serde::{Deserialize, Serialize};

use crate::engine::Engine;
use crate::error::{ClientError, Result};
use crate::findings::TextFinding;

/// How a finding of the text scan stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum Resolution {
    /// Still in the text, not acknowledged: the case cannot go.
    Open,
    /// The author declared it not an identifier.
    Acknowledged,
    /// Shown to the author and no longer in the text.
    EditedOut,
}

impl Resolution {
    pub fn describe(&self) -> &'static str {
        match self {
            Resolution::Open => "open",
            Resolution::Acknowledged => "acknowledged as not an identifier",
            Resolution::EditedOut => "edited out",
        }
    }
}

/// One finding of the text scan and how it was resolved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TextEntry {
    pub field: String,
    pub kind: FindingKind,
    pub matched: String,
    pub resolution: Resolution,
}

/// One image's part of the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ImageEntry {
    /// 1-based, as the faces number the case's images.
    pub position: u32,
    pub attachment: AttachmentId,
    /// The report in one line, e.g. "removed EXIF: 42 fields incl. GPS position; XMP".
    pub summary: String,
    /// What still waits for the author (nothing once reviewed).
    pub pending: Vec<String>,
    pub report: DeidReport,
}

/// The de-identification report of a case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CaseDeidReport {
    pub images: Vec<ImageEntry>,
    pub text: Vec<TextEntry>,
    /// How many names the author listed for the scan (the names themselves are not in it).
    pub names_listed: u32,
    pub made_at: Timestamp,
    /// When the case last went to a circle with this report, if it did.
    pub last_shared_at: Option<Timestamp>,
}

impl CaseDeidReport {
    /// Nothing waits for the author: every finding resolved, every image settled.
    pub fn complete(&self) -> bool {
        self.text.iter().all(|t| t.resolution != Resolution::Open)
            && self.images.iter().all(|i| i.pending.is_empty())
    }
}

impl Engine {
    /// The de-identification report of an own case as it stands now; none for a case shared
    /// with this profile (its author holds the report).
    pub fn deid_report(&self, case: &CaseId) -> Result<Option<CaseDeidReport>> {
        if self.vault.db().shares().origin(case)?.is_some() {
            return Ok(None);
        }
        self.own_deid_report(case).map(Some)
    }

    pub(crate) fn own_deid_report(&self, case: &CaseId) -> Result<CaseDeidReport> {
        let current = self.scan_case(case, &[])?;
        self.note_seen(case, &current)?;
        self.report_from(case, &current)
    }

    /// The report, given what the text scan finds in the case now (already shown to the author).
    pub(crate) fn report_from(
        &self,
        case: &CaseId,
        current: &[TextFinding],
    ) -> Result<CaseDeidReport> {
        let db = self.vault.db();
        let acknowledged = db.privacy().acknowledged(case)?;
        let mut text: Vec<TextEntry> = Vec::new();
        for (field, kind, matched) in db.privacy().seen(case)? {
            let Ok(kind) = kind.parse::<FindingKind>() else {
                continue;
            };
            let still = current
                .iter()
                .any(|f| f.kind == kind && f.matched == matched);
            let resolution = if acknowledged
                .iter()
                .any(|(k, m)| k == kind.as_str() && *m == matched)
            {
                Resolution::Acknowledged
            } else if still {
                Resolution::Open
            } else {
                Resolution::EditedOut
            };
            text.push(TextEntry {
                field,
                kind,
                matched,
                resolution,
            });
        }
        let images = db
            .attachments()
            .of_case(case)?
            .into_iter()
            .enumerate()
            .map(|(i, a)| ImageEntry {
                position: i as u32 + 1,
                summary: a.report.summary(),
                pending: if db.transfers().attachment_sent(&a.id).unwrap_or(false) {
                    Vec::new()
                } else {
                    a.report.pending_review()
                },
                attachment: a.id,
                report: a.report,
            })
            .collect();
        let last_shared_at = db.privacy().deid_reports(case)?.last().map(|k| k.made_at);
        Ok(CaseDeidReport {
            images,
            text,
            names_listed: db.privacy().deny_names(case)?.len() as u32,
            made_at: self.config.clock.now(),
            last_shared_at,
        })
    }

    /// The reports kept each time the case went to a circle, oldest first.
    pub fn shared_deid_reports(&self, case: &CaseId) -> Result<Vec<CaseDeidReport>> {
        self.vault
            .db()
            .privacy()
            .deid_reports(case)?
            .into_iter()
            .map(|kept| {
                from_cbor(&kept.report).map_err(|e| {
                    ClientError::Damaged(format!("a kept de-identification report: {e}"))
                })
            })
            .collect()
    }

    /// Notes the findings the author is being shown, for the report.
    pub(crate) fn note_seen(&self, case: &CaseId, found: &[TextFinding]) -> Result<()> {
        let seen: Vec<(String, String, String)> = found
            .iter()
            .map(|f| {
                (
                    f.field.clone(),
                    f.kind.as_str().to_string(),
                    f.matched.clone(),
                )
            })
            .collect();
        Ok(self
            .vault
            .db()
            .privacy()
            .note_seen(case, &seen, self.config.clock.now())?)
    }
}
