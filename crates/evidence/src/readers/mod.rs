//! The readers, one per format family.
//!
//! Why one small module each: a reader knows one format and nothing else. It gets a
//! [`Ctx`] to emit events and count what it skipped, and a buffered stream (already
//! decompressed and transcoded to UTF-8 by `source`). Line-based readers share [`Lines`],
//! which bounds memory per line, so a file without newlines cannot exhaust memory.

use std::io::{self, BufRead};

use crate::ctx::Ctx;
use crate::event::Format;

pub(crate) mod apache;
pub(crate) mod csv;
pub(crate) mod evtx;
pub(crate) mod json;
pub(crate) mod syslog;
pub(crate) mod w3c;
pub(crate) mod xml;
pub(crate) mod zeek;

/// Reads a text format from `r` into `ctx`. I/O errors end the file; bad records do not.
pub(crate) fn read_text(ctx: &mut Ctx<'_>, format: Format, r: &mut dyn BufRead) -> io::Result<()> {
    match format {
        Format::Json | Format::EvtxJson | Format::Ecs => json::read(ctx, r, None),
        Format::WindowsXml => xml::read(ctx, r),
        Format::W3c => w3c::read(ctx, r),
        Format::Apache => apache::read(ctx, r),
        Format::Syslog => syslog::read(ctx, r),
        Format::Zeek => zeek::read(ctx, r),
        Format::Csv => csv::read(ctx, r),
        Format::Evtx => {
            // EVTX is binary and is read before this point; a forced `evtx` on a stream that
            // turned out to be text lands here.
            let path = ctx.path.clone();
            ctx.fail(crate::error::EvidenceError::Format {
                path,
                format,
                detail: "not an EVTX file (no ElfFile header)".into(),
            });
            Ok(())
        }
    }
}

/// What [`Lines::next_line`] found.
pub(crate) enum Line {
    /// A line (without `\n` / `\r\n`), in the caller's buffer.
    Ok,
    /// A line longer than the limit, skipped; its length.
    TooLong(usize),
}

/// Reads lines with a length limit, counting line numbers.
pub(crate) struct Lines<'r> {
    r: &'r mut dyn BufRead,
    /// The 1-based number of the last line returned.
    pub number: u64,
    max: usize,
}

impl<'r> Lines<'r> {
    /// Lines of `r`, each at most `max` bytes (`ReadOptions::max_line_bytes`).
    pub fn new(r: &'r mut dyn BufRead, max: usize) -> Self {
        Lines { r, number: 0, max }
    }

    /// The line limit.
    pub fn max(&self) -> usize {
        self.max
    }

    /// The underlying reader, positioned after the last line returned.
    pub fn into_inner(self) -> &'r mut dyn BufRead {
        self.r
    }

    /// Reads the next line into `buf` (cleared first). `None` at the end.
    pub fn next_line(&mut self, buf: &mut Vec<u8>) -> io::Result<Option<Line>> {
        buf.clear();
        let mut len = 0usize;
        let mut any = false;
        loop {
            let avail = match self.r.fill_buf() {
                Ok(a) => a,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if avail.is_empty() {
                if !any {
                    return Ok(None);
                }
                break;
            }
            any = true;
            let (chunk, done) = match memchr::memchr(b'\n', avail) {
                Some(i) => (&avail[..i], Some(i + 1)),
                None => (avail, None),
            };
            if len + chunk.len() <= self.max {
                buf.extend_from_slice(chunk);
            }
            len += chunk.len();
            let used = done.unwrap_or(avail.len());
            self.r.consume(used);
            if done.is_some() {
                break;
            }
        }
        self.number += 1;
        if len > self.max {
            buf.clear();
            return Ok(Some(Line::TooLong(len)));
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        Ok(Some(Line::Ok))
    }
}

impl Lines<'_> {
    /// The next line within the limit, as text. Lines over the limit are
    /// recorded in `ctx` as skipped (with their number and length) and passed
    /// over, so line readers need not repeat that bookkeeping. `None` at the end.
    pub fn next_text<'b>(
        &mut self,
        ctx: &mut Ctx<'_>,
        buf: &'b mut Vec<u8>,
    ) -> io::Result<Option<std::borrow::Cow<'b, str>>> {
        loop {
            match self.next_line(buf)? {
                None => return Ok(None),
                Some(Line::TooLong(n)) => {
                    ctx.skip_line("line too long", self.number, too_long(n, self.max))
                }
                Some(Line::Ok) => return Ok(Some(text(buf))),
            }
        }
    }
}

/// The detail of a skipped long line.
pub(crate) fn too_long(n: usize, max: usize) -> String {
    format!("{n} bytes, more than {max} (max_line_bytes)")
}

/// A line as text (invalid UTF-8 replaced, which evidence sometimes has).
pub(crate) fn text(buf: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_bounded_and_numbered() {
        let data = b"one\r\ntwo\n\nthree-is-long\nfour";
        let mut r: &[u8] = data;
        let mut lines = Lines::new(&mut r, 8);
        let mut buf = Vec::new();
        let mut got = Vec::new();
        while let Some(l) = lines.next_line(&mut buf).unwrap() {
            got.push(match l {
                Line::Ok => String::from_utf8(buf.clone()).unwrap(),
                Line::TooLong(n) => format!("<{n}>"),
            });
        }
        assert_eq!(got, ["one", "two", "", "<13>", "four"]);
        assert_eq!(lines.number, 5);
    }
}
