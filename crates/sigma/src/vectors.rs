//! Runs the language-neutral Sigma test vectors.
//!
//! The vectors (`shared/data/vectors/sigma/`) are JSON lines: a rule, an
//! event and the expected verdict, or a set of rules with timed events and
//! the correlations expected to fire. Keeping the runner in the library
//! lets the test suite and `tiaki rules vectors` share one implementation.
//! The caller reads the files; this module only interprets their text.

use serde_json::Value as Json;

use crate::collection::{Collection, LoadOptions};
use crate::correlation::CorrelationEngine;

/// The outcome of one vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VectorResult {
    /// The vector's id.
    pub id: String,
    /// Whether the engine agreed with the expectation.
    pub passed: bool,
    /// What happened, when it failed.
    pub detail: String,
}

fn result(id: &str, passed: bool, detail: impl Into<String>) -> VectorResult {
    VectorResult {
        id: id.to_string(),
        passed,
        detail: detail.into(),
    }
}

/// Runs one vector given as a JSON object (detection or correlation kind).
pub fn run_vector(v: &Json) -> VectorResult {
    let id = v.get("id").and_then(Json::as_str).unwrap_or("<no id>");
    match v.get("kind").and_then(Json::as_str) {
        Some("correlation") => run_correlation(id, v),
        Some("detection") | None => run_detection(id, v),
        Some(other) => result(id, false, format!("unknown vector kind '{other}'")),
    }
}

fn run_detection(id: &str, v: &Json) -> VectorResult {
    let Some(rule) = v.get("rule").and_then(Json::as_str) else {
        return result(id, false, "vector has no 'rule'");
    };
    let mut col = Collection::new(LoadOptions::default());
    col.add_source(id, rule);
    if let Some(filters) = v.get("filters").and_then(Json::as_array) {
        for (i, f) in filters.iter().enumerate() {
            if let Some(text) = f.as_str() {
                col.add_source(&format!("{id}:filter{i}"), text);
            }
        }
    }
    let compiled = col.compile();
    let expected = v.get("expected").cloned().unwrap_or(Json::Null);
    let optional = v.get("optional").and_then(Json::as_bool).unwrap_or(false);
    if expected == Json::String("error".into()) {
        return if !compiled.errors.is_empty() {
            result(id, true, "")
        } else if optional {
            result(id, true, "accepted (optional error vector)")
        } else {
            result(id, false, "expected the rule to be rejected, but it loaded")
        };
    }
    if !compiled.errors.is_empty() {
        let msgs: Vec<String> = compiled.errors.iter().map(|e| e.to_string()).collect();
        return result(id, false, format!("rule rejected: {}", msgs.join("; ")));
    }
    let Some(want) = expected.as_bool() else {
        return result(
            id,
            false,
            "vector 'expected' is not true, false or \"error\"",
        );
    };
    let event = v.get("event").cloned().unwrap_or(Json::Null);
    let set = compiled.ruleset;
    let mut scratch = set.scratch();
    let mut hits = Vec::new();
    set.matches(&event, None, &mut scratch, &mut hits);
    let got = !hits.is_empty();
    // The slow path must agree with the fast path.
    let slow = (0..set.len() as u32).any(|r| set.rule_matches(r, &event, &mut scratch));
    if got != slow {
        return result(
            id,
            false,
            format!("fast path says {got}, rule-by-rule evaluation says {slow}"),
        );
    }
    if got == want {
        result(id, true, "")
    } else {
        result(id, false, format!("expected {want}, got {got}"))
    }
}

fn run_correlation(id: &str, v: &Json) -> VectorResult {
    let Some(rules) = v.get("rules").and_then(Json::as_str) else {
        return result(id, false, "vector has no 'rules'");
    };
    let mut col = Collection::new(LoadOptions::default());
    col.add_source(id, rules);
    let compiled = col.compile();
    if !compiled.errors.is_empty() {
        let msgs: Vec<String> = compiled.errors.iter().map(|e| e.to_string()).collect();
        return result(id, false, format!("rules rejected: {}", msgs.join("; ")));
    }
    let set = compiled.ruleset;
    let mut engine = match CorrelationEngine::new(&set) {
        Ok(e) => e,
        Err(errs) => {
            let msgs: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
            return result(
                id,
                false,
                format!("correlations rejected: {}", msgs.join("; ")),
            );
        }
    };
    let mut scratch = set.scratch();
    let mut fired: Vec<(String, String)> = Vec::new();
    let mut hits = Vec::new();
    for e in v
        .get("events")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        let ts = e.get("ts").and_then(Json::as_f64).unwrap_or(0.0);
        let event = e.get("event").cloned().unwrap_or(Json::Null);
        hits.clear();
        set.matches(&event, None, &mut scratch, &mut hits);
        for alert in engine.process(&set, &event, (ts * 1000.0) as i64, &hits) {
            let title = engine.rule(alert.correlation).meta.title.clone();
            fired.push((title, alert.group.join("|")));
        }
    }
    let mut missing = Vec::new();
    for exp in v
        .get("expected_fired")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        let title = exp.get(0).and_then(Json::as_str).unwrap_or("");
        let group = exp.get(1).and_then(Json::as_str).unwrap_or("");
        if !fired.iter().any(|(t, g)| t == title && g == group) {
            missing.push(format!("[{title}, {group}]"));
        }
    }
    // Anything fired that was not expected is also a failure.
    let expected: Vec<(String, String)> = v
        .get("expected_fired")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e.get(0).and_then(Json::as_str).unwrap_or("").to_string(),
                e.get(1).and_then(Json::as_str).unwrap_or("").to_string(),
            )
        })
        .collect();
    let extra: Vec<String> = fired
        .iter()
        .filter(|f| !expected.contains(f))
        .map(|(t, g)| format!("[{t}, {g}]"))
        .collect();
    if missing.is_empty() && extra.is_empty() {
        result(id, true, "")
    } else {
        result(
            id,
            false,
            format!(
                "missing {}; unexpected {}",
                if missing.is_empty() {
                    "none".into()
                } else {
                    missing.join(" ")
                },
                if extra.is_empty() {
                    "none".into()
                } else {
                    extra.join(" ")
                }
            ),
        )
    }
}

/// Runs every vector of a JSON-lines text; lines that are not valid JSON
/// are reported as failures with their line number.
pub fn run_jsonl(origin: &str, text: &str) -> Vec<VectorResult> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, line)| match serde_json::from_str::<Json>(line) {
            Ok(v) => run_vector(&v),
            Err(e) => result(
                &format!("{origin}:{}", n + 1),
                false,
                format!("invalid JSON: {e}"),
            ),
        })
        .collect()
}
