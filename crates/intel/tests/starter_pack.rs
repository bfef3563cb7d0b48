//! The embedded starter pack (`intel/starter-pack.json`) is valid STIX 2.1, closed over its
//! references, and gives a knowledge base that knows the scenario's intrusion sets.

use std::collections::HashSet;

use serde_json::Value;
use tiaki_intel::KnowledgeBase;

fn pack() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../intel/starter-pack.json");
    let text = std::fs::read_to_string(path).expect("intel/starter-pack.json");
    serde_json::from_str(&text).expect("the pack is JSON")
}

/// Every `*_ref` and `*_refs` value in `v`, at any depth.
fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k.ends_with("_ref") {
                    out.extend(x.as_str());
                } else if k.ends_with("_refs") {
                    out.extend(x.as_array().into_iter().flatten().filter_map(Value::as_str));
                } else {
                    refs(x, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[test]
fn every_object_passes_the_must_rules() {
    let bundle = pack();
    let objects = bundle["objects"].as_array().expect("objects");
    assert!(objects.len() > 1000, "{} objects", objects.len());
    let issues = tiaki_stix::validate(&bundle);
    assert!(
        issues.is_empty(),
        "{} issues, first: {:?}",
        issues.len(),
        issues
            .iter()
            .take(5)
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    );
}

#[test]
fn references_resolve_inside_the_pack() {
    let bundle = pack();
    let objects = bundle["objects"].as_array().expect("objects");
    let ids: HashSet<&str> = objects.iter().filter_map(|o| o["id"].as_str()).collect();
    assert_eq!(ids.len(), objects.len(), "ids are unique");
    let mut dangling = Vec::new();
    for o in objects {
        let mut r = Vec::new();
        refs(o, &mut r);
        dangling.extend(
            r.into_iter()
                .filter(|id| !ids.contains(id))
                .map(str::to_owned),
        );
    }
    assert!(dangling.is_empty(), "dangling references: {dangling:?}");
}

#[test]
fn the_pack_knows_apt40_by_every_name() {
    let kb = KnowledgeBase::from_bundle_value(&pack()).expect("knowledge base");
    for name in [
        "APT40",
        "Leviathan",
        "G0065",
        "Gingham Typhoon",
        "BRONZE MOHAWK",
        "TEMP.Periscope",
    ] {
        let g = kb
            .resolve(name)
            .unwrap_or_else(|| panic!("{name} unresolved"));
        assert_eq!(kb.object(g).external_id.as_deref(), Some("G0065"), "{name}");
    }
    let g = kb.resolve("APT40").expect("APT40");
    let used: HashSet<String> = kb
        .uses(g)
        .filter_map(|(t, _)| kb.object(t).external_id.clone())
        .collect();
    // Web shells on exploited public-facing servers, and China Chopper.
    for id in ["T1190", "T1505.003", "S0020"] {
        assert!(used.contains(id), "APT40 should use {id}");
    }
    // The confusables an analyst would weigh are there too.
    for name in ["APT41", "APT31", "Volt Typhoon", "APT29"] {
        assert!(kb.resolve(name).is_some(), "{name} unresolved");
    }
}
