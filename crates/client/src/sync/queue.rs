//! Putting a change on the outbox: under a fresh random message id, in the caller's transaction.

use consilium_model::Timestamp;
use consilium_model::app::AppMessage;
use consilium_store::{CaseDb, Entropy};
use serde_bytes::ByteBuf;

use super::payload::Queued;
use crate::error::{ClientError, Result};

pub(crate) fn random<const N: usize>(entropy: &dyn Entropy) -> Result<[u8; N]> {
    let mut b = [0u8; N];
    entropy.fill(&mut b)?;
    Ok(b)
}

/// Queues `what` for `circle` under a fresh message id.
pub(crate) fn enqueue(
    db: &CaseDb,
    entropy: &dyn Entropy,
    circle: &[u8],
    what: &Queued,
    now: Timestamp,
) -> Result<[u8; 16]> {
    let id = random::<16>(entropy)?;
    db.outbox().enqueue(circle, id, &what.encode()?, now)?;
    Ok(id)
}

/// `message`, as this profile's next numbered message in `circle`: call it in the transaction
/// that queues it, so a number is given once.
pub(crate) fn app(db: &CaseDb, circle: &[u8], message: &AppMessage) -> Result<Queued> {
    let n = db.logs().next_own_number(circle)?;
    Ok(Queued::App(ByteBuf::from(
        message
            .encode_numbered(n)
            .map_err(|e| ClientError::Internal(format!("encoding a message: {e}")))?,
    )))
}
