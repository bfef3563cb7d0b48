//! # tiaki
//!
//! The tiaki pipeline as a library: evidence files are read into events
//! (`tiaki-evidence`), matched against compiled Sigma rules (`tiaki-sigma`)
//! in parallel, and every hit becomes a [`Detection`] that points back at its
//! exact record. Correlation rules, indicator sweeps ([`sweep`], with STIX
//! patterns in [`patterns`]) and YARA over the evidence files ([`yara_pass`])
//! run in the same hunt ([`hunt_with`]). Detections stream to
//! a [`DetectionSink`] (the [`output`] writers: table, CSV, JSON Lines, JSON)
//! and the run ends with a [`Summary`] that accounts for every record read or
//! skipped.
//!
//! ```no_run
//! use tiaki::{HuntOptions, Rules, hunt, output::JsonlWriter};
//! use tiaki_sigma::{Collection, LoadOptions};
//!
//! let mut col = Collection::new(LoadOptions::default());
//! col.add_source("r.yml", "title: t\nlogsource: {product: windows}\ndetection:\n  s: {EventID: 4625}\n  condition: s\n");
//! let rules = Rules::compile(col);
//! let mut out = JsonlWriter::new(std::io::stdout().lock());
//! let summary = hunt(&["case/"], &rules, &HuntOptions::default(), &mut out, &mut |_| {}).unwrap();
//! eprintln!("{summary}");
//! ```
//!
//! Why a library and not just the binary: the same hunt serves the CLI, the
//! server and the tests, and its pieces are small modules, each one idea:
//! matching a batch on all cores ([`matcher`]), turning hits into
//! detections ([`detection`]), correlating ([`correlate`]), filtering
//! ([`filter`]), sorting more events than fit in memory ([`sort`]), the
//! timeline ([`mod@timeline`]) and the writers ([`output`]).

#![warn(missing_docs)]

pub mod correlate;
pub mod detection;
mod dump;
mod error;
pub mod filter;
mod hunt;
pub mod hunter;
pub mod matcher;
pub mod output;
pub mod patterns;
mod pipeline;
mod rules;
pub mod sort;
mod summary;
pub mod sweep;
pub mod timeline;
pub mod yara_pass;

pub use detection::{CorrelationInfo, Detection, DetectionKind, SourceRef};
pub use dump::dump;
pub use error::HuntError;
pub use filter::{EventFilter, TimeBound, parse_time_bound};
pub use hunt::{HuntOptions, Progress, Sweeps, hunt, hunt_with};
pub use hunter::{Fired, Hunter};
pub use output::{DetectionSink, OutputFormat, SortOrder, SortedSink};
pub use rules::Rules;
pub use summary::{FileAccount, FileProblem, RuleCount, Summary};
pub use sweep::{IndicatorSummary, IndicatorSweep};
pub use timeline::{TimelineFormat, timeline};
pub use yara_pass::{YaraSummary, yara_pass};
