//! Profiling driver: loads the SigmaHQ rules and matches the regression
//! events N times (`match_profile [N]`). Run it under `valgrind
//! --tool=callgrind` to count instructions, which is repeatable on a busy
//! machine where wall-clock benchmarks are not.

use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use tiaki_sigma::{Collection, EventSource, LoadOptions};

fn walk(dir: &Path, col: &mut Collection) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("rules dir")
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            walk(&p, col);
        } else if p.extension().is_some_and(|x| x == "yml") {
            col.add_source(
                &p.display().to_string(),
                &std::fs::read_to_string(&p).expect("rule"),
            );
        }
    }
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10);
    // `rule-by-rule` evaluates every applicable rule on its own, without the
    // shared automata and triggers, for comparison.
    let slow = std::env::args().nth(2).is_some_and(|a| a == "rule-by-rule");
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    let mut col = Collection::new(LoadOptions {
        unresolved_placeholders_match_nothing: true,
        ..Default::default()
    });
    for d in ["rules", "rules-emerging-threats", "rules-threat-hunting"] {
        walk(&shared.join("sigma").join(d), &mut col);
    }
    let set = col.compile().ruleset;
    let text =
        std::fs::read_to_string(shared.join("vectors/sigma/sigmahq-regression/events.jsonl"))
            .expect("events");
    let events: Vec<Json> = text
        .lines()
        .map(|l| serde_json::from_str::<Json>(l).expect("json")["event"].clone())
        .collect();
    let source = EventSource::new(Some("windows"), Some("process_creation"), Some("sysmon"));
    let mut scratch = set.scratch();
    let mut hits = Vec::new();
    let applicable: Vec<u32> = (0..set.len() as u32)
        .filter(|r| source.admits(&set.meta(*r).logsource))
        .collect();
    let mut slow_hits = 0usize;
    for _ in 0..n {
        for e in &events {
            hits.clear();
            if slow {
                slow_hits += applicable
                    .iter()
                    .filter(|r| set.rule_matches(**r, e, &mut scratch))
                    .count();
            } else {
                set.matches(e, Some(&source), &mut scratch, &mut hits);
            }
        }
    }
    if slow {
        println!(
            "rule-by-rule: {} applicable rules, {slow_hits} matches",
            applicable.len()
        );
    }
    println!("{:?}", scratch.stats());
}
