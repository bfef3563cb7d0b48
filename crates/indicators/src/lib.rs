//! Indicators of compromise for tiaki: what partners share, indexed so that a hunt can test
//! every event against a national-scale feed at almost no cost per indicator.
//!
//! * [`observable`] — the vocabulary both sides speak: an [`ObservableKind`] and a normalised
//!   value (lower-case hashes and domains, canonical IP addresses…).
//! * [`extract`] — the observables in an evidence event (addresses, domains, URLs, hashes,
//!   file names, registry keys, user agents…), driven by a field map kept as data, and the
//!   event as STIX cyber-observable objects for the full pattern matcher.
//! * [`indicator`] — the [`Indicator`] every feed is read into: provenance, TLP, attribution
//!   and a [`Condition`] over observables.
//! * [`feed`] — readers for STIX 2.1 bundles, MISP events and feed folders, CSV and plain
//!   lists ([`load_path`] recognises which), reporting every skipped entry.
//! * [`refang`] — undoing `hxxp://evil[.]example` defanging.
//! * [`index`] — the [`IndicatorIndex`]: exact values, networks, substrings and
//!   conjunctions looked up per event without allocating.
#![warn(missing_docs)]

pub mod extract;
pub mod feed;
pub mod index;
pub mod indicator;
pub mod observable;
pub mod refang;

pub use feed::{FeedError, FeedReport, load_path};
pub use index::{IndexHit, IndicatorIndex};
pub use indicator::{Condition, Indicator, Term, ValueTest};
pub use observable::{Observable, ObservableKind, infer_kind, normalise};
