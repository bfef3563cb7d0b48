//! What the vector tests share: where the shared vectors are, and a runner that lists
//! every disagreement of a file.

use tiaki_stix::vectors::Outcome;

/// The shared STIX vectors.
pub const VECTOR_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/vectors/stix"
);

/// Runs every line of `file` through `f`; fails listing every disagreement, or when the file
/// does not have `expected_lines` vectors.
pub fn run(file: &str, expected_lines: usize, f: &dyn Fn(&str) -> Outcome) {
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
