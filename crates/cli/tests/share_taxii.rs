//! `tiaki share push|pull` between two tiaki installations over TAXII 2.1: a CERT hunts into
//! a case and serves a collection; a partner's tiaki pushes its own findings there and pulls
//! the collection into its knowledge base. Real processes, real HTTP, real SQLite files.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

mod common;
use common::{CASE_HUNT, repo};

fn run(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tiaki"))
        .current_dir(repo())
        .env("USER", "ana.analyst")
        .arg("--store")
        .arg(db)
        .args(args)
        .output()
        .unwrap()
}

fn ok(db: &Path, args: &[&str]) -> String {
    let out = run(db, args);
    assert!(
        out.status.success(),
        "tiaki {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(db: &Path) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tiaki"))
        .arg("--store")
        .arg(db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (Server(child), base)
}

#[test]
fn push_to_a_tiaki_collection_and_pull_into_another_knowledge_base() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.db");
    let partner = dir.path().join("partner.db");

    // The CERT's server: one collection, ceiling AMBER, a partner account that may write.
    let collection = ok(
        &cert,
        &["collection", "add", "PDO findings", "--max-tlp", "amber"],
    )
    .trim()
    .to_owned();
    ok(
        &cert,
        &["user", "add", "partner", "--role", "write", "--partner"],
    );
    ok(
        &cert,
        &["user", "grant", "partner", &collection, "--read", "--write"],
    );
    let token = ok(&cert, &["user", "token", "partner"]).trim().to_owned();
    let (_server, base) = serve(&cert);
    let url = format!("{base}/taxii2/");

    // The partner hunts the same evidence into its own case and pushes it.
    let mut hunt = CASE_HUNT.to_vec();
    hunt.extend(["--tlp", "green"]);
    ok(&partner, &hunt);
    let push = [
        "share",
        "push",
        "--case",
        "pdo",
        "--tlp",
        "amber",
        "--taxii",
        &url,
        "--collection",
        &collection,
        "--user",
        "partner",
        "--token",
        &token,
    ];
    let pushed = ok(&partner, &push);
    assert!(pushed.contains("0 failed, 0 pending"), "{pushed}");
    // Pushing the same export again is accepted (identical versions), not duplicated.
    let again = ok(&partner, &push);
    assert!(again.contains("0 failed"), "{again}");

    // A wrong token is refused with the server's answer named.
    let mut bad = push;
    bad[13] = "tiaki_0000_nope";
    let out = run(&partner, &bad);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("401"), "{err}");

    // Pull into a fresh knowledge base.
    let reader = dir.path().join("reader.db");
    let pulled = ok(
        &reader,
        &[
            "share",
            "pull",
            "--taxii",
            &url,
            "--collection",
            &collection,
            "--user",
            "partner",
            "--token",
            &token,
        ],
    );
    let n: usize = pulled
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{pulled}"));
    let objects: usize = pushed
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{pushed}"));
    assert_eq!(n, objects, "{pulled}");
    assert!(
        pulled.contains("imported into the knowledge base"),
        "{pulled}"
    );
    let imports = ok(&reader, &["intel", "list", "imports", "--format", "json"]);
    assert!(
        imports.contains(&format!("taxii:{url}#{collection}")),
        "{imports}"
    );
    // What was pulled is in the reader's store: the partner's campaign and its sightings.
    let status: serde_json::Value =
        serde_json::from_str(&ok(&reader, &["intel", "status", "--format", "json"])).unwrap();
    assert_eq!(status["stored_objects"]["campaign"], 1, "{status}");
    assert!(
        status["stored_objects"]["sighting"].as_u64().unwrap() > 0,
        "{status}"
    );
}
