//! Times as the reports read and show them: RFC 3339 in, UTC out.
//!
//! Incidents carry RFC 3339 strings (as the evidence gave them, usually UTC). Every report shows
//! UTC so that events from hosts in different zones line up; a string that does not parse is
//! shown as given and left out of the timeline.

use chrono::{DateTime, Utc};

/// Parses an RFC 3339 time to UTC.
pub(crate) fn parse(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Whether `a` is strictly before `b` (both must parse).
pub(crate) fn before(a: &str, b: &str) -> bool {
    match (parse(a), parse(b)) {
        (Some(a), Some(b)) => a < b,
        _ => false,
    }
}

/// `2025-03-03 02:31:44` (UTC), or the string as given if it does not parse.
pub(crate) fn show(s: &str) -> String {
    match parse(s) {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
        None => s.to_string(),
    }
}

/// `2025-03-03 02:31` (UTC), or the string as given.
pub(crate) fn show_minutes(s: &str) -> String {
    match parse(s) {
        Some(t) => t.format("%Y-%m-%d %H:%M").to_string(),
        None => s.to_string(),
    }
}

/// An optional time, `—` when absent.
pub(crate) fn show_opt(s: Option<&String>) -> String {
    s.map(|s| show_minutes(s))
        .unwrap_or_else(|| "—".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_offsets_to_utc() {
        let t = parse("2025-03-03T15:31:44+13:00").unwrap();
        assert_eq!(t.format("%Y-%m-%d %H:%M").to_string(), "2025-03-03 02:31");
        assert!(parse("yesterday").is_none());
        assert_eq!(show("yesterday"), "yesterday");
        assert!(before("2025-03-03T00:00:00Z", "2025-03-03T00:00:01Z"));
        assert_eq!(show_opt(None), "—");
    }
}
