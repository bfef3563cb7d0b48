//! Where detections go: a [`DetectionSink`] and the four writers behind
//! `--format`.
//!
//! Writers stream: each detection is written when it is found (correlation
//! alerts at the end), nothing is collected, so `tiaki hunt | head` shows
//! results at once and memory does not grow with the number of hits. The
//! `json` writer streams too, as `{"detections": [...], "summary": {...}}`.

mod csv;
mod json;
mod sorted;
mod table;

pub use self::csv::CsvWriter;
pub use self::json::{JsonWriter, JsonlWriter};
pub use self::sorted::{SortOrder, SortedSink};
pub use self::table::TableWriter;

use std::io::Write;

use crate::detection::Detection;
use crate::error::HuntError;
use crate::summary::Summary;

/// Receives the detections of a hunt.
pub trait DetectionSink {
    /// Writes one detection.
    fn write(&mut self, detection: &Detection) -> Result<(), HuntError>;

    /// Called once after the last detection; writers that embed the summary
    /// (`json`) write it here. Flushes.
    fn finish(&mut self, summary: &Summary) -> Result<(), HuntError>;
}

/// Writes through a mutable reference, so a caller can keep its sink (tests, wrappers).
impl<S: DetectionSink + ?Sized> DetectionSink for &mut S {
    fn write(&mut self, detection: &Detection) -> Result<(), HuntError> {
        (**self).write(detection)
    }

    fn finish(&mut self, summary: &Summary) -> Result<(), HuntError> {
        (**self).finish(summary)
    }
}

/// Collects detections in memory (for tests and small embedding uses).
impl DetectionSink for Vec<Detection> {
    fn write(&mut self, detection: &Detection) -> Result<(), HuntError> {
        self.push(detection.clone());
        Ok(())
    }

    fn finish(&mut self, _summary: &Summary) -> Result<(), HuntError> {
        Ok(())
    }
}

/// The output formats of `tiaki hunt --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Aligned, truncated text for a person.
    Table,
    /// CSV with a header row, one detection per row.
    Csv,
    /// One JSON object per line (the contract format).
    Jsonl,
    /// One JSON document with the detections and the summary.
    Json,
}

impl OutputFormat {
    /// A writer of this format over `out`.
    pub fn writer<'w>(self, out: Box<dyn Write + 'w>) -> Box<dyn DetectionSink + 'w> {
        match self {
            OutputFormat::Table => Box::new(TableWriter::new(out)),
            OutputFormat::Csv => Box::new(CsvWriter::new(out)),
            OutputFormat::Jsonl => Box::new(JsonlWriter::new(out)),
            OutputFormat::Json => Box::new(JsonWriter::new(out)),
        }
    }

    /// True if the summary is part of the output (else it goes to stderr).
    pub fn embeds_summary(self) -> bool {
        self == OutputFormat::Json
    }
}

/// Maps a write error to [`HuntError::Output`].
pub(crate) fn io(e: std::io::Error) -> HuntError {
    HuntError::Output(e)
}
