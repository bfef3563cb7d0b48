//! The errors a hunt can end with. Damaged evidence is not among them: it is
//! skipped, counted and reported in the [`crate::Summary`]; what stops a run
//! is not being able to write the results (or the temporary files a sort
//! spills to).

use std::path::PathBuf;

/// Why a hunt, dump or timeline stopped.
#[derive(Debug, thiserror::Error)]
pub enum HuntError {
    /// Writing the results failed (a closed pipe, a full disk...).
    #[error("cannot write output: {0}")]
    Output(#[source] std::io::Error),
    /// A temporary file of the external sort could not be created, written
    /// or read back.
    #[error("temporary sort file in {dir}: {source}")]
    Spill {
        /// The directory the sort spills to.
        dir: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// A record could not be encoded for the output (a bug, not bad data).
    #[error("cannot encode a record: {0}")]
    Encode(String),
}

impl From<csv::Error> for HuntError {
    fn from(e: csv::Error) -> Self {
        match e.into_kind() {
            csv::ErrorKind::Io(io) => HuntError::Output(io),
            other => HuntError::Encode(format!("{other:?}")),
        }
    }
}

impl From<serde_json::Error> for HuntError {
    fn from(e: serde_json::Error) -> Self {
        if e.is_io() {
            HuntError::Output(e.into())
        } else {
            HuntError::Encode(e.to_string())
        }
    }
}

impl HuntError {
    /// True if the output was closed by its reader (`tiaki hunt ... | head`),
    /// which a command-line tool treats as a normal end.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, HuntError::Output(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }
}
