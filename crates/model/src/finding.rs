//! What the text scan finds in a case before it is shared: a possible identifier, its kind and
//! where it is. The author resolves each one (edits the text, or acknowledges "not an
//! identifier") before anything leaves the laptop.

use serde::{Deserialize, Serialize};

/// The kinds of identifier the scan looks for (HIPAA Safe Harbor's list, as physicians write
/// them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum FindingKind {
    /// A name from the case's deny-list (the patient's, a relative's).
    Name,
    /// A date more precise than a year.
    Date,
    /// An age over 89.
    Age,
    /// A phone or fax number.
    Phone,
    Email,
    Url,
    Ip,
    /// A record, insurance or identity number named by its label ("MRN", "IPP", "NHS"…).
    Record,
    /// A US social security number (ddd-dd-dddd, valid area, group and serial).
    Ssn,
    /// A French NIR (13 digits and the key that checks them).
    Nir,
    /// A Spanish DNI or NIE (digits and the letter that checks them).
    Dni,
    /// A long run of digits with no label.
    Number,
    Postcode,
    Address,
}

impl FindingKind {
    pub const ALL: [FindingKind; 14] = [
        FindingKind::Name,
        FindingKind::Date,
        FindingKind::Age,
        FindingKind::Phone,
        FindingKind::Email,
        FindingKind::Url,
        FindingKind::Ip,
        FindingKind::Record,
        FindingKind::Ssn,
        FindingKind::Nir,
        FindingKind::Dni,
        FindingKind::Number,
        FindingKind::Postcode,
        FindingKind::Address,
    ];

    /// The word used on the command line and in the stored form (`date`, `phone`…).
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Name => "name",
            FindingKind::Date => "date",
            FindingKind::Age => "age",
            FindingKind::Phone => "phone",
            FindingKind::Email => "email",
            FindingKind::Url => "url",
            FindingKind::Ip => "ip",
            FindingKind::Record => "record",
            FindingKind::Ssn => "ssn",
            FindingKind::Nir => "nir",
            FindingKind::Dni => "dni",
            FindingKind::Number => "number",
            FindingKind::Postcode => "postcode",
            FindingKind::Address => "address",
        }
    }

    /// What a physician reads: "a date", "a phone number"…
    pub fn describe(self) -> &'static str {
        match self {
            FindingKind::Name => "a name on this case's list",
            FindingKind::Date => "a date",
            FindingKind::Age => "an age over 89",
            FindingKind::Phone => "a phone or fax number",
            FindingKind::Email => "an e-mail address",
            FindingKind::Url => "a web address",
            FindingKind::Ip => "an IP address",
            FindingKind::Record => "a record or identity number",
            FindingKind::Ssn => "a social security number",
            FindingKind::Nir => "a French social security number (NIR)",
            FindingKind::Dni => "a Spanish DNI or NIE",
            FindingKind::Number => "a long number",
            FindingKind::Postcode => "a postcode",
            FindingKind::Address => "a street address",
        }
    }
}

impl std::fmt::Display for FindingKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for FindingKind {
    type Err = crate::error::ModelError;

    fn from_str(s: &str) -> crate::error::Result<Self> {
        FindingKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                crate::error::ModelError::Invalid(format!("not a kind of identifier: {s}"))
            })
    }
}

/// One possible identifier in a text: `text[start..end]` (byte offsets) is `matched`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub start: usize,
    pub end: usize,
    pub matched: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_words() {
        for k in FindingKind::ALL {
            assert_eq!(k.as_str().parse::<FindingKind>().unwrap(), k);
        }
        assert!("birthday".parse::<FindingKind>().is_err());
    }
}
