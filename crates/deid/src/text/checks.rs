//! The check rules of national numbers, so a run of digits is called an SSN, a NIR, a DNI or an
//! NHS number only when it could be one.

/// Only the digits of `s`.
pub fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// A US social security number: area not 000, 666 or 900–999; group not 00; serial not 0000.
pub fn ssn(area: &str, group: &str, serial: &str) -> bool {
    let (Ok(a), Ok(g), Ok(s)) = (
        area.parse::<u32>(),
        group.parse::<u32>(),
        serial.parse::<u32>(),
    ) else {
        return false;
    };
    a != 0 && a != 666 && a < 900 && g != 0 && s != 0
}

/// A French NIR: 13 characters (digits, or 2A / 2B for Corsica in the department) and a key
/// equal to 97 − (the 13 as a number mod 97).
pub fn nir(body: &str, key: &str) -> bool {
    let body: String = body
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '.')
        .collect();
    if body.len() != 13 {
        return false;
    }
    // Corsica: 2A counts as 19, 2B as 18 in the key's computation.
    let numeric = match &body.as_bytes()[5..7] {
        b"2A" | b"2a" => format!("{}19{}", &body[..5], &body[7..]),
        b"2B" | b"2b" => format!("{}18{}", &body[..5], &body[7..]),
        _ => body,
    };
    let (Ok(n), Ok(k)) = (numeric.parse::<u64>(), key.parse::<u64>()) else {
        return false;
    };
    let sex = numeric.as_bytes()[0];
    (sex == b'1' || sex == b'2' || sex == b'7' || sex == b'8') && 97 - n % 97 == k
}

const DNI_LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";

/// A Spanish DNI (8 digits and a letter) or NIE (X, Y or Z, 7 digits and a letter).
pub fn dni(prefix: Option<char>, number: &str, letter: char) -> bool {
    let lead = match prefix.map(|c| c.to_ascii_uppercase()) {
        None => "",
        Some('X') => "0",
        Some('Y') => "1",
        Some('Z') => "2",
        Some(_) => return false,
    };
    let Ok(n) = format!("{lead}{number}").parse::<usize>() else {
        return false;
    };
    DNI_LETTERS[n % 23] == letter.to_ascii_uppercase() as u8
}

/// An NHS number: ten digits whose last is the modulus-11 check of the first nine.
pub fn nhs(ten: &str) -> bool {
    let d: Vec<u32> = ten.chars().filter_map(|c| c.to_digit(10)).collect();
    if d.len() != 10 {
        return false;
    }
    let sum: u32 = d[..9].iter().zip((2..=10).rev()).map(|(x, w)| x * w).sum();
    let check = (11 - sum % 11) % 11;
    check != 10 && check == d[9]
}

/// A German pension insurance number (Rentenversicherungsnummer): area (2 digits), birth date
/// (6), the initial of the birth name, a serial (2) and a check digit. The letter counts as its
/// two-digit place in the alphabet; the twelve digits are weighted 2 1 2 5 7 1 2 1 2 1 2 1, and
/// the sum of the products' digit sums, mod 10, is the check.
pub fn rvnr(area_and_birth: &str, initial: char, serial: &str, check: &str) -> bool {
    let initial = initial.to_ascii_uppercase();
    if !initial.is_ascii_uppercase() {
        return false;
    }
    let place = u32::from(initial) - u32::from('A') + 1;
    let body = format!("{area_and_birth}{place:02}{serial}");
    let d: Vec<u32> = body.chars().filter_map(|c| c.to_digit(10)).collect();
    let Some(check) = check.chars().next().and_then(|c| c.to_digit(10)) else {
        return false;
    };
    if d.len() != 12 {
        return false;
    }
    let sum: u32 = d
        .iter()
        .zip([2, 1, 2, 5, 7, 1, 2, 1, 2, 1, 2, 1])
        .map(|(x, w)| {
            let p = x * w;
            p / 10 + p % 10
        })
        .sum();
    sum % 10 == check
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_numbers_check_as_their_rules_say() {
        assert!(ssn("123", "45", "6789"));
        assert!(!ssn("666", "45", "6789") && !ssn("912", "45", "6789"));
        assert!(!ssn("123", "00", "6789") && !ssn("123", "45", "0000"));
        // 97 − (1841276451089 mod 97) = 46.
        assert!(nir("1 84 12 76 451 089", "46"));
        assert!(!nir("1 84 12 76 451 089", "47"));
        assert!(nir(
            "2690299341732",
            &format!("{:02}", 97 - 2690299341732u64 % 97)
        ));
        assert!(nir(
            "1 85 05 2A 123 456",
            &format!("{:02}", 97 - 1850519123456u64 % 97)
        ));
        assert!(dni(None, "12345678", 'Z'));
        assert!(!dni(None, "12345678", 'A'));
        assert!(dni(Some('X'), "1234567", 'L'));
        assert!(nhs("943 476 5919"));
        assert!(!nhs("943 476 5918"));
        // The example the German pension insurance gives: 65 170839 J 003.
        assert!(rvnr("65170839", 'J', "00", "3"));
        assert!(!rvnr("65170839", 'J', "00", "4"));
        assert!(!rvnr("65170839", 'K', "00", "3"));
    }
}
