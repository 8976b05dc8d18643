//! What happened while syncing, for the faces to show (the desktop turns these into UI events
//! and notifications). Ids only, never case text: a notification must not carry patient data.

use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
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
