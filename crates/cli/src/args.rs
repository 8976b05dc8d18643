//! Command-line grammar of `consilium`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use consilium_client::model::{AgeBand, QuestionKind, Sex, Status, Urgency};
use consilium_client::{Acknowledge, CasePatch, ClientError};

#[derive(Debug, Parser)]
#[command(
    name = "consilium",
    version,
    about = "Consilium: confidential clinical cases, encrypted on this computer"
)]
pub struct Cli {
    /// Profile directory (default: the platform's user data directory).
    #[arg(long, global = true, env = "CONSILIUM_PROFILE", value_name = "DIR")]
    pub profile: Option<PathBuf>,

    /// Machine-readable output: JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a profile: a new encrypted vault (passphrase from CONSILIUM_PASSPHRASE or a prompt).
    Init {
        /// Your name as colleagues know it.
        #[arg(long)]
        name: String,
        /// Your specialty.
        #[arg(long, default_value = "")]
        specialty: String,
    },
    /// Cases: write, list, search, attach images.
    #[command(subcommand)]
    Case(Box<CaseCommand>),
    /// The vault passphrase.
    #[command(subcommand)]
    Passphrase(PassphraseCommand),
    /// This profile's account id, name and specialty.
    Identity,
    /// Back this profile up into a folder, or restore a profile from a backup.
    #[command(subcommand)]
    Backup(BackupCommand),
    /// Circles of colleagues: create, invite, approve, members, verify, remove, leave.
    #[command(subcommand)]
    Circle(CircleCommand),
    /// Share an own case (with its images) with a circle. Refused while the text scan finds a
    /// possible identifier the author has not edited out or acknowledged.
    Share {
        case: String,
        circle: String,
        #[command(flatten)]
        review: ReviewArgs,
    },
    /// Comment on a case; in a circle, the circle sees it.
    Comment {
        case: String,
        text: String,
        /// Id (or first 8 characters) of the comment this one answers.
        #[arg(long)]
        reply_to: Option<String>,
        #[command(flatten)]
        review: ReviewArgs,
    },
    /// Open a poll on a case (the differential diagnoses, say).
    Poll {
        case: String,
        #[arg(required = true, num_args = 2..)]
        options: Vec<String>,
        #[command(flatten)]
        review: ReviewArgs,
    },
    /// Vote in a case's latest poll: the option's text or its number (from 1).
    Vote { case: String, option: String },
    /// Send what is queued, fetch and apply everything new; exit when caught up.
    Sync {
        /// Keep going: sync again whenever the relay has news.
        #[arg(long)]
        watch: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Back up into DIR (a folder on an external drive, say). The first backup into an empty
    /// folder shows its recovery code, once; each next run into it writes only what changed and
    /// removes what was deleted.
    Create { dir: PathBuf },
    /// Restore the backup in DIR as a new profile in the --profile folder (which must not hold
    /// one). The recovery code comes from CONSILIUM_RECOVERY_CODE or a prompt, the new
    /// profile's passphrase from CONSILIUM_PASSPHRASE or a prompt.
    Restore { dir: PathBuf },
    /// When and where this profile last backed up.
    Status,
}

#[derive(Debug, Subcommand)]
pub enum CircleCommand {
    /// The circles this profile is in.
    List,
    /// Create a circle on a relay; you are its first member.
    Create {
        name: String,
        /// The relay's address (https://…, or http:// on this machine); by default your own
        /// local relay, the one `scripts/run.sh` starts (a port of your own:
        /// 20000 + your user id, modulo 40000).
        #[arg(long, default_value_t = consilium_client::local_relay())]
        relay: String,
        /// The one-time enrolment code the relay's operator gave you (`consilium-relay
        /// admit`), for a relay that admits only enrolled accounts; needed once per relay.
        #[arg(long)]
        enrolment: Option<String>,
        /// For a self-hosted relay with a self-signed certificate: the SHA-256 of its public
        /// key, 64 hex digits (its operator reads it with `openssl x509 -in CERT -pubkey -noout
        /// | openssl pkey -pubin -outform der | sha256sum`). Only that key is accepted from the
        /// relay, and your invite codes carry it to those you invite.
        #[arg(long)]
        relay_key: Option<String>,
    },
    /// Print a one-line invite code for a colleague (usable once, for a week).
    Invite { circle: String },
    /// Ask to join a circle with an invite code; the Welcome comes with a later sync.
    Join { code: String },
    /// Join requests waiting for a decision, with each requester's safety number.
    Requests { circle: String },
    /// Add a requester to the circle, after comparing their safety number with them (by phone
    /// or in person): give it as you read it back, or say --without-checking (recorded).
    Approve {
        circle: String,
        request: i64,
        /// The 60 digits the requester reads to you (spaces allowed, or as several arguments).
        #[arg(required_unless_present = "without_checking", num_args = 1..)]
        safety_number: Vec<String>,
        /// Approve without comparing safety numbers (the circle records that you did not).
        #[arg(long, conflicts_with = "safety_number")]
        without_checking: bool,
    },
    /// Refuse a join request.
    Decline { circle: String, request: i64 },
    /// Members, their verification state and safety numbers.
    Members { circle: String },
    /// Mark a member verified after comparing the safety number with them.
    Verify {
        circle: String,
        member: String,
        /// The 60 digits (spaces allowed, or as several arguments).
        #[arg(required = true, num_args = 1..)]
        safety_number: Vec<String>,
    },
    /// Remove a member: they can read nothing sent afterwards.
    Remove { circle: String, member: String },
    /// Make a member an admin too (admins invite, add and remove members; you must be one).
    MakeAdmin { circle: String, member: String },
    /// Leave a circle. The cases received there stay on this computer unless --delete-cases.
    Leave {
        circle: String,
        /// Also erase the cases received in this circle from this computer.
        #[arg(long)]
        delete_cases: bool,
    },
    /// Erase the cases received in a circle from this computer (after leaving it or being
    /// removed); own cases stay.
    DeleteCases { circle: String },
    /// Give yourself fresh keys in the circle.
    Rotate { circle: String },
    /// Set how long every member keeps the cases received in the circle (admins only): a case
    /// is erased from colleagues' laptops once that many days passed since it arrived.
    Retention {
        circle: String,
        /// Days to keep each case (1 to 3653).
        #[arg(long, conflicts_with = "forever", required_unless_present = "forever")]
        days: Option<u32>,
        /// Keep cases for ever.
        #[arg(long)]
        forever: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum PassphraseCommand {
    /// Change it (new one from CONSILIUM_NEW_PASSPHRASE or a prompt); the old one stops working.
    Change,
}

#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    /// Write a new case; prints its id.
    New {
        #[command(flatten)]
        fields: FieldArgs,
        /// Read the fields from a TOML file (same names as the flags, with underscores).
        #[arg(long, value_name = "case.toml", conflicts_with = "title")]
        from_file: Option<PathBuf>,
    },
    /// List cases, most recently changed first.
    List {
        #[arg(long, value_parser = parse_word::<Status>)]
        status: Option<Status>,
        #[arg(long)]
        tag: Option<String>,
        #[arg(long)]
        specialty: Option<String>,
        /// Only cases of this circle (its name or id).
        #[arg(long)]
        circle: Option<String>,
    },
    /// Show one case with its attachments and comments.
    Show { id: String },
    /// Full-text search over case fields, outcomes and comments.
    Search { query: String },
    /// Change fields of a case; the previous version is kept as a revision.
    Edit {
        id: String,
        #[command(flatten)]
        fields: FieldArgs,
        #[command(flatten)]
        review: ReviewArgs,
    },
    /// Erase a case from this computer with everything it holds (revisions, comments, images).
    /// Colleagues keep their copies unless --retract is given.
    Delete {
        id: String,
        /// Also withdraw it from every circle it was shared with (own cases only).
        #[arg(long)]
        retract: bool,
    },
    /// Withdraw an own shared case from every circle it went to: each colleague's copy is
    /// erased, a tombstone remains, and it is erased here too.
    Retract { id: String },
    /// The cases retracted by their authors: when (nothing else of them is kept).
    Retracted,
    /// Mark a case resolved with its outcome.
    Resolve {
        id: String,
        #[arg(long)]
        outcome: String,
        #[command(flatten)]
        review: ReviewArgs,
    },
    /// Add a comment to a case.
    Comment {
        id: String,
        text: String,
        /// Id of the comment this one answers.
        #[arg(long)]
        reply_to: Option<String>,
        #[command(flatten)]
        review: ReviewArgs,
    },
    /// The names looked for in the case's text before it is shared (the patient's, relatives'):
    /// prints them; with NAMEs, replaces them. They never leave this computer.
    Names {
        id: String,
        names: Vec<String>,
        /// Empty the list.
        #[arg(long, conflicts_with = "names")]
        clear: bool,
    },
    /// What the text scan finds in the case now, and what was acknowledged.
    Scan { id: String },
    /// Import images: metadata is removed, orientation applied, redactions burned in.
    Attach {
        id: String,
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Black out a rectangle X,Y,W,H (pixels of the upright image); repeatable; one FILE only.
        #[arg(long = "redact", value_name = "X,Y,W,H")]
        redact: Vec<String>,
        /// For a multi-frame DICOM file: the frame to keep, counted from 1 (default: the first).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        frame: Option<u32>,
    },
    /// Burn redactions into an image not yet shared: the proposed faces and/or rectangles.
    Redact {
        id: String,
        attachment_id: String,
        /// Burn in every face proposed at import (listed by `case show`).
        #[arg(long)]
        accept_proposals: bool,
        /// Black out a rectangle X,Y,W,H (pixels of the stored image); repeatable.
        #[arg(long = "rect", value_name = "X,Y,W,H")]
        rects: Vec<String>,
    },
    /// Mark an image as reviewed: you looked at it (after any redaction) and it may be shared as
    /// it is; faces still proposed are dismissed.
    Review { id: String, attachment_id: String },
    /// Put another frame of a multi-frame DICOM file in place of the image it gave (the file is
    /// given again: Consilium keeps no original). FRAME counts from 1.
    Frame {
        id: String,
        attachment_id: String,
        file: PathBuf,
        #[arg(value_parser = clap::value_parser!(u32).range(1..))]
        frame: u32,
    },
    /// Copy a DICOM image's modality and body part (the only DICOM values kept) into the case's
    /// investigations.
    CopyImaging { id: String, attachment_id: String },
    /// Write the cleaned image of an attachment to a file.
    ExportAttachment {
        id: String,
        attachment_id: String,
        out_file: PathBuf,
        /// Which size: full, preview (1600 px) or thumbnail (320 px).
        #[arg(long, default_value = "full")]
        rendition: String,
    },
}

/// The author's decisions on what the text scan found, with a command that sends text.
#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// Not an identifier: KIND:TEXT as the refusal lists it (date:12/03, phone:…); repeatable.
    #[arg(long = "acknowledge", value_name = "KIND:TEXT")]
    pub acknowledge: Vec<String>,
    /// Everything the scan finds now is not an identifier.
    #[arg(long, conflicts_with = "acknowledge")]
    pub acknowledge_all: bool,
}

impl ReviewArgs {
    pub fn decisions(&self) -> Result<Option<Acknowledge>, ClientError> {
        if self.acknowledge_all {
            return Ok(Some(Acknowledge::All));
        }
        if self.acknowledge.is_empty() {
            return Ok(None);
        }
        let these = self
            .acknowledge
            .iter()
            .map(|a| Acknowledge::parse_one(a))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Acknowledge::These(these)))
    }
}

/// The case fields as flags, shared by `case new` and `case edit`.
#[derive(Debug, Args)]
pub struct FieldArgs {
    #[arg(long)]
    pub title: Option<String>,
    /// Age band (e.g. 40-49, 90+) or an age in years, stored as its band.
    #[arg(long, value_parser = parse_word::<AgeBand>)]
    pub age_band: Option<AgeBand>,
    #[arg(long, value_parser = parse_word::<Sex>)]
    pub sex: Option<Sex>,
    /// Chief complaint.
    #[arg(long)]
    pub complaint: Option<String>,
    #[arg(long)]
    pub history: Option<String>,
    /// Examination findings.
    #[arg(long)]
    pub exam: Option<String>,
    #[arg(long)]
    pub investigations: Option<String>,
    #[arg(long)]
    pub working_diagnosis: Option<String>,
    /// A differential diagnosis; repeatable.
    #[arg(long = "differential")]
    pub differential: Vec<String>,
    /// The question for the circle.
    #[arg(long)]
    pub question: Option<String>,
    #[arg(long, value_parser = parse_word::<QuestionKind>)]
    pub question_kind: Option<QuestionKind>,
    #[arg(long, value_parser = parse_word::<Urgency>)]
    pub urgency: Option<Urgency>,
    #[arg(long)]
    pub specialty: Option<String>,
    /// A tag; repeatable.
    #[arg(long = "tag")]
    pub tag: Vec<String>,
}

impl FieldArgs {
    pub fn into_patch(self) -> CasePatch {
        CasePatch {
            title: self.title,
            age_band: self.age_band,
            sex: self.sex,
            chief_complaint: self.complaint,
            history: self.history,
            examination: self.exam,
            investigations: self.investigations,
            working_diagnosis: self.working_diagnosis,
            differential: (!self.differential.is_empty()).then_some(self.differential),
            question: self.question,
            question_kind: self.question_kind,
            urgency: self.urgency,
            specialty: self.specialty,
            tags: (!self.tag.is_empty()).then_some(self.tag),
        }
    }
}

fn parse_word<T: std::str::FromStr>(s: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    s.parse::<T>().map_err(|e| e.to_string())
}
