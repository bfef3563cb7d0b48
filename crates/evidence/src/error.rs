//! Typed errors.
//!
//! Why these shapes: an analyst must be able to go back to the exact spot in the evidence
//! that could not be read, so every error names the file (and archive member), the record or
//! line when there is one, and the reason. Errors about single records do not stop a file;
//! they are counted per reason in the [`crate::FileReport`] and the first few are kept whole.

use std::fmt;
use std::io;
use std::sync::Arc;

/// An error reading evidence.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// The file or directory could not be opened or listed.
    #[error("{path}: cannot open: {source}")]
    Open {
        /// The evidence path.
        path: Arc<str>,
        /// The operating system's error.
        source: io::Error,
    },
    /// Reading failed part-way (I/O error, corrupt compressed stream, decompression limit).
    #[error("{path}: read failed: {source}")]
    Read {
        /// The evidence path.
        path: Arc<str>,
        /// The underlying error.
        source: io::Error,
    },
    /// No reader recognised the content and no format was forced.
    #[error("{path}: format not recognised: {reason}")]
    Unrecognised {
        /// The evidence path.
        path: Arc<str>,
        /// What was seen.
        reason: String,
    },
    /// The file (or archive member) is empty: nothing to read, which is itself worth knowing
    /// (a wiped log).
    #[error("{path}: empty file")]
    Empty {
        /// The evidence path.
        path: Arc<str>,
    },
    /// A decompression limit was exceeded (a likely decompression bomb).
    #[error("{path}: decompression limit exceeded: {detail}")]
    Limit {
        /// The archive member or stream.
        path: Arc<str>,
        /// Which limit and the numbers.
        detail: String,
    },
    /// The file could not be read as the format it was taken for.
    #[error("{path}: not readable as {format}: {detail}")]
    Format {
        /// The evidence path.
        path: Arc<str>,
        /// The format tried.
        format: crate::Format,
        /// Why.
        detail: String,
    },
    /// One record, chunk or line could not be read; reading went on after it.
    #[error("{location}: {reason}: {detail}")]
    Record {
        /// File, record or line.
        location: Location,
        /// A short, countable reason (`malformed JSON`, `EVTX record unreadable`…).
        reason: &'static str,
        /// The details.
        detail: String,
    },
}

impl EvidenceError {
    /// The short reason under which this error is counted in a report.
    pub fn reason(&self) -> &'static str {
        match self {
            EvidenceError::Open { .. } => "cannot open",
            EvidenceError::Read { .. } => "read failed",
            EvidenceError::Unrecognised { .. } => "format not recognised",
            EvidenceError::Empty { .. } => "empty file",
            EvidenceError::Limit { .. } => "decompression limit exceeded",
            EvidenceError::Format { .. } => "not readable as the format",
            EvidenceError::Record { reason, .. } => reason,
        }
    }
}

/// A place in the evidence: a path and, where known, a record id, a chunk or a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The evidence path (archive members as `a.zip!member`).
    pub path: Arc<str>,
    /// The record id (EVTX).
    pub record_id: Option<u64>,
    /// The EVTX chunk number (0-based).
    pub chunk: Option<u64>,
    /// The 1-based line.
    pub line: Option<u64>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path)?;
        if let Some(c) = self.chunk {
            write!(f, " chunk {c}")?;
        }
        if let Some(r) = self.record_id {
            write!(f, " record {r}")?;
        }
        if let Some(l) = self.line {
            write!(f, " line {l}")?;
        }
        Ok(())
    }
}

/// An error in a field-mapping / log-source routing data file.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// The file could not be read.
    #[error("mapping file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's error.
        source: io::Error,
    },
    /// The file is not valid TOML or does not follow the schema.
    #[error("mapping file {name}: {message}")]
    Invalid {
        /// The file (or built-in data name).
        name: String,
        /// What is wrong.
        message: String,
    },
}

/// The error a [`crate::source::LimitedReader`] raises when a decompression limit is hit; it
/// travels inside an `io::Error` through the readers and is recognised when reported.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub(crate) struct LimitExceeded(pub String);

/// Finds a [`LimitExceeded`] inside an I/O error.
pub(crate) fn limit_in(err: &io::Error) -> Option<&LimitExceeded> {
    err.get_ref()
        .and_then(|e| e.downcast_ref::<LimitExceeded>())
}

/// Formats an error with its chain of sources (`a: b: c`), since several libraries keep the
/// useful part of the message in a source.
pub(crate) fn chain(err: &dyn std::error::Error) -> String {
    let mut s = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let m = e.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = e.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_errors_name_file_record_and_reason() {
        let e = EvidenceError::Record {
            location: Location {
                path: "case/a.zip!Security.evtx".into(),
                record_id: Some(42),
                chunk: Some(3),
                line: None,
            },
            reason: "EVTX record unreadable",
            detail: "bad token".into(),
        };
        assert_eq!(
            e.to_string(),
            "case/a.zip!Security.evtx chunk 3 record 42: EVTX record unreadable: bad token"
        );
        assert_eq!(e.reason(), "EVTX record unreadable");
    }

    #[test]
    fn limit_errors_survive_io_wrapping() {
        let io = io::Error::other(LimitExceeded("too big".into()));
        assert_eq!(limit_in(&io).unwrap().0, "too big");
        assert!(limit_in(&io::Error::other("x")).is_none());
    }
}
