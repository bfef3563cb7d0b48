//! Unit tests of the export rules on the shared fixture.

use super::*;
use serde_json::Value;
use std::collections::BTreeSet;

#[path = "../../tests/common/fixture.rs"]
mod fixture;

const NOW: &str = "2026-02-12T10:00:00.000Z";

fn export_with(case_tlp: Tlp, opts: ExportOptions, attributed: bool) -> Result<Export, ShareError> {
    let hits = fixture::hits();
    let inv = fixture::investigation(&hits, attributed);
    let dets = fixture::shared(&hits);
    let input = ExportInput {
        case_name: "quiet-draft".into(),
        title: "Operation Quiet Draft".into(),
        organisation: "Parliamentary Drafting Office".into(),
        producer: "NZ NCSC (tiaki)".into(),
        case_tlp,
        investigation: &inv,
        detections: &dets,
        now: NOW.into(),
    };
    export_case(&input, &opts)
}

fn export(max: Tlp) -> Export {
    export_with(Tlp::Green, ExportOptions::new(max), true).unwrap()
}

/// Every `*_ref`/`*_refs` id anywhere in the bundle names an object of the bundle.
pub(crate) fn dangling(bundle: &Value) -> Vec<String> {
    fn walk(v: &Value, ids: &BTreeSet<String>, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    if k.ends_with("_ref")
                        && let Some(s) = x.as_str()
                        && !ids.contains(s)
                    {
                        out.push(format!("{k} -> {s}"));
                    }
                    if k.ends_with("_refs")
                        && let Some(a) = x.as_array()
                    {
                        for s in a.iter().filter_map(Value::as_str) {
                            if !ids.contains(s) {
                                out.push(format!("{k} -> {s}"));
                            }
                        }
                    }
                    walk(x, ids, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, ids, out)),
            _ => {}
        }
    }
    let objs = bundle["objects"].as_array().unwrap();
    let ids: BTreeSet<String> = objs
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect();
    let mut out = Vec::new();
    walk(&bundle["objects"], &ids, &mut out);
    out
}

fn of_type<'a>(e: &'a Export, ty: &str) -> Vec<&'a Value> {
    e.objects().iter().filter(|o| o["type"] == ty).collect()
}

fn text(e: &Export) -> String {
    serde_json::to_string(&e.bundle).unwrap()
}

fn tlp(o: &Value) -> Tlp {
    tiaki_stix::tlp::tlp_of_value(o).expect("marked")
}

#[test]
fn amber_destination_gets_everything_but_red() {
    let e = export(Tlp::Amber);
    assert!(dangling(&e.bundle).is_empty(), "{:?}", dangling(&e.bundle));
    let s = text(&e);
    assert!(s.contains("update-check.example.net"));
    assert!(
        !s.contains("9f86d081884c7d659a2feaa0c55ad015"),
        "RED hash leaked"
    );
    assert!(
        e.report
            .withheld
            .iter()
            .any(|w| w.tlp == Tlp::Red && w.reason.contains("RED"))
    );
    assert_eq!(of_type(&e, "indicator").len(), 2);
    assert_eq!(of_type(&e, "sighting").len(), 2);
    assert_eq!(of_type(&e, "grouping").len(), 2);
    assert_eq!(of_type(&e, "intrusion-set").len(), 1);
    assert_eq!(of_type(&e, "report").len(), 1);
    for o in e.objects() {
        if o["type"] == "marking-definition" {
            continue;
        }
        assert!(tlp(o) <= Tlp::Amber, "{o}");
        for k in ["created", "modified"] {
            if let Some(t) = o[k].as_str() {
                assert_eq!(t.len(), 24, "{k} {t} must have exactly 3 fractional digits");
                assert!(t.ends_with('Z'));
            }
        }
        if o["type"] != "identity" {
            assert!(o.get("spec_version").is_some());
        }
    }
    // Markings used are in the bundle, and only those.
    let md: BTreeSet<&str> = of_type(&e, "marking-definition")
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        md,
        BTreeSet::from([Tlp::Green.marking_id(), Tlp::Amber.marking_id()])
    );
    // The local validator agrees with the OASIS rules we hold it to.
    for o in e.objects() {
        let issues = tiaki_stix::validate(o);
        assert!(issues.is_empty(), "{o}: {issues:?}");
    }
}

#[test]
fn amber_items_and_what_needs_them_are_withheld_at_green() {
    let e = export(Tlp::Green);
    assert!(dangling(&e.bundle).is_empty(), "{:?}", dangling(&e.bundle));
    let s = text(&e);
    assert!(
        !s.contains("update-check.example.net"),
        "AMBER domain leaked"
    );
    assert!(s.contains("203.0.113.45"));
    assert_eq!(of_type(&e, "indicator").len(), 1);
    assert_eq!(of_type(&e, "sighting").len(), 1);
    let withheld: Vec<&str> = e
        .report
        .withheld
        .iter()
        .map(|w| w.id_or_item.as_str())
        .collect();
    assert!(
        withheld.iter().any(|w| w.starts_with("sighting--")),
        "{withheld:?}"
    );
    assert!(
        withheld
            .iter()
            .any(|w| w.contains("indicates update-check")),
        "{withheld:?}"
    );
    assert!(
        e.objects()
            .iter()
            .all(|o| o["type"] == "marking-definition" || tlp(o) == Tlp::Green)
    );
    // The AMBER domain names the group too, so the attribution is AMBER: the intrusion set,
    // `attributed-to` and every `indicates` pointing at the set are withheld at GREEN.
    assert!(of_type(&e, "intrusion-set").is_empty());
    let rels: Vec<&str> = of_type(&e, "relationship")
        .iter()
        .map(|r| r["relationship_type"].as_str().unwrap())
        .collect();
    assert!(!rels.contains(&"indicates"), "{rels:?}");
    assert!(!rels.contains(&"attributed-to"), "{rels:?}");
    assert!(rels.contains(&"uses"), "{rels:?}");
    assert_eq!(of_type(&e, "marking-definition").len(), 1);
}

#[test]
fn red_only_leaves_when_allowed() {
    let mut opts = ExportOptions::new(Tlp::Red);
    let e = export_with(Tlp::Green, opts, true).unwrap();
    assert!(!text(&e).contains("9f86d081884c7d659a2feaa0c55ad015"));
    opts.allow_red = true;
    let e = export_with(Tlp::Green, opts, true).unwrap();
    assert!(text(&e).contains("9f86d081884c7d659a2feaa0c55ad015"));
    let red: Vec<&Value> = e
        .objects()
        .iter()
        .filter(|o| o["type"] != "marking-definition" && tlp(o) == Tlp::Red)
        .collect();
    assert!(red.iter().any(|o| o["type"] == "indicator"));
    assert!(red.iter().any(|o| o["type"] == "sighting"));
    // The grouping holding RED content is RED itself (most restrictive of its contents).
    assert!(red.iter().any(|o| o["type"] == "grouping"));
    assert!(dangling(&e.bundle).is_empty());
    // A RED case with RED allowed but a lower ceiling still goes nowhere.
    let opts = ExportOptions {
        max_tlp: Tlp::Amber,
        allow_red: true,
        tlp1_consumer: false,
    };
    let err = export_with(Tlp::Red, opts, true).unwrap_err();
    assert!(matches!(err, ShareError::NothingToShare { .. }), "{err}");
}

#[test]
fn case_above_ceiling_is_an_error() {
    let err = export_with(Tlp::Amber, ExportOptions::new(Tlp::Green), true).unwrap_err();
    assert!(err.to_string().contains("nothing to share"), "{err}");
}

#[test]
fn false_positives_are_excluded_entirely() {
    let e = export(Tlp::Amber);
    let s = text(&e);
    assert!(!s.contains("198.51.100.99"));
    assert!(!s.contains("9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"));
    assert!(
        !s.contains("T1105"),
        "technique seen only in a false positive"
    );
    assert!(
        e.report
            .withheld
            .iter()
            .any(|w| w.reason == "marked false positive")
    );
}

#[test]
fn ids_are_deterministic_and_versions_advance() {
    let a = export(Tlp::Amber);
    let hits = fixture::hits();
    let inv = fixture::investigation(&hits, true);
    let dets = fixture::shared(&hits);
    let input = ExportInput {
        case_name: "quiet-draft".into(),
        title: "Operation Quiet Draft".into(),
        organisation: "Parliamentary Drafting Office".into(),
        producer: "NZ NCSC (tiaki)".into(),
        case_tlp: Tlp::Green,
        investigation: &inv,
        detections: &dets,
        now: "2026-03-01T00:00:00+13:00".into(),
    };
    let b = export_case(&input, &ExportOptions::new(Tlp::Amber)).unwrap();
    let ids = |e: &Export| -> Vec<String> {
        e.objects()
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&a), ids(&b));
    assert_ne!(a.bundle["id"], b.bundle["id"]);
    for (x, y) in a.objects().iter().zip(b.objects()) {
        assert_eq!(x["created"], y["created"], "{}", x["id"]);
        if let (Some(m1), Some(m2)) = (x["modified"].as_str(), y["modified"].as_str()) {
            assert!(m2 > m1, "{} {m1} {m2}", x["id"]);
            assert_eq!(m2, "2026-02-28T11:00:00.000Z");
        }
    }
    // SCO ids follow the specification's UUIDv5 rule, not the case.
    let ip = tiaki_stix::sco_id::sco_id(
        serde_json::json!({"type": "ipv4-addr", "value": "203.0.113.45"})
            .as_object()
            .unwrap(),
    );
    assert!(ids(&a).contains(&ip));
}

#[test]
fn abstention_shares_no_actor() {
    let e = export_with(Tlp::Green, ExportOptions::new(Tlp::Amber), false).unwrap();
    assert!(of_type(&e, "intrusion-set").is_empty());
    assert!(!text(&e).contains("Leviathan"));
    assert!(dangling(&e.bundle).is_empty());
}

#[test]
fn attribution_is_a_campaign_attributed_to_the_set() {
    let e = export(Tlp::Amber);
    let is = of_type(&e, "intrusion-set")[0];
    assert_eq!(is["name"], "Leviathan");
    assert_eq!(is["aliases"][0], "APT40");
    let camp = of_type(&e, "campaign")[0];
    let rel = of_type(&e, "relationship")
        .into_iter()
        .find(|r| r["relationship_type"] == "attributed-to")
        .unwrap();
    assert_eq!(rel["source_ref"], camp["id"]);
    assert_eq!(rel["target_ref"], is["id"]);
    assert_eq!(rel["confidence"], 82);
    let d = rel["description"].as_str().unwrap();
    assert!(d.contains("T1505.003"), "{d}");
    assert!(
        !d.contains("203.0.113.45"),
        "infrastructure evidence is not restated"
    );
    let uses = of_type(&e, "relationship")
        .into_iter()
        .filter(|r| r["relationship_type"] == "uses")
        .count();
    assert_eq!(uses, of_type(&e, "attack-pattern").len());
}

#[test]
fn tlp1_consumers_get_tlp1_markings_and_no_amber_strict() {
    let opts = ExportOptions {
        max_tlp: Tlp::Amber,
        allow_red: false,
        tlp1_consumer: true,
    };
    let e = export_with(Tlp::Green, opts, true).unwrap();
    for o in e.objects() {
        if let Some(m) = o["object_marking_refs"].as_array() {
            let id = m[0].as_str().unwrap();
            assert!(
                Tlp::ALL.iter().any(|t| t.marking_id_v1() == Some(id)),
                "{id}"
            );
        }
    }
    assert!(dangling(&e.bundle).is_empty());
    // An AMBER+STRICT case is RED for a TLP 1.0 consumer: never AMBER.
    let opts = ExportOptions {
        max_tlp: Tlp::AmberStrict,
        allow_red: false,
        tlp1_consumer: true,
    };
    assert!(export_with(Tlp::AmberStrict, opts, true).is_err());
}
