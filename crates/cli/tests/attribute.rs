//! `tiaki attribute` through the real binary: the starter pack on a fresh machine, ATT&CK with
//! `--kb`, hunt detections as evidence, abstention on generic evidence, the errors, and the
//! analyst's table.

mod common;

use common::{
    assert_code, command_home as command, json_out, shared, stderr, stdout, tiaki_home as tiaki,
};

use std::io::Write;
use std::process::Stdio;

use serde_json::Value;

fn ids(a: &Value) -> Vec<String> {
    a["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Probabilities are in [0, 1], best first, ranked 1…n, and candidates + rest + unknown = 1.
fn assert_probabilities(a: &Value) {
    let cands = a["candidates"].as_array().unwrap();
    assert!(!cands.is_empty());
    let mut total = num(&a["rest"]) + num(&a["unknown"]);
    let mut last = f64::INFINITY;
    for (i, c) in cands.iter().enumerate() {
        let p = num(&c["probability"]);
        assert!((0.0..=1.0).contains(&p), "{c}");
        assert!(p <= last + 1e-12, "not best first: {p} after {last}");
        assert_eq!(c["rank"], i + 1);
        last = p;
        total += p;
    }
    assert!((total - 1.0).abs() < 1e-6, "probabilities sum to {total}");
}

/// The evidence item of a candidate whose `item` starts with `prefix`.
fn item<'a>(c: &'a Value, prefix: &str) -> &'a Value {
    c["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["item"].as_str().unwrap().starts_with(prefix))
        .unwrap_or_else(|| panic!("no evidence item {prefix} in {c:#}"))
}

#[test]
fn distinctive_software_attributes_to_leviathan_on_the_starter_pack() {
    let home = tempfile::tempdir().unwrap();
    // NanHaiShu, Orz and HOMEFRY: families only Leviathan (APT40) uses in the pack; given by
    // name, by id and by lower-case name. Its spear-phishing and Office exploitation.
    let o = tiaki(
        home.path(),
        &[
            "attribute",
            "--software",
            "NanHaiShu",
            "-s",
            "S0229",
            "-s",
            "homefry",
            "--technique",
            "attack.t1566.001,T1203",
            "--format",
            "json",
        ],
    );
    assert_code(&o, 0);
    let a = json_out(&o);
    assert_probabilities(&a);
    assert_eq!(ids(&a)[0], "G0065");
    let top = &a["candidates"][0];
    assert_eq!(top["name"], "Leviathan");
    assert!(num(&top["probability"]) > 0.7, "{top:#}");
    assert_eq!(a["verdict"]["kind"], "attributed");
    assert_eq!(a["verdict"]["id"], "G0065");
    assert_eq!(a["summary"]["software"], 3);
    assert_eq!(a["summary"]["techniques"], 2);
    assert_eq!(a["groups_ranked"], 12);
    // The families are the evidence for it, with the pack's citations.
    for (s, source) in [
        ("S0228 NanHaiShu", "CISA AA21-200A"),
        ("S0229 Orz", "CISA AA21-200A"),
        ("S0232 HOMEFRY", "FireEye Periscope"),
    ] {
        let it = item(top, s);
        assert_eq!(it["channel"], "software");
        assert_eq!(it["direction"], "for");
        assert_eq!(it["observed"], true);
        assert!(num(&it["weight"]) > 1.0, "{it}");
        assert!(it["why"].as_str().unwrap().contains(source), "{it}");
    }
    // The runner-up is far behind, and unknown is small.
    assert!(num(&a["candidates"][1]["probability"]) < 0.1);
    assert!(num(&a["unknown"]) < 0.2);

    // The same techniques without the families do not attribute.
    let o = tiaki(
        home.path(),
        &[
            "attribute",
            "-t",
            "T1566.001",
            "-t",
            "T1203",
            "--format",
            "json",
        ],
    );
    assert_code(&o, 0);
    assert_eq!(json_out(&o)["verdict"]["kind"], "insufficient-evidence");
}

#[test]
fn context_from_the_knowledge_base_moves_the_right_group() {
    let home = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "attribute",
            "-t",
            "T1059",
            "--top",
            "12",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        let o = tiaki(home.path(), &args);
        assert_code(&o, 0);
        json_out(&o)
    };
    let cand = |a: &Value, id: &str| -> Value {
        a["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()
            .clone()
    };
    let logit = |a: &Value, id: &str| num(&cand(a, id)["logit"]);
    let base = run(&[]);
    // Log4Shell: the pack records APT40 and APT41 exploiting it (CISA AA24-190A for APT40).
    let cve = run(&["--cve", "cve-2021-44228"]);
    let lev = cand(&cve, "G0065");
    let it = item(&lev, "CVE-2021-44228");
    assert_eq!(it["channel"], "vulnerability");
    assert!(num(&it["weight"]) > 0.5);
    assert!(
        it["why"].as_str().unwrap().contains("CISA AA24-190A"),
        "{it}"
    );
    // The two sets on record gain the item's weight in log-odds; a set not on record does not.
    for id in ["G0065", "G0096"] {
        assert!(logit(&cve, id) > logit(&base, id) + 0.5, "{id}");
    }
    assert!((logit(&cve, "G0016") - logit(&base, "G0016")).abs() < 1e-6);
    assert!(num(&lev["rank"]) < num(&cand(&base, "G0065")["rank"]));
    assert_eq!(cve["summary"]["cves"], 1);
    // A Wednesday morning in Beijing: APT40's working window (the pack's activity hours).
    let hours = run(&["--time", "2021-03-03T02:15:00Z,2021-03-03T03:40:00Z"]);
    assert_eq!(hours["summary"]["activity_hours"], 2);
    let lev = cand(&hours, "G0065");
    assert_eq!(item(&lev, "2 of 2")["channel"], "working-hours");
    assert!(logit(&hours, "G0065") > logit(&base, "G0065"));
}

#[test]
fn attack_bundle_ranks_turla_with_attack_ids() {
    let home = tempfile::tempdir().unwrap();
    let attack = shared("data/attack/enterprise-attack.json");
    // Turla's own families (Carbon, Kazuar, ComRAT) and techniques ATT&CK records for it.
    let o = tiaki(
        home.path(),
        &[
            "attribute",
            "--kb",
            attack.to_str().unwrap(),
            "-s",
            "Carbon",
            "-s",
            "S0265",
            "-s",
            "ComRAT",
            "-t",
            "T1584.006,T1055.001,T1071.003,T1546.013,T1102.002",
            "--format",
            "json",
        ],
    );
    assert_code(&o, 0);
    let a = json_out(&o);
    assert_probabilities(&a);
    let ids = ids(&a);
    assert_eq!(ids.len(), 10);
    assert!(
        ids[..3].contains(&"G0010".to_owned()),
        "Turla not in the top 3: {ids:?}"
    );
    // ATT&CK external ids, not STIX ids.
    for id in &ids {
        assert!(
            id.len() == 5 && id.starts_with('G') && id[1..].chars().all(|c| c.is_ascii_digit()),
            "{id}"
        );
    }
    assert!(num(&a["groups_ranked"]) > 150.0);
    let turla = a["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "G0010")
        .unwrap();
    assert_eq!(turla["name"], "Turla");
    assert_eq!(item(turla, "S0335 Carbon")["direction"], "for");
    assert!(a["verdict"]["kind"].is_string());
}

#[test]
fn detections_from_the_hunt_are_evidence() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("detections.jsonl");
    // The hunt's JSONL contract, one malformed line among them.
    std::fs::write(
        &file,
        concat!(
            r#"{"rule_id": "web-shell-1", "rule_title": "Web shell in IIS directory", "level": "high", "timestamp": "2021-03-03T02:15:00Z", "host": "web01", "attack": ["attack.t1505.003", "attack.persistence"], "source": {"path": "u_ex210303.log", "line": 17}, "event": {"cs-uri-stem": "/aspnet_client/a.aspx"}}"#,
            "\n",
            r#"{"rule_id": "broken", "level": "#,
            "\n\n",
            r#"{"rule_id": "nanhaishu-1", "rule_title": "NanHaiShu launcher", "level": "critical", "timestamp": "2021-03-03T03:40:00Z", "host": "ws07", "attack": ["attack.s0228", "attack.t1190", "attack.initial_access"], "source": {"path": "Security.evtx", "record_id": 4242}, "event": {"Image": "C:\\Windows\\mshta.exe"}}"#,
            "\n",
        ),
    )
    .unwrap();
    let o = tiaki(
        home.path(),
        &[
            "attribute",
            "--detections",
            file.to_str().unwrap(),
            "--software",
            "Orz",
            "--format",
            "json",
        ],
    );
    assert_code(&o, 0);
    let err = stderr(&o);
    assert!(
        err.contains("detections.jsonl:2: line skipped"),
        "skipped line not reported: {err}"
    );
    assert!(err.contains("2 detections read, 1 lines skipped"), "{err}");
    let a = json_out(&o);
    assert_probabilities(&a);
    // T1505.003 and T1190 from the tags (the tactics are not techniques), NanHaiShu from the
    // tags and Orz from the flag, two activity hours from the timestamps.
    assert_eq!(a["summary"]["techniques"], 2, "{}", a["summary"]);
    assert_eq!(a["summary"]["software"], 2, "{}", a["summary"]);
    assert_eq!(a["summary"]["activity_hours"], 2, "{}", a["summary"]);
    assert_eq!(ids(&a)[0], "G0065");
    let top = &a["candidates"][0];
    // The rule that saw the family is named.
    assert!(
        item(top, "S0228")["item"]
            .as_str()
            .unwrap()
            .contains("nanhaishu-1"),
        "{top:#}"
    );

    // The same detections on standard input.
    let mut child = command(home.path(), &["attribute", "-d", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(&file).unwrap())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_code(&o, 0);
    assert!(stderr(&o).contains("standard input:2: line skipped"));
    let b = json_out(&o);
    assert_eq!(b["summary"]["software"], 1);
    assert_eq!(b["summary"]["techniques"], 2);
}

#[test]
fn generic_evidence_is_insufficient() {
    let home = tempfile::tempdir().unwrap();
    let o = tiaki(
        home.path(),
        &["attribute", "-t", "T1059", "--format", "json"],
    );
    assert_code(&o, 0);
    let a = json_out(&o);
    assert_probabilities(&a);
    let v = &a["verdict"];
    assert_eq!(v["kind"], "insufficient-evidence", "{v}");
    assert!(v["reason"].as_str().unwrap().len() > 10);
    assert_eq!(v["hypotheses"].as_array().unwrap().len(), 10);
    assert!(num(&a["unknown"]) > 0.2, "{}", a["unknown"]);
    // A stricter threshold, and a lower one that lets the same evidence through.
    let o = tiaki(
        home.path(),
        &[
            "attribute",
            "-s",
            "NanHaiShu",
            "-s",
            "Orz",
            "--threshold",
            "0.999",
            "--format",
            "json",
        ],
    );
    assert_code(&o, 0);
    let a = json_out(&o);
    assert_eq!(a["verdict"]["kind"], "insufficient-evidence");
    assert_eq!(a["verdict"]["threshold"], 0.999);
    assert_eq!(ids(&a)[0], "G0065");
}

#[test]
fn errors_and_warnings() {
    let home = tempfile::tempdir().unwrap();
    // No evidence at all.
    let o = tiaki(home.path(), &["attribute"]);
    assert_code(&o, 2);
    let err = stderr(&o);
    assert!(err.contains("no evidence"), "{err}");
    assert!(
        err.contains("--technique") && err.contains("--detections"),
        "{err}"
    );
    assert!(o.stdout.is_empty());
    // Detections that carry nothing usable.
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("tactics.jsonl");
    std::fs::write(
        &empty,
        "{\"rule_id\": \"r\", \"attack\": [\"attack.execution\"]}\nnot json\n",
    )
    .unwrap();
    let o = tiaki(
        home.path(),
        &["attribute", "--detections", empty.to_str().unwrap()],
    );
    assert_code(&o, 2);
    assert!(stderr(&o).contains("no evidence"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("tactics.jsonl (1 detections)"),
        "{}",
        stderr(&o)
    );
    // A detections file that does not exist.
    let missing = dir.path().join("nope.jsonl");
    let o = tiaki(
        home.path(),
        &["attribute", "-t", "T1190", "-d", missing.to_str().unwrap()],
    );
    assert_code(&o, 2);
    assert!(stderr(&o).contains("nope.jsonl"), "{}", stderr(&o));
    // An unreadable knowledge base.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"type\": \"bundle\", \"objects\": [").unwrap();
    let o = tiaki(
        home.path(),
        &["attribute", "-t", "T1190", "--kb", bad.to_str().unwrap()],
    );
    assert_code(&o, 2);
    assert!(stderr(&o).contains("bad.json"), "{}", stderr(&o));
    // Out-of-range options.
    for args in [
        ["attribute", "-t", "T1190", "--threshold", "1.5"],
        ["attribute", "-t", "T1190", "--unknown-prior", "1"],
        ["attribute", "-t", "T1190", "--top", "0"],
    ] {
        assert_code(&tiaki(home.path(), &args), 2);
    }
    // Unknown names are warnings: the assessment still completes.
    let o = tiaki(
        home.path(),
        &[
            "attribute",
            "-t",
            "T9999,T1190",
            "-s",
            "NoSuchMalware",
            "--tag",
            "attack.initial_access",
            "--format",
            "json",
        ],
    );
    assert_code(&o, 0);
    let err = stderr(&o);
    for w in ["T9999", "NoSuchMalware", "attack.initial_access"] {
        assert!(err.contains(w), "no warning for {w}: {err}");
    }
    let a = json_out(&o);
    let unresolved: Vec<&str> = a["unresolved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["item"].as_str().unwrap())
        .collect();
    assert!(unresolved.contains(&"T9999") && unresolved.contains(&"NoSuchMalware"));
    assert_eq!(a["summary"]["techniques"], 1);
}

#[test]
fn the_table_is_for_an_analyst() {
    let home = tempfile::tempdir().unwrap();
    let o = tiaki(
        home.path(),
        &[
            "attribute",
            "-s",
            "NanHaiShu",
            "-s",
            "Orz",
            "-s",
            "NoSuch,Malware",
            "-t",
            "T1566.001",
        ],
    );
    assert_code(&o, 0);
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("Verdict: attributed to G0065 Leviathan"),
        "{out}"
    );
    assert!(lines[0].contains("APT40"), "key alias: {}", lines[0]);
    assert!(lines[1].starts_with("P(unknown"), "{out}");
    let header = lines.iter().position(|l| l.starts_with("RANK")).unwrap();
    let first: Vec<&str> = lines[header + 1].split_whitespace().collect();
    assert_eq!(&first[..3], ["1", "G0065", "Leviathan"], "{out}");
    assert!(out.contains("(unknown actor)"));
    // The evidence for the leader, with weights, then the inputs not used.
    assert!(out.contains("G0065 Leviathan ("), "{out}");
    assert!(out.contains("  for:"));
    assert!(out.contains("S0229 Orz"));
    let warnings = out
        .find("Warnings: inputs not used")
        .expect("warnings section");
    assert!(
        out[warnings..].contains("'NoSuch,Malware'"),
        "software names are not split on commas: {out}"
    );

    // --output writes the same report to a file; the warnings then go to stderr as well.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("assessment.txt");
    let o = tiaki(
        home.path(),
        &[
            "attribute",
            "-s",
            "NanHaiShu",
            "-s",
            "Orz",
            "-s",
            "NoSuch,Malware",
            "-t",
            "T1566.001",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert_code(&o, 0);
    assert!(o.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), out);
    assert!(stderr(&o).contains("NoSuch,Malware"));
}
