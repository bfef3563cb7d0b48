//! # tiaki-evidence
//!
//! Readers that turn forensic evidence into a stream of [`Event`]s, each with its origin
//! (file, archive member, record id or line), its time, and the Sigma log source it belongs
//! to, its fields named as Sigma rules expect them.
//!
//! Formats: Windows EVTX, `evtx_dump` JSON/JSONL, Winlogbeat/ECS JSON, Windows XML exports,
//! IIS W3C and Apache/Nginx access logs, syslog (RFC 3164/5424, auth.log), Zeek (TSV and
//! JSON), CSV — also inside `.gz` and `.zip`, recognised from their content
//! ([`sniff`]), with an override ([`ReadOptions::format`]).
//!
//! ```no_run
//! use tiaki_evidence::{read_paths, ReadOptions};
//!
//! let report = read_paths(&["evidence/"], &ReadOptions::default(), |batch| {
//!     for event in batch {
//!         println!("{} {:?} {:?}", event.origin, event.logsource.category, event.fields.get("Image"));
//!     }
//! });
//! eprintln!("{report}");
//! ```
//!
//! The crate knows nothing of Sigma rules: field mapping and log-source routing are data
//! ([`Mappings`], files under `data/`), and the Sigma engine reads events through its own
//! trait. See `README.md` for the formats, sniffing, data files, limits and flattening rules.

#![warn(missing_docs)]

mod ctx;
mod error;
mod event;
mod mapping;
mod options;
mod read;
mod readers;
mod report;
mod sniff;
mod source;
mod time;
mod windows;

pub use error::{EvidenceError, Location, MappingError};
pub use event::{Event, Format, LogSource, Origin, UnknownFormat};
pub use mapping::{BUILTIN_DATA, Mappings};
pub use options::{ArchiveLimits, DEFAULT_MAX_LINE_BYTES, MAX_JSON_DEPTH, ReadOptions};
pub use read::{read_paths, read_reader};
pub use report::{FileReport, ReadReport};
pub use sniff::sniff;
