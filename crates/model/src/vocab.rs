//! Closed vocabularies of a case: age band, sex, question kind, urgency, status.
//!
//! Each parses from and prints to the short words the CLI and the wire use. An unknown word
//! from a newer client decodes as the `Other`/default variant rather than failing.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ModelError;

/// Age in bands, never an exact age; everything from 90 up collapses into `90+` (HIPAA Safe Harbor).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "specta", derive(specta::Type), specta(type = String))]
pub enum AgeBand {
    /// Under one year.
    Infant,
    /// 1 to 4 years.
    Toddler,
    /// 5 to 9, 10 to 14, 15 to 19: lower bound of the five-year band.
    Child(u8),
    /// 20–29 … 80–89: lower bound of the decade.
    Decade(u8),
    /// 90 and over.
    Ninety,
}

impl AgeBand {
    /// The band that holds an age in whole years.
    pub fn from_years(years: u32) -> AgeBand {
        match years {
            0 => AgeBand::Infant,
            1..=4 => AgeBand::Toddler,
            5..=19 => AgeBand::Child((years / 5 * 5) as u8),
            20..=89 => AgeBand::Decade((years / 10 * 10) as u8),
            _ => AgeBand::Ninety,
        }
    }

    /// Every band, youngest first.
    pub fn all() -> Vec<AgeBand> {
        let mut v = vec![AgeBand::Infant, AgeBand::Toddler];
        v.extend([5, 10, 15].map(AgeBand::Child));
        v.extend((2..=8).map(|d| AgeBand::Decade(d * 10)));
        v.push(AgeBand::Ninety);
        v
    }
}

impl fmt::Display for AgeBand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgeBand::Infant => f.write_str("<1"),
            AgeBand::Toddler => f.write_str("1-4"),
            AgeBand::Child(lo) => write!(f, "{lo}-{}", lo + 4),
            AgeBand::Decade(lo) => write!(f, "{lo}-{}", lo + 9),
            AgeBand::Ninety => f.write_str("90+"),
        }
    }
}

impl FromStr for AgeBand {
    type Err = ModelError;

    /// Accepts a band as printed (`40-49`, `90+`, `<1`) or a whole age in years (`47`, `93`),
    /// which is turned into its band at once so the exact age is never kept.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Ok(years) = s.parse::<u32>() {
            return Ok(AgeBand::from_years(years));
        }
        AgeBand::all()
            .into_iter()
            .find(|b| b.to_string() == s)
            .ok_or_else(|| {
                ModelError::Invalid(format!(
                    "unknown age band '{s}': use an age in years or one of <1, 1-4, 5-9, 10-14, 15-19, 20-29 … 80-89, 90+"
                ))
            })
    }
}

impl Serialize for AgeBand {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for AgeBand {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

macro_rules! word_enum {
    ($(#[$m:meta])* $name:ident ($human:literal) { $($(#[$vm:meta])* $variant:ident = $word:literal),+ $(,)? } fallback $fallback:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
        #[cfg_attr(feature = "specta", derive(specta::Type))]
        pub enum $name { $($(#[$vm])* #[serde(rename = $word)] $variant),+ }

        impl $name {
            pub const WORDS: &'static [&'static str] = &[$($word),+];
            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }

        impl FromStr for $name {
            type Err = ModelError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim().to_lowercase().as_str() {
                    $($word => Ok($name::$variant),)+
                    other => Err(ModelError::Invalid(format!(
                        "unknown {} '{}': use one of {}",
                        $human, other, Self::WORDS.join(", ")
                    ))),
                }
            }
        }

        /// Forward compatible: a word from a newer client decodes as the fallback variant.
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Ok(s.parse().unwrap_or($name::$fallback))
            }
        }
    };
}

word_enum!(
    /// Sex as recorded in the case.
    Sex ("sex") { Female = "female", Male = "male", Other = "other", Unspecified = "unspecified" }
    fallback Unspecified
);

word_enum!(
    /// What the author asks the circle.
    QuestionKind ("question kind") { Diagnosis = "diagnosis", Management = "management", Drug = "drug", Procedure = "procedure", Other = "other" }
    fallback Other
);

word_enum!(
    /// How soon the author needs an answer.
    Urgency ("urgency") { Routine = "routine", Soon = "soon", Urgent = "urgent" }
    fallback Routine
);

word_enum!(
    /// Lifecycle of a case.
    Status ("status") { Open = "open", Resolved = "resolved" }
    fallback Open
);

#[allow(clippy::derivable_impls)] // the enum is declared by a macro
impl Default for Urgency {
    fn default() -> Self {
        Urgency::Routine
    }
}

#[allow(clippy::derivable_impls)] // the enum is declared by a macro
impl Default for Status {
    fn default() -> Self {
        Status::Open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_collapse_into_bands() {
        assert_eq!(AgeBand::from_years(0).to_string(), "<1");
        assert_eq!(AgeBand::from_years(3).to_string(), "1-4");
        assert_eq!(AgeBand::from_years(17).to_string(), "15-19");
        assert_eq!(AgeBand::from_years(47).to_string(), "40-49");
        assert_eq!(AgeBand::from_years(89).to_string(), "80-89");
        assert_eq!(AgeBand::from_years(90).to_string(), "90+");
        assert_eq!(AgeBand::from_years(104).to_string(), "90+");
    }

    #[test]
    fn every_band_round_trips_through_its_word() {
        for band in AgeBand::all() {
            assert_eq!(band.to_string().parse::<AgeBand>().ok(), Some(band));
        }
        assert!("40-50".parse::<AgeBand>().is_err());
        assert!("".parse::<AgeBand>().is_err());
    }

    #[test]
    fn words_parse_case_insensitively_and_unknown_words_are_errors() {
        assert_eq!(
            "Drug".parse::<QuestionKind>().ok(),
            Some(QuestionKind::Drug)
        );
        let err = "surgery"
            .parse::<QuestionKind>()
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("diagnosis, management")));
    }

    #[test]
    fn an_unknown_word_on_the_wire_decodes_as_the_fallback() {
        let s: Urgency = serde_json::from_str("\"stat\"").unwrap_or(Urgency::Urgent);
        assert_eq!(s, Urgency::Routine);
    }
}
