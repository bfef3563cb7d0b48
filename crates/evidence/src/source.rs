//! Opening evidence: files read-only, directories walked, `.gz` and `.zip` read in place,
//! formats recognised, each stream handed to its reader.
//!
//! Why here and not in the readers: evidence must never be modified, archives must never be
//! unpacked to disk beside it, and a decompression bomb must not take the machine down. Doing
//! all opening in one place makes those guarantees easy to check: files are opened with
//! read-only options (and `O_NOATIME` where the OS allows, so reading does not even touch
//! access times), archive members are decompressed as streams through a [`LimitedReader`]
//! that counts every byte against [`ArchiveLimits`], and nothing is ever written.

use std::cell::Cell;
use std::fs::{File, Metadata};
use std::io::{self, BufRead, BufReader, Cursor, Read, Seek};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::ctx::{Ctx, Out};
use crate::error::{EvidenceError, LimitExceeded};
use crate::event::Format;
use crate::options::{ArchiveLimits, ReadOptions};
use crate::readers;
use crate::report::FileReport;
use crate::sniff::{self, Container, Utf16};

/// Bytes looked at to recognise a format.
const HEAD: usize = 8192;
/// Read buffer for text formats.
const BUF: usize = 256 * 1024;

/// One unit of work for a reader thread: a file to read, or an error found while walking.
pub(crate) enum Job {
    File { path: PathBuf, display: Arc<str> },
    Error(FileReport),
}

/// Expands `path` into jobs: a file, or every regular file under a directory (recursively,
/// in name order). Symbolic links to directories are not followed (no loops); links to
/// files outside the directory `path` (after resolving every link) are reported and not
/// read unless `follow_outside` (`ReadOptions::follow_links_outside_root`); other special
/// files (FIFOs, devices) are reported, not read, since reading them could block forever.
pub(crate) fn walk(path: &Path, jobs: &mut Vec<Job>, follow_outside: bool) {
    let display: Arc<str> = path.to_string_lossy().into();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            jobs.push(Job::Error(failed(EvidenceError::Open {
                path: display,
                source: e,
            })));
            return;
        }
    };
    if meta.is_file() {
        jobs.push(Job::File {
            path: path.to_path_buf(),
            display,
        });
    } else if meta.is_dir() {
        // The root links are judged against; `None` (cannot resolve it) refuses every link.
        let root = if follow_outside {
            None
        } else {
            Some(std::fs::canonicalize(path).ok())
        };
        walk_dir(path, jobs, root.as_ref().map(Option::as_deref));
    } else {
        jobs.push(Job::Error(failed(EvidenceError::Open {
            path: display,
            source: io::Error::other("not a regular file or directory"),
        })));
    }
}

/// `root`: `Some` when links must stay inside the walked directory (its resolved path, if it
/// could be resolved); `None` when links to files are followed wherever they point.
fn walk_dir(dir: &Path, jobs: &mut Vec<Job>, root: Option<Option<&Path>>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => {
            jobs.push(Job::Error(failed(EvidenceError::Open {
                path: dir.to_string_lossy().into(),
                source: e,
            })));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = Vec::new();
    for e in entries {
        match e {
            Ok(e) => paths.push(e.path()),
            Err(e) => jobs.push(Job::Error(failed(EvidenceError::Open {
                path: dir.to_string_lossy().into(),
                source: e,
            }))),
        }
    }
    paths.sort();
    for p in paths {
        let display: Arc<str> = p.to_string_lossy().into();
        let lmeta = match std::fs::symlink_metadata(&p) {
            Ok(m) => m,
            Err(e) => {
                jobs.push(Job::Error(failed(EvidenceError::Open {
                    path: display,
                    source: e,
                })));
                continue;
            }
        };
        if lmeta.is_dir() {
            walk_dir(&p, jobs, root);
        } else if lmeta.is_file() {
            jobs.push(Job::File { path: p, display });
        } else if lmeta.file_type().is_symlink() {
            match std::fs::metadata(&p) {
                Ok(m) if m.is_file() => match outside(&p, root) {
                    Some(target) => jobs.push(Job::Error(failed(EvidenceError::Open {
                        path: display,
                        source: io::Error::other(format!(
                            "symbolic link to {target}, outside the evidence directory, \
                             not followed (limit follow_links_outside_root)"
                        )),
                    }))),
                    None => jobs.push(Job::File { path: p, display }),
                },
                Ok(m) if m.is_dir() => jobs.push(Job::Error(failed(EvidenceError::Open {
                    path: display,
                    source: io::Error::other("symbolic link to a directory, not followed"),
                }))),
                Ok(_) => jobs.push(Job::Error(failed(EvidenceError::Open {
                    path: display,
                    source: io::Error::other("not a regular file"),
                }))),
                Err(e) => jobs.push(Job::Error(failed(EvidenceError::Open {
                    path: display,
                    source: e,
                }))),
            }
        } else {
            jobs.push(Job::Error(failed(EvidenceError::Open {
                path: display,
                source: io::Error::other("not a regular file"),
            })));
        }
    }
}

/// The target of link `p`, shown safely, when it resolves outside `root` (see [`walk_dir`]).
fn outside(p: &Path, root: Option<Option<&Path>>) -> Option<String> {
    let root = root?;
    let target = std::fs::canonicalize(p).ok();
    match (root, &target) {
        (Some(r), Some(t)) if t.starts_with(r) => None,
        _ => Some(match target {
            Some(t) => safe_name(&t.to_string_lossy()),
            None => "an unresolvable target".into(),
        }),
    }
}

/// A name from the evidence (a link target, an archive member) fit to print: control
/// characters (newlines, terminal escapes) are escaped, so a hostile name cannot forge
/// report lines or rewrite the terminal. Member names are only ever shown, never used as a
/// path to write to, so `..` and absolute names are harmless and kept as they are.
pub(crate) fn safe_name(name: &str) -> String {
    if !name.chars().any(char::is_control) {
        return name.to_string();
    }
    name.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn failed(err: EvidenceError) -> FileReport {
    let path = match &err {
        EvidenceError::Open { path, .. } => path.clone(),
        _ => Arc::from(""),
    };
    let mut r = FileReport::new(path);
    r.fail(err, 1);
    r
}

/// Opens a file for reading only. On Linux `O_NOATIME` is asked for first (it needs the
/// file's owner or CAP_FOWNER, so it falls back to a plain read-only open).
pub(crate) fn open_read_only(path: &Path) -> io::Result<File> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NOATIME on every Linux architecture Rust supports except alpha, sparc, parisc.
        #[cfg(any(
            target_arch = "x86_64",
            target_arch = "x86",
            target_arch = "aarch64",
            target_arch = "arm",
            target_arch = "riscv64",
            target_arch = "loongarch64",
            target_arch = "s390x",
            target_arch = "powerpc64"
        ))]
        {
            const O_NOATIME: i32 = 0o1_000_000;
            if let Ok(f) = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(O_NOATIME)
                .open(path)
            {
                return Ok(f);
            }
        }
    }
    std::fs::OpenOptions::new().read(true).open(path)
}

/// Reads one top-level evidence file; returns one report per file or archive member.
pub(crate) fn read_file(
    path: &Path,
    display: Arc<str>,
    opts: &ReadOptions,
    out: Out<'_>,
) -> Vec<FileReport> {
    let mut reports = Vec::new();
    let mut file = match open_read_only(path) {
        Ok(f) => f,
        Err(e) => {
            reports.push(failed(EvidenceError::Open {
                path: display,
                source: e,
            }));
            return reports;
        }
    };
    let meta = file.metadata().ok();
    let mtime = meta.as_ref().and_then(mtime_of);
    let len = meta.as_ref().map(Metadata::len).unwrap_or(0);
    let mut head = Vec::with_capacity(HEAD);
    if let Err(e) = (&mut file).take(HEAD as u64).read_to_end(&mut head) {
        reports.push(failed_read(display, e));
        return reports;
    }
    let name = file_name_of(&display);
    if head.is_empty() {
        reports.push(empty(display));
        return reports;
    }
    let budget = Budget::new(opts.limits);
    let mut src = Source {
        opts,
        out,
        reports: &mut reports,
        budget: &budget,
    };
    match sniff::container(&head) {
        Some(Container::Gzip) => {
            let rest = Cursor::new(head).chain(file);
            src.container_stream(display, &name, mtime, rest, 1);
        }
        Some(Container::Zip) => match file.rewind() {
            Ok(()) => src.zip(display, file, 1),
            Err(e) => src.reports.push(failed_read(display, e)),
        },
        None => {
            let format = opts
                .format
                .or_else(|| sniff::sniff(Path::new(&*display), &head));
            if format == Some(Format::Evtx) {
                let mut ctx = Ctx::new(opts, display, name, mtime, &mut *src.out);
                readers::evtx::read_file(&mut ctx, file, len);
                src.reports.push(ctx.finish());
            } else {
                let stream = Cursor::new(head).chain(file);
                src.leaf_text(format, display, name, mtime, Box::new(stream));
            }
        }
    }
    reports
}

/// Reads evidence from any stream (`-` for standard input, say): archives and EVTX are
/// buffered in memory, within the limits.
pub(crate) fn read_stream(
    name: &str,
    reader: Box<dyn Read + '_>,
    opts: &ReadOptions,
    out: Out<'_>,
) -> Vec<FileReport> {
    let mut reports = Vec::new();
    let budget = Budget::new(opts.limits);
    let mut src = Source {
        opts,
        out,
        reports: &mut reports,
        budget: &budget,
    };
    let display: Arc<str> = name.into();
    let fname = file_name_of(name);
    src.stream(display, &fname, None, reader, 0);
    reports
}

/// The report for an empty file: nothing unread, but worth saying.
fn empty(path: Arc<str>) -> FileReport {
    let mut r = FileReport::new(path.clone());
    r.record_error(EvidenceError::Empty { path }, 1);
    r
}

fn failed_read(path: Arc<str>, e: io::Error) -> FileReport {
    failed_at(
        EvidenceError::Read {
            path: path.clone(),
            source: e,
        },
        path,
    )
}

fn failed_at(err: EvidenceError, path: Arc<str>) -> FileReport {
    let mut r = FileReport::new(path);
    r.fail(err, 1);
    r
}

fn mtime_of(m: &Metadata) -> Option<DateTime<Utc>> {
    m.modified().ok().map(DateTime::<Utc>::from)
}

/// The lower-case file name of the innermost member, without `.gz`.
fn file_name_of(display: &str) -> String {
    let inner = display.rsplit('!').next().unwrap_or(display);
    let base = inner
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(inner)
        .to_lowercase();
    match base.strip_suffix(".gz") {
        Some(b) => b.to_string(),
        None => base,
    }
}

/// Decompressed bytes counted against the limits of one top-level evidence file.
struct Budget {
    limits: ArchiveLimits,
    total: Cell<u64>,
}

impl Budget {
    fn new(limits: ArchiveLimits) -> Self {
        Budget {
            limits,
            total: Cell::new(0),
        }
    }
}

/// Counts bytes read through it (the compressed side of a gzip stream).
struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

impl<R: Seek> Seek for Counting<R> {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// How much compressed input a decompressed stream came from.
enum Compressed {
    /// Known up front.
    #[cfg_attr(not(test), allow(dead_code))]
    Known(u64),
    /// Counted as it is read, from a base (zip: the archive's reader, from the member's start).
    Since(Rc<Cell<u64>>, u64),
    /// Counted as it is read (gzip).
    Counted(Rc<Cell<u64>>),
}

/// A decompressing reader that fails with [`LimitExceeded`] (inside an `io::Error`) as soon
/// as the member, the total or the ratio limit is passed: it never hands out more bytes
/// than allowed, so nothing downstream can be made to hold them.
pub(crate) struct LimitedReader<'b, R> {
    inner: R,
    produced: u64,
    compressed: Compressed,
    budget: &'b Budget,
}

impl<R: Read> Read for LimitedReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let l = self.budget.limits;
        // Never read past the nearest cap, so the caps hold exactly.
        let room = l
            .max_member_bytes
            .saturating_sub(self.produced)
            .min(l.max_total_bytes.saturating_sub(self.budget.total.get()));
        if room == 0 {
            let which = if self.produced >= l.max_member_bytes {
                format!(
                    "member decompresses to more than {} bytes (max_member_bytes)",
                    l.max_member_bytes
                )
            } else {
                format!(
                    "evidence file decompresses to more than {} bytes in all (max_total_bytes)",
                    l.max_total_bytes
                )
            };
            // A stream that ends exactly at the cap is fine: probe for one more byte.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::other(LimitExceeded(which))),
            };
        }
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.produced += n as u64;
        self.budget.total.set(self.budget.total.get() + n as u64);
        if l.max_ratio > 0 && self.produced > l.ratio_grace_bytes {
            let c = match &self.compressed {
                Compressed::Known(c) => *c,
                Compressed::Since(c, base) => c.get().saturating_sub(*base),
                Compressed::Counted(c) => c.get(),
            }
            .max(1);
            if self.produced / c > l.max_ratio {
                return Err(io::Error::other(LimitExceeded(format!(
                    "{} bytes decompressed from {c} compressed bytes, more than the {}:1 ratio allowed (max_ratio)",
                    self.produced, l.max_ratio
                ))));
            }
        }
        Ok(n)
    }
}

/// Transcodes UTF-16 text to UTF-8 as it is read.
struct Utf16Reader<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    raw: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
    done: bool,
}

impl<R: Read> Utf16Reader<R> {
    fn new(inner: R, enc: Utf16) -> Self {
        let enc = match enc {
            Utf16::Le => encoding_rs::UTF_16LE,
            Utf16::Be => encoding_rs::UTF_16BE,
        };
        Utf16Reader {
            inner,
            decoder: enc.new_decoder_with_bom_removal(),
            raw: vec![0; 64 * 1024],
            out: Vec::with_capacity(128 * 1024),
            pos: 0,
            done: false,
        }
    }
}

impl<R: Read> Read for Utf16Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.out.len() {
            if self.done {
                return Ok(0);
            }
            let n = self.inner.read(&mut self.raw)?;
            let last = n == 0;
            self.out.clear();
            self.pos = 0;
            self.out
                .reserve(self.decoder.max_utf8_buffer_length(n).unwrap_or(n * 3 + 16));
            let cap = self.out.capacity();
            self.out.resize(cap, 0);
            let (_, _, written, _) =
                self.decoder
                    .decode_to_utf8(&self.raw[..n], &mut self.out, last);
            self.out.truncate(written);
            if last {
                self.done = true;
            }
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

struct Source<'s, 'o> {
    opts: &'s ReadOptions,
    out: Out<'o>,
    reports: &'s mut Vec<FileReport>,
    budget: &'s Budget,
}

impl Source<'_, '_> {
    fn zip<R: Read + Seek>(&mut self, display: Arc<str>, input: R, depth: u32) {
        if !self.depth_ok(&display, depth) {
            return;
        }
        // Count the compressed bytes each member actually consumes, so that the ratio limit
        // catches a bomb early, not only after `max_ratio` times the member's whole size.
        let count = Rc::new(Cell::new(0));
        let input = Counting {
            inner: input,
            count: count.clone(),
        };
        let mut archive = match zip::ZipArchive::new(input) {
            Ok(a) => a,
            Err(e) => {
                self.reports.push(failed_read(
                    display,
                    io::Error::other(format!("zip archive unreadable: {e}")),
                ));
                return;
            }
        };
        for i in 0..archive.len() {
            let base = count.get();
            let mut member = match archive.by_index(i) {
                Ok(m) => m,
                Err(e) => {
                    let p: Arc<str> = format!("{display}!#{i}").into();
                    self.reports.push(failed_at(
                        EvidenceError::Read {
                            path: p.clone(),
                            source: io::Error::other(format!("zip member unreadable: {e}")),
                        },
                        p,
                    ));
                    continue;
                }
            };
            if member.is_dir() {
                continue;
            }
            let mname = safe_name(&match member.name() {
                Ok(n) => n.into_owned(),
                Err(_) => String::from_utf8_lossy(member.name_raw()).into_owned(),
            });
            let p: Arc<str> = format!("{display}!{mname}").into();
            if member.encrypted() {
                self.reports.push(failed_at(
                    EvidenceError::Read {
                        path: p.clone(),
                        source: io::Error::other("zip member is encrypted"),
                    },
                    p,
                ));
                continue;
            }
            let declared = member.size();
            let limits = self.opts.limits;
            if declared > limits.max_member_bytes {
                self.reports.push(failed_at(
                    EvidenceError::Limit {
                        path: p.clone(),
                        detail: format!(
                            "member declares {declared} bytes, more than max_member_bytes ({})",
                            limits.max_member_bytes
                        ),
                    },
                    p,
                ));
                continue;
            }
            let mtime = member
                .last_modified()
                .and_then(|t| {
                    chrono::NaiveDate::from_ymd_opt(
                        t.year().into(),
                        t.month().into(),
                        t.day().into(),
                    )?
                    .and_hms_opt(
                        t.hour().into(),
                        t.minute().into(),
                        t.second().into(),
                    )
                })
                .map(|n| n.and_utc());
            let limited = LimitedReader {
                inner: &mut member,
                produced: 0,
                compressed: Compressed::Since(count.clone(), base),
                budget: self.budget,
            };
            let fname = file_name_of(&mname);
            self.stream(p, &fname, mtime, Box::new(limited), depth);
        }
    }

    /// Checks the nesting depth; reports and returns false past `max_depth`.
    fn depth_ok(&mut self, display: &Arc<str>, depth: u32) -> bool {
        if depth <= self.opts.limits.max_depth {
            return true;
        }
        self.reports.push(failed_at(
            EvidenceError::Limit {
                path: display.clone(),
                detail: format!(
                    "archives nested more than {} deep (max_depth)",
                    self.opts.limits.max_depth
                ),
            },
            display.clone(),
        ));
        false
    }

    /// Reads a (decompressed) stream: sniffs it and hands it to a container or a reader.
    fn stream(
        &mut self,
        display: Arc<str>,
        name: &str,
        mtime: Option<DateTime<Utc>>,
        reader: Box<dyn Read + '_>,
        depth: u32,
    ) {
        let mut reader = reader;
        let mut head = Vec::with_capacity(HEAD);
        if let Err(e) = (&mut reader).take(HEAD as u64).read_to_end(&mut head) {
            let mut ctx = Ctx::new(self.opts, display, name.to_string(), mtime, &mut *self.out);
            ctx.fail_io(e);
            self.reports.push(ctx.finish());
            return;
        }
        if head.is_empty() {
            self.reports.push(empty(display));
            return;
        }
        let rest = Cursor::new(head.clone()).chain(reader);
        if let Some(c) = sniff::container(&head) {
            if c == Container::Zip {
                // A zip needs to seek: buffer it (within the limits).
                let mut buf = Vec::new();
                let mut rest = rest;
                if let Err(e) = rest.read_to_end(&mut buf) {
                    let mut ctx =
                        Ctx::new(self.opts, display, name.to_string(), mtime, &mut *self.out);
                    ctx.fail_io(e);
                    self.reports.push(ctx.finish());
                    return;
                }
                self.zip(display, Cursor::new(buf), depth + 1);
            } else {
                self.container_stream(display, name, mtime, rest, depth + 1);
            }
            return;
        }
        let format = self
            .opts
            .format
            .or_else(|| sniff::sniff(Path::new(name), &head));
        if format == Some(Format::Evtx) {
            let mut ctx = Ctx::new(self.opts, display, name.to_string(), mtime, &mut *self.out);
            let mut buf = Vec::new();
            let mut rest = rest;
            match rest.read_to_end(&mut buf) {
                Ok(_) => readers::evtx::read_buffer(&mut ctx, buf),
                Err(e) => ctx.fail_io(e),
            }
            self.reports.push(ctx.finish());
            return;
        }
        self.leaf_text(format, display, name.to_string(), mtime, Box::new(rest));
    }

    /// A gzip stream inside a stream (no seeking needed).
    fn container_stream(
        &mut self,
        display: Arc<str>,
        name: &str,
        mtime: Option<DateTime<Utc>>,
        input: impl Read,
        depth: u32,
    ) {
        if !self.depth_ok(&display, depth) {
            return;
        }
        let count = Rc::new(Cell::new(0));
        let counted = Counting {
            inner: input,
            count: count.clone(),
        };
        let dec = flate2::read::MultiGzDecoder::new(BufReader::new(counted));
        let limited = LimitedReader {
            inner: dec,
            produced: 0,
            compressed: Compressed::Counted(count),
            budget: self.budget,
        };
        let inner_name = name.strip_suffix(".gz").unwrap_or(name).to_string();
        self.stream(display, &inner_name, mtime, Box::new(limited), depth);
    }

    /// Reads a text format (or reports that none was recognised).
    fn leaf_text(
        &mut self,
        format: Option<Format>,
        display: Arc<str>,
        name: String,
        mtime: Option<DateTime<Utc>>,
        reader: Box<dyn Read + '_>,
    ) {
        let mut ctx = Ctx::new(self.opts, display.clone(), name, mtime, &mut *self.out);
        let mut br = BufReader::with_capacity(BUF, reader);
        // UTF-16 text (Windows exports) is transcoded; a UTF-8 BOM is dropped.
        let head = match br.fill_buf() {
            Ok(h) => h.to_vec(),
            Err(e) => {
                ctx.fail_io(e);
                self.reports.push(ctx.finish());
                return;
            }
        };
        let Some(format) = format else {
            ctx.fail(EvidenceError::Unrecognised {
                path: display,
                reason: describe_head(&head),
            });
            self.reports.push(ctx.finish());
            return;
        };
        ctx.report.format = Some(format);
        let mut text: Box<dyn BufRead + '_> = match sniff::utf16(&head) {
            Some(enc) => Box::new(BufReader::with_capacity(BUF, Utf16Reader::new(br, enc))),
            None => {
                if head.starts_with(b"\xef\xbb\xbf") {
                    br.consume(3);
                }
                Box::new(br)
            }
        };
        if let Err(e) = readers::read_text(&mut ctx, format, &mut *text) {
            ctx.fail_io(e);
        }
        self.reports.push(ctx.finish());
    }
}

/// A short description of unrecognised content for the report.
fn describe_head(head: &[u8]) -> String {
    if head.is_empty() {
        return "empty file".into();
    }
    let printable = head
        .iter()
        .take(512)
        .filter(|c| c.is_ascii_graphic() || c.is_ascii_whitespace())
        .count();
    if printable * 10 < head.len().min(512) * 9 {
        let hex: Vec<String> = head.iter().take(8).map(|b| format!("{b:02x}")).collect();
        return format!("binary content starting {}", hex.join(" "));
    }
    let line = head.split(|&c| c == b'\n').next().unwrap_or(head);
    let line = String::from_utf8_lossy(&line[..line.len().min(80)]);
    format!("text starting {line:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_for_routing() {
        assert_eq!(file_name_of("case/var/log/auth.log.2.gz"), "auth.log.2");
        assert_eq!(file_name_of("case/a.zip!logs/Secure"), "secure");
        assert_eq!(file_name_of("C:\\x\\dns.log"), "dns.log");
    }

    #[test]
    fn limited_reader_caps_member_and_ratio() {
        let budget = Budget::new(ArchiveLimits {
            max_member_bytes: 100,
            max_total_bytes: 1000,
            max_ratio: 0,
            ratio_grace_bytes: 0,
            max_depth: 4,
        });
        let mut r = LimitedReader {
            inner: io::repeat(b'a'),
            produced: 0,
            compressed: Compressed::Known(1),
            budget: &budget,
        };
        let mut v = Vec::new();
        let err = r.read_to_end(&mut v).unwrap_err();
        assert_eq!(v.len(), 100);
        assert!(
            crate::error::limit_in(&err)
                .unwrap()
                .0
                .contains("max_member_bytes")
        );

        let budget = Budget::new(ArchiveLimits {
            max_ratio: 10,
            ratio_grace_bytes: 50,
            ..ArchiveLimits::default()
        });
        let mut r = LimitedReader {
            inner: io::repeat(b'a').take(1000),
            produced: 0,
            compressed: Compressed::Known(5),
            budget: &budget,
        };
        let err = r.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(crate::error::limit_in(&err).unwrap().0.contains("ratio"));

        // Exactly at the cap is not an error.
        let budget = Budget::new(ArchiveLimits {
            max_member_bytes: 10,
            max_ratio: 0,
            ..ArchiveLimits::default()
        });
        let mut r = LimitedReader {
            inner: io::repeat(b'a').take(10),
            produced: 0,
            compressed: Compressed::Known(1),
            budget: &budget,
        };
        assert_eq!(r.read_to_end(&mut Vec::new()).unwrap(), 10);
    }

    #[test]
    fn hostile_names_are_shown_safely() {
        assert_eq!(safe_name("../../etc/passwd"), "../../etc/passwd");
        assert_eq!(safe_name("a\nb\u{1b}[31mc\r"), "a\\nb\\u{1b}[31mc\\r");
    }

    #[test]
    fn utf16_is_transcoded() {
        let bytes: Vec<u8> = "\u{feff}héllo\nwörld"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let mut s = String::new();
        Utf16Reader::new(&bytes[..], Utf16::Le)
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "héllo\nwörld");
    }
}
