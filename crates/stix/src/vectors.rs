//! Runs the shared, language-neutral STIX test vectors (`shared/data/vectors/stix/`).
//!
//! Each vector line is self-contained JSON; this module turns one line into a verdict
//! (pass, or fail with the reason) with no file access, so the integration tests and any
//! other harness (a CLI self-check) share one implementation.
//!
//! For `stix-validator-v21.jsonl` the verdict compared is `must_valid`: the reference
//! validator's answer with its default options, i.e. MUST rules only. Two of the recorded
//! options still change that answer and are honoured here:
//! * `version: "2.0"` forces STIX 2.0 validation ([`SpecVersion::V20`]);
//! * `schema_dir: "test_schemas"` adds the validator suite's custom JSON schemas, which
//!   [`suite_custom_rules`] re-expresses as [`Validator::with_rule`] rules.
//!
//! The pattern files (`matcher-v21.jsonl`, `matcher-v20.jsonl`, `supplementary-v21.jsonl`,
//! `pattern-validity.jsonl`, `pattern-inspector.jsonl`) run through [`crate::pattern`];
//! [`VectorKind::detect`] tells which runner a line needs, and [`run_vector`] runs any.
//! Matcher vectors are judged on their `expected` verdict (for the supplementary file
//! that is the specification's answer, not the reference matcher's) and, when present,
//! on `expected_matched_observed_data_ids`.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::pattern::{Observation, Pattern, PatternErrorKind};
use crate::sco_id::deterministic_id;
use crate::validate::{Issue, SpecVersion, Validator};

/// The outcome of one vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// tiaki agrees with the vector.
    Pass,
    /// tiaki disagrees; the reason says how.
    Fail(String),
}

/// Runs one line of `stix-validator-v21.jsonl`.
pub fn run_validator_vector(line: &str) -> Outcome {
    let v: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return Outcome::Fail(format!("unreadable vector: {e}")),
    };
    let Some(expected) = v.get("must_valid").and_then(Value::as_bool) else {
        return Outcome::Fail("vector has no boolean 'must_valid'".into());
    };
    let options = v.get("options").cloned().unwrap_or(Value::Null);
    let mut validator = Validator::new();
    match options.get("version").and_then(Value::as_str) {
        Some("2.0") => validator = validator.force_version(SpecVersion::V20),
        Some("2.1") => validator = validator.force_version(SpecVersion::V21),
        _ => {}
    }
    if options.get("schema_dir").is_some() {
        for rule in suite_custom_rules() {
            validator = validator.with_rule(rule);
        }
    }
    let issues = validator.validate(&v["object"]);
    let valid = issues.is_empty();
    if valid == expected {
        Outcome::Pass
    } else if expected {
        Outcome::Fail(format!(
            "expected valid, tiaki found: {}",
            issues
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" | ")
        ))
    } else {
        Outcome::Fail(format!(
            "expected invalid ({}), tiaki found nothing",
            v["must_errors"]
                .as_array()
                .map(|a| a
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" | "))
                .unwrap_or_default()
        ))
    }
}

/// Runs one line of `sco-deterministic-ids.jsonl`.
pub fn run_sco_id_vector(line: &str) -> Outcome {
    let v: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return Outcome::Fail(format!("unreadable vector: {e}")),
    };
    let (Some(obj), Some(expected)) = (
        v.get("object_without_id").and_then(Value::as_object),
        v.get("expected_id").and_then(Value::as_str),
    ) else {
        return Outcome::Fail("vector needs 'object_without_id' and 'expected_id'".into());
    };
    match deterministic_id(obj) {
        Some(id) if id == expected => Outcome::Pass,
        other => Outcome::Fail(format!("expected {expected}, tiaki computed {other:?}")),
    }
}

/// The kinds of vector file in `shared/data/vectors/stix/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorKind {
    /// `stix-validator-v21.jsonl`: object + options → validity.
    Validator,
    /// `sco-deterministic-ids.jsonl`: SCO → deterministic id.
    ScoId,
    /// `matcher-v21.jsonl`, `matcher-v20.jsonl`, `supplementary-v21.jsonl`: pattern +
    /// observations → match / no-match / parse-error / match-error.
    Matcher,
    /// `pattern-validity.jsonl`: pattern → valid or not.
    PatternValidity,
    /// `pattern-inspector.jsonl`: pattern → qualifiers, operators or comparisons.
    PatternInspector,
}

impl VectorKind {
    /// The kind of a vector line: from the file name when it is one of the known files,
    /// otherwise from the line's fields. None if neither tells.
    pub fn detect(file_name: Option<&str>, line: &str) -> Option<VectorKind> {
        if let Some(name) = file_name {
            let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
            let by_name = if base.starts_with("stix-validator") {
                Some(VectorKind::Validator)
            } else if base.starts_with("sco-deterministic-ids") {
                Some(VectorKind::ScoId)
            } else if base.starts_with("matcher-") || base.starts_with("supplementary") {
                Some(VectorKind::Matcher)
            } else if base.starts_with("pattern-validity") {
                Some(VectorKind::PatternValidity)
            } else if base.starts_with("pattern-inspector") {
                Some(VectorKind::PatternInspector)
            } else {
                None
            };
            if by_name.is_some() {
                return by_name;
            }
        }
        let v: Value = serde_json::from_str(line).ok()?;
        let has = |k: &str| v.get(k).is_some();
        if has("object_without_id") {
            Some(VectorKind::ScoId)
        } else if has("must_valid") || (has("object") && has("expected_valid")) {
            Some(VectorKind::Validator)
        } else if has("pattern") && has("observations") {
            Some(VectorKind::Matcher)
        } else if has("pattern") && has("aspect") {
            Some(VectorKind::PatternInspector)
        } else if has("pattern") && has("expected_valid") {
            Some(VectorKind::PatternValidity)
        } else {
            None
        }
    }
}

/// Runs one vector line with the runner of its kind.
pub fn run_vector(kind: VectorKind, line: &str) -> Outcome {
    match kind {
        VectorKind::Validator => run_validator_vector(line),
        VectorKind::ScoId => run_sco_id_vector(line),
        VectorKind::Matcher => run_matcher_vector(line),
        VectorKind::PatternValidity => run_pattern_validity_vector(line),
        VectorKind::PatternInspector => run_pattern_inspector_vector(line),
    }
}

fn version_of(v: &Value) -> SpecVersion {
    match v.get("stix_version").and_then(Value::as_str) {
        Some("2.0") => SpecVersion::V20,
        _ => SpecVersion::V21,
    }
}

/// What tiaki makes of a matcher vector: the verdict and, on a match, the ids of the
/// observed-data of the binding.
fn matcher_verdict(v: &Value) -> (&'static str, Vec<String>, String) {
    let Some(text) = v.get("pattern").and_then(Value::as_str) else {
        return ("unreadable", Vec::new(), "no 'pattern'".into());
    };
    let pattern = match Pattern::parse_version(text, version_of(v)) {
        Ok(p) => p,
        Err(e) => return ("parse-error", Vec::new(), e.to_string()),
    };
    let objects = v
        .get("observations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let observations = match Observation::from_stix_objects(&objects) {
        Ok(o) => o,
        Err(e) => return ("match-error", Vec::new(), e.to_string()),
    };
    match pattern.find_binding(&observations) {
        Ok(Some(b)) => ("match", b.ids(&observations), String::new()),
        Ok(None) => ("no-match", Vec::new(), String::new()),
        Err(e) => ("match-error", Vec::new(), e.to_string()),
    }
}

/// Runs one line of `matcher-v21.jsonl`, `matcher-v20.jsonl` or
/// `supplementary-v21.jsonl`.
pub fn run_matcher_vector(line: &str) -> Outcome {
    let v: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return Outcome::Fail(format!("unreadable vector: {e}")),
    };
    let Some(expected) = v.get("expected").and_then(Value::as_str) else {
        return Outcome::Fail("vector has no string 'expected'".into());
    };
    let (got, ids, detail) = matcher_verdict(&v);
    if got != expected {
        let detail = if detail.is_empty() {
            String::new()
        } else {
            format!(" ({detail})")
        };
        return Outcome::Fail(format!("expected {expected}, tiaki says {got}{detail}"));
    }
    if let Some(want) = v
        .get("expected_matched_observed_data_ids")
        .and_then(Value::as_array)
    {
        let want: BTreeSet<&str> = want.iter().filter_map(Value::as_str).collect();
        let got_ids: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
        if want != got_ids {
            return Outcome::Fail(format!(
                "matched, but with observed-data {got_ids:?} instead of {want:?}"
            ));
        }
    }
    Outcome::Pass
}

/// Runs one line of `pattern-validity.jsonl`: validity, and for invalid patterns the
/// kind of error (syntax or semantic).
pub fn run_pattern_validity_vector(line: &str) -> Outcome {
    let v: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return Outcome::Fail(format!("unreadable vector: {e}")),
    };
    let (Some(text), Some(expected)) = (
        v.get("pattern").and_then(Value::as_str),
        v.get("expected_valid").and_then(Value::as_bool),
    ) else {
        return Outcome::Fail("vector needs 'pattern' and 'expected_valid'".into());
    };
    match (Pattern::validate(text, version_of(&v)), expected) {
        (Ok(_), true) => Outcome::Pass,
        (Ok(_), false) => Outcome::Fail(format!(
            "expected invalid ({}), tiaki accepts it",
            v.get("reference_error_prefix")
                .and_then(Value::as_str)
                .unwrap_or("")
        )),
        (Err(e), true) => Outcome::Fail(format!("expected valid, tiaki rejects it: {e}")),
        (Err(e), false) => {
            let kind = match e.kind {
                PatternErrorKind::Syntax => "syntax",
                PatternErrorKind::Semantic => "semantic",
            };
            match v.get("error_kind").and_then(Value::as_str) {
                Some(want) if want != kind => Outcome::Fail(format!(
                    "expected a {want} error, tiaki reports a {kind} error: {e}"
                )),
                _ => Outcome::Pass,
            }
        }
    }
}

/// Runs one line of `pattern-inspector.jsonl`.
pub fn run_pattern_inspector_vector(line: &str) -> Outcome {
    let v: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return Outcome::Fail(format!("unreadable vector: {e}")),
    };
    let (Some(text), Some(aspect), Some(expected)) = (
        v.get("pattern").and_then(Value::as_str),
        v.get("aspect").and_then(Value::as_str),
        v.get("expected"),
    ) else {
        return Outcome::Fail("vector needs 'pattern', 'aspect' and 'expected'".into());
    };
    let pattern = match Pattern::parse_version(text, version_of(&v)) {
        Ok(p) => p,
        Err(e) => return Outcome::Fail(format!("tiaki rejects the pattern: {e}")),
    };
    let ins = pattern.inspect();
    let as_set = |x: &Value| -> BTreeSet<String> {
        x.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let (ok, got) = match aspect {
        "qualifiers" => (
            as_set(expected) == ins.qualifiers,
            format!("{:?}", ins.qualifiers),
        ),
        "observation_ops" => (
            as_set(expected) == ins.observation_ops,
            format!("{:?}", ins.observation_ops),
        ),
        "comparisons" => {
            let got = ins.comparisons_json();
            (&got == expected, got.to_string())
        }
        other => return Outcome::Fail(format!("unknown aspect '{other}'")),
    };
    if ok {
        Outcome::Pass
    } else {
        Outcome::Fail(format!("{aspect}: expected {expected}, tiaki says {got}"))
    }
}

type Rule = Box<dyn Fn(&Map<String, Value>) -> Vec<Issue> + Send + Sync>;

fn issue(o: &Map<String, Value>, property: &str, message: &str) -> Issue {
    Issue {
        object_id: o.get("id").and_then(Value::as_str).map(str::to_string),
        property: property.into(),
        message: message.into(),
    }
}

/// The custom schemas of the stix2-validator test suite (`test/v21/test_schemas/`), as
/// rules: an `indicator` name must be `Foobar`; an `x-new-type` has a string `property1`
/// and an integer `property2`; extension `…993ce403…` is a top-level property extension
/// requiring `grade` of `A`–`F`; extension `…d83fce45…` on a `file` requires `foo_value`;
/// and the schema for `x-foo-bar` is malformed JSON, which fails every object of that type.
pub fn suite_custom_rules() -> Vec<Rule> {
    const GRADE_EXT: &str = "extension-definition--993ce403-6fdd-4efa-8279-31cf2d91b1c8";
    const FOO_EXT: &str = "extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e";
    let by_type: Rule = Box::new(|o| {
        let ty = o.get("type").and_then(Value::as_str).unwrap_or("");
        let mut out = Vec::new();
        match ty {
            "indicator" => {
                if let Some(n) = o.get("name").and_then(Value::as_str)
                    && n != "Foobar"
                {
                    out.push(issue(
                        o,
                        "name",
                        "does not match '^Foobar$' (custom schema)",
                    ));
                }
            }
            "x-new-type" => {
                if o.get("property1").is_some_and(|v| !v.is_string()) {
                    out.push(issue(o, "property1", "must be a string (custom schema)"));
                }
                if o.get("property2")
                    .is_some_and(|v| !(v.is_i64() || v.is_u64()))
                {
                    out.push(issue(o, "property2", "must be an integer (custom schema)"));
                }
            }
            "x-foo-bar" => out.push(issue(
                o,
                "",
                "the custom schema for 'x-foo-bar' is not valid JSON",
            )),
            "file" => {
                if let Some(e) = o.get("extensions").and_then(|e| e.get(FOO_EXT))
                    && e.get("foo_value").is_none()
                {
                    out.push(issue(
                        o,
                        &format!("extensions.{FOO_EXT}"),
                        "'foo_value' is a required property",
                    ));
                }
            }
            _ => {}
        }
        out
    });
    let grade: Rule = Box::new(|o| {
        let mut out = Vec::new();
        if o.get("extensions").and_then(|e| e.get(GRADE_EXT)).is_some() {
            match o.get("grade").and_then(Value::as_str) {
                None => out.push(issue(o, "", "'grade' is a required property")),
                Some(g) if !matches!(g, "A" | "B" | "C" | "D" | "F") => {
                    out.push(issue(o, "grade", "does not match '^[ABCDF]$'"))
                }
                _ => {}
            }
        }
        out
    });
    vec![by_type, grade]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sco_vector() {
        let line = r#"{"object_without_id": {"type": "ipv4-addr", "spec_version": "2.1", "value": "198.51.100.7"}, "expected_id": "ipv4-addr--12592121-be4c-5a93-a813-5a5af16e50db"}"#;
        assert_eq!(run_sco_id_vector(line), Outcome::Pass);
    }

    #[test]
    fn one_validator_vector() {
        let line = r#"{"object": {"type": "tool", "spec_version": "2.1", "id": "tool--blablabla", "created": "2016-04-06T20:03:48.000Z", "modified": "2016-04-06T20:03:48.000Z", "name": "VNC"}, "options": {}, "must_valid": false, "must_errors": []}"#;
        assert_eq!(run_validator_vector(line), Outcome::Pass);
    }
}
