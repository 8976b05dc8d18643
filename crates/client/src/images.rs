//! Changing an own image before it leaves the laptop: burning redactions into it, or removing
//! it. Both are refused once the image went to a circle (the circle already has its pixels).

use consilium_deid::{Redaction, clean_image};
use consilium_model::{Attachment, AttachmentId, CaseId, Rendition};

use crate::engine::{Engine, stored_form};
use crate::error::{ClientError, Result};

impl Engine {
    /// Burns `redactions` (pixel rectangles on the stored, upright image) into an own image that
    /// has not been shared yet. The image keeps its id; its three renditions are made again from
    /// the redacted pixels and the unredacted ones are deleted.
    pub fn redact_attachment(
        &mut self,
        case: &CaseId,
        attachment: &AttachmentId,
        redactions: &[Redaction],
    ) -> Result<Attachment> {
        if redactions.is_empty() {
            return Err(ClientError::Invalid("draw at least one rectangle".into()));
        }
        let current = self.unsent_attachment(case, attachment, "redact")?;
        let (full, _) = self.attachment_bytes(case, attachment, Rendition::Full)?;
        let clean = clean_image(&full, redactions, &self.config.import_limits)?;
        let mut report = current.report.clone();
        report.redactions += redactions.len() as u32;
        let (record, renditions) = stored_form(clean, report);
        let now = self.config.clock.now();
        self.vault
            .replace_attachment(case, attachment, &record, renditions, now)?;
        Ok(Attachment {
            id: attachment.clone(),
            mime: record.mime,
            width: record.width,
            height: record.height,
            size: record.size,
            report: record.report,
            created_at: current.created_at,
        })
    }

    /// Removes an own image that has not been shared yet.
    pub fn remove_attachment(&mut self, case: &CaseId, attachment: &AttachmentId) -> Result<()> {
        self.unsent_attachment(case, attachment, "remove")?;
        let now = self.config.clock.now();
        Ok(self.vault.remove_attachment(case, attachment, now)?)
    }

    fn unsent_attachment(
        &self,
        case: &CaseId,
        attachment: &AttachmentId,
        what: &str,
    ) -> Result<Attachment> {
        self.ensure_own(case, &format!("{what} images of"))?;
        let current = self
            .vault
            .db()
            .attachments(case)?
            .into_iter()
            .find(|a| &a.id == attachment)
            .ok_or_else(|| {
                ClientError::Store(consilium_store::StoreError::NotFound {
                    what: "attachment",
                    id: attachment.to_string(),
                })
            })?;
        if self.vault.db().attachment_sent(attachment)? {
            return Err(ClientError::Invalid(format!(
                "this image was already sent to a circle; it can no longer be changed (to {what} it)"
            )));
        }
        Ok(current)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::engine::EngineConfig;
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
        let att = e.attach_bytes(&case, &photo(), &[]).unwrap();
        (case, att.id)
    }

    #[test]
    fn a_redaction_replaces_every_rendition_and_deletes_the_unredacted_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut e = engine(dir.path());
        let (case, att) = case_with_image(&mut e);
        let before = e.vault.db().blob_ids().unwrap();
        let rect = Redaction {
            x: 10,
            y: 20,
            w: 100,
            h: 50,
        };
        let redacted = e.redact_attachment(&case, &att, &[rect]).unwrap();
        assert_eq!(redacted.report.redactions, 1);
        assert_eq!((redacted.width, redacted.height), (400, 300));
        let after = e.vault.db().blob_ids().unwrap();
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
        assert_eq!(err.code(), crate::ErrorCode::NotFound);

        let (case, att) = case_with_image(&mut e);
        e.vault
            .db()
            .mark_attachment_shared(b"circle", &att)
            .unwrap();
        let rect = Redaction {
            x: 0,
            y: 0,
            w: 10,
            h: 10,
        };
        let err = e.redact_attachment(&case, &att, &[rect]).unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::InvalidInput);
        assert_eq!(e.case(&case).unwrap().attachments.len(), 1);
    }
}
