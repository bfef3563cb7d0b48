//! Deterministic identifiers and STIX timestamps for the export.
//!
//! Re-exporting a case must give the same ids, so a partner sees a new *version* of the same
//! objects rather than a second copy: SDO/SRO ids are derived like a UUIDv5 (SHA-1 over a
//! tiaki namespace, the case name, the type and a stable item key). STIX 2.1 says SDO/SRO ids
//! SHOULD be UUIDv4 and the OASIS validator warns on anything else, so the hash is laid out
//! as a version-4 UUID (a v4 UUID only promises pseudo-random bits, which a SHA-1 digest is).
//! SCO ids follow the specification's own UUIDv5 rule (`tiaki_stix::sco_id`).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::ShareError;

/// tiaki's namespace for SDO/SRO UUIDv5 ids (uuid5(URL, "https://tiaki.invalid/stix/ids")).
fn namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://tiaki.invalid/stix/ids")
}

/// `<type>--` the SHA-1 name-based UUID of `scope \x1f type \x1f key`, with v4 layout.
pub(crate) fn sdo_id(scope: &str, ty: &str, key: &str) -> String {
    let name = format!("{scope}\u{1f}{ty}\u{1f}{key}");
    let digest = Uuid::new_v5(&namespace(), name.as_bytes()).into_bytes();
    let id = uuid::Builder::from_random_bytes(digest).into_uuid();
    format!("{ty}--{id}")
}

/// A random bundle id (bundles are not versioned).
pub(crate) fn bundle_id() -> String {
    format!("bundle--{}", Uuid::new_v4())
}

/// The deterministic id of an SCO held as a JSON map (with `type`).
pub(crate) fn sco_id(obj: &Map<String, Value>) -> String {
    tiaki_stix::sco_id::sco_id(obj)
}

/// Parses RFC 3339 (any offset) into UTC.
pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The STIX form: UTC, `Z`, exactly three fractional digits.
pub(crate) fn stix_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses a required timestamp, naming the field on failure.
pub(crate) fn require_time(field: &str, s: &str) -> Result<DateTime<Utc>, ShareError> {
    parse_time(s).ok_or_else(|| ShareError::InvalidTime {
        field: field.to_string(),
        value: s.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_scoped() {
        let a = sdo_id("case-a", "indicator", "k");
        assert_eq!(a, sdo_id("case-a", "indicator", "k"));
        assert_ne!(a, sdo_id("case-b", "indicator", "k"));
        assert!(a.starts_with("indicator--"));
        assert_eq!(&a[11 + 14..11 + 15], "4");
    }

    #[test]
    fn timestamps_have_milliseconds() {
        let t = parse_time("2026-03-04T05:06:07+02:00").unwrap();
        assert_eq!(stix_time(&t), "2026-03-04T03:06:07.000Z");
        let t = parse_time("2026-03-04T05:06:07.123456789Z").unwrap();
        assert_eq!(stix_time(&t), "2026-03-04T05:06:07.123Z");
        assert!(parse_time("yesterday").is_none());
    }
}
