//! Cross-property MUST rules that apply to every object, whatever its type or version.
//!
//! Timestamp order, marking self-references and selectors, language codes, the syntax of
//! STIX patterns in indicators and the UUID version rules are requirements the
//! specification states in prose rather than in property tables; the reference validator
//! runs them on every object after the schema checks, and so does tiaki.

use std::collections::HashSet;
use std::sync::LazyLock;

use serde_json::{Map, Value};

use super::tables::{SCO_TYPES, TIMESTAMP_ORDER};
use super::{Ctx, PATTERN_TYPE_FORMAT, PROPERTY_FORMAT, pattern_check};
use crate::timestamp::Timestamp;

pub(super) fn must_checks(ctx: &mut Ctx, o: &Map<String, Value>, ty: &str) {
    timestamp_order(ctx, o, ty);
    marking_rules(ctx, o, ty);
    if let Some(l) = o.get("lang").and_then(Value::as_str)
        && !is_language_tag(l)
    {
        ctx.err(
            "lang",
            format!("'{l}' is not a valid RFC 5646 language code"),
        );
    }
    match ty {
        "software" => {
            for (i, l) in o
                .get("languages")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                if let Some(s) = l.as_str()
                    && !is_language_tag(s)
                {
                    ctx.err(
                        &format!("languages[{i}]"),
                        format!("'{s}' is not a valid RFC 5646 language code"),
                    );
                }
            }
        }
        "language-content" => {
            for (k, v) in o
                .get("contents")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                if !is_language_tag(k) {
                    ctx.err(
                        "contents",
                        format!("'{k}' must be an RFC 5646 language code"),
                    );
                }
                for sub in v.as_object().into_iter().flatten().map(|(s, _)| s) {
                    if !PROPERTY_FORMAT.is_match(sub) {
                        ctx.err(
                            &format!("contents.{k}"),
                            format!("'{sub}' is not a valid property name"),
                        );
                    }
                }
            }
        }
        "indicator" => indicator_pattern(ctx, o),
        _ => {}
    }
    uuid_version_rules(ctx, o, ty);
}

fn ts(o: &Map<String, Value>, p: &str) -> Option<Timestamp> {
    o.get(p)
        .and_then(Value::as_str)
        .and_then(|s| Timestamp::parse(s).ok())
}

fn timestamp_order(ctx: &mut Ctx, o: &Map<String, Value>, ty: &str) {
    let mut pairs: Vec<(&str, bool, &str)> = vec![("modified", false, "created")];
    pairs.extend(
        TIMESTAMP_ORDER
            .iter()
            .filter(|(t, ..)| *t == ty)
            .map(|(_, a, s, b)| (*a, *s, *b)),
    );
    for (later, strict, earlier) in pairs {
        if let (Some(a), Some(b)) = (ts(o, later), ts(o, earlier))
            && (a < b || (strict && a == b))
        {
            let rel = if strict {
                "later than"
            } else {
                "later than or equal to"
            };
            ctx.err(
                later,
                format!("'{later}' ({a}) must be {rel} '{earlier}' ({b})"),
            );
        }
    }
}

static INDEX_SEGMENT: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"^\[(\d+)\]").expect("index"));

fn marking_rules(ctx: &mut Ctx, o: &Map<String, Value>, ty: &str) {
    let id = o.get("id").and_then(Value::as_str).unwrap_or("");
    if ty == "marking-definition" {
        if o.get("object_marking_refs")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|r| r == id))
        {
            ctx.err(
                "object_marking_refs",
                "a marking definition cannot mark itself (circular reference)".into(),
            );
        }
        if o.get("granular_markings")
            .and_then(Value::as_array)
            .is_some_and(|a| {
                a.iter()
                    .any(|g| g.get("marking_ref").and_then(Value::as_str) == Some(id))
            })
        {
            ctx.err(
                "granular_markings",
                "a marking definition cannot mark itself (circular reference)".into(),
            );
        }
    }
    // Selectors must select something present in the object.
    let root = Value::Object(o.clone());
    for g in o
        .get("granular_markings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for sel in g
            .get("selectors")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let mut cur = Some(&root);
            let mut prev = "";
            for seg in sel.split('.') {
                let Some(c) = cur else { break };
                if let Some(cap) = INDEX_SEGMENT.captures(seg) {
                    let idx: usize = cap[1].parse().unwrap_or(usize::MAX);
                    match c.as_array() {
                        Some(a) if idx < a.len() => cur = Some(&a[idx]),
                        Some(_) => {
                            ctx.err(
                                "granular_markings",
                                format!("'{sel}' is not a valid selector: {idx} is out of range"),
                            );
                            cur = None;
                        }
                        None => {
                            ctx.err(
                                "granular_markings",
                                format!("'{sel}' is not a valid selector: '{prev}' is not a list"),
                            );
                            cur = None;
                        }
                    }
                } else {
                    match c.as_object().and_then(|m| m.get(seg)) {
                        Some(x) => cur = Some(x),
                        None => {
                            ctx.err(
                                "granular_markings",
                                format!(
                                    "'{sel}' is not a valid selector: '{seg}' is not a property"
                                ),
                            );
                            cur = None;
                        }
                    }
                }
                prev = seg;
            }
        }
    }
}

fn indicator_pattern(ctx: &mut Ctx, o: &Map<String, Value>) {
    if o.get("pattern_type").and_then(Value::as_str) != Some("stix") {
        return;
    }
    let Some(p) = o.get("pattern").and_then(Value::as_str) else {
        return;
    };
    match pattern_check::check_pattern(p) {
        Err(e) => ctx.err("pattern", format!("invalid STIX pattern: {}", e.message)),
        Ok(comparisons) => {
            let mut seen = HashSet::new();
            for (obj_type, prop) in comparisons {
                if !seen.insert((obj_type.clone(), prop.clone())) {
                    continue;
                }
                if !SCO_TYPES.contains(&obj_type.as_str())
                    && (!PATTERN_TYPE_FORMAT.is_match(&obj_type)
                        || obj_type.len() < 3
                        || obj_type.len() > 250)
                {
                    ctx.err(
                        "pattern",
                        format!("'{obj_type}' is not a valid observable type name"),
                    );
                }
                if !prop.starts_with('\'') && !PROPERTY_FORMAT.is_match(&prop) && prop != "id" {
                    ctx.err(
                        "pattern",
                        format!("'{prop}' is not a valid observable property name"),
                    );
                }
            }
        }
    }
}

fn uuid_version_rules(ctx: &mut Ctx, o: &Map<String, Value>, ty: &str) {
    let Some(uuid) = o
        .get("id")
        .and_then(Value::as_str)
        .and_then(|s| s.rsplit_once("--"))
        .and_then(|(_, u)| uuid::Uuid::parse_str(u).ok())
    else {
        return;
    };
    let v4 = uuid.get_version_num() == 4;
    if ty == "process" && !v4 {
        ctx.err("id", "a process must have a UUIDv4 id".into());
    }
    let contributing: &[&str] = match ty {
        "artifact" => &["hashes", "payload_bin"],
        "email-message" => &["from_ref", "subject", "body"],
        "user-account" => &["account_type", "user_id", "account_login"],
        "windows-registry-key" => &["key", "values"],
        "x509-certificate" => &["hashes", "serial_number"],
        _ => return,
    };
    if !v4 && !contributing.iter().any(|p| o.contains_key(*p)) {
        ctx.err(
            "id",
            "without ID-contributing properties the id must be a UUIDv4".into(),
        );
    }
}

static LANGUAGES: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../data/iso639.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect()
});

/// Whether `tag` is an RFC 5646 language tag whose primary language is an ISO 639 code:
/// `en`, `mi`, `en-NZ`, `zh-Hant-TW`, `eng`, `es-419`.
pub fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let Some(primary) = parts.next() else {
        return false;
    };
    let primary = primary.to_ascii_lowercase();
    if !(2..=3).contains(&primary.len()) || !LANGUAGES.contains(primary.as_str()) {
        return false;
    }
    let mut stage = 0; // 0 script, 1 region, 2 variants
    for p in parts {
        let alpha = p.bytes().all(|b| b.is_ascii_alphabetic());
        let digits = p.bytes().all(|b| b.is_ascii_digit());
        if stage == 0 && p.len() == 4 && alpha {
            stage = 1;
        } else if (stage <= 1 && ((p.len() == 2 && alpha) || (p.len() == 3 && digits)))
            || (p.len() >= 5 && p.len() <= 8 && p.bytes().all(|b| b.is_ascii_alphanumeric()))
            || (p.len() == 4 && p.as_bytes()[0].is_ascii_digit())
        {
            stage = 2;
        } else {
            return false;
        }
    }
    true
}
