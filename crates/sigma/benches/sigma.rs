//! Criterion benchmarks: compiling the SigmaHQ rule set, and matching the
//! SigmaHQ regression events against it compared with parsing them.
//!
//! Rules and events are read from `shared/data` (outside the repository).

use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::Value as Json;
use tiaki_sigma::{Collection, EventSource, LoadOptions};

fn shared(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(rel)
}

fn rule_texts() -> Vec<(String, String)> {
    let mut out = Vec::new();
    fn walk(dir: &Path, out: &mut Vec<(String, String)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("rules dir")
            .flatten()
            .collect();
        entries.sort_by_key(|e| e.path());
        for e in entries {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "yml") {
                out.push((
                    p.display().to_string(),
                    std::fs::read_to_string(&p).expect("rule"),
                ));
            }
        }
    }
    for d in [
        "rules",
        "rules-emerging-threats",
        "rules-threat-hunting",
        "rules-placeholder",
        "rules-compliance",
        "rules-dfir",
    ] {
        walk(&shared(&format!("data/sigma/{d}")), &mut out);
    }
    out
}

fn load(texts: &[(String, String)]) -> tiaki_sigma::Compiled {
    let mut col = Collection::new(LoadOptions {
        unresolved_placeholders_match_nothing: true,
        ..Default::default()
    });
    for (origin, text) in texts {
        col.add_source(origin, text);
    }
    col.compile()
}

fn bench(c: &mut Criterion) {
    let texts = rule_texts();
    let mut g = c.benchmark_group("compile");
    g.sample_size(10);
    g.bench_function(format!("sigmahq_{}_files", texts.len()), |b| {
        b.iter(|| load(&texts))
    });
    g.finish();

    let set = load(&texts).ruleset;
    let lines: Vec<String> =
        std::fs::read_to_string(shared("data/vectors/sigma/sigmahq-regression/events.jsonl"))
            .expect("events")
            .lines()
            .map(str::to_string)
            .collect();
    let events: Vec<Json> = lines
        .iter()
        .map(|l| serde_json::from_str::<Json>(l).expect("json")["event"].clone())
        .collect();
    // Route each event like a Windows reader would: Sysmon EID 1 / Security 4688 are process_creation etc.
    let sources: Vec<EventSource<'static>> = events
        .iter()
        .map(|e| {
            let eid = e.get("EventID").and_then(Json::as_i64).unwrap_or(0);
            let channel = e.get("Channel").and_then(Json::as_str).unwrap_or("");
            let category = match (channel.contains("Sysmon"), eid) {
                (true, 1) => Some("process_creation"),
                (true, 7) => Some("image_load"),
                (true, 10) => Some("process_access"),
                (true, 11) => Some("file_event"),
                (true, 12) => Some("registry_delete"),
                (true, 13) => Some("registry_set"),
                (true, 17) => Some("pipe_created"),
                _ => None,
            };
            let service = if channel.contains("Sysmon") {
                Some("sysmon")
            } else if channel == "Security" {
                Some("security")
            } else {
                None
            };
            EventSource::new(Some("windows"), category, service)
        })
        .collect();
    let mut g = c.benchmark_group("events");
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("parse_json", |b| {
        b.iter(|| {
            lines.iter().fold(0usize, |n, l| {
                n + serde_json::from_str::<Json>(l)
                    .expect("json")
                    .as_object()
                    .map_or(0, |o| o.len())
            })
        })
    });
    let mut scratch = set.scratch();
    let mut hits = Vec::new();
    g.bench_function("match_all_rules", |b| {
        b.iter(|| {
            let mut n = 0;
            for (e, s) in events.iter().zip(&sources) {
                hits.clear();
                set.matches(e, Some(s), &mut scratch, &mut hits);
                n += hits.len();
            }
            n
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
