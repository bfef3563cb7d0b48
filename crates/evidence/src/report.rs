//! What was read and what was not.
//!
//! Why: "every record is accounted for" (DESIGN.md). A reader that silently drops records
//! hides exactly the damaged or tampered evidence an investigator needs to know about, so
//! each file (and archive member) gets a [`FileReport`] with the events read, the records
//! skipped per reason and the first few errors in full.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::error::EvidenceError;
use crate::event::Format;

/// What happened to one file or archive member.
#[derive(Debug, Serialize)]
pub struct FileReport {
    /// The evidence path (`a.zip!inner/x.evtx` for archive members).
    pub path: Arc<str>,
    /// The format it was read as (`None` if it was not recognised or could not be opened).
    pub format: Option<Format>,
    /// Events handed to the caller.
    pub events: u64,
    /// Of those, EVTX records carved from unallocated space (see [`crate::Origin::recovered`]).
    pub recovered: u64,
    /// EVTX records carved from unallocated space that were not returned because a live
    /// record with the same id is in the file (stale copies of it).
    pub recovered_duplicates: u64,
    /// Records, chunks or lines that could not be read, per reason.
    pub skipped: BTreeMap<&'static str, u64>,
    /// The first errors, in full (at most [`crate::ReadOptions::max_errors_kept`]).
    #[serde(serialize_with = "errors_as_strings")]
    pub errors: Vec<EvidenceError>,
    /// False if reading stopped before the end of the file (open failure, corrupt stream,
    /// decompression limit, unrecognised format).
    pub complete: bool,
}

fn errors_as_strings<S: serde::Serializer>(
    errors: &[EvidenceError],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(errors.iter().map(ToString::to_string))
}

impl FileReport {
    /// An empty report for `path`.
    pub fn new(path: Arc<str>) -> Self {
        FileReport {
            path,
            format: None,
            events: 0,
            recovered: 0,
            recovered_duplicates: 0,
            skipped: BTreeMap::new(),
            errors: Vec::new(),
            complete: true,
        }
    }

    /// Records/lines skipped, all reasons together.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }

    /// Counts an error under its reason and keeps it if fewer than `keep` are kept.
    pub(crate) fn record_error(&mut self, err: EvidenceError, keep: usize) {
        *self.skipped.entry(err.reason()).or_default() += 1;
        if self.errors.len() < keep {
            self.errors.push(err);
        }
    }

    /// Records an error that ended reading this file early.
    pub(crate) fn fail(&mut self, err: EvidenceError, keep: usize) {
        self.complete = false;
        self.record_error(err, keep.max(1));
    }
}

impl fmt::Display for FileReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fmt = self.format.map_or("?", Format::name);
        write!(f, "{} [{}]: {} events", self.path, fmt, self.events)?;
        if self.recovered > 0 {
            write!(f, " ({} recovered)", self.recovered)?;
        }
        for (reason, n) in &self.skipped {
            write!(f, ", {n} skipped: {reason}")?;
        }
        if !self.complete {
            f.write_str(", INCOMPLETE")?;
        }
        Ok(())
    }
}

/// What happened to every file of one [`crate::read_paths`] call.
#[derive(Debug, Default, Serialize)]
pub struct ReadReport {
    /// One report per file or archive member, in the order the paths were given and walked.
    pub files: Vec<FileReport>,
}

impl ReadReport {
    /// All events read.
    pub fn events(&self) -> u64 {
        self.files.iter().map(|f| f.events).sum()
    }

    /// All records/lines skipped.
    pub fn skipped(&self) -> u64 {
        self.files.iter().map(FileReport::skipped_total).sum()
    }

    /// Skips per reason over all files.
    pub fn skipped_by_reason(&self) -> BTreeMap<&'static str, u64> {
        let mut out = BTreeMap::new();
        for f in &self.files {
            for (r, n) in &f.skipped {
                *out.entry(*r).or_default() += n;
            }
        }
        out
    }

    /// Files that could not be read to the end.
    pub fn incomplete(&self) -> impl Iterator<Item = &FileReport> {
        self.files.iter().filter(|f| !f.complete)
    }
}

impl fmt::Display for ReadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for file in &self.files {
            writeln!(f, "{file}")?;
            for e in &file.errors {
                writeln!(f, "  {e}")?;
            }
        }
        write!(
            f,
            "{} files, {} events, {} skipped",
            self.files.len(),
            self.events(),
            self.skipped()
        )
    }
}
