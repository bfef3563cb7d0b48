//! `tiaki ingest --follow`: publish lines appended to growing text logs.
//!
//! The sizes are taken before the first read, so a line written while the files are being
//! read is published again when followed; it has the same content and origin, hence the
//! same message id, and the stream keeps one copy. Each poll reads complete new lines only
//! (a line still being written waits for its newline) and parses them with the same reader
//! as the file, given the file's header lines first (W3C `#Fields`, Zeek `#fields`/`#types`,
//! a CSV header row) so the columns are known; line numbers are those in the file. Binary
//! and compressed evidence (EVTX, gzip, zip) is not followed: it is said once.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use tiaki_evidence::{Event, Format, ReadOptions};
use tiaki_stream::Resources;
use tiaki_stream::ingest::{IngestStats, Publisher};

/// A followed file.
struct Followed {
    path: PathBuf,
    format: Format,
    /// Bytes already published.
    offset: u64,
    /// Lines before `offset`.
    lines: u64,
}

/// Files and their sizes before the first read.
pub struct Snapshot(Vec<(PathBuf, u64)>);

impl Snapshot {
    /// Records the size of every file under `paths`.
    pub fn take(paths: &[PathBuf]) -> Snapshot {
        Snapshot(
            crate::integrity::files_under(paths)
                .into_iter()
                .map(|p| {
                    let size = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
                    (p, size)
                })
                .collect(),
        )
    }
}

fn head(path: &Path, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    let got = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut buf))
        .unwrap_or(0);
    buf.truncate(got);
    buf
}

/// The header lines a chunk of `format` needs to be parsed on its own.
fn header_lines(format: Format, path: &Path, upto: u64) -> Vec<u8> {
    let text = head(path, upto.min(1 << 20) as usize);
    let mut out = Vec::new();
    match format {
        Format::W3c | Format::Zeek => {
            for line in text.split_inclusive(|b| *b == b'\n') {
                if line.starts_with(b"#") {
                    out.extend_from_slice(line);
                }
            }
            if !out.ends_with(b"\n") && !out.is_empty() {
                out.push(b'\n');
            }
        }
        Format::Csv => {
            if let Some(first) = text.split_inclusive(|b| *b == b'\n').next() {
                out.extend_from_slice(first);
            }
        }
        _ => {}
    }
    out
}

fn count_lines(path: &Path, upto: u64) -> u64 {
    let Ok(f) = std::fs::File::open(path) else {
        return 0;
    };
    let mut r = std::io::BufReader::new(f.take(upto));
    let mut buf = [0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => return n,
            Ok(k) => n += buf[..k].iter().filter(|b| **b == b'\n').count() as u64,
        }
    }
}

/// Publishes what is appended to the files of `snapshot` until `shutdown`.
pub async fn follow(
    res: Resources,
    snapshot: Snapshot,
    read: &ReadOptions,
    window: usize,
    poll_ms: u64,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<IngestStats> {
    let mut files = Vec::new();
    for (path, size) in snapshot.0 {
        let name = path.display().to_string();
        let lower = name.to_ascii_lowercase();
        let format = read
            .format
            .or_else(|| tiaki_evidence::sniff(&path, &head(&path, 64 * 1024)));
        match format {
            _ if lower.ends_with(".gz") || lower.ends_with(".zip") => {
                eprintln!("tiaki ingest: {name}: compressed, not followed");
            }
            Some(Format::Evtx) | Some(Format::WindowsXml) | None => {
                eprintln!("tiaki ingest: {name}: not a line-based format, not followed");
            }
            Some(format) => files.push(Followed {
                lines: count_lines(&path, size),
                path,
                format,
                offset: size,
            }),
        }
    }
    eprintln!(
        "tiaki ingest: following {} files (Ctrl-C to stop)",
        files.len()
    );
    let mut publisher = Publisher::new(res, window);
    let mut total = 0u64;
    while !*shutdown.borrow() {
        for f in files.iter_mut() {
            let events = read_new(f, read)?;
            if !events.is_empty() {
                total += events.len() as u64;
                publisher.events(&events).await?;
            }
        }
        publisher.flush().await?;
        let mut s = shutdown.clone();
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(poll_ms.max(10))) => {}
            _ = s.changed() => {}
        }
    }
    let run = format!("follow-{}", std::process::id());
    let stats = publisher.finish(&run).await?;
    eprintln!("tiaki ingest: {total} appended events published while following");
    Ok(stats)
}

/// Reads the complete lines appended to `f` since the last call.
fn read_new(f: &mut Followed, read: &ReadOptions) -> Result<Vec<Event>> {
    let size = std::fs::metadata(&f.path).map(|m| m.len()).unwrap_or(0);
    if size < f.offset {
        // Truncated or rotated in place: start again from the top.
        eprintln!(
            "tiaki ingest: {}: truncated, following from its start",
            f.path.display()
        );
        f.offset = 0;
        f.lines = 0;
    }
    if size == f.offset {
        return Ok(Vec::new());
    }
    let mut file = std::fs::File::open(&f.path)?;
    file.seek(SeekFrom::Start(f.offset))?;
    let mut chunk = Vec::new();
    file.take(size - f.offset).read_to_end(&mut chunk)?;
    let Some(last_nl) = chunk.iter().rposition(|b| *b == b'\n') else {
        return Ok(Vec::new());
    };
    chunk.truncate(last_nl + 1);
    let new_lines = chunk.iter().filter(|b| **b == b'\n').count() as u64;
    let header = if f.offset == 0 {
        Vec::new()
    } else {
        header_lines(f.format, &f.path, f.offset)
    };
    let header_count = header.iter().filter(|b| **b == b'\n').count() as u64;
    let mut input = header;
    input.extend_from_slice(&chunk);
    let opts = ReadOptions {
        format: Some(f.format),
        ..read.clone()
    };
    let mut events = Vec::new();
    let name = f.path.display().to_string();
    let report = tiaki_evidence::read_reader(&name, &input[..], &opts, |b| events.extend(b));
    for r in &report.files {
        for e in &r.errors {
            eprintln!("tiaki ingest: {name} (followed): {e}");
        }
    }
    // Line numbers as in the file.
    let shift = f.lines as i64 - header_count as i64;
    for e in &mut events {
        if let Some(l) = e.origin.line {
            e.origin.line = Some((l as i64 + shift).max(1) as u64);
        }
    }
    f.offset += chunk.len() as u64;
    f.lines += new_lines;
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appended_lines_keep_file_line_numbers_and_columns() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("u_ex250303.log");
        let head = "#Software: Microsoft Internet Information Services 10.0\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) sc-status\n";
        let l1 = "2025-03-03 01:00:00 10.0.0.5 GET /owa/ - 443 - 203.0.113.9 curl 200\n";
        std::fs::write(&p, format!("{head}{l1}")).unwrap();
        let mut f = Followed {
            path: p.clone(),
            format: Format::W3c,
            offset: std::fs::metadata(&p).unwrap().len(),
            lines: 3,
        };
        let read = ReadOptions::default();
        assert!(read_new(&mut f, &read).unwrap().is_empty());
        // A line and a half.
        let l2 = "2025-03-03 01:00:01 10.0.0.5 POST /aspnet_client/x.aspx - 443 - 203.0.113.9 curl 200\n";
        let mut fh = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        std::io::Write::write_all(&mut fh, format!("{l2}2025-03-03 01:00").as_bytes()).unwrap();
        let ev = read_new(&mut f, &read).unwrap();
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].origin.line, Some(4));
        assert_eq!(
            ev[0].get("cs-uri-stem").and_then(|v| v.as_str()),
            Some("/aspnet_client/x.aspx")
        );
        std::io::Write::write_all(
            &mut fh,
            b":02 10.0.0.5 GET /b - 443 - 203.0.113.9 curl 404\n",
        )
        .unwrap();
        let ev = read_new(&mut f, &read).unwrap();
        assert_eq!(ev.len(), 1, "the finished line");
        assert_eq!(ev[0].origin.line, Some(5));
        assert_eq!(ev[0].origin.path.as_ref(), p.display().to_string());
    }
}
