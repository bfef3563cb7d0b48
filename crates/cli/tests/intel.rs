//! `tiaki intel` through the real binary: the starter pack on a fresh machine, importing ATT&CK
//! and the MISP galaxy into a store, `list groups`, `show`, `--kb`, and `update` against a
//! local HTTP server.

mod common;

use common::{assert_code, json_out, shared, stderr, stdout, tiaki_home as tiaki};

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::thread;

use serde_json::{Value, json};

fn group_ids(list: &Value) -> Vec<String> {
    list["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[test]
fn a_fresh_machine_has_the_starter_pack_and_no_store() {
    let home = tempfile::tempdir().unwrap();
    let o = tiaki(home.path(), &["intel", "show", "APT40", "--format", "json"]);
    assert_code(&o, 0);
    let v = json_out(&o);
    assert_eq!(v["id"], "G0065");
    assert_eq!(v["name"], "Leviathan");
    assert_eq!(v["loaded_from"], "pack");
    assert!(v["techniques"].as_array().unwrap().len() > 50);
    assert!(
        v["cves"]
            .as_array()
            .unwrap()
            .contains(&json!("CVE-2021-44228"))
    );
    assert!(
        v["sponsors"].as_array().unwrap().len() == 1,
        "{}",
        v["sponsors"]
    );

    let o = tiaki(
        home.path(),
        &["intel", "list", "groups", "--format", "json"],
    );
    assert_code(&o, 0);
    let ids = group_ids(&json_out(&o));
    assert_eq!(ids.len(), 12);
    assert!(ids.contains(&"G0128".to_owned()));

    // Reading never creates the store.
    assert!(!home.path().join("tiaki.db").exists());

    let o = tiaki(home.path(), &["intel", "show", "No Such Actor"]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains("No Such Actor"), "{}", stderr(&o));
}

/// A bundle with two groups that share an alias, for `--kb`.
fn small_kb(dir: &Path) -> PathBuf {
    let g = |id: &str, gid: &str, name: &str| {
        json!({"type": "intrusion-set", "spec_version": "2.1", "id": id, "name": name,
            "aliases": [name, "Common Name"], "created": "2024-01-01T00:00:00.000Z",
            "modified": "2024-01-01T00:00:00.000Z",
            "external_references": [{"source_name": "mitre-attack", "external_id": gid}]})
    };
    let b = json!({"type": "bundle", "id": "bundle--6d0092c5-5f74-4287-9642-33f4c354e56d",
    "objects": [
        g("intrusion-set--11111111-1111-4111-8111-111111111111", "G9001", "Alpha"),
        g("intrusion-set--22222222-2222-4222-8222-222222222222", "G9002", "Beta"),
    ]});
    let p = dir.join("small.json");
    std::fs::write(&p, b.to_string()).unwrap();
    p
}

#[test]
fn kb_uses_exactly_that_bundle_and_ambiguous_names_list_candidates() {
    let home = tempfile::tempdir().unwrap();
    let kb = small_kb(home.path());
    let kb = kb.to_str().unwrap();
    let o = tiaki(
        home.path(),
        &["intel", "list", "groups", "--kb", kb, "--format", "json"],
    );
    assert_code(&o, 0);
    assert_eq!(group_ids(&json_out(&o)), vec!["G9001", "G9002"]);

    // The pack is not there: APT40 is unknown.
    let o = tiaki(home.path(), &["intel", "show", "APT40", "--kb", kb]);
    assert_code(&o, 2);

    let o = tiaki(
        home.path(),
        &[
            "intel",
            "show",
            "common name",
            "--kb",
            kb,
            "--format",
            "json",
        ],
    );
    assert_code(&o, 2);
    let v = json_out(&o);
    assert_eq!(v["error"], "ambiguous");
    let ids: Vec<&str> = v["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["G9001", "G9002"]);
    assert!(stderr(&o).contains("ambiguous"), "{}", stderr(&o));

    let o = tiaki(home.path(), &["intel", "show", "Beta", "--kb", kb]);
    assert_code(&o, 0);
    assert!(stdout(&o).starts_with("G9002  Beta"), "{}", stdout(&o));

    let o = tiaki(
        home.path(),
        &["intel", "list", "groups", "--kb", "/nonexistent.json"],
    );
    assert_code(&o, 2);
}

#[test]
fn invalid_objects_are_reported_and_unreadable_files_exit_2() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("custom/store.db");
    let good = small_kb(home.path());
    let bad = home.path().join("bad.json");
    std::fs::write(
        &bad,
        json!({"type": "bundle", "id": "bundle--7d0092c5-5f74-4287-9642-33f4c354e56d",
        "objects": [
            {"type": "intrusion-set", "spec_version": "2.1",
             "id": "intrusion-set--33333333-3333-4333-8333-333333333333",
             "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z"},
            {"type": "intrusion-set", "spec_version": "2.1", "name": "Gamma",
             "id": "intrusion-set--44444444-4444-4444-8444-444444444444",
             "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z"}
        ]})
        .to_string(),
    )
    .unwrap();
    let o = tiaki(
        home.path(),
        &[
            "--store",
            store.to_str().unwrap(),
            "intel",
            "import",
            good.to_str().unwrap(),
            "/nonexistent/file.json",
            bad.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_code(&o, 2);
    let v = json_out(&o);
    assert_eq!(v["store"], store.display().to_string());
    let imports = v["imports"].as_array().unwrap();
    assert_eq!(imports.len(), 2);
    assert_eq!(imports[0]["added"], 2);
    assert_eq!(imports[0]["kind"], "stix-bundle");
    assert_eq!(imports[1]["added"], 1);
    let invalid = imports[1]["invalid"].as_array().unwrap();
    assert_eq!(invalid.len(), 1);
    assert_eq!(
        invalid[0]["id"],
        "intrusion-set--33333333-3333-4333-8333-333333333333"
    );
    assert!(invalid[0]["reason"].as_str().unwrap().contains("name"));
    let failures = v["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1);
    assert!(
        failures[0]["error"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/file.json")
    );
    assert!(store.exists());
    // The default store was not touched.
    assert!(!home.path().join("tiaki.db").exists());

    // Table output names the invalid object with its reason.
    let o = tiaki(
        home.path(),
        &[
            "--store",
            store.to_str().unwrap(),
            "intel",
            "import",
            bad.to_str().unwrap(),
        ],
    );
    assert_code(&o, 0);
    let out = stdout(&o);
    assert!(out.contains("0 added, 0 updated, 1 unchanged"), "{out}");
    assert!(
        out.contains("invalid 0 (intrusion-set--33333333-3333-4333-8333-333333333333)"),
        "{out}"
    );

    let o = tiaki(
        home.path(),
        &[
            "--store",
            store.to_str().unwrap(),
            "intel",
            "list",
            "imports",
            "--format",
            "json",
        ],
    );
    assert_code(&o, 0);
    assert_eq!(json_out(&o)["imports"].as_array().unwrap().len(), 3);
}

#[test]
fn attack_and_misp_imported_then_listed_and_shown() {
    let home = tempfile::tempdir().unwrap();
    let attack = shared("data/attack/enterprise-attack.json");
    let misp = shared("data/misp-galaxy/clusters_threat-actor.json");
    let o = tiaki(
        home.path(),
        &[
            "intel",
            "import",
            attack.to_str().unwrap(),
            misp.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_code(&o, 0);
    let v = json_out(&o);
    let imports = v["imports"].as_array().unwrap();
    assert_eq!(imports[0]["objects"], 24_772);
    assert_eq!(imports[0]["added"], 24_772);
    assert_eq!(imports[0]["attack_version"], "18.1");
    assert_eq!(imports[1]["kind"], "misp-galaxy");
    assert!(home.path().join("tiaki.db").exists());

    // Idempotent.
    let o = tiaki(home.path(), &["intel", "import", attack.to_str().unwrap()]);
    assert_code(&o, 0);
    assert!(
        stdout(&o).contains("24772 objects: 0 added, 0 updated, 24772 unchanged"),
        "{}",
        stdout(&o)
    );

    // One G0065, whatever it is called.
    let mut stix = None;
    for name in [
        "APT40",
        "Leviathan",
        "G0065",
        "Gingham Typhoon",
        "bronze mohawk",
    ] {
        let o = tiaki(home.path(), &["intel", "show", name, "--format", "json"]);
        assert_code(&o, 0);
        let v = json_out(&o);
        assert_eq!(v["id"], "G0065", "{name}");
        assert_eq!(v["loaded_from"], "store");
        assert_eq!(v["publisher"], "attack");
        match &stix {
            None => stix = Some(v["stix_id"].clone()),
            Some(s) => assert_eq!(&v["stix_id"], s),
        }
        if name == "APT40" {
            let aliases = v["aliases"].as_array().unwrap();
            let apt40 = aliases.iter().find(|a| a["name"] == "APT40").unwrap();
            for src in ["attack", "pack", "misp"] {
                assert!(
                    apt40["sources"].as_array().unwrap().contains(&json!(src)),
                    "{apt40}"
                );
            }
            let t = v["techniques"].as_array().unwrap();
            assert!(t.len() > 40);
            let t1190 = t.iter().find(|t| t["id"] == "T1190").unwrap();
            assert_eq!(t1190["tactics"], json!(["initial-access"]));
            assert!(!t1190["citations"].as_array().unwrap().is_empty());
            assert!(v["software"].as_array().unwrap().len() > 10);
            let campaigns: Vec<&str> = v["campaigns"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|c| c["id"].as_str())
                .collect();
            assert!(campaigns.contains(&"C0049"), "{campaigns:?}");
            assert!(
                v["cves"]
                    .as_array()
                    .unwrap()
                    .contains(&json!("CVE-2021-44228"))
            );
            // ATT&CK's sources and the pack's (the NZ attribution statement), and the pack's
            // working hours, although ATT&CK's object shadows the pack's.
            let refs = v["references"].as_array().unwrap();
            for src in [
                "FireEye APT40 March 2019",
                "NCSC-NZ PCO and Parliamentary Service statement",
            ] {
                assert!(refs.iter().any(|r| r["source_name"] == src), "{src}");
            }
            assert_eq!(v["activity_hours"]["utc_offset_hours"], 8);
        }
    }

    let o = tiaki(
        home.path(),
        &["intel", "list", "groups", "--format", "json"],
    );
    assert_code(&o, 0);
    let list = json_out(&o);
    let ids = group_ids(&list);
    assert_eq!(ids.len(), 172);
    let mut dedup = ids.clone();
    dedup.dedup();
    assert_eq!(dedup.len(), ids.len(), "a group appears twice");
    let lev = list["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == "G0065")
        .unwrap();
    assert!(lev["techniques"].as_u64().unwrap() > 40);
    assert!(lev["software"].as_u64().unwrap() > 10);
    assert!(lev["aliases"].as_array().unwrap().contains(&json!("APT40")));
    let o = tiaki(
        home.path(),
        &["intel", "list", "groups", "--all", "--format", "json"],
    );
    assert_code(&o, 0);
    assert_eq!(group_ids(&json_out(&o)).len(), 187);
    let o = tiaki(home.path(), &["intel", "list", "groups"]);
    assert_code(&o, 0);
    assert!(
        stdout(&o)
            .lines()
            .any(|l| l.starts_with("G0065    Leviathan"))
    );

    // A technique and a piece of software.
    let o = tiaki(
        home.path(),
        &["intel", "show", "T1505.003", "--format", "json"],
    );
    assert_code(&o, 0);
    let v = json_out(&o);
    assert_eq!(v["type"], "attack-pattern");
    assert_eq!(v["publisher"], "attack");
    assert_eq!(v["parent"]["id"], "T1505");
    assert!(
        v["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["id"] == "G0065")
    );
    let o = tiaki(home.path(), &["intel", "show", "S0020", "--format", "json"]);
    assert_code(&o, 0);
    let v = json_out(&o);
    assert_eq!(v["name"], "China Chopper");
    assert!(
        v["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["id"] == "G0065")
    );

    let o = tiaki(home.path(), &["intel", "status", "--format", "json"]);
    assert_code(&o, 0);
    let v = json_out(&o);
    assert_eq!(v["source"], "pack+store");
    assert_eq!(v["active"]["groups"], 172);
    assert!(v["load"]["pack"]["shadowed"].as_u64().unwrap() > 300);
}

// ---------------------------------------------------------------------------------------------
// update against a local server

/// Serves `body` at `/attack.json` and 404 elsewhere, for `requests` requests, on 127.0.0.1.
fn serve(body: Vec<u8>, requests: usize) -> (String, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let handle = thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap() == 0 || h == "\r\n" {
                    break;
                }
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or("");
            let (status, payload): (&str, &[u8]) = if path == "/attack.json" {
                ("200 OK", &body)
            } else {
                ("404 Not Found", b"not here")
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                payload.len()
            );
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(payload).unwrap();
        }
    });
    (base, handle)
}

fn sha256_hex(bytes: &[u8]) -> String {
    tiaki_intel::store::sha256_hex(bytes)
}

#[test]
fn update_verifies_the_checksum_before_importing() {
    let home = tempfile::tempdir().unwrap();
    let body = std::fs::read(small_kb(home.path())).unwrap();
    let good = sha256_hex(&body);
    let wrong = "0".repeat(64);
    let (base, server) = serve(body, 3);
    let url = format!("{base}/attack.json");

    // Wrong checksum: refused, names both digests, store untouched.
    let o = tiaki(
        home.path(),
        &["intel", "update", "--url", &url, "--sha256", &wrong],
    );
    assert_code(&o, 2);
    let err = stderr(&o);
    assert!(err.contains("SHA-256 mismatch"), "{err}");
    assert!(err.contains(&wrong) && err.contains(&good), "{err}");
    assert!(!home.path().join("tiaki.db").exists());

    // Not found.
    let o = tiaki(
        home.path(),
        &[
            "intel",
            "update",
            "--url",
            &format!("{base}/missing.json"),
            "--sha256",
            &good,
        ],
    );
    assert_code(&o, 2);
    assert!(stderr(&o).contains("404"), "{}", stderr(&o));

    // The right checksum (upper case is fine): imported.
    let o = tiaki(
        home.path(),
        &[
            "intel",
            "update",
            "--url",
            &url,
            "--sha256",
            &good.to_ascii_uppercase(),
            "--format",
            "json",
        ],
    );
    assert_code(&o, 0);
    let v = json_out(&o);
    assert_eq!(v["download"]["sha256"], good);
    assert_eq!(v["download"]["verified"], true);
    assert_eq!(v["import"]["added"], 2);
    assert_eq!(v["import"]["source"], url);
    server.join().unwrap();

    let o = tiaki(home.path(), &["intel", "show", "G9001", "--format", "json"]);
    assert_code(&o, 0);
    assert_eq!(json_out(&o)["name"], "Alpha");
    let o = tiaki(
        home.path(),
        &["intel", "list", "imports", "--format", "json"],
    );
    let imports = json_out(&o)["imports"].clone();
    assert_eq!(imports.as_array().unwrap().len(), 1);
    assert_eq!(imports[0]["sha256"], good);

    // No checksum at all: refused before anything is downloaded (nothing listens there).
    let o = tiaki(
        home.path(),
        &["intel", "update", "--url", "http://127.0.0.1:9/attack.json"],
    );
    assert_code(&o, 2);
    assert!(stderr(&o).contains("--no-verify"), "{}", stderr(&o));
    let o = tiaki(
        home.path(),
        &[
            "intel",
            "update",
            "--sha256",
            "xyz",
            "--url",
            "http://127.0.0.1:9/a",
        ],
    );
    assert_code(&o, 2);
    assert!(
        stderr(&o).contains("not a SHA-256 digest"),
        "{}",
        stderr(&o)
    );
}
