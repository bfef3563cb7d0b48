//! The indicator sweep: every event tested against every loaded indicator, in the same pass
//! as the Sigma rules.
//!
//! Per event the cost must not grow with the feed: the event's observables are extracted once
//! ([`Extractor`]) and looked up in the [`IndicatorIndex`] (hash probes, a prefix trie, an
//! automaton), whatever the number of indicators. STIX patterns the index cannot express go
//! to the full matcher ([`crate::patterns`]), pre-filtered by the values they require.
//! A hit becomes a [`Detection`] of kind `indicator` that names the indicator, its feed, its
//! TLP and the intrusion sets it indicates — which is what `tiaki attribute --detections`
//! reads as infrastructure evidence.

use std::collections::BTreeMap;

use serde::Serialize;
use tiaki_evidence::Event;
use tiaki_indicators::extract::{Extracted, Extractor};
use tiaki_indicators::{IndexHit, Indicator, IndicatorIndex, ObservableKind};
use tiaki_sigma::Level;

use crate::detection::{
    Detection, DetectionKind, IndicatorInfo, SourceRef, host_of, logsource_text, rfc3339,
};
use crate::patterns::{Deferred, PatternHit, PatternScratch, PatternSet};

/// One indicator that matched one event.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorMatch {
    /// The indicator's position in the sweep.
    pub indicator: u32,
    /// The kind of the observable that matched (`None` for a STIX pattern).
    pub kind: Option<ObservableKind>,
    /// The observable's value (for patterns: the pattern's first compared value seen).
    pub value: String,
    /// The event field it came from.
    pub field: Option<String>,
}

/// The indicator part of a hunt's account.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IndicatorSummary {
    /// Indicators loaded.
    pub indicators: usize,
    /// Indicators per source file or MISP event folder.
    pub by_source: BTreeMap<String, usize>,
    /// Indicators per shape (`ipv4`, `sha256`, `file-name+sha256`, `stix-pattern`…).
    pub by_kind: BTreeMap<String, usize>,
    /// Feed entries skipped while loading, per reason.
    pub skipped_by_reason: BTreeMap<String, usize>,
    /// Indicators answered by the index.
    pub indexed: usize,
    /// STIX patterns evaluated per event by the full matcher.
    pub patterns_per_event: usize,
    /// STIX patterns over several observations, evaluated at the end of the hunt.
    pub patterns_multi_observation: usize,
    /// Patterns that could not be parsed (each reported when loading).
    pub patterns_refused: usize,
    /// Indicator hits written.
    pub hits: u64,
    /// Distinct indicators that hit (multi-observation patterns not included).
    pub indicators_hit: usize,
    /// Events that satisfied a bracket of a multi-observation pattern but were not kept,
    /// because the pattern already had its maximum (if non-zero, such patterns may have
    /// missed a match).
    pub pattern_candidates_dropped: u64,
    /// Patterns whose evaluation failed at the end of the hunt, and why.
    pub pattern_errors: Vec<String>,
    /// Seconds spent loading the feeds and building the index.
    pub load_seconds: f64,
}

/// Indicators ready to sweep events with.
pub struct IndicatorSweep {
    extractor: Extractor,
    index: IndicatorIndex,
    patterns: PatternSet,
}

/// A pool thread's working memory for the sweep.
#[derive(Default)]
pub struct SweepScratch {
    extracted: Extracted,
    hits: Vec<IndexHit>,
    patterns: PatternScratch,
    pattern_hits: Vec<PatternHit>,
}

impl IndicatorSweep {
    /// Builds the sweep: STIX patterns that are plain comparisons are turned into index terms,
    /// the others parsed for the full matcher (those that do not parse are returned with the
    /// reason, and left out).
    pub fn new(
        mut indicators: Vec<Indicator>,
        mut extractor: Extractor,
    ) -> (IndicatorSweep, Vec<String>) {
        for ind in &mut indicators {
            ind.decompose_pattern(crate::patterns::decompose);
        }
        let index = IndicatorIndex::build(indicators);
        let (patterns, refused) = PatternSet::build(&index);
        // Extract only what some indicator or pattern anchor can match; brackets without an
        // anchor see whole events as STIX objects, which the extraction does not limit.
        let mut kinds: Vec<ObservableKind> = index
            .indicators()
            .iter()
            .flat_map(|i| i.condition.alternatives().iter().flatten().map(|t| t.kind))
            .chain(patterns.anchor_kinds())
            .collect();
        kinds.sort_unstable();
        kinds.dedup();
        extractor.restrict_to(kinds);
        (
            IndicatorSweep {
                extractor,
                index,
                patterns,
            },
            refused,
        )
    }

    /// Indicators held.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The indicator at a position.
    pub fn indicator(&self, position: u32) -> &Indicator {
        self.index.get(position)
    }

    /// The pattern part (multi-observation patterns are finished from it).
    pub fn patterns(&self) -> &PatternSet {
        &self.patterns
    }

    /// Counts for the summary (the loading counts are the caller's).
    pub fn fill_summary(&self, s: &mut IndicatorSummary) {
        s.indicators = self.index.len();
        s.indexed = self.index.len() - self.index.unindexed().len();
        s.patterns_per_event = self.patterns.per_event();
        s.patterns_multi_observation = self.patterns.multi_observation();
        s.patterns_refused = self.patterns.refused();
        // Shapes after STIX patterns were decomposed (the feed report counts them before).
        s.by_kind.clear();
        for ind in self.index.indicators() {
            *s.by_kind.entry(ind.condition.shape()).or_default() += 1;
        }
    }

    /// Tests one event; appends its matches to `out` (each indicator at most once) and, for
    /// patterns over several observations, the event to `deferred` when it satisfies one of
    /// their brackets.
    pub fn check(
        &self,
        event: &Event,
        scratch: &mut SweepScratch,
        out: &mut Vec<IndicatorMatch>,
        deferred: &mut Vec<Deferred>,
    ) {
        self.extractor.extract(event, &mut scratch.extracted);
        scratch.hits.clear();
        let ex = &scratch.extracted;
        if !ex.observables.is_empty() {
            self.index
                .lookup(&ex.observables, event.timestamp, &mut scratch.hits);
        }
        for h in &scratch.hits {
            let o = &ex.observables[h.observable];
            out.push(IndicatorMatch {
                indicator: h.indicator,
                kind: Some(o.kind),
                value: o.value.clone(),
                field: Some(
                    self.extractor
                        .field_name(ex.fields[h.observable])
                        .to_string(),
                ),
            });
        }
        if !self.patterns.is_empty() {
            scratch.pattern_hits.clear();
            self.patterns.check(
                event,
                &self.extractor,
                &scratch.extracted,
                &mut scratch.patterns,
                &mut scratch.pattern_hits,
                deferred,
            );
            for PatternHit { indicator, value } in scratch.pattern_hits.drain(..) {
                if self.index.get(indicator).is_valid_at(event.timestamp) {
                    out.push(IndicatorMatch {
                        indicator,
                        kind: None,
                        value,
                        field: None,
                    });
                }
            }
        }
    }

    /// The detection of a match on `event`.
    pub fn detection(&self, m: &IndicatorMatch, event: &Event) -> Detection {
        let kind = m.kind.map_or("pattern", ObservableKind::as_str);
        let mut d = self.detection_without_event(m.indicator, kind, &m.value);
        d.timestamp = event.timestamp.as_ref().map(rfc3339);
        d.host = host_of(event);
        d.source = SourceRef::from(&event.origin);
        d.event = event.fields.clone();
        d.logsource = Some(logsource_text(&event.logsource));
        if let Some(info) = d.indicator.as_mut() {
            info.field = m.field.clone();
        }
        d
    }

    /// A detection for indicator `position` before the event's parts are filled in.
    pub(crate) fn detection_without_event(
        &self,
        position: u32,
        kind: &str,
        value: &str,
    ) -> Detection {
        let ind = self.index.get(position);
        let title = match &ind.name {
            Some(n) => format!("Indicator: {n} ({kind} {value})"),
            None => format!("Indicator: {kind} {value}"),
        };
        let pattern = match &ind.condition {
            tiaki_indicators::Condition::Pattern(p) => Some(p.clone()),
            _ => ind.pattern.clone(),
        };
        Detection {
            rule_id: Some(ind.id.clone()),
            rule_title: title,
            level: Some(level_of(ind)),
            timestamp: None,
            host: None,
            attack: Vec::new(),
            source: SourceRef {
                path: String::new(),
                record_id: None,
                line: None,
                recovered: false,
            },
            event: serde_json::Map::new(),
            kind: DetectionKind::Indicator,
            rule_path: ind.source.to_string(),
            logsource: None,
            correlation: None,
            indicator: Some(IndicatorInfo {
                id: ind.id.clone(),
                name: ind.name.as_deref().map(str::to_string),
                kind: kind.to_string(),
                value: value.to_string(),
                field: None,
                pattern,
                source: ind.source.to_string(),
                tlp: ind.tlp.map(|t| t.to_string()),
                intrusion_set: ind.intrusion_sets.first().map(|s| s.to_string()),
                intrusion_sets: ind.intrusion_sets.iter().map(|s| s.to_string()).collect(),
                confidence: ind.confidence,
                labels: ind.labels.iter().map(|s| s.to_string()).collect(),
            }),
            yara: None,
        }
    }
}

/// An indicator's level: `high` unless its types say it is only anomalous or benign.
fn level_of(ind: &Indicator) -> Level {
    let has = |l: &str| ind.labels.iter().any(|x| x.eq_ignore_ascii_case(l));
    if has("malicious-activity") || has("compromised") || has("attribution") {
        Level::High
    } else if has("benign") {
        Level::Informational
    } else if has("anomalous-activity") || has("unknown") || has("anonymization") {
        Level::Medium
    } else {
        Level::High
    }
}
