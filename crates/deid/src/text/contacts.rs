//! Ways to reach a person: phone and fax numbers (international and the national formats of
//! France, the US, the UK, Germany and Spain), e-mail addresses, web addresses, IP addresses.

use std::sync::LazyLock;

use regex::Regex;

use super::candidate::Candidate;
use super::checks::digits;
use consilium_model::FindingKind;

fn re(p: &str) -> Regex {
    Regex::new(p).unwrap_or_else(|e| panic!("contact pattern {p}: {e}"))
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?-u:\b)[a-z0-9][a-z0-9._%+\-]*@[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9\-]+)*\.[a-z]{2,}(?-u:\b)",
    )
});
static URL: LazyLock<Regex> =
    LazyLock::new(|| re(r#"(?i)(?-u:\b)(?:https?://|www\.)[^\s<>"'()\[\]]+"#));
static IPV4: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?-u:\b)(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}(?-u:\b)",
    )
});
static IPV6: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)(?-u:\b)[0-9a-f]{1,4}(?::[0-9a-f]{0,4}){2,7}|::[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6}")
});

static LOCAL_US: LazyLock<Regex> = LazyLock::new(|| re(r"(?-u:\b)[2-9]\d{2}-\d{4}(?-u:\b)"));

/// Phone numbers: each pattern is one national or international way of writing them.
static PHONES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // International: +33 6 12 34 56 78, +1 (555) 014-2367, +49 (0)30 1234567, 0033 1 45…
        r"(?:\+|(?-u:\b)00)[1-9]\d{0,2}[\s.\-]?(?:\(0\)[\s.\-]?)?\(?\d{1,4}\)?(?:[\s.\-/]?\d{1,4}){2,5}(?-u:\b)",
        // France: 06 12 34 56 78, 01.45.67.89.10, 0612345678
        r"(?-u:\b)0[1-9](?:[\s.\-]?\d{2}){4}(?-u:\b)",
        // US: (555) 014-2367, 555-014-2367, 555.014.2367
        r"(?:\(\d{3}\)\s?|(?-u:\b)\d{3}[\s.\-])\d{3}[.\-]\d{4}(?-u:\b)",
        // UK: 020 7946 0958, 07700 900123, 0161 496 0000
        r"(?-u:\b)0\d{2,4}\s\d{3,4}\s?\d{3,4}(?-u:\b)",
        // Germany: 030 1234567, 0171 2345678, 089/12345678, 030-1234567, 089 99998 123
        r"(?-u:\b)0\d{2,4}[\s/\-]\d{3,8}(?:[\s\-]\d{1,5})?(?-u:\b)",
        // Spain: 612 345 678, 91 123 45 67, 912 34 56 78
        r"(?-u:\b)[6789]\d{2}\s\d{3}\s\d{3}(?-u:\b)",
        r"(?-u:\b)[89]\d\s\d{3}\s\d{2}\s\d{2}(?-u:\b)",
        r"(?-u:\b)[6789]\d{2}\s\d{2}\s\d{2}\s\d{2}(?-u:\b)",
    ]
    .iter()
    .map(|p| re(p))
    .collect()
});

/// A number after a phone word: "tel. 4567 8901", "Fax: 01 23…", "Handy 0171…".
static LABELLED: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?-u:\b)(?:tel|t[ée]l[ée]?phone?|phone|ph|mobile|mob|cell|fax|t[ée]l[ée]copie|portable|t[ée]l[ée]fono|tfno|tlf|m[óo]vil|telefon|tel\.-nr|handy|mobil|rufnummer)(?-u:\b)\.?\s*(?:n[°ºo]\.?|nr\.?|number|:)?\s*:?\s*(\+?\(?\d[\d\s.\-/()]{5,}\d)",
    )
});

pub fn find(text: &str, out: &mut Vec<Candidate>) {
    for m in EMAIL.find_iter(text) {
        out.push(Candidate::new(FindingKind::Email, m.start(), m.end()));
    }
    for m in URL.find_iter(text) {
        let trimmed = m.as_str().trim_end_matches(['.', ',', ';', ':', '!', '?']);
        out.push(Candidate::new(
            FindingKind::Url,
            m.start(),
            m.start() + trimmed.len(),
        ));
    }
    for m in IPV4.find_iter(text) {
        // Not a dotted date or a version with more parts.
        let after = text[m.end()..].chars().next();
        if after.is_some_and(|c| {
            c == '.' && text[m.end() + 1..].starts_with(|d: char| d.is_ascii_digit())
        }) {
            continue;
        }
        out.push(Candidate::new(FindingKind::Ip, m.start(), m.end()));
    }
    for m in IPV6.find_iter(text) {
        let s = m.as_str();
        let groups: Vec<&str> = s.split(':').filter(|g| !g.is_empty()).collect();
        // Not a time (14:30:00): a compressed address, or several groups with a hex letter or
        // four digits.
        let hexy = groups
            .iter()
            .any(|g| g.len() == 4 || g.chars().any(|c| c.is_ascii_alphabetic()));
        let compressed = s.matches("::").count();
        if compressed <= 1 && groups.len() <= 8 && hexy && (compressed == 1 || groups.len() >= 4) {
            out.push(Candidate::new(FindingKind::Ip, m.start(), m.end()));
        }
    }
    // A US number without its area code: 555-0162.
    for m in LOCAL_US.find_iter(text) {
        out.push(Candidate::new(FindingKind::Phone, m.start(), m.end()));
    }
    for re in PHONES.iter() {
        for m in re.find_iter(text) {
            let n = digits(m.as_str()).len();
            if (9..=15).contains(&n) {
                out.push(Candidate::new(FindingKind::Phone, m.start(), m.end()));
            }
        }
    }
    for c in LABELLED.captures_iter(text) {
        if let Some(m) = c.get(1) {
            let trimmed = m.as_str().trim_end_matches([')', '(', ' ', '.', '-', '/']);
            if digits(trimmed).len() >= 6 {
                out.push(Candidate::new(
                    FindingKind::Phone,
                    m.start(),
                    m.start() + trimmed.len(),
                ));
            }
        }
    }
}
