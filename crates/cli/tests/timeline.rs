//! `tiaki timeline` end to end: Timesketch columns, time order, detections.

mod common;

use common::*;
use serde_json::Value;

#[test]
fn timeline_jsonl_is_time_ordered_with_detections() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(dir.path(), "spray.yml", SPRAY_RULES);
    let o = tiaki([
        "timeline".as_ref(),
        samples("Credential Access").as_os_str(),
        "--rules".as_ref(),
        rules.as_os_str(),
        "--format".as_ref(),
        "jsonl".as_ref(),
        // A tiny sort budget forces the external sort to spill and merge.
        "--sort-memory".as_ref(),
        "1".as_ref(),
    ]);
    assert_code(&o, 0);
    let rows = jsonl(&o);
    let dump = jsonl(&tiaki([
        "dump".as_ref(),
        samples("Credential Access").as_os_str(),
    ]));
    // Every event once, plus the correlation alert.
    assert_eq!(rows.len(), dump.len() + 1);
    for r in &rows {
        for k in [
            "datetime",
            "timestamp",
            "timestamp_desc",
            "message",
            "tiaki_source",
        ] {
            assert!(r.get(k).is_some(), "{k} missing: {r}");
        }
        assert!(!r["message"].as_str().unwrap().is_empty());
    }
    let stamps: Vec<i64> = rows
        .iter()
        .map(|r| r["timestamp"].as_i64().unwrap())
        .collect();
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "not in time order");
    // Event fields are attributes; detections annotate their event.
    let hits: Vec<&Value> = rows
        .iter()
        .filter(|r| r.get("tiaki_detections").is_some() && r["tiaki_format"] == "evtx")
        .collect();
    assert_eq!(hits.len(), 7);
    for h in &hits {
        assert_eq!(h["EventID"], 4768);
        assert!(
            h["message"]
                .as_str()
                .unwrap()
                .starts_with("[Kerberos TGT request")
        );
        assert_eq!(h["tiaki_attack"], serde_json::json!(["T1110.003"]));
    }
    let alert = rows
        .iter()
        .find(|r| r["tiaki_format"] == "correlation")
        .unwrap();
    assert!(
        alert["message"]
            .as_str()
            .unwrap()
            .contains("password spraying")
    );
}

#[test]
fn timeline_csv_has_timesketch_columns() {
    let o = tiaki([
        "timeline".as_ref(),
        samples("Execution").as_os_str(),
        "--rules".as_ref(),
        sigma("rules/windows/process_creation").as_os_str(),
        "--format".as_ref(),
        "csv".as_ref(),
    ]);
    assert_code(&o, 0);
    let mut r = csv::Reader::from_reader(o.stdout.as_slice());
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        &header[..4],
        ["datetime", "timestamp", "timestamp_desc", "message"]
    );
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert!(rows.len() > 100);
    let mut last = String::new();
    let mut detections = 0;
    for row in &rows {
        let dt = row[0].to_string();
        chrono::DateTime::parse_from_rfc3339(&dt).unwrap();
        assert!(dt >= last || dt.len() != last.len(), "{last} then {dt}");
        last = dt;
        serde_json::from_str::<Value>(&row[14]).unwrap();
        if !row[11].is_empty() {
            detections += 1;
        }
    }
    assert!(detections > 10);
}

#[test]
fn timeline_without_rules_lists_events() {
    let file = samples("Credential Access/kerberos_pwd_spray_4771.evtx");
    let o = tiaki(["timeline".as_ref(), file.as_os_str()]);
    assert_code(&o, 0);
    let rows = jsonl(&o);
    assert_eq!(rows.len(), 12);
    assert!(rows.iter().all(|r| r.get("tiaki_detections").is_none()));
    assert_eq!(rows[0]["timestamp_desc"], "Event Time");
}
