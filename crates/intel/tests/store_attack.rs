//! The store with the real data: ATT&CK Enterprise v18.1 and the MISP threat-actor galaxy from
//! `../shared` (required: the test fails without it).

use std::path::PathBuf;
use std::time::Instant;

use tiaki_intel::kb::Resolution;
use tiaki_intel::store::Store;

fn shared(rel: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(rel);
    assert!(p.exists(), "shared data missing: {}", p.display());
    p
}

#[test]
fn attack_and_misp_import_reimport_and_resolve() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiaki.db");
    let attack = shared("data/attack/enterprise-attack.json");
    let mut s = Store::open(&path).unwrap();

    let t0 = Instant::now();
    let r = s.import_file(&attack).unwrap();
    let import_s = t0.elapsed().as_secs_f64();
    assert_eq!(r.objects, 24_772);
    assert_eq!(
        r.added + r.invalid.len(),
        24_772,
        "{:?}",
        &r.invalid[..r.invalid.len().min(5)]
    );
    assert!(
        r.invalid.is_empty(),
        "ATT&CK has MUST errors? {:?}",
        &r.invalid[..r.invalid.len().min(5)]
    );
    assert_eq!(r.attack_version.as_deref(), Some("18.1"));
    assert_eq!(
        r.sha256,
        "e74f9ca306bee621f8d5ed37e5956d4aa5e78995e46cac92d849ac4d53df6cd9"
    );
    eprintln!("import ATT&CK: {import_s:.2} s");

    let t0 = Instant::now();
    let r = s.import_file(&attack).unwrap();
    eprintln!("re-import ATT&CK: {:.2} s", t0.elapsed().as_secs_f64());
    assert_eq!((r.added, r.updated, r.unchanged), (0, 0, 24_772));

    let r = s
        .import_file(shared("data/misp-galaxy/clusters_threat-actor.json"))
        .unwrap();
    assert!(r.objects > 1000, "{}", r.objects);
    drop(s);

    let s = Store::open(&path).unwrap();
    let t0 = Instant::now();
    let l = s.load_kb().unwrap();
    let load_s = t0.elapsed().as_secs_f64();
    eprintln!("load KB from store: {load_s:.2} s");
    let kb = &l.kb;
    // ATT&CK's active counts, plus the pack's three own campaigns and nothing else: the
    // pack's groups are all shadowed, so no G-id appears twice.
    assert_eq!(kb.groups().len(), 172);
    let mut labels: Vec<&str> = kb.groups().iter().map(|&g| kb.label(g)).collect();
    labels.sort();
    let n = labels.len();
    labels.dedup();
    assert_eq!(labels.len(), n, "a group id appears twice");
    let ov = l.summary.pack.as_ref().unwrap();
    assert!(ov.shadowed >= 12 + 9 + 300, "{ov:?}");

    let g = kb.by_external_id("G0065").unwrap();
    assert!(kb.object(g).stix_id.starts_with("intrusion-set--"));
    for name in [
        "APT40",
        "Leviathan",
        "G0065",
        "Gingham Typhoon",
        "TA423",
        "FEVERDREAM",
    ] {
        assert_eq!(
            kb.resolve(name),
            Some(g),
            "{name}: {:?}",
            kb.resolve_detailed(name)
        );
    }
    assert!(matches!(
        kb.resolve_detailed("Leviathan"),
        Resolution::Unique { .. }
    ));
    // The pack's additions hang off ATT&CK's group: CVEs from the 2024 advisory.
    let cves: Vec<String> = l
        .context_of(&kb.object(g).stix_id)
        .filter_map(|(_, t)| t)
        .filter(|t| t["type"] == "vulnerability")
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect();
    assert!(cves.iter().any(|c| c == "CVE-2021-44228"), "{cves:?}");
    // Aliases say where they came from.
    let names = l.aliases(g);
    let apt40 = names.iter().find(|a| a.name == "APT40").unwrap();
    for src in ["attack", "pack", "misp"] {
        assert!(apt40.sources.iter().any(|s| s == src), "{apt40:?}");
    }
    assert!(load_s < 10.0, "loading took {load_s} s");
}
