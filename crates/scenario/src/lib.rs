//! Deterministic generator of the parliamentary-intrusion scenarios: evidence files of a
//! fictional network and their ground truth.
//!
//! Why: tiaki's detection and attribution need a realistic, reproducible test bed with a
//! known answer. [`generate`] writes, from a seed and a scale, the logs of the "Parliamentary
//! Drafting Office" network (`pdo.example`) and its partner agency (`lsa.example`) as tiaki's
//! readers take them (evtx_dump JSON Lines, IIS W3C, Tomcat access logs, syslog, Zeek TSV,
//! web-shell files), following `shared/research/apt40-facts.md` section 4: the APT40-like
//! storyline "Operation Quiet Draft" (4.1), the benign background with decoys B1–B12 (4.2),
//! or the APT31-like contrast "Press Briefing" (4.3). `truth.json` lists every record of every
//! step and decoy, so recall can be measured per step ([`Truth::recall`]).
//!
//! Determinism: the only randomness is the crate's own PRNG ([`rng`]), seeded from
//! [`Options::seed`]; files are sorted by time with stable tie-breaking, so the same seed and
//! scale give byte-identical files on every platform and version.

mod apt31;
mod apt40;
mod background;
mod clock;
mod net;
mod rng;
mod sink;
mod syslog;
mod truth;
mod w3c;
mod winlog;
mod zeek;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use truth::{Decoy, EvidenceRef, Step, StepRecall, Truth, load_truth};

/// Which storyline to generate (the benign background is part of all three).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// "Operation Quiet Draft": APT40-like intrusion of PDO (research file 4.1).
    Apt40,
    /// "Press Briefing": APT31-like email-first intrusion of LSA (research file 4.3).
    Apt31,
    /// Only the benign background and decoys (4.2).
    Background,
}

impl Scenario {
    /// `apt40`, `apt31`, `background`.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Apt40 => "apt40",
            Scenario::Apt31 => "apt31",
            Scenario::Background => "background",
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = Error;

    /// Parses `apt40`, `apt31` or `background` (case-insensitive).
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "apt40" => Ok(Scenario::Apt40),
            "apt31" => Ok(Scenario::Apt31),
            "background" | "benign" => Ok(Scenario::Background),
            _ => Err(Error::UnknownScenario(s.to_string())),
        }
    }
}

/// What to generate, and where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Options {
    /// The storyline.
    pub scenario: Scenario,
    /// The PRNG seed; the same seed and scale give byte-identical files.
    pub seed: u64,
    /// Background volume multiplier (1.0: about 200k events over the 25-day window). The
    /// storyline and the decoys are always complete, whatever the scale.
    pub scale: f64,
    /// Output folder (created if needed; files of the same names are overwritten, nothing
    /// else is deleted).
    pub out: PathBuf,
    /// Write the Windows JSON Lines gzip-compressed (`.jsonl.gz`, which tiaki reads in
    /// place). Off by default.
    #[serde(default)]
    pub gzip: bool,
}

impl Options {
    /// The default seed.
    pub const DEFAULT_SEED: u64 = 20250303;

    /// Options with the default seed, scale 1.0 and plain files.
    pub fn new(scenario: Scenario, out: impl Into<PathBuf>) -> Self {
        Options {
            scenario,
            seed: Self::DEFAULT_SEED,
            scale: 1.0,
            out: out.into(),
            gzip: false,
        }
    }
}

/// One file written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    /// Relative to the output folder, `/` separators.
    pub path: String,
    /// The host whose evidence it is (`sensor` for Zeek logs).
    pub host: String,
    /// `evtx-json`, `w3c`, `apache`, `syslog`, `zeek`, or `file` (web shells, pages).
    pub format: String,
    /// Events (records or lines) in the file; 0 for plain files.
    pub events: u64,
    /// Size on disk.
    pub bytes: u64,
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The scenario generated.
    pub scenario: Scenario,
    /// The seed.
    pub seed: u64,
    /// The scale.
    pub scale: f64,
    /// Every file written (besides `truth.json`), sorted by path.
    pub files: Vec<FileInfo>,
    /// Events per host.
    pub events_by_host: BTreeMap<String, u64>,
    /// Events per format.
    pub events_by_format: BTreeMap<String, u64>,
    /// All events.
    pub total_events: u64,
    /// All bytes written (including `truth.json`).
    pub total_bytes: u64,
    /// The ground truth, as written to `truth.json`.
    pub truth: Truth,
}

/// Errors of the generator.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A JSON file could not be read or written.
    #[error("{0}: {1}")]
    Json(String, serde_json::Error),
    /// An unknown scenario name.
    #[error("unknown scenario `{0}` (expected apt40, apt31 or background)")]
    UnknownScenario(String),
    /// The scale is negative or not a number.
    #[error("invalid scale {0} (expected a finite number >= 0)")]
    Scale(f64),
}

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// Generates a scenario into `opts.out` and writes `truth.json` there.
pub fn generate(opts: &Options) -> Result<Manifest, Error> {
    if !opts.scale.is_finite() || opts.scale < 0.0 {
        return Err(Error::Scale(opts.scale));
    }
    std::fs::create_dir_all(&opts.out).map_err(|e| Error::io(&opts.out, e))?;
    let mut sink = sink::Sink::default();
    let mut plan = truth::Plan::default();
    background::generate(&mut sink, &mut plan, opts.seed, opts.scale);
    match opts.scenario {
        Scenario::Apt40 => apt40::generate(&mut sink, &mut plan, opts.seed),
        Scenario::Apt31 => apt31::generate(&mut sink, &mut plan, opts.seed),
        Scenario::Background => {}
    }
    let (written, placed) = sink.finish(&opts.out, opts.seed, opts.gzip)?;
    let truth = plan.build(opts.scenario.name(), opts.seed, opts.scale, placed);
    let json = truth.to_json();
    let tp = opts.out.join("truth.json");
    std::fs::write(&tp, &json).map_err(|e| Error::io(&tp, e))?;
    let mut m = Manifest {
        scenario: opts.scenario,
        seed: opts.seed,
        scale: opts.scale,
        files: Vec::new(),
        events_by_host: BTreeMap::new(),
        events_by_format: BTreeMap::new(),
        total_events: 0,
        total_bytes: json.len() as u64,
        truth,
    };
    for w in written {
        *m.events_by_host.entry(w.host.clone()).or_default() += w.events;
        *m.events_by_format.entry(w.format.to_string()).or_default() += w.events;
        m.total_events += w.events;
        m.total_bytes += w.bytes;
        m.files.push(FileInfo {
            path: w.path,
            host: w.host,
            format: w.format.to_string(),
            events: w.events,
            bytes: w.bytes,
        });
    }
    Ok(m)
}
