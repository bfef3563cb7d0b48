//! The SigmaHQ regression matrix through the readers and the pipeline.
//!
//! `crates/sigma/tests/regression.rs` reproduces the matrix with the
//! pre-flattened events of `events.jsonl` and log sources taken from the
//! matrix. Here the same 229,859 (rule, event) verdicts are reproduced the
//! way an analyst gets them: the regression `.json` files (evtx_dump
//! output) and, separately, the `.evtx` files are read by `tiaki-evidence`
//! (format sniffing, flattening, log-source routing) and hunted by
//! `tiaki::hunt` with the 2,289 rules the matrix names.
//!
//! Event ids are `<test id>#<index>`: the file `<test id>.json`/`.evtx`
//! under `regression_data/`, and the index of the record in that file. Two
//! things are checked per reader:
//!
//! 1. Within the matrix's domain (each rule × the events of its log-source
//!    group) the detections equal the expected matches exactly: every
//!    verdict reproduces.
//! 2. Outside it: the readers route events more richly than the matrix's
//!    one-group-per-event (a Sysmon process creation is also service
//!    `sysmon`; a Security 4688 is also `process_creation`), so rules the
//!    matrix never paired with an event are evaluated on it too. Those
//!    detections have no verdict in the matrix; they are listed and pinned.
//!
//! EVTX records carved from unallocated chunk space (`recovered`) are
//! returned by default; they are not part of the regression data (the JSON
//! exports only hold live records), so their detections are counted and
//! left out of the comparison.
//!
//! The shared data is required: if it is missing these tests fail.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use tiaki::{Detection, HuntOptions, Rules, hunt};
use tiaki_evidence::{ReadOptions, read_paths};
use tiaki_sigma::{Collection, LoadOptions};

fn shared() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared"))
}

fn jsonl(rel: &str) -> Vec<Json> {
    let path = shared().join(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn walk(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, ext, out);
        } else if p.extension().is_some_and(|e| e == ext) {
            out.push(p);
        }
    }
}

type LogSourceKey = (Option<String>, Option<String>, Option<String>);

fn logsource_key(v: &Json) -> LogSourceKey {
    let s = |k: &str| v.get(k).and_then(Json::as_str).map(str::to_string);
    (s("product"), s("category"), s("service"))
}

struct Matrix {
    rules: Rules,
    /// rule path (as in the matrix) → its log-source group.
    rule_group: HashMap<String, LogSourceKey>,
    /// event id → its log-source group.
    event_group: HashMap<String, LogSourceKey>,
    expected: BTreeSet<(String, String)>,
    verdicts: usize,
}

fn matrix() -> Matrix {
    let rows = jsonl("data/vectors/sigma/sigmahq-regression/matrix.jsonl");
    let positives = jsonl("data/vectors/sigma/sigmahq-regression/positives.jsonl");
    let events = jsonl("data/vectors/sigma/sigmahq-regression/events.jsonl");
    assert_eq!(rows.len(), 2289);
    assert_eq!(events.len(), 238);
    let mut col = Collection::new(LoadOptions {
        unresolved_placeholders_match_nothing: true,
        ..Default::default()
    });
    let mut rule_group = HashMap::new();
    let mut expected = BTreeSet::new();
    for row in &rows {
        let rel = row["rule"].as_str().unwrap();
        let path = shared().join("data/sigma").join(rel);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        assert_eq!(col.add_source(rel, &text), 1, "{rel} did not load");
        rule_group.insert(rel.to_string(), logsource_key(&row["logsource"]));
        for e in row["expected_matches"].as_array().unwrap() {
            expected.insert((rel.to_string(), e.as_str().unwrap().to_string()));
        }
    }
    let rules = Rules::compile(col);
    assert!(rules.errors.is_empty(), "{:?}", rules.errors);
    let mut event_group = HashMap::new();
    for p in &positives {
        let g = rule_group[p["rule"].as_str().unwrap()].clone();
        for e in p["events"].as_array().unwrap() {
            event_group.insert(e.as_str().unwrap().to_string(), g.clone());
        }
    }
    assert_eq!(event_group.len(), 238);
    let mut verdicts = 0;
    for g in rule_group.values() {
        verdicts += event_group.values().filter(|e| *e == g).count();
    }
    assert_eq!(verdicts, 229_859);
    assert_eq!(expected.len(), 350);
    Matrix {
        rules,
        rule_group,
        event_group,
        expected,
        verdicts,
    }
}

/// (path, record id, line) of every live record, in file order, per file →
/// its index in the file.
fn record_index(files: &[PathBuf]) -> HashMap<(String, Option<u64>, Option<u64>), usize> {
    let opts = ReadOptions {
        evtx_recover_records: false,
        ..ReadOptions::default()
    };
    let mut out = HashMap::new();
    for f in files {
        let mut n = 0;
        let report = read_paths(&[f], &opts, |batch| {
            for e in batch {
                let key = (e.origin.path.to_string(), e.origin.record_id, e.origin.line);
                assert!(
                    out.insert(key, n).is_none(),
                    "duplicate origin {}",
                    e.origin
                );
                n += 1;
            }
        });
        assert_eq!(report.skipped(), 0, "{report}");
    }
    out
}

struct Outcome {
    in_domain: BTreeSet<(String, String)>,
    out_of_domain: BTreeSet<(String, String)>,
    recovered: usize,
    events: u64,
}

fn run(m: &Matrix, ext: &str) -> Outcome {
    let mut files = Vec::new();
    walk(
        &shared().join("data/sigma/regression_data"),
        ext,
        &mut files,
    );
    assert_eq!(files.len(), 202, "regression .{ext} files");
    let index = record_index(&files);
    let opts = HuntOptions {
        all_matches: true,
        ..HuntOptions::default()
    };
    let mut found: Vec<Detection> = Vec::new();
    let summary = hunt(&files, &m.rules, &opts, &mut found, &mut |_| {}).unwrap();
    assert_eq!(summary.records_skipped_total(), 0, "{summary}");
    let mut out = Outcome {
        in_domain: BTreeSet::new(),
        out_of_domain: BTreeSet::new(),
        recovered: 0,
        events: summary.events_read - summary.events_recovered,
    };
    for d in &found {
        if d.source.recovered {
            out.recovered += 1;
            continue;
        }
        let key = (d.source.path.clone(), d.source.record_id, d.source.line);
        let idx = index[&key];
        let stem = Path::new(&d.source.path)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .to_string();
        let event = format!("{stem}#{idx}");
        let group = m
            .event_group
            .get(&event)
            .unwrap_or_else(|| panic!("{event} ({}) is not a regression event", d.source));
        let pair = (d.rule_path.clone(), event);
        if m.rule_group[&d.rule_path] == *group {
            assert!(out.in_domain.insert(pair), "detection reported twice");
        } else {
            out.out_of_domain.insert(pair);
        }
    }
    out
}

fn compare(m: &Matrix, ext: &str, o: &Outcome) -> Vec<String> {
    let missing: Vec<_> = m.expected.difference(&o.in_domain).collect();
    let extra: Vec<_> = o.in_domain.difference(&m.expected).collect();
    let reproduced = m.verdicts - missing.len() - extra.len();
    eprintln!(
        "regression through the .{ext} reader: {} live events; {reproduced}/{} verdicts reproduced \
         ({} matches expected, {} missing, {} extra); {} detections outside the matrix's pairs; \
         {} detections on carved records left out",
        o.events,
        m.verdicts,
        m.expected.len(),
        missing.len(),
        extra.len(),
        o.out_of_domain.len(),
        o.recovered
    );
    let mut problems: Vec<String> = missing
        .iter()
        .map(|(r, e)| format!("missing: {r} on {e}"))
        .collect();
    problems.extend(extra.iter().map(|(r, e)| format!("extra: {r} on {e}")));
    problems
}

/// The detections outside the matrix's (rule, log-source group) pairs, per
/// rule → events. See `out_of_domain_are_explained` for why each exists.
fn out_of_domain_by_rule(o: &Outcome) -> BTreeMap<String, Vec<String>> {
    let mut by: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (r, e) in &o.out_of_domain {
        by.entry(r.clone()).or_default().push(e.clone());
    }
    by
}

/// The only detections outside the matrix's pairs, through either reader.
/// Both events are Sysmon event 12 `DeleteValue` under
/// `...\Schedule\TaskCache\Tree\MaliciousTask\`, the tests of two
/// `registry_delete` rules, so the matrix puts them in the `registry_delete`
/// group only. The readers also route Sysmon 12–14 to `registry_event`
/// (SigmaHQ's umbrella category for them, `data/windows.toml`), so the
/// threat-hunting rule `registry_event_scheduled_task_creation`
/// (`TargetObject|contains: ...\TaskCache\Tree\`, logsource
/// `registry_event`) is evaluated on them, and it does match: a correct
/// detection the matrix has no verdict for.
fn assert_out_of_domain(o: &Outcome) {
    let rule = "rules-threat-hunting/windows/registry/registry_event/registry_event_scheduled_task_creation.yml";
    let expected: BTreeSet<(String, String)> = [
        "526cc8bc-1cdc-48ad-8b26-f19bff969cec#0",
        "acd74772-5f88-45c7-956b-6a7b36c294d2#0",
    ]
    .iter()
    .map(|e| (rule.to_string(), e.to_string()))
    .collect();
    assert_eq!(o.out_of_domain, expected, "{:#?}", out_of_domain_by_rule(o));
}

#[test]
fn regression_matrix_through_json_reader() {
    let m = matrix();
    let o = run(&m, "json");
    assert_eq!(o.events, 238);
    assert_eq!(o.recovered, 0);
    let problems = compare(&m, "json", &o);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_out_of_domain(&o);
}

#[test]
fn regression_matrix_through_evtx_reader() {
    let m = matrix();
    let o = run(&m, "evtx");
    assert_eq!(o.events, 238);
    let problems = compare(&m, "evtx", &o);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_out_of_domain(&o);
    // Carved records: 2 of the matrix's rules fire on them (counted above).
    assert_eq!(o.recovered, 2);
}
