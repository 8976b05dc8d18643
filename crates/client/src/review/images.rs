//! The images a case may not send yet: faces proposed for redaction that the author has neither
//! accepted nor dismissed, and DICOM images of kinds that often carry burned-in text that the
//! author has not reviewed. `share` refuses while one is pending; a revision of a case already in
//! circles holds such an image back until it is reviewed.

use consilium_model::CaseId;

use crate::engine::Engine;
use crate::error::{ClientError, Result};
use crate::findings::PendingImage;

impl Engine {
    /// The case's images not yet sent anywhere that still wait for the author's review.
    pub fn pending_images(&self, case: &CaseId) -> Result<Vec<PendingImage>> {
        let db = self.vault.db();
        let mut out = Vec::new();
        for (i, a) in db.attachments().of_case(case)?.into_iter().enumerate() {
            let reasons = a.report.pending_review();
            if reasons.is_empty() || db.transfers().attachment_sent(&a.id)? {
                continue;
            }
            out.push(PendingImage {
                attachment: a.id,
                position: i + 1,
                reasons,
            });
        }
        Ok(out)
    }

    /// Refuses while an image of the case waits for review.
    pub(crate) fn ensure_images_reviewed(&self, case: &CaseId) -> Result<()> {
        let pending = self.pending_images(case)?;
        if pending.is_empty() {
            Ok(())
        } else {
            Err(ClientError::ImagesToReview(pending))
        }
    }

    /// Whether an image is held back from the case's circles until reviewed.
    pub(crate) fn held_back(&self, attachment: &consilium_model::Attachment) -> bool {
        !attachment.report.pending_review().is_empty()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::engine::EngineConfig;
    use crate::vault::ImportRequest;
    use crate::vault::RedactRequest;
    use consilium_model::CaseFields;
    use consilium_store::{KdfParams, Passphrase};

    fn engine(dir: &std::path::Path) -> Engine {
        let config = EngineConfig {
            kdf: KdfParams::TEST_ONLY_WEAK,
            ..EngineConfig::default()
        };
        Engine::init(dir, &Passphrase::new("pw"), "Dr A", "derm", config).unwrap()
    }

    fn portrait() -> Option<Vec<u8>> {
        let path = consilium_testkit::sample("hopper.jpg")?;
        Some(std::fs::read(path).unwrap())
    }

    fn case(e: &mut Engine) -> CaseId {
        e.create_case(CaseFields {
            title: "Facial lesion".into(),
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn a_proposed_face_holds_the_share_until_accepted_or_dismissed() {
        let Some(photo) = portrait() else { return };
        let dir = tempfile::tempdir().unwrap();
        let mut e = engine(dir.path());

        let c = case(&mut e);
        let att = e
            .attach_bytes(&c, &photo, &ImportRequest::default())
            .unwrap();
        assert_eq!(att.report.proposals.len(), 1, "{:?}", att.report);
        let pending = e.pending_images(&c).unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].position, 1);
        let err = e.ensure_images_reviewed(&c).unwrap_err();
        assert_eq!(err.code(), crate::error::ErrorCode::ImageReviewNeeded);
        assert!(err.to_string().contains("proposed face"), "{err}");

        // Accepting burns the face in and settles the image.
        let accept = RedactRequest {
            accept_proposals: true,
            ..RedactRequest::default()
        };
        let done = e.redact_attachment(&c, &att.id, &accept).unwrap();
        assert!(done.report.proposals.is_empty());
        assert_eq!(done.report.proposals_accepted, 1);
        assert!(e.ensure_images_reviewed(&c).is_ok());
        let (full, _) = e
            .attachment_bytes(&c, &att.id, consilium_model::Rendition::Full)
            .unwrap();
        let img = image::load_from_memory(&full).unwrap().to_rgb8();
        let p = att.report.proposals[0];
        let centre = img.get_pixel(p.x + p.w / 2, p.y + p.h / 2);
        assert!(
            centre.0.iter().all(|v| *v < 16),
            "the face is black: {centre:?}"
        );

        // Dismissing (reviewed as it is) settles the image without changing its pixels.
        let c2 = case(&mut e);
        let att2 = e
            .attach_bytes(&c2, &photo, &ImportRequest::default())
            .unwrap();
        let reviewed = e.review_attachment(&c2, &att2.id).unwrap();
        assert!(reviewed.report.reviewed);
        assert_eq!(reviewed.report.proposals_dismissed, 1);
        assert!(e.pending_images(&c2).unwrap().is_empty());
    }
}
