//! `tiaki eval attribution` through the real binary: the JSON shape, and figure-for-figure
//! agreement with the reference script's quick run (`attrib_eval.py --quick`, kept as
//! `crates/intel/tests/reference/attrib_eval_quick.md`) when the reference's draws are replayed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn repo(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

fn shared(rel: &str) -> PathBuf {
    let p = repo("../shared").join(rel);
    assert!(p.exists(), "shared data missing: {}", p.display());
    p
}

fn tiaki(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tiaki"))
        .args(args)
        .env("TIAKI_HOME", home)
        .output()
        .expect("run tiaki")
}

fn assert_code(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stderr:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn json_report_on_the_starter_pack() {
    let home = tempfile::tempdir().unwrap();
    let pack = repo("intel/starter-pack.json");
    let o = tiaki(
        home.path(),
        &[
            "eval",
            "attribution",
            "--kb",
            pack.to_str().unwrap(),
            "--quick",
            "--format",
            "json",
        ],
    );
    assert_code(&o, 0);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["n_groups"], 12);
    assert_eq!(v["reps"], 5);
    let tables = v["tables"].as_array().unwrap();
    assert!(tables.iter().any(|t| t["protocol"] == "E3"));
    for t in tables {
        for m in t["methods"].as_array().unwrap() {
            assert!(m["method"].is_string());
        }
    }
    // Default: the pack alone (no store yet) also evaluates.
    let o = tiaki(home.path(), &["eval", "attribution", "--reps", "2"]);
    assert_code(&o, 0);
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("# Attribution benchmark"));
    let o = tiaki(home.path(), &["eval", "attribution", "--reps", "0"]);
    assert_code(&o, 2);
}

/// Method rows (the ten-column ones) of every E1/E2/E3 table of a Markdown report, keyed by
/// (protocol, setting).
fn tables(
    md: &str,
    heading: fn(&str) -> Option<(String, String)>,
) -> BTreeMap<(String, String), Vec<String>> {
    let mut out = BTreeMap::new();
    let mut cur: Option<(String, String)> = None;
    for line in md.lines() {
        if line.starts_with("## ") {
            cur = heading(line);
            if let Some(k) = &cur {
                out.entry(k.clone()).or_insert_with(Vec::new);
            }
        } else if let Some(k) = &cur
            && line.starts_with("| ")
            && !line.starts_with("| method")
            && line.matches('|').count() == 10
        {
            out.get_mut(k).unwrap().push(line.trim().to_owned());
        }
    }
    out.retain(|_, rows| !rows.is_empty());
    out
}

#[test]
fn replayed_quick_run_equals_the_reference_table_for_table() {
    let home = tempfile::tempdir().unwrap();
    let attack = shared("data/attack/enterprise-attack.json");
    let o = tiaki(
        home.path(),
        &[
            "eval",
            "attribution",
            "--kb",
            attack.to_str().unwrap(),
            "--quick",
            "--rng",
            "python",
            "--tune",
        ],
    );
    assert_code(&o, 0);
    let ours = String::from_utf8(o.stdout).unwrap();
    let reference =
        std::fs::read_to_string(repo("crates/intel/tests/reference/attrib_eval_quick.md")).unwrap();
    // Ours: "## E1 `clean|tech+sw` — …"; the reference: "## E1 campaign hold-out: clean|tech+sw",
    // "## E2 noisy k=3|fp=2:uniform (…)", "## E3 S2_report (…)".
    let ours = tables(&ours, |l| {
        let p = l.get(3..5)?.to_owned();
        let key = l.split('`').nth(1)?.to_owned();
        Some((p, key))
    });
    let reference = tables(&reference, |l| {
        let p = l.get(3..5)?.to_owned();
        let rest = l[5..].trim();
        let rest = rest
            .strip_prefix("campaign hold-out: ")
            .or_else(|| rest.strip_prefix("noisy "))
            .unwrap_or(rest);
        Some((p, rest.split_whitespace().next()?.to_owned()))
    });
    assert_eq!(reference.len(), 25, "{:?}", reference.keys());
    for (k, rows) in &reference {
        assert_eq!(ours.get(k), Some(rows), "table {k:?}");
    }
}
