//! Typed errors of the case store: each names the store file and what went wrong.

use std::path::{Path, PathBuf};

/// What can go wrong with the case store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused an operation.
    #[error("case store {path}: {source}")]
    Sqlite {
        /// The store file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// A schema migration failed; the file is left at the previous migration.
    #[error("case store {path}: migration {migration} failed: {source}")]
    Migration {
        /// The store file.
        path: PathBuf,
        /// The migration's name.
        migration: String,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The file was written by a newer tiaki.
    #[error(
        "case store {path} has migration {migration}, which this build of tiaki does not know: it was written by a newer version"
    )]
    TooNew {
        /// The store file.
        path: PathBuf,
        /// The unknown migration.
        migration: String,
    },
    /// The store's directory could not be created.
    #[error("cannot create {path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A named thing (case, user, collection, detection…) does not exist.
    #[error("no {kind} named '{name}'")]
    NotFound {
        /// What was looked for (`case`, `user`, `collection`).
        kind: &'static str,
        /// The name or id given.
        name: String,
    },
    /// The request is not valid (bad name, unknown role, bad verdict…).
    #[error("{0}")]
    Invalid(String),
    /// A stored JSON value could not be read back or written.
    #[error("case store: JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The operating system's random source failed.
    #[error("random source: {0}")]
    Random(String),
}

impl StoreError {
    pub(crate) fn sqlite(path: &Path, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Result with [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
