//! The pipeline as a library: summary accounting, correlation, the time
//! filter and the timeline's external sort, on real EVTX samples.

use std::path::PathBuf;

use tiaki::{
    Detection, EventFilter, HuntOptions, Rules, TimeBound, TimelineFormat, hunt, parse_time_bound,
    timeline,
};
use tiaki_sigma::{Collection, Level, LoadOptions};

fn samples(rel: &str) -> PathBuf {
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/evtx/EVTX-ATTACK-SAMPLES"
    ))
    .join(rel);
    assert!(p.exists(), "shared data missing: {}", p.display());
    p
}

const RULES: &str = r#"
title: Kerberos TGT request for an unknown user
id: 11111111-0000-4000-8000-000000000001
name: krb_unknown_user
level: low
logsource: {product: windows, service: security}
detection:
    selection: {EventID: 4768, Status: '0x6'}
    condition: selection
---
title: Security log cleared
id: 11111111-0000-4000-8000-000000000002
level: high
tags: [attack.t1070.001]
logsource: {product: windows, service: security}
detection:
    selection: {EventID: 1102}
    condition: selection
---
title: Spraying
id: 11111111-0000-4000-8000-000000000003
level: medium
correlation:
    type: value_count
    rules: [krb_unknown_user]
    group-by: [IpAddress]
    timespan: 1m
    condition: {field: TargetUserName, gte: 3}
"#;

fn rules() -> Rules {
    let mut col = Collection::new(LoadOptions::default());
    col.add_source("test.yml", RULES);
    let r = Rules::compile(col);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    r
}

fn run(opts: &HuntOptions) -> (Vec<Detection>, tiaki::Summary) {
    let mut out: Vec<Detection> = Vec::new();
    let file = samples("Credential Access/kerberos_pwd_spray_4771.evtx");
    let s = hunt(&[file], &rules(), opts, &mut out, &mut |_| {}).unwrap();
    (out, s)
}

#[test]
fn summary_accounts_for_every_event_and_match() {
    let (dets, s) = run(&HuntOptions::default());
    assert_eq!(s.events_read, 12);
    assert_eq!(s.events_by_format.get("evtx"), Some(&12));
    assert_eq!(s.events_hunted, 12);
    assert_eq!(s.detection_rules, 2);
    assert_eq!(s.correlation_rules, 1);
    // 7 unknown-user requests only feed the correlation; 1 log clear; 1 alert.
    assert_eq!(s.correlation_only_matches, 7);
    assert_eq!(s.detections, 2);
    assert_eq!(s.correlation_alerts, 1);
    assert_eq!(s.detections_by_level.get("high"), Some(&1));
    assert_eq!(s.detections_by_level.get("medium"), Some(&1));
    assert_eq!(dets.len(), 2);
    let alert = dets.iter().find(|d| d.kind == "correlation").unwrap();
    let c = alert.correlation.as_ref().unwrap();
    assert_eq!(c.kind, "value_count");
    assert_eq!(c.group["IpAddress"], "172.16.66.1");
    assert!(c.value >= 3.0);
    assert_eq!(c.sources.len(), c.events_total);
    let clear = dets.iter().find(|d| d.kind == "detection").unwrap();
    assert_eq!(clear.attack, ["T1070.001"]);
    assert_eq!(clear.source.record_id, Some(1));
    assert_eq!(s.top_rules.len(), 2);
}

#[test]
fn min_level_and_time_window() {
    let (dets, s) = run(&HuntOptions {
        min_level: Some(Level::High),
        ..HuntOptions::default()
    });
    assert_eq!(dets.len(), 1);
    assert_eq!(s.below_min_level, 1);
    // The log was cleared at 20:29:27; the requests follow from 20:29:36.
    let (dets, s) = run(&HuntOptions {
        filter: EventFilter {
            from: Some(parse_time_bound("2020-07-22T20:29:30Z", TimeBound::From).unwrap()),
            to: None,
        },
        ..HuntOptions::default()
    });
    assert_eq!(s.events_outside_time_window, 1);
    assert_eq!(s.events_hunted, 11);
    // The file's account carries the same split, and adds up.
    assert_eq!(s.file_accounts.len(), 1);
    let a = &s.file_accounts[0];
    assert_eq!((a.events, a.hunted, a.outside_time_window), (12, 11, 1));
    assert!(a.balances() && a.complete);
    assert_eq!(s.records_accounted(), (12, 11, 1, 0));
    assert_eq!(dets.len(), 1);
    assert_eq!(dets[0].kind, "correlation");
}

#[test]
fn timeline_sort_spills_without_changing_the_result() {
    let r = rules();
    let dir = samples("Credential Access");
    let render = |budget: usize| -> Vec<u8> {
        let mut out = Vec::new();
        let opts = HuntOptions {
            sort_budget: budget,
            ..HuntOptions::default()
        };
        timeline(
            &[&dir],
            Some(&r),
            &opts,
            TimelineFormat::Jsonl,
            &mut out,
            &mut |_| {},
        )
        .unwrap();
        out
    };
    let in_memory = render(1 << 30);
    let spilled = render(16 << 10);
    assert_eq!(in_memory, spilled);
    let lines: Vec<serde_json::Value> = in_memory
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert!(lines.len() > 500, "{} rows", lines.len());
    let ts: Vec<i64> = lines
        .iter()
        .map(|l| l["timestamp"].as_i64().unwrap())
        .collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]));
}
