//! Runs every shared STIX pattern vector (matcher, validity, inspector, supplementary)
//! and lists every disagreement.

use tiaki_stix::vectors::{VectorKind, run_vector};

mod common;

use common::VECTOR_DIR;

/// Runs a pattern vector file, each line with the runner its kind needs.
fn run(file: &str, expected_lines: usize) {
    common::run(file, expected_lines, &|line| {
        let kind = VectorKind::detect(Some(file), line)
            .unwrap_or_else(|| panic!("{file}: unknown vector kind: {line}"));
        run_vector(kind, line)
    });
}

#[test]
fn matcher_v21_vectors() {
    run("matcher-v21.jsonl", 304);
}

#[test]
fn matcher_v20_vectors() {
    run("matcher-v20.jsonl", 431);
}

#[test]
fn supplementary_v21_vectors() {
    run("supplementary-v21.jsonl", 16);
}

#[test]
fn pattern_validity_vectors() {
    run("pattern-validity.jsonl", 127);
}

#[test]
fn pattern_inspector_vectors() {
    run("pattern-inspector.jsonl", 39);
}

#[test]
fn kinds_are_detected_from_the_line_alone() {
    for (file, kind) in [
        ("matcher-v21.jsonl", VectorKind::Matcher),
        ("pattern-validity.jsonl", VectorKind::PatternValidity),
        ("pattern-inspector.jsonl", VectorKind::PatternInspector),
        ("stix-validator-v21.jsonl", VectorKind::Validator),
        ("sco-deterministic-ids.jsonl", VectorKind::ScoId),
    ] {
        let text = std::fs::read_to_string(format!("{VECTOR_DIR}/{file}")).unwrap();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            assert_eq!(VectorKind::detect(None, line), Some(kind), "{file}");
        }
    }
}
