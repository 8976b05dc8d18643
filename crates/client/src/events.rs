//! What happened while syncing, for the faces to show (the desktop turns these into UI events
//! and notifications). Ids only, never case text: a notification must not carry patient data.

use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum Event {
    CaseReceived {
        circle: String,
        case: String,
    },
    CaseUpdated {
        circle: String,
        case: String,
    },
    CaseRetracted {
        circle: String,
        case: String,
    },
    /// A received case the circle's retention ran out for: erased here.
    CaseExpired {
        circle: String,
        case: String,
    },
    /// A circle admin set how long the cases received there are kept (`None`: for ever).
    RetentionChanged {
        circle: String,
        days: Option<u32>,
    },
    CommentReceived {
        circle: String,
        case: String,
        comment: String,
    },
    PollChanged {
        circle: String,
        case: String,
    },
    AttachmentStored {
        case: String,
        attachment: String,
    },
    MembersChanged {
        circle: String,
        added: Vec<String>,
        removed: Vec<String>,
    },
    /// A new laptop asks into a circle as this very physician (a restore of this profile's
    /// backup). If it was not them, their backup and its recovery code are in someone's hands.
    ProfileRestoredElsewhere {
        circle: String,
    },
    /// A member's laptop was replaced by another of theirs (a profile restored from a backup):
    /// the lost one reads nothing from now on. If they did not ask for it, call them.
    DeviceChanged {
        circle: String,
        member: String,
    },
    JoinRequested {
        circle: String,
        request: i64,
        name: String,
    },
    Joined {
        circle: String,
        name: String,
    },
    RemovedFromCircle {
        circle: String,
    },
    /// A message of the circle could not be opened or applied; it was recorded and skipped.
    /// A relay failed in a way that is not "out of reach" (an answer over its limit or
    /// malformed, a refusal): what it concerns (the relay's mailbox, or one circle's log) is
    /// left for the next pass; every other relay and circle went on.
    SyncFailed {
        relay: String,
        circle: Option<String>,
        reason: String,
    },
    /// A member's own numbering of their messages skipped `missing` of them: the relay (or the
    /// network) withheld them from this profile. Compare with the member.
    MessagesMissing {
        circle: String,
        sender: String,
        missing: u64,
    },
    /// A message from `sender`, a current member, at the key epoch this profile is at, does not
    /// decrypt: the relay changed it, or showed `sender` another circle than ours (a fork). Compare
    /// the circle's epoch code with them.
    ForkSuspected {
        circle: String,
        sender: String,
        epoch: u64,
    },
    MessageRejected {
        circle: String,
        seq: u64,
        reason: String,
    },
    /// An attachment could never be stored (its bytes do not match what the sender sent).
    AttachmentRejected {
        case: String,
        attachment: String,
        reason: String,
    },
}

/// Progress of the encrypted images going to or coming from the relay, reported after each.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Transfer {
    pub direction: Direction,
    /// Renditions done and in all, in this pass.
    pub done: usize,
    pub total: usize,
    /// Bytes moved so far in this pass.
    pub bytes: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum Direction {
    Upload,
    Download,
}

type OnTransfer = Box<dyn FnMut(&Transfer) + Send>;

/// The face's progress callback, if it gave one.
#[derive(Default)]
pub struct TransferWatch(pub(crate) Option<OnTransfer>);

impl std::fmt::Debug for TransferWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TransferWatch")
    }
}

impl TransferWatch {
    pub(crate) fn tell(&mut self, t: &Transfer) {
        if let Some(f) = &mut self.0 {
            f(t);
        }
    }
}
