//! Errors of the distributed mode: they name the NATS operation that failed.

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A NATS or JetStream call failed.
    #[error("NATS: {what}: {source}")]
    Nats {
        /// The operation, in words.
        what: String,
        /// The client's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Something on the wire is not what tiaki publishes.
    #[error("{0}")]
    Protocol(String),
    /// The hunt failed (writing detections).
    #[error(transparent)]
    Hunt(#[from] tiaki::HuntError),
    /// A local file could not be read or written.
    #[error("{what}: {source}")]
    Io {
        /// The file and the operation.
        what: String,
        /// The error.
        source: std::io::Error,
    },
    /// Anything else (loading a rule pack).
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl Error {
    /// A NATS error with what was being done.
    pub fn nats(what: &str, e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
        Error::Nats {
            what: what.to_string(),
            source: e.into(),
        }
    }
}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;
