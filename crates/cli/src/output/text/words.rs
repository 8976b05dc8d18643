//! Small pieces of wording every text printer uses.

/// "1 member", "2 members".
pub(super) fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}
