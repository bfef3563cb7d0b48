//! CSV with a header row.
//!
//! Why generic: CSV evidence comes from many tools (EDR exports, Velociraptor/KAPE outputs,
//! spreadsheets). The header names the fields; the delimiter (`,` `;` tab `|`) is taken from
//! the header line. Rows with a different number of columns are counted, not guessed at. A
//! CSV of already-flattened Windows events (with `Channel` and `EventID` columns) is routed
//! like any Windows event.

use std::io::{self, BufRead, Read};

use serde_json::{Map, Value};

use crate::ctx::Ctx;
use crate::event::Format;
use crate::windows::put;

pub(crate) fn read(ctx: &mut Ctx<'_>, r: &mut dyn BufRead) -> io::Result<()> {
    let delimiter = {
        let head = r.fill_buf()?;
        let line = head.split(|&c| c == b'\n').next().unwrap_or(head);
        [b',', b';', b'\t', b'|']
            .into_iter()
            .max_by_key(|d| line.iter().filter(|c| *c == d).count())
            .unwrap_or(b',')
    };
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(r as &mut dyn Read);
    let headers: Vec<String> = match rdr.byte_headers() {
        Ok(h) => h
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let n = String::from_utf8_lossy(n).trim().to_string();
                if n.is_empty() {
                    format!("column_{}", i + 1)
                } else {
                    n
                }
            })
            .collect(),
        Err(e) => return Err(csv_io(e)),
    };
    let mut rec = csv::ByteRecord::new();
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                if let csv::ErrorKind::Io(_) = e.kind() {
                    return Err(csv_io(e));
                }
                let line = e.position().map(csv::Position::line);
                ctx.skip_line("malformed CSV", line.unwrap_or(0), e.to_string());
                continue;
            }
        }
        let line = rec.position().map(csv::Position::line);
        if rec.len() == 1 && rec.get(0).is_some_and(<[u8]>::is_empty) {
            continue;
        }
        if rec.len() != headers.len() {
            let detail = format!(
                "expected {} columns (header), found {}",
                headers.len(),
                rec.len()
            );
            ctx.skip_line(
                "CSV row has wrong number of columns",
                line.unwrap_or(0),
                detail,
            );
            continue;
        }
        let mut fields = Map::with_capacity(headers.len());
        for (h, v) in headers.iter().zip(rec.iter()) {
            put(
                &mut fields,
                h.clone(),
                Value::String(String::from_utf8_lossy(v).into_owned()),
            );
        }
        ctx.emit_generic(fields, Format::Csv, line);
    }
    Ok(())
}

fn csv_io(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => io,
        other => io::Error::other(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
    use crate::options::ReadOptions;

    #[test]
    fn header_rows_and_windows_columns() {
        let data = "TimeCreated,Channel,EventID,CommandLine\n\
2024-01-01T00:00:00Z,Security,4688,\"cmd.exe /c \"\"whoami\"\"\"\n\
2024-01-01T00:00:01Z,Security,4624\n\
2024-01-01T00:00:02Z,System,7045,\"multi\nline\"\n";
        let opts = ReadOptions::default();
        let mut events = Vec::new();
        let mut out = |b: Vec<Event>| events.extend(b);
        let mut ctx = Ctx::new(&opts, "x.csv".into(), "x.csv".into(), None, &mut out);
        read(&mut ctx, &mut data.as_bytes()).unwrap();
        let rep = ctx.finish();
        assert_eq!(events.len(), 2, "{rep}");
        assert_eq!(rep.skipped["CSV row has wrong number of columns"], 1);
        assert_eq!(events[0].fields["CommandLine"], "cmd.exe /c \"whoami\"");
        assert_eq!(events[0].fields["EventID"], 4688);
        assert_eq!(
            events[0].logsource.category.as_deref(),
            Some("process_creation")
        );
        assert!(events[0].timestamp.is_some());
        assert_eq!(events[0].origin.line, Some(2));
        assert_eq!(events[1].fields["CommandLine"], "multi\nline");
        assert_eq!(events[1].logsource.service.as_deref(), Some("system"));
    }
}
