//! Erasing a case here, below every face of the engine that does it (a delete, a retraction
//! sent or received, an expiry, a circle left): what this profile queued about the case loses
//! its content, then every row tied to it goes (`CaseDb::erase_case`). The vault's files and
//! WAL are settled by the caller once the transaction is committed.

use consilium_model::CaseId;
use consilium_model::app::{AppMessage, MemberProfile};
use consilium_store::CaseDb;
use serde_bytes::ByteBuf;

use super::payload::Queued;
use crate::error::{ClientError, Result};

/// Erases `case` here, in the caller's transaction: its queued messages first (see
/// `forget_queued`), then every row tied to it.
pub(crate) fn erase_here(db: &CaseDb, case: &CaseId) -> Result<()> {
    forget_queued(db, case)?;
    db.erase_case(case)?;
    Ok(())
}

/// Rewrites each queued message about `case` as `instead()`, under the number it was given:
/// a case being erased leaves nothing of itself in the outbox, and colleagues see no gap in
/// this profile's numbers. `instead` is asked only when there is such a message.
pub(crate) fn empty_queued(
    db: &CaseDb,
    case: &CaseId,
    instead: impl FnOnce() -> Result<AppMessage>,
) -> Result<()> {
    let mut about = Vec::new();
    for (id, payload) in db.outbox().payloads()? {
        let Ok(Queued::App(bytes)) = Queued::decode(&payload) else {
            continue;
        };
        if let Ok((message, number)) = AppMessage::decode_numbered(&bytes)
            && message.case_id() == Some(case)
        {
            about.push((id, number));
        }
    }
    if about.is_empty() {
        return Ok(());
    }
    let instead = instead()?;
    for (id, number) in about {
        let emptied = instead
            .encode_numbered(number)
            .map_err(|e| ClientError::Internal(format!("encoding a message: {e}")))?;
        db.outbox()
            .replace_payload(id, &Queued::App(ByteBuf::from(emptied)).encode()?)?;
    }
    Ok(())
}

/// `empty_queued` with a message that says nothing new: this profile's own description.
pub(crate) fn forget_queued(db: &CaseDb, case: &CaseId) -> Result<()> {
    empty_queued(db, case, || {
        let profile = db.profile()?;
        Ok(AppMessage::MemberProfile(MemberProfile {
            name: profile.name,
            specialty: profile.specialty,
        }))
    })
}
