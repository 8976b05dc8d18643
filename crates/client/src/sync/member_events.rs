//! What a commit did to a circle's members, as events: who came, who went, and who changed
//! laptop (a member both removed and added: a restored profile's device in place of the lost
//! one's).

use consilium_groups::AccountKey;

use crate::events::Event;

/// The members of `these` not in `those`, in hex.
pub(super) fn not_in(these: &[AccountKey], those: &[AccountKey]) -> Vec<String> {
    these
        .iter()
        .filter(|k| !those.contains(k))
        .map(hex::encode)
        .collect()
}

/// The events of a received commit (`circle` in hex).
pub(super) fn of_commit(circle: &str, added: &[AccountKey], removed: &[AccountKey]) -> Vec<Event> {
    let moved: Vec<&AccountKey> = added.iter().filter(|k| removed.contains(k)).collect();
    let mut events: Vec<Event> = moved
        .iter()
        .map(|member| Event::DeviceChanged {
            circle: circle.to_string(),
            member: hex::encode(member),
        })
        .collect();
    let others = |list: &[AccountKey]| -> Vec<String> {
        list.iter()
            .filter(|k| !moved.contains(k))
            .map(hex::encode)
            .collect()
    };
    let (added, removed) = (others(added), others(removed));
    if !added.is_empty() || !removed.is_empty() {
        events.push(Event::MembersChanged {
            circle: circle.to_string(),
            added,
            removed,
        });
    }
    events
}

/// The event of an own commit taking effect: the same physicians before and after an add is
/// a member's laptop replaced (`returning`, the member let back in).
pub(super) fn of_own_commit(
    circle: &[u8],
    added: Vec<String>,
    removed: Vec<String>,
    returning: Option<String>,
) -> Event {
    match returning {
        Some(member) if added.is_empty() && removed.is_empty() => Event::DeviceChanged {
            circle: hex::encode(circle),
            member,
        },
        _ => Event::MembersChanged {
            circle: hex::encode(circle),
            added,
            removed,
        },
    }
}
