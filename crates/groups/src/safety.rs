//! Safety numbers, as Signal shows them: 60 digits in 12 groups of 5, the same on both sides.
//!
//! Each side's half is a fingerprint of its Ed25519 account key: SHA-512 over a version, the key
//! and the account id, iterated 5 200 times (so finding another key with the same 30 digits
//! costs 5 200 hashes per try), cut into six 5-byte chunks, each read as a number modulo
//! 100 000. The two halves are put in a fixed order (the smaller key first), so both physicians
//! read the same 60 digits however they hold their phones, and a mismatch in either half shows.

use ring::digest::{SHA512, digest};

/// Fingerprint format version (changing the recipe changes every number).
const VERSION: [u8; 2] = [0, 0];
const ITERATIONS: usize = 5200;

/// Sixty digits, shown as 12 groups of 5.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SafetyNumber(String);

impl SafetyNumber {
    /// The digits alone.
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// Whether `typed` (spaces, dashes and line breaks ignored) is this number. Safety numbers
    /// are public, so a plain comparison is fine.
    pub fn matches(&self, typed: &str) -> bool {
        let cleaned: String = typed.chars().filter(|c| c.is_ascii_digit()).collect();
        let others = typed
            .chars()
            .any(|c| !(c.is_ascii_digit() || c.is_whitespace() || c == '-'));
        !others && cleaned == self.0
    }
}

impl std::fmt::Display for SafetyNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let groups: Vec<&str> = (0..12).map(|i| &self.0[i * 5..i * 5 + 5]).collect();
        f.write_str(&groups.join(" "))
    }
}

impl std::fmt::Debug for SafetyNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SafetyNumber({self})")
    }
}

/// One side's 30 digits.
fn fingerprint(public_key: &[u8; 32]) -> String {
    let mut input = Vec::with_capacity(2 + 32 + 32);
    input.extend_from_slice(&VERSION);
    input.extend_from_slice(public_key);
    // The account id is the key itself; it is hashed in as the stable identifier Signal uses.
    input.extend_from_slice(public_key);
    let mut hash = digest(&SHA512, &input).as_ref().to_vec();
    for _ in 0..ITERATIONS {
        let mut next = hash.clone();
        next.extend_from_slice(public_key);
        hash = digest(&SHA512, &next).as_ref().to_vec();
    }
    let mut out = String::with_capacity(30);
    for chunk in hash[..30].chunks(5) {
        let value = chunk.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        out.push_str(&format!("{:05}", value % 100_000));
    }
    out
}

/// The safety number of a pair of accounts (Ed25519 public keys); symmetric.
pub fn safety_number(a: &[u8; 32], b: &[u8; 32]) -> SafetyNumber {
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    SafetyNumber(format!("{}{}", fingerprint(first), fingerprint(second)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_number_is_sixty_digits_in_twelve_groups_and_the_same_both_ways() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let n = safety_number(&a, &b);
        assert_eq!(n, safety_number(&b, &a));
        assert_eq!(n.digits().len(), 60);
        assert!(n.digits().chars().all(|c| c.is_ascii_digit()));
        let shown = n.to_string();
        assert_eq!(shown.split(' ').count(), 12);
        assert!(shown.split(' ').all(|g| g.len() == 5));
    }

    #[test]
    fn a_changed_key_changes_its_half_and_only_its_half() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let mut b2 = b;
        b2[31] ^= 1;
        let (n, m) = (safety_number(&a, &b), safety_number(&a, &b2));
        assert_ne!(n, m);
        assert_eq!(n.digits()[..30], m.digits()[..30], "a's half is a's");
        assert_ne!(n.digits()[30..], m.digits()[30..]);
    }

    #[test]
    fn a_typed_number_matches_with_any_spacing_and_not_otherwise() {
        let n = safety_number(&[3u8; 32], &[4u8; 32]);
        assert!(n.matches(&n.to_string()));
        assert!(n.matches(n.digits()));
        assert!(n.matches(&n.to_string().replace(' ', "-")));
        let mut wrong = n.digits().to_string();
        let last = if wrong.ends_with('0') { "1" } else { "0" };
        wrong.replace_range(59.., last);
        assert!(!n.matches(&wrong));
        assert!(!n.matches(&n.digits()[..59]));
        assert!(!n.matches(&format!("{}x", n.digits())));
    }

    #[test]
    fn the_recipe_is_stable() {
        // Pinned: a number shown today must be the number shown after an upgrade.
        let n = safety_number(&[0u8; 32], &[255u8; 32]);
        assert_eq!(n.digits(), PINNED);
    }

    /// Computed independently with Python's hashlib from the recipe in the module comment.
    const PINNED: &str = "773089042967472372723697041630210749765010227123254619830159";

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn symmetric_and_well_formed(a in any::<[u8; 32]>(), b in any::<[u8; 32]>()) {
            let n = safety_number(&a, &b);
            prop_assert_eq!(&n, &safety_number(&b, &a));
            prop_assert_eq!(n.digits().len(), 60);
        }
    }
}
