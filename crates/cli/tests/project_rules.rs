//! Every rule tiaki ships in `rules/` has a test in `rules/tests/<rule name>/`: evidence that
//! must fire it (`match.*`) and evidence that must not (`nomatch.*`), in the formats the
//! readers take (evtx_dump JSON lines, IIS W3C, syslog, Zeek). The evidence goes through the
//! real binary — format sniffing, log-source routing, field maps, placeholders — so a test
//! fails when any of those breaks a rule, not only when its detection logic does.
//!
//! Detection rules must fire on every record of `match.*`; correlation rules at least once.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One project rule: file, id, name, whether it is a correlation.
struct RuleInfo {
    file: PathBuf,
    id: String,
    name: String,
    correlation: bool,
}

fn field(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}: ")))
        .map(|v| v.trim().to_owned())
}

fn project_rules() -> Vec<RuleInfo> {
    let mut out = Vec::new();
    for dir in ["windows", "web", "linux", "network", "correlation"] {
        let d = repo().join("rules").join(dir);
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
        files.sort();
        for file in files {
            if file.extension().is_none_or(|e| e != "yml") {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            out.push(RuleInfo {
                id: field(&text, "id").unwrap_or_else(|| panic!("{} has no id", file.display())),
                name: field(&text, "name")
                    .unwrap_or_else(|| panic!("{} has no name", file.display())),
                correlation: text.lines().any(|l| l == "correlation:"),
                file,
            });
        }
    }
    out
}

/// The evidence entries (files or folders) of a test whose name starts with `kind.` or is
/// `kind`.
fn cases(dir: &Path, kind: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            n == kind || n.starts_with(&format!("{kind}."))
        })
        .collect();
    v.sort();
    v
}

/// Records in an evidence file or folder: its non-empty lines that are not `#` headers.
fn records(path: &Path) -> usize {
    if path.is_dir() {
        return std::fs::read_dir(path)
            .unwrap()
            .map(|e| records(&e.unwrap().path()))
            .sum();
    }
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .count()
}

/// Detections of rule `id` on `evidence`, as (path, record id or line) pairs.
fn fired(evidence: &Path, id: &str) -> Vec<(String, u64)> {
    let out = Command::new(env!("CARGO_BIN_EXE_tiaki"))
        .arg("hunt")
        .arg(evidence)
        .arg("--rules")
        .arg(repo().join("rules"))
        .arg("--placeholders")
        .arg(repo().join("examples/parliament/placeholders.yml"))
        .args(["--format", "jsonl"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "hunt failed on {}: {}",
        evidence.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|d| d["rule_id"] == id)
        .map(|d| {
            let s = &d["source"];
            (
                s["path"].as_str().unwrap().to_owned(),
                s["record_id"].as_u64().or(s["line"].as_u64()).unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn every_project_rule_has_a_passing_test() {
    let rules = project_rules();
    assert!(
        rules.len() >= 25,
        "only {} project rules found",
        rules.len()
    );
    let mut failures = Vec::new();
    for r in &rules {
        let dir = repo().join("rules/tests").join(&r.name);
        if !dir.is_dir() {
            failures.push(format!(
                "{}: no test folder {}",
                r.file.display(),
                dir.display()
            ));
            continue;
        }
        let matches = cases(&dir, "match");
        let nomatches = cases(&dir, "nomatch");
        if matches.is_empty() || nomatches.is_empty() {
            failures.push(format!("{}: needs match.* and nomatch.*", dir.display()));
            continue;
        }
        for m in &matches {
            let hits = fired(m, &r.id);
            let distinct: BTreeSet<_> = hits.iter().collect();
            let want = records(m);
            if r.correlation {
                if hits.is_empty() {
                    failures.push(format!("{}: correlation did not fire", m.display()));
                }
            } else if distinct.len() != want {
                failures.push(format!(
                    "{}: fired on {} of {} records",
                    m.display(),
                    distinct.len(),
                    want
                ));
            }
        }
        for n in &nomatches {
            let hits = fired(n, &r.id);
            if !hits.is_empty() {
                failures.push(format!(
                    "{}: fired {} times, expected none",
                    n.display(),
                    hits.len()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_test_folder_without_a_rule_is_an_error() {
    let names: BTreeSet<String> = project_rules().into_iter().map(|r| r.name).collect();
    for e in std::fs::read_dir(repo().join("rules/tests")).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            assert!(names.contains(&n), "rules/tests/{n} tests no rule");
        }
    }
}
