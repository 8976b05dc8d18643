//! Attachments (cleaned images) and the de-identification report of each.

use serde::{Deserialize, Serialize};

use crate::ids::AttachmentId;
use crate::time::Timestamp;

/// The stored sizes of an attachment; all three are made from the same cleaned pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
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
        let mut line = if parts.is_empty() {
            "no metadata found".to_string()
        } else {
            format!("removed {}", parts.join("; "))
        };
        if let Some(o) = self.orientation_applied {
            line.push_str(&format!("; orientation {o} applied to pixels"));
        }
        if self.redactions > 0 {
            line.push_str(&format!("; {} redaction(s) burned in", self.redactions));
        }
        line
    }
}

/// An attachment of a case, as listed with the case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
