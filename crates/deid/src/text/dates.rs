//! Dates more precise than a year, as physicians write them in English, French, Spanish and
//! German: ISO, day/month/year and month/day/year with `/ . -`, written months (full or
//! abbreviated), month and year, day and month. A year alone is not an identifier.

use std::sync::LazyLock;

use regex::Regex;

use super::candidate::Candidate;
use consilium_model::FindingKind;

const MONTHS: &str = "january|february|march|april|may|june|july|august|september|october|november|december|\
    janvier|f[ée]vrier|mars|avril|mai|juin|juillet|ao[ûu]t|septembre|octobre|novembre|d[ée]cembre|\
    enero|febrero|marzo|abril|mayo|junio|julio|agosto|se?ptiembre|octubre|noviembre|diciembre|\
    januar|j[äa]nner|februar|m[äa]rz|maerz|juni|juli|oktober|dezember";
/// Abbreviations, with their dot; "may", "mar" and the like only count next to a number.
const SHORT: &str = "jan|feb|febr|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|\
    janv|f[ée]vr|avr|juil|d[ée]c|ene|abr|ago|dic|m[äa]r|mrz|okt|dez";

fn month() -> String {
    format!(r"(?:(?:{MONTHS})(?-u:\b)|(?:{SHORT})(?-u:\b)\.?)")
}

/// The day: 1–31 with an ordinal or a German dot ("3rd", "1er", "12.", "1º").
const DAY: &str = r"(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th|er|re|º|°|\.)?";
const YEAR: &str = r"(?:(?:19|20)\d{2}|'\d{2})";

static WRITTEN: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    let m = month();
    [
        // 12 March 2024, 12 mars, 12 de marzo de 2024, 12. März 2024, 3 janv. 2023
        format!(r"(?i)(?-u:\b){DAY}\s*(?:de\s+|-)?{m}(?:,?\s*(?:de\s+|del\s+|-)?{YEAR}(?-u:\b))?"),
        // March 12, 2024; March 12th
        format!(r"(?i)(?-u:\b){m}\s+{DAY}(?:,?\s+{YEAR})?(?-u:\b)"),
        // March 2024, marzo de 2024, mars 2024
        format!(r"(?i)(?-u:\b){m},?\s+(?:de\s+|del\s+)?{YEAR}(?-u:\b)"),
    ]
    .iter()
    .map(|p| Regex::new(p).unwrap_or_else(|e| panic!("date pattern: {e}")))
    .collect()
});

/// ISO 2024-03-12 (and 2024/03/12), with an optional time.
static ISO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?-u:\b)(?:19|20)\d{2}([-/.])(?:0?[1-9]|1[0-2])([-/.])(?:0?[1-9]|[12]\d|3[01])(?-u:\b)",
    )
    .unwrap_or_else(|e| panic!("{e}"))
});

/// Three numbers with one separator: 12/03/2024, 3.12.24, 12-03-2024.
static NUMERIC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(\d{1,2})([/.\-])(\d{1,2})([/.\-])(\d{4}|\d{2})(?-u:\b)")
        .unwrap_or_else(|e| panic!("{e}"))
});

/// Day and month alone: 15/03, 3.12. (taken as a date with a leading zero or a date word before).
static DAY_MONTH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(\d{1,2})([/.])(\d{1,2})(?-u:\b)(\.)?").unwrap_or_else(|e| panic!("{e}"))
});

/// Words that announce a date ("on", "le", "el", "am", "since", "depuis"…).
static DATE_CUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?-u:\b)(?:on|since|from|until|till|dated|seen|admitted|discharged|born|DOB|le|du|au|depuis|jusqu'au|n[ée]e?|vu|el|del|desde|hasta|d[ií]a|am|vom|bis|seit|ab|geb\.?|geboren|monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|wed|thu|fri|sat|sun|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|lunes|martes|mi[ée]rcoles|jueves|viernes|s[áa]bado|domingo|montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|mo|di|mi|do|fr|sa|so)\s*[:.,]?\s*$",
    )
    .unwrap_or_else(|e| panic!("{e}"))
});

/// What follows a fraction that is not a date: "3/7 days", "2/4 grade"…
static NOT_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:d(?-u:\b)|days?|j(?-u:\b)|jours?|d[ií]as?|tage?n?|w|wk|weeks?|sem|semaines?|semanas?|wochen?|mo|months?|mois|meses|monate?n?|h(?-u:\b)|hours?|mmhg|mg|ml|%)")
        .unwrap_or_else(|e| panic!("{e}"))
});

/// The last `n` bytes of `s` or a little more (on a char boundary): what a cue before a
/// number can be, without matching the whole text before it each time.
fn tail(s: &str, n: usize) -> &str {
    let mut at = s.len().saturating_sub(n);
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    &s[at..]
}

fn valid_day_month(a: u32, b: u32) -> bool {
    let dm = (1..=31).contains(&a) && (1..=12).contains(&b);
    let md = (1..=12).contains(&a) && (1..=31).contains(&b);
    dm || md
}

/// Holidays name a day: "Christmas Day 2023", "Noël", "Nochebuena", "Heiligabend".
static HOLIDAYS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)(?-u:\b)(?:Christmas(?:\s+Day|\s+Eve)?|New\s+Year'?s(?:\s+Day|\s+Eve)|Thanksgiving(?:\s+Day)?|Easter(?:\s+Sunday|\s+Monday)?|Boxing\s+Day|No[eë]l|Nouvel\s+An|jour\s+de\s+l'an|Toussaint|lundi\s+de\s+P[âa]ques|Navidad|Nochebuena|Nochevieja|A[ñn]o\s+Nuevo|d[íi]a\s+de\s+Reyes|Weihnachten|Heiligabend|Silvester|Neujahr|Ostersonntag|Ostermontag)(?-u:\b)(?:,?\s+(?:de\s+|del\s+)?{YEAR}(?-u:\b))?"
    ))
    .unwrap_or_else(|e| panic!("{e}"))
});

/// Months in Roman numerals: 21-IV-2024, 3.XII.23.
static ROMAN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:0?[1-9]|[12]\d|3[01])[\-./ ](?:XII|XI|X|IX|VIII|VII|VI|V|IV|III|II|I)[\-./ ](?:19|20)?\d{2}(?-u:\b)")
        .unwrap_or_else(|e| panic!("{e}"))
});

pub fn find(text: &str, out: &mut Vec<Candidate>) {
    let mut push = |s: usize, e: usize| out.push(Candidate::new(FindingKind::Date, s, e));
    for re in [&*HOLIDAYS, &*ROMAN] {
        for m in re.find_iter(text) {
            push(m.start(), m.end());
        }
    }
    for re in WRITTEN.iter() {
        for m in re.find_iter(text) {
            let matched = m.as_str().trim_end();
            // A month cut from a longer word: the boundaries are ASCII, so "3,5 après" would
            // end "5 apr" before the "è".
            let cut = matched.ends_with(char::is_alphabetic)
                && text[m.start() + matched.len()..]
                    .chars()
                    .next()
                    .is_some_and(char::is_alphabetic);
            if cut {
                continue;
            }
            // A bare "May 5" in "may 5 mg" reads as a dose: a number right after needs no unit.
            if NOT_AFTER.is_match(&text[m.end()..])
                && !matched
                    .chars()
                    .any(|c| c.is_alphabetic() && c.is_uppercase())
            {
                continue;
            }
            push(m.start(), m.start() + matched.len());
        }
    }
    for c in ISO.captures_iter(text) {
        if let Some(m) = c.get(0).filter(|_| c[1] == c[2]) {
            push(m.start(), m.end());
        }
    }
    for c in NUMERIC.captures_iter(text) {
        let (Ok(a), Ok(b)) = (c[1].parse::<u32>(), c[3].parse::<u32>()) else {
            continue;
        };
        if let Some(m) = c.get(0).filter(|_| c[2] == c[4] && valid_day_month(a, b)) {
            push(m.start(), m.end());
        }
    }
    for c in DAY_MONTH.captures_iter(text) {
        let (Some(all), Ok(a), Ok(b)) = (c.get(0), c[1].parse::<u32>(), c[3].parse::<u32>()) else {
            continue;
        };
        // Part of a longer number (12/03/2024 is found above; 2.5/3 is not a date).
        let before = text[..all.start()].chars().next_back();
        let after = text[all.end()..].chars().next();
        if before.is_some_and(|ch| ch.is_ascii_digit() || ch == '/' || ch == '.' || ch == ',')
            || after.is_some_and(|ch| ch.is_ascii_digit() || ch == '/')
        {
            continue;
        }
        let dotted = &c[2] == ".";
        let zero_padded =
            c[1].len() == 2 && c[3].len() == 2 && (c[1].starts_with('0') || c[3].starts_with('0'));
        let cued = DATE_CUE.is_match(tail(&text[..all.start()], 40));
        let german = dotted && c.get(4).is_some();
        if !valid_day_month(a, b) || NOT_AFTER.is_match(&text[all.end()..]) {
            continue;
        }
        // Dotted ("1.5" is a number), it is day first and needs its closing dot ("am 5.1."):
        // "pH 7.28." is not a date. Either way a date word or a padded form (15/03, 15.03.) is
        // needed: "DAS28 5.1." and "from 11.2 to 7.9" are measurements.
        let day_first = (1..=31).contains(&a) && (1..=12).contains(&b);
        let form = !dotted || (day_first && german);
        if form && (cued || zero_padded) {
            push(all.start(), all.end());
        }
    }
}
