//! Changing an own image before it leaves the laptop: burning redactions into it, or removing
//! it. Both are refused once the image went to a circle (the circle already has its pixels).

use consilium_deid::{CleanOptions, Redaction, clean_image};
use consilium_model::{Attachment, AttachmentId, CaseId, DeidReport, Proposal, Rendition};

use super::import::stored_form;
use crate::engine::Engine;
use crate::error::{ClientError, Result};

/// What the author decided in the redaction editor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RedactRequest {
    /// Rectangles drawn or typed (or proposals the author adjusted), in pixels of the stored image.
    pub rects: Vec<Redaction>,
    /// Burn in every pending proposal as it stands.
    pub accept_proposals: bool,
    /// The author looked at the whole image and is done with it: proposals not accepted are
    /// dismissed and the image counts as reviewed.
    pub reviewed: bool,
}

impl Engine {
    /// Burns redactions (pixel rectangles on the stored, upright image) into an own image that
    /// has not been shared yet. The image keeps its id; its three renditions are made again from
    /// the redacted pixels and the unredacted ones are deleted. A proposal a burned rectangle
    /// covers is settled; the others stay pending unless accepted or the image is marked reviewed.
    pub fn redact_attachment(
        &mut self,
        case: &CaseId,
        attachment: &AttachmentId,
        request: &RedactRequest,
    ) -> Result<Attachment> {
        let current = self.unsent_attachment(case, attachment, "redact")?;
        let mut report = current.report.clone();
        let mut burn = request.rects.clone();
        if request.accept_proposals {
            if report.proposals.is_empty() && request.rects.is_empty() {
                return Err(ClientError::Invalid(
                    "this image has no proposed redaction to accept".into(),
                ));
            }
            report.proposals_accepted += report.proposals.len() as u32;
            burn.extend(report.proposals.drain(..).map(|p| Redaction {
                x: p.x,
                y: p.y,
                w: p.w,
                h: p.h,
            }));
        }
        if burn.is_empty() {
            if request.reviewed {
                return self.review_attachment(case, attachment);
            }
            return Err(ClientError::Invalid("draw at least one rectangle".into()));
        }
        let (full, _) = self.attachment_bytes(case, attachment, Rendition::Full)?;
        let options = CleanOptions {
            redactions: &burn,
            ..CleanOptions::default()
        };
        let clean = clean_image(&full, &options, &self.config.import_limits)?;
        report.redactions += request.rects.len() as u32;
        // A proposal inside what was burned is settled: the author adjusted it.
        let before = report.proposals.len();
        report
            .proposals
            .retain(|p| !request.rects.iter().any(|r| covers(r, p)));
        report.proposals_accepted += (before - report.proposals.len()) as u32;
        if request.reviewed {
            settle_review(&mut report);
        }
        self.store_remade(case, &current, clean, report)
    }

    /// Records that the author reviewed an own unsent image and will share it as it is: the
    /// proposals left are dismissed, and a DICOM image flagged for burned-in text is cleared.
    /// A case already in circles then sends them the image.
    pub fn review_attachment(
        &mut self,
        case: &CaseId,
        attachment: &AttachmentId,
    ) -> Result<Attachment> {
        let mut current = self.unsent_attachment(case, attachment, "review")?;
        settle_review(&mut current.report);
        let now = self.config.clock.now();
        self.vault
            .db()
            .attachments()
            .set_report(case, attachment, &current.report, now)?;
        self.send_revision(case)?;
        Ok(current)
    }

    /// Puts another frame of a multi-frame DICOM file in place of an own unsent image that came
    /// from it: `original` is the file again (the vault never keeps originals), `frame` 0-based.
    /// The image keeps its id and place; its renditions and report are those of the new frame
    /// (redactions and decisions made on the old frame do not carry over: the pixels changed).
    pub fn choose_frame(
        &mut self,
        case: &CaseId,
        attachment: &AttachmentId,
        original: &[u8],
        frame: u32,
    ) -> Result<Attachment> {
        let current = self.unsent_attachment(case, attachment, "change")?;
        if current.report.dicom.as_ref().is_none_or(|d| d.frames < 2) {
            return Err(ClientError::Invalid(
                "this image did not come from a DICOM file with several frames".into(),
            ));
        }
        let options = CleanOptions {
            frame: Some(frame),
            propose_faces: true,
            ..CleanOptions::default()
        };
        let clean = clean_image(original, &options, &self.config.import_limits)?;
        // The same file, as far as what was kept can tell: as many frames, the same modality.
        let same_file = match (&clean.report.dicom, &current.report.dicom) {
            (Some(new), Some(old)) => new.frames == old.frames && new.modality == old.modality,
            _ => false,
        };
        if !same_file {
            return Err(ClientError::Invalid(
                "this is not the DICOM file the image came from; choose a frame of that file"
                    .into(),
            ));
        }
        let report = clean.report.clone();
        self.store_remade(case, &current, clean, report)
    }

    /// [`Engine::choose_frame`] with the file read from `file` (a file dropped on the window).
    pub fn choose_frame_from_file(
        &mut self,
        case: &CaseId,
        attachment: &AttachmentId,
        file: &std::path::Path,
        frame: u32,
    ) -> Result<Attachment> {
        let bytes = self.read_limited(file)?;
        self.choose_frame(case, attachment, &bytes, frame)
    }

    /// Stores an unsent image made again (redacted, or another frame) in place of `current`:
    /// same id, place and creation time, new renditions and report; a case already in circles
    /// sends it when nothing about it waits for the author.
    fn store_remade(
        &mut self,
        case: &CaseId,
        current: &Attachment,
        clean: consilium_deid::CleanImage,
        report: DeidReport,
    ) -> Result<Attachment> {
        let (record, renditions) = stored_form(clean, report);
        let now = self.config.clock.now();
        self.vault
            .replace_attachment(case, &current.id, &record, renditions, now)?;
        if report_clear(&record.report) {
            self.send_revision(case)?;
        }
        Ok(Attachment {
            id: current.id.clone(),
            mime: record.mime,
            width: record.width,
            height: record.height,
            size: record.size,
            report: record.report,
            created_at: current.created_at,
        })
    }

    /// Copies what a DICOM image kept (its modality and body part, the only DICOM values that may
    /// travel) into the case's investigations as "Imaging: CT, body part CHEST", when the author
    /// asks. Returns the case's revision (unchanged when the line is already there).
    pub fn copy_imaging(&mut self, case: &CaseId, attachment: &AttachmentId) -> Result<u32> {
        let att = self.attachment_of(case, attachment)?;
        let line = att
            .report
            .dicom
            .as_ref()
            .and_then(|d| d.imaging_line())
            .ok_or_else(|| {
                ClientError::Invalid(
                    "this image did not come from a DICOM file with a modality".into(),
                )
            })?;
        let text = format!("Imaging: {line}");
        let current = self.vault.db().cases().fields(case)?.investigations;
        if current.lines().any(|l| l.trim() == text) {
            return Ok(self.vault.db().cases().revision(case)?);
        }
        let investigations = if current.trim().is_empty() {
            text
        } else {
            format!("{}\n{text}", current.trim_end())
        };
        self.edit_case(
            case,
            super::case_input::CasePatch {
                investigations: Some(investigations),
                ..Default::default()
            },
        )
    }

    /// Removes an own image that has not been shared yet.
    pub fn remove_attachment(&mut self, case: &CaseId, attachment: &AttachmentId) -> Result<()> {
        self.unsent_attachment(case, attachment, "remove")?;
        let now = self.config.clock.now();
        Ok(self.vault.remove_attachment(case, attachment, now)?)
    }

    /// One image of `case`, or "not found".
    fn attachment_of(&self, case: &CaseId, attachment: &AttachmentId) -> Result<Attachment> {
        self.vault
            .db()
            .attachments()
            .of_case(case)?
            .into_iter()
            .find(|a| &a.id == attachment)
            .ok_or_else(|| {
                ClientError::Store(consilium_store::StoreError::NotFound {
                    what: "attachment",
                    id: attachment.to_string(),
                })
            })
    }

    pub(crate) fn unsent_attachment(
        &self,
        case: &CaseId,
        attachment: &AttachmentId,
        what: &str,
    ) -> Result<Attachment> {
        self.ensure_own(case, &format!("{what} images of"))?;
        let current = self.attachment_of(case, attachment)?;
        if self.vault.db().transfers().attachment_sent(attachment)? {
            return Err(ClientError::Invalid(format!(
                "this image was already sent to a circle; it can no longer be changed (to {what} it)"
            )));
        }
        Ok(current)
    }
}

/// Whether the burned rectangle `r` covers the proposal `p` (at least 90 % of its area).
fn covers(r: &Redaction, p: &Proposal) -> bool {
    let ix = (r.x.saturating_add(r.w))
        .min(p.x.saturating_add(p.w))
        .saturating_sub(r.x.max(p.x));
    let iy = (r.y.saturating_add(r.h))
        .min(p.y.saturating_add(p.h))
        .saturating_sub(r.y.max(p.y));
    let inter = u64::from(ix) * u64::from(iy);
    let area = u64::from(p.w) * u64::from(p.h);
    area > 0 && inter * 10 >= area * 9
}

fn settle_review(report: &mut DeidReport) {
    report.proposals_dismissed += report.proposals.len() as u32;
    report.proposals.clear();
    report.reviewed = true;
}

/// Nothing about the image waits for the author any more.
fn report_clear(report: &DeidReport) -> bool {
    report.pending_review().is_empty()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::engine::EngineConfig;
    use crate::vault::ImportRequest;

    fn rects(r: &[Redaction]) -> RedactRequest {
        RedactRequest {
            rects: r.to_vec(),
            ..RedactRequest::default()
        }
    }
    use consilium_model::CaseFields;
    use consilium_store::{KdfParams, Passphrase};

    fn engine(dir: &std::path::Path) -> Engine {
        let config = EngineConfig {
            kdf: KdfParams::TEST_ONLY_WEAK,
            ..EngineConfig::default()
        };
        Engine::init(dir, &Passphrase::new("pw"), "Dr A", "derm", config).unwrap()
    }

    fn photo() -> Vec<u8> {
        let img = image::RgbImage::from_fn(400, 300, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 200])
        });
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    fn case_with_image(e: &mut Engine) -> (CaseId, AttachmentId) {
        let case = e
            .create_case(CaseFields {
                title: "Pigmented lesion".into(),
                ..Default::default()
            })
            .unwrap();
        let att = e
            .attach_bytes(&case, &photo(), &ImportRequest::default())
            .unwrap();
        (case, att.id)
    }

    #[test]
    fn a_redaction_replaces_every_rendition_and_deletes_the_unredacted_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut e = engine(dir.path());
        let (case, att) = case_with_image(&mut e);
        let before = e.vault.db().attachments().blob_ids().unwrap();
        let rect = Redaction {
            x: 10,
            y: 20,
            w: 100,
            h: 50,
        };
        let redacted = e.redact_attachment(&case, &att, &rects(&[rect])).unwrap();
        assert_eq!(redacted.report.redactions, 1);
        assert_eq!((redacted.width, redacted.height), (400, 300));
        let after = e.vault.db().attachments().blob_ids().unwrap();
        assert_eq!(after.len(), before.len());
        assert!(after.is_disjoint(&before), "every rendition is new");
        let files: Vec<_> = std::fs::read_dir(dir.path().join("blobs"))
            .unwrap()
            .map(|f| f.unwrap().file_name().into_string().unwrap())
            .collect();
        for old in &before {
            assert!(!files.contains(&old.to_string()), "old file {old} deleted");
        }
        let (full, _) = e.attachment_bytes(&case, &att, Rendition::Full).unwrap();
        let img = image::load_from_memory(&full).unwrap().to_rgb8();
        let inside = img.get_pixel(50, 40);
        let outside = img.get_pixel(300, 200);
        assert!(inside.0.iter().all(|c| *c < 16), "burned in: {inside:?}");
        assert!(outside.0[2] > 150, "untouched: {outside:?}");
    }

    #[test]
    fn a_removed_image_is_gone_and_others_cannot_be_changed_once_shared() {
        let dir = tempfile::tempdir().unwrap();
        let mut e = engine(dir.path());
        let (case, att) = case_with_image(&mut e);
        e.remove_attachment(&case, &att).unwrap();
        assert!(e.case(&case).unwrap().attachments.is_empty());
        let err = e.remove_attachment(&case, &att).unwrap_err();
        assert_eq!(err.code(), crate::error::ErrorCode::NotFound);

        let (case, att) = case_with_image(&mut e);
        e.vault
            .db()
            .transfers()
            .mark_attachment_shared(b"circle", &att)
            .unwrap();
        let rect = Redaction {
            x: 0,
            y: 0,
            w: 10,
            h: 10,
        };
        let err = e
            .redact_attachment(&case, &att, &rects(&[rect]))
            .unwrap_err();
        assert_eq!(err.code(), crate::error::ErrorCode::InvalidInput);
        assert_eq!(e.case(&case).unwrap().attachments.len(), 1);
    }
}
