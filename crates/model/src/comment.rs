//! Comments on a case, threaded by `reply_to`.

use serde::{Deserialize, Serialize};

use crate::ids::CommentId;
use crate::time::Timestamp;

pub const MAX_COMMENT_BYTES: usize = 16 * 1024;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Comment {
    pub id: CommentId,
    pub reply_to: Option<CommentId>,
    pub author: String,
    pub body: String,
    pub created_at: Timestamp,
}
