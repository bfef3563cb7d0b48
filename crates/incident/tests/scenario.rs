//! Incidents and containment from real `tiaki hunt --format jsonl` output.
//!
//! The fixtures under `tests/data/` are detections of the committed examples, hunted with the
//! repository's rules and the example intelligence. `explore_from_env` is an ignored test that
//! prints the incidents of any detections file, for tuning:
//!
//! ```text
//! TIAKI_DETECTIONS=/tmp/apt40.jsonl [TIAKI_TRUTH=/var/tmp/scen/apt40/truth.json] \
//!   cargo test -p tiaki-incident --test scenario -- --ignored --nocapture
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use tiaki::Detection;
use tiaki_incident::{
    ContainmentOptions, Incident, IncidentOptions, Severity, containment_plan, correlate,
};
use tiaki_intel::kb::KnowledgeBase;

fn load(path: &Path) -> Vec<Detection> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn kb() -> KnowledgeBase {
    tiaki_intel::pack::LoadedKb::pack_only().unwrap().kb
}

#[test]
fn quickstart_is_one_high_incident_with_a_plan() {
    let d = load(&data("quickstart.jsonl"));
    let k = kb();
    let c = correlate(&d, &k, &IncidentOptions::default());
    assert_eq!(c.incidents.len(), 1, "{:#?}", titles(&c.incidents));
    let inc = &c.incidents[0];
    assert_eq!(inc.id, "INC-001");
    assert_eq!(inc.events.len(), d.len());
    // One host: the credential theft makes it high, not critical.
    assert_eq!(inc.severity, Severity::High, "{:?}", inc.severity_reasons);
    assert_eq!(inc.hosts, vec!["PCO-WEB01"]);
    assert!(
        inc.web_shells.iter().any(|w| w.ends_with("errors.aspx")),
        "{:?}",
        inc.web_shells
    );
    assert!(inc.addresses.contains(&"203.0.113.77".to_string()));
    let tactics: Vec<&str> = inc.phases.iter().map(|p| p.tactic.as_str()).collect();
    let mut sorted = tactics.clone();
    sorted.sort_by_key(|t| tiaki_incident::correlate::tactic_rank(t));
    assert_eq!(tactics, sorted, "phases are in kill-chain order");
    assert!(tactics.contains(&"credential-access"));
    assert!(inc.narrative.contains("PCO-WEB01") && inc.narrative.contains("203.0.113.77"));
    // Every event carries an index into the detections and a summary.
    assert!(
        inc.events
            .iter()
            .all(|e| e.index < d.len() && !e.summary.is_empty())
    );

    let plan = containment_plan(&c.incidents, &d, &k, &ContainmentOptions::default());
    assert_eq!(plan.isolate_hosts.len(), 1);
    assert_eq!(plan.isolate_hosts[0].target, "PCO-WEB01");
    assert_eq!(plan.isolate_hosts[0].priority, 1);
    assert!(
        plan.reset_accounts.iter().any(|a| a.target == "krbtgt"),
        "{:?}",
        plan.reset_accounts
    );
    assert!(plan.blocklist_plain("ipv4").contains("203.0.113.77\n"));
    assert!(
        plan.blocklist_plain("url")
            .contains("http://203.0.113.77/s.txt\n")
    );
    assert!(
        plan.remove_files
            .iter()
            .any(|a| a.target.ends_with("errors.aspx")),
        "{:?}",
        plan.remove_files
    );
    assert!(!plan.mitigations.is_empty());
    // The plan and the incidents serialise (the report crate's contract).
    serde_json::to_string(&plan).unwrap();
    serde_json::to_string(&c.incidents).unwrap();
}

/// A sample of the detections of the synthetic APT40 scenario (`tiaki-scenario`, seed 20250303):
/// for every storyline step its highest-level detections of up to six rules, one detection of
/// each benign decoy, and the YARA hits on the web shells. Hunted with the Sigma rules, the
/// repository's rules and `examples/parliament/intel`; EVTX boilerplate fields (`Keywords`,
/// `Opcode`…) were dropped to keep the file small.
#[test]
fn apt40_sample_is_one_critical_incident_and_decoys_stay_out() {
    let d = load(&data("apt40-sample.jsonl"));
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data("apt40-sample-truth.json")).unwrap())
            .unwrap();
    let items = truth["items"].as_object().unwrap();
    let item_of = |d: &Detection| {
        let s = &d.source;
        let key = match (s.record_id, s.line) {
            (Some(r), _) => format!("{}#{r}", s.path),
            (None, Some(l)) => format!("{}:{l}", s.path),
            _ => s.path.clone(),
        };
        items[&key].as_str().unwrap().to_string()
    };
    let k = kb();
    let c = correlate(&d, &k, &IncidentOptions::default());
    let step_incidents: BTreeSet<&str> = c
        .incidents
        .iter()
        .filter(|i| {
            i.events
                .iter()
                .any(|e| item_of(&d[e.index]).starts_with('S'))
        })
        .map(|i| i.id.as_str())
        .collect();
    assert_eq!(step_incidents.len(), 1, "{:#?}", titles(&c.incidents));
    let inc = &c.incidents[0];
    assert_eq!(
        inc.severity,
        Severity::Critical,
        "{:?}",
        inc.severity_reasons
    );
    for e in &inc.events {
        let item = item_of(&d[e.index]);
        assert!(
            item.starts_with('S'),
            "decoy {item} in the APT40 incident: {}",
            e.rule_title
        );
    }
    let steps: BTreeSet<String> = inc.events.iter().map(|e| item_of(&d[e.index])).collect();
    let all_steps: BTreeSet<String> = d
        .iter()
        .map(item_of)
        .filter(|i| i.starts_with('S'))
        .collect();
    assert_eq!(steps, all_steps);
    // No decoy makes a high or critical incident.
    for i in &c.incidents[1..] {
        assert!(
            i.severity <= Severity::Medium,
            "{} {} {:?}",
            i.id,
            i.title,
            i.severity_reasons
        );
    }
    // The storyline's facts.
    for h in [
        "PDO-WEB01",
        "PDO-FS01",
        "PDO-DC01",
        "PDO-JMP01",
        "PDO-SQL01",
    ] {
        assert!(
            inc.hosts.contains(&h.to_string()),
            "{h} not in {:?}",
            inc.hosts
        );
    }
    for a in ["203.0.113.45", "198.51.100.23"] {
        assert!(
            inc.addresses.contains(&a.to_string()),
            "{a} not in {:?}",
            inc.addresses
        );
    }
    assert!(
        inc.web_shells
            .contains(&"/drafts/images/thumbs/spinner.aspx".to_string())
    );
    for a in ["svc_sqlrpt", "adm.tkereama"] {
        assert!(
            inc.accounts.contains(&a.to_string()),
            "{a} not in {:?}",
            inc.accounts
        );
    }
    let tactics: Vec<&str> = inc.phases.iter().map(|p| p.tactic.as_str()).collect();
    for t in [
        "initial-access",
        "credential-access",
        "lateral-movement",
        "exfiltration",
    ] {
        assert!(tactics.contains(&t), "{t} not in {tactics:?}");
    }

    let plan = containment_plan(&c.incidents, &d, &k, &ContainmentOptions::default());
    let iso: Vec<&str> = plan
        .isolate_hosts
        .iter()
        .map(|a| a.target.as_str())
        .collect();
    assert!(
        iso.contains(&"PDO-WEB01") && iso.contains(&"PDO-FS01"),
        "{iso:?}"
    );
    assert!(
        plan.isolate_hosts
            .iter()
            .filter(|a| a.priority == 1)
            .any(|a| a.target == "PDO-WEB01")
    );
    let acc: Vec<&str> = plan
        .reset_accounts
        .iter()
        .map(|a| a.target.as_str())
        .collect();
    for a in ["svc_sqlrpt", "adm.tkereama", "krbtgt"] {
        assert!(acc.contains(&a), "{a} not in {acc:?}");
    }
    let ch: Vec<&str> = plan
        .revert_changes
        .iter()
        .map(|a| a.target.as_str())
        .collect();
    assert!(
        ch.iter()
            .any(|c| c.contains("Windows Image Acquisition Debug")),
        "{ch:?}"
    );
    let ipv4 = plan.blocklist_plain("ipv4");
    assert!(
        ipv4.contains("203.0.113.45\n") && ipv4.contains("198.51.100.23\n"),
        "{ipv4}"
    );
    assert!(!ipv4.contains("10.") && !ipv4.contains("172.16."), "{ipv4}");
    assert!(
        plan.remove_files
            .iter()
            .any(|a| a.target.to_lowercase().contains("spinner.aspx"))
    );
}

fn titles(incs: &[Incident]) -> Vec<String> {
    incs.iter()
        .map(|i| {
            format!(
                "{} {} {} ({} events)",
                i.id,
                i.severity.as_str(),
                i.title,
                i.events.len()
            )
        })
        .collect()
}

/// Record keys (`path#record` / `path:line`, path relative to the scenario root) of a truth
/// file's steps and decoys, if the file has them. Tolerant of the shape: it looks for objects
/// with an `id` and a list of records anywhere in the document.
fn truth_records(truth: &serde_json::Value) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    fn walk(v: &serde_json::Value, label: Option<String>, out: &mut BTreeMap<String, Vec<String>>) {
        match v {
            serde_json::Value::Object(m) => {
                let id = m
                    .get("id")
                    .and_then(|x| x.as_str())
                    .map(str::to_string)
                    .or(label.clone());
                for (k, x) in m {
                    if (k == "records" || k == "sources" || k == "evidence")
                        && let Some(arr) = x.as_array()
                        && let Some(id) = &id
                    {
                        for r in arr {
                            let key = match r {
                                serde_json::Value::String(s) => Some(s.clone()),
                                serde_json::Value::Object(o) => {
                                    let p = o
                                        .get("path")
                                        .or_else(|| o.get("file"))
                                        .and_then(|p| p.as_str());
                                    let rid = o
                                        .get("record_id")
                                        .or_else(|| o.get("record"))
                                        .and_then(|r| r.as_u64());
                                    let line = o.get("line").and_then(|r| r.as_u64());
                                    p.map(|p| match (rid, line) {
                                        (Some(r), _) => format!("{p}#{r}"),
                                        (None, Some(l)) => format!("{p}:{l}"),
                                        _ => p.to_string(),
                                    })
                                }
                                _ => None,
                            };
                            if let Some(key) = key {
                                out.entry(id.clone()).or_default().push(key);
                            }
                        }
                    } else {
                        walk(x, id.clone(), out);
                    }
                }
            }
            serde_json::Value::Array(a) => {
                for x in a {
                    walk(x, label.clone(), out);
                }
            }
            _ => {}
        }
    }
    walk(truth, None, &mut out);
    out
}

#[test]
#[ignore = "explores TIAKI_DETECTIONS; run with --ignored --nocapture"]
fn explore_from_env() {
    let Ok(path) = std::env::var("TIAKI_DETECTIONS") else {
        eprintln!("set TIAKI_DETECTIONS");
        return;
    };
    let d = load(Path::new(&path));
    let k = match std::env::var("TIAKI_KB") {
        Ok(p) => KnowledgeBase::from_bundle_file(p).unwrap(),
        Err(_) => kb(),
    };
    let c = correlate(&d, &k, &IncidentOptions::default());
    println!(
        "{} detections -> {} incidents; hubs: {:?}",
        d.len(),
        c.incidents.len(),
        c.hubs
    );
    let mut by_sev: BTreeMap<&str, usize> = BTreeMap::new();
    for i in &c.incidents {
        *by_sev.entry(i.severity.as_str()).or_default() += 1;
    }
    println!("by severity: {by_sev:?}");
    let verbose = std::env::var("TIAKI_VERBOSE").is_ok();
    for i in &c.incidents {
        if i.severity < Severity::Medium && !verbose {
            continue;
        }
        println!(
            "\n{} {} {} | {} events | {} .. {} | hosts {:?}",
            i.id,
            i.severity.as_str(),
            i.title,
            i.events.len(),
            i.first_seen.as_deref().unwrap_or("?"),
            i.last_seen.as_deref().unwrap_or("?"),
            i.hosts
        );
        println!("  reasons: {:?}", i.severity_reasons);
        let mut rules: BTreeMap<(String, String), usize> = BTreeMap::new();
        for e in &i.events {
            *rules
                .entry((
                    e.tactic.clone().unwrap_or_else(|| "-".into()),
                    e.rule_title.clone(),
                ))
                .or_default() += 1;
        }
        for ((t, r), n) in rules {
            println!("    {n:4} [{t}] {r}");
        }
        if verbose {
            println!("  {}", i.narrative);
        }
    }
    if let Ok(t) = std::env::var("TIAKI_TRUTH") {
        let truth: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&t).unwrap()).unwrap();
        let recs = truth_records(&truth);
        // Record key -> incident.
        let mut where_: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
        for i in &c.incidents {
            for e in &i.events {
                let s = &e.source;
                let p = s.path.clone();
                let keys = [
                    s.record_id.map(|r| format!("{p}#{r}")),
                    s.line.map(|l| format!("{p}:{l}")),
                ];
                for k in keys.into_iter().flatten() {
                    where_
                        .entry(k)
                        .or_default()
                        .insert((i.id.clone(), i.severity.as_str().to_string()));
                }
            }
        }
        println!("\ntruth items -> incidents:");
        for (id, keys) in recs {
            let mut hit: BTreeSet<(String, String)> = BTreeSet::new();
            let mut detected = 0;
            for k in &keys {
                let m: Vec<_> = where_
                    .iter()
                    .filter(|(wk, _)| wk.ends_with(k.as_str()) || k.ends_with(wk.as_str()))
                    .collect();
                if !m.is_empty() {
                    detected += 1;
                }
                for (_, v) in m {
                    hit.extend(v.iter().cloned());
                }
            }
            println!(
                "  {id}: {detected}/{} records detected -> {hit:?}",
                keys.len()
            );
        }
    }
    let plan = containment_plan(&c.incidents, &d, &k, &ContainmentOptions::default());
    println!("\nplan: {}", serde_json::to_string_pretty(&plan).unwrap());
}
