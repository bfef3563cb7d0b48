//! # tiaki-sigma
//!
//! A complete, standalone Sigma rule engine: parse and validate rules
//! (specification v2.1), compile them into shared matchers, match events,
//! and run correlation rules. The crate does no I/O: callers hand it rule
//! text and events through the small [`Event`] trait.
//!
//! ```
//! use tiaki_sigma::{Collection, LoadOptions};
//!
//! let mut rules = Collection::new(LoadOptions::default());
//! rules.add_source("example.yml", r#"
//! title: Whoami
//! logsource: {product: windows, category: process_creation}
//! detection:
//!     selection:
//!         Image|endswith: '\whoami.exe'
//!     condition: selection
//! "#);
//! let compiled = rules.compile();
//! assert!(compiled.errors.is_empty());
//! let set = compiled.ruleset;
//! let event = serde_json::json!({"Image": "C:\\Windows\\System32\\WHOAMI.EXE"});
//! let mut scratch = set.scratch();
//! let mut hits = Vec::new();
//! set.matches(&event, None, &mut scratch, &mut hits);
//! assert_eq!(hits.len(), 1);
//! assert_eq!(set.meta(hits[0]).title, "Whoami");
//! ```

#![warn(missing_docs)]

mod collection;
mod compile;
pub mod condition;
pub mod correlation;
mod error;
mod eval;
mod event;
mod hitcache;
pub mod matchers;
pub mod modifier;
mod rule;
pub mod string;
#[cfg(feature = "json")]
pub mod vectors;
pub mod yaml;

pub use collection::{Collection, LoadOptions, RuleWarning};
pub use compile::{Compiled, RuleId, RuleSet, RuleSetStats};
pub use error::RuleError;
pub use eval::{EventSource, MatchStats, Scratch};
pub use event::{Event, Value};
pub use rule::{Level, LogSource, RuleMeta};
