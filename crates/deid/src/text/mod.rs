//! The text scan: possible identifiers in what a physician wrote, before it is shared. It finds
//! the names on the case's deny-list (any case, with or without accents), dates other than a
//! year, ages over 89, phone and fax numbers, e-mail, web and IP addresses, record and identity
//! numbers (labelled ones, and SSN, NIR, DNI/NIE and NHS numbers by their check rules), long
//! digit runs, postcodes and street addresses.
//!
//! It is a screen, not a proof: it proposes, the author decides. Patterns favour recall on what
//! physicians write in English, French, Spanish and German; the corpus test in `tests/` measures
//! both recall and false positives.

mod candidate;
mod checks;
mod contacts;
mod dates;
mod fold;
mod numbers;
mod places;

use std::sync::LazyLock;

use consilium_model::{Finding, FindingKind};
use regex::Regex;

use candidate::Candidate;
use fold::{Folded, fold};

/// The names the author typed for this case (the patient's, relatives'). Each word of an entry
/// is looked for on its own, as a whole word, ignoring case and accents.
#[derive(Debug, Clone, Default)]
pub struct DenyList {
    words: Vec<String>,
}

impl DenyList {
    pub fn new<S: AsRef<str>>(entries: &[S]) -> DenyList {
        let mut words: Vec<String> = entries
            .iter()
            .flat_map(|e| {
                fold(e.as_ref())
                    .split(|c: char| !c.is_alphanumeric() && c != '\'')
                    .map(|w| w.trim_matches('\'').to_string())
                    .collect::<Vec<_>>()
            })
            .filter(|w| w.chars().count() >= 2)
            .collect();
        words.sort();
        words.dedup();
        DenyList { words }
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    fn find(&self, text: &str, out: &mut Vec<Candidate>) {
        if self.words.is_empty() {
            return;
        }
        let folded = Folded::new(text);
        let hay = folded.text.as_str();
        for word in &self.words {
            for (at, _) in hay.match_indices(word.as_str()) {
                let end = at + word.len();
                let alone = !hay[..at]
                    .chars()
                    .next_back()
                    .is_some_and(char::is_alphanumeric)
                    && !hay[end..].chars().next().is_some_and(char::is_alphanumeric);
                if alone {
                    let (s, e) = folded.original(at, end);
                    out.push(Candidate::new(FindingKind::Name, s, e));
                }
            }
        }
    }
}

/// Ages over 89: "92-year-old", "aged 94", "93 ans", "91 años", "95 Jahre alt", "90 y/o".
static AGES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"(?i)(?-u:\b)(?:9\d|1[0-1]\d)\s*-?\s*(?:years?(?-u:\b)|yrs?(?-u:\b)|y/?o(?-u:\b)|y\.\s?o\.|ans?(?-u:\b)|años?(?-u:\b)|anos(?-u:\b)|jahre?n?(?-u:\b)|j\.|-j[äa]hrige?[rn]?(?-u:\b))",
        // "Mrs Brooks, 97,", "Mr FITCH (98)", "Frau Kaiser (96)", "b. 12 May 1930 (94)"
        r"(?:(?-u:\b)(?:Mr|Mrs|Ms|Miss|Mme|Mlle|M\.|Sr|Sra|Herr|Frau|Pat)\.?\s+[A-ZÀ-Þ][\p{L}\-]+(?:\s+[A-ZÀ-Þ][\p{L}\-]+)?,?\s*|(?-u:\b)[A-ZÀ-Þ][\p{L}\-]+\s+|(?:19|20)\d{2}\s+|\.\s+)\((?:9\d|1[0-1]\d)\)",
        // ... and after a relative's name: "her husband Albert, 94,", "sa mère Jeanne, 96 ,"
        r"(?-u:\b)(?:Mr|Mrs|Ms|Miss|Mme|Mlle|M\.|Sr|Sra|Herr|Frau|husband|wife|partner|mother|father|son|daughter|brother|sister|mari|époux|épouse|mère|père|fils|fille|frère|sœur|esposo|esposa|marido|madre|padre|hijo|hija|hermano|hermana|Ehemann|Ehefrau|Mann|Frau|Mutter|Vater|Sohn|Tochter|Bruder|Schwester)\.?\s+[A-ZÀ-Þ][\p{L}\-]+(?:\s+[A-ZÀ-Þ][\p{L}\-]+)?,\s*(?:9\d|1[0-1]\d)(?-u:\b)",
        // "is 101", "turned 90", "at 92 is", "a 93 ans" (a unit after it makes it a measurement)
        r"(?i)(?-u:\b)(?:is|was|turned|turns|now|at|at\s+the\s+age\s+of|a\s+l'[âa]ge\s+de|a\s+los|mit)\s+(?:9\d|1[0-1]\d)(?-u:\b)",
        r"(?i)(?-u:\b)(?:9\d|1[0-1]\d)[\s\-]*(?:year|yr)s?[\s\-]*old(?-u:\b)",
        r"(?i)(?-u:\b)(?:aged|age|âg[ée]e?\s+de|âge|edad|de\s+edad|im\s+alter\s+von|alter)\s*:?\s*(?:9\d|1[0-1]\d)(?-u:\b)",
        r"(?i)(?-u:\b)(?:9\d|1[0-1]\d)[\s\-]*j[äa]hrige?[rnms]?(?-u:\b)",
    ]
    .iter()
    .map(|p| Regex::new(p).unwrap_or_else(|e| panic!("age pattern: {e}")))
    .collect()
});

/// What follows a number that makes it a measurement, not an age ("at 92 %", "is 95 bpm").
static UNIT_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:%|‰|°|/|mg|g(?-u:\b)|µg|mcg|ml|l(?-u:\b)|mmhg|mm|cm|m(?-u:\b)|kg|bpm|min|s(?-u:\b)|ms|mmol|µmol|u(?-u:\b)|ui|iu|mval|mosm|points?|punkte|pts|percent|pour|por|prozent|x(?-u:\b)|×|-\d|\.\d|,\d)")
        .unwrap_or_else(|e| panic!("unit pattern: {e}"))
});

fn ages(text: &str, out: &mut Vec<Candidate>) {
    for re in AGES.iter() {
        for m in re.find_iter(text) {
            // Only a bare number needs its unit checked; "91yo M" is an age.
            let bare = m.as_str().ends_with(|c: char| c.is_ascii_digit());
            if bare && UNIT_AFTER.is_match(&text[m.end()..]) {
                continue;
            }
            // The finding is the age itself where the words around it are not part of it.
            let span = m.as_str();
            let (s, e) = match span.find('(') {
                Some(open) => (m.start() + open, m.end()),
                None => (m.start(), m.end()),
            };
            out.push(Candidate::new(FindingKind::Age, s, e));
        }
    }
}

/// Every possible identifier in `text`, in order, none overlapping another.
pub fn scan(text: &str, deny: &DenyList) -> Vec<Finding> {
    let mut candidates = Vec::new();
    deny.find(text, &mut candidates);
    dates::find(text, &mut candidates);
    ages(text, &mut candidates);
    contacts::find(text, &mut candidates);
    numbers::find(text, &mut candidates);
    places::find(text, &mut candidates);
    resolve(text, candidates)
}

/// Keeps, of overlapping candidates, the longest (the more specific kind on a tie); merges a
/// name's words that follow each other ("Hélène Dupont" is one finding).
fn resolve(text: &str, mut candidates: Vec<Candidate>) -> Vec<Finding> {
    candidates.retain(|c| {
        c.start < c.end && text.is_char_boundary(c.start) && text.is_char_boundary(c.end)
    });
    candidates.sort_by_key(|c| (std::cmp::Reverse(c.end - c.start), c.rank(), c.start));
    // Kept spans never overlap, so only the one starting last before a candidate's end can
    // overlap it.
    let mut taken: std::collections::BTreeMap<usize, Candidate> = std::collections::BTreeMap::new();
    for c in candidates {
        let clash = taken
            .range(..c.end)
            .next_back()
            .is_some_and(|(_, k)| k.end > c.start);
        if !clash {
            taken.insert(c.start, c);
        }
    }
    let kept: Vec<Candidate> = taken.into_values().collect();
    let mut merged: Vec<Candidate> = Vec::new();
    for c in kept {
        if let Some(last) = merged.last_mut() {
            let between = &text[last.end..c.start];
            let joinable = last.kind == FindingKind::Name
                && c.kind == FindingKind::Name
                && between.chars().all(|ch| ch == ' ' || ch == '-')
                && between.len() <= 2;
            if joinable {
                last.end = c.end;
                continue;
            }
        }
        merged.push(c);
    }
    merged
        .into_iter()
        .map(|c| Finding {
            kind: c.kind,
            start: c.start,
            end: c.end,
            matched: text[c.start..c.end].to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str, deny: &[&str]) -> Vec<(FindingKind, String)> {
        scan(text, &DenyList::new(deny))
            .into_iter()
            .map(|f| (f.kind, f.matched))
            .collect()
    }

    #[test]
    fn deny_listed_names_match_whatever_their_case_and_accents() {
        let found = kinds(
            "Mme HELENE DUPONT, née Hélène Dupont-Marchal; sa fille helene est venue. Dupontel non.",
            &["Hélène Dupont"],
        );
        assert_eq!(
            found,
            vec![
                (FindingKind::Name, "HELENE DUPONT".into()),
                (FindingKind::Name, "Hélène Dupont".into()),
                (FindingKind::Name, "helene".into()),
            ]
        );
    }

    #[test]
    fn dates_in_the_forms_physicians_write_and_not_a_year_alone() {
        for (text, date) in [
            ("Seen on 2024-03-12 for review.", "2024-03-12"),
            ("Vu le 12/03/2024 en consultation.", "12/03/2024"),
            ("Admitted 3/12/24 with fever.", "3/12/24"),
            ("Aufnahme am 12.03.2024 wegen Fieber.", "12.03.2024"),
            ("Control el 12 de marzo de 2024.", "12 de marzo de 2024"),
            ("Biopsy on March 12, 2024 showed", "March 12, 2024"),
            ("Opéré le 3 février, suites simples.", "3 février"),
            ("Seit dem 12. März 2024 Fieber.", "12. März 2024"),
            ("Onset in March 2024.", "March 2024"),
            ("Revu le 15/03 en hôpital de jour.", "15/03"),
        ] {
            assert_eq!(
                kinds(text, &[]),
                vec![(FindingKind::Date, date.into())],
                "{text}"
            );
        }
        for text in [
            "Diagnosed in 2019, stable since 2021.",
            "BP 140/90 mmHg, GCS 14/15, grade 2/4, visual acuity 20/40.",
            "Amoxicillin 1-0-1 for 3/7 days; L4-L5 disc; QTc 470 ms at 14:30.",
            "Hb 9.8 g/dL, CRP 48 mg/L, platelets 250 000/mm3.",
            "EDSS à 3,5 après la poussée ; NIHSS 3 après thrombolyse.",
        ] {
            assert_eq!(kinds(text, &[]), vec![], "{text}");
        }
    }

    #[test]
    fn contacts_numbers_and_places() {
        for (text, kind, matched) in [
            (
                "Call +33 6 12 34 56 78 after 6 pm.",
                FindingKind::Phone,
                "+33 6 12 34 56 78",
            ),
            (
                "Tél. 01 45 67 89 10 (secrétariat).",
                FindingKind::Phone,
                "01 45 67 89 10",
            ),
            (
                "Daughter's cell (555) 014-2367.",
                FindingKind::Phone,
                "(555) 014-2367",
            ),
            (
                "Mail jdoe@example.org please.",
                FindingKind::Email,
                "jdoe@example.org",
            ),
            (
                "Photos at https://img.example.com/a?b=1.",
                FindingKind::Url,
                "https://img.example.com/a?b=1",
            ),
            (
                "Pump at 192.168.1.20 logged it.",
                FindingKind::Ip,
                "192.168.1.20",
            ),
            ("MRN 00482913, 2 units.", FindingKind::Record, "00482913"),
            ("SSN 123-45-6789 on file.", FindingKind::Ssn, "123-45-6789"),
            (
                "NIR 1 84 12 76 451 089 46 au dossier.",
                FindingKind::Nir,
                "1 84 12 76 451 089 46",
            ),
            ("DNI 12345678Z.", FindingKind::Dni, "12345678Z"),
            (
                "Lives at 12 rue des Lilas.",
                FindingKind::Address,
                "12 rue des Lilas",
            ),
            (
                "Wohnt Hauptstraße 12 allein.",
                FindingKind::Address,
                "Hauptstraße 12",
            ),
            ("London SW1A 1AA.", FindingKind::Postcode, "SW1A 1AA"),
            ("A 94-year-old woman.", FindingKind::Age, "94-year-old"),
        ] {
            let found = kinds(text, &[]);
            assert!(found.contains(&(kind, matched.into())), "{text}: {found:?}");
        }
        assert_eq!(kinds("A 67-year-old man, 89 ans, 45 años.", &[]), vec![]);
    }
}
