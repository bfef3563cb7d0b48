//! Ground truth: which records belong to which storyline step or decoy, and recall.
//!
//! Why every record: detections point at single records (a Sigma hit on one 4769, a YARA
//! hit on a file). Listing every record a step wrote lets recall be computed per step as
//! "found if any detection points at any of its records", without guessing which record a
//! detector "should" have picked.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::sink::{Placed, Tag};

/// One piece of evidence: a record of a file, by Windows record id or by line, or a whole
/// file (both absent).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EvidenceRef {
    /// Relative to the output folder, with `/` separators.
    pub path: String,
    /// `EventRecordID` for Windows event logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_id: Option<u64>,
    /// 1-based line number for text logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
}

/// One step of the storyline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// `S01`, `S02`…
    pub id: String,
    /// Short description.
    pub name: String,
    /// MITRE ATT&CK technique ids.
    pub techniques: Vec<String>,
    /// ATT&CK tactic (kebab-case, e.g. `initial-access`).
    pub tactic: String,
    /// The main host of the step.
    pub host: String,
    /// First record's time (RFC 3339, UTC).
    pub start: String,
    /// Last record's time (RFC 3339, UTC).
    pub end: String,
    /// Every record the generator wrote for this step.
    pub evidence: Vec<EvidenceRef>,
}

/// One benign decoy (section 4.2, B1–B12): must not be attributed to the actor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decoy {
    /// `B1`…`B12`.
    pub id: String,
    /// Short description.
    pub name: String,
    /// Every record the generator wrote for this decoy.
    pub evidence: Vec<EvidenceRef>,
}

/// The content of `truth.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// `apt40`, `apt31` or `background`.
    pub scenario: String,
    /// The seed the files were generated from.
    pub seed: u64,
    /// The background volume multiplier.
    pub scale: f64,
    /// Storyline steps (empty for `background`).
    pub steps: Vec<Step>,
    /// Benign decoys.
    pub decoys: Vec<Decoy>,
}

/// Recall of one step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecall {
    /// Step id.
    pub id: String,
    /// Step name.
    pub name: String,
    /// Whether any hit points at any of the step's records.
    pub detected: bool,
    /// Distinct records of the step that were hit.
    pub records_hit: usize,
    /// Records of the step.
    pub records_total: usize,
}

/// Reads a `truth.json`.
pub fn load_truth(path: impl AsRef<Path>) -> Result<Truth, Error> {
    let path = path.as_ref();
    let text = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&text).map_err(|e| Error::Json(path.display().to_string(), e))
}

impl Truth {
    /// The text of `truth.json`: indented, with one evidence record per line (a step can have
    /// thousands), ending in a newline.
    pub fn to_json(&self) -> String {
        fn q<T: Serialize + ?Sized>(v: &T) -> String {
            serde_json::to_string(v).expect("truth serialises")
        }
        fn evidence(out: &mut String, ev: &[EvidenceRef]) {
            out.push_str("      \"evidence\": [");
            for (i, e) in ev.iter().enumerate() {
                out.push_str(if i == 0 { "\n        " } else { ",\n        " });
                out.push_str(&q(e));
            }
            out.push_str(if ev.is_empty() { "]\n" } else { "\n      ]\n" });
        }
        let mut out = String::new();
        out.push_str(&format!(
            "{{\n  \"scenario\": {},\n  \"seed\": {},\n  \"scale\": {},\n  \"steps\": [",
            q(&self.scenario),
            self.seed,
            q(&self.scale)
        ));
        for (i, s) in self.steps.iter().enumerate() {
            out.push_str(if i == 0 { "\n" } else { ",\n" });
            out.push_str(&format!(
                "    {{\n      \"id\": {},\n      \"name\": {},\n      \"techniques\": {},\n      \"tactic\": {},\n      \"host\": {},\n      \"start\": {},\n      \"end\": {},\n",
                q(&s.id), q(&s.name), q(&s.techniques), q(&s.tactic), q(&s.host), q(&s.start), q(&s.end)
            ));
            evidence(&mut out, &s.evidence);
            out.push_str("    }");
        }
        out.push_str(if self.steps.is_empty() {
            "],\n  \"decoys\": ["
        } else {
            "\n  ],\n  \"decoys\": ["
        });
        for (i, d) in self.decoys.iter().enumerate() {
            out.push_str(if i == 0 { "\n" } else { ",\n" });
            out.push_str(&format!(
                "    {{\n      \"id\": {},\n      \"name\": {},\n",
                q(&d.id),
                q(&d.name)
            ));
            evidence(&mut out, &d.evidence);
            out.push_str("    }");
        }
        out.push_str(if self.decoys.is_empty() {
            "]\n}\n"
        } else {
            "\n  ]\n}\n"
        });
        out
    }
}

/// Normalises a path for suffix matching: `/` separators, no leading `./`.
fn norm(p: &str) -> String {
    let p = p.replace('\\', "/");
    p.strip_prefix("./").unwrap_or(&p).to_string()
}

impl Truth {
    /// Recall per step for a set of hits `(path, record_id, line)`. Paths may be absolute or
    /// relative: a hit matches evidence whose relative path is a suffix of the hit's path
    /// (at a `/` boundary). Evidence that is a whole file matches any hit on that file.
    pub fn recall<'a>(
        &self,
        hits: impl Iterator<Item = (&'a str, Option<u64>, Option<u64>)>,
    ) -> Vec<StepRecall> {
        let paths: HashSet<&str> = self
            .steps
            .iter()
            .flat_map(|s| s.evidence.iter().map(|e| e.path.as_str()))
            .collect();
        let mut resolved: HashMap<String, Option<&str>> = HashMap::new();
        // Keys: (path, Some(record id), None) for record hits, (path, None, Some(line)) for
        // line hits; a hit with both (tiaki reports the line of a JSON Lines record too)
        // gives both keys.
        let mut hit_set: HashSet<(&str, Option<u64>, Option<u64>)> = HashSet::new();
        let mut hit_files: HashSet<&str> = HashSet::new();
        for (p, rid, line) in hits {
            let n = norm(p);
            let rel = *resolved.entry(n.clone()).or_insert_with(|| {
                paths
                    .iter()
                    .copied()
                    .filter(|t| n == *t || n.ends_with(&format!("/{t}")))
                    .max_by_key(|t| t.len())
            });
            if let Some(rel) = rel {
                hit_files.insert(rel);
                if rid.is_some() {
                    hit_set.insert((rel, rid, None));
                }
                if line.is_some() {
                    hit_set.insert((rel, None, line));
                }
            }
        }
        self.steps
            .iter()
            .map(|s| {
                let hit = s
                    .evidence
                    .iter()
                    .filter(|e| match (e.record_id, e.line) {
                        (None, None) => hit_files.contains(e.path.as_str()),
                        (Some(id), _) => hit_set.contains(&(e.path.as_str(), Some(id), None)),
                        (None, Some(l)) => hit_set.contains(&(e.path.as_str(), None, Some(l))),
                    })
                    .count();
                StepRecall {
                    id: s.id.clone(),
                    name: s.name.clone(),
                    detected: hit > 0,
                    records_hit: hit,
                    records_total: s.evidence.len(),
                }
            })
            .collect()
    }
}

/// A step or decoy as declared by a generator, before its records are placed.
#[derive(Debug, Clone)]
struct Entry {
    id: String,
    name: String,
    techniques: Vec<String>,
    tactic: String,
    host: String,
    decoy: bool,
}

/// The steps and decoys a generator declares; hands out the tags its records carry.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    entries: Vec<Entry>,
}

impl Plan {
    /// Declares a storyline step.
    pub(crate) fn step(
        &mut self,
        id: &str,
        name: &str,
        techniques: &[&str],
        tactic: &str,
        host: &str,
    ) -> Tag {
        self.entries.push(Entry {
            id: id.into(),
            name: name.into(),
            techniques: techniques.iter().map(|t| t.to_string()).collect(),
            tactic: tactic.into(),
            host: host.into(),
            decoy: false,
        });
        self.entries.len() as Tag
    }

    /// Declares a decoy.
    pub(crate) fn decoy(&mut self, id: &str, name: &str) -> Tag {
        self.entries.push(Entry {
            id: id.into(),
            name: name.into(),
            techniques: Vec::new(),
            tactic: String::new(),
            host: String::new(),
            decoy: true,
        });
        self.entries.len() as Tag
    }

    /// The truth, once records are placed.
    pub(crate) fn build(self, scenario: &str, seed: u64, scale: f64, mut placed: Placed) -> Truth {
        let mut steps = Vec::new();
        let mut decoys = Vec::new();
        for (i, e) in self.entries.into_iter().enumerate() {
            let tag = (i + 1) as Tag;
            let evidence = placed.evidence.remove(&tag).unwrap_or_default();
            if e.decoy {
                decoys.push(Decoy {
                    id: e.id,
                    name: e.name,
                    evidence,
                });
            } else {
                let (a, b) = placed.span.get(&tag).copied().unwrap_or_default();
                let fmt = |t: chrono::DateTime<chrono::Utc>| {
                    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                };
                steps.push(Step {
                    id: e.id,
                    name: e.name,
                    techniques: e.techniques,
                    tactic: e.tactic,
                    host: e.host,
                    start: fmt(a),
                    end: fmt(b),
                    evidence,
                });
            }
        }
        let sort_key = |id: &str| {
            (
                id.chars().next().unwrap_or(' '),
                id[1..].parse::<u32>().unwrap_or(0),
            )
        };
        decoys.sort_by_key(|d| sort_key(&d.id));
        Truth {
            scenario: scenario.into(),
            seed,
            scale,
            steps,
            decoys,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truth() -> Truth {
        let ev = |p: &str, r: Option<u64>, l: Option<u64>| EvidenceRef {
            path: p.into(),
            record_id: r,
            line: l,
        };
        Truth {
            scenario: "apt40".into(),
            seed: 1,
            scale: 1.0,
            steps: vec![
                Step {
                    id: "S01".into(),
                    name: "a".into(),
                    techniques: vec!["T1190".into()],
                    tactic: "initial-access".into(),
                    host: "H".into(),
                    start: String::new(),
                    end: String::new(),
                    evidence: vec![
                        ev("hosts/H/Sysmon.jsonl", Some(5), None),
                        ev("hosts/H/Sysmon.jsonl", Some(6), None),
                    ],
                },
                Step {
                    id: "S02".into(),
                    name: "b".into(),
                    techniques: vec![],
                    tactic: "persistence".into(),
                    host: "H".into(),
                    start: String::new(),
                    end: String::new(),
                    evidence: vec![
                        ev("hosts/H/iis/u_ex250303.log", None, Some(9)),
                        ev("hosts/H/wwwroot/shell.aspx", None, None),
                    ],
                },
                Step {
                    id: "S03".into(),
                    name: "c".into(),
                    techniques: vec![],
                    tactic: "discovery".into(),
                    host: "H".into(),
                    start: String::new(),
                    end: String::new(),
                    evidence: vec![ev("sensor/conn.log", None, Some(12))],
                },
            ],
            decoys: vec![],
        }
    }

    #[test]
    fn recall_matches_suffixes_records_lines_and_files() {
        let t = truth();
        let hits = [
            ("/data/out/hosts/H/Sysmon.jsonl", Some(6), Some(2)),
            ("C:\\cases\\out\\hosts\\H\\wwwroot\\shell.aspx", None, None),
            ("out/sensor/conn.log", None, Some(11)),
            ("other/hosts/X/Sysmon.jsonl", Some(5), None),
        ];
        let r = t.recall(hits.iter().map(|(p, a, b)| (*p, *a, *b)));
        assert_eq!(r.len(), 3);
        assert!(r[0].detected && r[0].records_hit == 1 && r[0].records_total == 2);
        assert!(r[1].detected && r[1].records_hit == 1);
        assert!(!r[2].detected);
        let none = t.recall(std::iter::empty());
        assert!(none.iter().all(|s| !s.detected && s.records_hit == 0));
    }

    #[test]
    fn truth_json_round_trips() {
        let t = truth();
        let back: Truth = serde_json::from_str(&t.to_json()).unwrap();
        assert_eq!(back, t);
        let empty = Truth { steps: vec![], ..t };
        let back: Truth = serde_json::from_str(&empty.to_json()).unwrap();
        assert_eq!(back, empty);
    }
}
