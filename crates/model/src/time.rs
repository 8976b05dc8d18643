//! Time as the domain sees it: milliseconds since the Unix epoch, read from a clock passed in.

use serde::{Deserialize, Serialize};

/// Milliseconds since 1970-01-01T00:00:00Z.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The calendar date (UTC) as `YYYY-MM-DD`, for listings. Days since the epoch are turned
    /// into a civil date by Howard Hinnant's algorithm, valid over the whole `i64` range of
    /// days a timestamp can hold.
    pub fn date(self) -> String {
        let days = self.0.div_euclid(86_400_000);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        format!("{y:04}-{m:02}-{d:02}")
    }
}

/// Where "now" comes from; passed in so that tests control time without sleeping.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Timestamp;
}

/// The operating system's clock, for binaries; everything else takes a [`Clock`] from outside.
/// (Reading it is the only system call in this crate, and nothing in the crate calls it.)
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Timestamp(ms)
    }
}

#[cfg(test)]
mod tests {
    use super::Timestamp;

    #[test]
    fn dates_are_civil_dates_in_utc() {
        assert_eq!(Timestamp(0).date(), "1970-01-01");
        // The last millisecond of a day is still that day; the next is the next day.
        assert_eq!(Timestamp(86_399_999).date(), "1970-01-01");
        assert_eq!(Timestamp(86_400_000).date(), "1970-01-02");
        assert_eq!(Timestamp(-1).date(), "1969-12-31");
        // 2024 is a leap year; 2100 is not; 2000 is.
        assert_eq!(Timestamp(1_709_164_800_000).date(), "2024-02-29");
        assert_eq!(Timestamp(951_782_400_000).date(), "2000-02-29");
        assert_eq!(Timestamp(4_107_542_400_000).date(), "2100-03-01");
        assert_eq!(Timestamp(1_733_270_400_000).date(), "2024-12-04");
        // Hostile values never panic.
        let _ = Timestamp(i64::MIN).date();
        let _ = Timestamp(i64::MAX).date();
    }
}
