//! What the CLI prints. A command hands what it produced to `Output::show` as a `Shown` value;
//! one printer per format turns it into words (`text`) or JSON (`json`, typed structures whose
//! shapes `docs/cli-json.md` lists, generated from this printer by a test). Everything is
//! collected and written out at the end, so a reader that closes the pipe early (`| head`)
//! ends the output quietly instead of failing mid-line.

mod json;
mod text;

use std::cell::RefCell;
use std::path::Path;

use consilium_client::model::{Attachment, Case, CaseId, CaseSummary, SearchHit};
use consilium_client::{
    CaseDeidReport, CircleInfo, IdentityInfo, JoinRequestInfo, JoinSent, MemberInfo, PollView,
    Profile, SyncReport, TextFinding,
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
    Members(&'a [MemberInfo]),
    Sync(&'a SyncReport),
}

/// After a change for a circle, the engine tries to send at once: what is still queued, and
/// why the relay could not be reached, if it could not.
#[derive(Debug, Clone)]
pub struct Sending {
    pub id: String,
    pub queued: u64,
    pub offline: Option<String>,
}

#[derive(Debug, Default)]
pub struct Output {
    json: bool,
    buf: RefCell<String>,
}

impl Output {
    pub fn new(json: bool) -> Output {
        Output {
            json,
            buf: RefCell::default(),
        }
    }

    pub fn json(&self) -> bool {
        self.json
    }

    pub fn show(&self, shown: &Shown<'_>) {
        let mut buf = self.buf.borrow_mut();
        if self.json {
            json::print(&mut buf, shown);
        } else {
            text::print(&mut buf, shown);
            // An unreachable relay is said on stderr, so stdout stays the ids a script reads.
            if let Shown::Sent(s) | Shown::Voted { sending: s, .. } = shown
                && let Some(why) = &s.offline
            {
                eprintln!("offline, will retry: {why} (queued; run `consilium sync` later)");
            }
        }
    }

    /// Everything printed so far.
    pub fn take(&self) -> String {
        std::mem::take(&mut *self.buf.borrow_mut())
    }

    /// A bar on stderr when several files are imported (hidden when stderr is not a terminal).
    pub fn progress_bar(&self, total: usize) -> indicatif::ProgressBar {
        if total < 2 || self.json {
            return indicatif::ProgressBar::hidden();
        }
        let bar = indicatif::ProgressBar::new(total as u64);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("importing {bar:30} {pos}/{len} images")
        {
            bar.set_style(style);
        }
        bar
    }
}
