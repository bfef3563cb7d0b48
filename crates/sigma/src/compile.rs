//! Compiling rules into one shared matcher.
//!
//! Thousands of rules test the same few fields (`Image`, `CommandLine`…)
//! with plain literals. Instead of every rule scanning every field, the
//! compiler collects every case-insensitive literal of every rule, per
//! field, into one Aho-Corasick automaton. One pass over a field value then
//! answers all `contains`/`startswith`/`endswith`/equality tests of all
//! rules at once. Rules are also given *triggers*: literals of which at
//! least one must occur for the rule to match. At run time only rules whose
//! trigger fired (plus the few without triggers) are evaluated at all.
//!
//! Identical tests are shared between rules ([`Atom`]s are deduplicated),
//! field names are interned once at compile time, and the per-event work
//! lives in a reusable [`Scratch`](crate::Scratch) so that matching
//! allocates little.

use std::collections::HashMap;

use crate::matchers::{Glob, LazyRegex};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::collection::{Collection, ParsedFilter, ParsedRule, RuleWarning};
use crate::condition::Condition;
use crate::correlation::CorrelationRule;
use crate::error::RuleError;
use crate::modifier::{CmpOp, StrKind, TimePart, ValueTest};
use crate::rule::{Detection, RuleMeta, Search};
use crate::string::{Piece, SigmaString};

/// Index of an interned field name.
pub(crate) type FieldId = u32;

/// Where a test looks for its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Source {
    /// One named field.
    Field(FieldId),
    /// Every value of the event (keyword search), for the rules of one log source (the
    /// group is the index of the rule's `product/category/service`). One automaton over
    /// every keyword rule's literals would make a Windows event pay for the Linux, web and
    /// Cisco keyword lists too (682 literals against the 20 that apply to it); per log source
    /// the plan runs only the groups that admit the event, each small enough for a SIMD gate.
    Keywords(u16),
}

/// Flags recording where a literal occurred in a value.
pub(crate) const HIT_CONTAINS: u8 = 1;
pub(crate) const HIT_PREFIX: u8 = 2;
pub(crate) const HIT_SUFFIX: u8 = 4;
pub(crate) const HIT_EXACT: u8 = 8;

pub(crate) fn kind_flag(kind: StrKind) -> u8 {
    match kind {
        StrKind::Contains => HIT_CONTAINS,
        StrKind::Prefix => HIT_PREFIX,
        StrKind::Suffix => HIT_SUFFIX,
        StrKind::Exact => HIT_EXACT,
    }
}

/// A leaf test, shared by every rule that uses it.
#[derive(Debug, Clone)]
pub(crate) enum AtomTest {
    /// A case-insensitive literal (lowercased). If the literal is a rule
    /// trigger it is found by the source's automaton ([`Atom::trigger`]);
    /// otherwise it is compared directly.
    Lit { text: String, kind: StrKind },
    /// Any non-null scalar value (`*`).
    AnyString,
    /// The empty string.
    EmptyString,
    /// A wildcard pattern (lowercased text unless the glob is cased).
    Glob(Glob),
    /// A case-sensitive literal comparison.
    Cased { kind: StrKind, text: String },
    /// A regular expression search (boxed: the lazy regex is three times the size of the
    /// other tests, and there are tens of thousands of atoms).
    Regex(Box<LazyRegex>),
    /// IP network membership.
    Cidr(ipnet::IpNet),
    /// Numeric comparison.
    Compare(CmpOp, f64),
    /// Absent or null.
    Null,
    /// Presence.
    Exists(bool),
    /// Comparison with another field.
    FieldRef {
        other: FieldId,
        kind: StrKind,
        cased: bool,
    },
    /// Comparison of a date/time part.
    Time(TimePart, CmpOp, i64),
}

/// A leaf test applied to a source.
#[derive(Debug, Clone)]
pub(crate) struct Atom {
    pub source: Source,
    pub test: AtomTest,
    /// A literal that must occur for the test to hold (trigger candidate).
    pub needs: Option<String>,
    /// The automaton pattern of `needs`, if it was chosen as a trigger.
    pub trigger: Option<u32>,
}

/// A compiled boolean expression over atoms.
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Atom(u32),
    Const(bool),
}

impl Expr {
    fn and(mut parts: Vec<Expr>) -> Expr {
        let mut flat = Vec::with_capacity(parts.len());
        for p in parts.drain(..) {
            match p {
                Expr::Const(true) => {}
                Expr::Const(false) => return Expr::Const(false),
                Expr::And(inner) => flat.extend(inner),
                other => flat.push(other),
            }
        }
        match flat.len() {
            0 => Expr::Const(true),
            1 => flat.pop().unwrap_or(Expr::Const(true)),
            _ => Expr::And(flat),
        }
    }

    fn or(mut parts: Vec<Expr>) -> Expr {
        let mut flat = Vec::with_capacity(parts.len());
        for p in parts.drain(..) {
            match p {
                Expr::Const(false) => {}
                Expr::Const(true) => return Expr::Const(true),
                Expr::Or(inner) => flat.extend(inner),
                other => flat.push(other),
            }
        }
        match flat.len() {
            0 => Expr::Const(false),
            1 => flat.pop().unwrap_or(Expr::Const(false)),
            _ => Expr::Or(flat),
        }
    }

    fn not(inner: Expr) -> Expr {
        match inner {
            Expr::Const(b) => Expr::Const(!b),
            Expr::Not(e) => *e,
            other => Expr::Not(Box::new(other)),
        }
    }
}

/// One Aho-Corasick automaton over every literal tested on one source.
#[derive(Debug, Clone)]
pub(crate) struct Scanner {
    pub source: Source,
    pub ac: AhoCorasick,
    /// A leftmost-first automaton over the same literals, used only to ask
    /// "does any literal occur?". For small sets it runs on SIMD (Teddy),
    /// an order of magnitude faster than the overlapping search, and most
    /// values contain no literal at all.
    pub gate: Option<AhoCorasick>,
    /// Global id of this scanner's first pattern.
    pub base: u32,
    /// Bytes of which a value must contain one for any literal to occur.
    pub needs_byte: ByteFilter,
}

/// A necessary condition for a value to contain any literal of a set: every
/// literal has one "rare" byte chosen for it, and a value without any of these
/// bytes contains none of the literals. Identifiers, GUIDs, timestamps,
/// numbers and hashes (most of the values that never repeat) are mostly hex
/// digits and punctuation, so letters beyond `f` are chosen where a literal
/// has them, and such values skip the automaton.
#[derive(Debug, Clone)]
pub(crate) struct ByteFilter {
    /// For each byte of the (not yet lowercased) value: may it be the chosen byte?
    pass: [bool; 256],
}

/// Bytes from the least to the most likely to occur in an arbitrary value.
const RARE_FIRST: &[u8] =
    b"qjzxvkwyghpmulnrstoifbcdea!#$%&'()*+,;<=>?@[]^_`{|}~\"0123456789-.:/\\ ";

impl ByteFilter {
    fn new(literals: &[String]) -> ByteFilter {
        let rank = |b: u8| {
            RARE_FIRST
                .iter()
                .position(|&r| r == b)
                .unwrap_or(if b >= 0x80 { 20 } else { RARE_FIRST.len() })
        };
        let mut pass = [false; 256];
        // Non-ASCII text may lowercase to ASCII (the Kelvin sign to `k`): never skip it.
        pass[0x80..].iter_mut().for_each(|p| *p = true);
        for lit in literals {
            match lit.bytes().min_by_key(|&b| rank(b)) {
                Some(b) => {
                    pass[b as usize] = true;
                    pass[b.to_ascii_uppercase() as usize] = true;
                }
                // An empty literal occurs everywhere.
                None => pass.iter_mut().for_each(|p| *p = true),
            }
        }
        ByteFilter { pass }
    }

    /// False only if no literal of the set can occur in `text` (or in its
    /// lowercase form).
    pub fn may_match(&self, text: &str) -> bool {
        text.bytes().any(|b| self.pass[b as usize])
    }
}

/// A compiled detection rule.
#[derive(Debug, Clone)]
pub(crate) struct CompiledRule {
    pub meta: RuleMeta,
    pub expr: Expr,
    /// Global pattern ids of which one must occur; `None` = always evaluate.
    pub triggers: Option<Vec<u32>>,
}

/// Largest literal set that gets a leftmost-first gate automaton.
const GATE_MAX_LITERALS: usize = 64;

/// Index of a rule in a [`RuleSet`].
pub type RuleId = u32;

/// A compiled, immutable set of Sigma rules, shared across threads.
#[derive(Debug)]
pub struct RuleSet {
    pub(crate) rules: Vec<CompiledRule>,
    pub(crate) fields: Vec<String>,
    pub(crate) atoms: Vec<Atom>,
    pub(crate) scanners: Vec<Scanner>,
    /// For each global pattern id: the rules it triggers.
    pub(crate) pattern_rules: Vec<Vec<RuleId>>,
    /// For each global pattern id: its scanner.
    pub(crate) pattern_scanner: Vec<u32>,
    pub(crate) pattern_count: usize,
    pub(crate) correlations: Vec<CorrelationRule>,
    pub(crate) warnings: Vec<RuleWarning>,
}

/// The result of compiling a collection.
#[derive(Debug)]
pub struct Compiled {
    /// The rules that compiled.
    pub ruleset: RuleSet,
    /// Every document that was refused, while loading or compiling.
    pub errors: Vec<RuleError>,
}

/// A rule's `(product, category, service)`.
type LogSourceKey = (Option<String>, Option<String>, Option<String>);

#[derive(Default)]
struct Builder {
    fields: Vec<String>,
    field_ids: HashMap<String, FieldId>,
    atoms: Vec<Atom>,
    atom_ids: HashMap<String, u32>,
    /// Per source: the literal list and index.
    literals: Vec<(Source, Vec<String>, HashMap<String, u32>)>,
    literal_source: HashMap<Source, usize>,
    /// The keyword group of the rule being compiled, and the groups by log source.
    keyword_group: u16,
    keyword_groups: HashMap<LogSourceKey, u16>,
}

/// Splits a pattern into an anchoring kind and one literal, if it has no
/// inner wildcards.
fn classify(s: &SigmaString) -> Option<(StrKind, String)> {
    let pieces = s.pieces();
    let lead = pieces.first() == Some(&Piece::AnyMany);
    let trail = pieces.len() > usize::from(lead) && pieces.last() == Some(&Piece::AnyMany);
    let middle = &pieces[usize::from(lead)..pieces.len() - usize::from(trail)];
    let text = match middle {
        [] => String::new(),
        [Piece::Lit(t)] => t.clone(),
        _ => return None,
    };
    Some((
        match (lead, trail) {
            (false, false) => StrKind::Exact,
            (false, true) => StrKind::Prefix,
            (true, false) => StrKind::Suffix,
            (true, true) => StrKind::Contains,
        },
        text,
    ))
}

impl Builder {
    /// Keyword searches compiled from now on belong to `logsource`'s group.
    fn set_keyword_group(&mut self, logsource: &crate::rule::LogSource) {
        let key = (
            logsource.product.clone(),
            logsource.category.clone(),
            logsource.service.clone(),
        );
        let next = self.keyword_groups.len() as u16;
        self.keyword_group = *self.keyword_groups.entry(key).or_insert(next);
    }

    fn field(&mut self, name: &str) -> FieldId {
        if let Some(id) = self.field_ids.get(name) {
            return *id;
        }
        let id = self.fields.len() as FieldId;
        self.fields.push(name.to_string());
        self.field_ids.insert(name.to_string(), id);
        id
    }

    fn literal(&mut self, source: Source, text: &str) -> (usize, u32) {
        let slot = match self.literal_source.get(&source) {
            Some(s) => *s,
            None => {
                self.literals.push((source, Vec::new(), HashMap::new()));
                self.literal_source.insert(source, self.literals.len() - 1);
                self.literals.len() - 1
            }
        };
        let (_, list, index) = &mut self.literals[slot];
        if let Some(i) = index.get(text) {
            return (slot, *i);
        }
        let i = list.len() as u32;
        list.push(text.to_string());
        index.insert(text.to_string(), i);
        (slot, i)
    }

    /// Encodes (scanner slot, local index) until global ids are known.
    fn local_ref(slot: usize, local: u32) -> u32 {
        ((slot as u32) << 20) | local
    }

    fn atom(&mut self, source: Source, test: AtomTest, key: String, needs: Option<String>) -> u32 {
        let key = format!("{source:?}|{key}");
        if let Some(id) = self.atom_ids.get(&key) {
            return *id;
        }
        let id = self.atoms.len() as u32;
        self.atoms.push(Atom {
            source,
            test,
            needs,
            trigger: None,
        });
        self.atom_ids.insert(key, id);
        id
    }

    fn value_test(&mut self, source: Source, test: &ValueTest) -> Result<u32, String> {
        Ok(match test {
            ValueTest::Str {
                pattern,
                cased: false,
            } => match classify(pattern) {
                Some((kind, text)) if text.is_empty() => {
                    if kind == StrKind::Exact {
                        self.atom(source, AtomTest::EmptyString, "empty".into(), None)
                    } else {
                        self.atom(source, AtomTest::AnyString, "any".into(), None)
                    }
                }
                Some((kind, text)) => {
                    let lower = crate::matchers::lowercase(&text);
                    self.atom(
                        source,
                        AtomTest::Lit {
                            text: lower.clone(),
                            kind,
                        },
                        format!("lit|{kind:?}|{lower}"),
                        Some(lower),
                    )
                }
                None => {
                    let glob = Glob::new(pattern, false)?;
                    // The longest literal piece must occur: use it as a trigger.
                    let longest = pattern
                        .pieces()
                        .iter()
                        .filter_map(|p| match p {
                            Piece::Lit(t) => Some(crate::matchers::lowercase(t)),
                            _ => None,
                        })
                        .max_by_key(|t| t.len());
                    let key = format!("glob|{}", glob.key());
                    self.atom(
                        source,
                        AtomTest::Glob(glob),
                        key,
                        longest.filter(|t| !t.is_empty()),
                    )
                }
            },
            ValueTest::Str {
                pattern,
                cased: true,
            } => match classify(pattern) {
                Some((kind, text)) => self.atom(
                    source,
                    AtomTest::Cased {
                        kind,
                        text: text.clone(),
                    },
                    format!("cased|{kind:?}|{text}"),
                    None,
                ),
                None => {
                    let glob = Glob::new(pattern, true)?;
                    let key = format!("casedglob|{}", glob.key());
                    self.atom(source, AtomTest::Glob(glob), key, None)
                }
            },
            ValueTest::Regex(re) => {
                let key = format!("re|{:?}|{}", re.flags(), re.as_str());
                let needs = re.required_literal();
                self.atom(source, AtomTest::Regex(Box::new(re.clone())), key, needs)
            }
            ValueTest::Cidr(net) => {
                self.atom(source, AtomTest::Cidr(*net), format!("cidr|{net}"), None)
            }
            ValueTest::Compare(op, n) => self.atom(
                source,
                AtomTest::Compare(*op, *n),
                format!("cmp|{op:?}|{n}"),
                None,
            ),
            ValueTest::Null => self.atom(source, AtomTest::Null, "null".into(), None),
            ValueTest::Exists(b) => {
                self.atom(source, AtomTest::Exists(*b), format!("exists|{b}"), None)
            }
            ValueTest::FieldRef { field, kind, cased } => {
                let other = self.field(field);
                self.atom(
                    source,
                    AtomTest::FieldRef {
                        other,
                        kind: *kind,
                        cased: *cased,
                    },
                    format!("ref|{other}|{kind:?}|{cased}"),
                    None,
                )
            }
            ValueTest::Time(part, op, n) => self.atom(
                source,
                AtomTest::Time(*part, *op, *n),
                format!("time|{part:?}|{op:?}|{n}"),
                None,
            ),
        })
    }

    fn search(&mut self, search: &Search) -> Result<Expr, String> {
        Ok(match search {
            Search::And(items) => Expr::and(
                items
                    .iter()
                    .map(|s| self.search(s))
                    .collect::<Result<_, _>>()?,
            ),
            Search::Or(items) => Expr::or(
                items
                    .iter()
                    .map(|s| self.search(s))
                    .collect::<Result<_, _>>()?,
            ),
            Search::Item(item) => {
                let source = match &item.field {
                    Some(f) => Source::Field(self.field(f)),
                    None => Source::Keywords(self.keyword_group),
                };
                let mut per_value = Vec::new();
                for alts in &item.values.values {
                    let mut exprs = Vec::new();
                    for t in alts {
                        exprs.push(Expr::Atom(self.value_test(source, t)?));
                    }
                    per_value.push(Expr::or(exprs));
                }
                let linked = if item.values.all {
                    Expr::and(per_value)
                } else {
                    Expr::or(per_value)
                };
                if item.values.negate {
                    Expr::not(linked)
                } else {
                    linked
                }
            }
        })
    }

    fn detection(&mut self, d: &Detection) -> Result<Expr, String> {
        let mut compiled: Vec<(String, Expr)> = Vec::new();
        for (name, s) in &d.searches {
            compiled.push((name.clone(), self.search(s)?));
        }
        fn cond(c: &Condition, searches: &[(String, Expr)]) -> Expr {
            match c {
                Condition::And(cs) => Expr::and(cs.iter().map(|c| cond(c, searches)).collect()),
                Condition::Or(cs) => Expr::or(cs.iter().map(|c| cond(c, searches)).collect()),
                Condition::Not(c) => Expr::not(cond(c, searches)),
                Condition::Ident(id) => searches
                    .iter()
                    .find(|(n, _)| n == id)
                    .map(|(_, e)| e.clone())
                    .unwrap_or(Expr::Const(false)),
                Condition::OneOf(p) => Expr::or(
                    searches
                        .iter()
                        .filter(|(n, _)| p.covers(n))
                        .map(|(_, e)| e.clone())
                        .collect(),
                ),
                Condition::AllOf(p) => Expr::and(
                    searches
                        .iter()
                        .filter(|(n, _)| p.covers(n))
                        .map(|(_, e)| e.clone())
                        .collect(),
                ),
            }
        }
        Ok(Expr::or(
            d.conditions.iter().map(|c| cond(c, &compiled)).collect(),
        ))
    }
}

/// Estimated cost of triggering on a literal: short literals occur often.
fn literal_cost(lit: &str) -> f64 {
    let n = lit.len().max(1) as f64;
    1.0 / (n * n)
}

/// Atoms whose literals, if none occurs, prove `e` false; with the
/// estimated cost of evaluating the rule whenever one of them occurs.
/// `None` if `e` can hold without any literal occurring.
fn triggers(e: &Expr, atoms: &[Atom]) -> Option<(f64, Vec<u32>)> {
    match e {
        Expr::Atom(a) => atoms[*a as usize]
            .needs
            .as_deref()
            .map(|lit| (literal_cost(lit), vec![*a])),
        Expr::Const(false) => Some((0.0, Vec::new())),
        Expr::Const(true) | Expr::Not(_) => None,
        Expr::And(parts) => parts
            .iter()
            .filter_map(|p| triggers(p, atoms))
            .min_by(|a, b| a.0.total_cmp(&b.0)),
        Expr::Or(parts) => {
            let mut cost = 0.0;
            let mut all = Vec::new();
            for p in parts {
                let (c, t) = triggers(p, atoms)?;
                cost += c;
                all.extend(t);
            }
            all.sort_unstable();
            all.dedup();
            Some((cost, all))
        }
    }
}

fn filter_applies(f: &ParsedFilter, rule: &RuleMeta) -> bool {
    if !f.logsource.covers(&rule.logsource) {
        return false;
    }
    match &f.rules {
        None => true,
        Some(list) => list.iter().any(|r| {
            rule.id.as_deref() == Some(r.as_str()) || rule.name.as_deref() == Some(r.as_str())
        }),
    }
}

impl Collection {
    /// Compiles every loaded rule (with filters applied) into a [`RuleSet`].
    pub fn compile(mut self) -> Compiled {
        let mut b = Builder::default();
        let mut compiled = Vec::new();
        let mut filter_exprs = Vec::new();
        let filters = std::mem::take(&mut self.filters);
        for f in &filters {
            b.set_keyword_group(&f.meta.logsource);
            match b.detection(&f.detection) {
                Ok(e) => filter_exprs.push(Some(e)),
                Err(reason) => {
                    self.push_error(
                        RuleError::at(
                            &f.meta.origin,
                            Some(crate::yaml::Pos {
                                line: f.meta.line,
                                col: 1,
                            }),
                            reason,
                        )
                        .with_title(Some(&f.meta.title)),
                    );
                    filter_exprs.push(None);
                }
            }
        }
        let rules: Vec<ParsedRule> = std::mem::take(&mut self.rules);
        for r in rules {
            b.set_keyword_group(&r.meta.logsource);
            match b.detection(&r.detection) {
                Ok(mut expr) => {
                    for (f, fe) in filters.iter().zip(&filter_exprs) {
                        if let Some(fe) = fe
                            && filter_applies(f, &r.meta)
                        {
                            expr = Expr::and(vec![expr, fe.clone()]);
                        }
                    }
                    compiled.push(CompiledRule {
                        meta: r.meta,
                        expr,
                        triggers: None,
                    });
                }
                Err(reason) => self.push_error(
                    RuleError::at(
                        &r.meta.origin,
                        Some(crate::yaml::Pos {
                            line: r.meta.line,
                            col: 1,
                        }),
                        reason,
                    )
                    .with_title(Some(&r.meta.title)),
                ),
            }
        }

        // Choose each rule's trigger literals; only those go into the automata.
        let mut rule_trigger_atoms = Vec::with_capacity(compiled.len());
        for rule in &compiled {
            let chosen = triggers(&rule.expr, &b.atoms).map(|(_, atoms)| atoms);
            if let Some(atoms) = &chosen {
                for &a in atoms {
                    let atom = &b.atoms[a as usize];
                    if atom.trigger.is_none() {
                        let (source, lit) = (atom.source, atom.needs.clone().unwrap_or_default());
                        let (slot, local) = b.literal(source, &lit);
                        b.atoms[a as usize].trigger = Some(Builder::local_ref(slot, local));
                    }
                }
            }
            rule_trigger_atoms.push(chosen);
        }

        // Build one automaton per source and assign global pattern ids.
        let mut scanners = Vec::new();
        let mut bases = Vec::new();
        let mut pattern_scanner = Vec::new();
        let mut total = 0u32;
        for (slot, (source, list, _)) in b.literals.iter().enumerate() {
            let ac = AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .build(list)
                .expect("literal automaton within size limits");
            let gate = (list.len() <= GATE_MAX_LITERALS).then(|| {
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::LeftmostFirst)
                    .build(list)
                    .expect("literal automaton within size limits")
            });
            bases.push(total);
            scanners.push(Scanner {
                source: *source,
                ac,
                gate,
                base: total,
                needs_byte: ByteFilter::new(list),
            });
            pattern_scanner.extend(std::iter::repeat_n(slot as u32, list.len()));
            total += list.len() as u32;
        }
        for atom in &mut b.atoms {
            if let Some(r) = atom.trigger {
                atom.trigger = Some(bases[(r >> 20) as usize] + (r & 0xFFFFF));
            }
        }
        let mut pattern_rules = vec![Vec::new(); total as usize];
        for (i, (rule, chosen)) in compiled.iter_mut().zip(rule_trigger_atoms).enumerate() {
            rule.triggers = chosen.map(|atoms| {
                let mut pats: Vec<u32> = atoms
                    .iter()
                    .filter_map(|a| b.atoms[*a as usize].trigger)
                    .collect();
                pats.sort_unstable();
                pats.dedup();
                pats
            });
            if let Some(t) = &rule.triggers {
                for p in t {
                    pattern_rules[*p as usize].push(i as RuleId);
                }
            }
        }
        // `needs` only served trigger selection; the table is kept for the whole hunt.
        let mut atoms = b.atoms;
        for atom in &mut atoms {
            atom.needs = None;
        }
        atoms.shrink_to_fit();
        let ruleset = RuleSet {
            rules: compiled,
            fields: b.fields,
            atoms,
            scanners,
            pattern_rules,
            pattern_scanner,
            pattern_count: total as usize,
            correlations: std::mem::take(&mut self.correlations),
            warnings: self.warnings().to_vec(),
        };
        Compiled {
            ruleset,
            errors: self.errors().to_vec(),
        }
    }
}

impl RuleSet {
    /// Number of compiled detection rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True if there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The metadata of a rule.
    pub fn meta(&self, id: RuleId) -> &RuleMeta {
        &self.rules[id as usize].meta
    }

    /// All rules' metadata, in id order.
    pub fn metas(&self) -> impl Iterator<Item = &RuleMeta> {
        self.rules.iter().map(|r| &r.meta)
    }

    /// The correlation rules loaded with the detection rules.
    pub fn correlations(&self) -> &[CorrelationRule] {
        &self.correlations
    }

    /// Warnings about rules loaded with caveats (e.g. empty placeholders).
    pub fn warnings(&self) -> &[RuleWarning] {
        &self.warnings
    }

    /// Compiles every `|re` regular expression now (they are otherwise
    /// compiled on first use) and reports each rule whose regex cannot be
    /// compiled, for example because it exceeds the size limit.
    pub fn compile_regexes(&self) -> Vec<RuleError> {
        fn walk(e: &Expr, atoms: &[Atom], out: &mut Vec<String>) {
            match e {
                Expr::And(p) | Expr::Or(p) => p.iter().for_each(|x| walk(x, atoms, out)),
                Expr::Not(x) => walk(x, atoms, out),
                Expr::Atom(a) => {
                    if let AtomTest::Regex(re) = &atoms[*a as usize].test
                        && let Err(e) = re.compiled()
                    {
                        out.push(format!(
                            "regular expression '{}' cannot be compiled: {e}",
                            re.as_str()
                        ));
                    }
                }
                Expr::Const(_) => {}
            }
        }
        let mut errors = Vec::new();
        for r in &self.rules {
            let mut problems = Vec::new();
            walk(&r.expr, &self.atoms, &mut problems);
            for p in problems {
                errors.push(
                    RuleError::at(
                        &r.meta.origin,
                        Some(crate::yaml::Pos {
                            line: r.meta.line,
                            col: 1,
                        }),
                        p,
                    )
                    .with_title(Some(&r.meta.title)),
                );
            }
        }
        errors
    }

    /// Statistics about the compiled form, for benchmarks and `--verbose`.
    pub fn stats(&self) -> RuleSetStats {
        RuleSetStats {
            rules: self.rules.len(),
            fields: self.fields.len(),
            atoms: self.atoms.len(),
            literals: self.pattern_count,
            automata: self.scanners.len(),
            always_evaluated: self.rules.iter().filter(|r| r.triggers.is_none()).count(),
        }
    }
}

/// Figures about a compiled rule set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleSetStats {
    /// Detection rules.
    pub rules: usize,
    /// Distinct field names.
    pub fields: usize,
    /// Distinct leaf tests.
    pub atoms: usize,
    /// Distinct literals in the automata.
    pub literals: usize,
    /// Number of automata (one per field with literals).
    pub automata: usize,
    /// Rules evaluated on every event of their log source (no trigger literal).
    pub always_evaluated: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_filter_is_a_necessary_condition() {
        let lits: Vec<String> = ["mimikatz", "sekurlsa::", "0x1f", "é-x"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let f = ByteFilter::new(&lits);
        // Values without any chosen byte cannot contain a literal.
        assert!(!f.may_match("{8d2c7e3a-1b2c-4d5e-8f90-123456789abc}"));
        assert!(!f.may_match("2024-05-01 12:00:00.123"));
        // Whatever case, each literal passes the filter.
        for text in [
            "MIMIKATZ",
            "x SEKURLSA::logonpasswords",
            "0X1F",
            "É-X",
            "\u{212A}",
        ] {
            assert!(f.may_match(text), "{text}");
        }
    }

    #[test]
    fn classify_patterns() {
        assert_eq!(
            classify(&SigmaString::parse("*abc*")),
            Some((StrKind::Contains, "abc".into()))
        );
        assert_eq!(
            classify(&SigmaString::parse("abc*")),
            Some((StrKind::Prefix, "abc".into()))
        );
        assert_eq!(
            classify(&SigmaString::parse("*abc")),
            Some((StrKind::Suffix, "abc".into()))
        );
        assert_eq!(
            classify(&SigmaString::parse("abc")),
            Some((StrKind::Exact, "abc".into()))
        );
        assert_eq!(
            classify(&SigmaString::parse("*")),
            Some((StrKind::Suffix, String::new()))
        );
        assert_eq!(classify(&SigmaString::parse("a*b")), None);
        assert_eq!(classify(&SigmaString::parse("a?")), None);
    }
}
