//! The export graph: STIX objects with the TLP of their inputs, in emission order.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value};
use tiaki_intel::attribution::Verdict;
use tiaki_stix::Tlp;

use super::{ExportInput, Withheld};

/// One object of the graph.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// The STIX object, without `object_marking_refs`.
    pub obj: Map<String, Value>,
    /// TLP of its own inputs (references are added by the filter).
    pub tlp: Tlp,
    /// What it is, for the withheld report.
    pub item: String,
    /// A grouping or report: its TLP is recomputed from what is left in it.
    pub container: bool,
}

/// The objects, in emission order, indexed by id.
#[derive(Debug, Default)]
pub(crate) struct Graph {
    pub nodes: Vec<Node>,
    index: HashMap<String, usize>,
}

impl Graph {
    /// Adds an object; an id already present keeps its first body and takes the most
    /// restrictive TLP of both (the same SCO seen under two TLPs).
    pub(crate) fn add(
        &mut self,
        obj: Map<String, Value>,
        tlp: Tlp,
        item: String,
        container: bool,
    ) -> String {
        let id = obj["id"].as_str().unwrap_or_default().to_string();
        if let Some(&i) = self.index.get(&id) {
            self.nodes[i].tlp = self.nodes[i].tlp.max(tlp);
        } else {
            self.index.insert(id.clone(), self.nodes.len());
            self.nodes.push(Node {
                obj,
                tlp,
                item,
                container,
            });
        }
        id
    }
}

/// The graph and the inputs excluded before it (false positives, unusable indicators).
pub(crate) struct Built {
    pub graph: Graph,
    pub excluded: Vec<Withheld>,
}

pub(crate) fn dedup(v: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    v.into_iter().filter(|x| seen.insert(x.clone())).collect()
}

/// The report's description: who, what, how bad, who did it.
pub(crate) fn case_summary(input: &ExportInput<'_>) -> String {
    let inv = input.investigation;
    let mut s = format!("Case {:?}", input.case_name);
    if !input.organisation.is_empty() {
        s.push_str(&format!(" at {}", input.organisation));
    }
    s.push_str(&format!(": {} incident(s)", inv.incidents.len()));
    if let Some(worst) = inv.incidents.iter().map(|i| i.severity).max() {
        s.push_str(&format!(", highest severity {}", worst.as_str()));
    }
    s.push('.');
    for inc in &inv.incidents {
        s.push_str(&format!(" {}: {}.", inc.id, inc.title));
    }
    match inv.assessment.as_ref().map(|a| &a.verdict) {
        Some(Verdict::Attributed {
            name, confidence, ..
        }) => s.push_str(&format!(
            " Attributed to {name} (probability {confidence:.2})."
        )),
        Some(Verdict::InsufficientEvidence { .. }) => {
            s.push_str(" Attribution: insufficient evidence; no actor is asserted.")
        }
        None => {}
    }
    s
}
