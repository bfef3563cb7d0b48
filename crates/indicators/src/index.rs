//! The indicator index: every event's observables tested against a national-scale feed at
//! the cost of a few hash probes.
//!
//! A hunt runs millions of events against up to millions of indicators, and nearly every
//! test is a miss, so the index is built for cheap misses:
//!
//! * **exact values** — one hash map from a 64-bit hash of (kind, value) to a posting: an
//!   indicator position, or a run of positions in a shared arena when several indicators
//!   (the same value from several feeds) share the key. Keys are hashes, not strings, so the
//!   values are not stored twice; a hit is confirmed against the indicator's own term.
//! * **networks** — per address family, the CIDR terms sorted by (prefix length, network).
//!   An address is masked once per prefix length present and binary-searched, which finds
//!   every containing network, not only the longest.
//! * **substrings** — one Aho–Corasick automaton per observable kind over the `Contains`
//!   terms (ASCII case-insensitive), reporting overlapping matches.
//! * **conjunctions** — each conjunction is keyed on its most selective term (equality >
//!   network > substring > a port; digests before domains before addresses); the other
//!   terms are verified against the same event's observables on a hit.
//!
//! Validity windows are checked on a hit. [`Condition::Pattern`] indicators are not indexed;
//! [`IndicatorIndex::unindexed`] lists them for the full STIX matcher. Lookups allocate
//! nothing beyond growing the caller's output vector.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::net::IpAddr;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use chrono::{DateTime, Utc};
use foldhash::fast::RandomState;

use crate::feed::Interner;
use crate::indicator::{Condition, Indicator, Term, ValueTest};
use crate::observable::{Observable, ObservableKind, parse_ip};

/// One match: an indicator and the observable that keyed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IndexHit {
    /// The indicator's position in the index ([`IndicatorIndex::get`]).
    pub indicator: u32,
    /// The position, in the observables passed to [`IndicatorIndex::lookup`], of the
    /// observable that satisfied the indicator's key term.
    pub observable: usize,
}

/// Sizes of the index's parts, for reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IndexStats {
    /// Indicators held.
    pub indicators: usize,
    /// Distinct exact keys.
    pub exact_keys: usize,
    /// Postings (key, indicator) for exact keys.
    pub exact_postings: usize,
    /// IPv4 network postings.
    pub cidr_v4: usize,
    /// IPv6 network postings.
    pub cidr_v6: usize,
    /// Distinct substring patterns, over all kinds.
    pub contains_patterns: usize,
    /// Indicators with a pattern the index cannot key.
    pub unindexed: usize,
    /// Approximate heap bytes of the index structures (not the indicators themselves).
    pub heap_bytes: usize,
}

/// A posting in the map: an indicator position, or (high bit set) the offset in
/// `arena` of a run `[len, pos, pos, …]`.
const MULTI: u32 = 1 << 31;

/// Hash values are already well mixed: the map uses them as they are.
#[derive(Debug, Default, Clone, Copy)]
struct PreHashed;

#[derive(Debug, Default)]
struct PreHasher(u64);

impl Hasher for PreHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

impl BuildHasher for PreHashed {
    type Hasher = PreHasher;
    fn build_hasher(&self) -> PreHasher {
        PreHasher(0)
    }
}

/// Networks of one address family, sorted by (prefix length, network), with a bucket
/// filter so that an address is only probed at the prefix lengths that can contain it.
///
/// Prefixes no longer than `A::BUCKET_BITS` (`/16` for IPv4, `/32` for IPv6) are few and
/// probed for every address. Longer ones are filed under their first `BUCKET_BITS` bits with
/// a bit mask of the lengths present there: most addresses fall in a bucket with no network
/// and cost one probe.
#[derive(Debug, Default)]
struct PrefixTable<A: Addr> {
    entries: Vec<(A, u32)>,
    /// (prefix length, start, end) into `entries`, shortest first.
    lens: Vec<(u8, u32, u32)>,
    /// Lengths up to `BUCKET_BITS` present, as indexes into `lens`.
    short: Vec<u8>,
    /// Bucket (the address's first `BUCKET_BITS` bits) → lengths above `BUCKET_BITS` present
    /// (bit `len - BUCKET_BITS - 1`).
    buckets: A::Buckets,
}

trait Addr: Copy + Ord + Default {
    const BITS: u8;
    const BUCKET_BITS: u8;
    type Buckets: Buckets + Default + std::fmt::Debug;
    fn mask(self, len: u8) -> Self;
    fn bucket(self) -> u32;
}

/// Bucket → bit mask of the long prefix lengths present in it.
trait Buckets {
    fn set(&mut self, bucket: u32, bit: u8);
    fn get(&self, bucket: u32) -> u128;
}

/// IPv4: a dense table, one `u16` per /16 (128 KiB when any long prefix exists).
#[derive(Debug, Default)]
struct DenseBuckets(Vec<u16>);

impl Buckets for DenseBuckets {
    fn set(&mut self, bucket: u32, bit: u8) {
        if self.0.is_empty() {
            self.0 = vec![0; 1 << 16];
        }
        self.0[bucket as usize] |= 1 << bit;
    }
    fn get(&self, bucket: u32) -> u128 {
        self.0.get(bucket as usize).map_or(0, |&m| u128::from(m))
    }
}

/// IPv6: a hash map keyed by the first 32 bits.
#[derive(Debug, Default)]
struct SparseBuckets(HashMap<u32, u128, foldhash::fast::FixedState>);

impl Buckets for SparseBuckets {
    fn set(&mut self, bucket: u32, bit: u8) {
        *self.0.entry(bucket).or_default() |= 1 << bit;
    }
    fn get(&self, bucket: u32) -> u128 {
        self.0.get(&bucket).copied().unwrap_or(0)
    }
}

impl Addr for u32 {
    const BITS: u8 = 32;
    const BUCKET_BITS: u8 = 16;
    type Buckets = DenseBuckets;
    fn mask(self, len: u8) -> u32 {
        if len == 0 {
            0
        } else {
            self & (u32::MAX << (32 - u32::from(len)))
        }
    }
    fn bucket(self) -> u32 {
        self >> 16
    }
}

impl Addr for u128 {
    const BITS: u8 = 128;
    const BUCKET_BITS: u8 = 32;
    type Buckets = SparseBuckets;
    fn mask(self, len: u8) -> u128 {
        if len == 0 {
            0
        } else {
            self & (u128::MAX << (128 - u32::from(len)))
        }
    }
    fn bucket(self) -> u32 {
        (self >> 96) as u32
    }
}

impl<A: Addr> PrefixTable<A> {
    fn build(mut items: Vec<(u8, A, u32)>) -> PrefixTable<A> {
        items.sort_unstable();
        items.dedup();
        let mut t = PrefixTable::<A>::default();
        for (i, (len, net, _)) in items.iter().enumerate() {
            match t.lens.last_mut() {
                Some((l, _, end)) if l == len => *end = i as u32 + 1,
                _ => {
                    if *len <= A::BUCKET_BITS {
                        t.short.push(t.lens.len() as u8);
                    }
                    t.lens.push((*len, i as u32, i as u32 + 1));
                }
            }
            if *len > A::BUCKET_BITS {
                t.buckets.set(net.bucket(), len - A::BUCKET_BITS - 1);
            }
        }
        t.entries = items.into_iter().map(|(_, a, p)| (a, p)).collect();
        t
    }

    fn probe(&self, li: usize, addr: A, f: &mut impl FnMut(u32)) {
        let (len, start, end) = self.lens[li];
        let net = addr.mask(len.min(A::BITS));
        let run = &self.entries[start as usize..end as usize];
        let first = run.partition_point(|(a, _)| *a < net);
        for (a, pos) in &run[first..] {
            if *a != net {
                break;
            }
            f(*pos);
        }
    }

    /// Calls `f` with every indicator position whose network contains `addr`.
    fn for_each(&self, addr: A, mut f: impl FnMut(u32)) {
        if self.entries.is_empty() {
            return;
        }
        for &li in &self.short {
            self.probe(usize::from(li), addr, &mut f);
        }
        let mut mask = self.buckets.get(addr.bucket());
        if mask == 0 {
            return;
        }
        // Long lengths follow the short ones in `lens`, in increasing order.
        for li in self.short.len()..self.lens.len() {
            let bit = self.lens[li].0 - A::BUCKET_BITS - 1;
            if mask & (1 << bit) != 0 {
                self.probe(li, addr, &mut f);
                mask &= !(1 << bit);
                if mask == 0 {
                    break;
                }
            }
        }
    }
}

/// The substring patterns of one kind.
#[derive(Debug)]
struct ContainsSet {
    ac: AhoCorasick,
    /// Pattern id → posting (as in the exact map).
    postings: Vec<u32>,
}

/// The indicator index. Build it once from every feed's indicators; it is `Send + Sync` and
/// looked up from many threads.
#[derive(Debug)]
pub struct IndicatorIndex {
    indicators: Vec<Indicator>,
    hasher: RandomState,
    exact: HashMap<u64, u32, PreHashed>,
    arena: Vec<u32>,
    v4: PrefixTable<u32>,
    v6: PrefixTable<u128>,
    /// Indexed by `ObservableKind as usize`.
    contains: Vec<Option<ContainsSet>>,
    unindexed: Vec<u32>,
    exact_postings: usize,
}

/// The position of the term a conjunction is keyed on: the most selective, the first of
/// equals.
fn key_term(alt: &[Term]) -> usize {
    let mut best = 0;
    for (i, t) in alt.iter().enumerate() {
        if t.selectivity() > alt[best].selectivity() {
            best = i;
        }
    }
    best
}

/// Groups sorted (key, position) pairs into postings: a position alone, or a run in `arena`.
fn posting(positions: &[u32], arena: &mut Vec<u32>) -> u32 {
    if positions.len() == 1 {
        return positions[0];
    }
    let at = arena.len() as u32;
    assert!(at < MULTI, "indicator index arena overflow");
    arena.push(positions.len() as u32);
    arena.extend_from_slice(positions);
    at | MULTI
}

impl IndicatorIndex {
    /// Builds the index. Text shared by many indicators (sources, names, intrusion sets,
    /// labels) is interned so that equal strings from different feeds are held once.
    ///
    /// # Panics
    /// With 2³¹ indicators or more.
    pub fn build(mut indicators: Vec<Indicator>) -> IndicatorIndex {
        assert!(
            indicators.len() < MULTI as usize,
            "at most 2^31 - 1 indicators per index"
        );
        let mut strings = Interner::default();
        for ind in &mut indicators {
            strings.share(&mut ind.source);
            if let Some(n) = &mut ind.name {
                strings.share(n);
            }
            for a in ind.intrusion_sets.iter_mut().chain(ind.labels.iter_mut()) {
                strings.share(a);
            }
        }
        drop(strings);

        let hasher = RandomState::default();
        let mut exact_pairs: Vec<(u64, u32)> = Vec::new();
        let mut v4: Vec<(u8, u32, u32)> = Vec::new();
        let mut v6: Vec<(u8, u128, u32)> = Vec::new();
        let mut contains: Vec<Vec<(String, u32)>> = vec![Vec::new(); ObservableKind::ALL.len()];
        let mut unindexed = Vec::new();
        for (pos, ind) in indicators.iter().enumerate() {
            let pos = pos as u32;
            if let Condition::Pattern(_) = ind.condition {
                unindexed.push(pos);
                continue;
            }
            for alt in ind.condition.alternatives() {
                if alt.is_empty() {
                    continue;
                }
                let t = &alt[key_term(alt)];
                match &t.test {
                    ValueTest::Equals(v) => exact_pairs.push((key_hash(&hasher, t.kind, v), pos)),
                    ValueTest::Cidr(ipnet::IpNet::V4(n)) => {
                        v4.push((n.prefix_len(), u32::from(n.network()), pos))
                    }
                    ValueTest::Cidr(ipnet::IpNet::V6(n)) => {
                        v6.push((n.prefix_len(), u128::from(n.network()), pos))
                    }
                    ValueTest::Contains(s) => {
                        contains[t.kind as usize].push((s.to_ascii_lowercase(), pos))
                    }
                }
            }
        }

        exact_pairs.sort_unstable();
        exact_pairs.dedup();
        let exact_postings = exact_pairs.len();
        let mut arena = Vec::new();
        let mut exact: HashMap<u64, u32, PreHashed> = HashMap::with_capacity_and_hasher(
            exact_pairs.chunk_by(|a, b| a.0 == b.0).count(),
            PreHashed,
        );
        let mut run: Vec<u32> = Vec::new();
        for group in exact_pairs.chunk_by(|a, b| a.0 == b.0) {
            run.clear();
            run.extend(group.iter().map(|(_, p)| *p));
            exact.insert(group[0].0, posting(&run, &mut arena));
        }
        drop(exact_pairs);

        let contains = contains
            .into_iter()
            .map(|mut pats| {
                if pats.is_empty() {
                    return None;
                }
                pats.sort_unstable();
                pats.dedup();
                let mut needles: Vec<String> = Vec::new();
                let mut postings = Vec::new();
                for group in pats.chunk_by(|a, b| a.0 == b.0) {
                    run.clear();
                    run.extend(group.iter().map(|(_, p)| *p));
                    needles.push(group[0].0.clone());
                    postings.push(posting(&run, &mut arena));
                }
                let ac = AhoCorasickBuilder::new()
                    .match_kind(MatchKind::Standard)
                    .ascii_case_insensitive(true)
                    .build(&needles)
                    .expect("substring automaton within aho-corasick's limits");
                Some(ContainsSet { ac, postings })
            })
            .collect();
        arena.shrink_to_fit();

        IndicatorIndex {
            indicators,
            hasher,
            exact,
            arena,
            v4: PrefixTable::build(v4),
            v6: PrefixTable::build(v6),
            contains,
            unindexed,
            exact_postings,
        }
    }

    /// How many indicators the index holds.
    pub fn len(&self) -> usize {
        self.indicators.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.indicators.is_empty()
    }

    /// The indicator at `position` (from an [`IndexHit`]).
    ///
    /// # Panics
    /// If `position` is out of range.
    pub fn get(&self, position: u32) -> &Indicator {
        &self.indicators[position as usize]
    }

    /// Every indicator, in position order.
    pub fn indicators(&self) -> &[Indicator] {
        &self.indicators
    }

    /// Positions of the indicators the index cannot key ([`Condition::Pattern`]), for the
    /// full STIX pattern matcher.
    pub fn unindexed(&self) -> &[u32] {
        &self.unindexed
    }

    /// The sizes of the index's parts.
    pub fn stats(&self) -> IndexStats {
        IndexStats {
            indicators: self.indicators.len(),
            exact_keys: self.exact.len(),
            exact_postings: self.exact_postings,
            cidr_v4: self.v4.entries.len(),
            cidr_v6: self.v6.entries.len(),
            contains_patterns: self
                .contains
                .iter()
                .flatten()
                .map(|c| c.postings.len())
                .sum(),
            unindexed: self.unindexed.len(),
            heap_bytes: self.structure_bytes(),
        }
    }

    fn structure_bytes(&self) -> usize {
        use std::mem::size_of;
        // hashbrown: one control byte per bucket plus the entry, 7/8 load.
        let map = self.exact.capacity() * (size_of::<(u64, u32)>() + 1) * 8 / 7;
        let v4 =
            self.v4.entries.capacity() * size_of::<(u32, u32)>() + self.v4.buckets.0.capacity() * 2;
        let v6 = self.v6.entries.capacity() * size_of::<(u128, u32)>()
            + self.v6.buckets.0.capacity() * (size_of::<(u32, u128)>() + 1);
        let ac: usize = self
            .contains
            .iter()
            .flatten()
            .map(|c| c.ac.memory_usage() + c.postings.capacity() * 4)
            .sum();
        map + v4 + v6 + ac + self.arena.capacity() * 4 + self.unindexed.capacity() * 4
    }

    fn positions<'a>(&'a self, posting: &'a u32) -> &'a [u32] {
        if posting & MULTI == 0 {
            std::slice::from_ref(posting)
        } else {
            let at = (posting & !MULTI) as usize;
            let len = self.arena[at] as usize;
            &self.arena[at + 1..at + 1 + len]
        }
    }

    /// Appends to `out` every indicator matched by the observables of one event, valid at
    /// `event_time` (an event without a time matches regardless of validity). Each matched
    /// indicator is reported once, with the first observable that keyed it; hits are
    /// appended in indicator order. Allocates nothing but `out`'s growth.
    pub fn lookup(
        &self,
        observables: &[Observable],
        event_time: Option<DateTime<Utc>>,
        out: &mut Vec<IndexHit>,
    ) {
        let start = out.len();
        for (oi, obs) in observables.iter().enumerate() {
            let h = key_hash(&self.hasher, obs.kind, &obs.value);
            if let Some(p) = self.exact.get(&h) {
                for &pos in self.positions(p) {
                    self.verify(pos, oi, observables, event_time, out);
                }
            }
            if obs.kind.is_ip() {
                match parse_ip(&obs.value) {
                    Some(IpAddr::V4(a)) => self.v4.for_each(u32::from(a), |pos| {
                        self.verify(pos, oi, observables, event_time, out)
                    }),
                    Some(IpAddr::V6(a)) => self.v6.for_each(u128::from(a), |pos| {
                        self.verify(pos, oi, observables, event_time, out)
                    }),
                    None => {}
                }
            }
            if let Some(Some(set)) = self.contains.get(obs.kind as usize) {
                for m in set.ac.find_overlapping_iter(obs.value.as_str()) {
                    for &pos in self.positions(&set.postings[m.pattern().as_usize()]) {
                        self.verify(pos, oi, observables, event_time, out);
                    }
                }
            }
        }
        // One hit per indicator, the first observable that keyed it.
        let tail = &mut out[start..];
        tail.sort_unstable();
        let mut keep = start;
        for i in start..out.len() {
            if i == start || out[i].indicator != out[keep - 1].indicator {
                out[keep] = out[i];
                keep += 1;
            }
        }
        out.truncate(keep);
    }

    /// Confirms a candidate: valid at the time, and some conjunction keyed on a term that
    /// `observables[oi]` satisfies has all its other terms satisfied by the event.
    fn verify(
        &self,
        pos: u32,
        oi: usize,
        observables: &[Observable],
        at: Option<DateTime<Utc>>,
        out: &mut Vec<IndexHit>,
    ) {
        let ind = &self.indicators[pos as usize];
        if !ind.is_valid_at(at) {
            return;
        }
        let obs = &observables[oi];
        for alt in ind.condition.alternatives() {
            if alt.is_empty() {
                continue;
            }
            let k = key_term(alt);
            if !alt[k].matches(obs) {
                continue;
            }
            let rest_hold = alt
                .iter()
                .enumerate()
                .all(|(j, t)| j == k || observables.iter().any(|o| t.matches(o)));
            if rest_hold {
                out.push(IndexHit {
                    indicator: pos,
                    observable: oi,
                });
                return;
            }
        }
    }
}

fn key_hash(hasher: &RandomState, kind: ObservableKind, value: &str) -> u64 {
    let mut h = hasher.build_hasher();
    h.write_u8(kind as u8);
    h.write(value.as_bytes());
    h.write_u8(0xff);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ObservableKind as K;
    use std::sync::Arc;

    fn ind(id: &str, c: Condition) -> Indicator {
        Indicator::new(id, Arc::from("t"), c)
    }
    fn eq(k: K, v: &str) -> Term {
        Term::equals(k, v).unwrap()
    }
    fn o(k: K, v: &str) -> Observable {
        Observable::new(k, v).unwrap()
    }

    #[test]
    fn keyed_on_the_most_selective_term() {
        let alt = vec![
            eq(K::Port, "443"),
            Term::ip("10.0.0.0/8").unwrap(),
            eq(K::Sha256, &"a".repeat(64)),
            eq(K::FileName, "x.exe"),
        ];
        assert_eq!(key_term(&alt), 2);
        assert_eq!(key_term(&alt[..2]), 1);
        assert_eq!(
            key_term(&[eq(K::Port, "1"), Term::contains(K::Url, "x").unwrap()]),
            1
        );
    }

    #[test]
    fn shared_keys_and_dedup() {
        let idx = IndicatorIndex::build(vec![
            ind("a", Condition::All(vec![eq(K::Domain, "evil.example")])),
            ind("b", Condition::All(vec![eq(K::Domain, "evil.example")])),
            ind(
                "c",
                Condition::All(vec![Term::ip("203.0.113.0/24").unwrap()]),
            ),
            ind("d", Condition::All(vec![Term::ip("203.0.0.0/16").unwrap()])),
            ind(
                "e",
                Condition::All(vec![Term::ip("2001:db8::/32").unwrap()]),
            ),
            ind("f", Condition::All(vec![Term::ip("0.0.0.0/0").unwrap()])),
        ]);
        assert_eq!(idx.stats().exact_keys, 1);
        let mut out = Vec::new();
        let obs = [o(K::Domain, "evil.example"), o(K::Domain, "EVIL.example")];
        idx.lookup(&obs, None, &mut out);
        assert_eq!(
            out,
            [
                IndexHit {
                    indicator: 0,
                    observable: 0
                },
                IndexHit {
                    indicator: 1,
                    observable: 0
                }
            ]
        );
        out.clear();
        idx.lookup(&[o(K::Ipv4, "203.0.113.9")], None, &mut out);
        let found: Vec<u32> = out.iter().map(|h| h.indicator).collect();
        assert_eq!(found, [2, 3, 5]);
        out.clear();
        idx.lookup(
            &[o(K::Ipv6, "2001:db8:1::9"), o(K::Ipv6, "2001:db9::1")],
            None,
            &mut out,
        );
        assert_eq!(
            out,
            [IndexHit {
                indicator: 4,
                observable: 0
            }]
        );
    }

    #[test]
    fn prefix_tables_agree_with_brute_force() {
        let mut x = 0x1234_5678_9abc_def0_u64;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut nets: Vec<ipnet::IpNet> = Vec::new();
        for i in 0..400u64 {
            let len = (rnd() % 33) as u8;
            let a = std::net::Ipv4Addr::from(((rnd() as u32) & 0x0f0f_ffff) | 0x0a00_0000);
            nets.push(ipnet::Ipv4Net::new(a, len).unwrap().trunc().into());
            let len6 = (rnd() % 129) as u8;
            let b = std::net::Ipv6Addr::from(
                (u128::from(rnd()) << 64 | u128::from(rnd())) & !(0xffff_u128 << 96)
                    | (0x2001 << 112)
                    | (u128::from(i % 3) << 96),
            );
            nets.push(ipnet::Ipv6Net::new(b, len6).unwrap().trunc().into());
        }
        let idx = IndicatorIndex::build(
            nets.iter()
                .map(|n| ind("n", Condition::All(vec![Term::cidr(*n)])))
                .collect(),
        );
        let mut out = Vec::new();
        for (i, n) in nets.iter().enumerate() {
            // An address inside each network, and a random one.
            let inside = match n {
                ipnet::IpNet::V4(n) => IpAddr::V4(n.broadcast()),
                ipnet::IpNet::V6(n) => IpAddr::V6(n.broadcast()),
            };
            let random = if i % 2 == 0 {
                IpAddr::V4(std::net::Ipv4Addr::from(
                    (rnd() as u32) & 0x0f0f_ffff | 0x0a00_0000,
                ))
            } else {
                IpAddr::V6(std::net::Ipv6Addr::from(
                    (0x2001_u128 << 112) | u128::from(rnd()),
                ))
            };
            for a in [inside, random] {
                let kind = if a.is_ipv4() { K::Ipv4 } else { K::Ipv6 };
                out.clear();
                idx.lookup(&[o(kind, &a.to_string())], None, &mut out);
                let got: Vec<u32> = out.iter().map(|h| h.indicator).collect();
                let want: Vec<u32> = nets
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| crate::indicator::net_contains(n, a))
                    .map(|(j, _)| j as u32)
                    .collect();
                assert_eq!(got, want, "{a}");
            }
        }
    }
}
