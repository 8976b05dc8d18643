//! What a sync pass did, and how a relay's failure is reported in it rather than raised.

use consilium_relay_client::RelayCode;
use serde::Serialize;

use crate::error::{ClientError, ErrorCode, Result};
use crate::events::Event;

/// What a sync pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub sent: usize,
    /// Items redone on a newer epoch after another member's commit won the race.
    pub redone: usize,
    pub received: usize,
    pub rejected: usize,
    /// Items still in the outbox (waiting for the relay, or failed).
    pub queued: u64,
    /// Outbox items the relay refused for good, with why.
    pub failed: Vec<String>,
    /// Why a relay could not be reached, if one could not: "offline, will retry".
    pub offline: Option<String>,
    /// The pass let go of the engine before its end, for someone who wanted it
    /// (`Interrupt::want`): run another once the engine is free.
    pub cut_short: bool,
    pub events: Vec<Event>,
}

impl SyncReport {
    /// Takes in what an `earlier` pass did that was cut short (`cut_short`), whose report was
    /// never shown: its sends, receipts, refusals and events count as this pass's, before this
    /// pass's own. Without it an approval's commit sent by a pass cut short was never told to
    /// the window, which went on showing the circle without the new member.
    /// The state now (what is queued, whether a relay is offline, whether this pass was cut
    /// short too) is this pass's.
    pub fn carry(&mut self, earlier: SyncReport) {
        self.sent += earlier.sent;
        self.redone += earlier.redone;
        self.received += earlier.received;
        self.rejected += earlier.rejected;
        let mut failed = earlier.failed;
        failed.append(&mut self.failed);
        self.failed = failed;
        let mut events = earlier.events;
        events.append(&mut self.events);
        self.events = events;
    }
}

/// Whether an error only means the relay is out of reach (then it is reported, not raised).
pub(crate) fn offline(e: ClientError, report: &mut SyncReport) -> Result<()> {
    if e.code() == ErrorCode::Offline {
        report.offline = Some(e.to_string());
        Ok(())
    } else {
        Err(e)
    }
}

/// Keeps a relay's failure where it happened: out of reach is reported as offline; any other
/// failure of the relay (an answer over its limit or malformed, a refusal) is a `SyncFailed`
/// event for that relay (and `circle`, when it concerns one), and the pass goes on. A failure
/// here (the vault) is raised.
pub(crate) fn isolate(
    e: ClientError,
    relay: &str,
    circle: Option<&[u8]>,
    report: &mut SyncReport,
) -> Result<()> {
    if e.code() == ErrorCode::Offline {
        return offline(e, report);
    }
    match e {
        ClientError::Relay(r) => {
            report.events.push(Event::SyncFailed {
                relay: relay.to_string(),
                circle: circle.map(hex::encode),
                reason: r.to_string(),
            });
            Ok(())
        }
        e => Err(e),
    }
}

pub(crate) fn forbidden(e: &ClientError) -> bool {
    matches!(e, ClientError::Relay(r) if matches!(r.code(), Some(RelayCode::Forbidden)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_cut_short_counts_in_the_next_whole_one() {
        let earlier = SyncReport {
            sent: 1,
            received: 2,
            failed: vec!["refused".into()],
            queued: 3,
            cut_short: true,
            events: vec![Event::Joined {
                circle: "a".into(),
                name: "A".into(),
            }],
            ..SyncReport::default()
        };
        let mut whole = SyncReport {
            received: 1,
            events: vec![Event::RemovedFromCircle { circle: "b".into() }],
            ..SyncReport::default()
        };
        whole.carry(earlier);
        assert_eq!(whole.sent, 1);
        assert_eq!(whole.received, 3);
        assert_eq!(whole.failed, vec!["refused".to_string()]);
        assert_eq!(whole.queued, 0, "what is queued is now's");
        assert!(!whole.cut_short);
        assert_eq!(
            whole.events,
            vec![
                Event::Joined {
                    circle: "a".into(),
                    name: "A".into()
                },
                Event::RemovedFromCircle { circle: "b".into() }
            ]
        );
    }
}
