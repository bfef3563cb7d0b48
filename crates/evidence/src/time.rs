//! Timestamps found in evidence, turned into UTC.
//!
//! Why a module: every format writes time its own way (RFC 3339 with 7 or 9 fractional
//! digits, `YYYY-MM-DD hh:mm:ss.fff` without a zone, Apache's `10/Oct/2000:13:55:36 -0700`,
//! syslog's yearless `Oct 10 13:55:36`, Zeek's epoch seconds). Correlation and timelines need
//! one UTC instant per event, so all of that is parsed here, tested once.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;

/// Parses a JSON value holding a time: a string in one of the accepted shapes, or a number of
/// seconds (or milli/micro/nanoseconds, told apart by magnitude) since the Unix epoch.
pub(crate) fn from_value(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::String(s) => parse_str(s),
        Value::Number(n) => match n.as_u64() {
            Some(i) => from_epoch_int(i),
            None => from_epoch(n.as_f64()?),
        },
        _ => None,
    }
}

/// Whole seconds (or ms/µs/ns by magnitude) since the epoch, exactly.
fn from_epoch_int(i: u64) -> Option<DateTime<Utc>> {
    let (secs, nanos) = if i < 100_000_000_000 {
        (i, 0)
    } else if i < 100_000_000_000_000 {
        (i / 1_000, (i % 1_000) * 1_000_000)
    } else if i < 100_000_000_000_000_000 {
        (i / 1_000_000, (i % 1_000_000) * 1_000)
    } else {
        (i / 1_000_000_000, i % 1_000_000_000)
    };
    DateTime::from_timestamp(i64::try_from(secs).ok()?, u32::try_from(nanos).ok()?)
}

/// Seconds (or ms/µs/ns by magnitude) since the epoch; fractions of floating-point values
/// are kept to the microsecond (what an f64 holds for current dates).
pub(crate) fn from_epoch(f: f64) -> Option<DateTime<Utc>> {
    if !f.is_finite() || f < 0.0 {
        return None;
    }
    let secs = if f < 1e11 {
        f
    } else if f < 1e14 {
        f / 1e3
    } else if f < 1e17 {
        f / 1e6
    } else {
        f / 1e9
    };
    let mut whole = secs.trunc();
    let mut micros = ((secs - whole) * 1e6).round();
    if micros >= 1e6 {
        whole += 1.0;
        micros = 0.0;
    }
    DateTime::from_timestamp(whole as i64, micros as u32 * 1_000)
}

/// Parses RFC 3339 (any number of fractional digits, `Z` or an offset, `T` or a space) and
/// the same without a zone (taken as UTC), or a bare number of epoch seconds.
pub(crate) fn parse_str(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.len() < 10 {
        return None;
    }
    let b = s.as_bytes();
    if b[4] == b'-' && b[7] == b'-' {
        if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
            return Some(dt.with_timezone(&Utc));
        }
        // A space instead of `T`, or no zone.
        let t = s.replacen(' ', "T", 1);
        if let Ok(dt) = DateTime::parse_from_rfc3339(&t) {
            return Some(dt.with_timezone(&Utc));
        }
        let t = t.trim_end_matches('Z');
        for fmt in [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%dT%H:%M",
        ] {
            if let Ok(n) = NaiveDateTime::parse_from_str(t, fmt) {
                return Some(Utc.from_utc_datetime(&n));
            }
        }
        if s.len() == 10 {
            return NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|n| Utc.from_utc_datetime(&n));
        }
        return None;
    }
    if b.iter().all(|c| c.is_ascii_digit() || *c == b'.') {
        return s.parse::<f64>().ok().and_then(from_epoch);
    }
    None
}

/// Apache/Nginx `%t`: `10/Oct/2000:13:55:36 -0700`.
pub(crate) fn parse_clf(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(s, "%d/%b/%Y:%H:%M:%S %z")
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// RFC 3164 syslog time, `Oct  1 13:55:36`, which has no year: the year is `year_hint`
/// (from the file's modification time), moved back one if that would put the event more
/// than a day after `reference` (logs do not come from the future; December lines read in
/// January belong to the previous year).
pub(crate) fn parse_syslog_3164(
    s: &str,
    year_hint: i32,
    reference: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    let n = NaiveDateTime::parse_from_str(&format!("{year_hint} {s}"), "%Y %b %e %H:%M:%S").ok()?;
    let dt = Utc.from_utc_datetime(&n);
    if let Some(r) = reference
        && dt > r + chrono::Duration::days(1)
    {
        let prev = n.with_year(year_hint - 1)?;
        return Some(Utc.from_utc_datetime(&prev));
    }
    Some(dt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn iso(d: Option<DateTime<Utc>>) -> String {
        d.map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
            .unwrap_or_default()
    }

    #[test]
    fn shapes() {
        assert_eq!(
            iso(parse_str("2025-12-06T21:11:02.6491508Z")),
            "2025-12-06T21:11:02.649150800Z"
        );
        assert_eq!(
            iso(parse_str("2025-12-06T21:11:02.649150Z")),
            "2025-12-06T21:11:02.649150Z"
        );
        assert_eq!(
            iso(parse_str("2025-12-06 21:11:02.632")),
            "2025-12-06T21:11:02.632Z"
        );
        assert_eq!(
            iso(parse_str("2024-01-02T03:04:05+02:00")),
            "2024-01-02T01:04:05Z"
        );
        assert_eq!(
            iso(parse_str("2024-01-02T03:04:05")),
            "2024-01-02T03:04:05Z"
        );
        assert_eq!(iso(parse_str("2024-01-02")), "2024-01-02T00:00:00Z");
        assert_eq!(iso(parse_str("1700000000.5")), "2023-11-14T22:13:20.500Z");
        assert_eq!(
            iso(from_value(&json!(1700000000123u64))),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(parse_str("hello world"), None);
        assert_eq!(parse_str("2024-13-45T00:00:00Z"), None);
        assert_eq!(from_value(&json!(-5)), None);
    }

    #[test]
    fn clf_and_syslog() {
        assert_eq!(
            iso(parse_clf("10/Oct/2000:13:55:36 -0700")),
            "2000-10-10T20:55:36Z"
        );
        let reference = parse_str("2024-01-05T00:00:00Z");
        assert_eq!(
            iso(parse_syslog_3164("Dec 31 23:59:59", 2024, reference)),
            "2023-12-31T23:59:59Z"
        );
        assert_eq!(
            iso(parse_syslog_3164("Jan  2 01:02:03", 2024, reference)),
            "2024-01-02T01:02:03Z"
        );
        assert_eq!(parse_syslog_3164("Foo  2 01:02:03", 2024, reference), None);
    }
}
