//! The evidence readers: bytes read as a stream with [`read_reader`], the format forced as
//! `--input-format` forces it (or recognised from the content, for [`evidence_any`]).
//!
//! Why the events are also serialised and swept for observables: that is what `tiaki dump`
//! and the indicator sweep do with every event a reader produces, and they are where odd
//! field values (huge numbers, nested arrays, control characters) end up.

use std::sync::OnceLock;

use tiaki_evidence::{
    ArchiveLimits, Event, EvidenceError, Format, ReadOptions, ReadReport, read_reader,
};
use tiaki_indicators::extract::{Extracted, Extractor};

use crate::MAX_INPUT;

/// The built-in observable field map, built once.
pub(crate) fn extractor() -> &'static Extractor {
    static X: OnceLock<Extractor> = OnceLock::new();
    X.get_or_init(Extractor::default)
}

/// Options for one fuzz read: one thread, and decompression limits small enough that a
/// bomb is stopped in milliseconds (the defaults allow gigabytes, the real bound of a case).
fn options(format: Option<Format>) -> ReadOptions {
    ReadOptions {
        format,
        threads: 1,
        limits: ArchiveLimits {
            max_member_bytes: 16 << 20,
            max_total_bytes: 32 << 20,
            ratio_grace_bytes: 1 << 20,
            ..ArchiveLimits::default()
        },
        ..ReadOptions::default()
    }
}

/// Reads `data` as the stream `name` and consumes every event as the pipeline would.
/// Panics when a reader failed with an internal error (a panic it caught).
fn read(data: &[u8], name: &str, format: Option<Format>) {
    if data.len() > MAX_INPUT {
        return;
    }
    let opts = options(format);
    let x = extractor();
    let mut found = Extracted::default();
    let report = read_reader(name, data, &opts, |batch: Vec<Event>| {
        for e in &batch {
            let _ = serde_json::to_vec(e);
            x.extract(e, &mut found);
            let _ = x.stix_objects(e);
            let _ = e.origin.to_string();
        }
    });
    if crate::verbose() {
        eprintln!("{name}: {report}");
    }
    check(&report);
}

/// Turns the failures the readers hide from the caller (a caught panic) back into a panic.
/// Matched on the error's structure, not its text: error messages quote the evidence, and
/// the fuzzer soon learns to write "(internal error)" into it.
fn check(report: &ReadReport) {
    for f in &report.files {
        if f.skipped.contains_key("internal error") {
            panic!("a reader failed internally on {}: {f}", f.path);
        }
        for e in &f.errors {
            if let EvidenceError::Read { source, .. } = e
                && source.kind() == std::io::ErrorKind::Other
                && source
                    .to_string()
                    .starts_with("reader failed (internal error)")
            {
                panic!("a reader failed internally: {e}");
            }
        }
    }
}

/// A Windows EVTX file (binary XML, chunks, carving of cleared records), as read from disk or
/// from a stream.
pub fn evtx(data: &[u8]) {
    read(data, "fuzz.evtx", Some(Format::Evtx));
}

/// JSON events: `evtx_dump` JSON, Winlogbeat/ECS, any other JSON object or JSON Lines (the
/// reader tells the shapes apart itself).
pub fn json_events(data: &[u8]) {
    read(data, "fuzz.jsonl", Some(Format::Json));
}

/// A Windows XML event export (`<Events><Event xmlns=…>`).
pub fn windows_xml(data: &[u8]) {
    read(data, "fuzz.xml", Some(Format::WindowsXml));
}

/// An IIS / W3C extended log (`#Fields:` headers that may change mid-file).
pub fn w3c(data: &[u8]) {
    read(data, "u_ex210315.log", Some(Format::W3c));
}

/// An Apache / Nginx access log, combined or common format.
pub fn apache_combined(data: &[u8]) {
    read(data, "access.log", Some(Format::Apache));
}

/// Syslog, RFC 3164 or RFC 5424 (auth.log and the like).
pub fn syslog(data: &[u8]) {
    read(data, "auth.log", Some(Format::Syslog));
}

/// Zeek logs: TSV with `#fields`/`#types` headers, or Zeek JSON.
pub fn zeek(data: &[u8]) {
    read(data, "conn.log", Some(Format::Zeek));
}

/// CSV with a header row.
pub fn csv(data: &[u8]) {
    read(data, "export.csv", Some(Format::Csv));
}

/// Any evidence, its format recognised from the content as `tiaki hunt` does without
/// `--input-format`: `.gz` and `.zip` (nested, with decompression limits) included.
pub fn evidence_any(data: &[u8]) {
    read(data, "evidence", None);
}
