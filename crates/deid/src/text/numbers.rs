//! Record, insurance and identity numbers: the ones named by a label ("MRN", "IPP", "NHS",
//! "SSN", "NIR", "DNI", "Versichertennummer"…), the national numbers recognised by their check
//! rules even without a label (US SSN, French NIR, Spanish DNI/NIE, NHS number), and long runs of
//! digits.

use std::sync::LazyLock;

use regex::Regex;

use super::candidate::Candidate;
use super::checks::{self, digits};
use consilium_model::FindingKind;

fn re(p: &str) -> Regex {
    Regex::new(p).unwrap_or_else(|e| panic!("number pattern {p}: {e}"))
}

/// The labels physicians write before a number that identifies a patient.
const LABELS: &str = concat!(
    r"MRN|MR|IPP|NIP|NDA|IEP|INS|NHS|SSN|NIR|DNI|NIE|NUSS|NSS|NASS|CIP|NHC|NUHSA|SIP|TSI|KVNR|",
    r"MBI|hosp(?:ital)?|serial|S/?N|s[ée]rie|serie|\p{L}*nummer|group\s+(?:no|number|#)|",
    r"medical\s+record|med(?:ical)?\s+rec(?:ord)?|record|chart|patient\s+(?:id|identifier|number)|hospital\s+(?:id|number)|",
    r"insurance(?:\s+(?:id|member\s+id))?|member\s+id|policy|account|medicare|medicaid|social\s+security|passport|driver'?s\s+licen[cs]e|",
    r"dossier|s[ée]curit[ée]\s+sociale|s[ée]cu|carte\s+vitale|mutuelle|assur[ée]|passeport|matricule|",
    r"historia(?:\s+cl[íi]nica)?|HC|afiliaci[óo]n|seguridad\s+social|tarjeta\s+sanitaria|pasaporte|paciente|expediente|",
    r"Patienten[-\s]?(?:ID|nummer|nr\.?)|Versicherten(?:nummer|[-\s]?nr\.?)|Versicherungsnummer|Krankenversicherungsnummer|",
    r"Sozialversicherungsnummer|Fallnummer|Fall[-\s]?nr\.?|Aktenzeichen|KV[-\s]?nr\.?|Reisepass|Ausweis(?:nummer)?|",
    // Pat.-Nr., Aufnahme-Nr., RV-Nr. (a phone's Tel.-Nr. stays a phone: it ranks first)
    r"\p{L}+\.?-Nr|",
    r"(?:encounter|visit|admission|episode|Aufnahme|Pat)\.?[-\s]?(?:no|nr|number|n[°º]|#|id)|",
    r"n[°º]\.?\s*(?:de\s+)?(?:s[ée]jour|venue|admission|patient)|",
    r"ID",
);

/// A label, the words that may sit between it and the number, then the number (digit groups
/// joined by single spaces, hyphens, dots or slashes, maybe with letters around).
static LABELLED: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i)(?-u:\b)(?:{LABELS})(?-u:\b)\.?(?:\s*(?:number|num[ée]ro|n[úu]mero|no\.?|nr\.?|n\.?[°º]\.?|#|id|de|du|del|la|le|:|-|is|est|es|ist))*(?:\s+(?:du|de|des|del|of|the|der|des)\s+[\p{{L}}\-]+)?\s*[:#]?\s*(?-i:((?:[A-Z]{{1,4}}[ \-]?)?\d[A-Z0-9]*(?:-[A-Z0-9]+)*(?:[ ./](?:[A-Z] )?[A-Z]{{0,3}}\d[A-Z0-9]*(?:-[A-Z0-9]+)*)*(?: [A-Z](?-u:\b))?))"
    ))
});

static SSN: LazyLock<Regex> = LazyLock::new(|| re(r"(?-u:\b)(\d{3})-(\d{2})-(\d{4})(?-u:\b)"));
static NIR: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?-u:\b)([1278][\s.]?\d{2}[\s.]?\d{2}[\s.]?(?:\d{2}|2[AB])[\s.]?\d{3}[\s.]?\d{3})[\s.]?(\d{2})(?-u:\b)",
    )
});
static DNI: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)(?-u:\b)(?:([XYZ])[\s\-]?)?(\d{7,8})[\s\-]?([A-Z])(?-u:\b)"));
static NHS: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?-u:\b)\d{3}[\s\-]?\d{3}[\s\-]?\d{4}(?-u:\b)"));
/// Letters then six digits or more, maybe after a short prefix such as a year: RAD-5521873,
/// SAGA380211934017, S24-0033817, E2024-0091734 (not BRCA1, HLA-B27, JAK2).
static CODED: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?-u:\b)[A-Z]{1,5}(?:\d{1,4}-)?-?\d{6,}[A-Z]?(?-u:\b)"));
/// A German pension insurance number: 12 150343 M 514, 65170839J003.
static RVNR: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?-u:\b)(\d{2}\s?\d{6})\s?([A-Z])\s?(\d{2})(\d)(?-u:\b)"));
/// Eight digits or more in a row, or joined by hyphens or slashes.
static LONG: LazyLock<Regex> = LazyLock::new(|| re(r"(?-u:\b)\d+(?:[\-/]\d+)*(?-u:\b)"));

pub fn find(text: &str, out: &mut Vec<Candidate>) {
    for c in LABELLED.captures_iter(text) {
        let Some(m) = c.get(1) else { continue };
        let number = m.as_str().trim_end_matches(['.', '-', '/', ' ']);
        // "ID 3" is not a record number; five digits at least.
        if digits(number).len() >= 5 {
            out.push(Candidate::new(
                FindingKind::Record,
                m.start(),
                m.start() + number.len(),
            ));
        }
    }
    for c in SSN.captures_iter(text) {
        if let Some(m) = c.get(0).filter(|_| checks::ssn(&c[1], &c[2], &c[3])) {
            out.push(Candidate::new(FindingKind::Ssn, m.start(), m.end()));
        }
    }
    for c in NIR.captures_iter(text) {
        if let Some(m) = c.get(0).filter(|_| checks::nir(&c[1], &c[2])) {
            out.push(Candidate::new(FindingKind::Nir, m.start(), m.end()));
        }
    }
    for c in DNI.captures_iter(text) {
        let prefix = c.get(1).and_then(|p| p.as_str().chars().next());
        let number = &c[2];
        let fits = match prefix {
            Some(_) => number.len() == 7,
            None => number.len() == 8,
        };
        let letter = c[3].chars().next().unwrap_or(' ');
        if let Some(m) = c
            .get(0)
            .filter(|_| fits && checks::dni(prefix, number, letter))
        {
            out.push(Candidate::new(FindingKind::Dni, m.start(), m.end()));
        }
    }
    for c in RVNR.captures_iter(text) {
        let initial = c[2].chars().next().unwrap_or(' ');
        if let Some(m) = c
            .get(0)
            .filter(|_| checks::rvnr(&digits(&c[1]), initial, &c[3], &c[4]))
        {
            out.push(Candidate::new(FindingKind::Record, m.start(), m.end()));
        }
    }
    for m in NHS.find_iter(text) {
        if checks::nhs(m.as_str()) {
            out.push(Candidate::new(FindingKind::Record, m.start(), m.end()));
        }
    }
    for m in CODED.find_iter(text) {
        out.push(Candidate::new(FindingKind::Number, m.start(), m.end()));
    }
    for m in LONG.find_iter(text) {
        // Not a decimal's part (3.14159265) or a thousands group (1 250 000 is 7 digits apart).
        let before = text[..m.start()].chars().next_back();
        if before.is_some_and(|c| c == '.' || c == ',') {
            continue;
        }
        if digits(m.as_str()).len() >= 8 {
            out.push(Candidate::new(FindingKind::Number, m.start(), m.end()));
        }
    }
}
