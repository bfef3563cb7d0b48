//! Runs every shared STIX validator and SCO-id vector and lists every disagreement.

use tiaki_stix::vectors::{Outcome, run_sco_id_vector, run_validator_vector};

const VECTOR_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/vectors/stix"
);

fn run(file: &str, expected_lines: usize, f: fn(&str) -> Outcome) {
    let path = format!("{VECTOR_DIR}/{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut failures = Vec::new();
    let mut total = 0;
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        total += 1;
        if let Outcome::Fail(why) = f(line) {
            let id = serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(str::to_string))
                .unwrap_or_default();
            failures.push(format!("line {}: {id}: {why}", n + 1));
        }
    }
    assert_eq!(
        total, expected_lines,
        "{file}: unexpected number of vectors"
    );
    println!("{file}: {}/{} pass", total - failures.len(), total);
    assert!(
        failures.is_empty(),
        "{} of {total} {file} vectors fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn stix_validator_v21_vectors() {
    run("stix-validator-v21.jsonl", 552, run_validator_vector);
}

#[test]
fn sco_deterministic_id_vectors() {
    run("sco-deterministic-ids.jsonl", 18, run_sco_id_vector);
}
