//! Helpers for the interoperability tests: the Python environment with the OASIS tools, and
//! the fixture case.
#![allow(dead_code)]

pub mod fixture;

pub use tiaki_share::SharedDetection;

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use tiaki_share::{Export, ExportInput, ExportOptions, export_case};
use tiaki_stix::Tlp;

/// The venv's python (`TIAKI_INTEROP_PYTHON`), checked to import `module`. Panics with the
/// fix when it is missing: these tests fail rather than skip.
pub fn interop_python(module: &str) -> PathBuf {
    let hint = "run `bash scripts/interop-env.sh` and export the TIAKI_INTEROP_PYTHON it prints";
    let py = std::env::var_os("TIAKI_INTEROP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("TIAKI_INTEROP_PYTHON is not set: {hint}"));
    let out = Command::new(&py)
        .args(["-c", &format!("import {module}")])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; {hint}", py.display()));
    assert!(
        out.status.success(),
        "{} cannot import {module}: {}; {hint}",
        py.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    py
}

/// The fixture case exported for a destination.
pub fn export_fixture(case_name: &str, max: Tlp, now: &str) -> Export {
    let hits = fixture::hits();
    let inv = fixture::investigation(&hits, true);
    let dets = fixture::shared(&hits);
    let input = ExportInput {
        case_name: case_name.into(),
        title: "Operation Quiet Draft".into(),
        organisation: "Parliamentary Drafting Office".into(),
        producer: "NZ NCSC (tiaki)".into(),
        case_tlp: Tlp::Green,
        investigation: &inv,
        detections: &dets,
        now: now.into(),
    };
    export_case(&input, &ExportOptions::new(max)).expect("export")
}

/// Ids of a list of objects.
pub fn ids(objects: &[Value]) -> Vec<String> {
    objects
        .iter()
        .map(|o| o["id"].as_str().unwrap_or_default().to_string())
        .collect()
}
