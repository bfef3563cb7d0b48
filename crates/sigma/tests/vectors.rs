//! The shared language-neutral vectors: every one must pass.

use std::path::PathBuf;

fn shared(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(rel)
}

fn run(file: &str) {
    let path = shared(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let results = tiaki_sigma::vectors::run_jsonl(file, &text);
    let failed: Vec<_> = results.iter().filter(|r| !r.passed).collect();
    for f in &failed {
        eprintln!("FAIL {}: {}", f.id, f.detail);
    }
    assert!(!results.is_empty(), "no vectors in {file}");
    eprintln!(
        "{file}: {} passed, {} failed",
        results.len() - failed.len(),
        failed.len()
    );
    assert!(
        failed.is_empty(),
        "{} of {} vectors failed in {file}",
        failed.len(),
        results.len()
    );
}

#[test]
fn curated_detection_vectors() {
    run("data/vectors/sigma/curated.jsonl");
}

#[test]
fn correlation_vectors() {
    run("data/vectors/sigma/correlation.jsonl");
}
