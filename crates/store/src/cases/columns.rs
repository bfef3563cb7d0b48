//! The derived filter columns a detection is stored with (level rank, sortable time, search
//! text) and the query time bounds compared with them.

use serde_json::Value;
use tiaki::Detection;

use crate::{Result, StoreError};

/// `informational` 0 … `critical` 4.
pub(super) fn level_rank(name: &str) -> Option<i64> {
    Some(match name.to_ascii_lowercase().as_str() {
        "informational" | "info" => 0,
        "low" => 1,
        "medium" => 2,
        "high" => 3,
        "critical" => 4,
        _ => return None,
    })
}

/// A detection time in a form that sorts as text in time order: UTC, nine fractional digits.
/// Text that is not RFC 3339 is kept as it is.
pub(super) fn sortable_time(s: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(s) {
        Ok(t) => t
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%dT%H:%M:%S%.9fZ")
            .to_string(),
        Err(_) => s.to_string(),
    }
}

/// A query time bound: RFC 3339 (normalised like [`sortable_time`]) or a prefix of one
/// (`2026-03-01`, `2026-03-01T10`), which for an upper bound includes the whole period.
pub(super) fn time_bound(field: &str, s: &str, upper: bool) -> Result<String> {
    let s = s.trim();
    if chrono::DateTime::parse_from_rfc3339(s).is_ok() {
        return Ok(sortable_time(s));
    }
    let prefix_ok = s.len() >= 4
        && s.len() <= 40
        && s[..4].chars().all(|c| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | ':' | 'T' | '.'));
    if !prefix_ok {
        return Err(StoreError::Invalid(format!(
            "{field} '{s}' is not an RFC 3339 time or a prefix of one (2026-03-01)"
        )));
    }
    // Every stored character sorts below U+007F, so `prefix\x7f` is above every time that
    // starts with the prefix.
    Ok(if upper {
        format!("{s}\u{7f}")
    } else {
        s.to_string()
    })
}

fn push_value_text(v: &Value, out: &mut String) {
    match v {
        Value::Null => {}
        Value::Bool(b) => {
            out.push_str(if *b { "true" } else { "false" });
            out.push('\n');
        }
        Value::Number(n) => {
            out.push_str(&n.to_string());
            out.push('\n');
        }
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(a) => a.iter().for_each(|x| push_value_text(x, out)),
        Value::Object(o) => o.values().for_each(|x| push_value_text(x, out)),
    }
}

/// The lower-cased text a detection is searched in.
pub(super) fn search_text(d: &Detection) -> String {
    let mut s = String::with_capacity(256);
    for part in [
        Some(d.rule_title.as_str()),
        d.rule_id.as_deref(),
        d.host.as_deref(),
        Some(d.source.path.as_str()),
    ]
    .into_iter()
    .flatten()
    {
        s.push_str(part);
        s.push('\n');
    }
    for v in d.event.values() {
        push_value_text(v, &mut s);
    }
    if let Some(i) = &d.indicator {
        s.push_str(&i.value);
        s.push('\n');
        s.push_str(&i.id);
        s.push('\n');
    }
    if let Some(y) = &d.yara {
        s.push_str(&y.rule);
        s.push('\n');
    }
    s.to_lowercase()
}
