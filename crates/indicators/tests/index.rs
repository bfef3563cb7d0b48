//! The indicator index: exact values, IPv4 and IPv6 networks, substrings, conjunctions,
//! validity windows, and indicators loaded from files end to end.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use tiaki_indicators::{
    Condition, IndexHit, Indicator, IndicatorIndex, Observable, ObservableKind as K, Term,
    load_path,
};

fn ind(id: &str, c: Condition) -> Indicator {
    Indicator::new(id, Arc::from("test"), c)
}
fn eq(k: K, v: &str) -> Term {
    Term::equals(k, v).unwrap()
}
fn o(k: K, v: &str) -> Observable {
    Observable::new(k, v).unwrap()
}
fn day(d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, d, 12, 0, 0).unwrap()
}
fn ids(idx: &IndicatorIndex, hits: &[IndexHit]) -> Vec<String> {
    hits.iter()
        .map(|h| idx.get(h.indicator).id.clone())
        .collect()
}

const SHA: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";

fn index() -> IndicatorIndex {
    let mut windowed = ind(
        "windowed",
        Condition::All(vec![eq(K::Domain, "late.example")]),
    );
    windowed.valid_from = Some(day(10));
    windowed.valid_until = Some(day(20));
    IndicatorIndex::build(vec![
        ind(
            "domain",
            Condition::All(vec![eq(K::Domain, "evil.example")]),
        ),
        ind(
            "domain-again",
            Condition::All(vec![eq(K::Domain, "evil.example")]),
        ),
        ind(
            "v4-24",
            Condition::All(vec![Term::ip("203.0.113.0/24").unwrap()]),
        ),
        ind(
            "v4-16",
            Condition::All(vec![Term::ip("203.0.0.0/16").unwrap()]),
        ),
        ind(
            "v6-48",
            Condition::All(vec![Term::ip("2001:db8:dead::/48").unwrap()]),
        ),
        ind(
            "ua",
            Condition::All(vec![Term::contains(K::UserAgent, "zgrab").unwrap()]),
        ),
        ind(
            "path",
            Condition::All(vec![Term::contains(K::Url, "/wp-admin/x.php").unwrap()]),
        ),
        ind(
            "file",
            Condition::All(vec![eq(K::FileName, "invoice.exe"), eq(K::Sha256, SHA)]),
        ),
        ind(
            "file-any",
            Condition::Any(vec![
                vec![eq(K::FileName, "doc.exe"), eq(K::Sha256, SHA)],
                vec![eq(K::FileName, "doc.exe"), eq(K::Md5, MD5)],
            ]),
        ),
        ind(
            "ip-port",
            Condition::All(vec![eq(K::Ipv4, "198.51.100.7"), eq(K::Port, "8443")]),
        ),
        ind(
            "net-port",
            Condition::All(vec![eq(K::Port, "4444"), Term::ip("10.9.0.0/16").unwrap()]),
        ),
        windowed,
        ind("pattern", Condition::Pattern("[x:y = 'z']".into())),
    ])
}

#[test]
fn exact_values_shared_between_feeds() {
    let idx = index();
    let mut out = Vec::new();
    idx.lookup(
        &[o(K::Ipv4, "192.0.2.1"), o(K::Domain, "Evil.Example.")],
        None,
        &mut out,
    );
    assert_eq!(ids(&idx, &out), ["domain", "domain-again"]);
    assert!(out.iter().all(|h| h.observable == 1));
    // evil.example, the SHA-256 (two indicators), the MD5, 198.51.100.7, late.example.
    assert_eq!(idx.stats().exact_keys, 5);
    assert_eq!(idx.unindexed(), [12]);
}

#[test]
fn networks_v4_and_v6_all_containing_prefixes() {
    let idx = index();
    let mut out = Vec::new();
    idx.lookup(&[o(K::Ipv4, "203.0.113.77")], None, &mut out);
    assert_eq!(ids(&idx, &out), ["v4-24", "v4-16"]);
    out.clear();
    idx.lookup(&[o(K::Ipv4, "203.0.200.1")], None, &mut out);
    assert_eq!(ids(&idx, &out), ["v4-16"]);
    out.clear();
    idx.lookup(
        &[
            o(K::Ipv6, "2001:db8:dead:1::5"),
            o(K::Ipv6, "2001:db8:beef::1"),
        ],
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
    out.clear();
    // An IPv4-mapped address is an IPv4 observable.
    idx.lookup(&[o(K::Ipv4, "::ffff:203.0.113.1")], None, &mut out);
    assert_eq!(out.len(), 2);
}

#[test]
fn substrings() {
    let idx = index();
    let mut out = Vec::new();
    idx.lookup(
        &[
            o(K::UserAgent, "Mozilla/5.0 ZGrab/0.x"),
            o(K::Url, "https://blog.example/WP-ADMIN/x.php?a=1"),
        ],
        None,
        &mut out,
    );
    assert_eq!(ids(&idx, &out), ["ua", "path"]);
    out.clear();
    // A user agent substring never matches another kind.
    idx.lookup(&[o(K::Url, "http://zgrab.example/")], None, &mut out);
    assert!(out.is_empty());
}

#[test]
fn conjunctions_need_every_term_on_the_event() {
    let idx = index();
    let mut out = Vec::new();
    idx.lookup(&[o(K::Sha256, SHA)], None, &mut out);
    assert!(out.is_empty(), "hash without the name");
    idx.lookup(
        &[
            o(K::FileName, r"C:\Users\a\Downloads\Invoice.EXE"),
            o(K::Sha256, &SHA.to_uppercase()),
        ],
        None,
        &mut out,
    );
    assert_eq!(
        out,
        [IndexHit {
            indicator: 7,
            observable: 1
        }]
    );
    out.clear();
    // Either hash of the file, with its name.
    idx.lookup(&[o(K::Md5, MD5), o(K::FileName, "doc.exe")], None, &mut out);
    assert_eq!(ids(&idx, &out), ["file-any"]);
    out.clear();
    idx.lookup(
        &[o(K::Ipv4, "198.51.100.7"), o(K::Port, "443")],
        None,
        &mut out,
    );
    assert!(out.is_empty(), "wrong port");
    idx.lookup(
        &[o(K::Port, "8443"), o(K::Ipv4, "198.51.100.7")],
        None,
        &mut out,
    );
    assert_eq!(
        out,
        [IndexHit {
            indicator: 9,
            observable: 1
        }]
    );
    out.clear();
    // Keyed on the network, not the port.
    idx.lookup(
        &[o(K::Ipv4, "10.9.3.4"), o(K::Port, "4444")],
        None,
        &mut out,
    );
    assert_eq!(ids(&idx, &out), ["net-port"]);
    out.clear();
    idx.lookup(&[o(K::Port, "4444")], None, &mut out);
    assert!(out.is_empty());
}

#[test]
fn validity_windows() {
    let idx = index();
    let mut out = Vec::new();
    let obs = [o(K::Domain, "late.example")];
    idx.lookup(&obs, Some(day(9)), &mut out);
    assert!(out.is_empty());
    idx.lookup(&obs, Some(day(20)), &mut out);
    assert!(out.is_empty(), "valid_until is exclusive");
    idx.lookup(&obs, Some(day(15)), &mut out);
    assert_eq!(out.len(), 1);
    idx.lookup(&obs, None, &mut out);
    assert_eq!(out.len(), 2, "an event without a time matches");
}

#[test]
fn output_is_appended_not_cleared() {
    let idx = index();
    let mut out = vec![IndexHit {
        indicator: 99,
        observable: 99,
    }];
    idx.lookup(
        &[o(K::Domain, "evil.example"), o(K::Domain, "evil.example")],
        None,
        &mut out,
    );
    assert_eq!(out.len(), 3);
    assert_eq!(out[0].indicator, 99);
    assert_eq!(
        out[1],
        IndexHit {
            indicator: 0,
            observable: 0
        }
    );
}

#[test]
fn index_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<IndicatorIndex>();
}

#[test]
fn loaded_feeds_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "evil[.]example\n203.0.113.0/24\n").unwrap();
    std::fs::write(
        dir.path().join("b.csv"),
        "indicator,actor,valid_until\nevil.example,APT40,2024-05-10\n",
    )
    .unwrap();
    let (inds, _) = load_path(dir.path()).unwrap();
    let idx = IndicatorIndex::build(inds);
    assert_eq!(idx.len(), 3);
    let mut out = Vec::new();
    idx.lookup(
        &[o(K::Domain, "evil.example"), o(K::Ipv4, "203.0.113.9")],
        Some(day(1)),
        &mut out,
    );
    assert_eq!(out.len(), 3);
    let actor_hit = out
        .iter()
        .find(|h| !idx.get(h.indicator).intrusion_sets.is_empty())
        .unwrap();
    assert_eq!(&*idx.get(actor_hit.indicator).intrusion_sets[0], "APT40");
    out.clear();
    idx.lookup(&[o(K::Domain, "evil.example")], Some(day(11)), &mut out);
    assert_eq!(out.len(), 1, "the CSV indicator has expired");
    // Two feeds, one key.
    assert_eq!(idx.stats().exact_keys, 1);
    assert_eq!(idx.stats().exact_postings, 2);
}
