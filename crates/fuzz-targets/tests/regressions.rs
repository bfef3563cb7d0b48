//! Every seed (`fuzz/seeds/<target>/`) and every input the fuzzers ever found
//! (`fuzz/regressions/<target>/`) through its target, on stable, as CI runs tests.
//!
//! Why each input runs in its own thread with a deadline: a regression can be a hang, and a
//! hang must fail this test rather than stall CI. Why the test insists on seeds for every
//! target and on a target for every folder: so that it cannot pass by finding nothing.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tiaki_fuzz_targets::{TARGETS, target};

/// How long one input may take (debug builds are several times slower than the fuzzers').
const DEADLINE: Duration = if cfg!(debug_assertions) {
    Duration::from_secs(30)
} else {
    Duration::from_secs(10)
};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    out.sort();
    out
}

/// Runs `f` on `path`'s bytes in a thread; the failure message, if it panicked or overran.
fn run_one(name: &str, f: fn(&[u8]), path: &Path) -> Option<String> {
    let data = std::fs::read(path).expect("readable input");
    let (tx, rx) = mpsc::channel();
    let started = Instant::now();
    let handle = std::thread::Builder::new()
        .name(format!("{name}:{}", path.display()))
        .spawn(move || {
            f(&data);
            let _ = tx.send(());
        })
        .expect("a thread");
    match rx.recv_timeout(DEADLINE) {
        Ok(()) => {
            let _ = handle.join();
            None
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            let msg = match handle.join() {
                Err(p) => p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panic".into()),
                Ok(()) => "ended without finishing".into(),
            };
            Some(format!("{name}: {}: panicked: {msg}", path.display()))
        }
        Err(mpsc::RecvTimeoutError::Timeout) => Some(format!(
            "{name}: {}: still running after {:?} (a hang); the thread is left behind",
            path.display(),
            started.elapsed()
        )),
    }
}

#[test]
fn seeds_and_regressions_pass_their_targets() {
    let root = fuzz_dir();
    let mut failures = Vec::new();
    let mut total = 0;
    for (name, f) in TARGETS {
        let seeds = files(&root.join("seeds").join(name));
        assert!(
            !seeds.is_empty(),
            "target {name} has no seed in fuzz/seeds/{name}/"
        );
        let regressions = files(&root.join("regressions").join(name));
        for path in seeds.iter().chain(&regressions) {
            total += 1;
            if let Some(msg) = run_one(name, *f, path) {
                eprintln!("FAILED {msg}");
                failures.push(msg);
            }
        }
    }
    eprintln!(
        "{total} inputs through {} targets, {} failed",
        TARGETS.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every folder of seeds or regressions names a target, and every target has its cargo-fuzz
/// wrapper, so nothing is silently left out.
#[test]
fn folders_and_wrappers_match_the_targets() {
    let root = fuzz_dir();
    for kind in ["seeds", "regressions"] {
        let Ok(rd) = std::fs::read_dir(root.join(kind)) else {
            assert_eq!(kind, "regressions", "fuzz/seeds/ is missing");
            continue;
        };
        for e in rd.filter_map(Result::ok) {
            let name = e.file_name().to_string_lossy().into_owned();
            if e.path().is_dir() {
                assert!(
                    target(&name).is_some(),
                    "fuzz/{kind}/{name}/ names no target"
                );
            }
        }
    }
    for (name, _) in TARGETS {
        let wrapper = root.join("fuzz_targets").join(format!("{name}.rs"));
        let text = std::fs::read_to_string(&wrapper)
            .unwrap_or_else(|e| panic!("{}: {e}", wrapper.display()));
        assert!(
            text.contains(&format!("tiaki_fuzz_targets::{name}(")),
            "{} does not call tiaki_fuzz_targets::{name}",
            wrapper.display()
        );
    }
}
