//! `tiaki rules check` and `tiaki rules vectors` through the real binary.

use std::path::PathBuf;
use std::process::Command;

fn tiaki() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tiaki"))
}

fn shared(rel: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(rel);
    assert!(p.exists(), "shared data missing: {}", p.display());
    p
}

#[test]
fn check_loads_every_sigmahq_rule() {
    let out = tiaki()
        .args(["rules", "check"])
        .arg(shared("data/sigma/rules"))
        .arg(shared("data/sigma/rules-emerging-threats"))
        .arg(shared("data/sigma/rules-threat-hunting"))
        .arg(shared("data/sigma/rules-placeholder"))
        .arg(shared("data/sigma/rules-compliance"))
        .arg(shared("data/sigma/rules-dfir"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.trim_end().ends_with("3780 rules loaded, 0 rejected"),
        "{stdout}"
    );
    assert!(out.status.success());
}

#[test]
fn strict_placeholders_reject_with_file_line_and_reason() {
    let out = tiaki()
        .args(["rules", "check", "--strict-placeholders"])
        .arg(shared("data/sigma/rules-placeholder"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let errors: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert!(!errors.is_empty());
    for e in &errors {
        assert!(e.contains(".yml:"), "no file:line in {e}");
        assert!(e.contains("placeholder '%"), "no reason in {e}");
    }
    assert!(
        stdout.contains(&format!("{} rejected", errors.len())),
        "{stdout}"
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn check_reports_broken_rules_and_keeps_going() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("good.yml"),
        "title: Good\nlogsource: {product: windows}\ndetection:\n  sel: {A: x}\n  condition: sel\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("bad_modifier.yml"),
        "title: Bad\nlogsource: {product: windows}\ndetection:\n  sel:\n    A|contain: x\n  condition: sel\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("bad_yaml.yml"), "title: [unclosed\n").unwrap();
    std::fs::write(dir.path().join("not_utf8.yml"), b"title: \xff\xfe\n").unwrap();
    let out = tiaki()
        .args(["rules", "check"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("bad_modifier.yml:5: rule 'Bad': unknown modifier 'contain'"),
        "{stdout}"
    );
    assert!(stdout.contains("bad_yaml.yml:"), "{stdout}");
    assert!(
        stdout.contains("not_utf8.yml: the file is not valid UTF-8"),
        "{stdout}"
    );
    assert!(
        stdout.trim_end().ends_with("1 rules loaded, 3 rejected"),
        "{stdout}"
    );
    assert_eq!(out.status.code(), Some(1));

    let json = tiaki()
        .args(["rules", "check", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["loaded"], 1);
    assert_eq!(v["rejected"], 3);
    assert_eq!(v["errors"].as_array().unwrap().len(), 3);
}

#[test]
fn check_validates_correlation_references() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("corr.yml"),
        "title: Many\ncorrelation:\n  type: event_count\n  rules: [no_such_rule]\n  group-by: [User]\n  timespan: 5m\n  condition: {gte: 3}\n",
    )
    .unwrap();
    let out = tiaki()
        .args(["rules", "check"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("no_such_rule"), "{stdout}");
    assert!(
        stdout.trim_end().ends_with("0 rules loaded, 1 rejected"),
        "{stdout}"
    );
}

#[test]
fn vectors_pass_and_a_wrong_expectation_fails() {
    let out = tiaki()
        .args(["rules", "vectors"])
        .arg(shared("data/vectors/sigma/curated.jsonl"))
        .arg(shared("data/vectors/sigma/correlation.jsonl"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.trim_end().ends_with("246 passed, 0 failed"),
        "{stdout}"
    );
    assert!(out.status.success());

    // A vector whose expectation is wrong must be reported with its id.
    let dir = tempfile::tempdir().unwrap();
    let bad = serde_json::json!({
        "id": "wrong.001#0", "kind": "detection",
        "rule": "title: t\nlogsource: {product: test}\ndetection:\n  sel: {A: x}\n  condition: sel\n",
        "event": {"A": "x"}, "expected": false
    });
    let path = dir.path().join("bad.jsonl");
    std::fs::write(&path, format!("{bad}\n")).unwrap();
    let out = tiaki()
        .args(["rules", "vectors"])
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("FAIL wrong.001#0"), "{stdout}");
    assert!(
        stdout.trim_end().ends_with("0 passed, 1 failed"),
        "{stdout}"
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn project_rules_load() {
    let rules = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../rules");
    let out = tiaki()
        .args(["rules", "check"])
        .arg(rules)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(" 0 rejected"), "{stdout}");
    assert!(out.status.success());
}

/// The README's quick start: the bundled example hunted with the project's
/// rules gives the web shell story, host included, and the correlation.
/// `tiaki hunt examples/quickstart --rules rules EXTRA... --format jsonl`, from the
/// repository root; the detections, after checking the run succeeded.
fn quickstart_hunt(extra: &[&str]) -> Vec<serde_json::Value> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = tiaki()
        .current_dir(&root)
        .args(["hunt", "examples/quickstart", "--rules", "rules"])
        .args(extra)
        .args(["--format", "jsonl"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn quickstart_example_hunt() {
    let detections = quickstart_hunt(&[]);
    let mut titles: Vec<&str> = detections
        .iter()
        .map(|d| d["rule_title"].as_str().unwrap())
        .collect();
    titles.sort_unstable();
    assert_eq!(
        titles,
        vec![
            "Active Directory Database Copied With Ntdsutil IFM",
            "Certutil Downloads a File",
            "IIS Worker Process Spawns a Command Shell",
            "IIS Worker Process Spawns a Command Shell",
            "Web Shell Activity Followed by Domain Credential Theft",
            "Web Shell Command in an ASPX Request",
            "Web Shell Command in an ASPX Request",
        ]
    );
    assert!(
        detections.iter().all(|d| d["host"] == "PCO-WEB01"),
        "{detections:?}"
    );
    let ntds = detections
        .iter()
        .find(|d| d["rule_title"] == "Active Directory Database Copied With Ntdsutil IFM")
        .unwrap();
    assert_eq!(ntds["level"], "critical");
    assert_eq!(ntds["attack"], serde_json::json!(["T1003.003"]));
    assert_eq!(ntds["timestamp"], "2021-03-15T02:31:44Z");
}

/// The README's quick start with the partner advisory and the YARA pack: the relay address,
/// the download URL and the shell's name hit as indicators linked to APT40 under TLP:AMBER,
/// the request-then-IFM sequence completes, and the shell in the web root is found by YARA.
#[test]
fn quickstart_example_hunt_with_intel_and_yara() {
    let detections = quickstart_hunt(&["--intel", "examples/intel", "--yara-pack"]);
    let of_kind = |k: &'static str| detections.iter().filter(move |d| d["kind"] == k);
    assert_eq!(of_kind("detection").count(), 6);
    assert_eq!(of_kind("correlation").count(), 1);
    let mut values: Vec<&str> = of_kind("indicator")
        .map(|d| d["indicator"]["value"].as_str().unwrap())
        .collect();
    values.sort_unstable();
    values.dedup();
    assert_eq!(
        values,
        vec!["203.0.113.77", "errors.aspx", "http://203.0.113.77/s.txt"]
    );
    for d in of_kind("indicator") {
        assert_eq!(d["indicator"]["tlp"], "TLP:AMBER", "{d}");
        assert_eq!(d["indicator"]["intrusion_set"], "APT40", "{d}");
        assert_eq!(d["level"], "high", "{d}");
    }
    let sequence: Vec<_> = of_kind("indicator")
        .filter(|d| d["indicator"]["type"] == "pattern")
        .collect();
    assert_eq!(sequence.len(), 1, "{sequence:?}");
    assert_eq!(sequence[0]["source"]["record_id"], 105);
    assert!(
        sequence[0]["event"]["observations"]
            .as_array()
            .unwrap()
            .len()
            >= 2
    );
    let yara: Vec<_> = of_kind("yara").collect();
    assert_eq!(yara.len(), 1, "{yara:?}");
    assert!(
        yara[0]["source"]["path"]
            .as_str()
            .unwrap()
            .ends_with("errors.aspx")
    );
    assert_eq!(yara[0]["attack"], serde_json::json!(["T1505.003"]));
}
