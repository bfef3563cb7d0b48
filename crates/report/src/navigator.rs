//! An ATT&CK Navigator layer of the techniques seen.
//!
//! Layer format 4.5 (`mitre-attack/attack-navigator`, `layers/spec/v4.5/layerformat.md`): the
//! analyst opens `navigator-layer.json` in the Navigator (an offline instance works) to see the
//! case on the full matrix, compare it with a group's layer, or hand it to a partner. Each
//! technique seen is scored by its detection count, coloured by the layer's gradient, with a
//! comment naming the incidents. A sub-technique's parent is listed too with
//! `showSubtechniques: true`, so the Navigator opens the parent and the scored sub-technique is
//! visible without clicking. `tactic` is set only when the knowledge base places the technique
//! under exactly one tactic; otherwise the annotation shows under each of its tactics, as the
//! format specifies for an absent `tactic`.

use crate::html::palette::HEAT;
use crate::investigation::Investigation;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The ATT&CK version the layer declares (major, as the Navigator expects).
pub const ATTACK_VERSION: &str = "18";
/// The Navigator version the layer declares (the format requires at least 4.9.0).
pub const NAVIGATOR_VERSION: &str = "5.1.0";
/// The layer format version.
pub const LAYER_VERSION: &str = "4.5";

/// The ATT&CK Navigator layer (format 4.5, `enterprise-attack`) of the techniques seen in the
/// investigation, scored by detection count.
pub fn navigator_layer(inv: &Investigation, name: &str) -> Value {
    // Detections per technique and incident, for the comments.
    let mut per_incident: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for i in &inv.incidents {
        for e in &i.events {
            for t in &e.attack {
                *per_incident
                    .entry(t.as_str())
                    .or_default()
                    .entry(i.id.as_str())
                    .or_insert(0) += 1;
            }
        }
    }
    let mut seen: Vec<_> = inv.techniques.iter().filter(|t| t.count > 0).collect();
    seen.sort_by(|a, b| a.id.cmp(&b.id));
    let max = seen.iter().map(|t| t.count).max().unwrap_or(0).max(1);
    let scored: BTreeMap<&str, u64> = seen.iter().map(|t| (t.id.as_str(), t.count)).collect();

    let mut techniques: BTreeMap<String, Value> = BTreeMap::new();
    for t in &seen {
        let has_subs_seen = scored.keys().any(|k| {
            k.len() > t.id.len() && k.starts_with(&t.id) && k[t.id.len()..].starts_with('.')
        });
        let incidents = per_incident
            .get(t.id.as_str())
            .map(|m| {
                m.iter()
                    .map(|(i, n)| format!("{i}: {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        let mut comment = format!(
            "{} detection{}",
            t.count,
            if t.count == 1 { "" } else { "s" }
        );
        if !t.name.is_empty() {
            comment = format!("{} — {comment}", t.name);
        }
        if !incidents.is_empty() {
            comment.push_str(&format!(" ({incidents})"));
        }
        let mut v = json!({
            "techniqueID": t.id,
            "score": t.count,
            "comment": comment,
            "enabled": true,
            "showSubtechniques": has_subs_seen,
        });
        if t.tactics.len() == 1 {
            v["tactic"] = json!(t.tactics[0]);
        }
        techniques.insert(t.id.clone(), v);
        // The parent of a sub-technique, opened so that the sub-technique shows.
        if let Some((parent, _)) = t.id.split_once('.')
            && !scored.contains_key(parent)
        {
            techniques.entry(parent.to_string()).or_insert_with(|| {
                json!({
                    "techniqueID": parent,
                    "comment": "Not detected itself; sub-techniques seen are shown.",
                    "enabled": true,
                    "showSubtechniques": true,
                })
            });
        }
    }

    let mut description = format!(
        "ATT&CK techniques detected in {}",
        if inv.title.is_empty() {
            "the investigation"
        } else {
            inv.title.as_str()
        }
    );
    if !inv.organisation.is_empty() {
        description.push_str(&format!(" ({})", inv.organisation));
    }
    description.push_str(", scored by the number of detections.");
    if !inv.tlp.trim().is_empty() {
        description.push_str(&format!(" {}.", inv.tlp.trim()));
    }
    let mut metadata = Vec::new();
    for (k, v) in [
        ("organisation", inv.organisation.as_str()),
        ("generated", inv.generated.as_str()),
        ("TLP", inv.tlp.trim()),
        ("knowledge base", inv.kb_label.as_str()),
    ] {
        if !v.is_empty() {
            metadata.push(json!({"name": k, "value": v}));
        }
    }
    if let Some((head, _)) = inv.key_judgement() {
        metadata.push(json!({"name": "attribution", "value": head}));
    }
    json!({
        "name": name,
        "versions": {
            "attack": ATTACK_VERSION,
            "navigator": NAVIGATOR_VERSION,
            "layer": LAYER_VERSION,
        },
        "domain": "enterprise-attack",
        "description": description,
        "sorting": 3,
        "layout": {
            "layout": "side",
            "showID": true,
            "showName": true,
            "showAggregateScores": false,
            "countUnscored": false,
            "aggregateFunction": "sum",
            "expandedSubtechniques": "annotated",
        },
        "hideDisabled": false,
        "techniques": techniques.into_values().collect::<Vec<_>>(),
        "gradient": {
            "colors": [HEAT[0], HEAT[2], HEAT[4]],
            "minValue": 0,
            "maxValue": max,
        },
        "legendItems": [
            {"label": "1 detection", "color": HEAT[0]},
            {"label": format!("{max} detection{}", if max == 1 { "" } else { "s" }), "color": HEAT[4]},
        ],
        "showTacticRowBackground": true,
        "tacticRowBackground": "#dddddd",
        "selectTechniquesAcrossTactics": true,
        "selectSubtechniquesWithParent": false,
        "selectVisibleTechniques": false,
        "metadata": metadata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::investigation::TechniqueCount;

    fn tc(id: &str, tactics: &[&str], count: u64) -> TechniqueCount {
        TechniqueCount {
            id: id.into(),
            name: format!("name of {id}"),
            tactics: tactics.iter().map(|s| s.to_string()).collect(),
            count,
        }
    }

    #[test]
    fn layer_fields_and_scores() {
        let inv = Investigation {
            title: "Quiet Draft".into(),
            tlp: "TLP:AMBER".into(),
            techniques: vec![
                tc("T1505.003", &["persistence"], 9),
                tc("T1082", &["discovery"], 4),
                tc("T1078", &["defense-evasion", "persistence"], 2),
                tc("T1110.001", &["credential-access"], 1),
                tc("T1110", &["credential-access"], 3),
                tc("T9999", &[], 0),
            ],
            ..Default::default()
        };
        let l = navigator_layer(&inv, "case");
        assert_eq!(l["name"], "case");
        assert_eq!(l["versions"]["layer"], "4.5");
        assert_eq!(l["versions"]["attack"], "18");
        assert_eq!(l["versions"]["navigator"], "5.1.0");
        assert_eq!(l["domain"], "enterprise-attack");
        assert_eq!(l["gradient"]["maxValue"], 9);
        assert_eq!(l["gradient"]["minValue"], 0);
        assert!(l["gradient"]["colors"].as_array().unwrap().len() >= 2);
        assert_eq!(l["legendItems"].as_array().unwrap().len(), 2);
        assert!(l["description"].as_str().unwrap().contains("TLP:AMBER"));
        let techs = l["techniques"].as_array().unwrap();
        let by_id = |id: &str| techs.iter().find(|t| t["techniqueID"] == id).cloned();
        // Scored techniques.
        let ws = by_id("T1505.003").unwrap();
        assert_eq!(ws["score"], 9);
        assert_eq!(ws["tactic"], "persistence");
        assert_eq!(ws["enabled"], true);
        assert!(ws["comment"].as_str().unwrap().contains("9 detections"));
        // Several tactics: no tactic field, shown under each.
        assert!(by_id("T1078").unwrap().get("tactic").is_none());
        // The parent of a sub-technique is listed, unscored, and opened.
        let parent = by_id("T1505").unwrap();
        assert!(parent.get("score").is_none());
        assert_eq!(parent["showSubtechniques"], true);
        // A parent seen itself keeps its score and opens its sub-techniques.
        let bf = by_id("T1110").unwrap();
        assert_eq!(bf["score"], 3);
        assert_eq!(bf["showSubtechniques"], true);
        assert_eq!(by_id("T1082").unwrap()["showSubtechniques"], false);
        // Unseen techniques are left out.
        assert!(by_id("T9999").is_none());
        assert_eq!(techs.len(), 6);
    }

    #[test]
    fn empty_layer_is_valid() {
        let l = navigator_layer(&Investigation::default(), "empty");
        assert_eq!(l["techniques"].as_array().unwrap().len(), 0);
        // maxValue must exceed minValue.
        assert_eq!(l["gradient"]["maxValue"], 1);
    }
}
