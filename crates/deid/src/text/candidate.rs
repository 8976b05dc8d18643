//! A possible identifier as each finder reports it, before overlapping ones are resolved.

use consilium_model::FindingKind;

/// A possible identifier before overlapping ones are resolved.
#[derive(Debug, Clone, Copy)]
pub(super) struct Candidate {
    pub(super) kind: FindingKind,
    pub(super) start: usize,
    pub(super) end: usize,
}

impl Candidate {
    pub(super) fn new(kind: FindingKind, start: usize, end: usize) -> Candidate {
        Candidate { kind, start, end }
    }

    /// Which kind wins when two cover the same text: the more specific.
    pub(super) fn rank(&self) -> u8 {
        match self.kind {
            FindingKind::Name => 0,
            FindingKind::Email | FindingKind::Url => 1,
            FindingKind::Ssn | FindingKind::Nir | FindingKind::Dni => 2,
            FindingKind::Date | FindingKind::Age => 3,
            FindingKind::Ip => 4,
            FindingKind::Phone => 5,
            FindingKind::Record => 6,
            FindingKind::Address => 7,
            FindingKind::Postcode => 8,
            FindingKind::Number => 9,
        }
    }
}
