//! The recovery code: 160 random bits, shown once as eight groups of four letters and digits
//! (RFC 4648 base32), the one thing that opens a backup on a new laptop.

use std::fmt;

use data_encoding::BASE32_NOPAD;
use zeroize::Zeroizing;

use crate::entropy::Entropy;
use crate::error::{Result, StoreError};

const BYTES: usize = 20;

/// A recovery code; wiped when dropped, redacted in `Debug`.
#[derive(Clone)]
pub struct RecoveryCode(Zeroizing<[u8; BYTES]>);

impl RecoveryCode {
    pub(crate) fn random(entropy: &dyn Entropy) -> Result<RecoveryCode> {
        let mut bytes = Zeroizing::new([0u8; BYTES]);
        entropy.fill(&mut bytes[..])?;
        Ok(RecoveryCode(bytes))
    }

    /// Reads a code as a person types it: any case, with or without dashes and spaces, and the
    /// digits 0, 1 and 8 taken for the letters O, I and B they are mistaken for.
    pub fn parse(typed: &str) -> Result<RecoveryCode> {
        let cleaned: Zeroizing<String> = Zeroizing::new(
            typed
                .chars()
                .filter(|c| !(c.is_whitespace() || *c == '-'))
                .map(|c| match c.to_ascii_uppercase() {
                    '0' => 'O',
                    '1' => 'I',
                    '8' => 'B',
                    other => other,
                })
                .collect(),
        );
        let bad = || {
            StoreError::Invalid(
                "a recovery code is 32 letters and digits, as eight groups of four".into(),
            )
        };
        if cleaned.len() != 32 {
            return Err(bad());
        }
        let decoded = Zeroizing::new(BASE32_NOPAD.decode(cleaned.as_bytes()).map_err(|_| bad())?);
        let mut bytes = Zeroizing::new([0u8; BYTES]);
        if decoded.len() != BYTES {
            return Err(bad());
        }
        bytes.copy_from_slice(&decoded);
        Ok(RecoveryCode(bytes))
    }

    /// The code to show once: `ABCD-EFGH-…`, eight groups.
    pub fn expose(&self) -> Zeroizing<String> {
        let plain = Zeroizing::new(BASE32_NOPAD.encode(&self.0[..]));
        let mut out = Zeroizing::new(String::with_capacity(39));
        for (i, c) in plain.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push('-');
            }
            out.push(c);
        }
        out
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0[..]
    }
}

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::SystemEntropy;

    #[test]
    fn a_code_reads_back_however_it_is_typed() {
        let code = RecoveryCode::random(&SystemEntropy::new()).unwrap();
        let shown = code.expose();
        assert_eq!(shown.len(), 39);
        assert_eq!(shown.split('-').count(), 8);
        let sloppy = shown.to_lowercase().replace('-', " ").replace('o', "0");
        assert_eq!(RecoveryCode::parse(&sloppy).unwrap().bytes(), code.bytes());
        assert!(RecoveryCode::parse(&shown[..30]).is_err());
        assert!(RecoveryCode::parse(&format!("{}!", &shown[..38])).is_err());
        assert_eq!(format!("{code:?}"), "RecoveryCode(<redacted>)");
    }
}
