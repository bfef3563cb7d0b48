//! The indicator model every feed format is read into.
//!
//! STIX indicators, MISP attributes and objects, CSV rows and plain list lines all become one
//! [`Indicator`]: provenance (id, source file or event, TLP, intrusion sets) plus a
//! [`Condition`] over observables. A condition is kept in disjunctive normal form over simple
//! [`Term`]s (equality, network membership, substring) because that is what an index can key:
//! every conjunction is looked up by its most selective term and the rest verified. Patterns
//! the index cannot decompose stay as text ([`Condition::Pattern`]) for the full STIX matcher.
//!
//! Text that repeats across many indicators (the source, intrusion-set names, labels, a MISP
//! event's title) is held as `Arc<str>` so a million indicators from one feed share it.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use tiaki_stix::Tlp;

use crate::observable::{Observable, ObservableKind, normalise, parse_ip};

/// One indicator of compromise, from any feed.
#[derive(Debug, Clone, PartialEq)]
pub struct Indicator {
    /// `indicator--<uuid>`: the STIX id, the MISP attribute or object uuid, or for lists and
    /// CSV rows a UUIDv5 of source, kind and value (stable across reloads of the same file).
    pub id: String,
    /// A human name: the STIX `name`, the MISP attribute comment or the event `info`, the CSV
    /// comment column.
    pub name: Option<Arc<str>>,
    /// Where it came from, for a detection's provenance: the file, or for MISP the event
    /// file (`feed/<event uuid>.json`).
    pub source: Arc<str>,
    /// Its TLP: its own marking, else the one pushed down from its container (STIX report or
    /// grouping, MISP event). `None` means unmarked, which is *not* CLEAR.
    pub tlp: Option<Tlp>,
    /// Valid from (inclusive). `None`: since always.
    pub valid_from: Option<DateTime<Utc>>,
    /// Valid until (exclusive). `None`: for ever.
    pub valid_until: Option<DateTime<Utc>>,
    /// Names of the intrusion sets or threat actors it indicates.
    pub intrusion_sets: Vec<Arc<str>>,
    /// The producer's confidence, 0–100.
    pub confidence: Option<u8>,
    /// Classification: STIX `indicator_types` and `labels`, MISP category and tags.
    pub labels: Vec<Arc<str>>,
    /// The STIX pattern it was read from, if any; kept when the condition is decomposed
    /// into index terms, so that a detection can show what the producer wrote.
    pub pattern: Option<String>,
    /// What an event must show for the indicator to match.
    pub condition: Condition,
}

/// What an event must show for an indicator to match.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Every term must hold on the same event (a MISP file object: name AND sha256;
    /// `ip-dst|port`). A single term is the common case.
    All(Vec<Term>),
    /// At least one of several conjunctions must hold (a STIX `… OR …` pattern; a MISP file
    /// object with several hashes, any of which identifies the file).
    Any(Vec<Vec<Term>>),
    /// A STIX pattern the index cannot decompose, kept as text for the full matcher.
    Pattern(String),
}

/// One test on one observable kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Term {
    /// The kind of observable tested.
    pub kind: ObservableKind,
    /// The test on its value.
    pub test: ValueTest,
}

/// A test on a normalised observable value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ValueTest {
    /// Equal to this value (already [`normalise`]d for the term's kind).
    Equals(String),
    /// An address inside this network (kinds `ipv4`/`ipv6`; host bits cleared).
    Cidr(IpNet),
    /// Contains this text, ASCII case-insensitively (STIX `LIKE '%x%'`, MISP `uri` paths).
    Contains(String),
}

impl Term {
    /// An equality term on `raw` normalised as `kind`, or `None` if `raw` cannot be one.
    pub fn equals(kind: ObservableKind, raw: &str) -> Option<Term> {
        normalise(kind, raw).map(|v| Term {
            kind,
            test: ValueTest::Equals(v),
        })
    }

    /// A network term (a full-length prefix becomes an equality on the address).
    pub fn cidr(net: IpNet) -> Term {
        let kind = match net {
            IpNet::V4(_) => ObservableKind::Ipv4,
            IpNet::V6(_) => ObservableKind::Ipv6,
        };
        if net.prefix_len() == net.max_prefix_len() {
            return Term {
                kind,
                test: ValueTest::Equals(net.addr().to_string()),
            };
        }
        Term {
            kind,
            test: ValueTest::Cidr(net.trunc()),
        }
    }

    /// A substring term (`None` for empty text).
    pub fn contains(kind: ObservableKind, text: &str) -> Option<Term> {
        let t = text.trim();
        (!t.is_empty()).then(|| Term {
            kind,
            test: ValueTest::Contains(t.to_string()),
        })
    }

    /// An address term from text: a single address (`203.0.113.7`) or a network
    /// (`203.0.113.0/24`, `2001:db8::/32`). `None` if it is neither.
    pub fn ip(raw: &str) -> Option<Term> {
        let t = raw.trim();
        if t.contains('/') {
            let net: IpNet = t.parse().ok()?;
            // `::ffff:a.b.c.d/120` style networks are left as IPv6: rare enough.
            return Some(Term::cidr(net));
        }
        let ip = parse_ip(t)?;
        Some(Term {
            kind: if ip.is_ipv4() {
                ObservableKind::Ipv4
            } else {
                ObservableKind::Ipv6
            },
            test: ValueTest::Equals(ip.to_string()),
        })
    }

    /// Whether `obs` satisfies this term.
    pub fn matches(&self, obs: &Observable) -> bool {
        if obs.kind != self.kind {
            return false;
        }
        match &self.test {
            ValueTest::Equals(v) => obs.value == *v,
            ValueTest::Cidr(net) => parse_ip(&obs.value).is_some_and(|a| net_contains(net, a)),
            ValueTest::Contains(needle) => contains_ci(&obs.value, needle),
        }
    }

    /// How selective the term is, for choosing the one an index keys on (higher is better):
    /// equality beats a network beats a substring; among equalities, digests and URLs beat
    /// domains beat addresses beat names. A port alone is the worst key of all (every HTTPS
    /// connection carries 443).
    pub fn selectivity(&self) -> u32 {
        use ObservableKind as K;
        match &self.test {
            ValueTest::Equals(_) if self.kind == K::Port => 0,
            ValueTest::Equals(_) => {
                2000 + match self.kind {
                    K::Sha512 => 100,
                    K::Sha256 => 99,
                    K::Sha1 => 98,
                    K::Md5 => 97,
                    K::Imphash => 90,
                    K::Url => 85,
                    K::Email => 80,
                    K::Domain => 75,
                    K::RegistryKey => 70,
                    K::Mutex => 68,
                    K::FilePath => 66,
                    K::Ipv6 => 62,
                    K::Ipv4 => 60,
                    K::CommandLine => 55,
                    K::UserAgent => 50,
                    K::FileName => 40,
                    K::Account => 30,
                    K::Port => 0,
                }
            }
            ValueTest::Cidr(net) => 1000 + u32::from(net.prefix_len()),
            ValueTest::Contains(s) => s.len().clamp(1, 999) as u32,
        }
    }
}

/// Whether `net` contains `addr` (an IPv4 address never lies in an IPv6 network here:
/// observables carry IPv4-mapped addresses as IPv4 already).
pub(crate) fn net_contains(net: &IpNet, addr: IpAddr) -> bool {
    match (net, addr) {
        (IpNet::V4(n), IpAddr::V4(a)) => n.contains(&a),
        (IpNet::V6(n), IpAddr::V6(a)) => n.contains(&a),
        _ => false,
    }
}

/// ASCII case-insensitive substring test, without allocating.
pub(crate) fn contains_ci(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    if n.is_empty() {
        return true;
    }
    h.len() >= n.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.test {
            ValueTest::Equals(v) => write!(f, "{} = '{v}'", self.kind),
            ValueTest::Cidr(n) => write!(f, "{} ISSUBSET '{n}'", self.kind),
            ValueTest::Contains(s) => write!(f, "{} LIKE '%{s}%'", self.kind),
        }
    }
}

impl Condition {
    /// The condition for a disjunction of conjunctions: [`Condition::All`] when there is one,
    /// [`Condition::Any`] otherwise. Empty conjunctions are dropped; `None` if none is left.
    pub fn from_alternatives(mut alts: Vec<Vec<Term>>) -> Option<Condition> {
        alts.retain(|a| !a.is_empty());
        for a in &mut alts {
            a.dedup();
        }
        alts.dedup();
        match alts.len() {
            0 => None,
            1 => alts.pop().map(Condition::All),
            _ => Some(Condition::Any(alts)),
        }
    }

    /// The conjunctions of a decomposed condition (empty for a [`Condition::Pattern`]).
    pub fn alternatives(&self) -> &[Vec<Term>] {
        match self {
            Condition::All(terms) => std::slice::from_ref(terms),
            Condition::Any(alts) => alts,
            Condition::Pattern(_) => &[],
        }
    }

    /// Whether the observables of one event satisfy the condition (`false` for a pattern:
    /// that needs the full matcher).
    pub fn matches(&self, observables: &[Observable]) -> bool {
        self.alternatives()
            .iter()
            .any(|alt| alt.iter().all(|t| observables.iter().any(|o| t.matches(o))))
    }

    /// A short description of its shape for reports: `sha256`, `ipv4/cidr`,
    /// `file-name+sha256`, `url/contains`, `stix-pattern`.
    pub fn shape(&self) -> String {
        let Some(first) = self.alternatives().first() else {
            return "stix-pattern".into();
        };
        let mut s = String::new();
        for (i, t) in first.iter().enumerate() {
            if i > 0 {
                s.push('+');
            }
            s.push_str(t.kind.as_str());
            match t.test {
                ValueTest::Equals(_) => {}
                ValueTest::Cidr(_) => s.push_str("/cidr"),
                ValueTest::Contains(_) => s.push_str("/contains"),
            }
        }
        if self.alternatives().len() > 1 {
            s.push_str(" (any of several)");
        }
        s
    }
}

impl Indicator {
    /// A new indicator with only the essentials; the other fields empty.
    pub fn new(id: impl Into<String>, source: Arc<str>, condition: Condition) -> Indicator {
        Indicator {
            id: id.into(),
            name: None,
            source,
            tlp: None,
            valid_from: None,
            valid_until: None,
            intrusion_sets: Vec::new(),
            confidence: None,
            labels: Vec::new(),
            pattern: None,
            condition,
        }
    }

    /// Whether the indicator is valid at the event's time: `valid_from` inclusive,
    /// `valid_until` exclusive. An event without a time matches any indicator.
    pub fn is_valid_at(&self, at: Option<DateTime<Utc>>) -> bool {
        let Some(t) = at else { return true };
        self.valid_from.is_none_or(|f| f <= t) && self.valid_until.is_none_or(|u| t < u)
    }

    /// Replaces a [`Condition::Pattern`] by what `decompose` makes of its text (the STIX
    /// pattern converter). Returns whether the condition was replaced; a decomposed
    /// condition, or a pattern `decompose` declines (`None`), is left as it is.
    pub fn decompose_pattern(&mut self, decompose: impl FnOnce(&str) -> Option<Condition>) -> bool {
        let Condition::Pattern(p) = &self.condition else {
            return false;
        };
        match decompose(p) {
            Some(c) => {
                self.condition = c;
                true
            }
            None => false,
        }
    }
}

/// The namespace of tiaki's synthetic indicator ids (UUIDv5).
pub const SYNTHETIC_ID_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x6a1d_53c4_2f0b_4e7e_9c1a_7d2e_0b9f_3a11);

/// A stable synthetic id, `indicator--<UUIDv5 of source, kind and value>`, for indicators
/// that come without one (lists, CSV rows).
pub fn synthetic_id(source: &str, what: &str) -> String {
    let mut name = String::with_capacity(source.len() + what.len() + 1);
    name.push_str(source);
    name.push('\n');
    name.push_str(what);
    format!(
        "indicator--{}",
        uuid::Uuid::new_v5(&SYNTHETIC_ID_NAMESPACE, name.as_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ObservableKind as K;
    use chrono::TimeZone;

    fn obs(kind: K, v: &str) -> Observable {
        Observable::new(kind, v).unwrap()
    }

    #[test]
    fn terms_match() {
        let t = Term::equals(K::Domain, "Evil.Example.").unwrap();
        assert!(t.matches(&obs(K::Domain, "evil.example")));
        assert!(!t.matches(&obs(K::Domain, "x.evil.example")));
        let c = Term::ip("203.0.113.9/24").unwrap();
        assert_eq!(c.test, ValueTest::Cidr("203.0.113.0/24".parse().unwrap()));
        assert!(c.matches(&obs(K::Ipv4, "203.0.113.200")));
        assert!(!c.matches(&obs(K::Ipv4, "203.0.114.1")));
        assert_eq!(
            Term::ip("2001:db8::1/128").unwrap().test,
            ValueTest::Equals("2001:db8::1".into())
        );
        let s = Term::contains(K::Url, "/Gate.php").unwrap();
        assert!(s.matches(&obs(K::Url, "http://x.example/wp/gate.PHP?id=1")));
        assert!(!s.matches(&obs(K::Domain, "gate.php.example")));
    }

    #[test]
    fn conditions() {
        let name = Term::equals(K::FileName, "evil.exe").unwrap();
        let h = Term::equals(K::Md5, &"a".repeat(32)).unwrap();
        let c = Condition::from_alternatives(vec![vec![name.clone(), h.clone()]]).unwrap();
        assert!(matches!(c, Condition::All(_)));
        assert!(c.matches(&[
            obs(K::Md5, &"A".repeat(32)),
            obs(K::FileName, "C:\\x\\Evil.exe")
        ]));
        assert!(!c.matches(&[obs(K::Md5, &"a".repeat(32))]));
        assert_eq!(c.shape(), "file-name+md5");
        assert!(Condition::from_alternatives(vec![vec![]]).is_none());
        assert!(!Condition::Pattern("[x:y = 1]".into()).matches(&[]));
    }

    #[test]
    fn validity_window() {
        let t = |d| Utc.with_ymd_and_hms(2024, 5, d, 0, 0, 0).unwrap();
        let mut i = Indicator::new("indicator--x", "f".into(), Condition::All(vec![]));
        i.valid_from = Some(t(2));
        i.valid_until = Some(t(4));
        assert!(i.is_valid_at(None));
        assert!(!i.is_valid_at(Some(t(1))));
        assert!(i.is_valid_at(Some(t(2))));
        assert!(i.is_valid_at(Some(t(3))));
        assert!(!i.is_valid_at(Some(t(4))));
    }

    #[test]
    fn pattern_is_replaceable() {
        let mut i = Indicator::new(
            "indicator--x",
            "f".into(),
            Condition::Pattern("[domain-name:value = 'a.example']".into()),
        );
        assert!(!i.decompose_pattern(|_| None));
        assert!(i.decompose_pattern(|_| {
            Some(Condition::All(vec![
                Term::equals(K::Domain, "a.example").unwrap(),
            ]))
        }));
        assert!(matches!(i.condition, Condition::All(_)));
        assert!(!i.decompose_pattern(|_| unreachable!()));
    }

    #[test]
    fn synthetic_ids_are_stable() {
        let a = synthetic_id("list.txt", "domain:a.example");
        assert_eq!(a, synthetic_id("list.txt", "domain:a.example"));
        assert_ne!(a, synthetic_id("other.txt", "domain:a.example"));
        assert!(a.starts_with("indicator--"));
    }
}
