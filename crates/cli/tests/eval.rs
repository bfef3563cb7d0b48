//! `tiaki eval attribution` through the real binary: the JSON shape, and figure-for-figure
//! agreement of every baseline with the reference script's quick run (`attrib_eval.py --quick`,
//! kept as `crates/intel/tests/reference/attrib_eval_quick.md`) when the reference's draws are
//! replayed, with tiaki's rows next to them.

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
    let b = &v["benchmark"];
    assert_eq!(b["n_groups"], 12);
    assert_eq!(b["reps"], 5);
    let tables = b["tables"].as_array().unwrap();
    assert!(tables.iter().any(|t| t["protocol"] == "E3"));
    let mut tiaki_rows = 0;
    for t in tables {
        for m in t["methods"].as_array().unwrap() {
            assert!(m["method"].is_string());
            if m["method"] == "tiaki" {
                tiaki_rows += 1;
            }
        }
    }
    assert!(
        tiaki_rows >= 3,
        "tiaki ranked in the E3 tables: {tiaki_rows}"
    );
    // What the benchmark harness alone does not report.
    let open = v["open_world"].as_array().unwrap();
    assert_eq!(open.len(), 4, "E1 and E3/S2, both priors");
    for r in open {
        let u = r["unknown_when_known"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&u));
        assert!(!r["verdicts"].as_array().unwrap().is_empty());
    }
    assert!(!v["inference"]["results"].as_array().unwrap().is_empty());
    assert_eq!(v["timing"]["groups"], 12);
    assert!(v["timing"]["score_micros"].as_f64().unwrap() > 0.0);
    assert!(v["params"].is_object());
    // --baselines-only: the harness alone, the same benchmark shape under "benchmark".
    let o = tiaki(
        home.path(),
        &[
            "eval",
            "attribution",
            "--kb",
            pack.to_str().unwrap(),
            "--quick",
            "--baselines-only",
            "--format",
            "json",
        ],
    );
    assert_code(&o, 0);
    let base: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(base.get("open_world").is_none());
    let bt = base["benchmark"]["tables"].as_array().unwrap();
    assert_eq!(bt.len(), tables.len());
    for (x, y) in bt.iter().zip(tables) {
        let methods = |t: &Value| -> Vec<Value> {
            t["methods"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| !m["method"].as_str().unwrap().starts_with("tiaki"))
                .cloned()
                .collect()
        };
        assert!(
            x["methods"]
                .as_array()
                .unwrap()
                .iter()
                .all(|m| !m["method"].as_str().unwrap().starts_with("tiaki"))
        );
        assert_eq!(methods(x), methods(y), "baselines agree in {}", x["key"]);
    }
    // Default: the pack alone (no store yet) also evaluates.
    let o = tiaki(home.path(), &["eval", "attribution", "--reps", "2"]);
    assert_code(&o, 0);
    let md = String::from_utf8_lossy(&o.stdout);
    assert!(md.starts_with("# Attribution benchmark"));
    assert!(md.contains("## Open world"));
    assert!(md.contains("| tiaki |"));
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
        // tiaki's own rows stand next to the baselines; every baseline row is the reference's.
        let (model, baselines): (Vec<String>, Vec<String>) = ours
            .get(k)
            .unwrap_or_else(|| panic!("table {k:?} missing"))
            .iter()
            .cloned()
            .partition(|r| r.starts_with("| tiaki"));
        assert_eq!(&baselines, rows, "table {k:?}");
        assert_eq!(
            model.len(),
            2,
            "tiaki and tiaki-uniform in {k:?}: {model:?}"
        );
    }
}
