//! Correlation rules in the same hunt.
//!
//! A correlation counts or sequences the matches of other rules per group in
//! a time window, so it needs those matches in time order, while the reader
//! delivers events file by file, files interleaved. Sorting every event
//! would cost a second pass over the evidence; but correlations only ever
//! look at events that matched a rule they reference, and those are few.
//! So during the hunt each such event is reduced to what the engine reads
//! (its time, the matched rules it references, the `group-by`, value and
//! alias fields, its record and host) and pushed into an
//! [`ExternalSorter`]; after the last event the
//! inputs are fed to the [`CorrelationEngine`] in timestamp order (stable:
//! equal times keep reading order) and its alerts become detections.
//!
//! Consequences, stated so an analyst can defend the output:
//! * alerts are written after all single-event detections;
//! * a referenced match without a timestamp cannot be placed in a window:
//!   it is counted ([`CorrelationPass::without_time`]) and not correlated;
//! * memory: the sorter's budget, plus one [`SourceRef`] per input kept to
//!   name the contributing records of alerts (about 100 bytes each).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tiaki_evidence::Event;
use tiaki_sigma::correlation::{Alert, CorrelationEngine, CorrelationStats, Referenced};
use tiaki_sigma::{RuleId, RuleSet};

use crate::detection::{CorrelationInfo, Detection, SourceRef, host_of, rfc3339};
use crate::error::HuntError;
use crate::sort::ExternalSorter;

/// One correlation input as spilled to the sorter.
#[derive(Serialize, Deserialize)]
struct Input {
    path: String,
    record_id: Option<u64>,
    line: Option<u64>,
    recovered: bool,
    host: Option<String>,
    hits: Vec<RuleId>,
    fields: Map<String, Value>,
}

/// What the correlation pass produced.
pub struct CorrelationOutcome {
    /// The alerts as detections, with the index of their correlation rule.
    pub alerts: Vec<(usize, Detection)>,
    /// The engine's counters.
    pub stats: CorrelationStats,
    /// Inputs fed to the engine.
    pub inputs: u64,
}

/// Collects correlation inputs during a hunt and evaluates them at the end.
pub struct CorrelationPass {
    engine: CorrelationEngine,
    /// Detection rules referenced by some correlation, by rule id.
    referenced: Vec<bool>,
    /// Every field name a correlation may read from an event.
    fields: Vec<String>,
    sorter: ExternalSorter,
    without_time: u64,
}

impl CorrelationPass {
    /// A pass for `engine`'s correlations over rules `set`, spilling to
    /// `spill_dir` beyond `budget` bytes.
    pub fn new(
        engine: CorrelationEngine,
        set: &RuleSet,
        spill_dir: Option<&std::path::Path>,
        budget: usize,
    ) -> Self {
        let mut referenced = vec![false; set.len()];
        let mut fields: Vec<String> = Vec::new();
        for i in 0..engine.len() {
            for r in engine.references(i) {
                if let Referenced::Detection(id) = r {
                    referenced[id as usize] = true;
                }
            }
            let rule = engine.rule(i);
            fields.extend(rule.group_by.iter().cloned());
            fields.extend(rule.field.iter().cloned());
            for a in &rule.aliases {
                fields.extend(a.targets.iter().map(|t| t.field.clone()));
            }
        }
        fields.sort();
        fields.dedup();
        CorrelationPass {
            engine,
            referenced,
            fields,
            sorter: ExternalSorter::new(spill_dir, budget),
            without_time: 0,
        }
    }

    /// Detection rules whose matches are, per the specification, only
    /// inputs of correlations (`generate: false`).
    pub fn suppressed(&self) -> Vec<RuleId> {
        self.engine.suppressed_detections()
    }

    /// Offers one matched event; keeps it if it matched a referenced rule.
    pub fn offer(&mut self, event: &Event, hits: &[RuleId]) -> Result<(), HuntError> {
        let refs: Vec<RuleId> = hits
            .iter()
            .copied()
            .filter(|h| self.referenced[*h as usize])
            .collect();
        if refs.is_empty() {
            return Ok(());
        }
        let Some(ts) = event.timestamp else {
            self.without_time += 1;
            return Ok(());
        };
        let mut fields = Map::new();
        for f in &self.fields {
            if let Some(v) = event.get(f) {
                fields.insert(f.clone(), v.clone());
            }
        }
        let input = Input {
            path: event.origin.path.to_string(),
            record_id: event.origin.record_id,
            line: event.origin.line,
            recovered: event.origin.recovered,
            host: host_of(event),
            hits: refs,
            fields,
        };
        self.sorter.push(
            ts.timestamp_millis(),
            &origin_key(&event.origin),
            serde_json::to_vec(&input)?,
        )
    }

    /// Referenced matches left out because they had no timestamp.
    pub fn without_time(&self) -> u64 {
        self.without_time
    }

    /// As [`finish`](Self::finish), recording in `summary` the inputs that
    /// could not be correlated (no timestamp) or were lost (engine limits).
    pub fn finish_counted(
        self,
        set: &RuleSet,
        summary: &mut crate::Summary,
    ) -> Result<Vec<(usize, Detection)>, HuntError> {
        summary.correlation_inputs_without_timestamp = self.without_time();
        let outcome = self.finish(set)?;
        summary.correlation_inputs_lost = outcome.stats.lossy();
        Ok(outcome.alerts)
    }

    /// Feeds the inputs in time order and returns the alerts.
    pub fn finish(mut self, set: &RuleSet) -> Result<CorrelationOutcome, HuntError> {
        let inputs = self.sorter.len();
        let mut sources: Vec<(SourceRef, Option<String>)> = Vec::new();
        let mut out = Vec::new();
        for item in self.sorter.finish()? {
            let (ts, payload) = item?;
            let input: Input = serde_json::from_slice(&payload)?;
            // Pushed first: the alert this input completes lists it.
            sources.push((
                SourceRef {
                    path: input.path,
                    record_id: input.record_id,
                    line: input.line,
                    recovered: input.recovered,
                },
                input.host,
            ));
            let alerts = self.engine.process(set, &input.fields, ts, &input.hits);
            for a in alerts {
                out.push((
                    a.correlation,
                    alert_detection(&self.engine, set, &a, &sources),
                ));
            }
        }
        self.engine.advance_to(i64::MAX);
        Ok(CorrelationOutcome {
            alerts: out,
            stats: self.engine.stats(),
            inputs,
        })
    }
}

/// A sort tie-break that orders records of one file by their position, so
/// equal times sort the same however the reader interleaved files.
pub(crate) fn origin_key(o: &tiaki_evidence::Origin) -> Vec<u8> {
    let mut k = Vec::with_capacity(o.path.len() + 17);
    k.extend_from_slice(o.path.as_bytes());
    k.push(0);
    k.extend_from_slice(&o.record_id.unwrap_or(0).to_be_bytes());
    k.extend_from_slice(&o.line.unwrap_or(0).to_be_bytes());
    k
}

fn time_of(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).map_or_else(|| ms.to_string(), |t| rfc3339(&t))
}

fn alert_detection(
    engine: &CorrelationEngine,
    set: &RuleSet,
    a: &Alert,
    sources: &[(SourceRef, Option<String>)],
) -> Detection {
    let rule = engine.rule(a.correlation);
    let meta = &rule.meta;
    let last = a
        .events
        .last()
        .and_then(|&i| sources.get(i as usize))
        .cloned();
    let mut group = Map::new();
    for (k, v) in rule.group_by.iter().zip(&a.group) {
        group.insert(k.clone(), Value::String(v.clone()));
    }
    let event: Map<String, Value> = a
        .fields
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let titles = a
        .rules
        .iter()
        .map(|r| match r {
            Referenced::Detection(id) => set.meta(*id).title.clone(),
            Referenced::Correlation(i) => engine.rule(*i).meta.title.clone(),
        })
        .collect();
    let (source, host) = last.unwrap_or_else(|| {
        (
            SourceRef {
                path: String::new(),
                record_id: None,
                line: None,
                recovered: false,
            },
            None,
        )
    });
    Detection {
        rule_id: meta.id.clone(),
        rule_title: meta.title.clone(),
        level: meta.level,
        timestamp: Some(time_of(a.last_ms)),
        host,
        attack: meta.attack_techniques(),
        source,
        event,
        kind: crate::detection::DetectionKind::Correlation,
        rule_path: meta.origin.clone(),
        logsource: None,
        correlation: Some(CorrelationInfo {
            kind: rule.kind.as_str().to_string(),
            group,
            timespan: rule.timespan.clone(),
            first: time_of(a.first_ms),
            last: time_of(a.last_ms),
            value: a.value,
            rules: titles,
            events_total: a.events_total,
            sources: a
                .events
                .iter()
                .filter_map(|&i| sources.get(i as usize).map(|s| s.0.clone()))
                .collect(),
        }),
        indicator: None,
        yara: None,
    }
}
