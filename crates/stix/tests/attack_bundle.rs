//! The real ATT&CK enterprise bundle: every object reads, round-trips unchanged and
//! validates. Skipped (with a note) when the shared data is not present.

use std::collections::BTreeMap;

use serde_json::Value;
use tiaki_stix::{StixObject, read_bundle_slice, validate};

const ATTACK: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/attack/enterprise-attack.json"
);

#[test]
fn attack_bundle_reads_round_trips_and_validates() {
    let Ok(bytes) = std::fs::read(ATTACK) else {
        eprintln!("skipping: {ATTACK} not found");
        return;
    };
    let mut objects: Vec<StixObject> = Vec::new();
    let summary = read_bundle_slice(&bytes, |o| objects.push(o)).expect("ATT&CK bundle reads");
    assert_eq!(summary.objects, 24_772);
    assert_eq!(objects.len(), 24_772);

    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    let originals = doc["objects"].as_array().unwrap();
    let mut invalid: BTreeMap<String, usize> = BTreeMap::new();
    let mut examples = Vec::new();
    for (obj, original) in objects.iter().zip(originals) {
        assert_eq!(&obj.to_value(), original, "round trip changed {}", obj.id);
        for issue in validate(original) {
            let key = format!("{}: {}", obj.type_, issue.property);
            *invalid.entry(key).or_default() += 1;
            if examples.len() < 20 {
                examples.push(issue.to_string());
            }
        }
    }
    assert!(
        invalid.is_empty(),
        "ATT&CK objects with issues: {invalid:#?}\n{examples:#?}"
    );

    let apt40 = objects
        .iter()
        .find(|o| o.attack_id() == Some("G0065"))
        .expect("G0065");
    assert_eq!(apt40.type_, "intrusion-set");
    assert!(
        apt40
            .view::<tiaki_stix::sdo::IntrusionSet>()
            .unwrap()
            .aliases
            .unwrap()
            .iter()
            .any(|a| a == "APT40")
    );
    let ps = objects
        .iter()
        .find(|o| o.attack_id() == Some("T1059.001"))
        .expect("T1059.001");
    assert_eq!(ps.name(), Some("PowerShell"));
    assert!(objects.iter().any(|o| o.type_ == "x-mitre-tactic"));
    assert!(objects.iter().any(|o| o.type_ == "x-mitre-collection"));
    assert!(objects.iter().any(|o| o.is_deprecated()));
    assert!(objects.iter().any(|o| o.is_revoked()));
}
