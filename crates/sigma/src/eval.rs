//! Matching events against a compiled [`RuleSet`].
//!
//! Per event the engine (1) picks the rules of the event's log source,
//! (2) runs each field's literal automaton once over the lowercased value,
//! (3) evaluates only the rules whose trigger literal occurred, plus those
//! that have no trigger. Field values, automaton hits and leaf results are
//! memoised in a [`Scratch`] with epoch counters, so nothing is cleared
//! between events and each field is looked up at most once per event.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use crate::compile::{
    AtomTest, Expr, FieldId, HIT_CONTAINS, HIT_EXACT, HIT_PREFIX, HIT_SUFFIX, RuleId, RuleSet,
    Source, kind_flag,
};
use crate::event::{Event, Value};
use crate::hitcache::HitCache;
use crate::matchers::{lowercase, lowercase_into};
use crate::modifier::{StrKind, TimePart};
use crate::rule::LogSource;

/// The log source an event belongs to, as decided by the evidence reader.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventSource<'a> {
    /// `product`, e.g. `windows`.
    pub product: Option<&'a str>,
    /// `category`, e.g. `process_creation`.
    pub category: Option<&'a str>,
    /// `service`, e.g. `sysmon`.
    pub service: Option<&'a str>,
    /// Further categories the event belongs to (Sysmon 13 is both
    /// `registry_set` and `registry_event`).
    pub also_categories: &'a [Arc<str>],
    /// Further services the event belongs to (`sshd` and `auth`).
    pub also_services: &'a [Arc<str>],
}

impl<'a> EventSource<'a> {
    /// A log source with one value per key.
    pub fn new(
        product: Option<&'a str>,
        category: Option<&'a str>,
        service: Option<&'a str>,
    ) -> Self {
        EventSource {
            product,
            category,
            service,
            also_categories: &[],
            also_services: &[],
        }
    }

    /// True if a rule with log source `rule` applies to this event: every
    /// key the rule sets must be one of the event's values for that key.
    pub fn admits(&self, rule: &LogSource) -> bool {
        fn ok(r: &Option<String>, e: Option<&str>, also: &[Arc<str>]) -> bool {
            match r {
                None => true,
                Some(r) => {
                    e.is_some_and(|e| e.eq_ignore_ascii_case(r))
                        || also.iter().any(|a| a.eq_ignore_ascii_case(r))
                }
            }
        }
        ok(&rule.product, self.product, &[])
            && ok(&rule.category, self.category, self.also_categories)
            && ok(&rule.service, self.service, self.also_services)
    }
}

/// The rules to consider for one log source.
#[derive(Debug)]
struct Plan {
    /// Rules without a trigger literal.
    always: Vec<RuleId>,
    /// Membership of every rule in this plan.
    member: Vec<bool>,
    /// Scanners whose literals trigger rules of this plan.
    scanners: Vec<u32>,
}

/// A field's values as text, in buffers reused from event to event.
#[derive(Debug, Default)]
struct FieldData {
    present: bool,
    null: bool,
    len: usize,
    text_buf: Vec<String>,
    /// Lowercase forms, computed on first need.
    lower_buf: Vec<String>,
    lowered: bool,
}

impl FieldData {
    fn reset(&mut self, present: bool, null: bool) {
        self.present = present;
        self.null = null;
        self.len = 0;
        self.lowered = false;
    }

    /// The lowercase forms of the texts.
    fn lowers(&mut self) -> &[String] {
        if !self.lowered {
            while self.lower_buf.len() < self.len {
                self.lower_buf.push(String::new());
            }
            for i in 0..self.len {
                lowercase_into(&self.text_buf[i], &mut self.lower_buf[i]);
            }
            self.lowered = true;
        }
        &self.lower_buf[..self.len]
    }

    /// Appends a scalar value's text.
    fn push(&mut self, v: &Value<'_>) {
        if self.len == self.text_buf.len() {
            self.text_buf.push(String::new());
        }
        let t = &mut self.text_buf[self.len];
        t.clear();
        if v.write_text(t) {
            self.len += 1;
        }
    }

    fn texts(&self) -> &[String] {
        &self.text_buf[..self.len]
    }
}

/// Reusable per-thread working memory for matching.
#[derive(Debug)]
pub struct Scratch {
    epoch: u32,
    field_epoch: Vec<u32>,
    field_slot: Vec<u32>,
    slots: Vec<FieldData>,
    used_slots: usize,
    keywords_epoch: u32,
    keywords: FieldData,
    scanned_epoch: Vec<u32>,
    hit_epoch: Vec<u32>,
    hit_flags: Vec<u8>,
    /// Patterns hit during this event, in order of first hit.
    hit_list: Vec<u32>,
    atom_epoch: Vec<u32>,
    atom_value: Vec<bool>,
    rule_epoch: Vec<u32>,
    candidates: Vec<RuleId>,
    plans: HashMap<String, Arc<Plan>>,
    plan_key: String,
    /// Per scanner, remembered scan results (allocated on first use).
    caches: Vec<Option<Box<HitCache>>>,
    hit_tmp: Vec<(u32, u8)>,
    kw_text: String,
    lower_tmp: String,
    stats: MatchStats,
}

/// Counters of the work done by [`RuleSet::matches`], for profiling.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MatchStats {
    /// Events matched.
    pub events: u64,
    /// Rules evaluated (triggered or without trigger).
    pub rules_evaluated: u64,
    /// Distinct literals that occurred, summed over events.
    pub literal_hits: u64,
    /// Rules that matched.
    pub matches: u64,
    /// Values run through an automaton.
    pub scanned_values: u64,
    /// Values whose automaton result came from the cache of repeated values.
    pub cached_values: u64,
}

impl RuleSet {
    /// Working memory sized for this rule set; keep one per thread.
    pub fn scratch(&self) -> Scratch {
        Scratch {
            epoch: 0,
            field_epoch: vec![0; self.fields.len()],
            field_slot: vec![0; self.fields.len()],
            slots: Vec::new(),
            used_slots: 0,
            keywords_epoch: 0,
            keywords: FieldData::default(),
            scanned_epoch: vec![0; self.scanners.len()],
            hit_epoch: vec![0; self.pattern_count],
            hit_flags: vec![0; self.pattern_count],
            hit_list: Vec::new(),
            atom_epoch: vec![0; self.atoms.len()],
            atom_value: vec![false; self.atoms.len()],
            rule_epoch: vec![0; self.rules.len()],
            candidates: Vec::new(),
            plans: HashMap::new(),
            plan_key: String::new(),
            caches: (0..self.scanners.len()).map(|_| None).collect(),
            hit_tmp: Vec::new(),
            kw_text: String::new(),
            lower_tmp: String::new(),
            stats: MatchStats::default(),
        }
    }

    fn plan(&self, source: Option<&EventSource<'_>>) -> Plan {
        let mut member = vec![false; self.rules.len()];
        let mut always = Vec::new();
        let mut scanners = Vec::new();
        for (i, r) in self.rules.iter().enumerate() {
            if source.is_none_or(|s| s.admits(&r.meta.logsource)) {
                member[i] = true;
                match &r.triggers {
                    None => always.push(i as RuleId),
                    Some(t) => scanners.extend(t.iter().map(|p| self.pattern_scanner[*p as usize])),
                }
            }
        }
        scanners.sort_unstable();
        scanners.dedup();
        Plan {
            always,
            member,
            scanners,
        }
    }

    /// Finds every rule that matches `event`, appending their ids to `out`
    /// in ascending order. With `source: None` every rule is tried whatever
    /// its log source.
    pub fn matches(
        &self,
        event: &dyn Event,
        source: Option<&EventSource<'_>>,
        scratch: &mut Scratch,
        out: &mut Vec<RuleId>,
    ) {
        scratch.begin();
        // The plan for this log source, cached per scratch.
        scratch.plan_key.clear();
        match source {
            None => scratch.plan_key.push('\u{1}'),
            Some(s) => {
                for part in [s.product, s.category, s.service] {
                    scratch.plan_key.push_str(part.unwrap_or("\u{2}"));
                    scratch.plan_key.push('\0');
                }
                for (tag, list) in [('c', s.also_categories), ('s', s.also_services)] {
                    for a in list {
                        scratch.plan_key.push(tag);
                        scratch.plan_key.push_str(a);
                        scratch.plan_key.push('\0');
                    }
                }
            }
        }
        let plan = match scratch.plans.get(scratch.plan_key.as_str()) {
            Some(p) => p.clone(),
            None => {
                let p = Arc::new(self.plan(source));
                scratch.plans.insert(scratch.plan_key.clone(), p.clone());
                p
            }
        };
        let epoch = scratch.epoch;
        let mut ctx = Ctx {
            set: self,
            event,
            s: scratch,
        };
        ctx.s.candidates.clear();
        for &sc in &plan.scanners {
            ctx.scan(sc);
        }
        // Rules triggered by literals that occurred.
        for &p in &ctx.s.hit_list {
            for &r in &self.pattern_rules[p as usize] {
                if plan.member[r as usize] && ctx.s.rule_epoch[r as usize] != epoch {
                    ctx.s.rule_epoch[r as usize] = epoch;
                    ctx.s.candidates.push(r);
                }
            }
        }
        ctx.s.candidates.extend_from_slice(&plan.always);
        let mut candidates = std::mem::take(&mut ctx.s.candidates);
        candidates.sort_unstable();
        let start = out.len();
        ctx.s.stats.events += 1;
        ctx.s.stats.rules_evaluated += candidates.len() as u64;
        ctx.s.stats.literal_hits += ctx.s.hit_list.len() as u64;
        for &r in &candidates {
            if ctx.eval(&self.rules[r as usize].expr) {
                out.push(r);
            }
        }
        debug_assert!(out[start..].windows(2).all(|w| w[0] < w[1]));
        ctx.s.stats.matches += (out.len() - start) as u64;
        ctx.s.candidates = candidates;
    }

    /// Evaluates one rule against an event, ignoring log sources and
    /// triggers (slower; for tests and single-rule checks).
    pub fn rule_matches(&self, rule: RuleId, event: &dyn Event, scratch: &mut Scratch) -> bool {
        scratch.begin();
        let mut ctx = Ctx {
            set: self,
            event,
            s: scratch,
        };
        ctx.eval(&self.rules[rule as usize].expr)
    }
}

impl Scratch {
    /// The work counters accumulated by this scratch.
    pub fn stats(&self) -> MatchStats {
        self.stats
    }

    fn begin(&mut self) {
        self.used_slots = 0;
        self.hit_list.clear();
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            // Wrapped: forget everything.
            for v in [
                &mut self.field_epoch,
                &mut self.scanned_epoch,
                &mut self.hit_epoch,
                &mut self.atom_epoch,
                &mut self.rule_epoch,
            ] {
                v.iter_mut().for_each(|e| *e = 0);
            }
            self.keywords_epoch = 0;
            self.epoch = 1;
        }
    }
}

struct Ctx<'a, 'e> {
    set: &'a RuleSet,
    event: &'e dyn Event,
    s: &'a mut Scratch,
}

fn fill(data: &mut FieldData, value: Option<Value<'_>>) {
    data.reset(value.is_some(), matches!(value, Some(Value::Null)));
    fn push(data: &mut FieldData, v: &Value<'_>) {
        match v {
            Value::List(items) => items.iter().for_each(|i| push(data, i)),
            other => data.push(other),
        }
    }
    if let Some(v) = &value {
        push(data, v);
    }
}

impl Ctx<'_, '_> {
    fn field(&mut self, f: FieldId) -> &FieldData {
        let fi = f as usize;
        if self.s.field_epoch[fi] != self.s.epoch {
            if self.s.used_slots == self.s.slots.len() {
                self.s.slots.push(FieldData::default());
            }
            let slot = self.s.used_slots;
            self.s.used_slots += 1;
            let value = self.event.field(&self.set.fields[fi]);
            fill(&mut self.s.slots[slot], value);
            self.s.field_slot[fi] = slot as u32;
            self.s.field_epoch[fi] = self.s.epoch;
        }
        &self.s.slots[self.s.field_slot[fi] as usize]
    }

    fn source(&mut self, src: Source) -> &FieldData {
        match src {
            Source::Field(f) => self.field(f),
            Source::Keywords(_) => {
                if self.s.keywords_epoch != self.s.epoch {
                    let data = &mut self.s.keywords;
                    data.reset(true, false);
                    self.event.for_each_value(&mut |v| data.push(v));
                    self.s.keywords_epoch = self.s.epoch;
                }
                &self.s.keywords
            }
        }
    }

    /// Runs a scanner's automaton over its source once per event. Values
    /// seen before are answered from the scanner's [`HitCache`].
    fn scan(&mut self, sc: u32) {
        if self.s.scanned_epoch[sc as usize] == self.s.epoch {
            return;
        }
        self.s.scanned_epoch[sc as usize] = self.s.epoch;
        let scanner = &self.set.scanners[sc as usize];
        let epoch = self.s.epoch;
        match scanner.source {
            Source::Field(f) => {
                self.field(f);
                // Borrow the value texts, the cache and the hit arrays separately.
                let s = &mut *self.s;
                let data = &mut s.slots[s.field_slot[f as usize] as usize];
                let cache = s.caches[sc as usize].get_or_insert_with(Box::default);
                let mut hits = Hits {
                    epoch,
                    hit_epoch: &mut s.hit_epoch,
                    hit_flags: &mut s.hit_flags,
                    hit_list: &mut s.hit_list,
                };
                for i in 0..data.len {
                    let text = &data.text_buf[i];
                    // Without one of the automaton's chosen bytes nothing can match: such a
                    // value costs neither a hash nor a cache slot.
                    if !scanner.needs_byte.may_match(text) {
                        continue;
                    }
                    let h = cache.hash(text);
                    if let Some(found) = cache.get(h, text) {
                        s.stats.cached_values += 1;
                        hits.apply(scanner.base, found, !0);
                        continue;
                    }
                    s.hit_tmp.clear();
                    s.stats.scanned_values += 1;
                    lowercase_into(text, &mut s.lower_tmp);
                    collect_hits(scanner, &s.lower_tmp, &mut s.hit_tmp);
                    cache.put(h, text, &s.hit_tmp);
                    hits.apply(scanner.base, &s.hit_tmp, !0);
                }
            }
            Source::Keywords(_) => {
                // Keyword literals always match as substrings of a value,
                // so only the "contains" flag is kept.
                let s = &mut *self.s;
                let cache = s.caches[sc as usize].get_or_insert_with(Box::default);
                let mut hits = Hits {
                    epoch,
                    hit_epoch: &mut s.hit_epoch,
                    hit_flags: &mut s.hit_flags,
                    hit_list: &mut s.hit_list,
                };
                let (text, lower, tmp, stats) = (
                    &mut s.kw_text,
                    &mut s.lower_tmp,
                    &mut s.hit_tmp,
                    &mut s.stats,
                );
                self.event.for_each_value(&mut |v| {
                    let Some(text) = v.text(text) else {
                        return;
                    };
                    if text.is_empty() || !scanner.needs_byte.may_match(text) {
                        return;
                    }
                    let h = cache.hash(text);
                    if let Some(found) = cache.get(h, text) {
                        stats.cached_values += 1;
                        hits.apply(scanner.base, found, HIT_CONTAINS);
                        return;
                    }
                    tmp.clear();
                    stats.scanned_values += 1;
                    lowercase_into(text, lower);
                    collect_hits(scanner, lower, tmp);
                    cache.put(h, text, tmp);
                    hits.apply(scanner.base, tmp, HIT_CONTAINS);
                });
            }
        }
    }

    fn eval(&mut self, e: &Expr) -> bool {
        match e {
            Expr::And(parts) => parts.iter().all(|p| self.eval(p)),
            Expr::Or(parts) => parts.iter().any(|p| self.eval(p)),
            Expr::Not(inner) => !self.eval(inner),
            Expr::Const(b) => *b,
            Expr::Atom(a) => self.atom(*a),
        }
    }

    fn atom(&mut self, a: u32) -> bool {
        let ai = a as usize;
        if self.s.atom_epoch[ai] == self.s.epoch {
            return self.s.atom_value[ai];
        }
        let value = self.compute(a);
        self.s.atom_epoch[ai] = self.s.epoch;
        self.s.atom_value[ai] = value;
        value
    }

    fn compute(&mut self, a: u32) -> bool {
        let set = self.set;
        let atom = &set.atoms[a as usize];
        match &atom.test {
            AtomTest::Lit { text, kind } => match atom.trigger {
                Some(pattern) => {
                    let sc = set.pattern_scanner[pattern as usize];
                    self.scan(sc);
                    let p = pattern as usize;
                    self.s.hit_epoch[p] == self.s.epoch
                        && self.s.hit_flags[p] & kind_flag(*kind) != 0
                }
                None => {
                    self.source(atom.source);
                    let data = source_data_mut(self.s, atom.source);
                    data.lowers().iter().any(|t| str_match(*kind, t, text))
                }
            },
            AtomTest::AnyString => !self.source(atom.source).texts().is_empty(),
            AtomTest::EmptyString => self
                .source(atom.source)
                .texts()
                .iter()
                .any(String::is_empty),
            AtomTest::Glob(glob) => {
                if let Some(t) = atom.trigger {
                    let sc = set.pattern_scanner[t as usize];
                    self.scan(sc);
                    if self.s.hit_epoch[t as usize] != self.s.epoch {
                        return false;
                    }
                }
                self.source(atom.source);
                let data = source_data_mut(self.s, atom.source);
                if glob.cased() {
                    data.texts().iter().any(|t| glob.is_match(t))
                } else {
                    data.lowers().iter().any(|t| glob.is_match(t))
                }
            }
            AtomTest::Cased { kind, text } => self
                .source(atom.source)
                .texts()
                .iter()
                .any(|t| str_match(*kind, t, text)),
            AtomTest::Regex(re) => {
                // A regex whose required literal is a trigger cannot match
                // when the literal did not occur.
                if let Some(t) = atom.trigger {
                    let sc = set.pattern_scanner[t as usize];
                    self.scan(sc);
                    if self.s.hit_epoch[t as usize] != self.s.epoch {
                        return false;
                    }
                }
                self.source(atom.source)
                    .texts()
                    .iter()
                    .any(|t| re.is_match(t))
            }
            AtomTest::Cidr(net) => self
                .source(atom.source)
                .texts()
                .iter()
                .any(|t| t.trim().parse::<IpAddr>().is_ok_and(|ip| net.contains(&ip))),
            AtomTest::Compare(op, n) => self
                .source(atom.source)
                .texts()
                .iter()
                .any(|t| t.trim().parse::<f64>().is_ok_and(|v| op.holds(v, *n))),
            AtomTest::Null => {
                let d = self.source(atom.source);
                !d.present || d.null
            }
            AtomTest::Exists(b) => self.source(atom.source).present == *b,
            AtomTest::FieldRef { other, kind, cased } => {
                let (kind, cased) = (*kind, *cased);
                let fold = |t: &String| if cased { t.clone() } else { lowercase(t) };
                let others: Vec<String> = self.field(*other).texts().iter().map(fold).collect();
                let mine: Vec<String> = self.source(atom.source).texts().iter().map(fold).collect();
                mine.iter()
                    .any(|m| others.iter().any(|o| str_match(kind, m, o)))
            }
            AtomTest::Time(part, op, n) => self
                .source(atom.source)
                .texts()
                .iter()
                .any(|t| time_part(t, *part).is_some_and(|v| op.holds(v as f64, *n as f64))),
        }
    }
}

fn source_data_mut(s: &mut Scratch, src: Source) -> &mut FieldData {
    match src {
        Source::Field(f) => &mut s.slots[s.field_slot[f as usize] as usize],
        Source::Keywords(_) => &mut s.keywords,
    }
}

/// The per-event hit arrays a scan writes into.
struct Hits<'a> {
    epoch: u32,
    hit_epoch: &'a mut [u32],
    hit_flags: &'a mut [u8],
    hit_list: &'a mut Vec<u32>,
}

impl Hits<'_> {
    /// Records a scanner's hits (local pattern ids with flags, flags masked).
    fn apply(&mut self, base: u32, found: &[(u32, u8)], mask: u8) {
        for &(local, flags) in found {
            let p = (base + local) as usize;
            let flags = flags & mask;
            if self.hit_epoch[p] != self.epoch {
                self.hit_epoch[p] = self.epoch;
                self.hit_flags[p] = flags;
                self.hit_list.push(p as u32);
            } else {
                self.hit_flags[p] |= flags;
            }
        }
    }
}

/// Every literal of `scanner` that occurs in `text` (already lowercased),
/// with where it occurs: anywhere, at the start, at the end, or the whole text.
fn collect_hits(scanner: &crate::compile::Scanner, text: &str, out: &mut Vec<(u32, u8)>) {
    let len = text.len();
    // Most values contain no trigger literal: a non-overlapping search can
    // use the automaton's prefilter to say so quickly.
    if let Some(gate) = &scanner.gate
        && !gate.is_match(text)
    {
        return;
    }
    for m in scanner.ac.find_overlapping_iter(text) {
        let mut flags = HIT_CONTAINS;
        if m.start() == 0 {
            flags |= HIT_PREFIX;
        }
        if m.end() == len {
            flags |= HIT_SUFFIX;
            if m.start() == 0 {
                flags |= HIT_EXACT;
            }
        }
        out.push((m.pattern().as_u32(), flags));
    }
}

fn str_match(kind: StrKind, value: &str, pattern: &str) -> bool {
    match kind {
        StrKind::Exact => value == pattern,
        StrKind::Prefix => value.starts_with(pattern),
        StrKind::Suffix => value.ends_with(pattern),
        StrKind::Contains => value.contains(pattern),
    }
}

/// Extracts a part of a timestamp written as `YYYY-MM-DD[T ]hh:mm[:ss...]`.
/// No time zone conversion is done (the specification says so).
fn time_part(text: &str, part: TimePart) -> Option<i64> {
    let b = text.trim().as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = b.get(r)?;
        if s.iter().all(u8::is_ascii_digit) {
            std::str::from_utf8(s).ok()?.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let time = |r| {
        if b.len() >= 16 && matches!(b[10], b'T' | b't' | b' ') && b[13] == b':' {
            num(r)
        } else {
            None
        }
    };
    Some(match part {
        TimePart::Year => y,
        TimePart::Month => m,
        TimePart::Day => d,
        TimePart::Hour => time(11..13)?,
        TimePart::Minute => time(14..16)?,
        TimePart::Week => iso_week(y, m, d),
    })
}

/// Days since 1970-01-01 for a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// ISO 8601 week number.
fn iso_week(y: i64, m: i64, d: i64) -> i64 {
    let days = days_from_civil(y, m, d);
    let weekday = (days + 3).rem_euclid(7) + 1; // Monday = 1
    let ordinal = days - days_from_civil(y, 1, 1) + 1;
    let week = (ordinal - weekday + 10) / 7;
    let weeks_in = |year: i64| {
        let jan1 = (days_from_civil(year, 1, 1) + 3).rem_euclid(7) + 1;
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        if jan1 == 4 || (leap && jan1 == 3) {
            53
        } else {
            52
        }
    };
    if week < 1 {
        weeks_in(y - 1)
    } else if week > weeks_in(y) {
        1
    } else {
        week
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_weeks() {
        assert_eq!(iso_week(2024, 1, 10), 2);
        assert_eq!(iso_week(2024, 1, 20), 3);
        assert_eq!(iso_week(2021, 1, 1), 53); // belongs to 2020's week 53
        assert_eq!(iso_week(2024, 12, 30), 1); // belongs to 2025's week 1
        assert_eq!(iso_week(2026, 11, 28), 48);
    }

    #[test]
    fn time_parts() {
        assert_eq!(time_part("2024-01-10T03:15:00", TimePart::Hour), Some(3));
        assert_eq!(
            time_part("2024-01-10 03:15:00.123Z", TimePart::Minute),
            Some(15)
        );
        assert_eq!(time_part("2024-01-10", TimePart::Hour), None);
        assert_eq!(time_part("garbage", TimePart::Year), None);
    }
}
