//! CSV: one detection per row, fixed columns, the event as compact JSON in
//! the last column (spreadsheets and `xsv` handle that; the field set varies
//! by event, so it cannot be columns).

use std::io::Write;

use crate::detection::Detection;
use crate::error::HuntError;
use crate::output::DetectionSink;
use crate::summary::Summary;

/// The header row.
pub const CSV_HEADER: [&str; 12] = [
    "timestamp",
    "level",
    "rule_title",
    "rule_id",
    "host",
    "attack",
    "source_path",
    "record_id",
    "line",
    "kind",
    "rule_path",
    "event",
];

/// CSV writer.
pub struct CsvWriter<W: Write> {
    out: csv::Writer<W>,
    header: bool,
}

impl<W: Write> CsvWriter<W> {
    /// A writer over `out`; the header is written even if nothing is found.
    pub fn new(out: W) -> Self {
        CsvWriter {
            out: csv::WriterBuilder::new().from_writer(out),
            header: false,
        }
    }

    fn header(&mut self) -> Result<(), HuntError> {
        if !self.header {
            self.out.write_record(CSV_HEADER)?;
            self.header = true;
        }
        Ok(())
    }
}

impl<W: Write> DetectionSink for CsvWriter<W> {
    fn write(&mut self, d: &Detection) -> Result<(), HuntError> {
        self.header()?;
        let opt = |v: Option<u64>| v.map(|x| x.to_string()).unwrap_or_default();
        self.out.write_record([
            d.timestamp.as_deref().unwrap_or(""),
            d.level.map_or("", |l| l.as_str()),
            &d.rule_title,
            d.rule_id.as_deref().unwrap_or(""),
            d.host.as_deref().unwrap_or(""),
            &d.attack.join(";"),
            &d.source.path,
            &opt(d.source.record_id),
            &opt(d.source.line),
            d.kind.as_str(),
            &d.rule_path,
            &serde_json::to_string(&d.event)?,
        ])?;
        Ok(())
    }

    fn finish(&mut self, _summary: &Summary) -> Result<(), HuntError> {
        self.header()?;
        self.out.flush().map_err(HuntError::Output)
    }
}
