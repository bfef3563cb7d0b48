//! Evidence integrity and the record account through the binary: a hunt into a case over mixed
//! good and bad evidence accounts for every record per file, in the summary and in the case;
//! the evidence is hashed before and after and left byte-for-byte alone; outputs inside the
//! evidence are refused; evidence that changes while it is hunted is recorded as such.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use serde_json::Value;

mod common;
use common::repo;

fn tiaki(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tiaki"))
        .current_dir(repo())
        .env("USER", "ana.analyst")
        .env_remove("TIAKI_RULES")
        .arg("--store")
        .arg(db)
        .args(args)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every file under `dir`: path → (size, modification time, SHA-256).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, SystemTime, String)> {
    use sha2::{Digest, Sha256};
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p.clone());
            }
            let sha = if m.is_file() {
                let d = Sha256::digest(std::fs::read(&p).unwrap());
                d.iter().map(|b| format!("{b:02x}")).collect()
            } else {
                String::new()
            };
            out.insert(p, (m.len(), m.modified().unwrap(), sha));
        }
    }
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

const EVENT: &str = r#"{"@timestamp":"2026-03-01T10:00:00Z","host":{"name":"pdo-web01"},"process":{"command_line":"whoami /all","executable":"C:\\Windows\\System32\\whoami.exe"}}"#;
const EARLY: &str = r#"{"@timestamp":"2025-01-01T10:00:00Z","host":{"name":"pdo-web01"},"message":"before the window"}"#;

/// Mixed evidence: clean JSON lines, JSON lines with malformed and non-object records, events
/// outside the time window, a gzip member, syslog, and a file no reader recognises.
fn evidence(dir: &Path) -> PathBuf {
    let ev = dir.join("evidence");
    std::fs::create_dir_all(ev.join("web")).unwrap();
    std::fs::write(
        ev.join("good.jsonl"),
        format!("{EVENT}\n{EVENT}\n{EARLY}\n"),
    )
    .unwrap();
    std::fs::write(
        ev.join("web/mixed.jsonl"),
        format!("{EVENT}\n{{\"broken\": \n[1,2,3]\n{EVENT}\nnot json at all\n{EARLY}\n"),
    )
    .unwrap();
    std::fs::write(
        ev.join("web/events.jsonl.gz"),
        gzip(format!("{EVENT}\n{EVENT}\n").as_bytes()),
    )
    .unwrap();
    std::fs::write(
        ev.join("auth.log"),
        "Mar  1 10:00:01 pdo-web01 sshd[411]: Accepted password for root from 203.0.113.9 port 52214 ssh2\n\
         Mar  1 10:00:02 pdo-web01 sshd[411]: pam_unix(sshd:session): session opened for user root\n",
    )
    .unwrap();
    std::fs::write(
        ev.join("tool.bin"),
        [0u8, 159, 146, 150, 1, 2, 3, 255, 0, 7],
    )
    .unwrap();
    ev
}

#[test]
fn mixed_evidence_is_accounted_for_per_file_and_left_intact() {
    let dir = tempfile::tempdir().unwrap();
    let ev = evidence(dir.path());
    let db = dir.path().join("tiaki.db");
    let before = snapshot(&ev);
    let out = tiaki(
        &db,
        &[
            "hunt",
            ev.to_str().unwrap(),
            "--rules",
            "rules",
            "--from",
            "2026-01-01",
            "--case",
            "mixed",
        ],
    );
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    // The evidence is untouched: same files, sizes, times and content; nothing added.
    assert_eq!(
        snapshot(&ev),
        before,
        "the hunt changed the evidence directory"
    );

    // The summary accounts for every record: 14 lines/records in all.
    let line = err
        .lines()
        .find(|l| l.starts_with("records: "))
        .unwrap_or_else(|| panic!("no account line in\n{err}"));
    assert_eq!(
        line, "records: 14 accounted for = 8 hunted + 2 left out by the time window + 4 skipped",
        "{err}"
    );
    assert!(
        err.contains("evidence intact: 5 files hashed before and after the hunt, all unchanged"),
        "{err}"
    );

    // The case holds the same account, file by file, and the integrity checks.
    let show = tiaki(&db, &["case", "show", "mixed", "--format", "json"]);
    assert!(show.status.success(), "{}", stderr(&show));
    let d: Value = serde_json::from_slice(&show.stdout).unwrap();
    let run = &d["runs"][0];
    let files: BTreeMap<String, &Value> = run["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let p = f["path"].as_str().unwrap();
            let rel = p.rsplit_once("evidence/").map_or(p, |x| x.1);
            (rel.to_owned(), f)
        })
        .collect();
    assert_eq!(
        files.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "auth.log",
            "good.jsonl",
            "tool.bin",
            "web/events.jsonl.gz",
            "web/mixed.jsonl"
        ]
    );
    let n = |f: &Value, k: &str| f[k].as_u64().unwrap();
    let skipped = |f: &Value| -> u64 {
        f["skipped"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum()
    };
    for (name, f) in &files {
        assert_eq!(
            n(f, "events"),
            n(f, "hunted") + n(f, "outside_window") + n(f, "without_timestamp"),
            "{name}: {f}"
        );
    }
    let mixed = files["web/mixed.jsonl"];
    assert_eq!(
        (
            n(mixed, "events"),
            n(mixed, "hunted"),
            n(mixed, "outside_window")
        ),
        (3, 2, 1),
        "{mixed}"
    );
    assert_eq!(skipped(mixed), 3, "{mixed}");
    assert_eq!(mixed["complete"], true);
    assert_eq!(n(files["good.jsonl"], "hunted"), 2);
    assert_eq!(n(files["good.jsonl"], "outside_window"), 1);
    assert_eq!(n(files["web/events.jsonl.gz"], "hunted"), 2);
    assert_eq!(n(files["auth.log"], "hunted"), 2);
    assert_eq!(n(files["tool.bin"], "events"), 0);
    assert_eq!(skipped(files["tool.bin"]), 1);
    let total: u64 = files.values().map(|f| n(f, "events") + skipped(f)).sum();
    assert_eq!(total, 14);
    assert_eq!(run["events"], 10);

    let checks = run["integrity"].as_array().unwrap();
    assert_eq!(checks.len(), 5);
    for c in checks {
        assert_eq!(c["intact"], true, "{c}");
        assert_eq!(c["sha256_before"], c["sha256_after"]);
        let path = PathBuf::from(c["path"].as_str().unwrap());
        let (size, _, sha) = before
            .iter()
            .find(|(p, _)| std::fs::canonicalize(p).unwrap() == path)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{} is not one of the evidence files", path.display()));
        assert_eq!(c["sha256_before"].as_str().unwrap(), sha);
        assert_eq!(c["size_after"].as_u64().unwrap(), size);
    }
    let text = tiaki(&db, &["case", "show", "mixed"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("records of 5 files: 8 hunted, 2 left out by the time window, 4 skipped"),
        "{text}"
    );
    assert!(
        text.contains("evidence intact: 5 files, same SHA-256 before and after"),
        "{text}"
    );
}

#[test]
fn outputs_inside_the_evidence_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ev = evidence(dir.path());
    let before = snapshot(&ev);
    let ev_s = ev.to_str().unwrap();
    let out_file = ev.join("web/detections.json");
    let inside_db = ev.join("case.db");
    let report = ev.join("report");
    let db = dir.path().join("tiaki.db");
    let runs = [
        tiaki(
            &db,
            &[
                "hunt",
                ev_s,
                "--rules",
                "rules",
                "-o",
                out_file.to_str().unwrap(),
            ],
        ),
        tiaki(&db, &["dump", ev_s, "-o", out_file.to_str().unwrap()]),
        tiaki(
            &inside_db,
            &["hunt", ev_s, "--rules", "rules", "--case", "c"],
        ),
        tiaki(
            &db,
            &[
                "investigate",
                ev_s,
                "--rules",
                "rules",
                "--out",
                report.to_str().unwrap(),
            ],
        ),
    ];
    for (i, o) in runs.iter().enumerate() {
        let err = stderr(o);
        assert_eq!(o.status.code(), Some(2), "run {i}: {err}");
        assert!(
            err.contains("tiaki never writes into evidence"),
            "run {i}: {err}"
        );
    }
    assert_eq!(
        snapshot(&ev),
        before,
        "something was written into the evidence"
    );
    assert!(!db.exists(), "no case was opened");
}

#[test]
fn evidence_that_changes_during_the_hunt_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let ev = evidence(dir.path());
    let live = ev.join("live.jsonl");
    std::fs::write(&live, format!("{EVENT}\n")).unwrap();
    let db = dir.path().join("tiaki.db");
    // A log still being written: a line every 5 ms for as long as the hunt runs.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, live) = (Arc::clone(&stop), live.clone());
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new().append(true).open(live).unwrap();
            while !stop.load(Ordering::Relaxed) {
                writeln!(f, "{EVENT}").unwrap();
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let out = tiaki(
        &db,
        &[
            "hunt",
            ev.to_str().unwrap(),
            "--rules",
            "rules",
            "--case",
            "live",
        ],
    );
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("WARNING: 1 of 6 evidence files not intact"),
        "{err}"
    );
    let show = tiaki(&db, &["case", "show", "live", "--format", "json"]);
    let d: Value = serde_json::from_slice(&show.stdout).unwrap();
    let bad: Vec<&Value> = d["runs"][0]["integrity"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["intact"] != true)
        .collect();
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(bad[0]["path"].as_str().unwrap().ends_with("live.jsonl"));
    assert!(
        bad[0]["problem"]
            .as_str()
            .unwrap()
            .starts_with("changed during the hunt"),
        "{}",
        bad[0]
    );
    assert!(bad[0]["size_after"].as_u64() > bad[0]["size_before"].as_u64());
    let text = tiaki(&db, &["case", "show", "live"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("EVIDENCE NOT INTACT: 1 of 6 files"));
}
