//! STIX 2.1 bundles: `indicator` objects, with attribution and TLP resolved from the rest of
//! the bundle.
//!
//! An indicator's useful context is spread over other objects: `indicates` relationships to
//! an intrusion set (or to malware, a tool or a campaign that is itself attributed to one or
//! used by one), and the TLP of the report or grouping that carried it (MISP exports mark
//! only the container). Objects come in any order, so the bundle is streamed once (one
//! object in memory at a time), the few properties needed are kept, and everything is
//! resolved at the end.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tiaki_stix::{BundleError, BundleReader, StixObject, Timestamp, Tlp};

use super::{FeedError, FeedReport, Interner, Position};
use crate::indicator::{Condition, Indicator};

/// What is kept of an indicator object until the bundle is fully read.
struct Pending {
    id: String,
    name: Option<String>,
    pattern: Option<String>,
    pattern_type: Option<String>,
    valid_from: Option<String>,
    valid_until: Option<String>,
    confidence: Option<i64>,
    labels: Vec<String>,
    marks: Vec<String>,
    modified: Option<Timestamp>,
    revoked: bool,
    index: usize,
}

#[derive(Default)]
struct Collected {
    indicators: Vec<Pending>,
    /// Latest version of each indicator id → position in `indicators`.
    latest: HashMap<String, usize>,
    /// Names of intrusion sets, threat actors, malware, tools and campaigns.
    names: HashMap<String, String>,
    /// `indicates` source → targets.
    indicates: HashMap<String, Vec<String>>,
    /// `attributed-to` source → targets.
    attributed: HashMap<String, Vec<String>>,
    /// `uses` target → sources (who uses this malware or tool).
    used_by: HashMap<String, Vec<String>>,
    /// Reports and groupings: their markings and contents.
    containers: Vec<(Vec<String>, Vec<String>)>,
    /// TLP marking definitions under ids other than the standard ones.
    custom_tlp: HashMap<String, Tlp>,
    index: usize,
}

fn id_type(id: &str) -> &str {
    id.split_once("--").map_or(id, |(t, _)| t)
}

fn str_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

impl Collected {
    fn take(&mut self, obj: StixObject) {
        let index = self.index;
        self.index += 1;
        match obj.type_.as_str() {
            "indicator" => {
                let mut labels = str_list(obj.get("indicator_types"));
                labels.extend(obj.labels.iter().flatten().cloned());
                let p = Pending {
                    name: obj.name().map(str::to_string),
                    pattern: obj.get_str("pattern").map(str::to_string),
                    pattern_type: obj.get_str("pattern_type").map(str::to_string),
                    valid_from: obj.get_str("valid_from").map(str::to_string),
                    valid_until: obj.get_str("valid_until").map(str::to_string),
                    confidence: obj.confidence,
                    labels,
                    marks: obj.object_marking_refs.clone().unwrap_or_default(),
                    modified: obj.modified.clone(),
                    revoked: obj.is_revoked(),
                    index,
                    id: obj.id,
                };
                match self.latest.get(&p.id) {
                    Some(&i) if self.indicators[i].modified >= p.modified => {}
                    Some(&i) => self.indicators[i] = p,
                    None => {
                        self.latest.insert(p.id.clone(), self.indicators.len());
                        self.indicators.push(p);
                    }
                }
            }
            "intrusion-set" | "threat-actor" | "malware" | "tool" | "campaign" => {
                if let Some(n) = obj.name().filter(|_| !obj.is_revoked()) {
                    self.names.insert(obj.id.clone(), n.to_string());
                }
            }
            "relationship" if !obj.is_revoked() => {
                let (Some(s), Some(t)) = (obj.get_str("source_ref"), obj.get_str("target_ref"))
                else {
                    return;
                };
                let (s, t) = (s.to_string(), t.to_string());
                match obj.get_str("relationship_type") {
                    Some("indicates") => self.indicates.entry(s).or_default().push(t),
                    Some("attributed-to") => self.attributed.entry(s).or_default().push(t),
                    Some("uses") => self.used_by.entry(t).or_default().push(s),
                    _ => {}
                }
            }
            "report" | "grouping" => {
                let marks = obj.object_marking_refs.clone().unwrap_or_default();
                if !marks.is_empty() {
                    self.containers
                        .push((marks, str_list(obj.get("object_refs"))));
                }
            }
            "marking-definition" => {
                if Tlp::from_marking_id(&obj.id).is_none()
                    && let Some(t) = Tlp::from_marking_definition(&obj)
                {
                    self.custom_tlp.insert(obj.id.clone(), t);
                }
            }
            _ => {}
        }
    }

    fn tlp_of(&self, marks: &[String]) -> Option<Tlp> {
        marks
            .iter()
            .filter_map(|m| Tlp::from_marking_id(m).or_else(|| self.custom_tlp.get(m).copied()))
            .max()
    }

    /// Names of the intrusion sets and threat actors an indicator indicates, directly or
    /// through malware, a tool or a campaign attributed to (or used by) one.
    fn intrusion_sets(&self, indicator: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut add = |id: &str| {
            if matches!(id_type(id), "intrusion-set" | "threat-actor")
                && let Some(n) = self.names.get(id)
                && !out.contains(n)
            {
                out.push(n.clone());
            }
        };
        for t in self.indicates.get(indicator).into_iter().flatten() {
            match id_type(t) {
                "intrusion-set" | "threat-actor" => add(t),
                "malware" | "tool" | "campaign" => {
                    for a in self.attributed.get(t).into_iter().flatten() {
                        add(a);
                    }
                    for u in self.used_by.get(t).into_iter().flatten() {
                        add(u);
                        // A campaign that uses the malware, attributed to an intrusion set.
                        if id_type(u) == "campaign" {
                            for a in self.attributed.get(u).into_iter().flatten() {
                                add(a);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }
}

fn to_chrono(raw: &str) -> Result<DateTime<Utc>, String> {
    let t = Timestamp::parse(raw).map_err(|e| e.to_string())?;
    DateTime::from_timestamp(t.unix_seconds(), t.subsec_nanos())
        .ok_or_else(|| format!("'{raw}' is out of range"))
}

/// Reads the indicators of a STIX 2.1 bundle held in memory (`source` names it in the
/// indicators and the report).
///
/// * `pattern_type: stix` indicators become [`Condition::Pattern`]; other pattern types
///   (`yara`, `sigma`, `snort`…) are skipped and counted by type; revoked indicators are
///   skipped and counted; of several versions of one indicator the latest `modified` wins.
/// * TLP: the most restrictive of the indicator's own TLP markings and those of every
///   `report` or `grouping` listing it in `object_refs` (TLP 1.0 and 2.0 ids, and marking
///   definitions of the bundle that carry a TLP under another id).
/// * Intrusion sets: the names of `intrusion-set`/`threat-actor` objects it `indicates`,
///   directly or through `malware`, `tool` or `campaign` objects `attributed-to` them or
///   that they `use`.
///
/// Bad objects are skipped (the bundle is read leniently); malformed JSON or a document that
/// is not a bundle is an error.
pub fn read_stix_bundle(
    bytes: &[u8],
    source: &str,
    out: &mut Vec<Indicator>,
    report: &mut FeedReport,
) -> Result<(), FeedError> {
    let mut c = Collected::default();
    let summary = BundleReader::new()
        .lenient(true)
        .read_slice(bytes, |o| c.take(o))
        .map_err(|e| FeedError::Malformed {
            file: source.to_string(),
            reason: e.to_string(),
        })?;
    report.files += 1;
    for e in summary.skipped {
        let at = match &e {
            BundleError::Object { index, id, .. } => Position::Entry(match id {
                Some(id) => format!("object {index} ({id})"),
                None => format!("object {index}"),
            }),
            _ => Position::File,
        };
        report.skip(source, at, "invalid STIX object", e.to_string());
    }

    // TLP pushed down from containers: the most restrictive container marking per object.
    let mut inherited: HashMap<&str, Tlp> = HashMap::new();
    for (marks, refs) in &c.containers {
        if let Some(t) = c.tlp_of(marks) {
            for r in refs {
                let e = inherited.entry(r.as_str()).or_insert(t);
                *e = (*e).max(t);
            }
        }
    }

    let src: Arc<str> = Arc::from(source);
    let mut strings = Interner::default();
    let start = out.len();
    for p in &c.indicators {
        let at = || Position::Entry(format!("object {} ({})", p.index, p.id));
        if p.revoked {
            report.skip(source, at(), "revoked", "");
            continue;
        }
        let (Some(pattern), Some(ptype)) = (&p.pattern, &p.pattern_type) else {
            report.skip(
                source,
                at(),
                "indicator without pattern or pattern_type",
                "",
            );
            continue;
        };
        if ptype != "stix" {
            report.skip(source, at(), format!("pattern_type {ptype}"), "");
            continue;
        }
        let mut times = [None, None];
        let mut bad_time = None;
        for (slot, raw) in times.iter_mut().zip([&p.valid_from, &p.valid_until]) {
            if let Some(raw) = raw {
                match to_chrono(raw) {
                    Ok(t) => *slot = Some(t),
                    Err(e) => bad_time = Some(e),
                }
            }
        }
        if let Some(e) = bad_time {
            report.skip(source, at(), "bad valid_from/valid_until", e);
            continue;
        }
        let own = c.tlp_of(&p.marks);
        let tlp = own.max(inherited.get(p.id.as_str()).copied());
        out.push(Indicator {
            id: p.id.clone(),
            name: p.name.as_deref().map(|n| strings.get(n)),
            source: src.clone(),
            tlp,
            valid_from: times[0],
            valid_until: times[1],
            intrusion_sets: c
                .intrusion_sets(&p.id)
                .iter()
                .map(|n| strings.get(n))
                .collect(),
            confidence: p.confidence.map(|c| c.clamp(0, 100) as u8),
            labels: p.labels.iter().map(|l| strings.get(l)).collect(),
            pattern: Some(pattern.clone()),
            condition: Condition::Pattern(pattern.clone()),
        });
    }
    report.count(&out[start..]);
    Ok(())
}
