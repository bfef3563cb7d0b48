//! `tiaki stix vectors`, `tiaki stix parse` and `tiaki stix match` through the real binary: the
//! shared OASIS vectors, a tampered vector file, patterns by hand.

mod common;

use std::path::PathBuf;

use common::*;
use serde_json::Value;

/// The shared STIX vector files (`*.jsonl`), sorted.
fn vector_files() -> Vec<PathBuf> {
    let dir = shared("data/vectors/stix");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    files
}

fn last_line(text: &str) -> &str {
    text.lines().last().unwrap_or("")
}

#[test]
fn every_shared_vector_passes() {
    let files = vector_files();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "matcher-v20.jsonl",
            "matcher-v21.jsonl",
            "pattern-inspector.jsonl",
            "pattern-validity.jsonl",
            "sco-deterministic-ids.jsonl",
            "stix-validator-v21.jsonl",
            "supplementary-v21.jsonl",
        ]
    );
    let mut args = vec!["stix".to_string(), "vectors".into()];
    args.extend(files.iter().map(|p| p.display().to_string()));
    let o = tiaki(args);
    assert_code(&o, 0);
    let out = stdout(&o);
    assert!(!out.contains("FAIL"), "{out}");
    assert_eq!(last_line(&out), "1487 passed, 0 failed", "{out}");
}

/// A matcher vector: `pattern` against one observed-data with an `ipv4-addr`.
fn matcher_vector(id: &str, pattern: &str, expected: &str) -> String {
    serde_json::json!({
        "id": id,
        "stix_version": "2.1",
        "pattern": pattern,
        "observations": [{
            "type": "bundle",
            "id": "bundle--c2a23389-17c9-4247-8aa2-d2ffde3de334",
            "objects": [
                {"type": "observed-data", "id": "observed-data--647947aa-4cc3-43a3-a42f-2c670986d777",
                 "spec_version": "2.1", "number_observed": 1,
                 "first_observed": "2021-03-15T02:13:57Z", "last_observed": "2021-03-15T02:13:57Z",
                 "object_refs": ["ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd"]},
                {"type": "ipv4-addr", "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd",
                 "spec_version": "2.1", "value": "203.0.113.77"}
            ]
        }],
        "expected": expected,
    })
    .to_string()
}

#[test]
fn a_wrong_expectation_fails_and_is_named() {
    let dir = tempfile::tempdir().unwrap();
    // A real vector with its expectation flipped.
    let real = std::fs::read_to_string(shared("data/vectors/stix/matcher-v21.jsonl")).unwrap();
    let mut tampered: Value = real
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["expected"] == "match")
        .unwrap();
    tampered["expected"] = "no-match".into();
    let tampered_id = tampered["id"].as_str().unwrap().to_string();
    let text = [
        matcher_vector(
            "tiaki-test/right",
            "[ipv4-addr:value = '203.0.113.77']",
            "match",
        ),
        matcher_vector(
            "tiaki-test/deliberately-wrong",
            "[ipv4-addr:value = '203.0.113.77']",
            "no-match",
        ),
        tampered.to_string(),
    ]
    .join("\n");
    let file = write(dir.path(), "matcher-v21-tampered.jsonl", &text);

    let o = tiaki(["stix", "vectors", file.to_str().unwrap()]);
    assert_code(&o, 1);
    let out = stdout(&o);
    assert_eq!(last_line(&out), "1 passed, 2 failed", "{out}");
    let fails: Vec<&str> = out.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert_eq!(fails.len(), 2, "{out}");
    assert!(
        fails[0].contains("tiaki-test/deliberately-wrong")
            && fails[0].contains("expected no-match, tiaki says match")
            && fails[0].contains(file.to_str().unwrap()),
        "{out}"
    );
    assert!(fails[1].contains(&tampered_id), "{out}");
    assert!(!out.contains("tiaki-test/right"), "{out}");

    // With the shared files, the tampered one still fails the run.
    let mut args = vec!["stix".to_string(), "vectors".into()];
    args.extend(vector_files().iter().map(|p| p.display().to_string()));
    args.push(file.display().to_string());
    let o = tiaki(args);
    assert_code(&o, 1);
    assert_eq!(last_line(&stdout(&o)), "1488 passed, 2 failed");

    // A line of no known kind fails with its line number.
    let other = write(dir.path(), "other.jsonl", "{\"foo\": 1}\n");
    let o = tiaki(["stix", "vectors", other.to_str().unwrap()]);
    assert_code(&o, 1);
    let out = stdout(&o);
    assert!(
        out.contains("line 1: not a known kind of STIX vector"),
        "{out}"
    );
    assert_eq!(last_line(&out), "0 passed, 1 failed");

    // A missing file is an error naming it.
    let missing = dir.path().join("missing.jsonl");
    let o = tiaki(["stix", "vectors", missing.to_str().unwrap()]);
    assert_code(&o, 2);
    assert!(
        stderr(&o).contains(missing.to_str().unwrap()),
        "{}",
        stderr(&o)
    );
}

/// The JSON part of `stix parse`'s output (after the pattern and any `invalid:` lines).
fn parse_json(out: &str) -> Value {
    let start = out.find("\n{").expect("no JSON in the output") + 1;
    serde_json::from_str(&out[start..]).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn parse_prints_valid_patterns_and_points_at_errors() {
    let p = "([ipv4-addr:value = '203.0.113.77'] FOLLOWEDBY [process:command_line MATCHES 'ntdsutil']) WITHIN 600 SECONDS";
    let o = tiaki(["stix", "parse", p]);
    assert_code(&o, 0);
    let out = stdout(&o);
    assert_eq!(out.lines().next().unwrap(), p, "{out}");
    assert!(!out.contains("invalid"), "{out}");
    let j = parse_json(&out);
    assert_eq!(j["observation_ops"], serde_json::json!(["FOLLOWEDBY"]));
    assert_eq!(j["qualifiers"], serde_json::json!(["WITHIN 600 SECONDS"]));
    assert_eq!(j["brackets"], 2);
    assert_eq!(
        j["comparisons"]["process"][0],
        serde_json::json!([["command_line"], "MATCHES", "'ntdsutil'"])
    );
    // Several observations: no simple comparisons.
    assert!(j["simple"].is_null(), "{j}");

    // One bracket: its comparisons in disjunctive normal form.
    let o = tiaki([
        "stix",
        "parse",
        "[ipv4-addr:value = '198.51.100.7' OR domain-name:value = 'evil.example']",
    ]);
    assert_code(&o, 0);
    let j = parse_json(&stdout(&o));
    assert_eq!(j["simple"].as_array().unwrap().len(), 2, "{j}");

    // A syntax error: exit 1, the byte offset, a caret under it.
    let bad = "[ipv4-addr:value = ]";
    let o = tiaki(["stix", "parse", bad]);
    assert_code(&o, 1);
    let out = stdout(&o);
    let mut lines = out.lines();
    let first = lines.next().unwrap();
    assert!(
        first.starts_with("invalid: syntax error at offset 19"),
        "{out}"
    );
    assert_eq!(lines.next().unwrap(), format!("  {bad}"));
    assert_eq!(lines.next().unwrap(), format!("  {}^", " ".repeat(19)));

    // The caret counts characters, the offset bytes.
    let bad = "[file:name = 'ä' AND ]";
    let o = tiaki(["stix", "parse", bad]);
    assert_code(&o, 1);
    let out = stdout(&o);
    assert!(out.contains("at offset 22"), "{out}");
    let caret = out.lines().nth(2).unwrap();
    assert_eq!(caret.chars().count(), 2 + 21 + 1, "{out}");
    assert_eq!(bad.chars().nth(21), Some(']'));

    // A semantic error: parsed, printed, and rejected.
    let o = tiaki(["stix", "parse", "[file:hashes.MD5 = 'abc']"]);
    assert_code(&o, 1);
    let out = stdout(&o);
    assert!(
        out.contains("invalid: 'abc' is not a valid MD5 hash"),
        "{out}"
    );

    // The version decides: EXISTS is STIX 2.1 only.
    let o = tiaki(["stix", "parse", "[EXISTS file:name]"]);
    assert_code(&o, 0);
    let o = tiaki([
        "stix",
        "parse",
        "--stix-version",
        "2.0",
        "[EXISTS file:name]",
    ]);
    assert_code(&o, 1);
    assert!(
        stdout(&o).contains("syntax error at offset 1"),
        "{}",
        stdout(&o)
    );

    // Grammatical but not evaluable (the vectors call it a match-error): said, exit 0.
    let o = tiaki([
        "stix",
        "parse",
        "[ipv4-addr:value = '1.2.3.4'] WITHIN 0 SECONDS",
    ]);
    assert_code(&o, 0);
    assert!(stdout(&o).contains("cannot be evaluated"), "{}", stdout(&o));
}

#[test]
fn match_binds_observations_from_a_bundle() {
    let dir = tempfile::tempdir().unwrap();
    // The web shell request at 02:13:57 and ntdsutil at 02:31:44 (1067 s later).
    let bundle = r#"{"type": "bundle", "id": "bundle--0b6f0b5e-4d5c-4c4e-9d7a-3e1f0a2b3c4d", "objects": [
 {"type": "observed-data", "spec_version": "2.1", "id": "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf", "created": "2021-03-15T02:13:57.000Z", "modified": "2021-03-15T02:13:57.000Z", "first_observed": "2021-03-15T02:13:57Z", "last_observed": "2021-03-15T02:13:57Z", "number_observed": 1, "object_refs": ["ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "network-traffic--2568d22a-8998-58eb-99ec-3c8ca74f527d"]},
 {"type": "ipv4-addr", "spec_version": "2.1", "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": "203.0.113.77"},
 {"type": "network-traffic", "spec_version": "2.1", "id": "network-traffic--2568d22a-8998-58eb-99ec-3c8ca74f527d", "src_ref": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "dst_port": 443, "protocols": ["tcp"]},
 {"type": "observed-data", "spec_version": "2.1", "id": "observed-data--c8e0a2b1-3f4d-4e5a-9b6c-7d8e9f0a1b2c", "created": "2021-03-15T02:31:44.000Z", "modified": "2021-03-15T02:31:44.000Z", "first_observed": "2021-03-15T02:31:44Z", "last_observed": "2021-03-15T02:31:44Z", "number_observed": 1, "object_refs": ["process--f52a906a-0dfc-40bd-92f1-e7778ead38a9"]},
 {"type": "process", "spec_version": "2.1", "id": "process--f52a906a-0dfc-40bd-92f1-e7778ead38a9", "command_line": "ntdsutil \"ac i ntds\" ifm \"create full c:\\ProgramData\\tmp\" q q"}
]}"#;
    let file = write(dir.path(), "observed.json", bundle);
    let f = file.to_str().unwrap();
    let first = "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf";
    let second = "observed-data--c8e0a2b1-3f4d-4e5a-9b6c-7d8e9f0a1b2c";
    let run = |p: &str| tiaki(["stix", "match", p, f]);

    let o = run(
        "([ipv4-addr:value = '203.0.113.77'] FOLLOWEDBY [process:command_line MATCHES 'ntdsutil.+ifm']) WITHIN 1200 SECONDS",
    );
    assert_code(&o, 0);
    let out = stdout(&o);
    assert!(
        out.starts_with("match: ") && out.contains(first) && out.contains(second),
        "{out}"
    );

    // 1067 s apart: not within a minute.
    let o = run(
        "([ipv4-addr:value = '203.0.113.77'] FOLLOWEDBY [process:command_line MATCHES 'ntdsutil.+ifm']) WITHIN 60 SECONDS",
    );
    assert_code(&o, 1);
    assert_eq!(stdout(&o).trim(), "no match (2 observations)");

    // The wrong order.
    let o = run(
        "[process:command_line LIKE '%ntdsutil%'] FOLLOWEDBY [ipv4-addr:value = '203.0.113.77']",
    );
    assert_code(&o, 1);

    // References are followed: the address through network-traffic's src_ref.
    let o =
        run("[network-traffic:src_ref.value = '203.0.113.77' AND network-traffic:dst_port = 443]");
    assert_code(&o, 0);
    assert_eq!(stdout(&o).trim(), format!("match: {first}"));

    // A pattern that does not parse and a file that does not exist are errors.
    let o = run("[ipv4-addr:value = ]");
    assert_code(&o, 2);
    assert!(stderr(&o).contains("syntax error"), "{}", stderr(&o));
    let missing = dir.path().join("missing.json");
    let o = tiaki([
        "stix",
        "match",
        "[ipv4-addr:value = '1.2.3.4']",
        missing.to_str().unwrap(),
    ]);
    assert_code(&o, 2);
    assert!(
        stderr(&o).contains(missing.to_str().unwrap()),
        "{}",
        stderr(&o)
    );
}
