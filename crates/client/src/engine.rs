//! The engine: one unlocked profile. Every face (CLI, desktop) calls these methods and nothing
//! below them.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use consilium_deid::{CleanOptions, ImportLimits, Redaction, clean_image};
use consilium_model::{
    Attachment, AttachmentId, Case, CaseFields, CaseFilter, CaseId, CaseSummary, Clock, Rendition,
    SearchHit,
};
use consilium_store::{
    AttachmentRecord, Entropy, KdfParams, NewRendition, Passphrase, Profile, SystemEntropy, Vault,
};
use zeroize::Zeroizing;

use consilium_groups::Identity;

use crate::case_input::CasePatch;
use crate::clock::SystemClock;
use crate::error::{ClientError, Result};
use crate::net::Net;

/// How to import one file besides cleaning it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportRequest {
    /// Rectangles to burn in, in pixels of the upright image.
    pub redactions: Vec<Redaction>,
    /// The frame of a multi-frame DICOM file to keep (0-based; the first when `None`).
    pub frame: Option<u32>,
}

/// What the engine is given rather than reaching for: time, randomness, costs and limits.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub clock: Arc<dyn Clock>,
    pub entropy: Arc<dyn Entropy>,
    /// Argon2id cost for new vaults.
    pub kdf: KdfParams,
    pub import_limits: ImportLimits,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            clock: Arc::new(SystemClock),
            entropy: Arc::new(SystemEntropy::new()),
            kdf: KdfParams::INTERACTIVE,
            import_limits: ImportLimits::default(),
        }
    }
}

/// Progress of a multi-file import, reported after each file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportProgress {
    pub done: usize,
    pub total: usize,
    /// The file just finished.
    pub file: PathBuf,
}

/// One unlocked profile.
#[derive(Debug)]
pub struct Engine {
    pub(crate) vault: Vault,
    pub(crate) config: EngineConfig,
    pub(crate) identity: Identity,
    pub(crate) net: Net,
    pub(crate) transfers: crate::sync::TransferWatch,
}

impl Engine {
    /// Whether `dir` holds a profile.
    pub fn exists(dir: &Path) -> bool {
        Vault::exists(dir)
    }

    /// Creates a profile (a new vault) in `dir`.
    pub fn init(
        dir: &Path,
        passphrase: &Passphrase,
        name: &str,
        specialty: &str,
        config: EngineConfig,
    ) -> Result<Engine> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 120 {
            return Err(ClientError::Invalid(
                "the name must have 1 to 120 characters".into(),
            ));
        }
        let profile = Profile {
            name: name.to_string(),
            specialty: specialty.trim().to_string(),
            created_at: config.clock.now(),
        };
        let vault = Vault::create(
            dir,
            passphrase,
            &profile,
            config.kdf,
            config.entropy.clone(),
        )?;
        Engine::ready(vault, config)
    }

    /// Unlocks the profile in `dir`.
    pub fn unlock(dir: &Path, passphrase: &Passphrase, config: EngineConfig) -> Result<Engine> {
        let vault = Vault::open(dir, passphrase, config.entropy.clone())?;
        Engine::ready(vault, config)
    }

    /// Brings the group layer's tables up to date and loads (or, once, makes) the identity.
    fn ready(mut vault: Vault, config: EngineConfig) -> Result<Engine> {
        consilium_groups::migrate(vault.db_mut().connection_mut())?;
        let identity = match vault.db().identity_seed()? {
            Some(seed) => Identity::from_seed(&seed)?,
            None => {
                let mut seed = Zeroizing::new([0u8; 32]);
                config.entropy.fill(&mut seed[..])?;
                vault.db().set_identity_seed(&seed, config.clock.now())?;
                Identity::from_seed(&seed)?
            }
        };
        let net = Net::new(&identity, config.clock.clone())?;
        Ok(Engine {
            vault,
            config,
            identity,
            net,
            transfers: Default::default(),
        })
    }

    /// Closes the vault; keys are wiped.
    pub fn lock(self) {
        self.vault.lock();
    }

    pub fn change_passphrase(&self, current: &Passphrase, new: &Passphrase) -> Result<()> {
        Ok(self.vault.change_passphrase(current, new)?)
    }

    pub fn profile(&self) -> Result<Profile> {
        Ok(self.vault.db().profile()?)
    }

    /// Finds a case by its id or a unique prefix of at least 4 hex digits.
    pub fn resolve_case_id(&self, id_or_prefix: &str) -> Result<CaseId> {
        Ok(self.vault.db().find_case(id_or_prefix)?)
    }

    pub fn create_case(&mut self, fields: CaseFields) -> Result<CaseId> {
        let now = self.config.clock.now();
        Ok(self.vault.db_mut().create_case(fields, now)?)
    }

    /// Applies `patch` to the case's current fields and stores the result as a new revision.
    pub fn edit_case(&mut self, id: &CaseId, patch: CasePatch) -> Result<u32> {
        if patch.is_empty() {
            return Err(ClientError::Invalid(
                "nothing to change: give at least one field".into(),
            ));
        }
        self.ensure_own(id, "edit")?;
        let mut fields = self.vault.db().fields(id)?;
        patch.apply(&mut fields);
        if !self.vault.db().case_circles(id)?.is_empty() {
            self.ensure_fields_reviewed(id, &fields)?;
        }
        let now = self.config.clock.now();
        let revision = self.vault.db_mut().edit_case(id, fields, now)?;
        self.send_revision(id)?;
        Ok(revision)
    }

    pub fn resolve_case(&mut self, id: &CaseId, outcome: &str) -> Result<()> {
        self.ensure_own(id, "resolve")?;
        if !self.vault.db().case_circles(id)?.is_empty() {
            self.ensure_reviewed(id, &[("outcome".into(), outcome.to_string())])?;
        }
        let now = self.config.clock.now();
        self.vault.db_mut().resolve_case(id, outcome, now)?;
        self.send_outcome(id, outcome)
    }

    /// A case, with comment authors in circles shown by the names members gave themselves.
    pub fn case(&self, id: &CaseId) -> Result<Case> {
        let mut case = self.vault.db().case(id)?;
        let circles = self.vault.db().case_circles(id)?;
        if !circles.is_empty() {
            let me = self.identity.account_id();
            let mut names = vec![(me, self.vault.db().profile()?.name)];
            for circle in circles {
                for (account, name, _) in self.vault.db().member_profiles(&circle)? {
                    names.push((account, name));
                }
            }
            for comment in &mut case.comments {
                if let Some((_, name)) = names
                    .iter()
                    .find(|(a, n)| *a == comment.author && !n.is_empty())
                {
                    comment.author = name.clone();
                }
            }
        }
        Ok(case)
    }

    pub fn revisions(
        &self,
        id: &CaseId,
    ) -> Result<Vec<(u32, CaseFields, consilium_model::Timestamp)>> {
        Ok(self.vault.db().revisions(id)?)
    }

    pub fn list_cases(&self, filter: &CaseFilter) -> Result<Vec<CaseSummary>> {
        Ok(self.vault.db().list_cases(filter)?)
    }

    pub fn search(&self, query: &str) -> Result<Vec<SearchHit>> {
        Ok(self.vault.db().search(query, 100)?)
    }

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
        self.vault.db().fields(case)?;
        self.ensure_own(case, "add images to")?;
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
            let file = std::fs::File::create(&partial).map_err(ClientError::io(ctx.clone()))?;
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
