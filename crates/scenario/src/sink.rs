//! Collecting records in memory, then writing every file sorted by time.
//!
//! Why collect first: the storyline and the background are generated independently and
//! interleave in time, while every real log is written in time order with record ids that
//! grow with time. So generators push records with a timestamp (and, for ground truth, the
//! step or decoy they belong to); [`Sink::finish`] sorts each file by time (ties keep push
//! order), numbers Windows records, renders lines, and reports where each tagged record
//! ended up (record id or line number), which becomes the evidence list of `truth.json`.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};

use crate::Error;
use crate::rng::{Rng, fnv1a};
use crate::truth::EvidenceRef;
use crate::winlog::Channel;

/// Index of a truth entry (step or decoy) plus one; 0 means "not part of the truth".
pub(crate) type Tag = u32;

/// No truth entry.
pub(crate) const NONE: Tag = 0;

/// The format of a file, which decides how it is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// evtx_dump-style JSON Lines of one Windows channel.
    Win(Channel),
    /// IIS W3C extended log.
    W3c,
    /// Zeek TSV log of the given path (`conn`, `http`, `dns`).
    Zeek(&'static str),
    /// Syslog lines (rsyslog file format, RFC 3339 times).
    Syslog,
    /// Apache/Tomcat combined access log.
    Apache,
    /// A file written as it is (web shells, pages).
    Raw,
}

impl Kind {
    /// The name used in the manifest.
    pub(crate) fn format_name(self) -> &'static str {
        match self {
            Kind::Win(_) => "evtx-json",
            Kind::W3c => "w3c",
            Kind::Zeek(_) => "zeek",
            Kind::Syslog => "syslog",
            Kind::Apache => "apache",
            Kind::Raw => "file",
        }
    }
}

/// A Windows record before numbering.
#[derive(Debug, Clone)]
pub(crate) struct WinRec {
    pub id: u32,
    /// Provider name and GUID, when not the channel's default (System channel).
    pub provider: Option<(&'static str, &'static str)>,
    /// `EventData` name/value pairs, in order.
    pub data: Vec<(&'static str, String)>,
    /// Put the data under `UserData/<name>` instead of `EventData`.
    pub userdata: Option<&'static str>,
    /// `Security/UserID` of the System element.
    pub sid: Option<String>,
}

#[derive(Debug, Clone)]
enum Body {
    Win(Box<WinRec>),
    Text(String),
}

#[derive(Debug, Clone)]
struct Rec {
    t: DateTime<Utc>,
    seq: u64,
    body: Body,
    tag: Tag,
}

#[derive(Debug)]
struct FileBuf {
    kind: Kind,
    host: String,
    recs: Vec<Rec>,
    raw: Vec<u8>,
    raw_tag: Tag,
    raw_time: Option<DateTime<Utc>>,
}

/// Everything generated so far, by output path.
#[derive(Debug, Default)]
pub(crate) struct Sink {
    files: BTreeMap<String, FileBuf>,
    seq: u64,
}

/// What [`Sink::finish`] wrote for one file.
#[derive(Debug, Clone)]
pub(crate) struct Written {
    pub path: String,
    pub host: String,
    pub format: &'static str,
    pub events: u64,
    pub bytes: u64,
}

/// Where each truth tag's records ended up, and their time span.
#[derive(Debug, Default)]
pub(crate) struct Placed {
    pub evidence: BTreeMap<Tag, Vec<EvidenceRef>>,
    pub span: BTreeMap<Tag, (DateTime<Utc>, DateTime<Utc>)>,
}

impl Placed {
    fn add(&mut self, tag: Tag, ev: EvidenceRef, t: Option<DateTime<Utc>>) {
        if tag == NONE {
            return;
        }
        self.evidence.entry(tag).or_default().push(ev);
        if let Some(t) = t {
            let e = self.span.entry(tag).or_insert((t, t));
            e.0 = e.0.min(t);
            e.1 = e.1.max(t);
        }
    }
}

impl Sink {
    /// A fresh number for ids of records (Zeek uids), deterministic in push order.
    pub(crate) fn next_id(&mut self) -> u64 {
        self.seq += 1;
        self.seq.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    fn buf(&mut self, path: &str, kind: Kind, host: &str) -> &mut FileBuf {
        self.files
            .entry(path.to_string())
            .or_insert_with(|| FileBuf {
                kind,
                host: host.to_string(),
                recs: Vec::new(),
                raw: Vec::new(),
                raw_tag: NONE,
                raw_time: None,
            })
    }

    /// Adds a Windows record to `hosts/<host>/<channel file>`.
    pub(crate) fn win(&mut self, host: &str, ch: Channel, t: DateTime<Utc>, rec: WinRec, tag: Tag) {
        let path = format!("hosts/{host}/{}", ch.file());
        self.seq += 1;
        let seq = self.seq;
        self.buf(&path, Kind::Win(ch), host).recs.push(Rec {
            t,
            seq,
            body: Body::Win(Box::new(rec)),
            tag,
        });
    }

    /// Adds a text line to a file of the given kind.
    pub(crate) fn line(
        &mut self,
        path: String,
        kind: Kind,
        host: &str,
        t: DateTime<Utc>,
        text: String,
        tag: Tag,
    ) {
        self.seq += 1;
        let seq = self.seq;
        self.buf(&path, kind, host).recs.push(Rec {
            t,
            seq,
            body: Body::Text(text),
            tag,
        });
    }

    /// Adds a file written as it is (a web shell, a page), created at `t`.
    pub(crate) fn raw(
        &mut self,
        path: String,
        host: &str,
        t: DateTime<Utc>,
        bytes: &[u8],
        tag: Tag,
    ) {
        let b = self.buf(&path, Kind::Raw, host);
        b.raw = bytes.to_vec();
        b.raw_tag = tag;
        b.raw_time = Some(t);
    }

    /// Sorts, numbers, renders and writes every file under `out`; returns what was written
    /// and where the tagged records are. `gzip`: write Windows JSON Lines as `.jsonl.gz`.
    pub(crate) fn finish(
        self,
        out: &Path,
        seed: u64,
        gzip: bool,
    ) -> Result<(Vec<Written>, Placed), Error> {
        let mut written = Vec::new();
        let mut placed = Placed::default();
        for (path, mut buf) in self.files {
            buf.recs
                .sort_by(|a, b| a.t.cmp(&b.t).then(a.seq.cmp(&b.seq)));
            let mut text = Vec::with_capacity(buf.recs.len() * 256);
            let mut events = 0u64;
            let mut rel = path.clone();
            match buf.kind {
                Kind::Raw => {
                    text = std::mem::take(&mut buf.raw);
                    placed.add(
                        buf.raw_tag,
                        EvidenceRef {
                            path: rel.clone(),
                            record_id: None,
                            line: None,
                        },
                        buf.raw_time,
                    );
                }
                Kind::Win(ch) => {
                    if gzip {
                        rel.push_str(".gz");
                    }
                    let mut r = Rng::new(seed ^ fnv1a(&path));
                    let mut id = 1000 + r.below(40_000);
                    let computer = crate::winlog::fqdn(&buf.host);
                    for rec in &buf.recs {
                        id += 1;
                        if let Body::Win(w) = &rec.body {
                            crate::winlog::render(&mut text, ch, &computer, rec.t, id, w);
                        }
                        events += 1;
                        placed.add(
                            rec.tag,
                            EvidenceRef {
                                path: rel.clone(),
                                record_id: Some(id),
                                line: None,
                            },
                            Some(rec.t),
                        );
                    }
                }
                Kind::W3c | Kind::Zeek(_) | Kind::Syslog | Kind::Apache => {
                    let first = buf.recs.first().map(|r| r.t);
                    let last = buf.recs.last().map(|r| r.t);
                    let header = header(buf.kind, first, &path);
                    let mut line_no = header.lines().count() as u64;
                    text.extend_from_slice(header.as_bytes());
                    for rec in &buf.recs {
                        if let Body::Text(s) = &rec.body {
                            text.extend_from_slice(s.as_bytes());
                            text.push(b'\n');
                        }
                        line_no += 1;
                        events += 1;
                        placed.add(
                            rec.tag,
                            EvidenceRef {
                                path: rel.clone(),
                                record_id: None,
                                line: Some(line_no),
                            },
                            Some(rec.t),
                        );
                    }
                    if let (Kind::Zeek(_), Some(last)) = (buf.kind, last) {
                        text.extend_from_slice(
                            format!("#close\t{}\n", last.format("%Y-%m-%d-%H-%M-%S")).as_bytes(),
                        );
                    }
                }
            }
            let full = out.join(&rel);
            if let Some(dir) = full.parent() {
                fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            }
            let bytes = if rel.ends_with(".gz") {
                let f = fs::File::create(&full).map_err(|e| Error::io(&full, e))?;
                let mut enc = flate2::GzBuilder::new()
                    .mtime(0)
                    .write(f, flate2::Compression::best());
                enc.write_all(&text).map_err(|e| Error::io(&full, e))?;
                enc.finish().map_err(|e| Error::io(&full, e))?;
                fs::metadata(&full).map_err(|e| Error::io(&full, e))?.len()
            } else {
                fs::write(&full, &text).map_err(|e| Error::io(&full, e))?;
                text.len() as u64
            };
            // Files carry their last record's time as modification time, as a collected log does.
            if let Some(last) = buf.recs.last().map(|r| r.t).or(buf.raw_time) {
                let secs = last.timestamp().max(0) as u64;
                if let Ok(f) = fs::File::options().write(true).open(&full) {
                    let _ = f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
                }
            }
            written.push(Written {
                path: rel,
                host: buf.host.clone(),
                format: buf.kind.format_name(),
                events,
                bytes,
            });
        }
        for v in placed.evidence.values_mut() {
            v.sort();
        }
        Ok((written, placed))
    }
}

/// The header lines of a text format (empty for formats without one).
fn header(kind: Kind, first: Option<DateTime<Utc>>, path: &str) -> String {
    let first = first.unwrap_or_default();
    match kind {
        Kind::W3c => format!(
            "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Date: {}\n#Fields: {}\n",
            first.format("%Y-%m-%d %H:%M:%S"),
            crate::w3c::FIELDS
        ),
        Kind::Zeek(p) => {
            let (fields, types) = crate::zeek::columns(p);
            format!(
                "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t{p}\n#open\t{}\n#fields\t{fields}\n#types\t{types}\n",
                first.format("%Y-%m-%d-%H-%M-%S")
            )
        }
        _ => {
            let _ = path;
            String::new()
        }
    }
}
