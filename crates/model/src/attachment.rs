//! Attachments (cleaned images) and the de-identification report of each.

use serde::{Deserialize, Serialize};

use crate::ids::AttachmentId;
use crate::time::Timestamp;

/// The most images one case holds: at import, and in what a colleague's case may point to.
pub const MAX_IMAGES_PER_CASE: usize = 50;

/// The stored sizes of an attachment; all three are made from the same cleaned pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum Rendition {
    /// The cleaned image at full resolution.
    Full,
    /// Longest side at most 1600 px.
    Preview,
    /// Longest side at most 320 px.
    Thumbnail,
}

impl Rendition {
    pub const ALL: [Rendition; 3] = [Rendition::Full, Rendition::Preview, Rendition::Thumbnail];

    pub fn as_str(&self) -> &'static str {
        match self {
            Rendition::Full => "full",
            Rendition::Preview => "preview",
            Rendition::Thumbnail => "thumbnail",
        }
    }

    pub fn parse(s: &str) -> Option<Rendition> {
        Rendition::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// What de-identification found in the original file and removed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DeidReport {
    /// Format of the original file, e.g. "JPEG".
    pub source_format: String,
    /// Number of EXIF fields found (all dropped).
    pub exif_fields: u32,
    /// The EXIF carried a GPS position.
    pub gps: bool,
    /// The EXIF named the camera make or model.
    pub camera_model: bool,
    /// The EXIF carried a camera, lens or body serial number.
    pub camera_serial: bool,
    /// The EXIF carried a date and time.
    pub timestamps: bool,
    /// An embedded thumbnail (EXIF IFD1 or similar) was present.
    pub embedded_thumbnail: bool,
    /// An XMP packet was present.
    pub xmp: bool,
    /// IPTC / Photoshop metadata was present.
    pub iptc: bool,
    /// An ICC colour profile was present.
    pub icc_profile: bool,
    /// Maker notes (vendor-private EXIF) were present.
    pub maker_note: bool,
    /// EXIF orientation that was applied to the pixels (1–8), if other than upright.
    pub orientation_applied: Option<u8>,
    /// Extra frames dropped (GIF animation: only the first frame is kept).
    pub frames_dropped: bool,
    /// Redaction rectangles burned into the pixels.
    pub redactions: u32,
    /// Format of the cleaned image, e.g. "JPEG" or "PNG".
    pub output_format: String,
    /// Rectangles proposed for redaction (faces) that the author has not yet accepted or
    /// dismissed. Kept on this laptop only, like the whole report.
    pub proposals: Vec<Proposal>,
    /// Proposals the author accepted (burned in) and dismissed (judged not identifying).
    pub proposals_accepted: u32,
    pub proposals_dismissed: u32,
    /// What the import of a DICOM file did, when the original was one.
    pub dicom: Option<DicomReport>,
    /// The author looked at the image in the redaction editor and decided it may be shared
    /// (required for a DICOM image that often carries burned-in text).
    pub reviewed: bool,
}

/// What a proposal is thought to cover.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum ProposalKind {
    /// A frontal face.
    Face,
}

impl ProposalKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            ProposalKind::Face => "face",
        }
    }
}

/// A rectangle, in pixels of the stored upright image, proposed for redaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Proposal {
    pub kind: ProposalKind,
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

/// Why a DICOM image must be looked at before it is shared: these often carry text (the
/// patient's name, dates) burned into the pixels, which no metadata removal can take out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum BurnedInRisk {
    /// Modality US.
    Ultrasound,
    /// Modality SC or a secondary-capture SOP class (screenshots, scanned documents).
    SecondaryCapture,
    /// Modality OT ("other").
    Other,
    /// The file says BurnedInAnnotation = YES.
    DeclaredBurnedIn,
}

impl BurnedInRisk {
    pub fn describe(&self) -> &'static str {
        match self {
            BurnedInRisk::Ultrasound => {
                "ultrasound images often show the patient's name in the pixels"
            }
            BurnedInRisk::SecondaryCapture => {
                "secondary captures (screenshots, scans) often show the patient's name in the pixels"
            }
            BurnedInRisk::Other => "images of modality \"other\" often carry text in the pixels",
            BurnedInRisk::DeclaredBurnedIn => {
                "the file says identifying text is burned into the pixels"
            }
        }
    }
}

/// What the import of a DICOM file kept and dropped. No attribute value is kept besides the
/// modality and the body part (checked to be short coded strings).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DicomReport {
    /// Modality code, e.g. "CT", "MR", "US".
    pub modality: Option<String>,
    /// Body part examined, e.g. "CHEST".
    pub body_part: Option<String>,
    /// Frames in the file, and the (0-based) frame rendered.
    pub frames: u32,
    pub frame: u32,
    /// Number of DICOM attributes found, all dropped.
    pub attributes_dropped: u32,
    /// Kinds of identifying attributes that were present (and dropped), e.g. "patient name".
    pub identifying_dropped: Vec<String>,
    /// Why the image must be reviewed before it is shared, if it must.
    pub burned_in_risk: Option<BurnedInRisk>,
}

impl DicomReport {
    /// What the author may copy into the case: "CT, body part CHEST", or none without a modality.
    pub fn imaging_line(&self) -> Option<String> {
        let modality = self.modality.as_deref()?;
        Some(match &self.body_part {
            Some(part) => format!("{modality}, body part {part}"),
            None => modality.to_string(),
        })
    }
}

impl DeidReport {
    /// What still stands between this image and a circle, in words; empty when nothing does.
    pub fn pending_review(&self) -> Vec<String> {
        let mut out = Vec::new();
        let faces = self
            .proposals
            .iter()
            .filter(|p| p.kind == ProposalKind::Face)
            .count();
        if faces > 0 {
            out.push(format!(
                "{faces} proposed face redaction{} to accept or dismiss",
                if faces == 1 { "" } else { "s" }
            ));
        }
        if let Some(risk) = self.dicom.as_ref().and_then(|d| d.burned_in_risk)
            && !self.reviewed
        {
            out.push(format!("review for burned-in text: {}", risk.describe()));
        }
        out
    }
}

impl DeidReport {
    /// One line a person reads, e.g.
    /// "EXIF: 42 fields incl. GPS position, camera serial; embedded thumbnail; XMP".
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if self.exif_fields > 0 {
            let mut incl = Vec::new();
            if self.gps {
                incl.push("GPS position");
            }
            if self.camera_model {
                incl.push("camera make/model");
            }
            if self.camera_serial {
                incl.push("camera serial");
            }
            if self.timestamps {
                incl.push("date and time");
            }
            if self.maker_note {
                incl.push("maker notes");
            }
            let plural = if self.exif_fields == 1 { "" } else { "s" };
            let mut s = format!("EXIF: {} field{plural}", self.exif_fields);
            if !incl.is_empty() {
                s.push_str(" incl. ");
                s.push_str(&incl.join(", "));
            }
            parts.push(s);
        }
        if self.embedded_thumbnail {
            parts.push("embedded thumbnail".into());
        }
        if self.xmp {
            parts.push("XMP".into());
        }
        if self.iptc {
            parts.push("IPTC".into());
        }
        if self.icc_profile {
            parts.push("ICC profile".into());
        }
        if self.frames_dropped {
            parts.push("animation frames after the first".into());
        }
        if let Some(d) = &self.dicom {
            let plural = if d.attributes_dropped == 1 { "" } else { "s" };
            let mut s = format!("DICOM: {} attribute{plural}", d.attributes_dropped);
            if !d.identifying_dropped.is_empty() {
                s.push_str(" incl. ");
                s.push_str(&d.identifying_dropped.join(", "));
            }
            parts.push(s);
        }
        let mut line = if parts.is_empty() {
            "no metadata found".to_string()
        } else {
            format!("removed {}", parts.join("; "))
        };
        if let Some(o) = self.orientation_applied {
            line.push_str(&format!("; orientation {o} applied to pixels"));
        }
        if let Some(d) = self.dicom.as_ref().filter(|d| d.frames > 1) {
            line.push_str(&format!("; frame {} of {} kept", d.frame + 1, d.frames));
        }
        if self.redactions > 0 {
            line.push_str(&format!("; {} redaction(s) burned in", self.redactions));
        }
        if self.proposals_accepted > 0 {
            line.push_str(&format!(
                "; {} proposed face redaction(s) accepted",
                self.proposals_accepted
            ));
        }
        if self.proposals_dismissed > 0 {
            line.push_str(&format!(
                "; {} proposal(s) dismissed by the author",
                self.proposals_dismissed
            ));
        }
        if self.reviewed {
            line.push_str("; reviewed by the author");
        }
        line
    }
}

/// An attachment of a case, as listed with the case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Attachment {
    pub id: AttachmentId,
    /// Mime type of the cleaned full image.
    pub mime: String,
    pub width: u32,
    pub height: u32,
    /// Size in bytes of the cleaned full image.
    pub size: u64,
    pub report: DeidReport,
    pub created_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{from_cbor, to_cbor};

    /// A report as vaults and colleagues wrote it before face proposals, DICOM and review
    /// existed: it still reads, with none of them.
    #[test]
    fn a_report_written_before_proposals_and_dicom_still_reads() {
        #[derive(Serialize)]
        struct Before {
            source_format: &'static str,
            exif_fields: u32,
            gps: bool,
            redactions: u32,
            output_format: &'static str,
        }
        let old = to_cbor(&Before {
            source_format: "JPEG",
            exif_fields: 48,
            gps: true,
            redactions: 1,
            output_format: "JPEG",
        })
        .unwrap();
        let r: DeidReport = from_cbor(&old).unwrap();
        assert_eq!((r.exif_fields, r.gps, r.redactions), (48, true, 1));
        assert!(r.proposals.is_empty() && r.dicom.is_none() && !r.reviewed);
        assert!(r.pending_review().is_empty(), "an old image does not wait");
    }
}
