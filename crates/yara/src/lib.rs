//! YARA scanning of files found in evidence.
//!
//! Sigma rules describe what systems *logged*; YARA rules describe what
//! files *contain*. A web shell dropped in `C:\inetpub\wwwroot` or in a
//! Tomcat `webapps` folder is often visible only as a file: the access log
//! shows a POST to a page, and the page itself is what proves the
//! intrusion. This crate scans such files (read-only, size-capped, with a
//! timeout) with [YARA-X](https://virustotal.github.io/yara-x/) and reports
//! every matching rule with its metadata and the bytes that fired.
//!
//! - [`YaraRules`] compiles the project's own rule pack (`rules/yara`,
//!   embedded in the binary) and any user rule files; a broken file is
//!   skipped and reported, never fatal.
//! - [`FileScanner`] scans files or byte slices; create one per thread.
//! - [`EvidenceWalker`] lists the regular files under evidence directories
//!   without following symbolic links (unless asked) or looping.
//!
//! ```no_run
//! use tiaki_yara::{EvidenceWalker, ScanOptions, YaraRules};
//!
//! let rules = YaraRules::builder().add_path("my-rules/").build();
//! for problem in rules.problems() {
//!     eprintln!("{problem}");
//! }
//! let mut scanner = rules.scanner(ScanOptions::default());
//! for path in EvidenceWalker::new(["evidence/"]) {
//!     let Ok(path) = path else { continue };
//!     if let Ok(scan) = scanner.scan_file(&path) {
//!         for m in scan.outcome.matches() {
//!             println!("{}: {} ({:?})", path.display(), m.rule, m.level());
//!         }
//!     }
//! }
//! ```
#![warn(missing_docs)]

mod rules;
mod scan;
mod walk;

pub use rules::{
    LoadedFile, PackFile, ProblemKind, RuleProblem, RulesBuilder, YaraRules, project_pack,
};
pub use scan::{
    FileScan, FileScanner, MatchLocation, RuleMatch, ScanError, ScanOptions, ScanOutcome,
    ScanStats, SkipReason, StringMatch,
};
pub use walk::{EvidenceWalker, WalkError};

/// Re-export of the `yara-x` crate, for callers that need its own API
/// (for example [`YaraRules::yara_rules`]).
pub use yara_x;
