//! Sigma correlation rules: parse, validate, resolve and evaluate them over
//! a stream of events.
//!
//! A correlation rule (specification v2.1, `correlation:` documents) does not
//! look at one event: it counts, aggregates or sequences the *matches* of
//! other rules per group (`group-by`) inside a time window (`timespan`). The
//! specification defines the vocabulary but leaves most run-time behaviour to
//! "the backend": which window, when an alert is emitted and how often, what
//! happens to events lacking a group-by field, to late events, to memory.
//! An investigation tool must answer every one of those questions the same
//! way every time, and say how, because an analyst will defend its output.
//! This module makes each choice explicit (see the crate README, section
//! "Correlation rules") and keeps the engine streaming with bounded memory:
//!
//! * **Sliding, event-time windows.** Every time a referenced rule matches,
//!   the condition is evaluated over the window `[t - timespan, t]` that ends
//!   at that match (both ends inclusive). Time is the `ts_ms` the caller
//!   passes, never the wall clock.
//! * **One alert per episode.** A group fires when its condition holds, then
//!   stays silent for windows overlapping the one that fired.
//! * **Bounded state.** Per-group entries expire with their window, idle
//!   groups are dropped via a time-ordered index, and hard caps on groups and
//!   entries evict (and count) the oldest state.
//! * **Chains.** A correlation may reference another correlation; the inner
//!   one's alerts are the outer one's events. Only correlations not hidden by
//!   a referencing correlation (`generate: false`, the default) report.
//!
//! Parsing happens while a [`Collection`](crate::Collection) loads rules
//! ([`CorrelationRule`]); references are resolved, cycles refused and the
//! run-time state built by [`CorrelationEngine::new`].

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use crate::compile::{RuleId, RuleSet};
use crate::condition::{Condition, parse_condition};
use crate::error::{PResult, Problem, RuleError};
use crate::event::{Event, Value};
use crate::rule::{RuleMeta, parse_meta};
use crate::yaml::{Node, NodeKind, Pos, Scalar};

// ---------------------------------------------------------------------------
// Rule model
// ---------------------------------------------------------------------------

/// The kind of aggregation a correlation performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CorrelationType {
    /// `event_count`: number of matching events in the window.
    EventCount,
    /// `value_count`: number of distinct values of `condition.field`
    /// (a list of fields counts distinct combinations).
    ValueCount,
    /// `temporal`: the referenced rules all matched in the window, any order
    /// (or the count of distinct rules, or an extended boolean condition).
    Temporal,
    /// `temporal_ordered`: as `temporal`, in the order of `rules`.
    TemporalOrdered,
    /// `value_sum`: sum of the numeric `field` values in the window.
    ValueSum,
    /// `value_avg`: mean of the numeric `field` values in the window.
    ValueAvg,
    /// `value_percentile`: the `percentile`-th percentile of the numeric
    /// `field` values in the window (linear interpolation).
    ValuePercentile,
    /// `value_median`: the median of the numeric `field` values (pySigma).
    ValueMedian,
}

impl CorrelationType {
    const ALL: [CorrelationType; 8] = [
        CorrelationType::EventCount,
        CorrelationType::ValueCount,
        CorrelationType::Temporal,
        CorrelationType::TemporalOrdered,
        CorrelationType::ValueSum,
        CorrelationType::ValueAvg,
        CorrelationType::ValuePercentile,
        CorrelationType::ValueMedian,
    ];

    /// Parses a type name as written in a rule (`event_count`, ...).
    pub fn parse(name: &str) -> Option<CorrelationType> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// The type's name as Sigma writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            CorrelationType::EventCount => "event_count",
            CorrelationType::ValueCount => "value_count",
            CorrelationType::Temporal => "temporal",
            CorrelationType::TemporalOrdered => "temporal_ordered",
            CorrelationType::ValueSum => "value_sum",
            CorrelationType::ValueAvg => "value_avg",
            CorrelationType::ValuePercentile => "value_percentile",
            CorrelationType::ValueMedian => "value_median",
        }
    }

    /// True for `temporal` and `temporal_ordered`.
    pub fn is_temporal(self) -> bool {
        matches!(
            self,
            CorrelationType::Temporal | CorrelationType::TemporalOrdered
        )
    }

    /// True for the types that aggregate a numeric field.
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            CorrelationType::ValueSum
                | CorrelationType::ValueAvg
                | CorrelationType::ValuePercentile
                | CorrelationType::ValueMedian
        )
    }
}

/// A comparison operator of a correlation condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThresholdOp {
    /// `gt`: greater than.
    Gt,
    /// `gte`: greater than or equal.
    Gte,
    /// `lt`: less than.
    Lt,
    /// `lte`: less than or equal.
    Lte,
    /// `eq`: equal.
    Eq,
    /// `neq`: not equal (spec v2.1).
    Neq,
}

impl ThresholdOp {
    /// Parses an operator key (`gte`, ...).
    pub fn parse(name: &str) -> Option<ThresholdOp> {
        Some(match name {
            "gt" => ThresholdOp::Gt,
            "gte" => ThresholdOp::Gte,
            "lt" => ThresholdOp::Lt,
            "lte" => ThresholdOp::Lte,
            "eq" => ThresholdOp::Eq,
            "neq" => ThresholdOp::Neq,
            _ => return None,
        })
    }

    /// The operator as written in rules.
    pub fn as_str(self) -> &'static str {
        match self {
            ThresholdOp::Gt => "gt",
            ThresholdOp::Gte => "gte",
            ThresholdOp::Lt => "lt",
            ThresholdOp::Lte => "lte",
            ThresholdOp::Eq => "eq",
            ThresholdOp::Neq => "neq",
        }
    }
}

/// One comparison of the aggregated value with a number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold {
    /// How to compare.
    pub op: ThresholdOp,
    /// What to compare with.
    pub value: f64,
}

impl Threshold {
    /// True if `x` satisfies the comparison (`x op value`).
    pub fn holds(&self, x: f64) -> bool {
        match self.op {
            ThresholdOp::Gt => x > self.value,
            ThresholdOp::Gte => x >= self.value,
            ThresholdOp::Lt => x < self.value,
            ThresholdOp::Lte => x <= self.value,
            ThresholdOp::Eq => x == self.value,
            ThresholdOp::Neq => x != self.value,
        }
    }
}

/// One alternative of an extended temporal condition in disjunctive normal
/// form: every rule in `present` matched in the window and none in `absent`.
/// Bits are indexes into [`CorrelationRule::rules`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Term {
    /// Rules that must have matched (for `temporal_ordered`: in `rules` order).
    pub present: u64,
    /// Rules that must not have matched in the window.
    pub absent: u64,
}

/// When a correlation matches.
#[derive(Debug, Clone, PartialEq)]
pub enum CorrelationCondition {
    /// One or two thresholds that must all hold (two make a range, e.g.
    /// `gt: 100, lte: 200`). For temporal types the compared value is the
    /// number of distinct referenced rules seen (in order, for
    /// `temporal_ordered`); the default is `gte: <number of rules>`.
    Range(Vec<Threshold>),
    /// An extended boolean condition over the referenced rules (SEP #198),
    /// temporal types only, e.g. `rule_a and rule_b and not rule_c`.
    Expression {
        /// The condition as written.
        text: String,
        /// The condition in disjunctive normal form.
        terms: Vec<Term>,
    },
}

/// One rule-to-field entry of an alias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasTarget {
    /// The referenced rule, by name (or id) as written.
    pub rule: String,
    /// The field holding the aliased value in that rule's events.
    pub field: String,
    /// Where the entry is written.
    pub pos: Pos,
}

/// A field-name alias: one logical field named differently per rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    /// The alias, usable in `group-by` (and, as an extension, in `field`).
    pub name: String,
    /// The field name in each rule's events.
    pub targets: Vec<AliasTarget>,
}

/// A parsed correlation rule (one `correlation:` document).
#[derive(Debug, Clone)]
pub struct CorrelationRule {
    /// Metadata (title, id, name, level, ...).
    pub meta: RuleMeta,
    /// The aggregation.
    pub kind: CorrelationType,
    /// Referenced rules (detection or correlation), by id or name as written.
    pub rules: Vec<String>,
    /// Group-by fields (or aliases); empty = one global group.
    pub group_by: Vec<String>,
    /// The timespan as written (`5m`).
    pub timespan: String,
    /// The timespan in milliseconds.
    pub timespan_ms: i64,
    /// When the correlation matches.
    pub condition: CorrelationCondition,
    /// `condition.field`: the field(s) the `value_*` types aggregate.
    pub field: Vec<String>,
    /// `condition.percentile` (0-100) for `value_percentile`.
    pub percentile: Option<f64>,
    /// Field-name aliases.
    pub aliases: Vec<Alias>,
    /// `generate`: whether the rules this correlation references still
    /// report on their own (default false).
    pub generate: bool,
    /// Where each entry of `rules` is written (or the condition, for rules
    /// taken from an extended condition).
    pub rule_positions: Vec<Pos>,
}

const MAX_TEMPORAL_RULES: usize = 64;
const MAX_TERMS: usize = 256;

const CORRELATION_KEYS: [&str; 7] = [
    "type",
    "rules",
    "group-by",
    "timespan",
    "condition",
    "aliases",
    "generate",
];

/// Parses a timespan (`30s`, `5m`, `1h`, `7d`, and pySigma's `2w`, `1M`,
/// `1y`) into milliseconds. Months are 30.436875 days and years 365.2425
/// days, as in pySigma.
pub fn parse_timespan(text: &str) -> Result<i64, String> {
    let bad = || {
        format!(
            "invalid timespan '{text}': expected a positive integer and a unit \
             (s, m, h, d, w, M, y), e.g. '5m'"
        )
    };
    let unit = text.chars().last().ok_or_else(bad)?;
    let digits = &text[..text.len() - unit.len_utf8()];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let unit_ms: i64 = match unit {
        's' => 1_000,
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => 86_400_000,
        'w' => 604_800_000,
        'M' => 2_629_746_000,
        'y' => 31_556_952_000,
        _ => return Err(bad()),
    };
    let count: i64 = digits
        .parse()
        .map_err(|_| format!("timespan '{text}' is too large"))?;
    if count == 0 {
        return Err(format!("timespan '{text}' must be greater than zero"));
    }
    count
        .checked_mul(unit_ms)
        .ok_or_else(|| format!("timespan '{text}' is too large"))
}

fn problem(pos: Pos, reason: impl Into<String>) -> Problem {
    Problem::new(Some(pos), reason)
}

fn scalar_text(node: &Node, what: &str) -> PResult<String> {
    match &node.kind {
        NodeKind::Scalar(Scalar::Str(s)) if !s.is_empty() => Ok(s.clone()),
        NodeKind::Scalar(Scalar::Int(i)) => Ok(i.to_string()),
        _ => Err(problem(
            node.pos,
            format!(
                "{what} must be a non-empty string, not a {}",
                node.type_name()
            ),
        )),
    }
}

/// A string or a list of strings, with positions; duplicates refused.
fn name_list(node: &Node, what: &str) -> PResult<Vec<(String, Pos)>> {
    let items: Vec<(String, Pos)> = match &node.kind {
        NodeKind::Seq(items) => items
            .iter()
            .map(|i| scalar_text(i, &format!("each entry of '{what}'")).map(|s| (s, i.pos)))
            .collect::<PResult<_>>()?,
        NodeKind::Scalar(Scalar::Null) => Vec::new(),
        NodeKind::Scalar(_) => vec![(scalar_text(node, &format!("'{what}'"))?, node.pos)],
        NodeKind::Map(_) => {
            return Err(problem(
                node.pos,
                format!("'{what}' must be a string or a list of strings, not a mapping"),
            ));
        }
    };
    for (i, (name, pos)) in items.iter().enumerate() {
        if items[..i].iter().any(|(n, _)| n == name) {
            return Err(problem(
                *pos,
                format!("'{name}' is listed twice in '{what}'"),
            ));
        }
    }
    Ok(items)
}

fn number_of(node: &Node, what: &str) -> PResult<f64> {
    let v = match &node.kind {
        NodeKind::Scalar(Scalar::Int(i)) => Some(*i as f64),
        NodeKind::Scalar(Scalar::Float(f, _)) => Some(*f),
        // pySigma accepts numbers written as strings ('100'); so do we.
        NodeKind::Scalar(Scalar::Str(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match v {
        Some(v) if v.is_finite() => Ok(v),
        _ => Err(problem(
            node.pos,
            format!(
                "{what} must be a number, not '{}'",
                node.as_scalar()
                    .map(Scalar::to_text)
                    .unwrap_or_else(|| node.type_name().into())
            ),
        )),
    }
}

/// The parts of a map-form condition.
struct RangeParts {
    thresholds: Vec<Threshold>,
    field: Vec<String>,
    field_pos: Option<Pos>,
    percentile: Option<(f64, Pos)>,
}

fn parse_range(node: &Node) -> PResult<RangeParts> {
    let entries = node.as_map().unwrap_or(&[]);
    let mut parts = RangeParts {
        thresholds: Vec::new(),
        field: Vec::new(),
        field_pos: None,
        percentile: None,
    };
    for (k, v) in entries {
        let key = k.key_text().unwrap_or_default();
        if let Some(op) = ThresholdOp::parse(&key) {
            let value = number_of(v, &format!("the '{key}' threshold"))?;
            parts.thresholds.push(Threshold { op, value });
        } else if key == "field" {
            let names = name_list(v, "field")?;
            if names.is_empty() {
                return Err(problem(v.pos, "'field' must name at least one field"));
            }
            parts.field = names.into_iter().map(|(n, _)| n).collect();
            parts.field_pos = Some(k.pos);
        } else if key == "percentile" {
            let p = number_of(v, "'percentile'")?;
            if !(0.0..=100.0).contains(&p) {
                return Err(problem(
                    v.pos,
                    format!("'percentile' must be between 0 and 100, not {p}"),
                ));
            }
            parts.percentile = Some((p, k.pos));
        } else {
            return Err(problem(
                k.pos,
                format!(
                    "unknown condition operator '{key}' (gt, gte, lt, lte, eq, neq, field, percentile)"
                ),
            ));
        }
    }
    match parts.thresholds.len() {
        0 => {
            return Err(problem(
                node.pos,
                "the condition needs a threshold: one of gt, gte, lt, lte, eq, neq",
            ));
        }
        1 | 2 => {}
        _ => {
            return Err(problem(
                node.pos,
                "a condition has one threshold or two (a range such as 'gt: 100' and 'lte: 200')",
            ));
        }
    }
    if range_is_empty(&parts.thresholds) {
        let text: Vec<String> = parts
            .thresholds
            .iter()
            .map(|t| format!("{} {}", t.op.as_str(), t.value))
            .collect();
        return Err(problem(
            node.pos,
            format!(
                "the condition range '{}' can never hold",
                text.join(" and ")
            ),
        ));
    }
    Ok(parts)
}

/// True if no number satisfies every threshold.
fn range_is_empty(ts: &[Threshold]) -> bool {
    // Candidate values: each threshold and points just around it.
    let mut candidates = Vec::new();
    for t in ts {
        let d = t.value.abs().max(1.0) * 1e-9;
        candidates.extend([t.value - d, t.value, t.value + d]);
    }
    for a in ts {
        for b in ts {
            candidates.push((a.value + b.value) / 2.0);
        }
    }
    !candidates.iter().any(|&x| ts.iter().all(|t| t.holds(x)))
}

/// Lower-cases the operator words of an extended condition (the SEP's own
/// example writes `AND NOT`; pySigma expects lowercase).
fn normalize_operators(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if matches!(word.to_ascii_lowercase().as_str(), "and" | "or" | "not") {
            out.push_str(&word.to_ascii_lowercase());
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '*') {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

fn identifiers(c: &Condition, out: &mut Vec<String>) -> Result<(), String> {
    match c {
        Condition::And(cs) | Condition::Or(cs) => cs.iter().try_for_each(|c| identifiers(c, out)),
        Condition::Not(c) => identifiers(c, out),
        Condition::Ident(id) => {
            if !out.contains(id) {
                out.push(id.clone());
            }
            Ok(())
        }
        Condition::OneOf(_) | Condition::AllOf(_) => Err(
            "'1 of' / 'all of' are not allowed in correlation conditions; name the rules".into(),
        ),
    }
}

/// Converts a condition into disjunctive normal form over rule indexes.
fn dnf(c: &Condition, negated: bool, index: &dyn Fn(&str) -> usize) -> Result<Vec<Term>, String> {
    match c {
        Condition::Ident(id) => {
            let bit = 1u64 << index(id);
            Ok(vec![if negated {
                Term {
                    present: 0,
                    absent: bit,
                }
            } else {
                Term {
                    present: bit,
                    absent: 0,
                }
            }])
        }
        Condition::Not(inner) => dnf(inner, !negated, index),
        Condition::And(cs) | Condition::Or(cs) => {
            let conjunction = matches!(c, Condition::And(_)) != negated;
            if conjunction {
                let mut acc = vec![Term {
                    present: 0,
                    absent: 0,
                }];
                for child in cs {
                    let terms = dnf(child, negated, index)?;
                    let mut next = Vec::new();
                    for a in &acc {
                        for b in &terms {
                            let t = Term {
                                present: a.present | b.present,
                                absent: a.absent | b.absent,
                            };
                            if t.present & t.absent == 0 && !next.contains(&t) {
                                next.push(t);
                            }
                        }
                    }
                    if next.len() > MAX_TERMS {
                        return Err(format!(
                            "the condition is too complex (more than {MAX_TERMS} alternatives)"
                        ));
                    }
                    acc = next;
                }
                Ok(acc)
            } else {
                let mut acc: Vec<Term> = Vec::new();
                for child in cs {
                    for t in dnf(child, negated, index)? {
                        if !acc.contains(&t) {
                            acc.push(t);
                        }
                    }
                }
                if acc.len() > MAX_TERMS {
                    return Err(format!(
                        "the condition is too complex (more than {MAX_TERMS} alternatives)"
                    ));
                }
                Ok(acc)
            }
        }
        Condition::OneOf(_) | Condition::AllOf(_) => {
            Err("'1 of' / 'all of' are not allowed in correlation conditions".into())
        }
    }
}

/// Parses an extended temporal condition. When `rules` is empty the rules
/// are taken from the condition (pySigma allows omitting `rules`).
fn parse_extended(
    text: &str,
    pos: Pos,
    rules: &mut Vec<String>,
    rule_positions: &mut Vec<Pos>,
) -> PResult<CorrelationCondition> {
    let normalized = normalize_operators(text);
    let cond = parse_condition(&normalized)
        .map_err(|e| problem(pos, format!("condition '{text}': {e}")))?;
    let mut idents = Vec::new();
    identifiers(&cond, &mut idents)
        .map_err(|e| problem(pos, format!("condition '{text}': {e}")))?;
    if rules.is_empty() {
        rule_positions.extend(std::iter::repeat_n(pos, idents.len()));
        rules.extend(idents.iter().cloned());
    } else {
        if let Some(unknown) = idents.iter().find(|i| !rules.contains(i)) {
            return Err(problem(
                pos,
                format!("condition '{text}' names '{unknown}', which is not in 'rules'"),
            ));
        }
        if let Some(unused) = rules.iter().find(|r| !idents.contains(r)) {
            return Err(problem(
                pos,
                format!(
                    "rule '{unused}' is listed in 'rules' but not used in the condition '{text}'"
                ),
            ));
        }
    }
    if rules.len() > MAX_TEMPORAL_RULES {
        return Err(problem(
            pos,
            format!("a temporal correlation can reference at most {MAX_TEMPORAL_RULES} rules"),
        ));
    }
    let index = |name: &str| rules.iter().position(|r| r == name).unwrap_or(0);
    let terms =
        dnf(&cond, false, &index).map_err(|e| problem(pos, format!("condition '{text}': {e}")))?;
    if terms.is_empty() {
        return Err(problem(pos, format!("condition '{text}' can never hold")));
    }
    if terms.iter().any(|t| t.present == 0) {
        return Err(problem(
            pos,
            format!(
                "condition '{text}' can hold without any rule matching; every alternative must \
                 require at least one rule (absence alone cannot be detected on a stream)"
            ),
        ));
    }
    Ok(CorrelationCondition::Expression {
        text: text.to_string(),
        terms,
    })
}

fn bool_of(node: &Node, what: &str) -> PResult<bool> {
    match &node.kind {
        NodeKind::Scalar(Scalar::Bool(b)) => Ok(*b),
        _ => Err(problem(
            node.pos,
            format!("'{what}' must be true or false, not a {}", node.type_name()),
        )),
    }
}

fn parse_aliases(node: &Node) -> PResult<Vec<Alias>> {
    if matches!(node.kind, NodeKind::Scalar(Scalar::Null)) {
        return Ok(Vec::new());
    }
    let Some(entries) = node.as_map() else {
        return Err(problem(
            node.pos,
            "'aliases' must be a mapping of alias -> {rule name: field}",
        ));
    };
    let mut out = Vec::new();
    for (k, v) in entries {
        let name = k.key_text().unwrap_or_default();
        let Some(mapping) = v.as_map() else {
            return Err(problem(
                v.pos,
                format!("alias '{name}' must map rule names to field names"),
            ));
        };
        if mapping.is_empty() {
            return Err(problem(v.pos, format!("alias '{name}' maps no rule")));
        }
        let mut targets = Vec::new();
        for (rk, rv) in mapping {
            targets.push(AliasTarget {
                rule: rk.key_text().unwrap_or_default(),
                field: scalar_text(rv, &format!("the field of alias '{name}'"))?,
                pos: rk.pos,
            });
        }
        out.push(Alias { name, targets });
    }
    Ok(out)
}

pub(crate) fn parse_correlation(
    root: &Node,
    origin: &str,
    line: usize,
) -> PResult<CorrelationRule> {
    let meta = parse_meta(root, origin, line)?;
    let Some(corr) = root.get("correlation") else {
        return Err(problem(root.pos, "missing 'correlation'"));
    };
    let Some(entries) = corr.as_map() else {
        return Err(problem(
            corr.pos,
            format!(
                "'correlation' must be a mapping, not a {}",
                corr.type_name()
            ),
        ));
    };
    for (k, _) in entries {
        let key = k.key_text().unwrap_or_default();
        if !CORRELATION_KEYS.contains(&key.as_str()) {
            let hint = match key.as_str() {
                "group_by" | "groupby" | "group" => " (did you mean 'group-by'?)",
                "timeframe" | "window" => " (did you mean 'timespan'?)",
                "rule" => " (did you mean 'rules'?)",
                "field" => " ('field' belongs inside 'condition')",
                _ => "",
            };
            return Err(problem(
                k.pos,
                format!(
                    "unknown key '{key}' in 'correlation'{hint}; allowed: {}",
                    CORRELATION_KEYS.join(", ")
                ),
            ));
        }
    }

    let kind = match corr.get("type") {
        None => return Err(problem(corr.pos, "correlation without 'type'")),
        Some(n) => {
            let name = n.as_scalar().map(Scalar::to_text).unwrap_or_default();
            CorrelationType::parse(&name).ok_or_else(|| {
                let all: Vec<&str> = CorrelationType::ALL.iter().map(|t| t.as_str()).collect();
                problem(
                    n.pos,
                    format!(
                        "unknown correlation type '{name}' (one of {})",
                        all.join(", ")
                    ),
                )
            })?
        }
    };

    let (timespan, timespan_ms) = match corr.get("timespan") {
        None => return Err(problem(corr.pos, "correlation without 'timespan'")),
        Some(n) => {
            let text = n.as_scalar().map(Scalar::to_text).unwrap_or_default();
            let ms = parse_timespan(&text).map_err(|e| problem(n.pos, e))?;
            (text, ms)
        }
    };

    let group_by: Vec<String> = match corr.get("group-by") {
        None => Vec::new(),
        Some(n) => name_list(n, "group-by")?
            .into_iter()
            .map(|(s, _)| s)
            .collect(),
    };

    let (mut rules, mut rule_positions): (Vec<String>, Vec<Pos>) = match corr.get("rules") {
        None => (Vec::new(), Vec::new()),
        Some(n) => name_list(n, "rules")?.into_iter().unzip(),
    };
    let rules_given = !rules.is_empty();

    let aliases = match corr.get("aliases") {
        None => Vec::new(),
        Some(n) => parse_aliases(n)?,
    };

    let generate = {
        let inner = corr
            .get("generate")
            .map(|n| bool_of(n, "generate"))
            .transpose()?;
        let outer = root
            .get("generate")
            .map(|n| bool_of(n, "generate"))
            .transpose()?;
        if let (Some(a), Some(b)) = (inner, outer)
            && a != b
        {
            return Err(problem(
                corr.pos,
                "'generate' is given twice (top level and in 'correlation') with different values",
            ));
        }
        inner.or(outer).unwrap_or(false)
    };

    let cond_node = corr
        .get("condition")
        .filter(|n| !matches!(n.kind, NodeKind::Scalar(Scalar::Null)));
    let mut field = Vec::new();
    let mut percentile = None;
    let condition = match cond_node {
        Some(n) if n.as_map().is_some() => {
            if !rules_given {
                return Err(problem(corr.pos, "correlation without 'rules'"));
            }
            let parts = parse_range(n)?;
            let field_pos = parts.field_pos.unwrap_or(n.pos);
            match (kind, parts.field.len()) {
                (CorrelationType::ValueCount, 0) => {
                    return Err(problem(n.pos, "value_count needs 'field' in its condition"));
                }
                (k, 0) if k.is_numeric() => {
                    return Err(problem(
                        n.pos,
                        format!("{} needs 'field' in its condition", k.as_str()),
                    ));
                }
                (k, n) if k.is_numeric() && n > 1 => {
                    return Err(problem(
                        field_pos,
                        format!(
                            "{} aggregates one field; only value_count accepts a list",
                            k.as_str()
                        ),
                    ));
                }
                (
                    CorrelationType::EventCount
                    | CorrelationType::Temporal
                    | CorrelationType::TemporalOrdered,
                    n,
                ) if n > 0 => {
                    return Err(problem(
                        field_pos,
                        format!(
                            "'field' has no meaning for {} (did you mean value_count?)",
                            kind.as_str()
                        ),
                    ));
                }
                _ => {}
            }
            match (kind, parts.percentile) {
                (CorrelationType::ValuePercentile, None) => {
                    return Err(problem(
                        n.pos,
                        "value_percentile needs 'percentile: <0-100>' in its condition (the \
                         specification does not define a default; tiaki will not guess one)",
                    ));
                }
                (CorrelationType::ValuePercentile, Some((p, _))) => percentile = Some(p),
                (_, Some((_, pos))) => {
                    return Err(problem(
                        pos,
                        "'percentile' is only meaningful for value_percentile",
                    ));
                }
                _ => {}
            }
            if kind.is_temporal() {
                if rules.len() > MAX_TEMPORAL_RULES {
                    return Err(problem(
                        corr.pos,
                        format!(
                            "a temporal correlation can reference at most {MAX_TEMPORAL_RULES} rules"
                        ),
                    ));
                }
                let max = rules.len() as f64;
                let reachable =
                    (0..=rules.len()).any(|c| parts.thresholds.iter().all(|t| t.holds(c as f64)));
                if !reachable {
                    return Err(problem(
                        n.pos,
                        format!(
                            "the condition can never hold: a {} correlation over {} rules counts 0 to {max} rules",
                            kind.as_str(),
                            rules.len()
                        ),
                    ));
                }
            }
            field = parts.field;
            CorrelationCondition::Range(parts.thresholds)
        }
        Some(n) if n.as_str().is_some() => {
            if !kind.is_temporal() {
                return Err(problem(
                    n.pos,
                    format!(
                        "a boolean condition is only allowed for temporal and temporal_ordered, not {}",
                        kind.as_str()
                    ),
                ));
            }
            parse_extended(
                n.as_str().unwrap_or_default(),
                n.pos,
                &mut rules,
                &mut rule_positions,
            )?
        }
        Some(n) => {
            return Err(problem(
                n.pos,
                format!(
                    "'condition' must be a mapping such as 'gte: 10' (or, for temporal types, a \
                     boolean expression over the rules), not a {}",
                    n.type_name()
                ),
            ));
        }
        None => {
            if !kind.is_temporal() {
                return Err(problem(
                    corr.pos,
                    format!("{} needs a 'condition' (e.g. 'gte: 10')", kind.as_str()),
                ));
            }
            if !rules_given {
                return Err(problem(corr.pos, "correlation without 'rules'"));
            }
            if rules.len() > MAX_TEMPORAL_RULES {
                return Err(problem(
                    corr.pos,
                    format!(
                        "a temporal correlation can reference at most {MAX_TEMPORAL_RULES} rules"
                    ),
                ));
            }
            CorrelationCondition::Range(vec![Threshold {
                op: ThresholdOp::Gte,
                value: rules.len() as f64,
            }])
        }
    };
    if rules.len() > u16::MAX as usize {
        return Err(problem(corr.pos, "too many referenced rules"));
    }

    Ok(CorrelationRule {
        meta,
        kind,
        rules,
        group_by,
        timespan,
        timespan_ms,
        condition,
        field,
        percentile,
        aliases,
        generate,
        rule_positions,
    })
}

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
    /// Maximum live groups per correlation. A new group beyond it evicts the
    /// group that was active least recently (counted in
    /// [`CorrelationCounters::groups_evicted`]).
    pub max_groups: usize,
    /// Maximum retained entries (rule matches) per group; the oldest is
    /// dropped beyond it (counted in [`CorrelationCounters::entries_evicted`]).
    pub max_entries_per_group: usize,
    /// How far behind the newest event time an input may be and still be
    /// used. `None` = each correlation's own timespan. Older inputs are
    /// dropped and counted ([`CorrelationCounters::late_dropped`]).
    pub max_lateness_ms: Option<i64>,
    /// At most this many contributing event numbers are listed per alert
    /// ([`Alert::events_total`] gives the full count).
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

const NONE: i64 = i64::MIN;

/// Field names resolved for one referenced rule (aliases applied).
#[derive(Debug, Clone)]
struct RefSpec {
    target: Referenced,
    group_fields: Vec<String>,
    value_fields: Vec<String>,
}

/// The immutable part of a correlation at run time.
#[derive(Debug, Clone)]
struct Spec {
    index: usize,
    kind: CorrelationType,
    span: i64,
    lateness: i64,
    refs: Vec<RefSpec>,
    condition: CorrelationCondition,
    percentile: f64,
    group_by: Vec<String>,
    /// Fields snapshotted from each input for outer correlations.
    carry: Vec<String>,
    /// For `temporal_ordered` extended conditions: each term's rules in order.
    term_refs: Vec<Vec<u16>>,
    reports: bool,
}

#[derive(Debug, Clone)]
enum EntryVal {
    None,
    Key(Arc<str>),
    Num(f64),
}

#[derive(Debug, Clone)]
enum Evidence {
    One(u64),
    Many(Arc<[u64]>),
}

/// One retained input of a group.
#[derive(Debug, Clone)]
struct Entry {
    ts: i64,
    r: u16,
    val: EntryVal,
    evidence: Evidence,
    carried: Option<Box<[Option<Box<str>>]>>,
}

/// Incremental aggregate over the entries of the current window.
#[derive(Debug, Clone)]
enum Agg {
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

fn integral(v: f64) -> bool {
    v.fract() == 0.0 && v.abs() < 9.0e15
}

fn percentile_of(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = p / 100.0 * (sorted.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

impl Agg {
    fn new(spec: &Spec) -> Agg {
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

    fn add(&mut self, e: &Entry, spec: &Spec) {
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

    fn remove(&mut self, e: &Entry) {
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
    fn present(last_seen: &[i64], from: i64) -> u64 {
        last_seen
            .iter()
            .enumerate()
            .filter(|&(_, &t)| t != NONE && t >= from)
            .fold(0u64, |acc, (i, _)| acc | (1u64 << i))
    }

    /// The aggregated value and whether the condition holds for the window
    /// ending at `t`.
    fn check(&self, spec: &Spec, t: i64) -> Option<f64> {
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
struct Group {
    key: Arc<[String]>,
    /// Retained entries, sorted by event time (ties: arrival order).
    entries: VecDeque<Entry>,
    /// First entry included in `agg` (the current window's start).
    win_start: usize,
    agg: Agg,
    /// Window ends of alerts fired for this group (for deduplication).
    fired: VecDeque<i64>,
    /// Event time of the newest entry (key of the expiry index).
    newest: i64,
}

/// All groups of one correlation, with a time-ordered expiry index.
#[derive(Debug, Default)]
struct Groups {
    slots: Vec<Option<Group>>,
    free: Vec<u32>,
    index: HashMap<Arc<[String]>, u32>,
    /// (newest entry time, slot) of every live group: the first element is
    /// the next to expire and the least recently active.
    by_newest: BTreeSet<(i64, u32)>,
}

impl Groups {
    fn remove(&mut self, slot: u32) {
        if let Some(g) = self.slots[slot as usize].take() {
            self.index.remove(&g.key);
            self.by_newest.remove(&(g.newest, slot));
            self.free.push(slot);
        }
    }

    fn slot_for(
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

    fn expire(&mut self, horizon: i64) {
        while let Some(&(newest, slot)) = self.by_newest.first() {
            if newest >= horizon {
                break;
            }
            self.remove(slot);
        }
    }

    fn entries(&self) -> usize {
        self.slots.iter().flatten().map(|g| g.entries.len()).sum()
    }
}

/// One correlation at run time.
#[derive(Debug)]
struct Runtime {
    spec: Spec,
    groups: Groups,
    counters: CorrelationCounters,
}

/// Where an input's fields come from.
#[derive(Clone, Copy)]
enum Source<'a> {
    Event(&'a dyn Event),
    Alert(&'a Alert),
}

enum NumErr {
    Missing,
    NotNumber,
}

fn value_text(v: &Value<'_>) -> Option<String> {
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

fn parse_number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

impl Source<'_> {
    fn text(&self, name: &str) -> Option<String> {
        match self {
            Source::Event(e) => e.field(name).as_ref().and_then(value_text),
            Source::Alert(a) => a
                .fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone()),
        }
    }

    fn number(&self, name: &str) -> Result<f64, NumErr> {
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
struct Ctx<'a> {
    now: i64,
    opts: &'a EngineOptions,
}

impl Runtime {
    fn horizon(&self, now: i64) -> i64 {
        now.saturating_sub(self.spec.lateness)
            .saturating_sub(self.spec.span)
    }

    /// Feeds one input (an event matching the rules `refs`, or one alert of
    /// an inner correlation referenced as `refs[0]`).
    fn feed(
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

    fn insert(
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

fn pop_front(g: &mut Group) {
    if let Some(e) = g.entries.pop_front() {
        if g.win_start > 0 {
            g.win_start -= 1;
        } else {
            g.agg.remove(&e);
        }
    }
}

/// Drops entries older than `t - span` from the aggregate.
fn advance_window(spec: &Spec, g: &mut Group, t: i64) {
    let from = t.saturating_sub(spec.span);
    while g.win_start < g.entries.len() && g.entries[g.win_start].ts < from {
        g.agg.remove(&g.entries[g.win_start]);
        g.win_start += 1;
    }
}

/// Rebuilds the aggregate from the retained entries after an out-of-order
/// insertion at `from`, evaluating every window that now contains it.
fn replay(
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
fn evaluate(
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
    rules: Vec<CorrelationRule>,
    runtimes: Vec<Runtime>,
    /// Correlations, inner before outer.
    order: Vec<usize>,
    /// Detection rule -> (correlation, reference index).
    det_refs: HashMap<RuleId, Vec<(u32, u16)>>,
    suppressed: Vec<RuleId>,
    options: EngineOptions,
    now: i64,
    events: u64,
    scratch: Vec<(u32, u16)>,
}

fn ref_error(c: &CorrelationRule, pos: Pos, reason: String) -> RuleError {
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

    fn sweep(&mut self) {
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

fn visit(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collection::{Collection, LoadOptions};
    use crate::eval::Scratch;
    use serde_json::{Value as Json, json};

    /// Detection rules shared by the tests.
    const BASE: &str = "\
title: fail
id: 00000000-0000-4000-8000-000000000001
name: fail
logsource: {product: test}
detection:
    sel: {Action: fail}
    condition: sel
---
title: ok
id: 00000000-0000-4000-8000-000000000002
name: ok
logsource: {product: test}
detection:
    sel: {Action: ok}
    condition: sel
---
title: web
name: web
logsource: {product: test}
detection:
    sel: {Kind: web}
    condition: sel
---
title: fa_prefix
name: fa_prefix
logsource: {product: test}
detection:
    sel: {Action|startswith: fa}
    condition: sel
";

    struct H {
        set: RuleSet,
        eng: CorrelationEngine,
        scratch: Scratch,
    }

    fn compile(corr: &str) -> (RuleSet, Vec<RuleError>) {
        let mut col = Collection::new(LoadOptions::default());
        col.add_source("base.yml", BASE);
        col.add_source("corr.yml", corr);
        let c = col.compile();
        (c.ruleset, c.errors)
    }

    fn harness_with(corr: &str, opts: EngineOptions) -> H {
        let (set, errors) = compile(corr);
        assert!(errors.is_empty(), "load errors: {errors:?}");
        let eng = match CorrelationEngine::with_options(&set, opts) {
            Ok(e) => e,
            Err(errs) => panic!("engine errors: {errs:?}"),
        };
        let scratch = set.scratch();
        H { set, eng, scratch }
    }

    fn harness(corr: &str) -> H {
        harness_with(corr, EngineOptions::default())
    }

    impl H {
        /// Feeds one event at `ts` seconds.
        fn feed(&mut self, ts: f64, ev: Json) -> Vec<Alert> {
            let mut hits = Vec::new();
            self.set.matches(&ev, None, &mut self.scratch, &mut hits);
            self.eng
                .process(&self.set, &ev, (ts * 1000.0) as i64, &hits)
        }

        /// Feeds events and returns `(title, group, value, last_ms)` of every alert.
        fn run(&mut self, events: &[(f64, Json)]) -> Vec<(String, String, f64, i64)> {
            let mut out = Vec::new();
            for (ts, ev) in events {
                for a in self.feed(*ts, ev.clone()) {
                    out.push((
                        self.eng.rule(a.correlation).meta.title.clone(),
                        a.group.join("|"),
                        a.value,
                        a.last_ms,
                    ));
                }
            }
            out
        }

        fn counters(&self, i: usize) -> CorrelationCounters {
            self.eng.stats().correlations[i].clone()
        }
    }

    fn fail(user: &str) -> Json {
        json!({"Action": "fail", "User": user})
    }

    fn ok(user: &str) -> Json {
        json!({"Action": "ok", "User": user})
    }

    fn web(user: &str) -> Json {
        json!({"Kind": "web", "User": user})
    }

    fn corr(kind: &str, rules: &str, rest: &str) -> String {
        format!(
            "title: c\nname: c\ncorrelation:\n    type: {kind}\n    rules: [{rules}]\n    group-by: [User]\n{rest}"
        )
    }

    /// Load errors of a correlation document (rules unresolved: load only).
    fn load_error(doc: &str) -> RuleError {
        let mut col = Collection::new(LoadOptions::default());
        col.add_source("bad.yml", doc);
        let errs = col.errors().to_vec();
        assert_eq!(
            errs.len(),
            1,
            "expected one error for:\n{doc}\ngot {errs:?}"
        );
        errs[0].clone()
    }

    fn engine_errors(corr: &str) -> Vec<RuleError> {
        let (set, errors) = compile(corr);
        assert!(errors.is_empty(), "load errors: {errors:?}");
        CorrelationEngine::new(&set).expect_err("engine should refuse")
    }

    // ---------------------------------------------------------------- parsing

    #[test]
    fn timespans() {
        assert_eq!(parse_timespan("30s"), Ok(30_000));
        assert_eq!(parse_timespan("5m"), Ok(300_000));
        assert_eq!(parse_timespan("2h"), Ok(7_200_000));
        assert_eq!(parse_timespan("1d"), Ok(86_400_000));
        assert_eq!(parse_timespan("1w"), Ok(604_800_000));
        assert_eq!(parse_timespan("1M"), Ok(2_629_746_000));
        assert_eq!(parse_timespan("1y"), Ok(31_556_952_000));
        for bad in [
            "",
            "m",
            "5",
            "0m",
            "5x",
            "-5m",
            "5 m",
            "1.5h",
            "5S",
            "99999999999999999999s",
        ] {
            assert!(parse_timespan(bad).is_err(), "{bad:?} accepted");
        }
        assert!(
            parse_timespan("9999999999999999s").is_err(),
            "overflow accepted"
        );
    }

    #[test]
    fn parses_every_type() {
        let cases = [
            ("event_count", "    timespan: 1h\n    condition: {gte: 3}\n"),
            (
                "value_count",
                "    timespan: 1h\n    condition: {field: [A, B], gt: 2}\n",
            ),
            ("temporal", "    timespan: 1h\n"),
            (
                "temporal_ordered",
                "    timespan: 1h\n    condition: 'fail and not ok'\n",
            ),
            (
                "value_sum",
                "    timespan: 1h\n    condition: {field: Bytes, gt: 100, lte: 200}\n",
            ),
            (
                "value_avg",
                "    timespan: 1h\n    condition: {field: Bytes, gt: 1.5}\n",
            ),
            (
                "value_percentile",
                "    timespan: 1h\n    condition: {field: Bytes, percentile: 95, gte: '10'}\n",
            ),
            (
                "value_median",
                "    timespan: 1h\n    condition: {field: Bytes, neq: 0}\n",
            ),
        ];
        for (kind, rest) in cases {
            let (set, errors) = compile(&corr(kind, "fail, ok", rest));
            assert!(errors.is_empty(), "{kind}: {errors:?}");
            let c = &set.correlations()[0];
            assert_eq!(c.kind.as_str(), kind);
            assert_eq!(c.timespan_ms, 3_600_000);
            assert_eq!(c.group_by, vec!["User"]);
            assert_eq!(c.rules, vec!["fail", "ok"]);
            match kind {
                "value_count" => assert_eq!(c.field, vec!["A", "B"]),
                "value_percentile" => {
                    assert_eq!(c.percentile, Some(95.0));
                    assert_eq!(
                        c.condition,
                        CorrelationCondition::Range(vec![Threshold {
                            op: ThresholdOp::Gte,
                            value: 10.0
                        }])
                    );
                }
                "value_sum" => assert_eq!(
                    c.condition,
                    CorrelationCondition::Range(vec![
                        Threshold {
                            op: ThresholdOp::Gt,
                            value: 100.0
                        },
                        Threshold {
                            op: ThresholdOp::Lte,
                            value: 200.0
                        },
                    ])
                ),
                "temporal" => assert_eq!(
                    c.condition,
                    CorrelationCondition::Range(vec![Threshold {
                        op: ThresholdOp::Gte,
                        value: 2.0
                    }])
                ),
                "temporal_ordered" => assert_eq!(
                    c.condition,
                    CorrelationCondition::Expression {
                        text: "fail and not ok".into(),
                        terms: vec![Term {
                            present: 1,
                            absent: 2
                        }]
                    }
                ),
                _ => {}
            }
            assert!(!c.generate);
        }
    }

    #[test]
    fn extended_condition_details() {
        // Rules may be omitted (taken from the condition); uppercase operators
        // as in the SEP's example are accepted.
        let doc = "title: c\ncorrelation:\n    type: temporal\n    timespan: 5m\n    condition: fail AND (ok OR web) AND NOT fa_prefix\n";
        let (set, errors) = compile(doc);
        assert!(errors.is_empty(), "{errors:?}");
        let c = &set.correlations()[0];
        assert_eq!(c.rules, vec!["fail", "ok", "web", "fa_prefix"]);
        let CorrelationCondition::Expression { terms, .. } = &c.condition else {
            panic!("not an expression")
        };
        assert_eq!(
            terms,
            &vec![
                Term {
                    present: 0b0011,
                    absent: 0b1000
                },
                Term {
                    present: 0b0101,
                    absent: 0b1000
                }
            ]
        );
        // generate at top level (schema) or inside correlation (pySigma).
        let (set, _) = compile(&format!(
            "{}generate: true\n",
            corr(
                "event_count",
                "fail",
                "    timespan: 1m\n    condition: {gte: 1}\n"
            )
        ));
        assert!(set.correlations()[0].generate);
    }

    #[test]
    fn parse_errors_name_line_and_reason() {
        let head = "title: bad\ncorrelation:\n";
        // (body, expected line, expected words)
        let cases: &[(&str, usize, &str)] = &[
            (
                "    type: event_cnt\n    rules: [a]\n    timespan: 1m\n    condition: {gte: 1}\n",
                3,
                "unknown correlation type 'event_cnt'",
            ),
            (
                "    rules: [a]\n    timespan: 1m\n    condition: {gte: 1}\n",
                3,
                "without 'type'",
            ),
            (
                "    type: event_count\n    rules: [a]\n    timespan: 5x\n    condition: {gte: 1}\n",
                5,
                "invalid timespan '5x'",
            ),
            (
                "    type: event_count\n    rules: [a]\n    timespan: 0m\n    condition: {gte: 1}\n",
                5,
                "greater than zero",
            ),
            (
                "    type: event_count\n    rules: [a]\n    condition: {gte: 1}\n",
                3,
                "without 'timespan'",
            ),
            (
                "    type: event_count\n    timespan: 1m\n    condition: {gte: 1}\n",
                3,
                "without 'rules'",
            ),
            (
                "    type: event_count\n    rules: [a]\n    timespan: 1m\n",
                3,
                "needs a 'condition'",
            ),
            (
                "    type: event_count\n    rules: [a]\n    timespan: 1m\n    condition:\n        gte: many\n",
                7,
                "must be a number, not 'many'",
            ),
            (
                "    type: event_count\n    rules: [a]\n    timespan: 1m\n    condition:\n        gtx: 3\n",
                7,
                "unknown condition operator 'gtx'",
            ),
            (
                "    type: event_count\n    rules: [a]\n    timespan: 1m\n    condition:\n        gt: 1\n        gte: 2\n        lt: 9\n",
                7,
                "one threshold or two",
            ),
            (
                "    type: event_count\n    rules: [a]\n    timespan: 1m\n    condition:\n        gt: 10\n        lt: 5\n",
                7,
                "can never hold",
            ),
            (
                "    type: event_count\n    rules: [a]\n    timespan: 1m\n    condition:\n        field: User\n",
                7,
                "needs a threshold",
            ),
            (
                "    type: value_count\n    rules: [a]\n    timespan: 1m\n    condition:\n        gte: 3\n",
                7,
                "value_count needs 'field'",
            ),
            (
                "    type: value_sum\n    rules: [a]\n    timespan: 1m\n    condition:\n        gte: 3\n",
                7,
                "value_sum needs 'field'",
            ),
            (
                "    type: value_sum\n    rules: [a]\n    timespan: 1m\n    condition:\n        field: [A, B]\n        gte: 3\n",
                7,
                "only value_count accepts a list",
            ),
            (
                "    type: event_count\n    rules: [a]\n    timespan: 1m\n    condition:\n        field: User\n        gte: 3\n",
                7,
                "no meaning for event_count",
            ),
            (
                "    type: value_percentile\n    rules: [a]\n    timespan: 1m\n    condition:\n        field: X\n        gte: 3\n",
                7,
                "needs 'percentile",
            ),
            (
                "    type: value_percentile\n    rules: [a]\n    timespan: 1m\n    condition:\n        field: X\n        percentile: 150\n        gte: 3\n",
                8,
                "between 0 and 100",
            ),
            (
                "    type: value_sum\n    rules: [a]\n    timespan: 1m\n    condition:\n        field: X\n        percentile: 50\n        gte: 3\n",
                8,
                "only meaningful for value_percentile",
            ),
            (
                "    type: event_count\n    rules: [a]\n    timespan: 1m\n    condition: a and b\n",
                6,
                "only allowed for temporal",
            ),
            (
                "    type: temporal\n    rules: [a, b]\n    timespan: 1m\n    condition: a and c\n",
                6,
                "names 'c', which is not in 'rules'",
            ),
            (
                "    type: temporal\n    rules: [a, b]\n    timespan: 1m\n    condition: a\n",
                6,
                "'b' is listed in 'rules' but not used",
            ),
            (
                "    type: temporal\n    rules: [a]\n    timespan: 1m\n    condition: not a\n",
                6,
                "without any rule matching",
            ),
            (
                "    type: temporal\n    rules: [a]\n    timespan: 1m\n    condition: a and not a\n",
                6,
                "can never hold",
            ),
            (
                "    type: temporal\n    rules: [a, b]\n    timespan: 1m\n    condition: 1 of a*\n",
                6,
                "not allowed in correlation",
            ),
            (
                "    type: temporal\n    rules: [a, b]\n    timespan: 1m\n    condition:\n        gte: 3\n",
                7,
                "can never hold",
            ),
            (
                "    type: temporal\n    rules: [a, a]\n    timespan: 1m\n",
                4,
                "'a' is listed twice",
            ),
            (
                "    type: temporal\n    rules: [a, b]\n    group_by: [User]\n    timespan: 1m\n",
                5,
                "did you mean 'group-by'",
            ),
            (
                "    type: temporal\n    rules: [a, b]\n    timespan: 1m\n    generate: yes\n",
                6,
                "'generate' must be true or false",
            ),
            (
                "    type: temporal\n    rules: [a, b]\n    timespan: 1m\n    aliases:\n        ip: 10.0.0.1\n",
                7,
                "alias 'ip' must map rule names",
            ),
            (
                "    type: temporal\n    rules: [a, b]\n    timespan: 1m\n    condition: [a, b]\n",
                6,
                "'condition' must be a mapping",
            ),
        ];
        for (body, line, words) in cases {
            let doc = format!("{head}{body}");
            let e = load_error(&doc);
            assert!(
                e.reason.contains(words),
                "expected '{words}' in '{}' for:\n{doc}",
                e.reason
            );
            assert_eq!(e.line, Some(*line), "line of '{}' for:\n{doc}", e.reason);
            assert_eq!(e.origin, "bad.yml");
            assert_eq!(e.title.as_deref(), Some("bad"));
        }
    }

    // ------------------------------------------------------------ resolution

    #[test]
    fn unresolved_reference_names_file_line_and_reference() {
        let errs = engine_errors(&corr(
            "event_count",
            "fail, nosuchrule",
            "    timespan: 1m\n    condition: {gte: 1}\n",
        ));
        assert_eq!(errs.len(), 1, "{errs:?}");
        let e = &errs[0];
        assert_eq!(e.origin, "corr.yml");
        assert_eq!(e.line, Some(5));
        assert!(e.reason.contains("'nosuchrule'"), "{e}");
        assert!(e.to_string().starts_with("corr.yml:5: rule 'c':"), "{e}");
    }

    #[test]
    fn cycles_duplicates_ambiguity_and_bad_aliases_are_refused() {
        let cycle = "title: A\nname: a\ncorrelation:\n    type: event_count\n    rules:\n        - fail\n        - b\n    timespan: 1m\n    condition: {gte: 1}\n---\ntitle: B\nname: b\ncorrelation:\n    type: event_count\n    rules: [a]\n    timespan: 1m\n    condition: {gte: 1}\n";
        let errs = engine_errors(cycle);
        assert!(
            errs.iter()
                .any(|e| e.reason.contains("forms a cycle: A -> B -> A")
                    || e.reason.contains("forms a cycle: B -> A -> B")),
            "{errs:?}"
        );
        let selfref = "title: S\nname: s\ncorrelation:\n    type: event_count\n    rules: [s]\n    timespan: 1m\n    condition: {gte: 1}\n";
        let errs = engine_errors(selfref);
        assert!(errs[0].reason.contains("cycle: S -> S"), "{errs:?}");
        assert_eq!(errs[0].line, Some(5));

        // The same rule by name and by id.
        let errs = engine_errors(&corr(
            "temporal",
            "fail, 00000000-0000-4000-8000-000000000001",
            "    timespan: 1m\n",
        ));
        assert!(errs[0].reason.contains("a second time"), "{errs:?}");

        // A name shared by a detection rule and a correlation.
        let amb = format!(
            "{}---\ntitle: other\nname: fail\ncorrelation:\n    type: event_count\n    rules: [ok]\n    timespan: 1m\n    condition: {{gte: 1}}\n",
            corr(
                "event_count",
                "fail",
                "    timespan: 1m\n    condition: {gte: 1}\n"
            )
        );
        let errs = engine_errors(&amb);
        assert!(errs[0].reason.contains("ambiguous"), "{errs:?}");

        let alias = corr(
            "temporal",
            "fail, ok",
            "    timespan: 1m\n    aliases:\n        User:\n            web: X\n",
        );
        let errs = engine_errors(&alias);
        assert!(
            errs[0].reason.contains("alias 'User' maps rule 'web'"),
            "{errs:?}"
        );
        assert_eq!(errs[0].line, Some(10));
    }

    // ------------------------------------------------------------- semantics

    #[test]
    fn event_count_with_range_condition() {
        let mut h = harness(&corr(
            "event_count",
            "fail",
            "    timespan: 1m\n    condition:\n        gt: 1\n        lte: 2\n",
        ));
        let fired = h.run(&[
            (0.0, fail("al")),
            (10.0, fail("al")),  // 2 -> fires
            (20.0, fail("al")),  // 3 -> out of range
            (30.0, ok("al")),    // not referenced
            (200.0, fail("al")), // 1
            (210.0, fail("al")), // 2 -> fires again (new episode)
        ]);
        assert_eq!(
            fired,
            vec![
                ("c".into(), "al".into(), 2.0, 10_000),
                ("c".into(), "al".into(), 2.0, 210_000)
            ]
        );
        // neq / lt / eq fire on the first event of a group.
        for cond in ["lt: 2", "eq: 1", "neq: 5"] {
            let mut h = harness(&corr(
                "event_count",
                "fail",
                &format!("    timespan: 1m\n    condition: {{{cond}}}\n"),
            ));
            assert_eq!(h.run(&[(0.0, fail("x"))]).len(), 1, "{cond}");
        }
    }

    #[test]
    fn window_edges_are_inclusive() {
        let mut h = harness(&corr(
            "event_count",
            "fail",
            "    timespan: 1m\n    condition: {gte: 2}\n",
        ));
        let fired = h.run(&[
            (0.0, fail("a")),
            (60.0, fail("a")), // exactly one timespan apart: same window
            (0.0, fail("b")),
            (60.001, fail("b")), // one millisecond too far
        ]);
        assert_eq!(fired, vec![("c".into(), "a".into(), 2.0, 60_000)]);
    }

    #[test]
    fn sliding_window_and_one_alert_per_episode() {
        let mut h = harness(&corr(
            "event_count",
            "fail",
            "    timespan: 1m\n    condition: {gte: 3}\n",
        ));
        let events: Vec<(f64, Json)> = (0..=18).map(|i| (i as f64 * 10.0, fail("a"))).collect();
        let fired: Vec<i64> = h.run(&events).into_iter().map(|f| f.3).collect();
        // Fires at 20 s; silent while windows overlap [-40 s, 20 s]; next at
        // 90 s (window [30 s, 90 s] shares nothing with the first), then 160 s.
        assert_eq!(fired, vec![20_000, 90_000, 160_000]);
        let c = h.counters(0);
        assert_eq!(c.alerts, 3);
        assert_eq!(c.deduplicated, 19 - 2 - 3);
    }

    #[test]
    fn value_count_distinct_values_and_combinations() {
        let mut h = harness(&corr(
            "value_count",
            "fail",
            "    timespan: 5m\n    condition:\n        field: Host\n        gte: 3\n",
        ));
        let ev = |u: &str, host: &str| json!({"Action": "fail", "User": u, "Host": host});
        let fired = h.run(&[
            (0.0, ev("a", "h1")),
            (1.0, ev("a", "h1")),
            (2.0, ev("a", "h2")),
            (3.0, json!({"Action": "fail", "User": "a"})), // no Host: skipped, counted
            (4.0, ev("a", "h3")),
        ]);
        assert_eq!(fired, vec![("c".into(), "a".into(), 3.0, 4_000)]);
        assert_eq!(h.counters(0).missing_value_field, 1);

        let mut h = harness(&corr(
            "value_count",
            "fail",
            "    timespan: 5m\n    condition:\n        field: [Host, Port]\n        gte: 3\n",
        ));
        let ev = |host: &str, port: i64| json!({"Action": "fail", "User": "a", "Host": host, "Port": port});
        let fired = h.run(&[
            (0.0, ev("h1", 1)),
            (1.0, ev("h1", 2)),
            (2.0, ev("h1", 1)),
            (3.0, ev("h2", 1)),
        ]);
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].2, 3.0);
        assert_eq!(fired[0].3, 3_000);
    }

    #[test]
    fn temporal_any_order_and_distinct_rule_count() {
        let mut h = harness(&corr("temporal", "fail, ok, web", "    timespan: 1m\n"));
        let fired = h.run(&[
            (0.0, web("a")),
            (10.0, ok("a")),
            (20.0, fail("a")), // all three, any order
            (0.0, web("b")),
            (10.0, ok("b")),
            (70.0, fail("b")), // web left the window
        ]);
        assert_eq!(fired, vec![("c".into(), "a".into(), 3.0, 20_000)]);

        let mut h = harness(&corr(
            "temporal",
            "fail, ok, web",
            "    timespan: 1m\n    condition: {gte: 2}\n",
        ));
        let fired = h.run(&[(0.0, fail("a")), (1.0, fail("a")), (2.0, web("a"))]);
        assert_eq!(fired, vec![("c".into(), "a".into(), 2.0, 2_000)]);
    }

    #[test]
    fn temporal_ordered_order_and_ties() {
        let c = corr("temporal_ordered", "fail, ok", "    timespan: 1m\n");
        let mut h = harness(&c);
        let fired = h.run(&[
            (0.0, fail("in_order")),
            (5.0, ok("in_order")),
            (0.0, ok("reversed")),
            (5.0, fail("reversed")),
            (7.0, fail("tie")), // equal times: arrival order decides
            (7.0, ok("tie")),
            (9.0, ok("tie_rev")),
            (9.0, fail("tie_rev")),
            (0.0, fail("too_far")),
            (61.0, ok("too_far")),
        ]);
        let groups: Vec<&str> = fired.iter().map(|f| f.1.as_str()).collect();
        assert_eq!(groups, vec!["in_order", "tie"]);

        // A failure between two successes still counts: ok@0, fail@1, ok@2.
        let mut h = harness(&c);
        assert_eq!(
            h.run(&[(0.0, ok("a")), (1.0, fail("a")), (2.0, ok("a"))])
                .len(),
            1
        );

        // Numeric condition: the longest in-order chain of distinct rules.
        let mut h = harness(&corr(
            "temporal_ordered",
            "fail, ok, web",
            "    timespan: 1m\n    condition: {gte: 2}\n",
        ));
        let fired = h.run(&[(0.0, web("a")), (1.0, ok("a")), (2.0, web("a"))]);
        assert_eq!(fired, vec![("c".into(), "a".into(), 2.0, 2_000)]);
    }

    #[test]
    fn extended_temporal_conditions() {
        let mut h = harness(&corr(
            "temporal",
            "fail, ok, web",
            "    timespan: 1m\n    condition: fail and ok and not web\n",
        ));
        let fired = h.run(&[
            (0.0, fail("clean")),
            (1.0, ok("clean")),
            (0.0, web("dirty")),
            (1.0, fail("dirty")),
            (2.0, ok("dirty")),
            (0.0, web("late")),
            (70.0, fail("late")), // the web match has left the window
            (71.0, ok("late")),
        ]);
        let groups: Vec<&str> = fired.iter().map(|f| f.1.as_str()).collect();
        assert_eq!(groups, vec!["clean", "late"]);

        let mut h = harness(&corr(
            "temporal_ordered",
            "fail, ok, web",
            "    timespan: 1m\n    condition: (fail and ok) or web\n",
        ));
        let fired = h.run(&[
            (0.0, ok("a")),
            (1.0, fail("a")), // wrong order: no
            (0.0, fail("b")),
            (1.0, ok("b")),  // fail then ok: yes
            (0.0, web("c")), // web alone: yes
        ]);
        let groups: Vec<&str> = fired.iter().map(|f| f.1.as_str()).collect();
        assert_eq!(groups, vec!["b", "c"]);
    }

    #[test]
    fn numeric_aggregations_and_non_numeric_values() {
        let bytes = |u: &str, b: Json| json!({"Kind": "web", "User": u, "Bytes": b});
        let mut h = harness(&corr(
            "value_sum",
            "web",
            "    timespan: 1h\n    condition: {field: Bytes, gt: 1000}\n",
        ));
        let fired = h.run(&[
            (0.0, bytes("a", json!(600))),
            (1.0, bytes("a", json!("lots"))), // not a number: ignored, counted
            (2.0, bytes("a", json!(null))),   // null: missing
            (3.0, bytes("a", json!("400.5"))), // numeric text counts
        ]);
        assert_eq!(fired, vec![("c".into(), "a".into(), 1000.5, 3_000)]);
        let c = h.counters(0);
        assert_eq!((c.non_numeric, c.missing_value_field), (1, 1));

        let mut h = harness(&corr(
            "value_avg",
            "web",
            "    timespan: 1h\n    condition: {field: Bytes, gt: 500}\n",
        ));
        let fired = h.run(&[
            (0.0, bytes("a", json!(400))),
            (1.0, bytes("a", json!(700))),
            (2.0, bytes("b", json!(100))),
        ]);
        assert_eq!(fired, vec![("c".into(), "a".into(), 550.0, 1_000)]);

        let mut h = harness(&corr(
            "value_percentile",
            "web",
            "    timespan: 1h\n    condition: {field: Bytes, percentile: 90, gte: 9}\n",
        ));
        let events: Vec<(f64, Json)> = (1..=10).map(|i| (i as f64, bytes("a", json!(i)))).collect();
        let fired = h.run(&events);
        // p90 of 1..=9 is 8.2; of 1..=10 it is 9.1 (linear interpolation).
        assert_eq!(fired.len(), 1);
        assert!((fired[0].2 - 9.1).abs() < 1e-9, "{fired:?}");
        assert_eq!(fired[0].3, 10_000);

        let mut h = harness(&corr(
            "value_median",
            "web",
            "    timespan: 1h\n    condition: {field: Bytes, gte: 4}\n",
        ));
        let fired = h.run(&[
            (0.0, bytes("a", json!(1))),
            (1.0, bytes("a", json!(9))),
            (2.0, bytes("a", json!(3))),
        ]);
        // medians: 1, 5 -> fires at the second event.
        assert_eq!(fired, vec![("c".into(), "a".into(), 5.0, 1_000)]);
    }

    #[test]
    fn window_expiry_updates_aggregates() {
        // Sum must drop values leaving the window, not only add.
        let bytes = |b: i64| json!({"Kind": "web", "User": "a", "Bytes": b});
        let mut h = harness(&corr(
            "value_sum",
            "web",
            "    timespan: 10s\n    condition: {field: Bytes, gte: 100}\n",
        ));
        let fired = h.run(&[(0.0, bytes(60)), (20.0, bytes(60)), (25.0, bytes(40))]);
        assert_eq!(fired, vec![("c".into(), "a".into(), 100.0, 25_000)]);
    }

    #[test]
    fn aliases_resolve_group_and_value_fields_per_rule() {
        let doc = "title: c\ncorrelation:\n    type: temporal\n    rules: [fail, ok]\n    group-by: [account]\n    timespan: 1m\n    aliases:\n        account:\n            fail: TargetUser\n            ok: SubjectUser\n";
        let mut h = harness(doc);
        let fired = h.run(&[
            (
                0.0,
                json!({"Action": "fail", "TargetUser": "x", "SubjectUser": "other"}),
            ),
            (
                1.0,
                json!({"Action": "ok", "SubjectUser": "x", "TargetUser": "y"}),
            ),
        ]);
        assert_eq!(fired, vec![("c".into(), "x".into(), 2.0, 1_000)]);
        // value_count over an aliased field (tiaki extension).
        let doc = "title: c\ncorrelation:\n    type: value_count\n    rules: [fail, ok]\n    timespan: 1m\n    condition:\n        field: src\n        gte: 2\n    aliases:\n        src:\n            fail: A\n            ok: B\n";
        let mut h = harness(doc);
        let fired = h.run(&[
            (0.0, json!({"Action": "fail", "A": "1"})),
            (1.0, json!({"Action": "ok", "B": "2"})),
        ]);
        assert_eq!(fired, vec![("c".into(), "".into(), 2.0, 1_000)]);
    }

    const CHAIN: &str = "\
title: many_fails
name: many_fails
correlation:
    type: event_count
    rules: [fail]
    group-by: [User]
    timespan: 10m
    condition: {gte: 3}
---
title: brute_force
correlation:
    type: temporal_ordered
    rules: [many_fails, ok]
    group-by: [User]
    timespan: 10m
";

    #[test]
    fn chain_event_count_then_temporal_ordered() {
        let events = [
            (0.0, fail("eve")),
            (10.0, fail("eve")),
            (20.0, fail("eve")),
            (60.0, ok("eve")),
            (0.0, fail("frank")),
            (10.0, fail("frank")),
            (60.0, ok("frank")),
        ];
        let mut h = harness(CHAIN);
        assert!(!h.eng.reports(0));
        assert!(h.eng.reports(1));
        assert_eq!(
            h.eng.references(1),
            vec![Referenced::Correlation(0), Referenced::Detection(1)]
        );
        let mut all = Vec::new();
        for (ts, ev) in &events {
            all.extend(h.feed(*ts, ev.clone()));
        }
        assert_eq!(all.len(), 1, "{all:?}");
        let a = &all[0];
        assert_eq!(h.eng.rule(a.correlation).meta.title, "brute_force");
        assert_eq!(a.group, vec!["eve"]);
        assert_eq!((a.first_ms, a.last_ms), (20_000, 60_000));
        assert_eq!(
            a.rules,
            vec![Referenced::Correlation(0), Referenced::Detection(1)]
        );
        // Evidence reaches through the inner correlation to the base events.
        assert_eq!(a.events, vec![0, 1, 2, 3]);
        assert!(!a.intermediate);
        // Both referenced detection rules are not stand-alone outputs.
        assert_eq!(h.eng.suppressed_detections(), vec![0, 1]);
        assert_eq!(h.eng.stats().correlations[0].alerts, 1);

        // With report_intermediate the inner alert is returned too, flagged.
        let opts = EngineOptions {
            report_intermediate: true,
            ..Default::default()
        };
        let mut h = harness_with(CHAIN, opts);
        let mut titles = Vec::new();
        for (ts, ev) in &events {
            for a in h.feed(*ts, ev.clone()) {
                titles.push((h.eng.rule(a.correlation).meta.title.clone(), a.intermediate));
            }
        }
        assert_eq!(
            titles,
            vec![("many_fails".into(), true), ("brute_force".into(), false)]
        );
    }

    #[test]
    fn generate_true_keeps_referenced_rules_as_outputs() {
        let doc = CHAIN.replace(
            "title: brute_force\n",
            "title: brute_force\ngenerate: true\n",
        );
        let mut h = harness(&doc);
        assert!(h.eng.reports(0));
        // 'fail' is still referenced by many_fails (generate: false).
        assert_eq!(h.eng.suppressed_detections(), vec![0]);
        let fired = h.run(&[
            (0.0, fail("e")),
            (1.0, fail("e")),
            (2.0, fail("e")),
            (3.0, ok("e")),
        ]);
        let titles: Vec<&str> = fired.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(titles, vec!["many_fails", "brute_force"]);
    }

    #[test]
    fn chain_carries_fields_the_inner_rule_does_not_group_by() {
        // Spec example: the inner correlation groups by host, the outer by user.
        let doc = CHAIN.replacen("group-by: [User]", "group-by: [Host]", 1);
        let mut h = harness(&doc);
        let ev = |a: &str, u: &str| json!({"Action": a, "User": u, "Host": "h1"});
        let fired = h.run(&[
            (0.0, ev("fail", "x")),
            (1.0, ev("fail", "y")),
            (2.0, ev("fail", "z")),
            (3.0, ev("ok", "z")),
        ]);
        assert_eq!(fired, vec![("brute_force".into(), "z".into(), 2.0, 3_000)]);
    }

    #[test]
    fn missing_group_by_field_is_skipped_and_counted() {
        let mut h = harness(&corr(
            "event_count",
            "fail",
            "    timespan: 1m\n    condition: {gte: 2}\n",
        ));
        let fired = h.run(&[
            (0.0, json!({"Action": "fail"})),
            (1.0, json!({"Action": "fail", "User": null})),
            (2.0, json!({"Action": "fail", "User": ""})),
            (3.0, json!({"Action": "fail", "User": ""})), // empty string is a value
        ]);
        assert_eq!(fired, vec![("c".into(), "".into(), 2.0, 3_000)]);
        assert_eq!(h.counters(0).missing_group_field, 2);
    }

    #[test]
    fn no_group_by_is_one_global_group_and_one_event_counts_once() {
        let doc = "title: c\ncorrelation:\n    type: event_count\n    rules: [fail, fa_prefix]\n    timespan: 1m\n    condition: {gte: 2}\n";
        let mut h = harness(doc);
        // Each event matches both referenced rules but is counted once.
        let fired = h.run(&[(0.0, fail("a")), (1.0, fail("b"))]);
        assert_eq!(fired, vec![("c".into(), "".into(), 2.0, 1_000)]);
    }

    #[test]
    fn state_expires_with_the_window() {
        let mut h = harness(&corr("temporal", "fail, ok", "    timespan: 1m\n"));
        for i in 0..100 {
            h.feed(i as f64, fail(&format!("u{i}")));
        }
        let s = h.eng.stats();
        assert_eq!((s.groups(), s.entries()), (100, 100));
        // Lateness defaults to the timespan: a group is kept until the
        // watermark passes its newest entry by timespan + lateness (2 min),
        // then dropped on the next event, matching or not.
        h.feed(159.0, json!({"Action": "none"}));
        let s = h.eng.stats();
        assert_eq!((s.groups(), s.entries()), (61, 61), "u0..u38 expired");
        h.feed(99.0 + 120.0, json!({}));
        assert_eq!(h.eng.stats().groups(), 1, "u99 is exactly at the horizon");
        h.feed(99.0 + 120.001, json!({}));
        assert_eq!(h.eng.stats().groups(), 0);
        // An explicit advance at the end of a stream releases everything.
        h.feed(500.0, fail("z"));
        assert_eq!(h.eng.stats().entries(), 1);
        h.eng.advance_to(i64::MAX);
        let s = h.eng.stats();
        assert_eq!((s.groups(), s.entries()), (0, 0));
    }

    #[test]
    fn retained_entries_are_pruned_within_a_busy_group() {
        let mut h = harness(&corr(
            "event_count",
            "fail",
            "    timespan: 10s\n    condition: {gte: 1000}\n",
        ));
        for i in 0..1000 {
            h.feed(i as f64, fail("a"));
        }
        // timespan + lateness = 20 s of entries (both ends inclusive).
        assert_eq!(h.eng.stats().entries(), 21);
    }

    #[test]
    fn out_of_order_events() {
        let mut h = harness(&corr(
            "event_count",
            "fail",
            "    timespan: 1m\n    condition: {gte: 3}\n",
        ));
        let fired = h.run(&[
            (0.0, fail("a")),
            (20.0, fail("a")),
            (10.0, fail("a")), // late but within the lateness: completes the window ending at 20 s
        ]);
        assert_eq!(fired, vec![("c".into(), "a".into(), 3.0, 20_000)]);
        assert_eq!(h.counters(0).out_of_order, 1);
        // Older than watermark - lateness: dropped and counted.
        let fired = h.run(&[(200.0, fail("b")), (100.0, fail("b")), (139.999, fail("b"))]);
        assert!(fired.is_empty());
        assert_eq!(h.counters(0).late_dropped, 2);

        // Out-of-order matches are ordered by event time for temporal_ordered.
        let mut h = harness(&corr("temporal_ordered", "fail, ok", "    timespan: 1m\n"));
        let fired = h.run(&[(10.0, ok("a")), (5.0, fail("a"))]);
        assert_eq!(fired, vec![("c".into(), "a".into(), 2.0, 10_000)]);
        // A zero lateness drops anything behind the watermark.
        let opts = EngineOptions {
            max_lateness_ms: Some(0),
            ..Default::default()
        };
        let mut h = harness_with(
            &corr("temporal_ordered", "fail, ok", "    timespan: 1m\n"),
            opts,
        );
        assert!(h.run(&[(10.0, ok("a")), (5.0, fail("a"))]).is_empty());
        assert_eq!(h.counters(0).late_dropped, 1);
    }

    #[test]
    fn caps_evict_and_count() {
        let opts = EngineOptions {
            max_groups: 2,
            max_entries_per_group: 3,
            ..Default::default()
        };
        let mut h = harness_with(
            &corr(
                "event_count",
                "fail",
                "    timespan: 1h\n    condition: {gte: 4}\n",
            ),
            opts,
        );
        let fired = h.run(&[
            (0.0, fail("a")),
            (1.0, fail("b")),
            (2.0, fail("c")), // evicts a (least recently active)
            (3.0, fail("c")),
            (4.0, fail("c")),
            (5.0, fail("c")), // 4th entry evicts the oldest: count stays 3
        ]);
        assert!(fired.is_empty());
        let c = h.counters(0);
        assert_eq!(
            (c.groups_evicted, c.entries_evicted, c.groups, c.entries),
            (1, 1, 2, 4)
        );
        assert_eq!(h.eng.stats().lossy(), 2);
    }

    #[test]
    fn alert_contents() {
        let opts = EngineOptions {
            max_evidence: 2,
            ..Default::default()
        };
        let mut h = harness_with(
            &corr(
                "temporal",
                "fail, ok",
                "    timespan: 1m\n    condition: {gte: 1}\n",
            ),
            opts,
        );
        h.feed(0.0, json!({"Action": "noise", "User": "a"}));
        let a = h.feed(5.0, ok("a"));
        assert_eq!(a.len(), 1);
        let a = &a[0];
        assert_eq!(a.correlation, 0);
        assert_eq!(a.group, vec!["a"]);
        assert_eq!(a.fields, vec![("User".to_string(), "a".to_string())]);
        assert_eq!((a.first_ms, a.last_ms, a.value), (5_000, 5_000, 1.0));
        assert_eq!(a.rules, vec![Referenced::Detection(1)]);
        assert_eq!((a.events.clone(), a.events_total), (vec![1], 1));

        let mut h = harness_with(
            &corr(
                "event_count",
                "fail",
                "    timespan: 1m\n    condition: {gte: 3}\n",
            ),
            EngineOptions {
                max_evidence: 2,
                ..Default::default()
            },
        );
        let fired: Vec<Alert> = (0..3).flat_map(|i| h.feed(i as f64, fail("a"))).collect();
        assert_eq!(fired[0].events, vec![0, 1]);
        assert_eq!(fired[0].events_total, 3);
        assert_eq!(h.eng.stats().watermark_ms, Some(2_000));
        assert_eq!(h.eng.stats().events, 3);
    }
}
