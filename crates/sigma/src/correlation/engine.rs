//! Resolving references and driving the per-correlation state.

use std::collections::HashMap;
use std::sync::Arc;

use crate::compile::{RuleId, RuleSet};
use crate::error::RuleError;
use crate::event::Event;
use crate::rule::RuleMeta;
use crate::yaml::Pos;

use super::rule::*;
use super::state::*;

// ---------------------------------------------------------------------------
// Engine
// ---------------------------------------------------------------------------

/// Evaluates the correlation rules of a [`RuleSet`] over a stream of events.
///
/// Feed every event, in (approximately) event-time order, with the detection
/// rules it matched: [`process`](Self::process). Alerts come back as soon as
/// a condition holds. The engine is single-threaded state; build one per
/// stream.
#[derive(Debug)]
pub struct CorrelationEngine {
    pub(crate) rules: Vec<CorrelationRule>,
    pub(crate) runtimes: Vec<Runtime>,
    /// Correlations, inner before outer.
    pub(crate) order: Vec<usize>,
    /// Detection rule -> (correlation, reference index).
    pub(crate) det_refs: HashMap<RuleId, Vec<(u32, u16)>>,
    pub(crate) suppressed: Vec<RuleId>,
    pub(crate) options: EngineOptions,
    pub(crate) now: i64,
    pub(crate) events: u64,
    pub(crate) scratch: Vec<(u32, u16)>,
}

pub(crate) fn ref_error(c: &CorrelationRule, pos: Pos, reason: String) -> RuleError {
    RuleError::at(&c.meta.origin, Some(pos), reason).with_title(Some(&c.meta.title))
}

impl CorrelationEngine {
    /// Builds the engine with default [`EngineOptions`]: resolves every
    /// `rules` and `aliases` reference (by id or name, to detection rules or
    /// other correlations) and refuses unresolved, ambiguous or duplicate
    /// references and reference cycles.
    pub fn new(set: &RuleSet) -> Result<Self, Vec<RuleError>> {
        Self::with_options(set, EngineOptions::default())
    }

    /// Builds the engine with the given options (see [`new`](Self::new)).
    pub fn with_options(set: &RuleSet, options: EngineOptions) -> Result<Self, Vec<RuleError>> {
        let rules = set.correlations().to_vec();
        let n = rules.len();
        let mut errors = Vec::new();

        let mut by_ref: HashMap<&str, Vec<Referenced>> = HashMap::new();
        fn add<'a>(k: &'a str, r: Referenced, map: &mut HashMap<&'a str, Vec<Referenced>>) {
            let v = map.entry(k).or_default();
            if !v.contains(&r) {
                v.push(r);
            }
        }
        let metas: Vec<&RuleMeta> = set.metas().collect();
        for (i, m) in metas.iter().enumerate() {
            for k in [&m.id, &m.name].into_iter().flatten() {
                add(k, Referenced::Detection(i as RuleId), &mut by_ref);
            }
        }
        for (i, c) in rules.iter().enumerate() {
            for k in [&c.meta.id, &c.meta.name].into_iter().flatten() {
                add(k, Referenced::Correlation(i), &mut by_ref);
            }
        }
        let describe = |r: &Referenced| match r {
            Referenced::Detection(d) => format!("detection rule '{}'", metas[*d as usize].title),
            Referenced::Correlation(c) => format!("correlation '{}'", rules[*c].meta.title),
        };

        // Resolve references.
        let mut targets: Vec<Vec<Referenced>> = Vec::with_capacity(n);
        for c in &rules {
            let mut t: Vec<Referenced> = Vec::new();
            for (r, name) in c.rules.iter().enumerate() {
                let pos = c.rule_positions.get(r).copied().unwrap_or_default();
                match by_ref.get(name.as_str()).map(Vec::as_slice).unwrap_or(&[]) {
                    [] => errors.push(ref_error(
                        c,
                        pos,
                        format!(
                            "rule reference '{name}' matches no detection or correlation rule (by id or name)"
                        ),
                    )),
                    [one] => {
                        if t.contains(one) {
                            errors.push(ref_error(
                                c,
                                pos,
                                format!("rule reference '{name}' names {} a second time", describe(one)),
                            ));
                        }
                        t.push(*one);
                    }
                    many => errors.push(ref_error(
                        c,
                        pos,
                        format!(
                            "rule reference '{name}' is ambiguous: it names {}",
                            many.iter().map(describe).collect::<Vec<_>>().join(" and ")
                        ),
                    )),
                }
            }
            targets.push(t);
        }
        if !errors.is_empty() {
            return Err(errors);
        }

        // Aliases: each mapped rule must be one this correlation references.
        let mut alias_fields: Vec<Vec<(String, Vec<Option<String>>)>> = Vec::with_capacity(n);
        for (ci, c) in rules.iter().enumerate() {
            let mut per = Vec::new();
            for alias in &c.aliases {
                let mut fields = vec![None; c.rules.len()];
                for tgt in &alias.targets {
                    let r = c.rules.iter().position(|x| *x == tgt.rule).or_else(|| {
                        match by_ref.get(tgt.rule.as_str()).map(Vec::as_slice) {
                            Some([one]) => targets[ci].iter().position(|t| t == one),
                            _ => None,
                        }
                    });
                    match r {
                        Some(r) => fields[r] = Some(tgt.field.clone()),
                        None => errors.push(ref_error(
                            c,
                            tgt.pos,
                            format!(
                                "alias '{}' maps rule '{}', which this correlation does not reference",
                                alias.name, tgt.rule
                            ),
                        )),
                    }
                }
                per.push((alias.name.clone(), fields));
            }
            alias_fields.push(per);
        }

        // Cycles and topological order (inner before outer).
        let edges: Vec<Vec<(usize, usize)>> = targets
            .iter()
            .map(|t| {
                t.iter()
                    .enumerate()
                    .filter_map(|(r, x)| match x {
                        Referenced::Correlation(d) => Some((r, *d)),
                        Referenced::Detection(_) => None,
                    })
                    .collect()
            })
            .collect();
        let mut color = vec![0u8; n];
        let mut order = Vec::with_capacity(n);
        let mut path = Vec::new();
        for start in 0..n {
            if color[start] == 0 {
                visit(
                    start,
                    &edges,
                    &mut color,
                    &mut path,
                    &mut order,
                    &rules,
                    &mut errors,
                );
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }

        // Resolved field names per reference.
        let resolve = |c: usize, r: usize, name: &str| -> String {
            alias_fields[c]
                .iter()
                .find(|(a, _)| a == name)
                .and_then(|(_, f)| f[r].clone())
                .unwrap_or_else(|| name.to_string())
        };

        // Fields outer correlations need from inner alerts beyond their
        // group-by values are snapshotted ("carried") from each input.
        let mut carry: Vec<Vec<String>> = vec![Vec::new(); n];
        for &c in order.iter().rev() {
            for &(r, d) in &edges[c] {
                let mut need: Vec<String> = rules[c]
                    .group_by
                    .iter()
                    .chain(&rules[c].field)
                    .map(|f| resolve(c, r, f))
                    .collect();
                need.extend(carry[c].iter().cloned());
                for f in need {
                    if !rules[d].group_by.contains(&f) && !carry[d].contains(&f) {
                        carry[d].push(f);
                    }
                }
            }
        }

        // Which outputs are hidden: anything referenced by a correlation
        // with generate: false (pySigma: the reference disables output).
        let mut hidden = vec![false; n];
        let mut suppressed = Vec::new();
        for (ci, c) in rules.iter().enumerate() {
            if c.generate {
                continue;
            }
            for t in &targets[ci] {
                match t {
                    Referenced::Correlation(d) => hidden[*d] = true,
                    Referenced::Detection(id) => suppressed.push(*id),
                }
            }
        }
        suppressed.sort_unstable();
        suppressed.dedup();

        let mut det_refs: HashMap<RuleId, Vec<(u32, u16)>> = HashMap::new();
        let mut runtimes = Vec::with_capacity(n);
        for (ci, c) in rules.iter().enumerate() {
            let refs: Vec<RefSpec> = targets[ci]
                .iter()
                .enumerate()
                .map(|(r, t)| RefSpec {
                    target: *t,
                    group_fields: c.group_by.iter().map(|f| resolve(ci, r, f)).collect(),
                    value_fields: c.field.iter().map(|f| resolve(ci, r, f)).collect(),
                })
                .collect();
            for (r, t) in targets[ci].iter().enumerate() {
                if let Referenced::Detection(id) = t {
                    det_refs.entry(*id).or_default().push((ci as u32, r as u16));
                }
            }
            let term_refs = match (&c.condition, c.kind) {
                (
                    CorrelationCondition::Expression { terms, .. },
                    CorrelationType::TemporalOrdered,
                ) => terms
                    .iter()
                    .map(|t| {
                        (0..c.rules.len() as u16)
                            .filter(|i| t.present & (1u64 << i) != 0)
                            .collect()
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let span = c.timespan_ms;
            runtimes.push(Runtime {
                spec: Spec {
                    index: ci,
                    kind: c.kind,
                    span,
                    lateness: options.max_lateness_ms.unwrap_or(span).max(0),
                    refs,
                    condition: c.condition.clone(),
                    percentile: match c.kind {
                        CorrelationType::ValueMedian => 50.0,
                        _ => c.percentile.unwrap_or(50.0),
                    },
                    group_by: c.group_by.clone(),
                    carry: std::mem::take(&mut carry[ci]),
                    term_refs,
                    reports: !hidden[ci],
                },
                groups: Groups::default(),
                counters: CorrelationCounters::default(),
            });
        }

        Ok(CorrelationEngine {
            rules,
            runtimes,
            order,
            det_refs,
            suppressed,
            options,
            now: NONE,
            events: 0,
            scratch: Vec::new(),
        })
    }

    /// Feeds one event: `ts_ms` is its event time (ms since any fixed
    /// epoch), `hits` the detection rules it matched. Returns the alerts of
    /// reporting correlations that fired (intermediate ones too with
    /// [`EngineOptions::report_intermediate`]), inner before outer.
    ///
    /// Each call is numbered from 0; [`Alert::events`] lists these numbers.
    pub fn process(
        &mut self,
        _set: &RuleSet,
        event: &dyn Event,
        ts_ms: i64,
        hits: &[RuleId],
    ) -> Vec<Alert> {
        let seq = self.events;
        self.events += 1;
        if ts_ms > self.now {
            self.now = ts_ms;
            self.sweep();
        }
        self.scratch.clear();
        for h in hits {
            if let Some(v) = self.det_refs.get(h) {
                self.scratch.extend_from_slice(v);
            }
        }
        if self.scratch.is_empty() {
            return Vec::new();
        }
        self.scratch.sort_unstable();
        self.scratch.dedup();
        let ctx = Ctx {
            now: self.now,
            opts: &self.options,
        };
        let evidence = Evidence::One(seq);
        let mut produced: Vec<Vec<Alert>> = (0..self.rules.len()).map(|_| Vec::new()).collect();
        let mut refs: Vec<u16> = Vec::new();
        for &c in &self.order {
            let rt = &mut self.runtimes[c];
            let mut out = Vec::new();
            let lo = self.scratch.partition_point(|&(x, _)| (x as usize) < c);
            let hi = self.scratch.partition_point(|&(x, _)| (x as usize) <= c);
            if lo < hi {
                refs.clear();
                refs.extend(self.scratch[lo..hi].iter().map(|&(_, r)| r));
                rt.feed(
                    Source::Event(event),
                    ts_ms,
                    &evidence,
                    &refs,
                    &ctx,
                    &mut out,
                );
            }
            let inner: Vec<(u16, usize)> = rt
                .spec
                .refs
                .iter()
                .enumerate()
                .filter_map(|(r, s)| match s.target {
                    Referenced::Correlation(d) if !produced[d].is_empty() => Some((r as u16, d)),
                    _ => None,
                })
                .collect();
            for (r, d) in inner {
                for a in &produced[d] {
                    let ev = Evidence::Many(Arc::from(a.events.as_slice()));
                    rt.feed(Source::Alert(a), a.last_ms, &ev, &[r], &ctx, &mut out);
                }
            }
            produced[c] = out;
        }
        let report_all = self.options.report_intermediate;
        self.order
            .iter()
            .flat_map(|&c| std::mem::take(&mut produced[c]))
            .filter(|a| report_all || !a.intermediate)
            .collect()
    }

    /// Advances the event-time watermark to `ts_ms` (if later) and expires
    /// state that can no longer contribute. Call with `i64::MAX` at the end
    /// of a stream to release everything.
    pub fn advance_to(&mut self, ts_ms: i64) {
        if ts_ms > self.now {
            self.now = ts_ms;
        }
        self.sweep();
    }

    pub(crate) fn sweep(&mut self) {
        let now = self.now;
        for rt in &mut self.runtimes {
            let h = rt.horizon(now);
            rt.groups.expire(h);
        }
    }

    /// A correlation rule by index (the index of [`Alert::correlation`]).
    pub fn rule(&self, i: usize) -> &CorrelationRule {
        &self.rules[i]
    }

    /// Number of correlation rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True if there are no correlation rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// What correlation `i`'s `rules` entries resolved to, in order.
    pub fn references(&self, i: usize) -> Vec<Referenced> {
        self.runtimes[i]
            .spec
            .refs
            .iter()
            .map(|r| r.target)
            .collect()
    }

    /// True if correlation `i`'s alerts are returned by
    /// [`process`](Self::process): it is not referenced by any correlation
    /// with `generate: false`.
    pub fn reports(&self, i: usize) -> bool {
        self.runtimes[i].spec.reports
    }

    /// Detection rules that, per the specification, are not stand-alone
    /// outputs: they are referenced by a correlation without
    /// `generate: true`. The caller decides whether to hide their matches
    /// (a forensic tool may prefer to show them at low priority).
    pub fn suppressed_detections(&self) -> Vec<RuleId> {
        self.suppressed.clone()
    }

    /// Counters and current state sizes.
    pub fn stats(&self) -> CorrelationStats {
        CorrelationStats {
            events: self.events,
            watermark_ms: (self.now != NONE).then_some(self.now),
            correlations: self
                .runtimes
                .iter()
                .map(|rt| {
                    let mut c = rt.counters.clone();
                    c.groups = rt.groups.index.len();
                    c.entries = rt.groups.entries();
                    c
                })
                .collect(),
        }
    }
}

pub(crate) fn visit(
    c: usize,
    edges: &[Vec<(usize, usize)>],
    color: &mut [u8],
    path: &mut Vec<usize>,
    order: &mut Vec<usize>,
    rules: &[CorrelationRule],
    errors: &mut Vec<RuleError>,
) {
    color[c] = 1;
    path.push(c);
    for &(r, d) in &edges[c] {
        match color[d] {
            0 => visit(d, edges, color, path, order, rules, errors),
            1 => {
                let start = path.iter().position(|&x| x == d).unwrap_or(0);
                let mut names: Vec<&str> = path[start..]
                    .iter()
                    .map(|&x| rules[x].meta.title.as_str())
                    .collect();
                names.push(&rules[d].meta.title);
                let rule = &rules[c];
                errors.push(ref_error(
                    rule,
                    rule.rule_positions.get(r).copied().unwrap_or_default(),
                    format!(
                        "rule reference '{}' forms a cycle: {}",
                        rule.rules[r],
                        names.join(" -> ")
                    ),
                ));
            }
            _ => {}
        }
    }
    path.pop();
    color[c] = 2;
    order.push(c);
}
