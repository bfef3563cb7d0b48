//! Interoperability with the OASIS reference client: `shared/tools/taxii_client_check.py`
//! (taxii2-client + stix2-validator) run against an in-process server, twice, to prove both
//! conformance and that the check is re-runnable on the same store.
//!
//! The user `partner` (role `write`, HTTP Basic with an API token) sees three collections:
//! read/write (the one under test), read-only and write-only, so the script's 403 negatives
//! run rather than skip. The only skip allowed is "server allows anonymous discovery":
//! discovery is public by design.
//!
//! The Python interpreter comes from `TIAKI_INTEROP_PYTHON` (set up by
//! `scripts/interop-env.sh`); without it the test fails, it never skips silently.

use std::net::SocketAddr;
use std::process::Command;

use serde_json::Value;
use tiaki_stix::tlp::Tlp;
use tiaki_store::auth::{Access, Role};
use tiaki_store::taxii::NewCollection;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/tools/taxii_client_check.py"
);

#[test]
fn taxii2_client_check_passes_twice() {
    let python = std::env::var("TIAKI_INTEROP_PYTHON").unwrap_or_else(|_| {
        panic!(
            "TIAKI_INTEROP_PYTHON is not set: run scripts/interop-env.sh (it creates the \
             taxii2-client venv) and export TIAKI_INTEROP_PYTHON=<venv>/bin/python"
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("case.db");
    let mut s = tiaki_store::CaseStore::open(&db).unwrap();
    s.upsert_user("partner", Role::Write).unwrap();
    let token = s.issue_token("partner", "interop").unwrap();
    let mut coll = |title: &str, can_read: bool, can_write: bool| {
        let c = s
            .create_collection(NewCollection {
                title: title.into(),
                description: format!("interop {title}"),
                alias: None,
                max_tlp: Tlp::Amber,
            })
            .unwrap();
        s.grant(
            "partner",
            &c.id,
            Access {
                can_read,
                can_write,
            },
        )
        .unwrap();
        c.id
    };
    let rw = coll("partners read-write", true, true);
    coll("partners read-only", true, false);
    coll("partners write-only", false, true);
    drop(s);

    let config = tiaki_server::ServerConfig {
        db,
        title: "tiaki interop".into(),
        max_body: 1024 * 1024,
        connections: 2,
        secure_cookies: false,
        ..Default::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = tiaki_server::router(tiaki_server::state(config).unwrap());
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap()
    });

    for run in 1..=2 {
        let report = dir.path().join(format!("report-{run}.json"));
        let out = Command::new(&python)
            .arg(SCRIPT)
            .args(["--url", &format!("http://{addr}/taxii2/")])
            .args([
                "--user",
                "partner",
                "--password",
                &token,
                "--collection",
                &rw,
            ])
            .args(["--validate-payload", "--delete", "--json-report"])
            .arg(&report)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        println!("run {run}:\n{stdout}");
        assert!(
            out.status.success(),
            "run {run} failed:\n{stdout}\n{stderr}"
        );
        let report: Value =
            serde_json::from_slice(&std::fs::read(&report).expect("JSON report")).unwrap();
        assert_eq!(report["counts"]["FAIL"], 0, "run {run}:\n{stdout}");
        let skips: Vec<&Value> = report["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["status"] == "SKIP")
            .collect();
        assert!(
            skips
                .iter()
                .all(|r| r["detail"] == "server allows anonymous discovery"),
            "unexpected skips in run {run}: {skips:?}"
        );
        assert!(report["counts"]["PASS"].as_u64().unwrap() >= 30, "{stdout}");
    }
}
