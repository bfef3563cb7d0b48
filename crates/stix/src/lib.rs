//! STIX 2.1 for tiaki: objects, bundles, TLP 2.0 markings and validation.
//!
//! tiaki imports intelligence (the ATT&CK knowledge base, partners' indicators) as STIX 2.1
//! and shares its findings as STIX 2.1 under TLP. This crate is the STIX layer on its own,
//! with no file-system or network I/O: readers take `impl Read`, `&[u8]` or `&str`.
//!
//! * [`StixObject`] — any object; common properties typed, every other property kept
//!   verbatim so a round trip loses nothing. Typed views in [`sdo`] and [`sco`].
//! * [`bundle`] — streaming bundle reader (one object in memory at a time) and writer.
//! * [`tlp`] — TLP 2.0 / 1.0 marking definitions, the ordered [`Tlp`] level, the TLP of
//!   an object.
//! * [`mod@validate`] — the specification's MUST rules, held to the OASIS validator's verdicts.
//! * [`sco_id`] — deterministic UUIDv5 ids for cyber-observable objects.
//! * [`mod@pattern`] — the STIX patterning language: parser, inspector, and a matcher
//!   over observations (observed-data, or observations a hunt builds from log events).
//!   The validator checks indicators' patterns with it.
//! * [`vectors`] — runs the shared language-neutral test vectors.
#![warn(missing_docs)]

#[macro_use]
mod view_macro;

pub mod bundle;
pub mod object;
pub mod pattern;
pub mod sco;
pub mod sco_id;
pub mod sdo;
pub mod timestamp;
pub mod tlp;
pub mod validate;
pub mod vectors;

pub use bundle::{
    Bundle, BundleError, BundleReader, BundleSummary, read_bundle, read_bundle_slice, write_bundle,
};
pub use object::{
    ExternalReference, GranularMarking, KillChainPhase, StixObject, TypedObject, ViewError,
};
pub use pattern::{MatchError, Observation, Pattern, PatternError};
pub use timestamp::{Timestamp, TimestampError};
pub use tlp::{Tlp, tlp_of};
pub use validate::{Issue, Validator, validate};
