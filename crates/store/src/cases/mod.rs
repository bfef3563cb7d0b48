//! Cases: evidence and its custody, hunt runs, detections, the analysis, verdicts, notes, TLP.
//!
//! # Why it is shaped this way
//!
//! An investigation is hunted many times: new evidence arrives, rules improve, an analyst
//! re-runs `tiaki hunt --case NAME` on the same collection. The case must grow by what is new
//! and never by repetition, so:
//!
//! * a detection's identity is the SHA-256 of its own JSON (the stable `jsonl` contract): the
//!   same rule hit on the same record always has the same key, and `INSERT … ON CONFLICT DO
//!   NOTHING` makes re-adding it free. Verdicts and notes hang on that key, so they survive
//!   re-hunts;
//! * evidence is identified by `(sha256, path)`: the first addition keeps who added it and
//!   when, and every later hunt of it is appended to the custody log (`re-hunted`), which is
//!   the chain of custody a report or a court may ask for;
//! * the analysis (incidents, report snapshot) is derived from all detections, so it is
//!   *replaced* after each hunt; attribution assessments are a *history*, appended only when
//!   the assessment changed (timings ignored), so re-running a hunt adds nothing;
//! * every item carries a TLP label: by default the case's, stricter when what it came from
//!   was stricter (an indicator hit under TLP:RED, an incident containing one). Exporters
//!   compare labels with [`tlp_rank`].
//!
//! Detections are also stored as filter columns (time, level, host, rule, kind, techniques, a
//! lower-cased search text) with indexes, so the console pages the timeline of a case with
//! 100 000 detections through an index instead of decoding JSON.

mod analysis;
mod case;
mod columns;
mod custody;
mod detections;
mod dump;
mod triage;
mod types;
mod validate;

#[cfg(test)]
mod tests;

use rusqlite::Row;
use tiaki_stix::Tlp;

#[cfg(doc)]
use crate::CaseStore;
use crate::{Result, StoreError};

pub use detections::key_of;
pub use types::{
    AddedCount, AssessmentRow, Case, CaseDump, CaseSummary, CustodyEntry, DUMP_FORMAT,
    DetectionPage, DetectionQuery, EvidenceRow, IncidentRow, IntegrityCheck, ItemRef, NewEvidence,
    Note, NoteTarget, RunFile, RunRecord, RunRow, StoredDetection, TopCandidate, Verdict,
    VerdictFilter, VerdictRow,
};

/// The TLP of a new case when none is given.
pub const DEFAULT_TLP: &str = "TLP:AMBER";

/// The most rows [`CaseStore::detections`] returns at once.
pub const MAX_PAGE: u64 = 1000;

/// The page size of [`CaseStore::detections`] when the query gives none.
pub const DEFAULT_PAGE: u64 = 100;

/// The longest note (and verdict reason), in bytes.
pub const MAX_TEXT: usize = 64 * 1024;

/// The label of the most restrictive level, used for labels that cannot be read.
const STRICTEST: &str = "TLP:RED";

// ---------------------------------------------------------------------------------------------
// TLP helpers
// ---------------------------------------------------------------------------------------------

/// The rank of a TLP label: CLEAR (and TLP 1.0 WHITE) 0 < GREEN 1 < AMBER 2 < AMBER+STRICT 3
/// < RED 4. Accepts the spellings [`canonical_tlp`] accepts.
///
/// A label that names no TLP level ranks as RED (4): an exporter comparing ranks then never
/// shares an item whose marking it cannot read.
pub fn tlp_rank(label: &str) -> u8 {
    match label.parse::<Tlp>() {
        Ok(t) => Tlp::ALL.iter().position(|x| *x == t).unwrap_or(4) as u8,
        Err(_) => 4,
    }
}

/// The canonical TLP 2.0 label (`TLP:AMBER+STRICT`) of `label`, which may be lower-case, lack
/// the `TLP:` prefix, or be TLP 1.0 `WHITE` (stored as `TLP:CLEAR`).
pub fn canonical_tlp(label: &str) -> Result<&'static str> {
    label.parse::<Tlp>().map(|t| t.label()).map_err(|_| {
        StoreError::Invalid(format!(
            "tlp '{label}' is not a TLP label (expected TLP:CLEAR, TLP:GREEN, TLP:AMBER, TLP:AMBER+STRICT or TLP:RED)"
        ))
    })
}

/// The stricter of two labels (an unreadable label counts as RED and is written `TLP:RED`).
fn stricter(a: &str, b: &str) -> String {
    let pick = if tlp_rank(b) > tlp_rank(a) { b } else { a };
    match canonical_tlp(pick) {
        Ok(l) => l.to_string(),
        Err(_) => STRICTEST.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Shared column helpers
// ---------------------------------------------------------------------------------------------

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A count or size column (stored as SQLite's signed integer).
fn get_u64(r: &Row<'_>, i: usize) -> rusqlite::Result<u64> {
    Ok(u64::try_from(r.get::<_, i64>(i)?).unwrap_or(0))
}

const SEVERITIES: [&str; 5] = ["informational", "low", "medium", "high", "critical"];
