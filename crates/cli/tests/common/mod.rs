//! Helpers for running the real `tiaki` binary on the shared data.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A path under the shared reference data (required: tests fail without it).
pub fn shared(rel: &str) -> PathBuf {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")).join(rel);
    assert!(p.exists(), "shared data missing: {}", p.display());
    p
}

/// An EVTX-ATTACK-SAMPLES path.
pub fn samples(rel: &str) -> PathBuf {
    shared(&format!("data/evtx/EVTX-ATTACK-SAMPLES/{rel}"))
}

/// A SigmaHQ rule directory.
pub fn sigma(rel: &str) -> PathBuf {
    shared(&format!("data/sigma/{rel}"))
}

/// Runs `tiaki` with `args` (no TIAKI_RULES from the environment).
pub fn tiaki<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_tiaki"))
        .args(args)
        .env_remove("TIAKI_RULES")
        .output()
        .expect("run tiaki")
}

/// `tiaki` with `home` as TIAKI_HOME and nothing else from the environment that could point
/// it at another store, checksum or proxy: a fresh machine (the starter pack, no store) until
/// something is imported into `home`.
pub fn command_home(home: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tiaki"));
    c.args(args)
        .env("TIAKI_HOME", home)
        .env_remove("TIAKI_RULES")
        .env_remove("TIAKI_ATTACK_SHA256")
        .env_remove("XDG_DATA_HOME")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy");
    c
}

/// Runs [`command_home`].
pub fn tiaki_home(home: &Path, args: &[&str]) -> Output {
    command_home(home, args).output().expect("run tiaki")
}

/// Standard output as one JSON document (shows both streams when it is not).
pub fn json_out(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\nstderr: {}", stdout(o), stderr(o)))
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 stdout")
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts the exit code, showing both streams on failure.
pub fn assert_code(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        stderr(o)
    );
}

/// JSON Lines from standard output.
pub fn jsonl(o: &Output) -> Vec<serde_json::Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Writes a file under `dir`.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// A Kerberos password-spraying detection rule and an `event_count`
/// correlation over it (on `Credential Access/kerberos_pwd_spray_4771.evtx`:
/// 7 TGT requests for unknown users (status 0x6) from 172.16.66.1 within 1 s).
pub const SPRAY_RULES: &str = r#"
title: Kerberos TGT request for an unknown user
id: 0b5a7a8e-2a43-4c1f-9d8e-5f7f5e1c0001
name: krb_unknown_user
status: test
level: low
tags: [attack.credential-access, attack.t1110.003]
logsource: {product: windows, service: security}
detection:
    selection:
        EventID: 4768
        Status: '0x6'
    condition: selection
---
title: Kerberos password spraying from one address
id: 0b5a7a8e-2a43-4c1f-9d8e-5f7f5e1c0002
status: test
level: high
tags: [attack.t1110.003]
correlation:
    type: event_count
    rules: [krb_unknown_user]
    group-by: [IpAddress]
    timespan: 5m
    condition: {gte: 5}
"#;

/// The repository root (the bundled examples and rules are addressed from there).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `tiaki hunt` of the bundled APT40 scenario into case `pdo`, as the README shows it: the
/// project rules, the scenario organisation's site placeholders and partner intel, the YARA
/// pack. Run from [`repo`]; callers append case flags (`--title`, `--tlp`…).
pub const CASE_HUNT: &[&str] = &[
    "hunt",
    "examples/parliament/apt40",
    "--rules",
    "rules",
    "--placeholders",
    "examples/parliament/placeholders.yml",
    "--intel",
    "examples/parliament/intel",
    "--yara-pack",
    "--format",
    "jsonl",
    "--case",
    "pdo",
];
pub mod nats;
