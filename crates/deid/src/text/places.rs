//! Where a person lives: street addresses (number and street, in the orders English, French,
//! Spanish and German write them) and postcodes in an address (UK and US forms, and five digits
//! before a place name).

use std::sync::LazyLock;

use regex::Regex;

use super::candidate::Candidate;
use consilium_model::FindingKind;

fn re(p: &str) -> Regex {
    Regex::new(p).unwrap_or_else(|e| panic!("place pattern {p}: {e}"))
}

/// A capitalised word of a street or place name (accents, apostrophes and hyphens allowed).
const NAME: &str = r"[A-ZÀ-ÖØ-Þ][\p{L}'’\-]*";

static ADDRESSES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // 221B Baker Street, 1600 Pennsylvania Ave, 45 Elm Road
        format!(
            r"(?-u:\b)\d{{1,5}}[A-Z]?\s+(?:(?:[NSEW]\.?|North|South|East|West)\s+)?(?:{NAME}\s+){{1,3}}(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Boulevard|Blvd|Way|Place|Pl|Terrace|Close|Crescent|Gardens|Square|Highway|Hwy|Parkway|Pkwy|Court|Ct|Row|Mews|Circle|Cir|Trail|Loop)(?-u:\b)\.?"
        ),
        // 12 rue des Lilas, 3 bis avenue Jean-Jaurès, 45 calle Mayor
        format!(
            r"(?i)(?-u:\b)\d{{1,4}}(?:\s?(?:bis|ter|[A-Z]))?,?\s+(?:rue|avenue|av\.|bd|boulevard|chemin|all[ée]e|impasse|place|quai|route|cours|square|passage|r[ée]sidence|lotissement|calle|c/|avenida|avda\.?|plaza|paseo|camino|carrer|ronda|traves[íi]a|passeig|rambla|r[úu]a)\s+(?:(?:de\s+la|de\s+l'|des|du|de|del|de\s+los|de\s+las|d'|l'|do|da|dos|das)\s*)?(?-i:{NAME})(?:[\s\-]+(?:(?:de|la|le|des|du|del|y|et)\s+)?(?-i:{NAME})){{0,3}}"
        ),
        // Calle de Alcalá 45, Avenida de la Constitución, 12, Plaza Mayor nº 3
        format!(
            r"(?i)(?:(?-u:\b)(?:calle|avenida|avda\.?|av\.|plaza|pza\.|paseo|camino|carrer|ronda|passeig|rambla|r[úu]a)|(?-u:\b)c/)\s+(?:(?:de\s+la|de\s+los|de\s+las|del|de|do|da|dos|das)\s+)?(?-i:{NAME})(?:\s+(?-i:{NAME})){{0,3}},?\s+(?:n[º°o]\.?\s*)?\d{{1,4}}(?-u:\b)"
        ),
        // Hauptstraße 12, Am Markt 3 is not caught; Berliner Straße 5, Lindenweg 7a
        // Karl-Marx-Allee 90, Konrad-Adenauer-Straße 1
        r"(?-u:\b)[A-ZÄÖÜ][a-zäöüß]+(?:-[A-ZÄÖÜ]?[a-zäöüß]+)*-?(?:straße|strasse|str\.|weg|platz|allee|gasse|ring|damm|ufer|chaussee|steig|pfad|Straße|Strasse|Str\.|Weg|Platz|Allee|Gasse|Ring|Damm|Ufer)\s+\d{1,4}[a-z]?(?-u:\b)".to_string(),
        r"(?-u:\b)[A-ZÄÖÜ][a-zäöüß]+\s+(?:Straße|Strasse|Str\.|Weg|Platz|Allee|Gasse|Ring|Damm|Ufer)\s+\d{1,4}[a-z]?(?-u:\b)".to_string(),
        // Am Mühlbach 3, 79100 Freiburg (with its postcode, or it may be "Am Tag 3")
        format!(r"(?-u:\b)(?:Am|An\s+der|Auf\s+der|Im|In\s+der|Zum|Zur)\s+{NAME}\s+\d{{1,4}}[a-z]?,?\s+(?:D-)?\d{{5}}(?-u:\b)"),
    ]
    .iter()
    .map(|p| re(p))
    .collect()
});

const STATES: &str = "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY";

static POSTCODES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // After its label: ZIP 30309, PLZ 10115, code postal 75013, CP 28013
        r"(?i)(?-u:\b)(?:zip(?:\s+code)?|post\s?code|postal\s+code|code\s+postal|c\.?p\.|cp|plz|c[óo]digo\s+postal)\s*:?\s*(\d{4,5}(?:-\d{4})?)(?-u:\b)".to_string(),
        // UK: SW1A 1AA, M1 1AE, EC1A 1BB
        r"(?-u:\b)[A-Z]{1,2}\d[A-Z\d]?\s?\d[ABD-HJLNP-UW-Z]{2}(?-u:\b)".to_string(),
        // US: MA 02115, NY 10001-1234 (the state's code before it)
        format!(r"(?-u:\b)(?:{STATES}),?\s+(\d{{5}}(?:-\d{{4}})?)(?-u:\b)"),
        // France, Germany, Spain: 75013 Paris, F-75013 Paris, D-10115 Berlin, 28013 Madrid, 13001 Marseille Cedex
        format!(r"(?-u:\b)(?:[FDE]-)?\d{{5}}\s+{NAME}"),
    ]
    .iter()
    .map(|p| re(p))
    .collect()
});

/// Capitalised words after five digits that are not a place (German nouns, units).
const NOT_PLACES: &[&str] = &[
    "Einheiten",
    "Zellen",
    "Units",
    "IE",
    "UI",
    "Kopien",
    "Copies",
    "Partikel",
    "Thrombozyten",
    "Leukozyten",
    "Erythrozyten",
    "Schritte",
    "Euro",
    "Dollar",
];

pub fn find(text: &str, out: &mut Vec<Candidate>) {
    for re in ADDRESSES.iter() {
        for m in re.find_iter(text) {
            out.push(Candidate::new(FindingKind::Address, m.start(), m.end()));
        }
    }
    for (i, re) in POSTCODES.iter().enumerate() {
        for c in re.captures_iter(text) {
            let Some(all) = c.get(0) else { continue };
            match i {
                0 | 2 => {
                    if let Some(code) = c.get(1) {
                        out.push(Candidate::new(
                            FindingKind::Postcode,
                            code.start(),
                            code.end(),
                        ));
                    }
                }
                3 => {
                    let s = all.as_str();
                    let digits_end = s
                        .char_indices()
                        .skip_while(|(_, ch)| !ch.is_ascii_digit())
                        .find(|(_, ch)| !ch.is_ascii_digit())
                        .map_or(s.len(), |(at, _)| at);
                    let place = s[digits_end..].trim();
                    if NOT_PLACES.contains(&place) {
                        continue;
                    }
                    out.push(Candidate::new(
                        FindingKind::Postcode,
                        all.start(),
                        all.start() + digits_end,
                    ));
                }
                _ => out.push(Candidate::new(
                    FindingKind::Postcode,
                    all.start(),
                    all.end(),
                )),
            }
        }
    }
}
