//! STIX timestamps.
//!
//! STIX 2.1 timestamps are a strict profile of RFC 3339: `YYYY-MM-DDTHH:MM:SS[.fraction]Z`,
//! always UTC with a literal upper-case `Z`, no offsets. General-purpose date crates accept
//! far more than that (offsets, lower-case `t`, missing seconds), so tiaki parses them with
//! its own small parser and rejects everything else.
//!
//! A [`Timestamp`] keeps the text it was read from, so an object read and written again
//! keeps `2016-04-06T20:03:48.000Z` exactly as it was (not `…48Z`, not `…48.000000Z`).
//! Comparison, ordering and hashing use the instant only: versions of an object are
//! compared "as time values, not strings" as the specification requires.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a string is not a STIX timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{input}' is not a STIX timestamp (YYYY-MM-DDTHH:MM:SS[.s+]Z): {reason}")]
pub struct TimestampError {
    /// The rejected text.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// A STIX 2.1 timestamp: an instant in UTC plus the exact text it was written as.
#[derive(Clone)]
pub struct Timestamp {
    secs: i64,
    nanos: u32,
    frac_digits: u8,
    raw: Box<str>,
}

impl Timestamp {
    /// Parses a STIX timestamp, checking the calendar (no `2016-04-31`) as well as the shape.
    pub fn parse(s: &str) -> Result<Timestamp, TimestampError> {
        let err = |reason| TimestampError {
            input: s.to_string(),
            reason,
        };
        let b = s.as_bytes();
        if b.len() < 20 {
            return Err(err("too short"));
        }
        let digits = |r: std::ops::Range<usize>| -> Option<u32> {
            let mut v = 0u32;
            for &c in &b[r] {
                if !c.is_ascii_digit() {
                    return None;
                }
                v = v * 10 + u32::from(c - b'0');
            }
            Some(v)
        };
        if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
            return Err(err("wrong separators"));
        }
        let (Some(year), Some(month), Some(day), Some(hour), Some(min), Some(sec)) = (
            digits(0..4),
            digits(5..7),
            digits(8..10),
            digits(11..13),
            digits(14..16),
            digits(17..19),
        ) else {
            return Err(err("expected digits"));
        };
        if !(1..=12).contains(&month) {
            return Err(err("month out of range"));
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(err("day is out of range for month"));
        }
        if hour > 23 {
            return Err(err("hour out of range"));
        }
        if min > 59 {
            return Err(err("minute out of range"));
        }
        if sec > 60 {
            return Err(err("second out of range"));
        }
        let rest = &b[19..];
        let (nanos, frac_digits) = match rest {
            [b'Z'] => (0u32, 0u8),
            [b'.', frac @ .., b'Z'] => {
                if frac.is_empty() || !frac.iter().all(u8::is_ascii_digit) {
                    return Err(err("bad fraction of a second"));
                }
                let mut n = 0u32;
                for i in 0..9 {
                    n = n * 10 + frac.get(i).map_or(0, |c| u32::from(c - b'0'));
                }
                (n, frac.len().min(255) as u8)
            }
            _ => return Err(err("must end in 'Z' (UTC), offsets are not allowed")),
        };
        let days = days_from_civil(i64::from(year), month, day);
        let secs = days * 86_400 + i64::from(hour) * 3600 + i64::from(min) * 60 + i64::from(sec);
        Ok(Timestamp {
            secs,
            nanos,
            frac_digits,
            raw: s.into(),
        })
    }

    /// A timestamp from seconds and nanoseconds since the Unix epoch, written with
    /// millisecond precision as STIX requires for `created` and `modified`.
    pub fn from_unix(secs: i64, nanos: u32) -> Timestamp {
        let nanos = nanos.min(999_999_999);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let raw = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            y,
            m,
            d,
            sod / 3600,
            (sod % 3600) / 60,
            sod % 60,
            nanos / 1_000_000
        );
        Timestamp {
            secs,
            nanos: nanos / 1_000_000 * 1_000_000,
            frac_digits: 3,
            raw: raw.into(),
        }
    }

    /// The current time, with millisecond precision.
    pub fn now() -> Timestamp {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp::from_unix(d.as_secs() as i64, d.subsec_nanos())
    }

    /// Seconds since the Unix epoch (a leap second `:60` counts as the next minute's `:00`).
    pub fn unix_seconds(&self) -> i64 {
        self.secs
    }

    /// The fraction of the second in nanoseconds (digits past the ninth are ignored).
    pub fn subsec_nanos(&self) -> u32 {
        self.nanos
    }

    /// How many fractional-second digits the text has (`0` for `…:48Z`, `3` for `…:48.000Z`).
    /// STIX requires at least 3 on `created` and `modified`.
    pub fn fraction_digits(&self) -> u8 {
        self.frac_digits
    }

    /// The text exactly as it was read (or generated).
    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

fn is_leap(y: u32) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

// Howard Hinnant's days-from-civil algorithm (proleptic Gregorian calendar).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl FromStr for Timestamp {
    type Err = TimestampError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Timestamp::parse(s)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.raw)
    }
}

impl PartialEq for Timestamp {
    fn eq(&self, other: &Self) -> bool {
        self.secs == other.secs && self.nanos == other.nanos
    }
}

impl Eq for Timestamp {}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.secs, self.nanos).cmp(&(other.secs, other.nanos))
    }
}

impl Hash for Timestamp {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.secs.hash(state);
        self.nanos.hash(state);
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a STIX timestamp string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Timestamp, E> {
                Timestamp::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_keeps_text() {
        let t = Timestamp::parse("2016-04-06T20:03:48.000Z").unwrap();
        assert_eq!(t.to_string(), "2016-04-06T20:03:48.000Z");
        assert_eq!(t.fraction_digits(), 3);
        assert_eq!(t.unix_seconds(), 1_459_973_028);
    }

    #[test]
    fn rejects_offsets_and_bad_dates() {
        for bad in [
            "2016-04-06T20:03:48+01:00",
            "2016-04-06t20:03:48Z",
            "2016-04-31T20:03:48Z",
            "2017-02-29T00:00:00Z",
            "2016-13-01T00:00:00Z",
            "2016-01-01T24:00:00Z",
            "2016-01-01T00:00:00.Z",
            "2016-01-01T00:00:00",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
        assert!(Timestamp::parse("2016-02-29T23:59:60Z").is_ok());
    }

    #[test]
    fn compares_as_time_not_text() {
        let a = Timestamp::parse("2016-04-06T20:03:48Z").unwrap();
        let b = Timestamp::parse("2016-04-06T20:03:48.000Z").unwrap();
        let c = Timestamp::parse("2016-04-06T20:03:48.000123Z").unwrap();
        assert_eq!(a, b);
        assert!(c > b);
    }

    #[test]
    fn from_unix_round_trips() {
        let t = Timestamp::from_unix(1_459_973_028, 123_456_789);
        assert_eq!(t.as_str(), "2016-04-06T20:03:48.123Z");
        assert_eq!(Timestamp::parse(t.as_str()).unwrap(), t);
        assert_eq!(
            Timestamp::from_unix(0, 0).as_str(),
            "1970-01-01T00:00:00.000Z"
        );
    }
}
