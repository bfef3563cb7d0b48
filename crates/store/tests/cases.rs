//! The case store on a real SQLite file: every step reopens the file, so what is asserted is
//! what persisted.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tiaki::Detection;
use tiaki_report::Investigation;
use tiaki_store::cases::{
    DetectionQuery, IntegrityCheck, ItemRef, NewEvidence, NoteTarget, RunFile, RunRecord, Verdict,
    VerdictFilter, key_of, tlp_rank,
};
use tiaki_store::{CaseStore, StoreError};

const SHA_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const SHA_B: &str = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";

fn db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cases").join("store.db");
    (dir, p)
}

fn open(p: &Path) -> CaseStore {
    CaseStore::open(p).unwrap()
}

/// A detection: `i` is the record id; the rest are the fields the filters look at.
fn det(i: u64, ts: &str, level: &str, host: &str, attack: &[&str], cmd: &str) -> Detection {
    serde_json::from_value(json!({
        "rule_id": format!("rule-{level}"),
        "rule_title": format!("Suspicious {level} activity"),
        "level": level,
        "timestamp": ts,
        "host": host,
        "attack": attack,
        "source": {"path": "evidence/Security.evtx", "record_id": i},
        "event": {"CommandLine": cmd, "EventID": 4688, "User": "PDO\\svc_web"},
        "kind": "detection",
        "rule_path": "rules/windows.yml"
    }))
    .unwrap()
}

/// Ten detections over two hosts, three levels, three techniques.
fn sample() -> Vec<Detection> {
    let mut v = Vec::new();
    for i in 0..10u64 {
        let (level, attack): (&str, &[&str]) = match i % 3 {
            0 => ("low", &["T1059"]),
            1 => ("high", &["T1059.001", "T1105"]),
            _ => ("critical", &["T1003.001"]),
        };
        let host = if i < 5 { "PDO-WEB01" } else { "PDO-DC01" };
        let cmd = if i == 7 {
            "powershell -enc SQBFAFgA Invoke-Mimikatz".to_string()
        } else {
            format!("cmd.exe /c whoami #{i}")
        };
        v.push(det(
            i,
            &format!("2026-03-01T10:{:02}:00Z", i),
            level,
            host,
            attack,
            &cmd,
        ));
    }
    v
}

fn run(added: u64, already: u64) -> RunRecord {
    RunRecord {
        by: "ana".into(),
        started: "2026-03-02T09:00:00Z".into(),
        finished: "2026-03-02T09:05:00Z".into(),
        paths: vec!["evidence/".into()],
        rules: 120,
        events: 5000,
        detections_added: added,
        detections_already: already,
        files: vec![RunFile {
            path: "evidence/web.log".into(),
            format: Some("w3c".into()),
            events: 10,
            hunted: 8,
            outside_window: 1,
            without_timestamp: 1,
            skipped: [("malformed line".to_string(), 2)].into_iter().collect(),
            complete: true,
        }],
        integrity: vec![
            IntegrityCheck {
                path: "/evidence/web.log".into(),
                sha256_before: Some("a".repeat(64)),
                sha256_after: Some("a".repeat(64)),
                size_before: Some(100),
                size_after: Some(100),
                intact: true,
                problem: None,
            },
            IntegrityCheck {
                path: "/evidence/gone.log".into(),
                sha256_before: Some("b".repeat(64)),
                sha256_after: None,
                size_before: Some(5),
                size_after: None,
                intact: false,
                problem: Some("cannot read after the hunt".into()),
            },
        ],
    }
}

fn incident(id: &str, severity: &str, events: Vec<Value>) -> Value {
    json!({"id": id, "title": format!("{id} title"), "severity": severity,
           "severity_reasons": [], "first_seen": "2026-03-01T10:00:00Z",
           "last_seen": "2026-03-01T10:09:00Z", "hosts": ["PDO-WEB01"], "accounts": [],
           "addresses": [], "web_shells": [], "techniques": ["T1059"], "phases": [],
           "events": events, "links": [], "narrative": "It happened."})
}

fn event_of(d: &Detection) -> Value {
    json!({"index": 0, "kind": "detection", "rule_id": d.rule_id, "rule_title": d.rule_title,
           "level": "high", "timestamp": d.timestamp, "host": d.host, "attack": d.attack,
           "tactic": "execution", "source": d.source, "entities": [], "summary": "cmd"})
}

fn investigation(dets: &[Detection], rank_micros: u64, top_probability: f64) -> Investigation {
    serde_json::from_value(json!({
        "title": "Operation Quiet Draft",
        "organisation": "PDO",
        "generated": format!("2026-03-02T09:05:{:02}Z", rank_micros % 60),
        "tlp": "TLP:AMBER",
        "incidents": [
            incident("INC-001", "critical", dets.iter().take(3).map(event_of).collect()),
            incident("INC-002", "medium", vec![event_of(&dets[5])]),
        ],
        "assessment": {
            "candidates": [{"id": "G0065", "name": "Leviathan", "probability": top_probability,
                            "aliases": [], "rank": 1, "logit": 2.0, "evidence": []}],
            "unknown": 1.0 - top_probability, "rest": 0.0,
            "verdict": {"kind": "attributed", "id": "G0065", "name": "Leviathan",
                        "confidence": top_probability, "threshold": 0.5},
            "summary": {"techniques": 3, "software": 0, "indicators_matched": 0, "indicators": 0,
                        "cves": 0, "sectors": 0, "countries": 0, "activity_hours": 2, "group_tags": 0},
            "unresolved": [],
            "groups_ranked": 180, "prior": "documentation", "rank_micros": rank_micros
        }
    }))
    .unwrap()
}

#[test]
fn re_adding_the_same_detections_adds_nothing_and_persists() {
    let (_d, p) = db();
    let dets = sample();
    {
        let mut s = open(&p);
        s.ensure_case(
            "quiet-draft",
            Some("Quiet Draft"),
            Some("PDO"),
            Some("amber"),
        )
        .unwrap();
        let n = s.add_detections("quiet-draft", &dets, None).unwrap();
        assert_eq!((n.added, n.already), (10, 0));
        s.record_run("quiet-draft", &run(n.added, n.already))
            .unwrap();
    }
    {
        let mut s = open(&p);
        // The same hunt again, and detections that went through their JSON contract.
        let replayed: Vec<Detection> = dets
            .iter()
            .map(|d| serde_json::from_str(&serde_json::to_string(d).unwrap()).unwrap())
            .collect();
        let n = s.add_detections("quiet-draft", &replayed, None).unwrap();
        assert_eq!((n.added, n.already), (0, 10));
        // One new detection among old ones; a duplicate inside the batch counts as already.
        let new = det(
            99,
            "2026-03-01T11:00:00Z",
            "medium",
            "PDO-WEB01",
            &[],
            "new",
        );
        let batch = vec![dets[0].clone(), new.clone(), new.clone()];
        let n = s.add_detections("quiet-draft", &batch, None).unwrap();
        assert_eq!((n.added, n.already), (1, 2));
        s.record_run("quiet-draft", &run(1, 2)).unwrap();
    }
    let s = open(&p);
    let all = s.all_detections("quiet-draft").unwrap();
    assert_eq!(all.len(), 11);
    assert_eq!(all[0], dets[0]);
    assert!(
        all.windows(2).all(|w| w[0].timestamp <= w[1].timestamp),
        "all_detections is in time order"
    );
    let runs = s.runs("quiet-draft").unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[1].run.detections_added, 1);
    assert_eq!(runs[1].run.paths, vec!["evidence/".to_string()]);
    // Per-file accounts and integrity checks come back as recorded.
    assert_eq!(runs[1].run, run(1, 2));
    assert_eq!(runs[1].run.files[0].skipped["malformed line"], 2);
    assert!(!runs[1].run.integrity[1].intact);
    // A hash that is not SHA-256 is refused, and nothing of the run is kept.
    let mut bad = run(0, 0);
    bad.integrity[0].sha256_after = Some("xyz".into());
    let mut s = s;
    assert!(s.record_run("quiet-draft", &bad).is_err());
    assert_eq!(s.runs("quiet-draft").unwrap().len(), 2);
    let list = s.cases().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].detections, 11);
    assert_eq!(list[0].last_run.as_deref(), Some("2026-03-02T09:05:00Z"));
    assert_eq!(list[0].case.tlp, "TLP:AMBER");
    // Unknown case.
    let e = s.all_detections("nope").unwrap_err();
    assert!(
        matches!(&e, StoreError::NotFound { kind: "case", name } if name == "nope"),
        "{e}"
    );
}

#[test]
fn evidence_keeps_its_first_custodian_and_logs_re_hunts() {
    let (_d, p) = db();
    {
        let mut s = open(&p);
        s.ensure_case("c", None, None, Some("TLP:GREEN")).unwrap();
        let ev = NewEvidence {
            path: "evidence/Security.evtx".into(),
            sha256: SHA_A.into(),
            size: 1024,
            added_by: "ana".into(),
            tlp: None,
        };
        assert!(s.add_evidence("c", &ev).unwrap());
        let other = NewEvidence {
            path: "evidence/web.log".into(),
            sha256: SHA_B.into(),
            size: 7,
            added_by: "ana".into(),
            tlp: Some("red".into()),
        };
        assert!(s.add_evidence("c", &other).unwrap());
    }
    {
        let mut s = open(&p);
        let again = NewEvidence {
            path: "evidence/Security.evtx".into(),
            sha256: SHA_A.into(),
            size: 1024,
            added_by: "ben".into(),
            tlp: None,
        };
        assert!(!s.add_evidence("c", &again).unwrap());
        let bad = NewEvidence {
            sha256: "xyz".into(),
            ..again.clone()
        };
        let e = s.add_evidence("c", &bad).unwrap_err();
        assert!(
            matches!(&e, StoreError::Invalid(m) if m.contains("xyz")),
            "{e}"
        );
    }
    let s = open(&p);
    let ev = s.evidence("c").unwrap();
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0].added_by, "ana", "re-adding keeps the first custodian");
    assert_eq!(ev[0].tlp, "TLP:GREEN");
    assert_eq!(ev[1].sha256, SHA_B.to_ascii_lowercase());
    assert_eq!(ev[1].tlp, "TLP:RED");
    let custody = s.custody("c").unwrap();
    let actions: Vec<(&str, &str)> = custody
        .iter()
        .map(|c| (c.action.as_str(), c.by.as_str()))
        .collect();
    assert_eq!(
        actions,
        vec![("added", "ana"), ("added", "ana"), ("re-hunted", "ben")]
    );
    assert!(custody[2].at >= ev[0].added_at);
    assert_eq!(s.cases().unwrap()[0].evidence, 2);
}

#[test]
fn detection_filters_and_paging() {
    let (_d, p) = db();
    {
        let mut s = open(&p);
        s.ensure_case("c", None, None, None).unwrap();
        s.add_detections("c", &sample(), None).unwrap();
    }
    let mut s = open(&p);
    let q = |s: &CaseStore, q: DetectionQuery| s.detections("c", &q).unwrap();
    let all = q(&s, DetectionQuery::default());
    assert_eq!((all.total, all.rows.len()), (10, 10));
    assert_eq!(all.rows[0].detection.source.record_id, Some(0));

    // Text: case-insensitive, every word must match (in any field).
    let t = q(
        &s,
        DetectionQuery {
            text: Some("MIMIKATZ powershell".into()),
            ..Default::default()
        },
    );
    assert_eq!(t.total, 1);
    assert_eq!(t.rows[0].detection.source.record_id, Some(7));
    let t = q(
        &s,
        DetectionQuery {
            text: Some("mimikatz whoami".into()),
            ..Default::default()
        },
    );
    assert_eq!(t.total, 0);
    let t = q(
        &s,
        DetectionQuery {
            text: Some("svc_web".into()),
            ..Default::default()
        },
    );
    assert_eq!(t.total, 10);

    // Level: 0,3,6,9 low; 1,4,7 high; 2,5,8 critical.
    let high = q(
        &s,
        DetectionQuery {
            min_level: Some("high".into()),
            ..Default::default()
        },
    );
    assert_eq!(high.total, 6);
    let crit = q(
        &s,
        DetectionQuery {
            min_level: Some("critical".into()),
            ..Default::default()
        },
    );
    assert_eq!(crit.total, 3);
    assert!(
        s.detections(
            "c",
            &DetectionQuery {
                min_level: Some("severe".into()),
                ..Default::default()
            }
        )
        .is_err()
    );

    // Host, exact but case-insensitive.
    let h = q(
        &s,
        DetectionQuery {
            host: Some("pdo-web01".into()),
            ..Default::default()
        },
    );
    assert_eq!(h.total, 5);
    assert!(
        h.rows
            .iter()
            .all(|r| r.detection.host.as_deref() == Some("PDO-WEB01"))
    );

    // Technique prefix: T1059 matches T1059 and T1059.001, T1003 only T1003.001.
    let t = q(
        &s,
        DetectionQuery {
            technique: Some("t1059".into()),
            ..Default::default()
        },
    );
    assert_eq!(t.total, 7);
    let t = q(
        &s,
        DetectionQuery {
            technique: Some("T1059.001".into()),
            ..Default::default()
        },
    );
    assert_eq!(t.total, 3);
    let t = q(
        &s,
        DetectionQuery {
            technique: Some("T1105".into()),
            ..Default::default()
        },
    );
    assert_eq!(t.total, 3);

    // Rule: id exactly, or title substring.
    let r = q(
        &s,
        DetectionQuery {
            rule: Some("rule-low".into()),
            ..Default::default()
        },
    );
    assert_eq!(r.total, 4);
    let r = q(
        &s,
        DetectionQuery {
            rule: Some("CRITICAL activ".into()),
            ..Default::default()
        },
    );
    assert_eq!(r.total, 3);

    // Time bounds, inclusive; a date prefix as upper bound includes that day.
    let w = q(
        &s,
        DetectionQuery {
            since: Some("2026-03-01T10:03:00Z".into()),
            until: Some("2026-03-01T10:05:00+00:00".into()),
            ..Default::default()
        },
    );
    assert_eq!(w.total, 3);
    let w = q(
        &s,
        DetectionQuery {
            until: Some("2026-03-01".into()),
            ..Default::default()
        },
    );
    assert_eq!(w.total, 10);
    let w = q(
        &s,
        DetectionQuery {
            since: Some("2026-03-02".into()),
            ..Default::default()
        },
    );
    assert_eq!(w.total, 0);

    // Verdicts.
    let keys: Vec<String> = all.rows.iter().map(|r| r.key.clone()).collect();
    s.set_verdict(
        "c",
        &keys[1],
        Verdict::TruePositive,
        "ana",
        "confirmed on host",
    )
    .unwrap();
    s.set_verdict("c", &keys[2], Verdict::FalsePositive, "ana", "admin script")
        .unwrap();
    s.set_verdict("c", &keys[3], Verdict::Undetermined, "ana", "")
        .unwrap();
    drop(s);
    let s = open(&p);
    let by = |v| {
        q(
            &s,
            DetectionQuery {
                verdict: Some(v),
                ..Default::default()
            },
        )
    };
    let tp = by(VerdictFilter::Tp);
    assert_eq!(tp.total, 1);
    assert_eq!(tp.rows[0].key, keys[1]);
    let v = tp.rows[0].verdict.as_ref().unwrap();
    assert_eq!(
        (v.verdict, v.analyst.as_str(), v.reason.as_str()),
        (Verdict::TruePositive, "ana", "confirmed on host")
    );
    assert_eq!(by(VerdictFilter::Fp).total, 1);
    assert_eq!(by(VerdictFilter::Any).total, 2);
    assert_eq!(
        by(VerdictFilter::None).total,
        8,
        "undetermined is still to triage"
    );

    // Combined filters and paging.
    let combo = DetectionQuery {
        min_level: Some("high".into()),
        host: Some("PDO-DC01".into()),
        ..Default::default()
    };
    assert_eq!(q(&s, combo.clone()).total, 3); // 5 critical, 7 high, 8 critical
    let page = q(
        &s,
        DetectionQuery {
            offset: 3,
            limit: Some(4),
            ..Default::default()
        },
    );
    assert_eq!(page.total, 10);
    let ids: Vec<_> = page
        .rows
        .iter()
        .map(|r| r.detection.source.record_id.unwrap())
        .collect();
    assert_eq!(ids, vec![3, 4, 5, 6]);
    let newest = q(
        &s,
        DetectionQuery {
            limit: Some(2),
            newest_first: true,
            ..Default::default()
        },
    );
    let ids: Vec<_> = newest
        .rows
        .iter()
        .map(|r| r.detection.source.record_id.unwrap())
        .collect();
    assert_eq!(ids, vec![9, 8]);
    let past_end = q(
        &s,
        DetectionQuery {
            offset: 50,
            ..Default::default()
        },
    );
    assert_eq!((past_end.total, past_end.rows.len()), (10, 0));
    let huge = q(
        &s,
        DetectionQuery {
            limit: Some(1_000_000),
            ..Default::default()
        },
    );
    assert_eq!(huge.rows.len(), 10, "the cap does not drop rows below it");
}

#[test]
fn verdicts_need_a_known_detection_and_keep_history() {
    let (_d, p) = db();
    let dets = sample();
    let key = key_of(&dets[0]).unwrap();
    {
        let mut s = open(&p);
        s.ensure_case("c", None, None, None).unwrap();
        s.ensure_case("other", None, None, None).unwrap();
        s.add_detections("c", &dets, None).unwrap();
        let e = s
            .set_verdict("c", "0000", Verdict::TruePositive, "ana", "")
            .unwrap_err();
        assert!(
            matches!(&e, StoreError::NotFound { kind: "detection", name } if name == "0000"),
            "{e}"
        );
        // A key of another case is not this case's.
        let e = s
            .set_verdict("other", &key, Verdict::TruePositive, "ana", "")
            .unwrap_err();
        assert!(matches!(e, StoreError::NotFound { .. }), "{e}");
        assert!(
            s.set_verdict("c", &key, Verdict::TruePositive, "", "x")
                .is_err(),
            "an analyst is required"
        );
        s.set_verdict("c", &key, Verdict::TruePositive, "ana", "first look")
            .unwrap();
        s.set_verdict("c", &key, Verdict::FalsePositive, "ben", "patch job")
            .unwrap();
    }
    let s = open(&p);
    let hist = s.verdicts("c").unwrap();
    assert_eq!(hist.len(), 2);
    assert_eq!(hist[0].verdict, Verdict::TruePositive);
    assert_eq!(hist[1].analyst, "ben");
    let cur = s.detection("c", &key).unwrap().unwrap();
    assert_eq!(cur.verdict.unwrap().verdict, Verdict::FalsePositive);
    let sum = &s.cases().unwrap()[0];
    assert_eq!((sum.true_positives, sum.false_positives), (0, 1));
    assert!(s.verdicts("other").unwrap().is_empty());
    assert!(s.detection("c", "missing").unwrap().is_none());
}

#[test]
fn saving_the_same_analysis_twice_keeps_one_assessment() {
    let (_d, p) = db();
    let dets = sample();
    {
        let mut s = open(&p);
        s.ensure_case("c", None, None, None).unwrap();
        s.add_detections("c", &dets, None).unwrap();
        s.save_analysis("c", &investigation(&dets, 1234, 0.91))
            .unwrap();
    }
    {
        // The same hunt again: only the timings differ.
        let mut s = open(&p);
        s.save_analysis("c", &investigation(&dets, 987, 0.91))
            .unwrap();
        assert_eq!(s.assessments("c").unwrap().len(), 1);
        assert_eq!(s.incidents("c").unwrap().len(), 2);
    }
    {
        // A changed assessment is appended; the incidents are replaced, not added.
        let mut s = open(&p);
        s.save_analysis("c", &investigation(&dets, 5, 0.97))
            .unwrap();
    }
    let s = open(&p);
    let a = s.assessments("c").unwrap();
    assert_eq!(a.len(), 2);
    let top = a[1].top.as_ref().unwrap();
    assert_eq!((top.id.as_str(), top.name.as_str()), ("G0065", "Leviathan"));
    assert!((top.probability - 0.97).abs() < 1e-12);
    assert_eq!(a[1].verdict, "attributed");
    assert_eq!(a[0].assessment["rank_micros"], 1234);
    let inc = s.incidents("c").unwrap();
    assert_eq!(inc.len(), 2);
    assert_eq!(
        (inc[0].id.as_str(), inc[0].severity.as_str()),
        ("INC-001", "critical")
    );
    assert_eq!(inc[0].detections, 3);
    assert_eq!(inc[0].incident["narrative"], "It happened.");
    let inv = s.analysis("c").unwrap().unwrap();
    assert_eq!(inv, investigation(&dets, 5, 0.97));
    let sum = &s.cases().unwrap()[0];
    assert_eq!(sum.incidents, 2);
    assert_eq!(sum.max_severity.as_deref(), Some("critical"));
    let top = sum.top_attribution.as_ref().unwrap();
    assert!((top.probability - 0.97).abs() < 1e-12);

    // An analysis without attribution: the summary no longer shows one, history stays.
    let mut s = s;
    let mut inv = investigation(&dets, 5, 0.97);
    inv.assessment = None;
    inv.incidents.truncate(1);
    s.save_analysis("c", &inv).unwrap();
    let sum = &s.cases().unwrap()[0];
    assert!(sum.top_attribution.is_none());
    assert_eq!(sum.incidents, 1);
    assert_eq!(s.assessments("c").unwrap().len(), 2);
}

#[test]
fn notes_are_validated_and_persist() {
    let (_d, p) = db();
    let dets = sample();
    let key = key_of(&dets[4]).unwrap();
    {
        let mut s = open(&p);
        s.ensure_case("c", None, None, Some("TLP:GREEN")).unwrap();
        s.add_detections("c", &dets, None).unwrap();
        s.save_analysis("c", &investigation(&dets, 1, 0.9)).unwrap();
        let n1 = s
            .add_note("c", NoteTarget::Case, "ana", "Scope: web tier only.", None)
            .unwrap();
        let n2 = s
            .add_note(
                "c",
                NoteTarget::Detection(key.clone()),
                "ana",
                "Same as ticket 42.",
                Some("amber"),
            )
            .unwrap();
        let n3 = s
            .add_note(
                "c",
                NoteTarget::Incident("INC-001".into()),
                "ben",
                "Contain first.",
                None,
            )
            .unwrap();
        assert!(n1 < n2 && n2 < n3);
        for (target, text) in [
            (NoteTarget::Case, "   "),
            (NoteTarget::Case, ""),
            (NoteTarget::Detection("nope".into()), "x"),
            (NoteTarget::Incident("INC-999".into()), "x"),
        ] {
            assert!(s.add_note("c", target, "ana", text, None).is_err());
        }
        let long = "x".repeat(64 * 1024 + 1);
        let e = s
            .add_note("c", NoteTarget::Case, "ana", &long, None)
            .unwrap_err();
        assert!(matches!(e, StoreError::Invalid(_)), "{e}");
        assert!(
            s.add_note("c", NoteTarget::Case, "ana", &"x".repeat(64 * 1024), None)
                .is_ok()
        );
        assert!(
            s.add_note("c", NoteTarget::Case, "ana", "hi", Some("blue"))
                .is_err()
        );
    }
    let s = open(&p);
    let notes = s.notes("c").unwrap();
    assert_eq!(notes.len(), 4);
    assert_eq!(notes[0].target, NoteTarget::Case);
    assert_eq!(notes[0].tlp, "TLP:GREEN");
    assert_eq!(notes[1].target, NoteTarget::Detection(key));
    assert_eq!(notes[1].tlp, "TLP:AMBER");
    assert_eq!(notes[2].target, NoteTarget::Incident("INC-001".into()));
    assert_eq!(notes[2].author, "ben");
    assert!(matches!(
        s.notes("nope").unwrap_err(),
        StoreError::NotFound { kind: "case", .. }
    ));
}

#[test]
fn tlp_of_items_can_be_changed_and_ranked() {
    let (_d, p) = db();
    let dets = sample();
    let key = key_of(&dets[0]).unwrap();
    {
        let mut s = open(&p);
        s.ensure_case("c", None, None, Some("clear")).unwrap();
        s.add_detections("c", &dets, Some("green")).unwrap();
        s.set_tlp("c", ItemRef::Detection(key.clone()), "red")
            .unwrap();
        s.set_tlp("c", ItemRef::Case, "TLP:AMBER+STRICT").unwrap();
        let e = s
            .set_tlp("c", ItemRef::Detection("nope".into()), "red")
            .unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::NotFound {
                    kind: "detection",
                    ..
                }
            ),
            "{e}"
        );
        assert!(s.set_tlp("c", ItemRef::Note(99), "red").is_err());
        assert!(s.set_tlp("c", ItemRef::Case, "TLP:PINK").is_err());
    }
    let s = open(&p);
    assert_eq!(s.case("c").unwrap().unwrap().tlp, "TLP:AMBER+STRICT");
    let page = s.detections("c", &DetectionQuery::default()).unwrap();
    let red: Vec<_> = page.rows.iter().filter(|r| r.tlp == "TLP:RED").collect();
    assert_eq!(red.len(), 1);
    assert_eq!(red[0].key, key);
    assert!(
        page.rows
            .iter()
            .filter(|r| r.key != key)
            .all(|r| r.tlp == "TLP:GREEN")
    );
    // What an exporter does: keep what may go out under TLP:GREEN.
    let shareable = page
        .rows
        .iter()
        .filter(|r| tlp_rank(&r.tlp) <= tlp_rank("TLP:GREEN"))
        .count();
    assert_eq!(shareable, 9);
}

#[test]
fn dump_case_round_trips_through_json() {
    let (_d, p) = db();
    let dets = sample();
    {
        let mut s = open(&p);
        s.ensure_case("c", Some("Quiet Draft"), Some("PDO"), None)
            .unwrap();
        s.add_evidence(
            "c",
            &NewEvidence {
                path: "evidence/Security.evtx".into(),
                sha256: SHA_A.into(),
                size: 1,
                added_by: "ana".into(),
                tlp: None,
            },
        )
        .unwrap();
        s.add_detections("c", &dets, None).unwrap();
        s.record_run("c", &run(10, 0)).unwrap();
        s.save_analysis("c", &investigation(&dets, 3, 0.8)).unwrap();
        let key = key_of(&dets[2]).unwrap();
        s.set_verdict("c", &key, Verdict::TruePositive, "ana", "yes")
            .unwrap();
        s.add_note("c", NoteTarget::Detection(key), "ana", "see host", None)
            .unwrap();
    }
    let s = open(&p);
    let dump = s.dump_case("c").unwrap();
    assert_eq!(dump.format, "tiaki-case/1");
    assert_eq!(dump.case.title, "Quiet Draft");
    assert_eq!(dump.evidence.len(), 1);
    assert_eq!(dump.custody.len(), 1);
    assert_eq!(dump.runs.len(), 1);
    assert_eq!(dump.detections.len(), 10);
    assert_eq!(
        dump.detections
            .iter()
            .filter(|d| d.verdict.is_some())
            .count(),
        1
    );
    assert!(dump.analysis.is_some());
    assert_eq!(dump.incidents.len(), 2);
    assert_eq!(dump.assessments.len(), 1);
    assert_eq!(dump.verdicts.len(), 1);
    assert_eq!(dump.notes.len(), 1);
    let text = serde_json::to_string_pretty(&dump).unwrap();
    let back: tiaki_store::cases::CaseDump = serde_json::from_str(&text).unwrap();
    assert_eq!(back, dump);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["notes"][0]["target"]["kind"], "detection");
    assert_eq!(v["detections"][0]["detection"]["rule_id"], "rule-low");
}

#[test]
fn a_second_connection_reads_while_the_first_writes() {
    let (_d, p) = db();
    {
        let mut s = open(&p);
        s.ensure_case("c", None, None, None).unwrap();
    }
    const BATCHES: u64 = 20;
    const PER: u64 = 250;
    let wp = p.clone();
    let writer = std::thread::spawn(move || {
        let mut s = CaseStore::open(&wp).unwrap();
        for b in 0..BATCHES {
            let batch: Vec<Detection> = (0..PER)
                .map(|i| {
                    let n = b * PER + i;
                    det(n, "2026-03-01T10:00:00Z", "high", "H", &["T1059"], "x")
                })
                .collect();
            let c = s.add_detections("c", &batch, None).unwrap();
            assert_eq!(c.added, PER);
        }
    });
    let reader = open(&p);
    let mut last = 0;
    let mut reads = 0;
    loop {
        let done = writer.is_finished();
        let n = reader.cases().unwrap()[0].detections;
        let page = reader
            .detections(
                "c",
                &DetectionQuery {
                    limit: Some(5),
                    newest_first: true,
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(n >= last, "counts only grow: {n} < {last}");
        assert!(
            n.is_multiple_of(PER),
            "a reader never sees half a transaction"
        );
        assert!(page.total >= n);
        last = n;
        reads += 1;
        if done {
            break;
        }
    }
    writer.join().unwrap();
    assert!(reads > 1);
    assert_eq!(reader.cases().unwrap()[0].detections, BATCHES * PER);
}

#[test]
fn a_large_case_is_added_and_paged() {
    let (_d, p) = db();
    const N: u64 = 20_000;
    let dets: Vec<Detection> = (0..N)
        .map(|i| {
            det(
                i,
                &format!(
                    "2026-03-{:02}T{:02}:{:02}:{:02}Z",
                    1 + i / 3600 % 28,
                    i / 60 % 24,
                    i % 60,
                    i % 59
                ),
                if i.is_multiple_of(10) {
                    "critical"
                } else {
                    "medium"
                },
                &format!("HOST{}", i % 50),
                &["T1059.001"],
                &format!("cmd #{i}"),
            )
        })
        .collect();
    let mut s = open(&p);
    s.ensure_case("big", None, None, None).unwrap();
    let t = std::time::Instant::now();
    let c = s.add_detections("big", &dets, None).unwrap();
    let first = t.elapsed();
    assert_eq!((c.added, c.already), (N, 0));
    let c = s.add_detections("big", &dets, None).unwrap();
    assert_eq!((c.added, c.already), (0, N));
    drop(s);
    let s = open(&p);
    let page = s
        .detections(
            "big",
            &DetectionQuery {
                offset: 15_000,
                limit: Some(1000),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(page.total, N);
    assert_eq!(page.rows.len(), 1000);
    assert!(
        page.rows
            .windows(2)
            .all(|w| w[0].detection.timestamp <= w[1].detection.timestamp)
    );
    let crit = s
        .detections(
            "big",
            &DetectionQuery {
                min_level: Some("critical".into()),
                host: Some("host0".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(crit.total, N / 50);
    // Generous even for a debug build on a busy machine; the point is "seconds, not minutes".
    assert!(first.as_secs() < 60, "adding {N} detections took {first:?}");
    eprintln!("added {N} detections in {first:?}");
}
