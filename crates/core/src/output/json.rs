//! JSON Lines (the contract) and one JSON document.

use std::io::Write;

use crate::detection::Detection;
use crate::error::HuntError;
use crate::output::{DetectionSink, io};
use crate::summary::Summary;

/// One detection per line.
pub struct JsonlWriter<W: Write> {
    out: W,
}

impl<W: Write> JsonlWriter<W> {
    /// A writer over `out` (buffered internally only as much as `out` is).
    pub fn new(out: W) -> Self {
        JsonlWriter { out }
    }
}

impl<W: Write> DetectionSink for JsonlWriter<W> {
    fn write(&mut self, d: &Detection) -> Result<(), HuntError> {
        serde_json::to_writer(&mut self.out, d)?;
        self.out.write_all(b"\n").map_err(io)
    }

    fn finish(&mut self, _summary: &Summary) -> Result<(), HuntError> {
        self.out.flush().map_err(io)
    }
}

/// `{"detections": [...], "summary": {...}}`, written as it goes.
pub struct JsonWriter<W: Write> {
    out: W,
    count: u64,
}

impl<W: Write> JsonWriter<W> {
    /// A writer over `out`.
    pub fn new(out: W) -> Self {
        JsonWriter { out, count: 0 }
    }
}

impl<W: Write> DetectionSink for JsonWriter<W> {
    fn write(&mut self, d: &Detection) -> Result<(), HuntError> {
        let sep: &[u8] = if self.count == 0 {
            b"{\"detections\": [\n  "
        } else {
            b",\n  "
        };
        self.out.write_all(sep).map_err(io)?;
        serde_json::to_writer(&mut self.out, d)?;
        self.count += 1;
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> Result<(), HuntError> {
        let head: &[u8] = if self.count == 0 {
            b"{\"detections\": [],\n\"summary\": "
        } else {
            b"\n],\n\"summary\": "
        };
        self.out.write_all(head).map_err(io)?;
        serde_json::to_writer_pretty(&mut self.out, summary)?;
        self.out.write_all(b"}\n").map_err(io)?;
        self.out.flush().map_err(io)
    }
}
