//! Folding text for name matching: lower case, accents dropped, a few ligatures spelled out
//! ("Hélène" and "HELENE" fold alike, "Weiß" and "Weiss" too), keeping where each folded byte
//! came from in the original so findings point at the text the author wrote.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// A folded text and, for each of its bytes, the original char it came from.
#[derive(Debug)]
pub struct Folded {
    pub text: String,
    /// `origin[i]` is the byte range in the original text of the char that gave folded byte `i`.
    origin: Vec<(usize, usize)>,
}

impl Folded {
    pub fn new(original: &str) -> Folded {
        let mut text = String::with_capacity(original.len());
        let mut origin = Vec::with_capacity(original.len());
        for (at, c) in original.char_indices() {
            let span = (at, at + c.len_utf8());
            let before = text.len();
            push_folded(&mut text, c);
            origin.extend(std::iter::repeat_n(span, text.len() - before));
        }
        Folded { text, origin }
    }

    /// The original byte range of folded bytes `start..end` (a non-empty range on char
    /// boundaries of the folded text).
    pub fn original(&self, start: usize, end: usize) -> (usize, usize) {
        (self.origin[start].0, self.origin[end - 1].1)
    }
}

/// Folds one word or phrase alone (the deny-list's entries).
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        push_folded(&mut out, c);
    }
    out
}

fn push_folded(out: &mut String, c: char) {
    match c {
        'ß' | 'ẞ' => out.push_str("ss"),
        'æ' | 'Æ' => out.push_str("ae"),
        'œ' | 'Œ' => out.push_str("oe"),
        'ø' | 'Ø' => out.push('o'),
        'ł' | 'Ł' => out.push('l'),
        'đ' | 'Đ' => out.push('d'),
        // Typographic apostrophes and hyphens read as the plain ones.
        '\u{2019}' | '\u{2018}' | '\u{02bc}' => out.push('\''),
        '\u{2010}' | '\u{2011}' => out.push('-'),
        c if c.is_ascii() => out.push(c.to_ascii_lowercase()),
        c => {
            for d in std::iter::once(c).nfd().filter(|d| !is_combining_mark(*d)) {
                out.extend(d.to_lowercase());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accents_case_and_ligatures_fold_and_map_back() {
        let original = "Mme Hélène WEIß-Núñez";
        let f = Folded::new(original);
        assert_eq!(f.text, "mme helene weiss-nunez");
        let at = f.text.find("weiss").unwrap();
        let (s, e) = f.original(at, at + "weiss".len());
        assert_eq!(&original[s..e], "WEIß");
        assert_eq!(fold("José"), "jose");
    }
}
