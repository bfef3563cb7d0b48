//! Distributed hunting on a real `nats-server` (Debian's 2.9; no skipping: the harness fails
//! and says what to install when it is missing).
//!
//! * Equality: the bundled APT40 scenario through `tiaki ingest` → 1, 2 and 4 `tiaki worker`
//!   processes → `tiaki collect` gives a case with exactly the detections `tiaki hunt` writes
//!   with the same rules and feeds (project rules with their correlations, partner STIX
//!   intel with a multi-observation pattern), compared as the store's content keys: no more,
//!   no fewer.
//! * Fault tolerance: a three-node JetStream cluster, streams and buckets replicated three
//!   times; one worker is killed with SIGKILL mid-run and one NATS node is killed and
//!   restarted mid-run; the case still ends up with every detection exactly once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::nats::{NatsCluster, NatsServer};
use common::repo;

/// The pack (and hunt) flags: project rules, the organisation's placeholders, partner intel.
const PACK: &[&str] = &[
    "--rules",
    "rules",
    "--placeholders",
    "examples/parliament/placeholders.yml",
    "--intel",
    "examples/parliament/intel",
];
const EVIDENCE: &str = "examples/parliament/apt40";

fn tiaki(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tiaki"))
        .current_dir(repo())
        .args(args)
        .env_remove("TIAKI_RULES")
        .env_remove("TIAKI_NATS")
        .output()
        .expect("run tiaki")
}

fn ok(o: Output, what: &str) -> String {
    assert!(
        o.status.success(),
        "{what} failed ({:?}):\n{}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Kills its worker process when dropped.
struct Worker(Child, PathBuf);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_worker(url: &str, id: &str, dir: &Path, extra: &[&str]) -> Worker {
    let log = dir.join(format!("{id}.log"));
    let err = std::fs::File::create(&log).unwrap();
    let out = std::fs::File::create(dir.join(format!("{id}.json"))).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_tiaki"))
        .current_dir(repo())
        .args(["worker", "--nats", url, "--id", id, "--ack-wait", "4"])
        .args(extra)
        .env_remove("TIAKI_NATS")
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .expect("start tiaki worker");
    Worker(child, log)
}

/// Waits for a worker that exits by itself when idle; returns its statistics.
fn wait_worker(mut w: Worker, dir: &Path, id: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        if let Some(status) = w.0.try_wait().unwrap() {
            let log = std::fs::read_to_string(&w.1).unwrap_or_default();
            assert!(status.success(), "worker {id} failed: {status:?}\n{log}");
            let s = std::fs::read_to_string(dir.join(format!("{id}.json"))).unwrap();
            return serde_json::from_str(s.trim()).unwrap_or_else(|e| panic!("{e}: {s}\n{log}"));
        }
        assert!(
            Instant::now() < deadline,
            "worker {id} still running after 180 s:\n{}",
            std::fs::read_to_string(&w.1).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// What `tiaki hunt` writes for the same rules and feeds, as content key → count.
fn expected() -> BTreeMap<String, usize> {
    let mut args = vec!["hunt", EVIDENCE];
    args.extend_from_slice(PACK);
    args.extend_from_slice(&["--format", "jsonl"]);
    let out = ok(tiaki(&args), "tiaki hunt");
    let mut keys = BTreeMap::new();
    for line in out.lines().filter(|l| !l.trim().is_empty()) {
        let d: tiaki::Detection = serde_json::from_str(line).unwrap();
        *keys
            .entry(tiaki_store::cases::key_of(&d).unwrap())
            .or_insert(0) += 1;
    }
    assert!(
        keys.len() > 3000,
        "the scenario has detections: {}",
        keys.len()
    );
    keys
}

/// The case's detections, as content key → count.
fn collected(db: &Path) -> BTreeMap<String, usize> {
    let store = tiaki_store::CaseStore::open(db).unwrap();
    let mut keys = BTreeMap::new();
    for d in store.all_detections("pdo").unwrap() {
        *keys
            .entry(tiaki_store::cases::key_of(&d).unwrap())
            .or_insert(0) += 1;
    }
    keys
}

fn compare(expected: &BTreeMap<String, usize>, got: &BTreeMap<String, usize>, what: &str) {
    let missing = expected.keys().filter(|k| !got.contains_key(*k)).count();
    let extra = got.keys().filter(|k| !expected.contains_key(*k)).count();
    let dup = got.values().filter(|n| **n > 1).count();
    assert!(
        missing == 0 && extra == 0 && dup == 0,
        "{what}: {missing} missing, {extra} extra, {dup} duplicated (expected {}, got {})",
        expected.len(),
        got.len()
    );
}

fn collect(url: &str, db: &Path) -> serde_json::Value {
    let out = ok(
        tiaki(&[
            "--store",
            db.to_str().unwrap(),
            "collect",
            "--nats",
            url,
            "--case",
            "pdo",
            "--until-drained",
        ]),
        "tiaki collect",
    );
    serde_json::from_str(out.trim()).unwrap()
}

/// (pending, delivered and unacknowledged, redelivered) over the partition consumers, from a
/// node's monitoring endpoint.
fn consumer_totals(monitor: u16) -> (u64, u64, u64) {
    let (status, body) =
        common::nats::http_get(monitor, "/jsz?accounts=true&streams=true&consumers=true")
            .expect("monitoring endpoint answers");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let mut t = (0, 0, 0);
    for a in v["account_details"].as_array().into_iter().flatten() {
        for s in a["stream_detail"].as_array().into_iter().flatten() {
            for c in s["consumer_detail"].as_array().into_iter().flatten() {
                if c["name"].as_str().is_some_and(|n| n.starts_with("part-")) {
                    t.0 += c["num_pending"].as_u64().unwrap_or(0);
                    t.1 += c["num_ack_pending"].as_u64().unwrap_or(0);
                    t.2 += c["num_redelivered"].as_u64().unwrap_or(0);
                }
            }
        }
    }
    t
}

fn rollout_and_ingest(url: &str, replicas: &str) -> serde_json::Value {
    let mut args = vec!["rollout", "--nats", url, "--replicas", replicas];
    args.extend_from_slice(PACK);
    ok(tiaki(&args), "tiaki rollout");
    let out = ok(
        tiaki(&["ingest", EVIDENCE, "--nats", url, "--replicas", replicas]),
        "tiaki ingest",
    );
    serde_json::from_str(out.trim()).unwrap()
}

#[test]
fn workers_find_what_hunt_finds_with_1_2_and_4_workers() {
    let want = expected();
    for n in [1usize, 2, 4] {
        let nats = NatsServer::start();
        let url = nats.url();
        let dir = tempfile::tempdir().unwrap();
        let ingest = rollout_and_ingest(&url, "1");
        assert_eq!(ingest["events"], 9905, "{ingest}");
        assert_eq!(ingest["markers"], 16);
        // Ingest again: the stream already has every event.
        let again = serde_json::from_str::<serde_json::Value>(
            ok(
                tiaki(&["ingest", EVIDENCE, "--nats", &url]),
                "second ingest",
            )
            .trim(),
        )
        .unwrap();
        assert_eq!(
            again["duplicates"], 9905,
            "re-publishing is idempotent: {again}"
        );
        let ids: Vec<String> = (0..n).map(|i| format!("w{i}")).collect();
        let workers: Vec<Worker> = ids
            .iter()
            .map(|id| spawn_worker(&url, id, dir.path(), &["--exit-when-idle", "3"]))
            .collect();
        let db = dir.path().join("case.db");
        let c = collect(&url, &db);
        let mut events = 0;
        let mut busy = 0;
        for (w, id) in workers.into_iter().zip(&ids) {
            let s = wait_worker(w, dir.path(), id);
            let e = s["events"].as_u64().unwrap();
            events += e;
            busy += usize::from(e > 0);
        }
        assert!(events >= 9905, "{n} workers hunted {events} events");
        assert_eq!(
            busy, n,
            "every one of the {n} workers had partitions to hunt"
        );
        let got = collected(&db);
        compare(&want, &got, &format!("{n} workers"));
        assert_eq!(c["added"].as_u64().unwrap() as usize, want.len(), "{c}");
        eprintln!(
            "{n} workers: {} detections, equal to tiaki hunt; collect {c}",
            got.len()
        );
    }
}

#[test]
fn a_killed_worker_and_a_restarted_nats_node_lose_and_duplicate_nothing() {
    let want = expected();
    let mut cluster = NatsCluster::start(3);
    let url = cluster.url();
    let dir = tempfile::tempdir().unwrap();
    let ingest = rollout_and_ingest(&url, "3");
    assert_eq!(ingest["events"], 9905, "{ingest}");
    // Small batches, so the run lasts long enough to be interrupted.
    let mut a = spawn_worker(&url, "a", dir.path(), &["--batch", "10", "--replicas", "3"]);
    let b = spawn_worker(
        &url,
        "b",
        dir.path(),
        &["--batch", "10", "--replicas", "3", "--exit-when-idle", "8"],
    );
    // Kill worker a while it works: shortly after it has taken partitions.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&a.1)
        .unwrap_or_default()
        .contains("took partition")
    {
        assert!(Instant::now() < deadline, "worker a never took a partition");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let at_kill = consumer_totals(cluster.monitor_port(0));
    // SIGKILL: no clean-up, leases left to expire, batches in flight unacknowledged.
    a.0.kill().unwrap();
    a.0.wait().unwrap();
    assert!(
        at_kill.0 + at_kill.1 > 0,
        "events were left to hunt when worker a was killed: {at_kill:?}"
    );
    // A NATS node goes down and comes back while the work goes on.
    cluster.kill(1);
    std::thread::sleep(Duration::from_millis(1500));
    cluster.restart(1);
    let c = spawn_worker(
        &url,
        "c",
        dir.path(),
        &["--batch", "200", "--replicas", "3", "--exit-when-idle", "8"],
    );
    let db = dir.path().join("case.db");
    let collected_stats = collect(&url, &db);
    let sb = wait_worker(b, dir.path(), "b");
    let sc = wait_worker(c, dir.path(), "c");
    let got = collected(&db);
    compare(
        &want,
        &got,
        "after SIGKILL of a worker and a NATS node restart",
    );
    eprintln!(
        "cluster: {} detections, equal to tiaki hunt; at the kill {} events pending and {} \
         delivered unacknowledged; redelivered and unacknowledged at the end {}; worker b {sb}, worker c {sc}, \
         collect {collected_stats}",
        got.len(),
        at_kill.0,
        at_kill.1,
        consumer_totals(cluster.monitor_port(0)).2
    );
}

#[test]
fn a_retrohunt_with_new_indicators_completes_the_case() {
    // Workers run the rules alone; the partner's indicators arrive afterwards and are
    // retro-hunted over the stored stream. The case then holds what a hunt with both finds.
    let want = expected();
    let nats = NatsServer::start();
    let url = nats.url();
    let dir = tempfile::tempdir().unwrap();
    ok(
        tiaki(&[
            "rollout",
            "--nats",
            &url,
            "--rules",
            "rules",
            "--placeholders",
            "examples/parliament/placeholders.yml",
        ]),
        "rollout of the rules alone",
    );
    ok(tiaki(&["ingest", EVIDENCE, "--nats", &url]), "tiaki ingest");
    let w = spawn_worker(&url, "w", dir.path(), &["--exit-when-idle", "3"]);
    let db = dir.path().join("case.db");
    let first = collect(&url, &db);
    wait_worker(w, dir.path(), "w");
    let before = collected(&db);
    assert!(before.len() < want.len(), "the indicators add detections");
    let mut args = vec!["retrohunt", "--nats", url.as_str()];
    args.extend_from_slice(PACK);
    let retro: serde_json::Value =
        serde_json::from_str(ok(tiaki(&args), "tiaki retrohunt").trim()).unwrap();
    assert_eq!(retro["events"], 9905, "{retro}");
    let second = collect(&url, &db);
    let got = collected(&db);
    compare(
        &want,
        &got,
        "rules by workers, then a retro-hunt with the indicators",
    );
    assert_eq!(
        second["added"].as_u64().unwrap() as usize,
        want.len() - before.len(),
        "only what the retro-hunt found is new: {first} then {second}"
    );
}
