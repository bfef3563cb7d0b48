//! Recognising an evidence format from its first bytes.
//!
//! Why content first: evidence arrives renamed, without extensions, rotated (`auth.log.1`),
//! exported by tools that name files after the host. The first few kilobytes nearly always
//! tell: magic bytes (`ElfFile\0`, gzip, zip), the first character of JSON, W3C and Zeek
//! header directives, the shapes of syslog and access-log lines, a CSV header. The file name
//! is used only when the content does not decide. A caller can always force a format.

use std::path::Path;
use std::sync::LazyLock;

use regex::bytes::Regex;

use crate::event::Format;

/// A container that is opened and whose content is sniffed in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Container {
    Gzip,
    Zip,
}

/// Recognises gzip (`1f 8b`) and zip (`PK\3\4`, or `PK\5\6` for an empty archive).
pub(crate) fn container(head: &[u8]) -> Option<Container> {
    if head.starts_with(&[0x1f, 0x8b]) {
        Some(Container::Gzip)
    } else if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        Some(Container::Zip)
    } else {
        None
    }
}

/// Which text encoding the bytes are in, if not UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Utf16 {
    Le,
    Be,
}

/// Recognises UTF-16 text by its byte-order mark, or (without one) by NULs in every other
/// byte of ASCII text, as Windows tools write it.
pub(crate) fn utf16(head: &[u8]) -> Option<Utf16> {
    if head.starts_with(&[0xff, 0xfe]) {
        return Some(Utf16::Le);
    }
    if head.starts_with(&[0xfe, 0xff]) {
        return Some(Utf16::Be);
    }
    if head.len() >= 8 {
        let n = head.len().min(64) & !1;
        let pairs = head[..n].chunks_exact(2);
        let le = pairs.clone().all(|p| p[1] == 0 && p[0] != 0);
        let be = pairs.clone().all(|p| p[0] == 0 && p[1] != 0);
        if le {
            return Some(Utf16::Le);
        }
        if be {
            return Some(Utf16::Be);
        }
    }
    None
}

static SYSLOG_5424: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^<\d{1,3}>\d{1,2} \S+ \S+ ").unwrap());
static SYSLOG_3164: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:<\d{1,3}>)?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d \S+ ").unwrap()
});
static SYSLOG_ISO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:<\d{1,3}>)?\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d) \S+ [^\s:]+(?:\[\d+\])?: ").unwrap()
});
/// Apache/Nginx common and combined: `host ident user [time] "request" status bytes`.
pub(crate) static ACCESS_LOG: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(
        r#"^(?P<client>\S+) (?P<ident>\S+) (?P<user>\S+) \[(?P<time>[^\]]+)\] "(?P<request>(?:[^"\\]|\\.)*)" (?P<status>\d{3}|-) (?P<bytes>\d+|-)(?: "(?P<referer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)")?(?P<extra>.*)$"#,
    )
    .unwrap()
});

/// Recognises the format of a file from its first bytes (a few KiB; more is better for CSV)
/// and, only when the content does not decide, its name. UTF-16 text is recognised too.
/// Containers (gzip, zip) are not formats: they are opened and their content sniffed.
pub fn sniff(path: &Path, first_bytes: &[u8]) -> Option<Format> {
    // The file header, or (header damaged) the first chunk header at its fixed offset.
    if first_bytes.starts_with(b"ElfFile\0") || first_bytes.get(4096..4104) == Some(b"ElfChnk\0") {
        return Some(Format::Evtx);
    }
    let decoded;
    let text: &[u8] = match utf16(first_bytes) {
        Some(enc) => {
            decoded = decode_utf16(first_bytes, enc);
            decoded.as_bytes()
        }
        None => first_bytes
            .strip_prefix(b"\xef\xbb\xbf")
            .unwrap_or(first_bytes),
    };
    sniff_text(text).or_else(|| by_name(path))
}

fn decode_utf16(bytes: &[u8], enc: Utf16) -> String {
    let enc = match enc {
        Utf16::Le => encoding_rs::UTF_16LE,
        Utf16::Be => encoding_rs::UTF_16BE,
    };
    enc.decode_with_bom_removal(bytes).0.into_owned()
}

fn sniff_text(text: &[u8]) -> Option<Format> {
    let start = text.iter().position(|c| !c.is_ascii_whitespace())?;
    let t = &text[start..];
    let first_line = t.split(|&c| c == b'\n').next().unwrap_or(t);
    let first_line = first_line.strip_suffix(b"\r").unwrap_or(first_line);
    match t[0] {
        b'{' | b'[' => {
            let window = &t[..t.len().min(4096)];
            let zeekish = contains(window, b"\"_path\"")
                || contains(window, b"\"id.orig_h\"")
                || (contains(window, b"\"uid\"") && contains(window, b"\"ts\""));
            return Some(if zeekish { Format::Zeek } else { Format::Json });
        }
        b'<' if contains(t, b"<Event") || contains(t, b":Event") => {
            return Some(Format::WindowsXml);
        }
        b'#' => {
            if t.starts_with(b"#separator") {
                return Some(Format::Zeek);
            }
            for d in [
                &b"#Software:"[..],
                b"#Version:",
                b"#Fields:",
                b"#Date:",
                b"#Remark:",
                b"#Start-Date:",
            ] {
                if t.starts_with(d) {
                    return Some(Format::W3c);
                }
            }
        }
        _ => {}
    }
    if SYSLOG_5424.is_match(first_line)
        || SYSLOG_3164.is_match(first_line)
        || SYSLOG_ISO.is_match(first_line)
    {
        return Some(Format::Syslog);
    }
    if let Ok(line) = std::str::from_utf8(first_line)
        && ACCESS_LOG.is_match(line)
    {
        return Some(Format::Apache);
    }
    if looks_like_csv(t) {
        return Some(Format::Csv);
    }
    None
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

/// A header line and the lines after it have the same number (at least 2) of one delimiter
/// (quoted parts ignored), and the header has no empty names.
fn looks_like_csv(t: &[u8]) -> bool {
    let mut lines = t
        .split(|&c| c == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let Some(header) = lines.next() else {
        return false;
    };
    // Only complete lines: the last one may be cut off by the sniffing window.
    let rest: Vec<&[u8]> = lines.filter(|l| !l.is_empty()).collect();
    let complete = if rest.len() > 1 {
        &rest[..rest.len() - 1]
    } else {
        &rest[..]
    };
    for d in [b',', b';', b'\t', b'|'] {
        let n = count_delims(header, d);
        if n == 0 {
            continue;
        }
        let names_ok = header
            .split(|&c| c == d)
            .all(|name| !name.iter().all(u8::is_ascii_whitespace) && name.len() < 128);
        if names_ok && complete.iter().take(20).all(|l| count_delims(l, d) == n) {
            return true;
        }
    }
    false
}

fn count_delims(line: &[u8], d: u8) -> usize {
    let mut quoted = false;
    let mut n = 0;
    for &c in line {
        if c == b'"' {
            quoted = !quoted;
        } else if c == d && !quoted {
            n += 1;
        }
    }
    n
}

fn by_name(path: &Path) -> Option<Format> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    let ext = name.rsplit('.').next()?;
    Some(match ext {
        "evtx" => Format::Evtx,
        "json" | "jsonl" | "ndjson" => Format::Json,
        "xml" => Format::WindowsXml,
        "csv" | "tsv" => Format::Csv,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(name: &str, bytes: &[u8]) -> Option<Format> {
        sniff(Path::new(name), bytes)
    }

    #[test]
    fn magic_and_first_characters() {
        assert_eq!(s("x", b"ElfFile\0\0\0"), Some(Format::Evtx));
        assert_eq!(s("x", b"  \n{\"Event\": {}}"), Some(Format::Json));
        assert_eq!(s("x", b"\xef\xbb\xbf[{\"a\":1}]"), Some(Format::Json));
        assert_eq!(
            s(
                "x",
                b"{\"ts\":1.0,\"uid\":\"C1\",\"id.orig_h\":\"1.2.3.4\"}"
            ),
            Some(Format::Zeek)
        );
        assert_eq!(
            s("x", b"<?xml version=\"1.0\"?>\n<Events><Event xmlns='x'>"),
            Some(Format::WindowsXml)
        );
        assert_eq!(
            s("x", b"#separator \\x09\n#set_separator\t,\n"),
            Some(Format::Zeek)
        );
        assert_eq!(
            s(
                "x",
                b"#Software: Microsoft Internet Information Services 10.0\n"
            ),
            Some(Format::W3c)
        );
        assert_eq!(s("x", b"#Fields: date time cs-method\n"), Some(Format::W3c));
    }

    #[test]
    fn line_shapes() {
        assert_eq!(
            s(
                "x",
                b"Mar  1 10:00:00 host sshd[12]: Accepted password for a\n"
            ),
            Some(Format::Syslog)
        );
        assert_eq!(
            s("x", b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed\n"),
            Some(Format::Syslog)
        );
        assert_eq!(
            s(
                "x",
                b"<165>1 2003-10-11T22:14:15.003Z host app - ID47 - msg\n"
            ),
            Some(Format::Syslog)
        );
        assert_eq!(
            s(
                "x",
                b"2024-06-14T10:00:00.123456+02:00 web01 sshd[99]: Failed password\n"
            ),
            Some(Format::Syslog)
        );
        assert_eq!(
            s("x", b"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /a.gif HTTP/1.0\" 200 2326 \"-\" \"Mozilla\"\n"),
            Some(Format::Apache)
        );
        assert_eq!(s("x", b"a,b,c\n1,2,3\n4,\"5,5\",6\n"), Some(Format::Csv));
        assert_eq!(s("x", b"just some text\nmore text\n"), None);
    }

    #[test]
    fn names_only_when_content_does_not_decide() {
        assert_eq!(s("Security.evtx", b"garbage"), Some(Format::Evtx));
        assert_eq!(s("auth.log", b"garbage"), None);
        assert_eq!(s("events.jsonl.gz", b"garbage"), Some(Format::Json));
        assert_eq!(s("x.csv", b"#Fields: a b\n"), Some(Format::W3c));
    }

    #[test]
    fn utf16_text() {
        let text: Vec<u8> = "\u{feff}<Events><Event>"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(utf16(&text), Some(Utf16::Le));
        assert_eq!(s("x", &text), Some(Format::WindowsXml));
        assert_eq!(container(b"PK\x03\x04rest"), Some(Container::Zip));
        assert_eq!(container(&[0x1f, 0x8b, 8]), Some(Container::Gzip));
    }
}
