//! The case store through the binary: `tiaki hunt --case` on the bundled parliamentary
//! scenario, re-run without duplicates, verdicts and notes, `tiaki case list|show|export`,
//! and `tiaki share export` checked by the OASIS STIX validator.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

mod common;
use common::{CASE_HUNT, repo};

fn tiaki(db: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_tiaki"))
        .current_dir(repo())
        .env("USER", "ana.analyst")
        .arg("--store")
        .arg(db)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tiaki {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The case hunt with the case's title, organisation and victimology.
fn hunt_args() -> Vec<&'static str> {
    let mut v = CASE_HUNT.to_vec();
    v.extend([
        "--title",
        "PDO intrusion",
        "--organisation",
        "Parliamentary Drafting Office (fictional)",
        "--sector",
        "government-national",
        "--country",
        "NZ",
    ]);
    v
}

#[test]
fn hunting_into_a_case_twice_adds_nothing_the_second_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tiaki.db");
    let first = tiaki(&db, &hunt_args());
    let hunted = String::from_utf8_lossy(&first.stdout).lines().count();
    assert!(hunted > 50, "only {hunted} detections");
    let err = String::from_utf8_lossy(&first.stderr);
    assert!(err.contains("attributed to G0065"), "{err}");

    let cases = json(&tiaki(&db, &["case", "list", "--format", "json"]));
    assert_eq!(cases.as_array().unwrap().len(), 1);
    let c = &cases[0];
    assert_eq!(c["case"]["name"], "pdo");
    assert_eq!(c["detections"].as_u64().unwrap() as usize, hunted);
    let evidence = c["evidence"].as_u64().unwrap();
    assert!(evidence >= 5, "{c}");

    let second = tiaki(&db, &hunt_args());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains(&format!("0 detections added, {hunted} already in the case")),
        "{err}"
    );
    let dump = json(&tiaki(&db, &["case", "show", "pdo", "--format", "json"]));
    assert_eq!(dump["detections"].as_array().unwrap().len(), hunted);
    assert_eq!(dump["evidence"].as_array().unwrap().len() as u64, evidence);
    assert_eq!(dump["runs"].as_array().unwrap().len(), 2);
    assert_eq!(dump["assessments"].as_array().unwrap().len(), 1);
    for e in dump["evidence"].as_array().unwrap() {
        assert_eq!(e["sha256"].as_str().unwrap().len(), 64);
        assert_eq!(e["added_by"], "ana.analyst");
    }
    let top = &dump["analysis"]["assessment"]["candidates"][0];
    assert_eq!(top["id"], "G0065", "{top}");

    // Verdicts and notes land in the case and in its export.
    let key = dump["detections"][0]["key"].as_str().unwrap().to_owned();
    tiaki(
        &db,
        &["case", "verdict", "pdo", &key, "fp", "--reason", "scanner"],
    );
    tiaki(
        &db,
        &["case", "note", "pdo", "Web shell confirmed on DMZ host"],
    );
    let out = dir.path().join("pdo.json");
    tiaki(&db, &["case", "export", "pdo", "-o", out.to_str().unwrap()]);
    let exported: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let d = exported["detections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["key"] == key.as_str())
        .unwrap();
    assert_eq!(d["verdict"]["verdict"], "false-positive", "{d}");
    assert_eq!(
        exported["notes"][0]["text"],
        "Web shell confirmed on DMZ host"
    );
}

#[test]
fn unknown_case_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tiaki.db");
    let out = Command::new(env!("CARGO_BIN_EXE_tiaki"))
        .arg("--store")
        .arg(&db)
        .args(["case", "show", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no case named 'nope'"), "{err}");
}

fn interop_python() -> PathBuf {
    let p = std::env::var_os("TIAKI_INTEROP_PYTHON").expect(
        "TIAKI_INTEROP_PYTHON is not set: run `eval \"$(bash scripts/interop-env.sh)\"` \
         (the README's test command does) so the OASIS STIX validator can check the export",
    );
    PathBuf::from(p)
}

#[test]
fn shared_bundle_passes_the_oasis_validator_and_keeps_red_home() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tiaki.db");
    // Our own observations are GREEN; the partner's indicators (and so the attribution that
    // rests on them) are AMBER.
    let mut hunt = hunt_args();
    hunt.extend(["--tlp", "green"]);
    tiaki(&db, &hunt);
    for tlp in ["amber", "green"] {
        let out = dir.path().join(format!("pdo-{tlp}.json"));
        tiaki(
            &db,
            &[
                "share",
                "export",
                "--case",
                "pdo",
                "--tlp",
                tlp,
                "-o",
                out.to_str().unwrap(),
            ],
        );
        let bundle: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        let objects = bundle["objects"].as_array().unwrap();
        let types: std::collections::BTreeSet<&str> =
            objects.iter().filter_map(|o| o["type"].as_str()).collect();
        const GREEN: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
        const AMBER: &str = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
        for t in [
            "identity",
            "report",
            "grouping",
            "observed-data",
            "relationship",
        ] {
            assert!(types.contains(t), "{tlp}: no {t} in {types:?}");
        }
        let markings: std::collections::BTreeSet<&str> = objects
            .iter()
            .flat_map(|o| o["object_marking_refs"].as_array().into_iter().flatten())
            .filter_map(|m| m.as_str())
            .collect();
        if tlp == "amber" {
            assert!(types.contains("intrusion-set"), "{types:?}");
            assert!(types.contains("indicator"), "{types:?}");
            assert!(
                markings.contains(AMBER) && markings.contains(GREEN),
                "{markings:?}"
            );
        } else {
            assert_eq!(markings.into_iter().collect::<Vec<_>>(), vec![GREEN]);
            assert!(!types.contains("intrusion-set"), "AMBER attribution leaked");
        }
        // Nothing is RED, and no object refers to one that is not in the bundle.
        let ids: std::collections::BTreeSet<&str> =
            objects.iter().filter_map(|o| o["id"].as_str()).collect();
        assert!(!ids.contains("marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"));
        for o in objects {
            for (k, v) in o.as_object().unwrap() {
                let refs: Vec<&str> = if k.ends_with("_refs") {
                    v.as_array()
                        .unwrap()
                        .iter()
                        .filter_map(|x| x.as_str())
                        .collect()
                } else if k.ends_with("_ref") {
                    v.as_str().into_iter().collect()
                } else {
                    continue;
                };
                for r in refs {
                    assert!(ids.contains(r), "{} {k} -> {r} dangles", o["id"]);
                }
            }
        }
        let v = Command::new(interop_python())
            .args([
                "-c",
                "import sys; from stix2validator.scripts.stix2_validator import main; \
                 sys.argv[0] = 'stix2_validator'; sys.exit(main())",
                "--version",
                "2.1",
                "--enforce-refs",
            ])
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            v.status.success(),
            "stix2-validator rejected the {tlp} export:\n{}{}",
            String::from_utf8_lossy(&v.stdout),
            String::from_utf8_lossy(&v.stderr)
        );
    }
}
