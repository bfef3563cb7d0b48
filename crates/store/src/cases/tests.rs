//! Unit tests of the case store: TLP labels, validation, keys, derived columns, the timeline
//! index and WAL reads.

use super::columns::{search_text, sortable_time, time_bound};
use super::detections::DET_COLS;
use super::*;
use crate::CaseStore;
use serde_json::{Value, json};
use tiaki::Detection;
use tiaki_report::Investigation;

fn det(i: u64, ts: &str, level: &str, host: &str, attack: &[&str]) -> Detection {
    serde_json::from_value(json!({
        "rule_id": format!("r-{}", i % 7),
        "rule_title": format!("Rule number {}", i % 7),
        "level": level,
        "timestamp": ts,
        "host": host,
        "attack": attack,
        "source": {"path": "C:/logs/Security.evtx", "record_id": i},
        "event": {"CommandLine": format!("cmd.exe /c whoami {i}"), "EventID": 4688},
        "kind": "detection",
        "rule_path": "rules/x.yml"
    }))
    .unwrap()
}

fn store_with_case() -> CaseStore {
    let mut s = CaseStore::in_memory().unwrap();
    s.ensure_case("c1", None, None, None).unwrap();
    s
}

#[test]
fn tlp_labels_are_canonical_and_ranked() {
    assert_eq!(canonical_tlp("amber+strict").unwrap(), "TLP:AMBER+STRICT");
    assert_eq!(canonical_tlp("tlp:white").unwrap(), "TLP:CLEAR");
    assert_eq!(canonical_tlp("RED").unwrap(), "TLP:RED");
    assert!(canonical_tlp("TLP:PURPLE").is_err());
    let ranks: Vec<u8> = [
        "TLP:CLEAR",
        "green",
        "TLP:AMBER",
        "TLP:AMBER+STRICT",
        "tlp:red",
    ]
    .iter()
    .map(|l| tlp_rank(l))
    .collect();
    assert_eq!(ranks, vec![0, 1, 2, 3, 4]);
    assert_eq!(tlp_rank("TLP:WHITE"), 0);
    assert_eq!(
        tlp_rank("garbage"),
        4,
        "unreadable labels are treated as RED"
    );
    assert_eq!(stricter("TLP:GREEN", "amber"), "TLP:AMBER");
    assert_eq!(stricter("TLP:RED", "TLP:CLEAR"), "TLP:RED");
    assert_eq!(stricter("TLP:GREEN", "nonsense"), "TLP:RED");
}

#[test]
fn case_names_tlp_and_metadata_are_validated_and_updated() {
    let mut s = CaseStore::in_memory().unwrap();
    let long = "a".repeat(65);
    for bad in ["", "a b", "x/y", "..", long.as_str(), "é"] {
        let e = s.ensure_case(bad, None, None, None).unwrap_err();
        assert!(matches!(e, StoreError::Invalid(_)), "{bad}: {e}");
    }
    let e = s.ensure_case("ok", None, None, Some("purple")).unwrap_err();
    assert!(e.to_string().contains("purple"), "{e}");
    let c = s.ensure_case("op.quiet-draft_1", None, None, None).unwrap();
    assert_eq!(
        (c.title.as_str(), c.tlp.as_str()),
        ("op.quiet-draft_1", "TLP:AMBER")
    );
    assert_eq!(c.status, "open");
    let c2 = s
        .ensure_case(
            "op.quiet-draft_1",
            Some("Quiet Draft"),
            Some("PDO"),
            Some("red"),
        )
        .unwrap();
    assert_eq!(c2.id, c.id);
    assert_eq!(
        (c2.title.as_str(), c2.organisation.as_str(), c2.tlp.as_str()),
        ("Quiet Draft", "PDO", "TLP:RED")
    );
    // None leaves metadata alone.
    let c3 = s.ensure_case("op.quiet-draft_1", None, None, None).unwrap();
    assert_eq!(c3, c2);
    s.set_case_status("op.quiet-draft_1", "closed").unwrap();
    assert_eq!(
        s.case("op.quiet-draft_1").unwrap().unwrap().status,
        "closed"
    );
    assert!(s.set_case_status("op.quiet-draft_1", "archived").is_err());
    assert!(matches!(
        s.set_case_status("nope", "open").unwrap_err(),
        StoreError::NotFound { kind: "case", .. }
    ));
    assert!(s.case("nope").unwrap().is_none());
}

#[test]
fn verdict_spellings_parse() {
    for (s, v) in [
        ("tp", Verdict::TruePositive),
        ("True-Positive", Verdict::TruePositive),
        ("true_positive", Verdict::TruePositive),
        ("FP", Verdict::FalsePositive),
        ("false positive", Verdict::FalsePositive),
        ("undetermined", Verdict::Undetermined),
    ] {
        assert_eq!(Verdict::parse(s).unwrap(), v, "{s}");
        assert_eq!(Verdict::parse(v.as_str()).unwrap(), v);
    }
    assert!(Verdict::parse("maybe").is_err());
    assert_eq!(VerdictFilter::parse("any").unwrap(), VerdictFilter::Any);
    assert_eq!(VerdictFilter::parse("tp").unwrap(), VerdictFilter::Tp);
    assert!(VerdictFilter::parse("undetermined").is_err());
}

#[test]
fn times_sort_in_time_order_whatever_the_precision() {
    let a = sortable_time("2026-03-01T10:00:00Z");
    let b = sortable_time("2026-03-01T10:00:00.5Z");
    let c = sortable_time("2026-03-01T12:00:00+01:00");
    assert!(a < b, "{a} {b}");
    assert_eq!(c, "2026-03-01T11:00:00.000000000Z");
    assert!(b < c);
    assert_eq!(
        time_bound("until", "2026-03-01", true).unwrap(),
        "2026-03-01\u{7f}"
    );
    assert!(time_bound("since", "yesterday", false).is_err());
}

#[test]
fn the_key_is_stable_across_a_json_round_trip() {
    let d = det(1, "2026-03-01T10:00:00Z", "high", "WS1", &["T1059.001"]);
    let back: Detection = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
    assert_eq!(key_of(&d).unwrap(), key_of(&back).unwrap());
    let other = det(2, "2026-03-01T10:00:00Z", "high", "WS1", &["T1059.001"]);
    assert_ne!(key_of(&d).unwrap(), key_of(&other).unwrap());
}

#[test]
fn search_text_covers_event_values_lower_cased() {
    let d = det(3, "2026-03-01T10:00:00Z", "high", "PDO-WEB01", &[]);
    let s = search_text(&d);
    assert!(s.contains("pdo-web01"));
    assert!(s.contains("cmd.exe /c whoami 3"));
    assert!(s.contains("4688"));
    assert!(s.contains("rule number 3"));
    assert_eq!(s, s.to_lowercase());
}

#[test]
fn indicator_hits_keep_a_stricter_tlp() {
    let mut s = store_with_case();
    let mut red: Detection = det(1, "2026-03-01T10:00:00Z", "high", "WS1", &[]);
    red.kind = tiaki::DetectionKind::Indicator;
    red.indicator = Some(
        serde_json::from_value(json!({
            "id": "indicator--1", "type": "ipv4", "value": "203.0.113.9",
            "source": "feed.json", "tlp": "TLP:RED"
        }))
        .unwrap(),
    );
    let mut green = red.clone();
    green.source.record_id = Some(2);
    green.indicator.as_mut().unwrap().tlp = Some("TLP:GREEN".into());
    let plain = det(3, "2026-03-01T10:00:00Z", "high", "WS1", &[]);
    s.add_detections("c1", &[red.clone(), green.clone(), plain.clone()], None)
        .unwrap();
    let tlp = |d: &Detection| s.detection("c1", &key_of(d).unwrap()).unwrap().unwrap().tlp;
    assert_eq!(tlp(&red), "TLP:RED");
    assert_eq!(
        tlp(&green),
        "TLP:AMBER",
        "a looser indicator TLP does not loosen"
    );
    assert_eq!(tlp(&plain), "TLP:AMBER");
    // The search text includes the indicator value.
    let q = DetectionQuery {
        text: Some("203.0.113.9".into()),
        ..Default::default()
    };
    assert_eq!(s.detections("c1", &q).unwrap().total, 2);
}

#[test]
fn incidents_take_the_strictest_tlp_of_their_detections() {
    let mut s = store_with_case();
    let a = det(1, "2026-03-01T10:00:00Z", "high", "WS1", &[]);
    let b = det(2, "2026-03-01T10:01:00Z", "high", "WS1", &[]);
    s.add_detections("c1", std::slice::from_ref(&a), None)
        .unwrap();
    s.add_detections("c1", std::slice::from_ref(&b), Some("TLP:RED"))
        .unwrap();
    let event = |d: &Detection| {
        json!({"index": 0, "kind": "detection", "rule_id": d.rule_id, "rule_title": d.rule_title,
               "level": "high", "timestamp": d.timestamp, "host": "WS1", "attack": [],
               "tactic": null, "source": d.source, "entities": [], "summary": "x"})
    };
    let incident = |id: &str, evs: Vec<Value>| {
        json!({"id": id, "title": "t", "severity": "high", "severity_reasons": [],
               "first_seen": null, "last_seen": null, "hosts": [], "accounts": [],
               "addresses": [], "web_shells": [], "techniques": [], "phases": [],
               "events": evs, "links": [], "narrative": ""})
    };
    let inv: Investigation = serde_json::from_value(json!({
        "incidents": [incident("INC-001", vec![event(&a)]), incident("INC-002", vec![event(&a), event(&b)])]
    }))
    .unwrap();
    s.save_analysis("c1", &inv).unwrap();
    let inc = s.incidents("c1").unwrap();
    assert_eq!(inc.len(), 2);
    assert_eq!(
        (inc[0].id.as_str(), inc[0].tlp.as_str()),
        ("INC-001", "TLP:AMBER")
    );
    assert_eq!(
        (inc[1].id.as_str(), inc[1].tlp.as_str()),
        ("INC-002", "TLP:RED")
    );
    assert_eq!(inc[1].detections, 2);
}

#[test]
fn the_timeline_pages_through_an_index_without_sorting() {
    let s = store_with_case();
    for desc in ["", " DESC"] {
        let sql = format!(
            "EXPLAIN QUERY PLAN SELECT {DET_COLS} FROM case_detections WHERE case_id = 1
             ORDER BY ts{desc}, path{desc}, record_id{desc}, line{desc}, id{desc} LIMIT 100 OFFSET 5000"
        );
        let mut st = s.conn.prepare(&sql).unwrap();
        let plan: Vec<String> = st
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let plan = plan.join("\n");
        assert!(plan.contains("case_detections_time"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}

#[test]
fn a_reader_is_not_blocked_by_an_open_write_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("case.db");
    let mut w = CaseStore::open(&p).unwrap();
    w.ensure_case("c1", None, None, None).unwrap();
    w.add_detections(
        "c1",
        &[det(1, "2026-03-01T10:00:00Z", "low", "A", &[])],
        None,
    )
    .unwrap();
    let mode: String = w
        .conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let r = CaseStore::open(&p).unwrap();
    r.conn
        .busy_timeout(std::time::Duration::from_millis(1))
        .unwrap();
    w.conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    w.conn
        .execute(
            "UPDATE case_cases SET title = 'uncommitted' WHERE name = 'c1'",
            [],
        )
        .unwrap();
    // Reads succeed at once and see the last committed state.
    let c = r.case("c1").unwrap().unwrap();
    assert_eq!(c.title, "c1");
    assert_eq!(r.cases().unwrap()[0].detections, 1);
    w.conn.execute_batch("COMMIT").unwrap();
    assert_eq!(r.case("c1").unwrap().unwrap().title, "uncommitted");
}
