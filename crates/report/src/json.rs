//! The JSON report: the [`Investigation`] itself, for archiving, diffing and re-rendering.
//!
//! Field names are those of [`Investigation`] and of the incident and attribution types it
//! holds (snake_case, stable: fields are added, never renamed). `serde_json::from_str` reads it
//! back into an [`Investigation`].

use crate::investigation::Investigation;

/// The investigation as pretty-printed JSON.
pub fn render_json(inv: &Investigation) -> String {
    // Serialising plain data with string keys cannot fail; fall back to an empty object rather
    // than panicking if a non-finite float ever slips in (serde_json writes those as null).
    serde_json::to_string_pretty(inv).unwrap_or_else(|_| "{}".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let inv = Investigation {
            title: "T".into(),
            tlp: "TLP:AMBER".into(),
            notes: vec!["n".into()],
            ..Default::default()
        };
        let s = render_json(&inv);
        assert!(s.contains("\n  \"title\": \"T\""));
        let back: Investigation = serde_json::from_str(&s).unwrap();
        assert_eq!(back, inv);
    }
}
