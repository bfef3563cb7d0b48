//! Alerts, options, counters, and the per-group state: windows,
//! aggregates, expiry.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use crate::compile::RuleId;
use crate::event::{Event, Value};

use super::rule::*;

// ---------------------------------------------------------------------------
// Engine: public types
// ---------------------------------------------------------------------------

/// What a correlation's `rules` entry resolved to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Referenced {
    /// A detection rule of the [`RuleSet`].
    Detection(RuleId),
    /// Another correlation (index into [`RuleSet::correlations`]).
    Correlation(usize),
}

/// Limits and reporting options of a [`CorrelationEngine`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineOptions {
    /// Maximum live groups per correlation (default 100,000). A new group beyond it evicts
    /// the group that was active least recently (counted in
    /// [`CorrelationCounters::groups_evicted`]).
    pub max_groups: usize,
    /// Maximum retained entries (rule matches) per group, that is per window of one group
    /// key (default 100,000); the oldest is dropped beyond it (counted in
    /// [`CorrelationCounters::entries_evicted`]).
    pub max_entries_per_group: usize,
    /// How far behind the newest event time an input may be and still be
    /// used. `None` = each correlation's own timespan. Older inputs are
    /// dropped and counted ([`CorrelationCounters::late_dropped`]).
    pub max_lateness_ms: Option<i64>,
    /// At most this many contributing event numbers are listed per alert (default 256;
    /// [`Alert::events_total`] gives the full count).
    pub max_evidence: usize,
    /// Also return alerts of correlations that only feed other correlations
    /// (marked [`Alert::intermediate`]); for debugging rule chains.
    pub report_intermediate: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            max_groups: 100_000,
            max_entries_per_group: 100_000,
            max_lateness_ms: None,
            max_evidence: 256,
            report_intermediate: false,
        }
    }
}

/// A correlation that matched for one group.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Index of the correlation rule (see [`CorrelationEngine::rule`]).
    pub correlation: usize,
    /// The group-by values, in `group-by` order (empty without `group-by`).
    pub group: Vec<String>,
    /// Named values: the group-by fields, then any fields an outer
    /// correlation needs from the event that completed the window.
    pub fields: Vec<(String, String)>,
    /// Event time of the earliest match in the window (ms).
    pub first_ms: i64,
    /// Event time of the match that completed the condition: the window is
    /// `[last_ms - timespan, last_ms]` (ms).
    pub last_ms: i64,
    /// The aggregated value that satisfied the condition: count, distinct
    /// count, sum, mean, percentile, or (temporal types) the number of
    /// distinct rules seen (in order, for `temporal_ordered` with a numeric
    /// condition).
    pub value: f64,
    /// The referenced rules with matches in the window, in `rules` order.
    pub rules: Vec<Referenced>,
    /// Numbers of the contributing events (0-based count of
    /// [`CorrelationEngine::process`] calls), ascending, at most
    /// [`EngineOptions::max_evidence`]; through chains, the base events.
    pub events: Vec<u64>,
    /// How many distinct events contributed.
    pub events_total: usize,
    /// True if the correlation only feeds other correlations (returned only
    /// with [`EngineOptions::report_intermediate`]).
    pub intermediate: bool,
}

/// Counters of one correlation, for diagnostics and to tell the analyst
/// when results may be incomplete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorrelationCounters {
    /// Inputs (matches, or inner alerts) accepted into a group.
    pub inputs: u64,
    /// Alerts raised (including intermediate ones).
    pub alerts: u64,
    /// Times the condition held but the window overlapped one that had
    /// already fired for the group (deduplicated).
    pub deduplicated: u64,
    /// Inputs skipped because a group-by field was absent or null.
    pub missing_group_field: u64,
    /// Inputs skipped because the aggregated `field` was absent or null.
    pub missing_value_field: u64,
    /// Inputs skipped because the aggregated `field` was not numeric.
    pub non_numeric: u64,
    /// Inputs older than their group's newest entry, accepted and
    /// re-evaluated.
    pub out_of_order: u64,
    /// Inputs older than the lateness limit, dropped.
    pub late_dropped: u64,
    /// Groups evicted because of [`EngineOptions::max_groups`].
    pub groups_evicted: u64,
    /// Entries evicted because of [`EngineOptions::max_entries_per_group`].
    pub entries_evicted: u64,
    /// Live groups now.
    pub groups: usize,
    /// Retained entries now.
    pub entries: usize,
}

/// Engine-wide statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorrelationStats {
    /// Events processed.
    pub events: u64,
    /// The newest event time seen (the watermark), if any.
    pub watermark_ms: Option<i64>,
    /// Per correlation, in rule order.
    pub correlations: Vec<CorrelationCounters>,
}

impl CorrelationStats {
    /// Live groups over all correlations.
    pub fn groups(&self) -> usize {
        self.correlations.iter().map(|c| c.groups).sum()
    }

    /// Retained entries over all correlations.
    pub fn entries(&self) -> usize {
        self.correlations.iter().map(|c| c.entries).sum()
    }

    /// Inputs lost to limits or lateness: if non-zero, correlation results
    /// may be incomplete and the analyst should be told.
    pub fn lossy(&self) -> u64 {
        self.correlations
            .iter()
            .map(|c| c.late_dropped + c.groups_evicted + c.entries_evicted)
            .sum()
    }
}

// ---------------------------------------------------------------------------
// Engine: run-time state
// ---------------------------------------------------------------------------

pub(crate) const NONE: i64 = i64::MIN;

/// Field names resolved for one referenced rule (aliases applied).
#[derive(Debug, Clone)]
pub(crate) struct RefSpec {
    pub(crate) target: Referenced,
    pub(crate) group_fields: Vec<String>,
    pub(crate) value_fields: Vec<String>,
}

/// The immutable part of a correlation at run time.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    pub(crate) index: usize,
    pub(crate) kind: CorrelationType,
    pub(crate) span: i64,
    pub(crate) lateness: i64,
    pub(crate) refs: Vec<RefSpec>,
    pub(crate) condition: CorrelationCondition,
    pub(crate) percentile: f64,
    pub(crate) group_by: Vec<String>,
    /// Fields snapshotted from each input for outer correlations.
    pub(crate) carry: Vec<String>,
    /// For `temporal_ordered` extended conditions: each term's rules in order.
    pub(crate) term_refs: Vec<Vec<u16>>,
    pub(crate) reports: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum EntryVal {
    None,
    Key(Arc<str>),
    Num(f64),
}

#[derive(Debug, Clone)]
pub(crate) enum Evidence {
    One(u64),
    Many(Arc<[u64]>),
}

/// One retained input of a group.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) ts: i64,
    pub(crate) r: u16,
    pub(crate) val: EntryVal,
    pub(crate) evidence: Evidence,
    pub(crate) carried: Option<Box<[Option<Box<str>>]>>,
}

/// Incremental aggregate over the entries of the current window.
#[derive(Debug, Clone)]
pub(crate) enum Agg {
    Count(u64),
    Distinct(HashMap<Arc<str>, u32>),
    Sum {
        n: u64,
        ints: i128,
        floats: f64,
    },
    Sorted(Vec<f64>),
    Temporal {
        /// Newest match time per rule.
        last_seen: Vec<i64>,
        /// `temporal_ordered`, numeric condition: for rule j and chain
        /// length m, the latest start of an in-order chain of m distinct
        /// rules ending with rule j (row-major k x k).
        lis: Vec<i64>,
        /// `temporal_ordered`, extended condition: per term, the latest
        /// start of the chain covering the term's first i rules.
        chains: Vec<Vec<i64>>,
    },
}

pub(crate) fn integral(v: f64) -> bool {
    v.fract() == 0.0 && v.abs() < 9.0e15
}

pub(crate) fn percentile_of(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = p / 100.0 * (sorted.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

impl Agg {
    pub(crate) fn new(spec: &Spec) -> Agg {
        match spec.kind {
            CorrelationType::EventCount => Agg::Count(0),
            CorrelationType::ValueCount => Agg::Distinct(HashMap::new()),
            CorrelationType::ValueSum | CorrelationType::ValueAvg => Agg::Sum {
                n: 0,
                ints: 0,
                floats: 0.0,
            },
            CorrelationType::ValuePercentile | CorrelationType::ValueMedian => {
                Agg::Sorted(Vec::new())
            }
            CorrelationType::Temporal | CorrelationType::TemporalOrdered => {
                let k = spec.refs.len();
                let ordered = spec.kind == CorrelationType::TemporalOrdered;
                let (lis, chains) = match (&spec.condition, ordered) {
                    (CorrelationCondition::Range(_), true) => (vec![NONE; k * k], Vec::new()),
                    (CorrelationCondition::Expression { .. }, true) => (
                        Vec::new(),
                        spec.term_refs.iter().map(|t| vec![NONE; t.len()]).collect(),
                    ),
                    _ => (Vec::new(), Vec::new()),
                };
                Agg::Temporal {
                    last_seen: vec![NONE; k],
                    lis,
                    chains,
                }
            }
        }
    }

    pub(crate) fn add(&mut self, e: &Entry, spec: &Spec) {
        match self {
            Agg::Count(n) => *n += 1,
            Agg::Distinct(m) => {
                if let EntryVal::Key(k) = &e.val {
                    *m.entry(k.clone()).or_insert(0) += 1;
                }
            }
            Agg::Sum { n, ints, floats } => {
                if let EntryVal::Num(v) = e.val {
                    *n += 1;
                    if integral(v) {
                        *ints += v as i128;
                    } else {
                        *floats += v;
                    }
                }
            }
            Agg::Sorted(values) => {
                if let EntryVal::Num(v) = e.val {
                    let i = values.partition_point(|x| x.total_cmp(&v).is_lt());
                    values.insert(i, v);
                }
            }
            Agg::Temporal {
                last_seen,
                lis,
                chains,
            } => {
                let j = e.r as usize;
                let k = last_seen.len();
                last_seen[j] = last_seen[j].max(e.ts);
                if !lis.is_empty() {
                    lis[j * k] = lis[j * k].max(e.ts);
                    for m in 2..=j + 1 {
                        let best = (0..j).map(|i| lis[i * k + m - 2]).max().unwrap_or(NONE);
                        if best != NONE {
                            lis[j * k + m - 1] = lis[j * k + m - 1].max(best);
                        }
                    }
                }
                for (chain, order) in chains.iter_mut().zip(&spec.term_refs) {
                    if let Some(i) = order.iter().position(|&x| x as usize == j) {
                        if i == 0 {
                            chain[0] = chain[0].max(e.ts);
                        } else if chain[i - 1] != NONE {
                            chain[i] = chain[i].max(chain[i - 1]);
                        }
                    }
                }
            }
        }
    }

    pub(crate) fn remove(&mut self, e: &Entry) {
        match self {
            Agg::Count(n) => *n = n.saturating_sub(1),
            Agg::Distinct(m) => {
                if let EntryVal::Key(k) = &e.val
                    && let Some(c) = m.get_mut(k)
                {
                    *c -= 1;
                    if *c == 0 {
                        m.remove(k);
                    }
                }
            }
            Agg::Sum { n, ints, floats } => {
                if let EntryVal::Num(v) = e.val {
                    *n = n.saturating_sub(1);
                    if integral(v) {
                        *ints -= v as i128;
                    } else {
                        *floats -= v;
                    }
                    if *n == 0 {
                        *ints = 0;
                        *floats = 0.0;
                    }
                }
            }
            Agg::Sorted(values) => {
                if let EntryVal::Num(v) = e.val {
                    let i = values.partition_point(|x| x.total_cmp(&v).is_lt());
                    if i < values.len() && values[i].total_cmp(&v).is_eq() {
                        values.remove(i);
                    }
                }
            }
            // Presence is judged from match times, nothing to undo.
            Agg::Temporal { .. } => {}
        }
    }

    /// Bitmask of rules matched in `[from, now]`.
    pub(crate) fn present(last_seen: &[i64], from: i64) -> u64 {
        last_seen
            .iter()
            .enumerate()
            .filter(|&(_, &t)| t != NONE && t >= from)
            .fold(0u64, |acc, (i, _)| acc | (1u64 << i))
    }

    /// The aggregated value and whether the condition holds for the window
    /// ending at `t`.
    pub(crate) fn check(&self, spec: &Spec, t: i64) -> Option<f64> {
        let from = t.saturating_sub(spec.span);
        let value = match self {
            Agg::Count(n) => *n as f64,
            Agg::Distinct(m) => m.len() as f64,
            Agg::Sum { n, ints, floats } => {
                if *n == 0 {
                    return None;
                }
                let sum = *ints as f64 + *floats;
                if spec.kind == CorrelationType::ValueAvg {
                    sum / *n as f64
                } else {
                    sum
                }
            }
            Agg::Sorted(values) => {
                if values.is_empty() {
                    return None;
                }
                percentile_of(values, spec.percentile)
            }
            Agg::Temporal {
                last_seen,
                lis,
                chains,
            } => {
                let present = Self::present(last_seen, from);
                if let CorrelationCondition::Expression { terms, .. } = &spec.condition {
                    let holds = terms.iter().enumerate().any(|(ti, term)| {
                        term.absent & present == 0
                            && if chains.is_empty() {
                                term.present & !present == 0
                            } else {
                                chains[ti].last().is_some_and(|&s| s != NONE && s >= from)
                            }
                    });
                    return holds.then_some(present.count_ones() as f64);
                }
                if lis.is_empty() {
                    present.count_ones() as f64
                } else {
                    let k = last_seen.len();
                    let mut best = 0;
                    for j in 0..k {
                        for m in (best + 1)..=(j + 1) {
                            let s = lis[j * k + m - 1];
                            if s != NONE && s >= from {
                                best = m;
                            }
                        }
                    }
                    best as f64
                }
            }
        };
        match &spec.condition {
            CorrelationCondition::Range(ts) => ts.iter().all(|th| th.holds(value)).then_some(value),
            CorrelationCondition::Expression { .. } => None,
        }
    }
}

/// The state of one group of one correlation.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub(crate) key: Arc<[String]>,
    /// Retained entries, sorted by event time (ties: arrival order).
    pub(crate) entries: VecDeque<Entry>,
    /// First entry included in `agg` (the current window's start).
    pub(crate) win_start: usize,
    pub(crate) agg: Agg,
    /// Window ends of alerts fired for this group (for deduplication).
    pub(crate) fired: VecDeque<i64>,
    /// Event time of the newest entry (key of the expiry index).
    pub(crate) newest: i64,
}

/// All groups of one correlation, with a time-ordered expiry index.
#[derive(Debug, Default)]
pub(crate) struct Groups {
    pub(crate) slots: Vec<Option<Group>>,
    pub(crate) free: Vec<u32>,
    pub(crate) index: HashMap<Arc<[String]>, u32>,
    /// (newest entry time, slot) of every live group: the first element is
    /// the next to expire and the least recently active.
    pub(crate) by_newest: BTreeSet<(i64, u32)>,
}

impl Groups {
    pub(crate) fn remove(&mut self, slot: u32) {
        if let Some(g) = self.slots[slot as usize].take() {
            self.index.remove(&g.key);
            self.by_newest.remove(&(g.newest, slot));
            self.free.push(slot);
        }
    }

    pub(crate) fn slot_for(
        &mut self,
        key: &[String],
        spec: &Spec,
        max_groups: usize,
        counters: &mut CorrelationCounters,
    ) -> u32 {
        if let Some(&s) = self.index.get(key) {
            return s;
        }
        while self.index.len() >= max_groups.max(1) {
            let Some(&(_, s)) = self.by_newest.first() else {
                break;
            };
            self.remove(s);
            counters.groups_evicted += 1;
        }
        let key: Arc<[String]> = Arc::from(key.to_vec());
        let group = Group {
            key: key.clone(),
            entries: VecDeque::new(),
            win_start: 0,
            agg: Agg::new(spec),
            fired: VecDeque::new(),
            newest: NONE,
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(group);
                s
            }
            None => {
                self.slots.push(Some(group));
                (self.slots.len() - 1) as u32
            }
        };
        self.index.insert(key, slot);
        self.by_newest.insert((NONE, slot));
        slot
    }

    pub(crate) fn expire(&mut self, horizon: i64) {
        while let Some(&(newest, slot)) = self.by_newest.first() {
            if newest >= horizon {
                break;
            }
            self.remove(slot);
        }
    }

    pub(crate) fn entries(&self) -> usize {
        self.slots.iter().flatten().map(|g| g.entries.len()).sum()
    }
}

/// One correlation at run time.
#[derive(Debug)]
pub(crate) struct Runtime {
    pub(crate) spec: Spec,
    pub(crate) groups: Groups,
    pub(crate) counters: CorrelationCounters,
}

/// Where an input's fields come from.
#[derive(Clone, Copy)]
pub(crate) enum Source<'a> {
    Event(&'a dyn Event),
    Alert(&'a Alert),
}

pub(crate) enum NumErr {
    Missing,
    NotNumber,
}

pub(crate) fn value_text(v: &Value<'_>) -> Option<String> {
    match v {
        Value::Null | Value::Object => None,
        Value::List(items) => {
            let mut parts: Vec<String> = items.iter().filter_map(value_text).collect();
            match parts.len() {
                0 => None,
                1 => parts.pop(),
                _ => Some(format!("[{}]", parts.join(","))),
            }
        }
        other => {
            let mut s = String::new();
            other.write_text(&mut s).then_some(s)
        }
    }
}

pub(crate) fn parse_number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

impl Source<'_> {
    pub(crate) fn text(&self, name: &str) -> Option<String> {
        match self {
            Source::Event(e) => e.field(name).as_ref().and_then(value_text),
            Source::Alert(a) => a
                .fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone()),
        }
    }

    pub(crate) fn number(&self, name: &str) -> Result<f64, NumErr> {
        match self {
            Source::Event(e) => match e.field(name) {
                None | Some(Value::Null) => Err(NumErr::Missing),
                Some(Value::Int(i)) => Ok(i as f64),
                Some(Value::UInt(u)) => Ok(u as f64),
                Some(Value::Float(f)) if f.is_finite() => Ok(f),
                Some(Value::Str(s)) => parse_number(&s).ok_or(NumErr::NotNumber),
                Some(_) => Err(NumErr::NotNumber),
            },
            Source::Alert(_) => match self.text(name) {
                None => Err(NumErr::Missing),
                Some(t) => parse_number(&t).ok_or(NumErr::NotNumber),
            },
        }
    }
}

/// Per-call context.
pub(crate) struct Ctx<'a> {
    pub(crate) now: i64,
    pub(crate) opts: &'a EngineOptions,
}

impl Runtime {
    pub(crate) fn horizon(&self, now: i64) -> i64 {
        now.saturating_sub(self.spec.lateness)
            .saturating_sub(self.spec.span)
    }

    /// Feeds one input (an event matching the rules `refs`, or one alert of
    /// an inner correlation referenced as `refs[0]`).
    pub(crate) fn feed(
        &mut self,
        src: Source<'_>,
        ts: i64,
        evidence: &Evidence,
        refs: &[u16],
        ctx: &Ctx<'_>,
        out: &mut Vec<Alert>,
    ) {
        if ts < ctx.now.saturating_sub(self.spec.lateness) {
            self.counters.late_dropped += 1;
            return;
        }
        // Temporal types record each matching rule; the others count the
        // event once (as a query "rule_a OR rule_b" would).
        let refs = if self.spec.kind.is_temporal() {
            refs
        } else {
            &refs[..refs.len().min(1)]
        };
        let mut batches: Vec<(Vec<String>, Vec<Entry>)> = Vec::new();
        for &r in refs {
            let rs = &self.spec.refs[r as usize];
            let mut key = Vec::with_capacity(rs.group_fields.len());
            for f in &rs.group_fields {
                match src.text(f) {
                    Some(v) => key.push(v),
                    None => break,
                }
            }
            if key.len() != rs.group_fields.len() {
                self.counters.missing_group_field += 1;
                continue;
            }
            let val = match self.spec.kind {
                CorrelationType::ValueCount => {
                    let mut parts = Vec::with_capacity(rs.value_fields.len());
                    for f in &rs.value_fields {
                        match src.text(f) {
                            Some(v) => parts.push(v),
                            None => break,
                        }
                    }
                    if parts.len() != rs.value_fields.len() {
                        self.counters.missing_value_field += 1;
                        continue;
                    }
                    EntryVal::Key(Arc::from(parts.join("\u{1f}")))
                }
                k if k.is_numeric() => match src.number(&rs.value_fields[0]) {
                    Ok(v) => EntryVal::Num(v),
                    Err(NumErr::Missing) => {
                        self.counters.missing_value_field += 1;
                        continue;
                    }
                    Err(NumErr::NotNumber) => {
                        self.counters.non_numeric += 1;
                        continue;
                    }
                },
                _ => EntryVal::None,
            };
            let carried = (!self.spec.carry.is_empty()).then(|| {
                self.spec
                    .carry
                    .iter()
                    .map(|f| src.text(f).map(String::into_boxed_str))
                    .collect::<Box<[_]>>()
            });
            let entry = Entry {
                ts,
                r,
                val,
                evidence: evidence.clone(),
                carried,
            };
            match batches.iter_mut().find(|(k, _)| *k == key) {
                Some((_, b)) => b.push(entry),
                None => batches.push((key, vec![entry])),
            }
        }
        for (key, entries) in batches {
            self.insert(&key, ts, entries, ctx, out);
        }
    }

    pub(crate) fn insert(
        &mut self,
        key: &[String],
        ts: i64,
        new: Vec<Entry>,
        ctx: &Ctx<'_>,
        out: &mut Vec<Alert>,
    ) {
        let horizon = self.horizon(ctx.now);
        let spec = &self.spec;
        let counters = &mut self.counters;
        counters.inputs += 1;
        let slot = self
            .groups
            .slot_for(key, spec, ctx.opts.max_groups, counters);
        let Some(g) = self.groups.slots[slot as usize].as_mut() else {
            return;
        };
        let cap = ctx.opts.max_entries_per_group.max(1);
        let in_order = g.entries.back().is_none_or(|b| b.ts <= ts);
        if in_order {
            for e in new {
                g.agg.add(&e, spec);
                g.entries.push_back(e);
            }
            while g.entries.len() > cap {
                pop_front(g);
                counters.entries_evicted += 1;
            }
            advance_window(spec, g, ts);
            let j = g.entries.len() - 1;
            evaluate(spec, g, j, ts, counters, ctx.opts, out);
        } else {
            counters.out_of_order += 1;
            let mut pos = g.entries.partition_point(|e| e.ts <= ts);
            for (i, e) in new.into_iter().enumerate() {
                g.entries.insert(pos + i, e);
            }
            while g.entries.len() > cap {
                pop_front(g);
                counters.entries_evicted += 1;
                pos = pos.saturating_sub(1);
            }
            replay(spec, g, pos, ts, counters, ctx.opts, out);
        }
        while g.entries.front().is_some_and(|e| e.ts < horizon) {
            pop_front(g);
        }
        g.fired.retain(|&f| f >= horizon);
        let newest = g.entries.back().map_or(NONE, |e| e.ts);
        if newest != g.newest {
            self.groups.by_newest.remove(&(g.newest, slot));
            g.newest = newest;
            self.groups.by_newest.insert((newest, slot));
        }
        if g.entries.is_empty() {
            self.groups.remove(slot);
        }
    }
}

pub(crate) fn pop_front(g: &mut Group) {
    if let Some(e) = g.entries.pop_front() {
        if g.win_start > 0 {
            g.win_start -= 1;
        } else {
            g.agg.remove(&e);
        }
    }
}

/// Drops entries older than `t - span` from the aggregate.
pub(crate) fn advance_window(spec: &Spec, g: &mut Group, t: i64) {
    let from = t.saturating_sub(spec.span);
    while g.win_start < g.entries.len() && g.entries[g.win_start].ts < from {
        g.agg.remove(&g.entries[g.win_start]);
        g.win_start += 1;
    }
}

/// Rebuilds the aggregate from the retained entries after an out-of-order
/// insertion at `from`, evaluating every window that now contains it.
pub(crate) fn replay(
    spec: &Spec,
    g: &mut Group,
    from: usize,
    late_ts: i64,
    counters: &mut CorrelationCounters,
    opts: &EngineOptions,
    out: &mut Vec<Alert>,
) {
    g.agg = Agg::new(spec);
    g.win_start = 0;
    let until = late_ts.saturating_add(spec.span);
    for j in 0..g.entries.len() {
        g.agg.add(&g.entries[j], spec);
        let t = g.entries[j].ts;
        advance_window(spec, g, t);
        let run_end = g.entries.get(j + 1).is_none_or(|n| n.ts != t);
        if j >= from && t <= until && run_end {
            evaluate(spec, g, j, t, counters, opts, out);
        }
    }
}

/// Checks the window ending at entry `j` (time `t`) and fires if the
/// condition holds and no overlapping window has fired for the group.
pub(crate) fn evaluate(
    spec: &Spec,
    g: &mut Group,
    j: usize,
    t: i64,
    counters: &mut CorrelationCounters,
    opts: &EngineOptions,
    out: &mut Vec<Alert>,
) {
    let Some(value) = g.agg.check(spec, t) else {
        return;
    };
    if g.fired.iter().any(|&f| f.abs_diff(t) <= spec.span as u64) {
        counters.deduplicated += 1;
        return;
    }
    g.fired.push_back(t);
    counters.alerts += 1;
    let from = t.saturating_sub(spec.span);
    let lo = g.entries.partition_point(|e| e.ts < from).min(j);
    let mut seen = vec![false; spec.refs.len()];
    let mut events = Vec::new();
    for e in g.entries.range(lo..=j) {
        seen[e.r as usize] = true;
        match &e.evidence {
            Evidence::One(s) => events.push(*s),
            Evidence::Many(list) => events.extend(list.iter().copied()),
        }
    }
    events.sort_unstable();
    events.dedup();
    let events_total = events.len();
    events.truncate(opts.max_evidence);
    let mut fields: Vec<(String, String)> = spec
        .group_by
        .iter()
        .cloned()
        .zip(g.key.iter().cloned())
        .collect();
    if let Some(carried) = &g.entries[j].carried {
        for (name, v) in spec.carry.iter().zip(carried.iter()) {
            if let Some(v) = v {
                fields.push((name.clone(), v.to_string()));
            }
        }
    }
    out.push(Alert {
        correlation: spec.index,
        group: g.key.to_vec(),
        fields,
        first_ms: g.entries[lo].ts,
        last_ms: t,
        value,
        rules: seen
            .iter()
            .enumerate()
            .filter(|(_, s)| **s)
            .map(|(i, _)| spec.refs[i].target)
            .collect(),
        events,
        events_total,
        intermediate: !spec.reports,
    });
}
