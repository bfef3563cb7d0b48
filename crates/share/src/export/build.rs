//! Builds the export graph: every object the case could share, each with the TLP of its own
//! inputs. Nothing is withheld here except false positives; [`super::filter`] applies the
//! destination's ceiling to the whole graph.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use tiaki::detection::IndicatorInfo;
use tiaki_incident::Incident;
use tiaki_intel::attribution::{Channel, Direction, Verdict};
use tiaki_stix::Tlp;

use super::graph::{Built, Graph, case_summary, dedup};
use super::observables::{Sco, entity_sco, indicator_observable};
use super::{ExportInput, SharedDetection, Withheld};
use crate::ShareError;
use crate::ids::{parse_time, require_time, sdo_id, stix_time};

#[derive(Debug, Clone)]
struct Span {
    tlp: Tlp,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    count: u64,
}

impl Span {
    fn new(tlp: Tlp, t: DateTime<Utc>) -> Span {
        Span {
            tlp,
            first: t,
            last: t,
            count: 1,
        }
    }
    fn add(&mut self, tlp: Tlp, t: DateTime<Utc>) {
        self.tlp = self.tlp.max(tlp);
        self.first = self.first.min(t);
        self.last = self.last.max(t);
        self.count += 1;
    }
}

/// What one incident (or the case, for detections outside incidents) observed.
#[derive(Default)]
struct Scope {
    scos: BTreeMap<String, (Sco, Span)>,
    sightings: BTreeMap<String, (Span, Option<String>)>,
    techniques: BTreeMap<String, Tlp>,
    span: Option<Span>,
}

impl Scope {
    fn observe(&mut self, sco: Sco, tlp: Tlp, t: DateTime<Utc>) -> String {
        let id = sco.id().to_string();
        match self.scos.get_mut(&id) {
            Some((_, s)) => s.add(tlp, t),
            None => {
                self.scos.insert(id.clone(), (sco, Span::new(tlp, t)));
            }
        }
        id
    }
    fn touch(&mut self, tlp: Tlp, t: DateTime<Utc>) {
        match &mut self.span {
            Some(s) => s.add(tlp, t),
            None => self.span = Some(Span::new(tlp, t)),
        }
    }
}

/// A matched indicator, as the case will restate it.
struct Ind {
    info: IndicatorInfo,
    pattern: String,
    tlp: Tlp,
}

type EventKey = (
    String,
    Option<u64>,
    Option<u64>,
    Option<String>,
    Option<String>,
);

fn det_key(d: &tiaki::Detection) -> EventKey {
    (
        d.source.path.clone(),
        d.source.record_id,
        d.source.line,
        d.rule_id.clone(),
        d.timestamp.clone(),
    )
}

/// The TLP an indicator hit carries: the detection's, the feed's (unreadable labels count
/// as RED: fail closed).
fn detection_tlp(sd: &SharedDetection) -> Tlp {
    let feed = sd
        .detection
        .indicator
        .as_ref()
        .and_then(|i| i.tlp.as_deref())
        .map(|t| t.parse::<Tlp>().unwrap_or(Tlp::Red));
    feed.map_or(sd.tlp, |f| f.max(sd.tlp))
}

struct Builder<'a> {
    input: &'a ExportInput<'a>,
    now: String,
    now_t: DateTime<Utc>,
    identity: String,
    graph: Graph,
    excluded: Vec<Withheld>,
    indicators: BTreeMap<String, Ind>,
}

impl Builder<'_> {
    fn id(&self, ty: &str, key: &str) -> String {
        sdo_id(&self.input.case_name, ty, key)
    }

    /// An SDO/SRO with the common properties.
    fn sdo(&self, ty: &str, id: String, created: &str, props: Value) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("type".into(), json!(ty));
        m.insert("spec_version".into(), json!("2.1"));
        m.insert("id".into(), json!(id));
        m.insert("created".into(), json!(created));
        m.insert("modified".into(), json!(self.now));
        if ty != "identity" {
            m.insert("created_by_ref".into(), json!(self.identity));
        }
        if let Value::Object(p) = props {
            m.extend(p);
        }
        m
    }

    fn time_of(&self, ts: Option<&str>, fallback: Option<&str>) -> DateTime<Utc> {
        ts.and_then(parse_time)
            .or_else(|| fallback.and_then(parse_time))
            .unwrap_or(self.now_t)
            .min(self.now_t)
    }

    /// Records an indicator hit in `scope`.
    fn indicator_hit(
        &mut self,
        scope: &mut Scope,
        sd: &SharedDetection,
        tlp: Tlp,
        t: DateTime<Utc>,
    ) {
        let Some(info) = &sd.detection.indicator else {
            return;
        };
        let obs = indicator_observable(&info.kind, &info.value);
        let pattern = info
            .pattern
            .clone()
            .filter(|p| tiaki_stix::Pattern::parse(p).is_ok())
            .or_else(|| obs.as_ref().map(|(_, p)| p.clone()));
        let Some(pattern) = pattern else {
            self.excluded.push(Withheld {
                id_or_item: format!("detection {} (indicator {})", sd.key, info.id),
                tlp,
                reason: format!("indicator kind {:?} has no STIX pattern", info.kind),
            });
            return;
        };
        let sco_id = obs.map(|(sco, _)| scope.observe(sco, tlp, t));
        let ind = self
            .indicators
            .entry(info.id.clone())
            .or_insert_with(|| Ind {
                info: info.clone(),
                pattern,
                tlp,
            });
        ind.tlp = ind.tlp.max(tlp);
        match scope.sightings.get_mut(&info.id) {
            Some((s, sid)) => {
                s.add(tlp, t);
                if sid.is_none() {
                    *sid = sco_id;
                }
            }
            None => {
                scope
                    .sightings
                    .insert(info.id.clone(), (Span::new(tlp, t), sco_id));
            }
        }
    }
}

/// Builds the graph for a case.
pub(crate) fn build(input: &ExportInput<'_>) -> Result<Built, ShareError> {
    let now_t = require_time("now", &input.now)?;
    let case_tlp = input.case_tlp;
    let mut b = Builder {
        input,
        now: stix_time(&now_t),
        now_t,
        identity: sdo_id("", "identity", &input.producer),
        graph: Graph::default(),
        excluded: Vec::new(),
        indicators: BTreeMap::new(),
    };
    let mut by_key: HashMap<EventKey, Vec<usize>> = HashMap::new();
    for (i, sd) in input.detections.iter().enumerate() {
        by_key.entry(det_key(&sd.detection)).or_default().push(i);
        if sd.false_positive {
            b.excluded.push(Withheld {
                id_or_item: format!("detection {} ({})", sd.key, sd.detection.rule_title),
                tlp: detection_tlp(sd),
                reason: "marked false positive".into(),
            });
        }
    }
    let mut used = vec![false; input.detections.len()];
    let mut fp_techniques = BTreeSet::new();
    let mut scopes: Vec<(Option<&Incident>, Scope)> = Vec::new();

    for inc in &input.investigation.incidents {
        let mut scope = Scope::default();
        for ev in &inc.events {
            let key = (
                ev.source.path.clone(),
                ev.source.record_id,
                ev.source.line,
                ev.rule_id.clone(),
                ev.timestamp.clone(),
            );
            let matched: Vec<usize> = by_key.get(&key).cloned().unwrap_or_default();
            matched.iter().for_each(|&i| used[i] = true);
            let shared: Vec<&SharedDetection> =
                matched.iter().map(|&i| &input.detections[i]).collect();
            if shared.iter().any(|sd| sd.false_positive) {
                fp_techniques.extend(ev.attack.iter().cloned());
                continue;
            }
            let tlp = shared
                .iter()
                .map(|sd| detection_tlp(sd))
                .fold(case_tlp, Tlp::max);
            let t = b.time_of(ev.timestamp.as_deref(), inc.first_seen.as_deref());
            scope.touch(tlp, t);
            for tech in &ev.attack {
                let e = scope.techniques.entry(tech.clone()).or_insert(tlp);
                *e = (*e).max(tlp);
            }
            for e in &ev.entities {
                if let Some(sco) = entity_sco(e) {
                    scope.observe(sco, tlp, t);
                }
            }
            for sd in shared {
                b.indicator_hit(&mut scope, sd, tlp, t);
            }
        }
        scopes.push((Some(inc), scope));
    }
    // Detections outside every incident: their indicator hits are still sightings.
    let mut loose = Scope::default();
    for (i, sd) in input.detections.iter().enumerate() {
        if used[i] {
            continue;
        }
        if sd.false_positive {
            fp_techniques.extend(sd.detection.attack.iter().cloned());
            continue;
        }
        let tlp = detection_tlp(sd).max(case_tlp);
        let t = b.time_of(sd.detection.timestamp.as_deref(), None);
        loose.touch(tlp, t);
        for tech in &sd.detection.attack {
            let e = loose.techniques.entry(tech.clone()).or_insert(tlp);
            *e = (*e).max(tlp);
        }
        b.indicator_hit(&mut loose, sd, tlp, t);
    }
    if loose.span.is_some() {
        scopes.push((None, loose));
    }
    emit(b, scopes, fp_techniques)
}

fn emit(
    mut b: Builder<'_>,
    scopes: Vec<(Option<&Incident>, Scope)>,
    fp_techniques: BTreeSet<String>,
) -> Result<Built, ShareError> {
    let input = b.input;
    let inv = input.investigation;
    let case_tlp = input.case_tlp;
    let first = scopes
        .iter()
        .filter_map(|(_, s)| s.span.as_ref().map(|s| s.first))
        .min();
    let last = scopes
        .iter()
        .filter_map(|(_, s)| s.span.as_ref().map(|s| s.last))
        .max();
    // `created` is the start of the activity: stable across re-exports of the same evidence.
    let created = stix_time(&first.unwrap_or(b.now_t));

    let identity = b.sdo(
        "identity",
        b.identity.clone(),
        "2020-01-01T00:00:00.000Z",
        json!({"name": input.producer, "identity_class": "organization"}),
    );
    b.graph.add(
        identity,
        case_tlp,
        format!("identity {}", input.producer),
        false,
    );

    let case_label = if input.title.is_empty() {
        input.case_name.clone()
    } else {
        input.title.clone()
    };
    let mut campaign_props = json!({
        "name": case_label,
        "description": format!(
            "Intrusion activity investigated by {} in case {:?}{}: {} incident(s).",
            input.producer,
            input.case_name,
            if input.organisation.is_empty() { String::new() } else { format!(" at {}", input.organisation) },
            inv.incidents.len()
        ),
    });
    if let (Some(f), Some(l)) = (first, last) {
        campaign_props["first_seen"] = json!(stix_time(&f));
        campaign_props["last_seen"] = json!(stix_time(&l));
    }
    let campaign_id = b.id("campaign", "case");
    let campaign = b.sdo("campaign", campaign_id.clone(), &created, campaign_props);
    b.graph
        .add(campaign, case_tlp, format!("campaign {case_label}"), false);

    // Attribution: only a verdict, never an abstention's hypotheses. A partner's indicator
    // that names the attributed group is part of what names it, so the intrusion set and the
    // `attributed-to` relationship carry the strictest marking of those indicator hits.
    let attribution_tlp = match &inv.assessment {
        Some(a) => {
            let mut names: BTreeSet<String> = BTreeSet::new();
            if let Verdict::Attributed { id, name, .. } = &a.verdict {
                names.insert(id.to_lowercase());
                names.insert(name.to_lowercase());
                if let Some(c) = a.candidate(id) {
                    names.extend(c.aliases.iter().map(|x| x.to_lowercase()));
                }
            }
            input
                .detections
                .iter()
                .filter(|sd| !sd.false_positive)
                .filter(|sd| {
                    sd.detection.indicator.as_ref().is_some_and(|i| {
                        i.intrusion_set
                            .iter()
                            .chain(i.intrusion_sets.iter())
                            .any(|g| names.contains(&g.to_lowercase()))
                    })
                })
                .map(detection_tlp)
                .fold(case_tlp, Tlp::max)
        }
        None => case_tlp,
    };
    let mut intrusion_set: Option<(String, Vec<String>)> = None;
    if let Some(a) = &inv.assessment
        && let Verdict::Attributed {
            id,
            name,
            confidence,
            threshold,
        } = &a.verdict
    {
        let cand = a.candidate(id);
        let is_id = if id.starts_with("intrusion-set--") {
            id.clone()
        } else {
            b.id("intrusion-set", id)
        };
        let mut props = json!({"name": name});
        if let Some(c) = cand.filter(|c| !c.aliases.is_empty()) {
            props["aliases"] = json!(c.aliases);
        }
        // No `url`: the OASIS validator wants a hash with every external URL (SHOULD).
        if id.len() == 5 && id.starts_with('G') {
            props["external_references"] = json!([{
                "source_name": "mitre-attack",
                "external_id": id,
            }]);
        }
        let obj = b.sdo("intrusion-set", is_id.clone(), &created, props);
        b.graph
            .add(obj, attribution_tlp, format!("intrusion-set {name}"), false);
        let evidence: Vec<String> = cand
            .map(|c| {
                c.evidence
                    .iter()
                    .filter(|e| e.direction == Direction::For && e.observed)
                    // Infrastructure items name indicator values, which carry their own TLP.
                    .filter(|e| e.channel != Channel::Infrastructure)
                    .take(5)
                    .map(|e| e.item.clone())
                    .collect()
            })
            .unwrap_or_default();
        let rel_id = b.id("relationship", &format!("attributed-to {is_id}"));
        let rel = b.sdo(
            "relationship",
            rel_id,
            &created,
            json!({
                "relationship_type": "attributed-to",
                "source_ref": campaign_id,
                "target_ref": is_id,
                "confidence": (confidence * 100.0).round().clamp(0.0, 100.0) as u64,
                "description": format!(
                    "tiaki attribution: calibrated probability {confidence:.2} (threshold {threshold:.2}); \
                     strongest evidence: {}.",
                    if evidence.is_empty() { "not listed".to_string() } else { evidence.join("; ") }
                ),
            }),
        );
        b.graph
            .add(rel, attribution_tlp, format!("attributed-to {name}"), false);
        let mut names = vec![id.clone(), name.clone()];
        if let Some(c) = cand {
            names.extend(c.aliases.iter().cloned());
        }
        intrusion_set = Some((is_id, names));
    }

    // Techniques: those seen in kept detections, named from the investigation.
    let mut techs: BTreeMap<String, Tlp> = BTreeMap::new();
    for (_, s) in &scopes {
        for (t, l) in &s.techniques {
            let e = techs.entry(t.clone()).or_insert(*l);
            *e = (*e).max(*l);
        }
    }
    for t in &inv.techniques {
        if !fp_techniques.contains(&t.id) {
            techs.entry(t.id.clone()).or_insert(case_tlp);
        }
    }
    for (tech, tlp) in &techs {
        let known = inv.techniques.iter().find(|t| &t.id == tech);
        let name = known
            .map(|t| t.name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| tech.clone());
        let mut props = json!({
            "name": name,
            "external_references": [{
                "source_name": "mitre-attack",
                "external_id": tech,
            }],
        });
        if let Some(k) = known.filter(|k| !k.tactics.is_empty()) {
            props["kill_chain_phases"] = k
                .tactics
                .iter()
                .map(|p| json!({"kill_chain_name": "mitre-attack", "phase_name": p}))
                .collect();
        }
        let ap_id = b.id("attack-pattern", tech);
        let ap = b.sdo("attack-pattern", ap_id.clone(), &created, props);
        b.graph
            .add(ap, case_tlp, format!("attack-pattern {tech}"), false);
        let rel = b.sdo(
            "relationship",
            b.id("relationship", &format!("uses {tech}")),
            &created,
            json!({"relationship_type": "uses", "source_ref": campaign_id, "target_ref": ap_id}),
        );
        b.graph.add(rel, *tlp, format!("uses {tech}"), false);
    }

    // Indicators that matched (restated by the producer; the partner's id is referenced).
    let mut indicator_ids = BTreeMap::new();
    for (key, ind) in std::mem::take(&mut b.indicators) {
        let id = b.id("indicator", &key);
        let info = &ind.info;
        let mut props = json!({
            "name": info.name.clone().unwrap_or_else(|| format!("{} {}", info.kind, info.value)),
            "description": "Indicator from a partner feed that matched evidence in this case.",
            "indicator_types": ["malicious-activity"],
            "pattern": ind.pattern,
            "pattern_type": "stix",
            "pattern_version": "2.1",
            "valid_from": created,
            "external_references": [{"source_name": "original-indicator", "external_id": info.id}],
        });
        if let Some(c) = info.confidence {
            props["confidence"] = json!(c.min(100));
        }
        let obj = b.sdo("indicator", id.clone(), &created, props);
        b.graph
            .add(obj, ind.tlp, format!("indicator {}", info.value), false);
        if let Some((is_id, names)) = &intrusion_set {
            let linked = info
                .intrusion_sets
                .iter()
                .chain(info.intrusion_set.iter())
                .any(|s| names.iter().any(|n| n.eq_ignore_ascii_case(s)));
            if linked {
                let rel = b.sdo(
                    "relationship",
                    b.id("relationship", &format!("indicates {key}")),
                    &created,
                    json!({"relationship_type": "indicates", "source_ref": id, "target_ref": is_id}),
                );
                b.graph
                    .add(rel, ind.tlp, format!("indicates {}", info.value), false);
            }
        }
        indicator_ids.insert(key, id);
    }

    for (inc, scope) in scopes {
        let scope_key = inc.map_or("outside-incidents".to_string(), |i| i.id.clone());
        let mut refs = vec![campaign_id.clone()];
        let mut od_of_sco = HashMap::new();
        for (sco_id, (sco, span)) in &scope.scos {
            for extra in &sco.extra {
                let label = format!("directory {}", extra["path"].as_str().unwrap_or(""));
                refs.push(b.graph.add(extra.clone(), span.tlp, label, false));
            }
            refs.push(
                b.graph
                    .add(sco.obj.clone(), span.tlp, sco.label.clone(), false),
            );
            let mut od_refs = vec![json!(sco_id)];
            od_refs.extend(sco.extra.iter().map(|e| e["id"].clone()));
            let od_id = b.id("observed-data", &format!("{scope_key} {sco_id}"));
            let od = b.sdo(
                "observed-data",
                od_id.clone(),
                &stix_time(&span.first),
                json!({
                    "first_observed": stix_time(&span.first),
                    "last_observed": stix_time(&span.last),
                    "number_observed": span.count.min(999_999_999),
                    "object_refs": od_refs,
                }),
            );
            let label = format!("observed-data {} ({scope_key})", sco.label);
            refs.push(b.graph.add(od, span.tlp, label, false));
            od_of_sco.insert(sco_id.clone(), od_id);
        }
        for (ind_key, (span, sco_id)) in &scope.sightings {
            let Some(ind_id) = indicator_ids.get(ind_key) else {
                continue;
            };
            let mut props = json!({
                "sighting_of_ref": ind_id,
                "where_sighted_refs": [b.identity],
                "count": span.count.min(999_999_999),
                "first_seen": stix_time(&span.first),
                "last_seen": stix_time(&span.last),
            });
            if let Some(od) = sco_id.as_ref().and_then(|s| od_of_sco.get(s)) {
                props["observed_data_refs"] = json!([od]);
            }
            let sid = b.id("sighting", &format!("{scope_key} {ind_key}"));
            let s = b.sdo("sighting", sid, &stix_time(&span.first), props);
            refs.push(ind_id.clone());
            let label = format!("sighting of {ind_key} ({scope_key})");
            refs.push(b.graph.add(s, span.tlp, label, false));
        }
        if let Some(inc) = inc {
            let g = b.sdo(
                "grouping",
                b.id("grouping", &inc.id),
                &created,
                json!({
                    "name": format!("{}: {}", inc.id, inc.title),
                    "context": "suspicious-activity",
                    "description": format!(
                        "{} Severity: {} ({}).",
                        inc.narrative,
                        inc.severity.as_str(),
                        inc.severity_reasons.join("; ")
                    ),
                    "object_refs": dedup(refs),
                }),
            );
            b.graph
                .add(g, case_tlp, format!("grouping {}", inc.id), true);
        }
    }

    let all: Vec<String> = b
        .graph
        .nodes
        .iter()
        .map(|n| n.obj["id"].as_str().unwrap_or_default().to_string())
        .collect();
    let summary = case_summary(input);
    let report = b.sdo(
        "report",
        b.id("report", "case"),
        &created,
        json!({
            "name": case_label,
            "description": summary,
            "report_types": ["threat-report"],
            "published": b.now,
            "object_refs": all,
        }),
    );
    b.graph
        .add(report, case_tlp, format!("report {case_label}"), true);
    Ok(Built {
        graph: b.graph,
        excluded: b.excluded,
    })
}
