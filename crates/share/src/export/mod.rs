//! A case as a STIX 2.1 bundle, under the TLP 2.0 export rules.
//!
//! Why a graph and a second pass: TLP is a property of information, not of files. An IP
//! address seen by an AMBER partner indicator is AMBER; the sighting of it is at least AMBER;
//! the report listing it is too, unless the sighting is filtered out. So the export first
//! builds every object with the TLP of its own inputs ([`build`]), then [`filter`]s the whole
//! graph against the destination:
//!
//! 1. most restrictive wins — each object's TLP is the maximum of its inputs, the case TLP and
//!    every object it references; containers (grouping, report) take the maximum of what is
//!    left in them after filtering;
//! 2. TLP:RED never leaves unless the caller explicitly allows it ([`ExportOptions::allow_red`]);
//! 3. objects above the destination ceiling are withheld, every object that needs one of them
//!    is withheld too, and their ids are stripped from optional reference lists — no dangling
//!    id reveals that something exists; a grouping or report left empty is dropped;
//! 4. every exported object keeps its marking, and the marking-definition objects used are in
//!    the bundle (TLP 2.0 definitions are not predefined by STIX);
//! 5. for a TLP 1.0-only consumer ([`ExportOptions::tlp1_consumer`]) AMBER+STRICT counts as RED
//!    (never AMBER) and the TLP 1.0 definitions are used.
//!
//! Ids are deterministic ([`crate::ids`]): exporting the same case again gives the same ids and
//! a later `modified`, i.e. new versions of the same objects.

mod build;
mod filter;
mod graph;
mod observables;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use tiaki::Detection;
use tiaki_report::Investigation;
use tiaki_stix::Tlp;

use crate::ShareError;

/// One detection offered for sharing, with the analyst's decisions about it.
#[derive(Debug, Clone)]
pub struct SharedDetection {
    /// A stable key for the detection within the case (its position in the hunt's detection
    /// list, or a hash of its record): part of the deterministic ids derived from it.
    pub key: String,
    /// The detection.
    pub detection: Detection,
    /// Its TLP: the most restrictive of the evidence's and (for indicator hits) the feed's.
    pub tlp: Tlp,
    /// Marked a false positive by the analyst: excluded from the export entirely.
    pub false_positive: bool,
}

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportInput<'a> {
    /// The case name: the scope of every deterministic id.
    pub case_name: String,
    /// The report title.
    pub title: String,
    /// The organisation the case is about.
    pub organisation: String,
    /// The producer's identity name (`NZ NCSC (tiaki)`): `created_by_ref` and
    /// `where_sighted_refs` of everything exported.
    pub producer: String,
    /// The case's TLP: the floor of every object's marking.
    pub case_tlp: Tlp,
    /// Incidents, attribution, techniques.
    pub investigation: &'a Investigation,
    /// The detections, with their TLP and false-positive marks.
    pub detections: &'a [SharedDetection],
    /// Export time, RFC 3339 (injected so that tests are deterministic): `modified` of every
    /// object and `published` of the report.
    pub now: String,
}

/// Where the bundle is going.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportOptions {
    /// The destination's ceiling (`--tlp`): objects above it are withheld.
    pub max_tlp: Tlp,
    /// Let TLP:RED objects out (only for a person-to-person channel the analyst approved;
    /// never for a TAXII push). Default false.
    pub allow_red: bool,
    /// The consumer only understands TLP 1.0: AMBER+STRICT is treated as RED and markings use
    /// the TLP 1.0 definitions. Default false (TLP 2.0).
    pub tlp1_consumer: bool,
}

impl ExportOptions {
    /// A destination with this ceiling, RED blocked, TLP 2.0 markings.
    pub fn new(max_tlp: Tlp) -> ExportOptions {
        ExportOptions {
            max_tlp,
            allow_red: false,
            tlp1_consumer: false,
        }
    }

    /// The level used for decisions and markings (AMBER+STRICT → RED for TLP 1.0 consumers).
    pub(crate) fn level(&self, t: Tlp) -> Tlp {
        if self.tlp1_consumer {
            t.for_tlp1_consumer()
        } else {
            t
        }
    }

    /// Why an object at `t` may not go, or `None` if it may.
    pub(crate) fn refusal(&self, t: Tlp) -> Option<String> {
        let t = self.level(t);
        if t == Tlp::Red && !self.allow_red {
            Some("TLP:RED is never exported to partners or feeds".to_string())
        } else if t > self.max_tlp {
            Some(format!(
                "{t} is above the destination ceiling {}",
                self.max_tlp
            ))
        } else {
            None
        }
    }
}

/// One thing that was not exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Withheld {
    /// The object (`indicator--… (indicator 203.0.113.7)`) or the input item (a detection key).
    pub id_or_item: String,
    /// Its TLP.
    pub tlp: Tlp,
    /// Why it was withheld.
    pub reason: String,
}

/// What the export contains and what it left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExportReport {
    /// Objects in the bundle by STIX type (marking definitions included).
    pub objects_by_type: BTreeMap<String, usize>,
    /// What was left out, and why.
    pub withheld: Vec<Withheld>,
}

/// An exported case.
#[derive(Debug, Clone)]
pub struct Export {
    /// The STIX 2.1 bundle.
    pub bundle: Value,
    /// Counts and withheld items.
    pub report: ExportReport,
}

impl Export {
    /// The bundle's objects (what a TAXII push sends).
    pub fn objects(&self) -> &[Value] {
        self.bundle["objects"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

/// Exports a case as a STIX 2.1 bundle for a destination with `opts`.
///
/// Fails when a timestamp is not RFC 3339, or when nothing at all may go to the destination
/// ([`ShareError::NothingToShare`]: the case TLP is above the ceiling).
pub fn export_case(input: &ExportInput<'_>, opts: &ExportOptions) -> Result<Export, ShareError> {
    let built = build::build(input)?;
    let (objects, mut withheld) = filter::filter(built.graph, opts);
    let mut all_withheld = built.excluded;
    all_withheld.append(&mut withheld);
    let shared = objects
        .iter()
        .filter(|o| o["type"] != "marking-definition")
        .count();
    if shared == 0 {
        return Err(ShareError::NothingToShare {
            case: input.case_name.clone(),
            case_tlp: input.case_tlp,
            ceiling: opts.max_tlp,
            withheld: all_withheld.len(),
        });
    }
    let mut objects_by_type = BTreeMap::new();
    for o in &objects {
        let ty = o["type"].as_str().unwrap_or("?").to_string();
        *objects_by_type.entry(ty).or_insert(0) += 1;
    }
    let bundle = serde_json::json!({
        "type": "bundle",
        "id": crate::ids::bundle_id(),
        "objects": objects,
    });
    Ok(Export {
        bundle,
        report: ExportReport {
            objects_by_type,
            withheld: all_withheld,
        },
    })
}

#[cfg(test)]
mod tests;
