//! Images in and out of the vault: a file or bytes cleaned by `deid` (metadata dropped,
//! orientation applied, redactions burned in, faces proposed) and stored as three encrypted
//! renditions; a rendition read back whole, or exported to a file that appears only once every
//! byte verified.

use std::io::Read;
use std::path::{Path, PathBuf};

use consilium_deid::{CleanOptions, Redaction, clean_image};
use consilium_model::MAX_IMAGES_PER_CASE;
use consilium_model::{Attachment, AttachmentId, CaseId, Rendition};
use consilium_store::{AttachmentRecord, NewRendition};
use zeroize::Zeroizing;

use crate::engine::Engine;
use crate::error::{ClientError, Result};

/// How to import one file besides cleaning it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportRequest {
    /// Rectangles to burn in, in pixels of the upright image.
    pub redactions: Vec<Redaction>,
    /// The frame of a multi-frame DICOM file to keep (0-based; the first when `None`).
    pub frame: Option<u32>,
}

/// Progress of a multi-file import, reported after each file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportProgress {
    pub done: usize,
    pub total: usize,
    /// The file just finished.
    pub file: PathBuf,
}

impl Engine {
    /// Cleans an image or a DICOM frame (metadata dropped, orientation applied, redactions
    /// burned in), proposes the faces it shows for redaction, and stores its full, preview and
    /// thumbnail renditions encrypted. The original bytes are never stored.
    pub fn attach_bytes(
        &mut self,
        case: &CaseId,
        original: &[u8],
        request: &ImportRequest,
    ) -> Result<Attachment> {
        // Fail fast on an unknown case, or one shared with us, before the costly decode.
        self.vault.db().cases().fields(case)?;
        self.ensure_own(case, "add images to")?;
        if self.vault.db().attachments().of_case(case)?.len() >= MAX_IMAGES_PER_CASE {
            return Err(ClientError::Invalid(format!(
                "a case holds at most {MAX_IMAGES_PER_CASE} images; start another case for more"
            )));
        }
        let options = CleanOptions {
            redactions: &request.redactions,
            frame: request.frame,
            propose_faces: true,
        };
        let clean = clean_image(original, &options, &self.config.import_limits)?;
        let report = clean.report.clone();
        let (record, renditions) = stored_form(clean, report);
        let now = self.config.clock.now();
        let id = self.vault.add_attachment(case, &record, renditions, now)?;
        // A case already in circles sends them the new image, unless it waits for the author's
        // review (then it goes once reviewed).
        if record.report.pending_review().is_empty() {
            self.send_revision(case)?;
        }
        Ok(Attachment {
            id,
            mime: record.mime,
            width: record.width,
            height: record.height,
            size: record.size,
            report: record.report,
            created_at: now,
        })
    }

    /// Imports image files one by one, each in its own transaction, reporting progress after
    /// each. `redactions` apply only when a single file is given. Stops at the first failure;
    /// files imported before it stay imported.
    pub fn attach_files(
        &mut self,
        case: &CaseId,
        files: &[PathBuf],
        request: &ImportRequest,
        progress: &mut dyn FnMut(&ImportProgress),
    ) -> Result<Vec<Attachment>> {
        if files.len() > 1 && (!request.redactions.is_empty() || request.frame.is_some()) {
            return Err(ClientError::Invalid(
                "redactions and a frame apply to a single file; attach files one at a time".into(),
            ));
        }
        let mut out = Vec::with_capacity(files.len());
        for (i, file) in files.iter().enumerate() {
            let bytes = self.read_limited(file)?;
            let att = self
                .attach_bytes(case, &bytes, request)
                .map_err(|e| with_file(e, file))?;
            out.push(att);
            progress(&ImportProgress {
                done: i + 1,
                total: files.len(),
                file: file.clone(),
            });
        }
        Ok(out)
    }

    pub(crate) fn read_limited(&self, file: &Path) -> Result<Zeroizing<Vec<u8>>> {
        let ctx = || format!("reading {}", file.display());
        let f = std::fs::File::open(file).map_err(ClientError::io(ctx()))?;
        let limit = self.config.import_limits.max_input_bytes;
        let len = f.metadata().map_err(ClientError::io(ctx()))?.len();
        if len > limit {
            return Err(consilium_deid::DeidError::InputTooLarge { bytes: len, limit }.into());
        }
        let mut bytes = Zeroizing::new(Vec::with_capacity(len as usize));
        f.take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(ClientError::io(ctx()))?;
        Ok(bytes)
    }

    /// The cleaned bytes of one rendition, verified whole before they are returned.
    pub fn attachment_bytes(
        &self,
        case: &CaseId,
        attachment: &AttachmentId,
        rendition: Rendition,
    ) -> Result<(Zeroizing<Vec<u8>>, String)> {
        Ok(self.vault.read_rendition(case, attachment, rendition)?)
    }

    /// Writes one rendition of an attachment to `out`. The file appears only once every byte
    /// verified; on any failure nothing is left at `out`.
    pub fn export_attachment(
        &self,
        case: &CaseId,
        attachment: &AttachmentId,
        rendition: Rendition,
        out: &Path,
    ) -> Result<u64> {
        let partial = partial_path(out);
        let ctx = format!("writing {}", out.display());
        let result = (|| {
            // An exported image is a patient's: the owner's alone, wherever it is written.
            let file =
                consilium_store::create_private(&partial).map_err(ClientError::io(ctx.clone()))?;
            let mut w = std::io::BufWriter::new(file);
            let n = self
                .vault
                .copy_rendition(case, attachment, rendition, &mut w)?;
            let file = w
                .into_inner()
                .map_err(|e| ClientError::io(ctx.clone())(e.into_error()))?;
            file.sync_all().map_err(ClientError::io(ctx.clone()))?;
            std::fs::rename(&partial, out).map_err(ClientError::io(ctx.clone()))?;
            Ok(n)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        result
    }
}

fn partial_path(out: &Path) -> PathBuf {
    let mut name = out
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".partial");
    out.with_file_name(name)
}

/// Names the file in an image error, so a multi-file import says which one failed.
fn with_file(e: ClientError, file: &Path) -> ClientError {
    match e {
        ClientError::Image(source) => ClientError::ImageFile {
            file: file.to_path_buf(),
            source,
        },
        other => other,
    }
}

/// A cleaned image as the vault stores it: its record (with `report`) and its three renditions.
pub(crate) fn stored_form(
    clean: consilium_deid::CleanImage,
    report: consilium_model::DeidReport,
) -> (AttachmentRecord, Vec<NewRendition>) {
    let record = AttachmentRecord {
        mime: clean.full.mime.to_string(),
        width: clean.full.width,
        height: clean.full.height,
        size: clean.full.bytes.len() as u64,
        report,
    };
    let renditions = [
        (Rendition::Full, clean.full),
        (Rendition::Preview, clean.preview),
        (Rendition::Thumbnail, clean.thumbnail),
    ]
    .map(|(rendition, e)| NewRendition {
        rendition,
        mime: e.mime.to_string(),
        bytes: e.bytes,
    });
    (record, renditions.into())
}
