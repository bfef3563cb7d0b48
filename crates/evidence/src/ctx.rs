//! The per-file context readers write events and errors into.
//!
//! Why: every reader needs the same things — batch events for the caller, count what it
//! skipped, name the file and record in errors, route events to their log source. Keeping
//! them here keeps the readers about parsing only.

use std::sync::Arc;

use chrono::{DateTime, Datelike, Utc};
use serde_json::{Map, Value};

use crate::error::{EvidenceError, Location, limit_in};
use crate::event::{Event, Format, LogSource, Origin};
use crate::mapping::{Domain, Mappings, RouteCtx};
use crate::options::ReadOptions;
use crate::report::FileReport;

/// Where a reader sends events: batches of at most `ReadOptions::batch_size`.
pub(crate) type Out<'a> = &'a mut dyn FnMut(Vec<Event>);

/// One file (or archive member) being read.
pub(crate) struct Ctx<'a> {
    pub opts: &'a ReadOptions,
    pub maps: Arc<Mappings>,
    /// The path shown in origins and errors.
    pub path: Arc<str>,
    /// The file name, lower-case, without a `.gz` suffix (routing's `@file`).
    pub file_name: String,
    /// The file's modification time, if known (year of yearless syslog times).
    pub mtime: Option<DateTime<Utc>>,
    pub report: FileReport,
    batch: Vec<Event>,
    out: Out<'a>,
}

impl<'a> Ctx<'a> {
    pub fn new(
        opts: &'a ReadOptions,
        path: Arc<str>,
        file_name: String,
        mtime: Option<DateTime<Utc>>,
        out: Out<'a>,
    ) -> Self {
        Ctx {
            opts,
            maps: opts.mappings.clone(),
            report: FileReport::new(path.clone()),
            path,
            file_name,
            mtime,
            batch: Vec::new(),
            out,
        }
    }

    /// The year to assume for yearless timestamps.
    pub fn year_hint(&self) -> i32 {
        self.mtime.unwrap_or_else(Utc::now).year()
    }

    /// Hands an event to the caller (batched), or skips it when a field value is longer
    /// than `max_field_bytes`.
    pub fn emit(&mut self, ev: Event) {
        let max = self.opts.max_field_bytes;
        if let Some((name, len)) = long_field(&ev.fields, max) {
            let loc = self.loc(ev.origin.record_id, None, ev.origin.line);
            self.skip(
                "field too long",
                loc,
                format!("field '{name}' is {len} bytes, more than {max} (max_field_bytes)"),
            );
            return;
        }
        self.report.events += 1;
        if ev.origin.recovered {
            self.report.recovered += 1;
        }
        if self.batch.capacity() == 0 {
            self.batch.reserve_exact(self.opts.batch_size.max(1));
        }
        self.batch.push(ev);
        if self.batch.len() >= self.opts.batch_size.max(1) {
            self.flush();
        }
    }

    /// Sends the events batched so far.
    pub fn flush(&mut self) {
        if !self.batch.is_empty() {
            let b = std::mem::take(&mut self.batch);
            (self.out)(b);
        }
    }

    /// Finishes the file: flushes and returns its report.
    pub fn finish(mut self) -> FileReport {
        self.flush();
        self.report
    }

    /// An origin in this file.
    pub fn origin(&self, record_id: Option<u64>, line: Option<u64>) -> Origin {
        Origin {
            path: self.path.clone(),
            record_id,
            line,
            recovered: false,
        }
    }

    /// A location in this file, for errors.
    pub fn loc(&self, record_id: Option<u64>, chunk: Option<u64>, line: Option<u64>) -> Location {
        Location {
            path: self.path.clone(),
            record_id,
            chunk,
            line,
        }
    }

    /// Counts a record or line that could not be read (reading goes on).
    pub fn skip(&mut self, reason: &'static str, location: Location, detail: impl Into<String>) {
        let err = EvidenceError::Record {
            location,
            reason,
            detail: detail.into(),
        };
        self.report.record_error(err, self.opts.max_errors_kept);
    }

    /// Counts a line that could not be read.
    pub fn skip_line(&mut self, reason: &'static str, line: u64, detail: impl Into<String>) {
        let loc = self.loc(None, None, Some(line));
        self.skip(reason, loc, detail);
    }

    /// Records an error that stops this file.
    pub fn fail(&mut self, err: EvidenceError) {
        self.report.fail(err, self.opts.max_errors_kept);
    }

    /// Records an I/O error that stops this file, telling a decompression limit apart.
    pub fn fail_io(&mut self, err: std::io::Error) {
        let e = match limit_in(&err) {
            Some(l) => EvidenceError::Limit {
                path: self.path.clone(),
                detail: l.0.clone(),
            },
            None => EvidenceError::Read {
                path: self.path.clone(),
                source: err,
            },
        };
        self.fail(e);
    }

    /// Routes an event's fields.
    pub fn route(
        &self,
        domain: Domain,
        fields: &mut Map<String, Value>,
        path: Option<&str>,
    ) -> LogSource {
        self.maps.route(
            domain,
            fields,
            &RouteCtx {
                file: &self.file_name,
                path,
            },
        )
    }

    /// What building events needs, shareable with worker threads.
    pub fn env(&self) -> Env {
        Env {
            maps: self.maps.clone(),
            path: self.path.clone(),
            file_name: self.file_name.as_str().into(),
            max_json_depth: self.opts.max_json_depth,
        }
    }

    /// Builds and emits a Windows event (see [`Env::windows`]).
    pub fn emit_windows(
        &mut self,
        fields: Map<String, Value>,
        format: Format,
        line: Option<u64>,
        record_id: Option<u64>,
        text_ints: bool,
    ) {
        let ev = self
            .env()
            .windows(fields, format, line, record_id, text_ints);
        self.emit(ev);
    }

    /// Builds and emits a generic JSON/CSV event (see [`Env::generic`]).
    pub fn emit_generic(&mut self, fields: Map<String, Value>, format: Format, line: Option<u64>) {
        let ev = self.env().generic(fields, format, line);
        self.emit(ev);
    }

    /// Emits an event or counts a skip, as a parser running elsewhere decided.
    pub fn apply(&mut self, o: Outcome) {
        match o {
            Outcome::Event(ev) => self.emit(ev),
            Outcome::Skip {
                reason,
                line,
                record_id,
                detail,
            } => {
                let loc = self.loc(record_id, None, line);
                self.skip(reason, loc, detail);
            }
        }
    }
}

/// What a parser made of one record: an event, or a reason to skip it.
pub(crate) enum Outcome {
    Event(Event),
    Skip {
        reason: &'static str,
        line: Option<u64>,
        record_id: Option<u64>,
        detail: String,
    },
}

/// Everything needed to build events of one file, cheap to clone and share with the threads
/// that parse records in parallel.
#[derive(Clone)]
pub(crate) struct Env {
    pub maps: Arc<Mappings>,
    pub path: Arc<str>,
    pub file_name: Arc<str>,
    /// `ReadOptions::max_json_depth`.
    pub max_json_depth: usize,
}

impl Env {
    fn origin(&self, record_id: Option<u64>, line: Option<u64>) -> Origin {
        Origin {
            path: self.path.clone(),
            record_id,
            line,
            recovered: false,
        }
    }

    /// A Windows event from flattened fields: converts text integers when `text_ints`,
    /// routes, finds the time and the record id (`record_id` if given, else the
    /// `EventRecordID` field).
    pub fn windows(
        &self,
        mut fields: Map<String, Value>,
        format: Format,
        line: Option<u64>,
        record_id: Option<u64>,
        text_ints: bool,
    ) -> Event {
        if text_ints {
            crate::windows::integer_fields(&mut fields, &self.maps.windows_integer_fields);
        }
        let logsource = self.maps.route(
            Domain::Windows,
            &mut fields,
            &RouteCtx {
                file: &self.file_name,
                path: None,
            },
        );
        let timestamp = fields
            .get("TimeCreated_SystemTime")
            .and_then(crate::time::from_value)
            .or_else(|| find_time(&fields, &self.maps.timestamp_keys));
        let record_id = record_id.or_else(|| fields.get("EventRecordID").and_then(Value::as_u64));
        Event {
            origin: self.origin(record_id, line),
            timestamp,
            format,
            logsource,
            fields,
        }
    }

    /// A generic JSON/CSV event: Windows-routed if it has `Channel` and `EventID` (an
    /// already-flattened Windows event), else routed as `json`.
    pub fn generic(
        &self,
        mut fields: Map<String, Value>,
        format: Format,
        line: Option<u64>,
    ) -> Event {
        if fields.contains_key("Channel") && fields.contains_key("EventID") {
            let format = if format == Format::Csv {
                Format::Csv
            } else {
                Format::Json
            };
            return self.windows(fields, format, line, None, true);
        }
        let logsource = self.maps.route(
            Domain::Json,
            &mut fields,
            &RouteCtx {
                file: &self.file_name,
                path: None,
            },
        );
        let timestamp = find_time(&fields, &self.maps.timestamp_keys);
        Event {
            origin: self.origin(None, line),
            timestamp,
            format,
            logsource,
            fields,
        }
    }

    /// A Zeek event; `path` is the Zeek log path (`dns`, `conn`…).
    pub fn zeek(
        &self,
        mut fields: Map<String, Value>,
        path: Option<&str>,
        line: Option<u64>,
    ) -> Event {
        let timestamp = fields.get("ts").and_then(crate::time::from_value);
        let logsource = self.maps.route(
            Domain::Zeek,
            &mut fields,
            &RouteCtx {
                file: &self.file_name,
                path,
            },
        );
        Event {
            origin: self.origin(None, line),
            timestamp,
            format: Format::Zeek,
            logsource,
            fields,
        }
    }
}

/// The first field (a dotted path for nested ones) whose text is longer than `max` bytes.
fn long_field(fields: &Map<String, Value>, max: usize) -> Option<(String, usize)> {
    fn walk(v: &Value, max: usize) -> Option<(String, usize)> {
        match v {
            Value::String(s) if s.len() > max => Some((String::new(), s.len())),
            Value::Array(items) => items.iter().find_map(|i| walk(i, max)),
            Value::Object(m) => long_field(m, max),
            _ => None,
        }
    }
    fields.iter().find_map(|(k, v)| {
        walk(v, max).map(|(inner, n)| {
            if inner.is_empty() {
                (k.clone(), n)
            } else {
                (format!("{k}.{inner}"), n)
            }
        })
    })
}

/// The first of `keys` that holds a parseable time.
pub(crate) fn find_time(fields: &Map<String, Value>, keys: &[String]) -> Option<DateTime<Utc>> {
    keys.iter()
        .filter_map(|k| crate::event::lookup(fields, k))
        .find_map(crate::time::from_value)
}
