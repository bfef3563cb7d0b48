//! Typed errors of the knowledge base and the evaluation harness.

use std::path::PathBuf;

/// Everything that can go wrong while loading intelligence or running an evaluation.
#[derive(Debug, thiserror::Error)]
pub enum IntelError {
    /// A file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A file is not valid JSON.
    #[error("{path}: not valid JSON: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's reason, with line and column.
        source: serde_json::Error,
    },
    /// A STIX object lacks something every object must have (`type`, `id`) or is not an object.
    #[error("STIX object {id}: {reason}")]
    BadObject {
        /// The object's `id`, or `#N` (its position) when it has none.
        id: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A document has the wrong shape (a bundle without `objects`, a galaxy without `values`…).
    #[error("{what}: {reason}")]
    BadDocument {
        /// Which document.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An evaluation was asked for something the knowledge base cannot give (no groups, no
    /// attributed campaigns, a scorer that returned the wrong number of scores…).
    #[error("evaluation: {0}")]
    Eval(String),
}

/// Shorthand for results of this crate.
pub type Result<T, E = IntelError> = std::result::Result<T, E>;
