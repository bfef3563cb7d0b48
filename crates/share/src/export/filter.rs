//! Applies a destination's ceiling to the whole export graph (TLP 2.0 rules 1, 2, 4, 5, 8).
//!
//! Withholding one object is not enough: a sighting that points at a withheld indicator, or a
//! report listing its id, tells the partner that it exists. So withholding cascades through
//! every reference until the graph is closed: objects that *need* a withheld object (a
//! `*_ref` property) go too; optional reference lists (`*_refs`) lose the id, and objects
//! whose required list ends up empty (observed-data, grouping, report) go.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;
use tiaki_stix::Tlp;

use super::graph::Graph;
use super::{ExportOptions, Withheld};

/// The ids an object references (`*_ref` and `*_refs` properties at the top level).
fn refs(obj: &serde_json::Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in obj {
        if k.ends_with("_ref") {
            if let Some(s) = v.as_str() {
                out.push(s.to_string());
            }
        } else if k.ends_with("_refs")
            && let Some(a) = v.as_array()
        {
            out.extend(a.iter().filter_map(Value::as_str).map(str::to_string));
        }
    }
    out
}

/// Reference lists an object cannot exist without (non-empty per the specification).
fn required_list(ty: &str, key: &str) -> bool {
    key == "object_refs"
        && matches!(
            ty,
            "observed-data" | "grouping" | "report" | "note" | "opinion"
        )
}

/// The exported objects (marking definitions first) and what was withheld.
pub(crate) fn filter(graph: Graph, opts: &ExportOptions) -> (Vec<Value>, Vec<Withheld>) {
    let mut nodes = graph.nodes;
    let index: HashMap<String, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.obj["id"].as_str().unwrap_or_default().to_string(), i))
        .collect();

    // Rule 1: a derived object is at least as restricted as everything it references.
    loop {
        let mut changed = false;
        for i in 0..nodes.len() {
            if nodes[i].container {
                continue;
            }
            let max = refs(&nodes[i].obj)
                .iter()
                .filter_map(|r| index.get(r))
                .map(|&j| nodes[j].tlp)
                .fold(nodes[i].tlp, Tlp::max);
            if max > nodes[i].tlp {
                nodes[i].tlp = max;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }

    // Rules 2 and 3: the ceiling, RED blocked.
    let mut gone: Vec<Option<String>> = nodes
        .iter()
        .map(|n| {
            if n.container {
                None
            } else {
                opts.refusal(n.tlp)
            }
        })
        .collect();

    // Rule 4: cascade until no kept object references a withheld one.
    loop {
        let mut changed = false;
        for i in 0..nodes.len() {
            if gone[i].is_some() {
                continue;
            }
            let ty = nodes[i].obj["type"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let absent = |id: &str| index.get(id).is_none_or(|&j| gone[j].is_some());
            let mut reason = None;
            let mut strip = Vec::new();
            for (k, v) in &nodes[i].obj {
                if k.ends_with("_ref") {
                    if let Some(id) = v.as_str().filter(|id| absent(id)) {
                        reason = Some(format!("references withheld {id} ({k})"));
                    }
                } else if k.ends_with("_refs")
                    && let Some(a) = v.as_array()
                    && a.iter().filter_map(Value::as_str).any(absent)
                {
                    strip.push(k.clone());
                }
            }
            for k in strip {
                let kept: Vec<Value> = nodes[i].obj[&k]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|v| v.as_str().is_some_and(|id| !absent(id)))
                    .cloned()
                    .collect();
                if kept.is_empty() {
                    if required_list(&ty, &k) {
                        reason = Some(format!("nothing left in {k} after withholding"));
                    } else {
                        nodes[i].obj.remove(&k);
                    }
                } else {
                    nodes[i].obj.insert(k, Value::Array(kept));
                }
                changed = true;
            }
            if let Some(r) = reason {
                gone[i] = Some(r);
                changed = true;
            }
        }
        // Containers take the most restrictive of what is left in them.
        for i in 0..nodes.len() {
            if !nodes[i].container || gone[i].is_some() {
                continue;
            }
            let max = refs(&nodes[i].obj)
                .iter()
                .filter_map(|r| index.get(r))
                .map(|&j| nodes[j].tlp)
                .fold(nodes[i].tlp, Tlp::max);
            nodes[i].tlp = max;
            if let Some(r) = opts.refusal(max) {
                gone[i] = Some(r);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }

    // Rule 5 (and 8): keep the marking on everything, ship the definitions used.
    let mut used = BTreeSet::new();
    let mut objects = Vec::new();
    let mut withheld = Vec::new();
    for (node, why) in nodes.into_iter().zip(gone) {
        let level = opts.level(node.tlp);
        let id = node.obj["id"].as_str().unwrap_or_default().to_string();
        if let Some(reason) = why {
            withheld.push(Withheld {
                id_or_item: format!("{id} ({})", node.item),
                tlp: level,
                reason,
            });
            continue;
        }
        used.insert(level);
        let mut obj = node.obj;
        obj.insert(
            "object_marking_refs".into(),
            Value::from(vec![marking_id(level, opts)]),
        );
        objects.push(Value::Object(obj));
    }
    let mut markings: Vec<Value> = used
        .into_iter()
        .filter_map(|t| {
            if opts.tlp1_consumer {
                t.marking_definition_v1().map(|m| m.to_value())
            } else {
                Some(t.marking_definition().to_value())
            }
        })
        .collect();
    markings.append(&mut objects);
    (markings, withheld)
}

fn marking_id(level: Tlp, opts: &ExportOptions) -> &'static str {
    if opts.tlp1_consumer {
        // `level` is already mapped: AMBER+STRICT became RED.
        level
            .marking_id_v1()
            .unwrap_or(Tlp::Red.marking_id_v1().unwrap_or_default())
    } else {
        level.marking_id()
    }
}
