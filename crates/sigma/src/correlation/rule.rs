//! Correlation documents: types, parsing and validation.

use crate::condition::{Condition, parse_condition};
use crate::error::{PResult, Problem};
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

pub(crate) const MAX_TEMPORAL_RULES: usize = 64;
pub(crate) const MAX_TERMS: usize = 256;

pub(crate) const CORRELATION_KEYS: [&str; 7] = [
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

pub(crate) fn problem(pos: Pos, reason: impl Into<String>) -> Problem {
    Problem::new(Some(pos), reason)
}

pub(crate) fn scalar_text(node: &Node, what: &str) -> PResult<String> {
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
pub(crate) fn name_list(node: &Node, what: &str) -> PResult<Vec<(String, Pos)>> {
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

pub(crate) fn number_of(node: &Node, what: &str) -> PResult<f64> {
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
pub(crate) struct RangeParts {
    pub(crate) thresholds: Vec<Threshold>,
    pub(crate) field: Vec<String>,
    pub(crate) field_pos: Option<Pos>,
    pub(crate) percentile: Option<(f64, Pos)>,
}

pub(crate) fn parse_range(node: &Node) -> PResult<RangeParts> {
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
pub(crate) fn range_is_empty(ts: &[Threshold]) -> bool {
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
pub(crate) fn normalize_operators(text: &str) -> String {
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

pub(crate) fn identifiers(c: &Condition, out: &mut Vec<String>) -> Result<(), String> {
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
pub(crate) fn dnf(
    c: &Condition,
    negated: bool,
    index: &dyn Fn(&str) -> usize,
) -> Result<Vec<Term>, String> {
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
pub(crate) fn parse_extended(
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

pub(crate) fn bool_of(node: &Node, what: &str) -> PResult<bool> {
    match &node.kind {
        NodeKind::Scalar(Scalar::Bool(b)) => Ok(*b),
        _ => Err(problem(
            node.pos,
            format!("'{what}' must be true or false, not a {}", node.type_name()),
        )),
    }
}

pub(crate) fn parse_aliases(node: &Node) -> PResult<Vec<Alias>> {
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
