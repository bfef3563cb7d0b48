//! STIX patterns in a hunt: the ones the index can answer, and the full matcher for the rest.
//!
//! Most shared indicators are one comparison (`[ipv4-addr:value = '…']`) or an OR/AND of a
//! few; [`decompose`] turns those into index terms so that they cost a hash probe. What is
//! left — comparisons the index has no test for (`MATCHES`, `<`, `NOT`), several observations
//! (`[A] FOLLOWEDBY [B] WITHIN 600 SECONDS`), qualifiers — goes to the full matcher of
//! `tiaki-stix`. Running that matcher on every event for every pattern would make the sweep's
//! cost grow with the feed, so each bracket is pre-filtered by an *anchor*: a value every way
//! of satisfying the bracket requires (an address, a hash, a file name). Only events that
//! carry an anchor are turned into STIX objects and tested. Brackets without an anchor are
//! tested on every event and counted in the summary, so a feed full of them is visible.
//!
//! Patterns over one observation report on the event that satisfies them. Patterns over
//! several observations keep the events that satisfy one of their brackets (at most
//! [`DEFAULT_MAX_KEPT`] per pattern unless the hunt sets another bound) and are evaluated
//! when the last event has been read.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Map, Value};
use tiaki_evidence::Event;
use tiaki_indicators::extract::{Extracted, Extractor};
use tiaki_indicators::{Condition, IndexHit, Indicator, IndicatorIndex, ObservableKind as K, Term};
use tiaki_stix::pattern::{CmpOp, Literal, ObservationExpr, Operand, PathStep, SimpleComparison};
use tiaki_stix::{Observation, Pattern};

use crate::detection::{Detection, SourceRef, host_of, rfc3339};

/// Events kept per multi-observation pattern by default; further candidates are counted,
/// not kept (`HuntOptions::pattern_max_kept`).
pub const DEFAULT_MAX_KEPT: usize = 10_000;

/// A pattern (or one bracket) that held on an event.
#[derive(Debug, Clone, PartialEq)]
pub struct PatternHit {
    /// The indicator's position.
    pub indicator: u32,
    /// The anchor value the event carried, or the pattern's first compared value.
    pub value: String,
}

/// An event that satisfied some brackets of a multi-observation pattern.
#[derive(Debug, Clone)]
pub struct Deferred {
    /// The pattern (position in [`PatternSet`]).
    pub pattern: u32,
    /// The brackets it satisfied.
    pub brackets: Vec<u16>,
    /// The event as an observation.
    pub observation: Observation,
    /// Where the event is.
    pub source: SourceRef,
    /// The event's time.
    pub time: Option<chrono::DateTime<chrono::Utc>>,
    /// The same, as the contract writes it.
    pub timestamp: Option<String>,
    /// The event's host.
    pub host: Option<String>,
}

/// One parsed pattern.
struct Entry {
    indicator: u32,
    pattern: Pattern,
    /// The first value the pattern compares with, reported when no anchor names the value.
    first_value: String,
    /// One observation expression without qualifiers: report per event.
    per_event: bool,
}

/// The patterns the index could not answer, with their anchors.
pub struct PatternSet {
    entries: Vec<Entry>,
    /// Anchor terms, each an "indicator" whose position maps through `anchor_of`.
    anchors: IndicatorIndex,
    /// Anchor position → (entry, bracket).
    anchor_of: Vec<(u32, u16)>,
    /// Brackets without an anchor, tested on every event.
    unanchored: Vec<(u32, u16)>,
    refused: usize,
}

/// A pool thread's working memory for the pattern part.
#[derive(Default)]
pub struct PatternScratch {
    hits: Vec<IndexHit>,
    candidates: Vec<(u32, u16)>,
}

/// The object path of a comparison as text (`hashes.'SHA-256'` → `hashes.SHA-256`).
fn path_text(path: &[PathStep]) -> Option<String> {
    let mut s = String::new();
    for step in path {
        match step {
            PathStep::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            PathStep::AnyIndex => s.push_str("[*]"),
            PathStep::Index(_) => return None,
        }
    }
    Some(s)
}

/// The observable kind a comparison's object path names, if the index knows it. `None`
/// for `…_ref.type` comparisons too (they only say the address is an address).
fn kind_of(c: &SimpleComparison) -> Option<K> {
    let path = path_text(&c.path)?;
    let k = match (c.object_type.as_str(), path.as_str()) {
        ("ipv4-addr", "value") => K::Ipv4,
        ("ipv6-addr", "value") => K::Ipv6,
        ("domain-name", "value") => K::Domain,
        ("url", "value") => K::Url,
        ("file", "hashes.MD5") | ("file", "hashes.md5") => K::Md5,
        ("file", "hashes.SHA-1") | ("file", "hashes.SHA1") | ("file", "hashes.sha1") => K::Sha1,
        ("file", "hashes.SHA-256") | ("file", "hashes.SHA256") | ("file", "hashes.sha256") => {
            K::Sha256
        }
        ("file", "hashes.SHA-512") | ("file", "hashes.SHA512") => K::Sha512,
        ("file", "name") => K::FileName,
        ("email-addr", "value")
        | ("email-message", "from_ref.value")
        | ("email-message", "sender_ref.value")
        | ("email-message", "to_refs[*].value") => K::Email,
        ("mutex", "name") => K::Mutex,
        ("windows-registry-key", "key") => K::RegistryKey,
        ("network-traffic", "dst_port") => K::Port,
        ("network-traffic", "extensions.http-request-ext.request_header.User-Agent") => {
            K::UserAgent
        }
        ("process", "command_line") => K::CommandLine,
        ("user-account", "account_login") | ("user-account", "user_id") => K::Account,
        // Addresses reached through a reference: the index does not tell source from
        // destination, so these match the address wherever the event has it.
        ("network-traffic", "dst_ref.value")
        | ("network-traffic", "src_ref.value")
        | ("domain-name", "resolves_to_refs[*].value") => K::Ipv4,
        _ => return None,
    };
    Some(k)
}

fn literal_text(l: &Literal) -> Option<String> {
    match l {
        Literal::Str(s) => Some(s.clone()),
        Literal::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

/// The index terms equivalent to one comparison: several for `IN`, none when the comparison
/// is only a type check, `Err` when the index cannot express it.
fn terms_of(c: &SimpleComparison) -> Result<Vec<Term>, ()> {
    if c.negated {
        return Err(());
    }
    // `network-traffic:dst_ref.type = 'ipv4-addr'` (MISP's exports) only restates that the
    // address compared next is an address.
    if let Some(p) = path_text(&c.path)
        && p.ends_with("_ref.type")
        && c.op == CmpOp::Eq
    {
        return Ok(Vec::new());
    }
    let kind = kind_of(c).ok_or(())?;
    let one = |lit: &Literal| -> Result<Term, ()> {
        let text = literal_text(lit).ok_or(())?;
        if kind.is_ip() {
            return Term::ip(&text).ok_or(());
        }
        Term::equals(kind, &text).ok_or(())
    };
    match (&c.op, &c.value) {
        (CmpOp::Eq, Operand::Literal(l)) => Ok(vec![one(l)?]),
        (CmpOp::In, Operand::Set(items)) if !items.is_empty() => items.iter().map(one).collect(),
        (CmpOp::IsSubset, Operand::Literal(Literal::Str(net))) if kind.is_ip() => {
            Ok(vec![Term::ip(net).ok_or(())?])
        }
        (CmpOp::Like, Operand::Literal(Literal::Str(p))) => {
            let inner = p.strip_prefix('%').and_then(|s| s.strip_suffix('%'));
            match inner {
                Some(x) if !x.is_empty() && !x.contains(['%', '_']) => {
                    Ok(vec![Term::contains(kind, x).ok_or(())?])
                }
                _ if !p.contains(['%', '_']) => Ok(vec![one(&Literal::Str(p.clone()))?]),
                _ => Err(()),
            }
        }
        _ => Err(()),
    }
}

/// The conjunctions of index terms equivalent to a bracket's DNF, or `None` if some
/// comparison has no index equivalent, or a conjunction mixes object types (which cannot
/// hold on one object).
fn dnf_terms(dnf: &[Vec<SimpleComparison>]) -> Option<Vec<Vec<Term>>> {
    let mut out = Vec::new();
    for group in dnf {
        let ty = &group.first()?.object_type;
        if group.iter().any(|c| &c.object_type != ty) {
            return None;
        }
        // Cross product over IN alternatives.
        let mut alts: Vec<Vec<Term>> = vec![Vec::new()];
        for c in group {
            let terms = terms_of(c).ok()?;
            if terms.is_empty() {
                continue;
            }
            let mut next = Vec::with_capacity(alts.len() * terms.len());
            for a in &alts {
                for t in &terms {
                    let mut x = a.clone();
                    x.push(t.clone());
                    next.push(x);
                }
            }
            if next.len() > 256 {
                return None;
            }
            alts = next;
        }
        if alts.iter().any(Vec::is_empty) {
            return None;
        }
        out.extend(alts);
    }
    Some(out)
}

/// The index condition of a STIX pattern, when it is one bracket of comparisons the index
/// can answer (for [`Indicator::decompose_pattern`]). Equality is tested on normalised
/// values: hashes, domains and Windows names without regard to case, addresses canonically.
pub fn decompose(text: &str) -> Option<Condition> {
    let p = Pattern::parse(text).ok()?;
    let dnf = p.simple_comparisons()?;
    Condition::from_alternatives(dnf_terms(&dnf)?)
}

/// One term per conjunction that the bracket cannot hold without (the anchors), or `None`
/// when some way of satisfying the bracket needs no indexable value.
fn anchors_of(bracket: &tiaki_stix::pattern::ComparisonExpr) -> Option<Vec<Term>> {
    let single = Pattern::from_tree(
        ObservationExpr::Bracket(bracket.clone()),
        tiaki_stix::validate::SpecVersion::V21,
    );
    let dnf = single.simple_comparisons()?;
    let mut anchors = Vec::new();
    for group in &dnf {
        let best = group
            .iter()
            .filter_map(|c| terms_of(c).ok().filter(|t| !t.is_empty()))
            .min_by_key(|terms| {
                (
                    terms.len(),
                    terms
                        .iter()
                        .map(Term::selectivity)
                        .max()
                        .unwrap_or(u32::MAX),
                )
            })?;
        anchors.extend(best);
    }
    Some(anchors)
}

impl PatternSet {
    /// Parses the index's undecomposed patterns; returns the set and a line per pattern
    /// that could not be used (indicator id and reason).
    pub fn build(index: &IndicatorIndex) -> (PatternSet, Vec<String>) {
        let mut entries = Vec::new();
        let mut refused = Vec::new();
        let mut anchor_inds = Vec::new();
        let mut anchor_of = Vec::new();
        let mut unanchored = Vec::new();
        for &pos in index.unindexed() {
            let ind = index.get(pos);
            let Condition::Pattern(text) = &ind.condition else {
                continue;
            };
            let pattern = match Pattern::parse(text) {
                Ok(p) => p,
                Err(e) => {
                    refused.push(format!("{} ({}): {e}", ind.id, ind.source));
                    continue;
                }
            };
            if let Err(e) = pattern.check_evaluable() {
                refused.push(format!("{} ({}): {e}", ind.id, ind.source));
                continue;
            }
            let entry = entries.len() as u32;
            for (b, bracket) in pattern.brackets().iter().enumerate() {
                match anchors_of(bracket) {
                    Some(terms) if !terms.is_empty() => {
                        for t in terms {
                            anchor_of.push((entry, b as u16));
                            anchor_inds.push(Indicator::new(
                                String::new(),
                                ind.source.clone(),
                                Condition::All(vec![t]),
                            ));
                        }
                    }
                    _ => unanchored.push((entry, b as u16)),
                }
            }
            let per_event = matches!(pattern.root(), ObservationExpr::Bracket(_));
            let first_value = pattern
                .comparisons()
                .iter()
                .find_map(|c| match &c.value {
                    Operand::Literal(l) => Some(literal_display(l)),
                    Operand::Set(items) => items.first().map(literal_display),
                    Operand::None => None,
                })
                .unwrap_or_default();
            entries.push(Entry {
                indicator: pos,
                pattern,
                first_value,
                per_event,
            });
        }
        let set = PatternSet {
            entries,
            anchors: IndicatorIndex::build(anchor_inds),
            anchor_of,
            unanchored,
            refused: refused.len(),
        };
        (set, refused)
    }

    /// True when there is no pattern to evaluate.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Patterns reported per event.
    pub fn per_event(&self) -> usize {
        self.entries.iter().filter(|e| e.per_event).count()
    }

    /// Patterns over several observations.
    pub fn multi_observation(&self) -> usize {
        self.entries.len() - self.per_event()
    }

    /// Brackets tested on every event (no anchor).
    pub fn unanchored(&self) -> usize {
        self.unanchored.len()
    }

    /// The observable kinds of the anchors.
    pub fn anchor_kinds(&self) -> impl Iterator<Item = K> + '_ {
        self.anchors
            .indicators()
            .iter()
            .flat_map(|i| i.condition.alternatives().iter().flatten().map(|t| t.kind))
    }

    /// Patterns that could not be parsed or evaluated.
    pub fn refused(&self) -> usize {
        self.refused
    }

    /// Tests one event: per-event patterns that hold go to `hits`, events that satisfy a
    /// bracket of a multi-observation pattern to `deferred`.
    pub fn check(
        &self,
        event: &Event,
        extractor: &Extractor,
        extracted: &Extracted,
        scratch: &mut PatternScratch,
        hits: &mut Vec<PatternHit>,
        deferred: &mut Vec<Deferred>,
    ) {
        scratch.hits.clear();
        scratch.candidates.clear();
        if !extracted.observables.is_empty() && !self.anchor_of.is_empty() {
            self.anchors
                .lookup(&extracted.observables, None, &mut scratch.hits);
        }
        for h in &scratch.hits {
            scratch
                .candidates
                .push(self.anchor_of[h.indicator as usize]);
        }
        scratch.candidates.extend_from_slice(&self.unanchored);
        if scratch.candidates.is_empty() {
            return;
        }
        scratch.candidates.sort_unstable();
        scratch.candidates.dedup();
        let Some(observation) = observation_of(event, extractor) else {
            return;
        };
        let anchor_value = |entry: u32| -> String {
            scratch
                .hits
                .iter()
                .find(|h| self.anchor_of[h.indicator as usize].0 == entry)
                .map(|h| extracted.observables[h.observable].value.clone())
                .unwrap_or_else(|| self.entries[entry as usize].first_value.clone())
        };
        let mut i = 0;
        let cands = &scratch.candidates;
        while i < cands.len() {
            let entry = cands[i].0;
            let mut satisfied: Vec<u16> = Vec::new();
            while i < cands.len() && cands[i].0 == entry {
                let b = cands[i].1;
                let e = &self.entries[entry as usize];
                if e.pattern.matches_bracket(b as usize, &observation) == Ok(true) {
                    satisfied.push(b);
                }
                i += 1;
            }
            if satisfied.is_empty() {
                continue;
            }
            let e = &self.entries[entry as usize];
            if e.per_event {
                hits.push(PatternHit {
                    indicator: e.indicator,
                    value: anchor_value(entry),
                });
            } else {
                deferred.push(Deferred {
                    pattern: entry,
                    brackets: satisfied,
                    observation: observation.clone(),
                    source: SourceRef::from(&event.origin),
                    time: event.timestamp,
                    timestamp: event.timestamp.as_ref().map(rfc3339),
                    host: host_of(event),
                });
            }
        }
    }

    /// The indicator behind a pattern entry.
    pub fn indicator_of(&self, entry: u32) -> u32 {
        self.entries[entry as usize].indicator
    }

    /// The first value a pattern entry compares with.
    pub fn first_value(&self, entry: u32) -> &str {
        &self.entries[entry as usize].first_value
    }
}

/// A literal as a detection shows it: strings bare, the rest as written in patterns.
fn literal_display(l: &Literal) -> String {
    match l {
        Literal::Str(s) => s.clone(),
        Literal::Int(i) => i.to_string(),
        Literal::Float(f) => f.to_string(),
        Literal::Bool(b) => b.to_string(),
        Literal::Timestamp(t) => t.clone(),
        Literal::Base64(_) | Literal::Hex(_) => "(binary)".into(),
    }
}

/// The event as one STIX observation.
fn observation_of(event: &Event, extractor: &Extractor) -> Option<Observation> {
    let objects = extractor.stix_objects(event);
    Observation::from_stix_objects(&objects)
        .ok()?
        .into_iter()
        .next()
}

/// The events kept for multi-observation patterns during a hunt, and their evaluation at
/// the end.
pub struct PatternState {
    kept: HashMap<u32, Vec<Deferred>>,
    /// Candidates not kept because a pattern already had `max_kept`.
    pub dropped: u64,
    max_kept: usize,
    limits: tiaki_stix::pattern::SearchLimits,
}

impl Default for PatternState {
    fn default() -> Self {
        PatternState::new(DEFAULT_MAX_KEPT, Default::default())
    }
}

impl PatternState {
    /// Keeps at most `max_kept` events per pattern, and searches bindings within `limits`.
    pub fn new(max_kept: usize, limits: tiaki_stix::pattern::SearchLimits) -> Self {
        PatternState {
            kept: HashMap::new(),
            dropped: 0,
            max_kept,
            limits,
        }
    }

    /// Keeps an event for its pattern.
    pub fn keep(&mut self, d: Deferred) {
        let v = self.kept.entry(d.pattern).or_default();
        if v.len() < self.max_kept {
            v.push(d);
        } else {
            self.dropped += 1;
        }
    }

    /// Evaluates every multi-observation pattern on the events kept for it; returns the
    /// detections of those that match (the record is the last event of the binding, the
    /// `event` lists every bound record), in pattern order.
    pub fn finish(
        self,
        set: &PatternSet,
        detection: &dyn Fn(u32, &str) -> Detection,
        valid_at: &dyn Fn(u32, Option<chrono::DateTime<chrono::Utc>>) -> bool,
        errors: &Mutex<Vec<String>>,
    ) -> Vec<Detection> {
        let mut kept: Vec<_> = self.kept.into_iter().collect();
        kept.sort_by_key(|(k, _)| *k);
        let mut out = Vec::new();
        for (entry, events) in kept {
            let e = &set.entries[entry as usize];
            let mut hits = vec![Vec::new(); e.pattern.brackets().len()];
            for (i, d) in events.iter().enumerate() {
                for &b in &d.brackets {
                    hits[b as usize].push(i);
                }
            }
            let observations: Vec<Observation> =
                events.iter().map(|d| d.observation.clone()).collect();
            match e
                .pattern
                .find_binding_with_hits_limited(&observations, &hits, &self.limits)
            {
                Ok(Some(binding)) => {
                    let bound = binding.distinct();
                    let last = bound
                        .iter()
                        .copied()
                        .max_by_key(|&i| observations[i].last_observed.clone())
                        .unwrap_or(0);
                    let anchor = &events[last];
                    // The indicator must be valid when its pattern completed.
                    if !valid_at(e.indicator, anchor.time) {
                        continue;
                    }
                    let mut d = detection(e.indicator, &e.first_value);
                    d.timestamp = anchor.timestamp.clone();
                    d.host = anchor.host.clone();
                    d.source = anchor.source.clone();
                    let mut ev = Map::new();
                    ev.insert(
                        "observations".into(),
                        Value::Array(
                            bound
                                .iter()
                                .map(|&i| {
                                    let x = &events[i];
                                    serde_json::json!({
                                        "source": x.source.to_string(),
                                        "timestamp": x.timestamp,
                                        "host": x.host,
                                    })
                                })
                                .collect(),
                        ),
                    );
                    d.event = ev;
                    out.push(d);
                }
                Ok(None) => {}
                Err(err) => errors
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(format!("pattern of indicator {}: {err}", e.indicator)),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_patterns_become_index_terms() {
        let c = decompose("[ipv4-addr:value = '203.0.113.7']").unwrap();
        assert_eq!(c.alternatives().len(), 1);
        assert_eq!(c.alternatives()[0][0].kind, K::Ipv4);
        let c = decompose(
            "[file:hashes.'SHA-256' = 'AEC070645FE53EE3B3763059376134F058CC337247C978ADD178B6CCDFB0019F' OR file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a6879f']",
        )
        .unwrap();
        assert_eq!(c.alternatives().len(), 2);
        // MISP's ip-dst|port shape, with its string port.
        let c = decompose(
            "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '198.51.100.1' AND network-traffic:dst_port = '443']",
        )
        .unwrap();
        let kinds: Vec<K> = c.alternatives()[0].iter().map(|t| t.kind).collect();
        assert_eq!(kinds, vec![K::Ipv4, K::Port]);
        let c = decompose("[ipv4-addr:value ISSUBSET '198.51.100.0/24']").unwrap();
        assert_eq!(c.alternatives()[0].len(), 1);
        let c = decompose("[domain-name:value IN ('a.example', 'b.example')]").unwrap();
        assert_eq!(c.alternatives().len(), 2);
    }

    #[test]
    fn other_patterns_stay_for_the_matcher() {
        for p in [
            "[file:name MATCHES '^evil']",
            "[file:size > 100]",
            "[ipv4-addr:value != '1.2.3.4']",
            "[ipv4-addr:value = '1.2.3.4'] AND [domain-name:value = 'x.example']",
            "[ipv4-addr:value = '1.2.3.4'] REPEATS 2 TIMES",
            "[ipv4-addr:value = '1.2.3.4' AND domain-name:value = 'x.example']",
            "[file:name LIKE 'a%b']",
            "not a pattern",
        ] {
            assert!(decompose(p).is_none(), "{p}");
        }
    }

    #[test]
    fn anchors_need_every_conjunction_covered() {
        let p = Pattern::parse("[file:name = 'x.exe' AND file:size > 10 OR file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a6879f']").unwrap();
        let a = anchors_of(&p.brackets()[0]).unwrap();
        assert_eq!(a.len(), 2);
        let p = Pattern::parse("[file:name = 'x.exe' OR file:size > 10]").unwrap();
        assert!(anchors_of(&p.brackets()[0]).is_none());
    }
}
