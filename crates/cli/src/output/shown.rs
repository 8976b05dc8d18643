//! What a command hands to the printers.

use std::path::Path;

use consilium_client::model::{Attachment, Case, CaseId, CaseSummary, SearchHit};
use consilium_client::{
    BackupOutcome, BackupStatus, CaseDeidReport, CircleInfo, IdentityInfo, JoinRequestInfo,
    JoinSent, MemberInfo, PollView, Profile, RestoreOutcome, SyncReport, TextFinding, Tombstone,
};

/// What one command produced.
#[derive(Debug)]
pub enum Shown<'a> {
    /// A new case (its id).
    Created {
        id: String,
    },
    /// A change to a case, and what became of it ("revision 3", "resolved").
    Updated {
        id: String,
        result: String,
    },
    /// A sentence (a passphrase changed, a request declined).
    Message(&'a str),
    ProfileCreated {
        dir: &'a Path,
        profile: &'a Profile,
    },
    Cases(&'a [CaseSummary]),
    /// What is left of cases their authors retracted.
    Retracted(&'a [Tombstone]),
    SearchHits(&'a [SearchHit]),
    /// A case, its polls, the text scan's findings and its de-identification report.
    Case {
        case: &'a Case,
        polls: &'a [PollView],
        findings: &'a [TextFinding],
        report: Option<&'a CaseDeidReport>,
    },
    Names(&'a [String]),
    Findings(&'a [TextFinding]),
    Attachments {
        case: &'a CaseId,
        attachments: &'a [Attachment],
    },
    Exported {
        path: &'a Path,
        bytes: u64,
    },
    /// Something for a circle, and whether it went or waits in the outbox.
    Sent(Sending),
    /// A vote, the poll's tally after it, and whether it went.
    Voted {
        poll: &'a PollView,
        sending: Sending,
    },
    InviteCode(&'a str),
    Identity(&'a IdentityInfo),
    Circles(&'a [CircleInfo]),
    JoinSent(&'a JoinSent),
    Requests(&'a [JoinRequestInfo]),
    /// The members, and the circle they are in (its epoch code is compared with them).
    Members(&'a [MemberInfo], &'a CircleInfo),
    Sync(&'a SyncReport),
    BackedUp(&'a BackupOutcome),
    /// The last backup, or none yet.
    BackupStatus(Option<&'a BackupStatus>),
    Restored {
        dir: &'a Path,
        outcome: &'a RestoreOutcome,
    },
}

/// After a change for a circle, the engine tries to send at once: what is still queued, and
/// why the relay could not be reached, if it could not.
#[derive(Debug, Clone)]
pub struct Sending {
    pub id: String,
    pub queued: u64,
    pub offline: Option<String>,
}
