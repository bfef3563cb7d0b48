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

/// The embedded ATT&CK background is what the `background` example makes from the shared
/// ATT&CK v18.1 bundle (regenerate it when ATT&CK changes).
#[test]
fn the_embedded_background_matches_attack() {
    use tiaki_intel::attribution::features::Background;
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/attack/enterprise-attack.json"
    );
    let kb = KnowledgeBase::from_bundle_file(path).expect("the shared ATT&CK bundle");
    let ours = Background::of_knowledge_base(&kb, "MITRE ATT&CK Enterprise v18.1");
    let embedded = tiaki_intel::pack::attack_background();
    assert_eq!(embedded, ours);
    assert_eq!(embedded.groups, 172);
    assert_eq!(embedded.df["S0228"], 1, "NanHaiShu: Leviathan only");
    assert!(embedded.df["S0002"] > 30, "Mimikatz: many sets");
}

/// On the 12-set pack, one family only Leviathan is known for weighs what it weighs among
/// ATT&CK's 172 sets — but only with the background: among 12 hand-picked sets "unique" says
/// little, and the model, fitted at ATT&CK scale, discounted it.
#[test]
fn the_pack_judges_specificity_by_attack() {
    use tiaki_intel::attribution::{Evidence, Model, ModelParams, Options};
    let l = tiaki_intel::pack::LoadedKb::pack_only().unwrap();
    let background = l
        .background()
        .expect("12 sets < 172: the background applies");
    let mut ev = Evidence::new();
    ev.software = vec!["NanHaiShu".into()];
    let p = |bg| {
        let m = Model::with_background(&l.kb, l.attribution_context(), ModelParams::default(), bg);
        let a = m.assess(&ev, &Options::default());
        assert_eq!(a.candidates[0].id, "G0065");
        a.candidates[0].probability
    };
    let without = p(None);
    let with = p(Some(&background));
    assert!(without < 0.5, "{without}");
    assert!(with > 0.7, "{with}");
    // Generic evidence stays inconclusive either way.
    let mut generic = Evidence::new();
    generic.techniques = vec!["T1059".into()];
    let m = Model::with_background(
        &l.kb,
        l.attribution_context(),
        ModelParams::default(),
        Some(&background),
    );
    assert!(
        !m.assess(&generic, &Options::default())
            .verdict
            .is_attributed()
    );
}
