//! # tiaki-fuzz-targets
//!
//! One function per fuzz target, each feeding arbitrary bytes to a parser that takes outside
//! input, through the same public API tiaki itself uses on evidence, rules, feeds and
//! requests.
//!
//! Why the targets live in an ordinary crate and not in `fuzz/`: cargo-fuzz needs nightly and
//! libFuzzer, CI runs stable. Kept here, the targets compile with the workspace (so they
//! cannot rot when an API changes), `fuzz/fuzz_targets/*.rs` are one-line wrappers, and the
//! saved seeds and crash inputs (`fuzz/seeds/`, `fuzz/regressions/`) run as an ordinary test
//! (`tests/regressions.rs`) on stable.
//!
//! The contract of every target: it returns normally on every input. A panic (or an abort,
//! a hang, unbounded memory) is a bug in the code under test. Inputs over [`MAX_INPUT`] are
//! ignored to keep each run bounded. Failures the code under test turns into reports
//! (the evidence readers catch a reader's panic and report the file as failed) are turned
//! back into panics here, so the fuzzer sees them.

#![warn(missing_docs)]

mod evidence;
mod feeds;
mod sigma;
mod stix;
mod taxii;

pub use evidence::{
    apache_combined, csv, evidence_any, evtx, json_events, syslog, w3c, windows_xml, zeek,
};
pub use feeds::misp_feed;
pub use sigma::sigma_rule;
pub use stix::{stix_bundle, stix_pattern};
pub use taxii::taxii_request;

/// Inputs larger than this are ignored (1 MiB): no target's cost should depend on the fuzzer
/// growing its inputs without bound.
pub const MAX_INPUT: usize = 1 << 20;

/// A fuzz target: takes any bytes, must return.
pub type Target = fn(&[u8]);

/// Every target by name (the name of its `fuzz/fuzz_targets/<name>.rs` and of its seed and
/// regression folders).
pub const TARGETS: &[(&str, Target)] = &[
    ("evtx", evtx),
    ("json_events", json_events),
    ("windows_xml", windows_xml),
    ("w3c", w3c),
    ("apache_combined", apache_combined),
    ("syslog", syslog),
    ("zeek", zeek),
    ("csv", csv),
    ("evidence_any", evidence_any),
    ("sigma_rule", sigma_rule),
    ("stix_bundle", stix_bundle),
    ("stix_pattern", stix_pattern),
    ("misp_feed", misp_feed),
    ("taxii_request", taxii_request),
];

/// Whether `TIAKI_FUZZ_VERBOSE` is set: targets then say on stderr what they did with each
/// input (events read, status answered…), to check that seeds reach the code they are for.
pub fn verbose() -> bool {
    static V: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *V.get_or_init(|| std::env::var_os("TIAKI_FUZZ_VERBOSE").is_some())
}

/// The target called `name`, if there is one.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}
