//! Sharing a tiaki case with partner agencies: STIX 2.1 export under TLP 2.0, and TAXII 2.1.
//!
//! An investigation stays inside the organisation until an analyst decides to share it. What
//! leaves must obey the Traffic Light Protocol of every input that went into it, so the export
//! is built as a graph first, marked object by object ("most restrictive wins"), and then
//! filtered as a whole: anything above the destination's ceiling is withheld together with
//! every reference to it, so no dangling id reveals that it exists.
//!
//! * [`export`] — [`export_case`]: an [`Investigation`](tiaki_report::Investigation) and its
//!   detections as a STIX 2.1 bundle, plus a report of what was withheld and why.
//! * [`taxii`] — a blocking TAXII 2.1 client ([`TaxiiClient`]) to push the bundle to a
//!   partner collection and pull theirs.
#![warn(missing_docs)]

pub mod error;
pub mod export;
mod ids;
pub mod taxii;

pub use error::ShareError;
pub use export::{
    Export, ExportInput, ExportOptions, ExportReport, SharedDetection, Withheld, export_case,
};
pub use taxii::{Auth, Collection, Filter, Pulled, StatusSummary, TaxiiClient};
