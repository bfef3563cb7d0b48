//! Time helpers: the scenario window, NZ business days, operator hours.
//!
//! Why: all logs are in UTC, but the benign rhythm follows New Zealand office hours (NZDT,
//! UTC+13, in February–March 2025) and the actors follow UTC+8 office hours. Keeping the
//! conversions in one place keeps both rhythms right.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};

use crate::net::ENV;
use crate::rng::Rng;

/// NZDT offset from UTC, in hours.
pub(crate) const NZ_OFFSET: i64 = 13;

/// Parses `YYYY-MM-DD HH:MM:SS` (UTC).
pub(crate) fn utc(s: &str) -> DateTime<Utc> {
    let n = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .unwrap_or_else(|e| panic!("bad time {s}: {e}"));
    Utc.from_utc_datetime(&n)
}

/// The first and last instant of the generated window.
pub(crate) fn window() -> (DateTime<Utc>, DateTime<Utc>) {
    let p = |s: &str| {
        DateTime::parse_from_rfc3339(s)
            .expect("window in environment.json")
            .with_timezone(&Utc)
    };
    (p(&ENV.window_start), p(&ENV.window_end))
}

/// Every UTC date of the window.
pub(crate) fn utc_days() -> Vec<NaiveDate> {
    let (a, b) = window();
    let mut d = a.date_naive();
    let mut out = Vec::new();
    while d < b.date_naive() {
        out.push(d);
        d += Duration::days(1);
    }
    out
}

/// NZ calendar dates that overlap the window (one more than the UTC days).
pub(crate) fn nz_days() -> Vec<NaiveDate> {
    let mut v = utc_days();
    if let Some(last) = v.last().copied() {
        v.push(last + Duration::days(1));
    }
    v
}

/// Monday to Friday.
pub(crate) fn weekday(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// A wall-clock time on an NZ date, in UTC.
pub(crate) fn nz(d: NaiveDate, secs_of_day: i64) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
        + Duration::seconds(secs_of_day - NZ_OFFSET * 3600)
}

/// Midnight UTC of a date.
pub(crate) fn midnight(d: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
}

/// Whether `t` lies in the window.
pub(crate) fn in_window(t: DateTime<Utc>) -> bool {
    let (a, b) = window();
    t >= a && t < b
}

/// `t` plus a random number of milliseconds in `0..max_ms`.
pub(crate) fn jitter(r: &mut Rng, t: DateTime<Utc>, max_ms: i64) -> DateTime<Utc> {
    t + Duration::milliseconds(r.range(0, max_ms.max(1)))
}

/// Seconds as a duration.
pub(crate) fn secs(n: i64) -> Duration {
    Duration::seconds(n)
}

/// Milliseconds as a duration.
pub(crate) fn ms(n: i64) -> Duration {
    Duration::milliseconds(n)
}
