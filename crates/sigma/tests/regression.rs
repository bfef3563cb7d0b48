//! Reproduces the SigmaHQ regression matrix: 229,859 (rule, event) verdicts
//! over the 238 SigmaHQ regression events, with the rules read from
//! `shared/data/sigma` at the pinned commit. Both the fast path (log-source
//! plans, triggers, shared automata) and rule-by-rule evaluation must give
//! exactly the expected set of matches.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use serde_json::Value as Json;
use tiaki_sigma::{Collection, EventSource, LoadOptions, LogSource};

fn shared(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(rel)
}

fn jsonl(rel: &str) -> Vec<Json> {
    let path = shared(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn logsource_of(v: &Json) -> LogSource {
    let s = |k: &str| v.get(k).and_then(Json::as_str).map(str::to_string);
    LogSource {
        product: s("product"),
        category: s("category"),
        service: s("service"),
    }
}

#[test]
fn sigmahq_regression_matrix() {
    let events = jsonl("data/vectors/sigma/sigmahq-regression/events.jsonl");
    let matrix = jsonl("data/vectors/sigma/sigmahq-regression/matrix.jsonl");
    let positives = jsonl("data/vectors/sigma/sigmahq-regression/positives.jsonl");
    assert_eq!(events.len(), 238);
    assert_eq!(matrix.len(), 2289);

    // Load every rule of the matrix (unresolved placeholders match nothing, as
    // the reference evaluator treated them).
    let mut col = Collection::new(LoadOptions {
        unresolved_placeholders_match_nothing: true,
        ..Default::default()
    });
    for row in &matrix {
        let rel = row["rule"].as_str().unwrap();
        let path = shared(&format!("data/sigma/{rel}"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        assert_eq!(
            col.add_source(rel, &text),
            1,
            "{rel} did not load: {:?}",
            col.errors()
        );
    }
    let compiled = col.compile();
    assert!(compiled.errors.is_empty(), "{:?}", compiled.errors);
    let set = compiled.ruleset;
    let rule_by_path: HashMap<&str, u32> = set
        .metas()
        .enumerate()
        .map(|(i, m)| (m.origin.as_str(), i as u32))
        .collect();

    // Each event belongs to the log source of the rule whose regression test it is.
    let rule_logsource: HashMap<&str, LogSource> = matrix
        .iter()
        .map(|r| (r["rule"].as_str().unwrap(), logsource_of(&r["logsource"])))
        .collect();
    let mut event_logsource: HashMap<String, LogSource> = HashMap::new();
    for p in &positives {
        let ls = rule_logsource[p["rule"].as_str().unwrap()].clone();
        for e in p["events"].as_array().unwrap() {
            event_logsource.insert(e.as_str().unwrap().to_string(), ls.clone());
        }
    }

    // Expected (rule, event) pairs and evaluated group sizes.
    let mut expected: BTreeSet<(u32, String)> = BTreeSet::new();
    let mut pairs = 0usize;
    for row in &matrix {
        let rid = rule_by_path[row["rule"].as_str().unwrap()];
        let ls = logsource_of(&row["logsource"]);
        let group = events
            .iter()
            .filter(|e| event_logsource[e["event_id"].as_str().unwrap()] == ls)
            .count();
        assert_eq!(
            group as u64,
            row["evaluated_events"].as_u64().unwrap(),
            "group size for {}",
            row["rule"]
        );
        pairs += group;
        for e in row["expected_matches"].as_array().unwrap() {
            expected.insert((rid, e.as_str().unwrap().to_string()));
        }
    }
    assert_eq!(pairs, 229_859);
    assert_eq!(expected.len(), 350);

    // One fast-path pass over the events; with `slow` also rule by rule.
    let source_of = |id: &str| {
        let ls = &event_logsource[id];
        EventSource::new(
            ls.product.as_deref(),
            ls.category.as_deref(),
            ls.service.as_deref(),
        )
    };
    let mut scratch = set.scratch();
    let pass = |scratch: &mut tiaki_sigma::Scratch,
                mut slow: Option<&mut BTreeSet<(u32, String)>>| {
        let mut fast: BTreeSet<(u32, String)> = BTreeSet::new();
        let mut hits = Vec::new();
        for e in &events {
            let id = e["event_id"].as_str().unwrap().to_string();
            let source = source_of(&id);
            hits.clear();
            set.matches(&e["event"], Some(&source), scratch, &mut hits);
            fast.extend(hits.iter().map(|r| (*r, id.clone())));
            if let Some(slow) = slow.as_deref_mut() {
                for (rid, meta) in set.metas().enumerate() {
                    if source.admits(&meta.logsource)
                        && set.rule_matches(rid as u32, &e["event"], scratch)
                    {
                        slow.insert((rid as u32, id.clone()));
                    }
                }
            }
        }
        fast
    };
    let mut slow: BTreeSet<(u32, String)> = BTreeSet::new();
    let fast = pass(&mut scratch, Some(&mut slow));
    // Again with the same scratch: every value is now answered from the
    // caches of repeated values, and the verdicts must not change.
    let before = scratch.stats();
    let warm = pass(&mut scratch, None);
    let after = scratch.stats();
    assert!(
        after.cached_values - before.cached_values
            > 3 * (after.scanned_values - before.scanned_values),
        "second pass should come from the cache: {before:?} -> {after:?}"
    );
    assert!(warm == fast, "cached pass differs from first pass");
    let describe = |s: &BTreeSet<(u32, String)>, other: &BTreeSet<(u32, String)>| -> Vec<String> {
        s.difference(other)
            .take(20)
            .map(|(r, e)| format!("{} on {e}", set.meta(*r).origin))
            .collect()
    };
    assert!(
        slow == expected,
        "rule-by-rule: missing {:?}; extra {:?}",
        describe(&expected, &slow),
        describe(&slow, &expected)
    );
    assert!(
        fast == expected,
        "fast path: missing {:?}; extra {:?}",
        describe(&expected, &fast),
        describe(&fast, &expected)
    );
    eprintln!(
        "regression matrix: {pairs} (rule, event) verdicts reproduced, {} matches",
        expected.len()
    );
}

#[test]
fn regression_events_work_counters() {
    // Not a timing test: prints how much work the fast path does per event.
    let events = jsonl("data/vectors/sigma/sigmahq-regression/events.jsonl");
    let mut col = Collection::new(LoadOptions {
        unresolved_placeholders_match_nothing: true,
        ..Default::default()
    });
    for dir in ["rules", "rules-emerging-threats", "rules-threat-hunting"] {
        let mut stack = vec![shared(&format!("data/sigma/{dir}"))];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p)
                } else if p.extension().is_some_and(|x| x == "yml") {
                    col.add_source(
                        &p.display().to_string(),
                        &std::fs::read_to_string(&p).unwrap(),
                    );
                }
            }
        }
    }
    let set = col.compile().ruleset;
    let mut scratch = set.scratch();
    let mut hits = Vec::new();
    let source = EventSource::new(Some("windows"), Some("process_creation"), Some("sysmon"));
    for e in &events {
        set.matches(&e["event"], Some(&source), &mut scratch, &mut hits);
    }
    let s = scratch.stats();
    assert_eq!(s.events, 238);
    eprintln!(
        "{s:?}: {:.1} rules evaluated and {:.1} literal hits per event",
        s.rules_evaluated as f64 / 238.0,
        s.literal_hits as f64 / 238.0
    );
}
