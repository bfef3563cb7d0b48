//! The store on small, hand-made inputs: STIX versioning on re-import, invalid objects
//! reported and skipped, a failed import rolled back, MISP galaxies kept and joined.

use serde_json::{Value, json};
use tiaki_intel::store::{ImportKind, Store};

fn group(id: &str, gid: &str, name: &str, modified: &str) -> Value {
    json!({"type": "intrusion-set", "spec_version": "2.1", "id": id, "name": name,
        "created": "2020-01-01T00:00:00.000Z", "modified": modified,
        "external_references": [{"source_name": "mitre-attack", "external_id": gid}]})
}

fn bundle(objects: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({"type": "bundle",
        "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": objects}))
    .unwrap()
}

const G1: &str = "intrusion-set--11111111-1111-4111-8111-111111111111";
const G2: &str = "intrusion-set--22222222-2222-4222-8222-222222222222";

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path().join("tiaki.db")).unwrap();
    (dir, s)
}

#[test]
fn reimport_is_idempotent_and_newer_versions_replace() {
    let (_d, mut s) = store();
    let v1 = bundle(vec![
        group(G1, "G9001", "First", "2024-01-01T00:00:00.000Z"),
        group(G2, "G9002", "Second", "2024-01-01T00:00:00.000Z"),
    ]);
    let r = s.import_bytes("v1.json", &v1).unwrap();
    assert_eq!((r.objects, r.added, r.updated, r.unchanged), (2, 2, 0, 0));
    assert_eq!(r.kind, ImportKind::StixBundle);

    let r = s.import_bytes("v1.json", &v1).unwrap();
    assert_eq!((r.added, r.updated, r.unchanged, r.older), (0, 0, 2, 0));

    // G1 gets a newer version; G2 comes with an older one, which must not win.
    let v2 = bundle(vec![
        group(G1, "G9001", "First Renamed", "2025-01-01T00:00:00.000Z"),
        group(G2, "G9002", "Second Old", "2023-01-01T00:00:00.000Z"),
    ]);
    let r = s.import_bytes("v2.json", &v2).unwrap();
    assert_eq!((r.added, r.updated, r.unchanged, r.older), (0, 1, 0, 1));
    assert_eq!(s.object(G1).unwrap().unwrap()["name"], "First Renamed");
    assert_eq!(s.object(G2).unwrap().unwrap()["name"], "Second");

    let imports = s.imports().unwrap();
    assert_eq!(imports.len(), 3);
    assert_eq!(imports[2].source, "v2.json");
    assert_eq!(imports[2].updated, 1);
    assert_eq!(imports[0].sha256, tiaki_intel::store::sha256_hex(&v1));

    // The knowledge base sees the newest versions, on top of the pack.
    let l = s.load_kb().unwrap();
    let g = l.kb.by_external_id("G9001").unwrap();
    assert_eq!(l.kb.object(g).name, "First Renamed");
    assert!(l.kb.resolve("APT40").is_some(), "the pack is still there");
}

#[test]
fn invalid_objects_are_named_and_skipped() {
    let (_d, mut s) = store();
    let objects = vec![
        group(G1, "G9001", "Good", "2024-01-01T00:00:00.000Z"),
        // MUST: `name` is required on an intrusion-set; `modified` must not precede `created`.
        json!({"type": "intrusion-set", "spec_version": "2.1",
            "id": "intrusion-set--33333333-3333-4333-8333-333333333333",
            "created": "2024-01-01T00:00:00.000Z", "modified": "2023-01-01T00:00:00.000Z"}),
        // Not readable as a STIX object at all: no id.
        json!({"type": "malware", "name": "x"}),
        group(G2, "G9002", "Also good", "2024-01-01T00:00:00.000Z"),
    ];
    let r = s.import_bytes("mixed.json", &bundle(objects)).unwrap();
    assert_eq!(r.objects, 4);
    assert_eq!(r.added, 2);
    assert_eq!(r.invalid.len(), 2, "{:?}", r.invalid);
    let bad = &r.invalid[0];
    assert_eq!(bad.index, Some(1));
    assert_eq!(
        bad.id.as_deref(),
        Some("intrusion-set--33333333-3333-4333-8333-333333333333")
    );
    assert!(bad.reason.contains("name"), "{}", bad.reason);
    assert_eq!(r.invalid[1].index, Some(2));
    assert!(!r.invalid[1].reason.is_empty());
    assert!(
        s.object("intrusion-set--33333333-3333-4333-8333-333333333333")
            .unwrap()
            .is_none()
    );
    assert_eq!(s.imports().unwrap()[0].invalid, 2);
}

#[test]
fn a_failed_import_leaves_the_store_as_it_was() {
    let (_d, mut s) = store();
    s.import_bytes(
        "first.json",
        &bundle(vec![group(G1, "G9001", "Kept", "2024-01-01T00:00:00.000Z")]),
    )
    .unwrap();
    let before_counts = s.counts().unwrap();
    // A newer G1 and a new G2 are streamed in before the file turns out to be truncated.
    let mut bytes = bundle(vec![
        group(G1, "G9001", "Changed", "2025-01-01T00:00:00.000Z"),
        group(G2, "G9002", "New", "2025-01-01T00:00:00.000Z"),
        group(
            "intrusion-set--44444444-4444-4444-8444-444444444444",
            "G9003",
            "Third",
            "2025-01-01T00:00:00.000Z",
        ),
    ]);
    let cut = bytes.len() - 40;
    bytes.truncate(cut);
    let e = s.import_bytes("broken.json", &bytes).unwrap_err();
    assert!(e.to_string().contains("broken.json"), "{e}");
    assert_eq!(s.counts().unwrap(), before_counts);
    assert_eq!(s.object(G1).unwrap().unwrap()["name"], "Kept");
    assert!(s.object(G2).unwrap().is_none());
    assert_eq!(s.imports().unwrap().len(), 1);
    // And a file that is no JSON at all.
    assert!(s.import_bytes("junk", b"not json").is_err());
    assert_eq!(s.imports().unwrap().len(), 1);
}

#[test]
fn misp_galaxies_persist_and_join_at_load() {
    let (dir, mut s) = store();
    let galaxy = json!({"type": "threat-actor", "name": "Threat Actor", "version": 7,
        "uuid": "7cdff317-a673-4474-84ec-4f1754947823", "values": [
        {"value": "APT40", "uuid": "a", "meta": {"synonyms": ["Harbour Example"],
            "refs": ["https://attack.mitre.org/groups/G0065/"]}},
        {"uuid": "b", "meta": {}}
    ]});
    let r = s
        .import_bytes("galaxy.json", galaxy.to_string().as_bytes())
        .unwrap();
    assert_eq!(r.kind, ImportKind::MispGalaxy);
    assert_eq!((r.objects, r.added), (2, 1));
    assert_eq!(r.invalid.len(), 1);
    assert_eq!(r.invalid[0].id.as_deref(), Some("b"));
    let r = s
        .import_bytes("galaxy.json", galaxy.to_string().as_bytes())
        .unwrap();
    assert_eq!((r.added, r.unchanged), (0, 1));
    // An older galaxy version does not replace the newer one.
    let mut old = galaxy.clone();
    old["version"] = json!(6);
    old["values"][0]["meta"]["synonyms"] = json!(["Stale Name"]);
    let r = s
        .import_bytes("old.json", old.to_string().as_bytes())
        .unwrap();
    assert_eq!(r.older, 1);
    drop(s);

    let s = Store::open(dir.path().join("tiaki.db")).unwrap();
    let l = s.load_kb().unwrap();
    let g = l.kb.resolve("Harbour Example").unwrap();
    assert_eq!(l.kb.label(g), "G0065");
    assert!(l.kb.resolve("Stale Name").is_none());
    let names = l.aliases(g);
    let n = names.iter().find(|a| a.name == "Harbour Example").unwrap();
    assert_eq!(n.sources, vec!["misp"]);
}
