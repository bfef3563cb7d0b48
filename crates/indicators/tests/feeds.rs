//! Feed readers on real files written to a temporary directory: a STIX bundle, a MISP feed
//! folder, a CSV table and a defanged plain list, read through `load_path`.

use std::fs;
use std::path::Path;

use tiaki_indicators::feed::{FeedError, Position};
use tiaki_indicators::{Condition, Indicator, ObservableKind as K, Term, ValueTest, load_path};
use tiaki_stix::Tlp;

const AMBER_V1: &str = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82";
const RED_V2: &str = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";

fn write(dir: &Path, name: &str, body: &str) {
    let p = dir.join(name);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, body).unwrap();
}

fn by_id<'a>(inds: &'a [Indicator], id: &str) -> &'a Indicator {
    inds.iter().find(|i| i.id == id).unwrap_or_else(|| {
        panic!(
            "no {id} in {:#?}",
            inds.iter().map(|i| &i.id).collect::<Vec<_>>()
        )
    })
}

fn names(v: &[std::sync::Arc<str>]) -> Vec<&str> {
    v.iter().map(|s| &**s).collect()
}

const BUNDLE: &str = r#"{
  "type": "bundle",
  "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
  "objects": [
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--11111111-1111-4111-8111-111111111111",
     "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
     "name": "C2 domain", "pattern": "[domain-name:value = 'c2.evil.example']", "pattern_type": "stix",
     "valid_from": "2024-01-01T00:00:00Z", "valid_until": "2025-01-01T00:00:00Z",
     "indicator_types": ["malicious-activity"], "confidence": 85},
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--22222222-2222-4222-8222-222222222222",
     "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
     "pattern": "[file:hashes.'SHA-256' = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa']",
     "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z", "object_marking_refs": ["__RED__"]},
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--33333333-3333-4333-8333-333333333333",
     "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z", "revoked": true,
     "pattern": "[ipv4-addr:value = '198.51.100.1']", "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z"},
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--44444444-4444-4444-8444-444444444444",
     "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
     "pattern": "rule x { condition: true }", "pattern_type": "yara", "valid_from": "2024-01-01T00:00:00Z"},
    {"type": "intrusion-set", "spec_version": "2.1", "id": "intrusion-set--aaaaaaaa-0000-4000-8000-000000000001",
     "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z", "name": "APT40"},
    {"type": "malware", "spec_version": "2.1", "id": "malware--aaaaaaaa-0000-4000-8000-000000000002",
     "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z", "name": "BADFLICK", "is_family": true},
    {"type": "relationship", "spec_version": "2.1", "id": "relationship--bbbbbbbb-0000-4000-8000-000000000001",
     "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
     "relationship_type": "indicates", "source_ref": "indicator--11111111-1111-4111-8111-111111111111",
     "target_ref": "intrusion-set--aaaaaaaa-0000-4000-8000-000000000001"},
    {"type": "relationship", "spec_version": "2.1", "id": "relationship--bbbbbbbb-0000-4000-8000-000000000002",
     "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
     "relationship_type": "indicates", "source_ref": "indicator--22222222-2222-4222-8222-222222222222",
     "target_ref": "malware--aaaaaaaa-0000-4000-8000-000000000002"},
    {"type": "relationship", "spec_version": "2.1", "id": "relationship--bbbbbbbb-0000-4000-8000-000000000003",
     "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
     "relationship_type": "uses", "source_ref": "intrusion-set--aaaaaaaa-0000-4000-8000-000000000001",
     "target_ref": "malware--aaaaaaaa-0000-4000-8000-000000000002"},
    {"type": "report", "spec_version": "2.1", "id": "report--cccccccc-0000-4000-8000-000000000001",
     "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
     "name": "APT40 activity", "published": "2024-01-02T00:00:00Z", "object_marking_refs": ["__AMBER__"],
     "object_refs": ["indicator--11111111-1111-4111-8111-111111111111", "indicator--22222222-2222-4222-8222-222222222222"]},
    {"type": "indicator", "id": "indicator--55555555-5555-4555-8555-555555555555", "created": "yesterday"},
    {"type": "indicator", "id": "indicator--66666666-6666-4666-8666-666666666666", "pattern_type": "stix"}
  ]
}"#;

fn bundle() -> String {
    BUNDLE
        .replace("__RED__", RED_V2)
        .replace("__AMBER__", AMBER_V1)
}

#[test]
fn stix_bundle() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "partner.json", &bundle());
    let (inds, report) = load_path(dir.path().join("partner.json")).unwrap();
    assert_eq!(inds.len(), 2, "{report}");

    let c2 = by_id(&inds, "indicator--11111111-1111-4111-8111-111111111111");
    // Unmarked itself: AMBER from the report that lists it.
    assert_eq!(c2.tlp, Some(Tlp::Amber));
    assert_eq!(names(&c2.intrusion_sets), ["APT40"]);
    assert_eq!(c2.name.as_deref(), Some("C2 domain"));
    assert_eq!(c2.confidence, Some(85));
    assert_eq!(names(&c2.labels), ["malicious-activity"]);
    assert!(c2.valid_until.is_some());
    assert_eq!(
        c2.condition,
        Condition::Pattern("[domain-name:value = 'c2.evil.example']".into())
    );
    assert!(c2.source.ends_with("partner.json"));

    let hash = by_id(&inds, "indicator--22222222-2222-4222-8222-222222222222");
    // Its own RED beats the report's AMBER; APT40 through the malware it uses.
    assert_eq!(hash.tlp, Some(Tlp::Red));
    assert_eq!(names(&hash.intrusion_sets), ["APT40"]);

    assert_eq!(report.skipped_by_reason.get("revoked"), Some(&1));
    assert_eq!(report.skipped_by_reason.get("pattern_type yara"), Some(&1));
    assert_eq!(
        report.skipped_by_reason.get("invalid STIX object"),
        Some(&1),
        "{report}"
    );
    assert_eq!(
        report
            .skipped_by_reason
            .get("indicator without pattern or pattern_type"),
        Some(&1)
    );
    assert_eq!(report.by_kind.get("stix-pattern"), Some(&2));
    let revoked = report
        .skipped
        .iter()
        .find(|s| s.reason == "revoked")
        .unwrap();
    assert!(matches!(&revoked.at, Position::Entry(e) if e.contains("indicator--3333")));
}

const MANIFEST: &str = r#"{
  "5c3a1f0e-0000-4000-8000-00000000000a": {"info": "APT40 phishing", "date": "2024-05-01", "timestamp": 1714560000,
     "Tag": [{"name": "tlp:green"}], "Orgc": {"name": "CERT NZ", "uuid": "5c3a1f0e-0000-4000-8000-0000000000ff"}},
  "5c3a1f0e-0000-4000-8000-00000000000b": {"info": "Scanning", "date": "2024-05-02", "timestamp": 1714646400},
  "5c3a1f0e-0000-4000-8000-00000000000c": {"info": "Not published", "date": "2024-05-03", "timestamp": 1714646400}
}"#;

const EVENT_A: &str = r##"{"Event": {
  "uuid": "5c3a1f0e-0000-4000-8000-00000000000a", "info": "APT40 phishing", "threat_level_id": "1",
  "timestamp": "1714560000", "published": true,
  "Tag": [{"name": "tlp:amber", "colour": "#FFC000"}, {"name": "misp-galaxy:threat-actor=\"APT40\""}],
  "Attribute": [
    {"uuid": "a0000000-0000-4000-8000-000000000001", "type": "ip-dst|port", "category": "Network activity",
     "value": "203.0.113.5|8443", "to_ids": "1", "comment": "C2 listener"},
    {"uuid": "a0000000-0000-4000-8000-000000000002", "type": "ip-src", "category": "Network activity",
     "value": "198.51.100.0/24", "to_ids": true, "first_seen": "2024-04-01T00:00:00.000000+00:00",
     "last_seen": "2024-06-01T00:00:00.000000+00:00"},
    {"uuid": "a0000000-0000-4000-8000-000000000003", "type": "domain", "category": "Network activity",
     "value": "login.evil.example", "to_ids": "1", "deleted": "1"},
    {"uuid": "a0000000-0000-4000-8000-000000000004", "type": "domain", "category": "Network activity",
     "value": "news.example", "to_ids": "0"},
    {"uuid": "a0000000-0000-4000-8000-000000000005", "type": "url", "category": "Payload delivery",
     "value": "https://dl.evil.example/a.docm", "to_ids": 1,
     "Tag": [{"name": "tlp:red"}]},
    {"uuid": "a0000000-0000-4000-8000-000000000006", "type": "AS", "value": "AS64496", "to_ids": "1"},
    {"uuid": "a0000000-0000-4000-8000-000000000007", "type": "sha256", "value": "not-a-hash", "to_ids": "1"}
  ],
  "Object": [
    {"uuid": "b0000000-0000-4000-8000-000000000001", "name": "file", "meta-category": "file",
     "Attribute": [
       {"uuid": "b1", "object_relation": "filename", "type": "filename", "value": "invoice.exe", "to_ids": "1"},
       {"uuid": "b2", "object_relation": "sha256", "type": "sha256",
        "value": "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", "to_ids": "1"},
       {"uuid": "b3", "object_relation": "md5", "type": "md5", "value": "cccccccccccccccccccccccccccccccc", "to_ids": "1"},
       {"uuid": "b4", "object_relation": "size-in-bytes", "type": "size-in-bytes", "value": "1024", "to_ids": "0"}
     ]}
  ]
}}"##;

const EVENT_B: &str = r#"{"Event": {
  "uuid": "5c3a1f0e-0000-4000-8000-00000000000b", "info": "Scanning",
  "Attribute": [
    {"uuid": "c0000000-0000-4000-8000-000000000001", "type": "ip-src", "value": "2001:db8:dead::/48", "to_ids": "1"},
    {"uuid": "c0000000-0000-4000-8000-000000000002", "type": "user-agent", "value": "Mozilla/5.0 zgrab/0.x", "to_ids": "1",
     "comment": ""}
  ]
}}"#;

#[test]
fn misp_feed_folder() {
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("misp");
    write(&feed, "manifest.json", MANIFEST);
    write(&feed, "5c3a1f0e-0000-4000-8000-00000000000a.json", EVENT_A);
    write(&feed, "5c3a1f0e-0000-4000-8000-00000000000b.json", EVENT_B);
    write(&feed, "hashes.csv", "x,y\n");
    let (inds, report) = load_path(&feed).unwrap();

    let ip_port = by_id(&inds, "indicator--a0000000-0000-4000-8000-000000000001");
    assert_eq!(
        ip_port.condition,
        Condition::All(vec![
            Term::equals(K::Ipv4, "203.0.113.5").unwrap(),
            Term::equals(K::Port, "8443").unwrap()
        ])
    );
    assert_eq!(ip_port.tlp, Some(Tlp::Amber), "event tag pushed down");
    assert_eq!(names(&ip_port.intrusion_sets), ["APT40"]);
    assert_eq!(ip_port.name.as_deref(), Some("C2 listener"));
    assert!(names(&ip_port.labels).contains(&"Network activity"));
    assert!(
        ip_port
            .source
            .ends_with("5c3a1f0e-0000-4000-8000-00000000000a.json")
    );

    let cidr = by_id(&inds, "indicator--a0000000-0000-4000-8000-000000000002");
    assert!(
        matches!(&cidr.condition, Condition::All(t) if t[0].test == ValueTest::Cidr("198.51.100.0/24".parse().unwrap()))
    );
    assert_eq!(
        cidr.name.as_deref(),
        Some("APT40 phishing"),
        "event info as name"
    );
    assert!(cidr.valid_from.is_some() && cidr.valid_until.is_some());

    let url = by_id(&inds, "indicator--a0000000-0000-4000-8000-000000000005");
    assert_eq!(
        url.tlp,
        Some(Tlp::Red),
        "attribute tag overrides the event's"
    );

    let file = by_id(&inds, "indicator--b0000000-0000-4000-8000-000000000001");
    let Condition::Any(alts) = &file.condition else {
        panic!("{:?}", file.condition)
    };
    // Name AND (sha256 OR md5).
    assert_eq!(alts.len(), 2);
    assert!(
        alts.iter()
            .all(|a| a.len() == 2 && a[0].kind == K::FileName)
    );
    assert_eq!(file.tlp, Some(Tlp::Amber));

    assert!(
        !inds.iter().any(|i| i.id.ends_with("000000000003")),
        "deleted"
    );
    assert!(
        !inds.iter().any(|i| i.id.ends_with("000000000004")),
        "not to_ids"
    );

    let v6 = by_id(&inds, "indicator--c0000000-0000-4000-8000-000000000001");
    // Event B has no tags of its own: none from the manifest either.
    assert_eq!(v6.tlp, None);
    assert!(matches!(&v6.condition, Condition::All(t) if matches!(t[0].test, ValueTest::Cidr(_))));
    assert_eq!(inds.len(), 6, "{report}");

    assert_eq!(report.skipped_by_reason.get("deleted"), Some(&1));
    assert_eq!(report.skipped_by_reason.get("not to_ids"), Some(&1));
    assert_eq!(report.skipped_by_reason.get("misp type AS"), Some(&1));
    assert_eq!(report.skipped_by_reason.get("invalid value"), Some(&1));
    assert_eq!(report.skipped_by_reason.get("event file missing"), Some(&1));
    assert_eq!(report.by_source.len(), 2);
    assert_eq!(report.files, 2);
}

#[test]
fn single_misp_event_file_and_manifest_tags() {
    let dir = tempfile::tempdir().unwrap();
    // A single event file anywhere, with MISP's string-typed numbers.
    write(dir.path(), "event.json", EVENT_B);
    let (inds, _) = load_path(dir.path().join("event.json")).unwrap();
    assert_eq!(inds.len(), 2);
    // Event A without its tags, inside a feed whose manifest has tlp:green.
    let feed = dir.path().join("feed");
    write(&feed, "manifest.json", MANIFEST);
    let untagged = EVENT_A.replace(
        r##""Tag": [{"name": "tlp:amber", "colour": "#FFC000"}, {"name": "misp-galaxy:threat-actor=\"APT40\""}],"##,
        "",
    );
    write(
        &feed,
        "5c3a1f0e-0000-4000-8000-00000000000a.json",
        &untagged,
    );
    let (inds, _) = load_path(feed.join("manifest.json")).unwrap();
    let ip_port = by_id(&inds, "indicator--a0000000-0000-4000-8000-000000000001");
    assert_eq!(ip_port.tlp, Some(Tlp::Green));
}

#[test]
fn csv_table() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "iocs.csv",
        "# exported 2024-05-01\n\
         Type,Value,Comment,Threat_Actor,TLP,valid_from,valid_until\n\
         domain,update[.]evil.example,C2,APT40;Leviathan,amber,2024-01-01,2025-01-01\n\
         ip-dst,203.0.113.0/24,hosting range,,TLP:GREEN,,\n\
         ,hxxps://dl.evil[.]example/x.zip,inferred,,,,\n\
         sha256,ABC,bad hash,,,,\n\
         AS,AS64496,unknown type,,,,\n\
         domain,ok.example,bad date,,,someday,\n",
    );
    let (inds, report) = load_path(dir.path().join("iocs.csv")).unwrap();
    assert_eq!(inds.len(), 3, "{report}");
    let d = &inds[0];
    assert_eq!(
        d.condition,
        Condition::All(vec![
            Term::equals(K::Domain, "update.evil.example").unwrap()
        ])
    );
    assert_eq!(names(&d.intrusion_sets), ["APT40", "Leviathan"]);
    assert_eq!(d.tlp, Some(Tlp::Amber));
    assert_eq!(d.name.as_deref(), Some("C2"));
    assert!(d.valid_from.is_some() && d.valid_until.is_some());
    assert!(d.id.starts_with("indicator--"));
    assert!(
        matches!(&inds[1].condition, Condition::All(t) if matches!(t[0].test, ValueTest::Cidr(_)))
    );
    assert_eq!(inds[1].tlp, Some(Tlp::Green));
    assert_eq!(
        inds[2].condition,
        Condition::All(vec![
            Term::equals(K::Url, "https://dl.evil.example/x.zip").unwrap()
        ])
    );
    assert_eq!(report.skipped_total(), 3);
    let lines: Vec<String> = report.skipped.iter().map(|s| s.at.to_string()).collect();
    assert_eq!(lines, ["line 6", "line 7", "line 8"]);
    // Reloading gives the same synthetic ids.
    let (again, _) = load_path(dir.path().join("iocs.csv")).unwrap();
    assert_eq!(again[0].id, inds[0].id);
}

#[test]
fn plain_list_with_defanged_values() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "iocs.txt",
        "# from the partner's report\n\
         \n\
         evil[.]example\n\
         hxxp://203.0.113[.]7/gate.php\n\
         203.0.113(.)8:443   # C2 port\n\
         2001:db8::/32\n\
         ops[at]evil.example\n\
         sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855\n\
         this is not an indicator\n\
         evil{.}example/wp-admin/x.php\n",
    );
    let (inds, report) = load_path(dir.path().join("iocs.txt")).unwrap();
    assert_eq!(inds.len(), 7, "{report}");
    let all: Vec<Vec<Term>> = inds
        .iter()
        .map(|i| match &i.condition {
            Condition::All(t) => t.clone(),
            c => panic!("{c:?}"),
        })
        .collect();
    assert_eq!(all[0], [Term::equals(K::Domain, "evil.example").unwrap()]);
    assert_eq!(
        all[1],
        [Term::equals(K::Url, "http://203.0.113.7/gate.php").unwrap()]
    );
    assert_eq!(
        all[2],
        [
            Term::equals(K::Ipv4, "203.0.113.8").unwrap(),
            Term::equals(K::Port, "443").unwrap()
        ]
    );
    assert!(matches!(all[3][0].test, ValueTest::Cidr(_)));
    assert_eq!(
        all[4],
        [Term::equals(K::Email, "ops@evil.example").unwrap()]
    );
    assert_eq!(all[5][0].kind, K::Sha256);
    assert_eq!(
        all[6][0].test,
        ValueTest::Contains("evil.example/wp-admin/x.php".into())
    );
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].at, Position::Line(9));
    assert!(
        report.skipped[0]
            .to_string()
            .contains("iocs.txt: line 9: not an indicator")
    );
}

#[test]
fn directory_walk_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a/bundle.json", &bundle());
    write(dir.path(), "b/list.txt", "evil.example\n");
    write(dir.path(), "b/README.md", "# not a feed\n");
    write(dir.path(), "b/.hidden", "x\n");
    write(
        dir.path(),
        "c/broken.json",
        "{\"type\": \"bundle\", \"objects\": [",
    );
    write(dir.path(), "c/other.json", "{\"hello\": 1}");
    let (inds, report) = load_path(dir.path()).unwrap();
    assert_eq!(inds.len(), 3);
    assert_eq!(report.ignored_files.len(), 1);
    assert_eq!(report.skipped_by_reason.get("unreadable file"), Some(&2));
    assert_eq!(report.by_source.len(), 2);

    match load_path(dir.path().join("nope.txt")) {
        Err(FeedError::NotFound(p)) => assert!(p.ends_with("nope.txt")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        load_path(dir.path().join("c/other.json")),
        Err(FeedError::Malformed { .. })
    ));
    let e = load_path(dir.path().join("c/broken.json")).unwrap_err();
    assert!(e.to_string().contains("broken.json"), "{e}");
}

#[test]
fn garbage_never_panics() {
    use tiaki_indicators::feed::{
        FeedReport, read_csv, read_list, read_misp_event, read_stix_bundle,
    };
    let inputs: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"\xff\xfe\x00garbage\n[.]\n[\n(at)\nhxxp\nhxxp:\n\\.\n".to_vec(),
        "tl\u{e9}:x\n\u{feff}\u{1F600}[.]\u{e9}\n".as_bytes().to_vec(),
        br#"{"Event": {"Tag": [{"name": "tl\u00e9:red"}, 5, null], "Attribute": [1, null, {"type": 3, "value": []},
            {"type": "ip-dst|port", "value": "|", "to_ids": "1"}, {"type": "domain|ip", "value": "a.example|", "to_ids": 1},
            {"type": "filename|sha256", "value": "|", "to_ids": true}],
            "Object": [5, {"Attribute": "x"}, {"Attribute": [{"type": "md5", "value": "0", "to_ids": "1"}]}],
            "Galaxy": [{"type": "threat-actor", "GalaxyCluster": [{"value": 7}]}]}}"#
            .to_vec(),
        br#"{"Event": 5}"#.to_vec(),
        br#"{"response": [1, {"Event": []}]}"#.to_vec(),
        br#"{"type": "bundle", "objects": [5, {"type": "indicator"}, {"type": "relationship", "id": "relationship--x"}]}"#
            .to_vec(),
        b"value,type\n,\n\"unterminated\n1.2.3.4,ip,extra,fields\n".to_vec(),
    ];
    for input in &inputs {
        let mut out = Vec::new();
        let mut report = FeedReport::default();
        let _ = read_list(input, "x", &mut out, &mut report);
        let _ = read_csv(input, "x", &mut out, &mut report);
        let _ = read_misp_event(input, "x", &mut out, &mut report);
        let _ = read_stix_bundle(input, "x", &mut out, &mut report);
    }
}
