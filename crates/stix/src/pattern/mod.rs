//! The STIX patterning language: parser, inspector and matcher.
//!
//! Indicators carry their detection logic as STIX patterns (`[file:hashes.'SHA-256' =
//! '…']`, `[ipv4-addr:value ISSUBSET '198.51.100.0/24'] FOLLOWEDBY [...] WITHIN 300
//! SECONDS`). tiaki reads partners' indicators, checks them, and hunts evidence with them,
//! so it needs the whole language, held to the OASIS test suites
//! (`shared/data/vectors/stix/`):
//!
//! * [`Pattern::parse`] — the grammar of `STIXPattern.g4` (2.1, or 2.0 with
//!   [`Pattern::parse_version`]), errors with a byte offset; [`Pattern::validate`] adds
//!   the semantic checks of the OASIS validator. `Display` writes the pattern back.
//! * the syntax tree ([`ObservationExpr`], [`ComparisonExpr`], [`Comparison`], …) and
//!   [`Pattern::inspect`].
//! * matching: [`Pattern::matches`] and [`Pattern::find_binding`] over [`Observation`]s;
//!   for streaming hunts, [`Pattern::brackets`] and [`Pattern::matches_bracket`] test one
//!   observation against one bracket, and [`Pattern::find_binding_with_hits`] runs the
//!   observation-level logic on the hits kept.
//! * [`Pattern::simple_comparisons`] — a single bracket as OR-of-AND groups, for indexing.
//!
//! Where the reference matcher (stix2-matcher 3.0.0) departs from the specification
//! (`NOT EXISTS`, IPv6 CIDR), this module follows the specification.

mod ast;
mod eval;
mod inspect;
mod lexer;
mod observation;
mod parser;
mod search;
mod semantic;

use std::collections::HashSet;
use std::fmt;

pub use ast::{
    CmpOp, Comparison, ComparisonExpr, Literal, ObservationExpr, Operand, PathStep, Qualifier,
};
pub use inspect::{Inspection, SimpleComparison};
pub use observation::{ObjectPool, Observation};

use crate::validate::SpecVersion;
use eval::RegexCache;
use search::{Node, Search, Units};

/// The default limit on search steps for one [`Pattern::find_binding`] call.
pub const DEFAULT_SEARCH_BUDGET: u64 = 20_000_000;

/// The default largest `REPEATS n TIMES` count the matcher evaluates.
pub const DEFAULT_MAX_REPEATS: u64 = 1_000;

/// Bounds on the search for a binding, so that no pattern (a huge `REPEATS` count, nested
/// windows over many observations) can take unbounded time or stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchLimits {
    /// Search steps one binding search may take (default [`DEFAULT_SEARCH_BUDGET`],
    /// 20,000,000). Past it the search gives up with [`MatchError::TooComplex`]; a hunt
    /// counts and reports that pattern as not evaluated.
    pub max_steps: u64,
    /// Largest `REPEATS n TIMES` count evaluated (default [`DEFAULT_MAX_REPEATS`], 1,000).
    /// A pattern with a larger count is not searched: [`MatchError::Limit`] names the count
    /// and the limit (the search nests once per repetition, so the count bounds its stack).
    pub max_repeats: u64,
}

impl Default for SearchLimits {
    fn default() -> Self {
        SearchLimits {
            max_steps: DEFAULT_SEARCH_BUDGET,
            max_repeats: DEFAULT_MAX_REPEATS,
        }
    }
}

/// Whether a pattern was rejected by the grammar or by a semantic rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternErrorKind {
    /// The text is not a sentence of the grammar.
    Syntax,
    /// The pattern parses but breaks a rule of the validator (e.g. a hash value of the
    /// wrong length for its algorithm).
    Semantic,
}

/// Why a pattern was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} error at offset {offset}: {message}", match .kind { PatternErrorKind::Syntax => "syntax", PatternErrorKind::Semantic => "semantic" })]
pub struct PatternError {
    /// Syntax or semantic.
    pub kind: PatternErrorKind,
    /// Byte offset in the pattern text where the problem was found.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl PatternError {
    pub(crate) fn syntax(offset: usize, message: impl Into<String>) -> PatternError {
        PatternError {
            kind: PatternErrorKind::Syntax,
            offset,
            message: message.into(),
        }
    }
}

/// Why a grammatical pattern could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatchError {
    /// A timestamp that is not a valid STIX timestamp: in the data (compared with a
    /// `t''` literal, or an observation's interval), or a literal that is not a real date.
    #[error("invalid timestamp: {0}")]
    InvalidTimestamp(String),
    /// An `IN` set mixing types, such as `(1, true)`.
    #[error("the set {0} mixes literal types")]
    HeterogeneousSet(String),
    /// A qualifier that cannot be applied (`WITHIN 0 SECONDS`, `REPEATS 0 TIMES`).
    #[error("invalid qualifier: {0}")]
    InvalidQualifier(String),
    /// A `MATCHES` regular expression that does not compile (pattern, reason).
    #[error("invalid regular expression '{0}': {1}")]
    InvalidRegex(String, String),
    /// A literal that the operator cannot use (an `ISSUBSET` block that is not an IP).
    #[error("invalid literal: {0}")]
    InvalidLiteral(String),
    /// The search for a binding took more steps than its budget.
    #[error("the pattern needs more than {0} search steps on these observations")]
    TooComplex(u64),
    /// The pattern exceeds a [`SearchLimits`] bound (the message names it).
    #[error("limit exceeded: {0}")]
    Limit(String),
    /// A bracket index out of range in [`Pattern::matches_bracket`].
    #[error("the pattern has no bracket {0}")]
    NoSuchBracket(usize),
}

/// Which observations a pattern matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// Indices into the observations given, one per bracket occurrence in the binding
    /// (in the order the brackets were satisfied). An index can appear more than once
    /// when its observation has `number_observed` > 1.
    pub observations: Vec<usize>,
}

impl Binding {
    /// The distinct observation indices, ascending.
    pub fn distinct(&self) -> Vec<usize> {
        let mut v = self.observations.clone();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The ids of the bound observations that have one, in binding order, without
    /// repeats.
    pub fn ids(&self, observations: &[Observation]) -> Vec<String> {
        let mut seen = HashSet::new();
        self.observations
            .iter()
            .filter_map(|&i| observations.get(i).and_then(|o| o.id.clone()))
            .filter(|id| seen.insert(id.clone()))
            .collect()
    }
}

/// A parsed STIX pattern, ready to match.
#[derive(Debug)]
pub struct Pattern {
    root: ObservationExpr,
    version: SpecVersion,
    brackets: Vec<ComparisonExpr>,
    node: Result<Node, MatchError>,
    regexes: RegexCache,
    limits: SearchLimits,
}

impl Clone for Pattern {
    fn clone(&self) -> Pattern {
        Pattern::build(self.root.clone(), self.version).with_limits(self.limits)
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Pattern) -> bool {
        self.root == other.root
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.root)
    }
}

impl std::str::FromStr for Pattern {
    type Err = PatternError;
    fn from_str(s: &str) -> Result<Pattern, PatternError> {
        Pattern::parse(s)
    }
}

/// Calls `f` on every comparison, in pattern order.
pub(crate) fn for_each_comparison(e: &ObservationExpr, f: &mut dyn FnMut(&Comparison)) {
    fn cmp(e: &ComparisonExpr, f: &mut dyn FnMut(&Comparison)) {
        match e {
            ComparisonExpr::And(items) | ComparisonExpr::Or(items) => {
                items.iter().for_each(|i| cmp(i, f))
            }
            ComparisonExpr::Test(c) => f(c),
        }
    }
    match e {
        ObservationExpr::Bracket(c) => cmp(c, f),
        ObservationExpr::And(items)
        | ObservationExpr::Or(items)
        | ObservationExpr::FollowedBy(items) => {
            items.iter().for_each(|i| for_each_comparison(i, f))
        }
        ObservationExpr::Qualified(inner, _) => for_each_comparison(inner, f),
    }
}

fn compile(e: &ObservationExpr, brackets: &mut Vec<ComparisonExpr>) -> Result<Node, MatchError> {
    Ok(match e {
        ObservationExpr::Bracket(c) => {
            brackets.push(c.clone());
            Node::Leaf(brackets.len() - 1)
        }
        ObservationExpr::And(items) => Node::And(
            items
                .iter()
                .map(|i| compile(i, brackets))
                .collect::<Result<_, _>>()?,
        ),
        ObservationExpr::Or(items) => Node::Or(
            items
                .iter()
                .map(|i| compile(i, brackets))
                .collect::<Result<_, _>>()?,
        ),
        ObservationExpr::FollowedBy(items) => {
            let mut it = items.iter();
            let mut node = compile(it.next().expect("FOLLOWEDBY has operands"), brackets)?;
            for i in it {
                node = Node::FollowedBy(Box::new(node), Box::new(compile(i, brackets)?));
            }
            node
        }
        ObservationExpr::Qualified(inner, q) => {
            let inner = Box::new(compile(inner, brackets)?);
            match q {
                Qualifier::Within(n) => Node::Within(
                    inner,
                    eval::within_nanos(n).ok_or_else(|| {
                        MatchError::InvalidQualifier(format!(
                            "WITHIN {n} SECONDS: the duration must be positive"
                        ))
                    })?,
                ),
                Qualifier::Repeats(n) => Node::Repeats(inner, *n),
                Qualifier::StartStop(a, b) => {
                    Node::StartStop(inner, eval::qualifier_time(a)?, eval::qualifier_time(b)?)
                }
            }
        }
    })
}

/// Collects the brackets in order without failing (for when compilation fails).
fn collect_brackets(e: &ObservationExpr, out: &mut Vec<ComparisonExpr>) {
    match e {
        ObservationExpr::Bracket(c) => out.push(c.clone()),
        ObservationExpr::And(items)
        | ObservationExpr::Or(items)
        | ObservationExpr::FollowedBy(items) => items.iter().for_each(|i| collect_brackets(i, out)),
        ObservationExpr::Qualified(inner, _) => collect_brackets(inner, out),
    }
}

impl Pattern {
    /// Parses a STIX 2.1 pattern (grammar only; see [`Pattern::validate`]).
    pub fn parse(text: &str) -> Result<Pattern, PatternError> {
        Pattern::parse_version(text, SpecVersion::V21)
    }

    /// Parses a pattern of the given STIX version. STIX 2.0 has no `EXISTS` and allows
    /// plain strings after `START`/`STOP`.
    pub fn parse_version(text: &str, version: SpecVersion) -> Result<Pattern, PatternError> {
        let mut p = parser::Parser::new(text, version)?;
        let root = p.pattern()?;
        Ok(Pattern::build(root, version))
    }

    /// Parses a pattern and applies the OASIS validator's semantic rules too (a hash value
    /// must fit its algorithm): what an indicator's `pattern` must pass.
    pub fn validate(text: &str, version: SpecVersion) -> Result<Pattern, PatternError> {
        let p = Pattern::parse_version(text, version)?;
        if let Some(problem) = p.semantic_issues().into_iter().next() {
            return Err(PatternError {
                kind: PatternErrorKind::Semantic,
                offset: 0,
                message: problem,
            });
        }
        Ok(p)
    }

    /// A pattern from a syntax tree (for patterns built in code).
    pub fn from_tree(root: ObservationExpr, version: SpecVersion) -> Pattern {
        Pattern::build(root, version)
    }

    fn build(root: ObservationExpr, version: SpecVersion) -> Pattern {
        let mut regexes = RegexCache::new();
        for_each_comparison(&root, &mut |c| {
            if c.op == CmpOp::Matches
                && let Some(Literal::Str(p)) = c.value.literal()
                && !regexes.contains_key(p)
            {
                regexes.insert(p.clone(), eval::compile_regex(p));
            }
        });
        let mut brackets = Vec::new();
        let node = eval::check_evaluable(&root).and_then(|()| compile(&root, &mut brackets));
        if node.is_err() {
            brackets.clear();
            collect_brackets(&root, &mut brackets);
        }
        Pattern {
            root,
            version,
            brackets,
            node,
            regexes,
            limits: SearchLimits::default(),
        }
    }

    /// The same pattern with another limit on search steps per binding search.
    pub fn with_search_budget(mut self, steps: u64) -> Pattern {
        self.limits.max_steps = steps.max(1);
        self
    }

    /// The same pattern with other search limits.
    pub fn with_limits(mut self, limits: SearchLimits) -> Pattern {
        self.limits = SearchLimits {
            max_steps: limits.max_steps.max(1),
            ..limits
        };
        self
    }

    /// The search limits of this pattern.
    pub fn limits(&self) -> SearchLimits {
        self.limits
    }

    /// The syntax tree.
    pub fn root(&self) -> &ObservationExpr {
        &self.root
    }

    /// The STIX version the pattern was parsed as.
    pub fn version(&self) -> SpecVersion {
        self.version
    }

    /// The semantic problems the OASIS validator would report (empty when none).
    pub fn semantic_issues(&self) -> Vec<String> {
        semantic::check(&self.root)
    }

    /// Every comparison, in pattern order.
    pub fn comparisons(&self) -> Vec<&Comparison> {
        fn cmp<'a>(e: &'a ComparisonExpr, out: &mut Vec<&'a Comparison>) {
            match e {
                ComparisonExpr::And(items) | ComparisonExpr::Or(items) => {
                    items.iter().for_each(|i| cmp(i, out))
                }
                ComparisonExpr::Test(c) => out.push(c),
            }
        }
        let mut out = Vec::new();
        for b in &self.brackets {
            cmp(b, &mut out);
        }
        out
    }

    /// The qualifiers, observation operators and comparisons by object type.
    pub fn inspect(&self) -> Inspection {
        inspect::inspect(&self.root)
    }

    /// The observation expressions' brackets, in pattern order: bracket `i` is the `i`-th
    /// `[…]` of the text. A hunt tests each event against them with
    /// [`Pattern::matches_bracket`].
    pub fn brackets(&self) -> &[ComparisonExpr] {
        &self.brackets
    }

    /// Whether one observation satisfies bracket `index` (some root object of the
    /// observation satisfies the comparison expression). Qualifiers and observation
    /// operators are not considered.
    pub fn matches_bracket(
        &self,
        index: usize,
        observation: &Observation,
    ) -> Result<bool, MatchError> {
        let b = self
            .brackets
            .get(index)
            .ok_or(MatchError::NoSuchBracket(index))?;
        eval::eval_bracket(b, observation, &self.regexes)
    }

    /// Whether the observations, together, match the pattern.
    pub fn matches(&self, observations: &[Observation]) -> Result<bool, MatchError> {
        Ok(self.find_binding(observations)?.is_some())
    }

    /// The first binding found: which observations satisfy the pattern, or None.
    pub fn find_binding(
        &self,
        observations: &[Observation],
    ) -> Result<Option<Binding>, MatchError> {
        let node = self.node.as_ref().map_err(Clone::clone)?;
        let mut hits = vec![Vec::new(); self.brackets.len()];
        for (b, hit) in hits.iter_mut().enumerate() {
            for (i, o) in observations.iter().enumerate() {
                if eval::eval_bracket(&self.brackets[b], o, &self.regexes)? {
                    hit.push(i);
                }
            }
        }
        self.search(node, observations, &hits, &self.limits)
    }

    /// Like [`Pattern::find_binding`], with the bracket results already known:
    /// `hits[b]` lists (ascending) the indices of the observations that satisfy bracket
    /// `b`. A streaming hunt keeps only events that satisfy some bracket, remembers
    /// which, and calls this on what it kept.
    pub fn find_binding_with_hits(
        &self,
        observations: &[Observation],
        hits: &[Vec<usize>],
    ) -> Result<Option<Binding>, MatchError> {
        self.find_binding_with_hits_limited(observations, hits, &self.limits)
    }

    /// [`Pattern::find_binding_with_hits`] under other search limits than the pattern's own
    /// (a hunt's `--limit` settings), without rebuilding the pattern.
    pub fn find_binding_with_hits_limited(
        &self,
        observations: &[Observation],
        hits: &[Vec<usize>],
        limits: &SearchLimits,
    ) -> Result<Option<Binding>, MatchError> {
        let own = SearchLimits {
            max_steps: limits.max_steps.max(1),
            ..*limits
        };
        let node = self.node.as_ref().map_err(Clone::clone)?;
        if hits.len() != self.brackets.len() {
            return Err(MatchError::NoSuchBracket(
                hits.len().min(self.brackets.len()),
            ));
        }
        let clean: Vec<Vec<usize>> = hits
            .iter()
            .map(|h| {
                let mut h: Vec<usize> = h
                    .iter()
                    .copied()
                    .filter(|&i| i < observations.len())
                    .collect();
                h.sort_unstable();
                h.dedup();
                h
            })
            .collect();
        self.search(node, observations, &clean, &own)
    }

    /// Checks that the pattern can be evaluated at all (no `WITHIN 0`, no mixed set, no
    /// impossible timestamp literal), without any data.
    pub fn check_evaluable(&self) -> Result<(), MatchError> {
        self.node.as_ref().map(|_| ()).map_err(Clone::clone)
    }

    fn search(
        &self,
        node: &Node,
        observations: &[Observation],
        hits: &[Vec<usize>],
        limits: &SearchLimits,
    ) -> Result<Option<Binding>, MatchError> {
        if let Some(n) = node.max_repeats()
            && n > limits.max_repeats
        {
            return Err(MatchError::Limit(format!(
                "REPEATS {n} TIMES is more than {} (max_repeats)",
                limits.max_repeats
            )));
        }
        let units = Units::new(
            observations
                .iter()
                .map(Observation::interval_nanos)
                .collect(),
            observations
                .iter()
                .map(|o| o.number_observed.max(1))
                .collect(),
        );
        let found = Search::new(&units, hits, limits.max_steps).run(node)?;
        Ok(found.map(|observations| Binding { observations }))
    }

    /// For indexing: when the pattern is one bracket without qualifiers, its comparison
    /// expression in disjunctive normal form: a list of AND-groups, any of which matching
    /// one root object matches the pattern. None for any other shape (or when the
    /// expansion would exceed 256 groups).
    pub fn simple_comparisons(&self) -> Option<Vec<Vec<SimpleComparison>>> {
        match &self.root {
            ObservationExpr::Bracket(c) => inspect::dnf(c),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
