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

use serde_json::{Map, Value};

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
