//! The one timestamp every writer stamps on everything it writes.
//!
//! Images must be reproducible, so no writer reads a clock: the caller supplies a [`Timestamp`]
//! (seconds since the Unix epoch, UTC — e.g. a reference's `SOURCE_DATE_EPOCH`) and each format
//! converts it into its own calendar representation.

/// Seconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

/// A UTC calendar date and time, as the on-disk formats record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CivilTime {
    /// Full year, e.g. 2024.
    pub year: i64,
    /// 1–12.
    pub month: u8,
    /// 1–31.
    pub day: u8,
    /// 0–23.
    pub hour: u8,
    /// 0–59.
    pub minute: u8,
    /// 0–59 (no leap seconds: Unix time has none).
    pub second: u8,
}

impl Timestamp {
    /// The UTC calendar form (proleptic Gregorian calendar).
    pub fn civil(self) -> CivilTime {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        // secs is in 0..86400, so every quotient below fits in a u8.
        CivilTime {
            year,
            month,
            day,
            hour: (secs / 3600) as u8,
            minute: (secs / 60 % 60) as u8,
            second: (secs % 60) as u8,
        }
    }

    /// The value clamped to what an unsigned 32-bit seconds field (cpio, cramfs-less formats)
    /// can hold.
    pub fn as_u32_saturating(self) -> u32 {
        u32::try_from(self.0.max(0)).unwrap_or(u32::MAX)
    }
}

/// Days since 1970-01-01 to (year, month, day); Howard Hinnant's `civil_from_days` algorithm.
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8; // [1, 12]
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        let epoch = Timestamp(0).civil();
        assert_eq!((epoch.year, epoch.month, epoch.day, epoch.hour), (1970, 1, 1, 0));
        // 2024-02-29T12:34:56Z
        let leap = Timestamp(1_709_210_096).civil();
        assert_eq!((leap.year, leap.month, leap.day, leap.hour, leap.minute, leap.second), (2024, 2, 29, 12, 34, 56));
        let before = Timestamp(-1).civil();
        assert_eq!((before.year, before.month, before.day, before.second), (1969, 12, 31, 59));
    }
}
