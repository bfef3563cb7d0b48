//! The exported bundle passes the OASIS STIX 2.1 validator (stix2-validator 3.3.2).
//!
//! Needs the interop Python environment (`scripts/interop-env.sh`); fails without it.

mod common;

use std::process::Command;

use tiaki_stix::Tlp;

fn validate(max: Tlp) {
    let py = common::interop_python("stix2validator");
    let e = common::export_fixture("quiet-draft", max, "2026-02-12T10:00:00Z");
    println!("{max}: {:?}", e.report.objects_by_type);
    for w in &e.report.withheld {
        println!("  withheld {} [{}]: {}", w.id_or_item, w.tlp, w.reason);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&e.bundle).unwrap()).unwrap();
    // --strict: every SHOULD warning fails too; --enforce-refs: every referenced id must be in
    // the bundle (no dangling references); --version 2.1 pins the spec. Exit code 0 = valid.
    let out = Command::new(&py)
        .args([
            "-m",
            "stix2validator.scripts.stix2_validator",
            "--version",
            "2.1",
            "--strict",
            "--enforce-refs",
        ])
        .arg(&path)
        .output()
        .expect("run stix2validator");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}\n{stderr}");
    assert!(
        out.status.success(),
        "stix2validator rejected the {max} export:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("[+]"),
        "no verdict in validator output:\n{stdout}"
    );
    assert!(!stdout.contains("[X]"), "{stdout}");
}

#[test]
fn amber_export_is_valid_stix() {
    validate(Tlp::Amber);
}

#[test]
fn green_export_is_valid_stix() {
    validate(Tlp::Green);
}
