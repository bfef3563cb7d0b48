//! Which events to hunt: `--from` / `--to`.
//!
//! The time filter applies to events, before matching, so events outside the
//! window cost no rule evaluation and cannot feed a correlation either. An
//! event without a timestamp cannot be placed in the window: when a bound is
//! given it is left out and counted (never silently dropped).

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// Whether a bound opens or closes the window (a bare date means the start
/// of that day for `--from` and the end of that day for `--to`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeBound {
    /// `--from`: inclusive lower bound.
    From,
    /// `--to`: inclusive upper bound.
    To,
}

/// Parses a `--from`/`--to` value: RFC 3339 (`2024-05-01T10:00:00Z`,
/// `2024-05-01T12:00:00+02:00`), a UTC date-time without zone
/// (`2024-05-01T10:00:00` or with a space), or a date (`2024-05-01`, the
/// whole day in UTC).
pub fn parse_time_bound(text: &str, bound: TimeBound) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(t, f) {
            return Ok(Utc.from_utc_datetime(&n));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        let n = match bound {
            TimeBound::From => d.and_hms_opt(0, 0, 0),
            TimeBound::To => d.and_hms_nano_opt(23, 59, 59, 999_999_999),
        }
        .expect("valid time of day");
        return Ok(Utc.from_utc_datetime(&n));
    }
    Err(format!(
        "`{text}` is not a time: use RFC 3339 (2024-05-01T10:00:00Z) or a date (2024-05-01)"
    ))
}

/// The event filter of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Events before this time are left out.
    pub from: Option<DateTime<Utc>>,
    /// Events after this time are left out.
    pub to: Option<DateTime<Utc>>,
}

/// What the filter decided for one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Hunt it.
    Keep,
    /// Its time is outside the window.
    Outside,
    /// A window is set and the event has no time.
    NoTime,
}

impl EventFilter {
    /// True if no bound is set.
    pub fn is_open(&self) -> bool {
        self.from.is_none() && self.to.is_none()
    }

    /// Decides for an event with time `ts`.
    pub fn check(&self, ts: Option<DateTime<Utc>>) -> Verdict {
        if self.is_open() {
            return Verdict::Keep;
        }
        let Some(ts) = ts else {
            return Verdict::NoTime;
        };
        if self.from.is_some_and(|f| ts < f) || self.to.is_some_and(|t| ts > t) {
            Verdict::Outside
        } else {
            Verdict::Keep
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bounds() {
        let f = parse_time_bound("2024-05-01", TimeBound::From).unwrap();
        let t = parse_time_bound("2024-05-01", TimeBound::To).unwrap();
        assert_eq!(f.to_rfc3339(), "2024-05-01T00:00:00+00:00");
        assert!(t > f && t < parse_time_bound("2024-05-02", TimeBound::From).unwrap());
        let z = parse_time_bound("2024-05-01T12:00:00+02:00", TimeBound::From).unwrap();
        assert_eq!(z.to_rfc3339(), "2024-05-01T10:00:00+00:00");
        assert_eq!(
            parse_time_bound("2024-05-01 10:00:00", TimeBound::From).unwrap(),
            parse_time_bound("2024-05-01T10:00:00Z", TimeBound::From).unwrap()
        );
        assert!(parse_time_bound("yesterday", TimeBound::From).is_err());
    }

    #[test]
    fn filters() {
        let f = EventFilter {
            from: Some(parse_time_bound("2024-05-01", TimeBound::From).unwrap()),
            to: Some(parse_time_bound("2024-05-01", TimeBound::To).unwrap()),
        };
        let inside = parse_time_bound("2024-05-01T23:59:59Z", TimeBound::From).unwrap();
        let outside = parse_time_bound("2024-05-02T00:00:00Z", TimeBound::From).unwrap();
        assert_eq!(f.check(Some(inside)), Verdict::Keep);
        assert_eq!(f.check(Some(outside)), Verdict::Outside);
        assert_eq!(f.check(None), Verdict::NoTime);
        assert_eq!(EventFilter::default().check(None), Verdict::Keep);
    }
}
