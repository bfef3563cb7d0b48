//! Reading indicator feeds: STIX 2.1 bundles, MISP events and feed folders, CSV, plain lists.
//!
//! Partners send what they have: a TAXII collection dumped as a bundle, a MISP feed folder, a
//! spreadsheet exported as CSV, a text file of defanged domains pasted from a report. Each
//! reader turns its format into [`Indicator`]s and never stops at a bad entry: the entry is
//! skipped and counted in a [`FeedReport`] with the file, the line or entry and the reason,
//! because an investigation should not lose ten thousand good indicators over one typo.
//! [`load_path`] takes a file or a directory and recognises each file's format from its
//! content.

mod csv;
mod list;
mod misp;
mod stix;

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::fs;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::de::{self, IgnoredAny, MapAccess, Visitor};

use crate::indicator::{Indicator, Term};
use crate::observable::{ObservableKind, infer_kind, normalise};
use crate::refang::refang;

pub use self::csv::read_csv;
pub use self::list::read_list;
pub use self::misp::{read_misp_event, read_misp_feed};
pub use self::stix::read_stix_bundle;

/// How many skipped entries a report keeps with their details (all are counted).
pub const MAX_SKIP_DETAILS: usize = 200;

/// Why a feed could not be read at all (a bad entry inside a readable feed is not an error:
/// it is skipped and reported in the [`FeedReport`]).
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// The file or directory does not exist.
    #[error("{}: no such file or directory", .0.display())]
    NotFound(PathBuf),
    /// It exists but could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The system's reason.
        source: io::Error,
    },
    /// It was read but is not a feed in the format it claims or looks like (malformed JSON, a
    /// JSON document that is neither a STIX bundle nor a MISP event, a MISP manifest that is
    /// not an object).
    #[error("{file}: {reason}")]
    Malformed {
        /// The file.
        file: String,
        /// What is wrong.
        reason: String,
    },
}

/// Where in a file a skipped entry was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// The whole file.
    File,
    /// A 1-based line (lists, CSV).
    Line(u64),
    /// An entry of a structured feed: a STIX object, a MISP attribute or object.
    Entry(String),
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::File => f.write_str("file"),
            Position::Line(n) => write!(f, "line {n}"),
            Position::Entry(e) => f.write_str(e),
        }
    }
}

/// One skipped entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The file.
    pub file: String,
    /// Where in it.
    pub at: Position,
    /// The reason's category, also the key of [`FeedReport::skipped_by_reason`]
    /// (`revoked`, `pattern_type yara`, `misp type AS`, `not an indicator`…).
    pub reason: String,
    /// Details (the offending value, the parser's message).
    pub detail: String,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.at, self.reason)?;
        if !self.detail.is_empty() {
            write!(f, " ({})", self.detail)?;
        }
        Ok(())
    }
}

/// What reading one or more feeds produced besides the indicators.
#[derive(Debug, Clone, Default)]
pub struct FeedReport {
    /// Files read as feeds.
    pub files: usize,
    /// Indicators produced.
    pub indicators: usize,
    /// Indicators per source (file, or MISP event file).
    pub by_source: BTreeMap<String, usize>,
    /// Indicators per condition shape (`sha256`, `ipv4/cidr`, `file-name+sha256`,
    /// `stix-pattern`…).
    pub by_kind: BTreeMap<String, usize>,
    /// The first [`MAX_SKIP_DETAILS`] skipped entries, with details.
    pub skipped: Vec<Skipped>,
    /// Every skipped entry, counted by reason.
    pub skipped_by_reason: BTreeMap<String, usize>,
    /// Files in a directory not read because of their extension (`.md`, `.pdf`…).
    pub ignored_files: Vec<String>,
}

impl FeedReport {
    /// How many entries were skipped in all.
    pub fn skipped_total(&self) -> usize {
        self.skipped_by_reason.values().sum()
    }

    /// Records a skipped entry.
    pub fn skip(
        &mut self,
        file: &str,
        at: Position,
        reason: impl Into<String>,
        detail: impl Into<String>,
    ) {
        let reason = reason.into();
        *self.skipped_by_reason.entry(reason.clone()).or_default() += 1;
        if self.skipped.len() < MAX_SKIP_DETAILS {
            self.skipped.push(Skipped {
                file: file.to_string(),
                at,
                reason,
                detail: detail.into(),
            });
        }
    }

    /// Counts indicators a reader produced.
    pub fn count(&mut self, indicators: &[Indicator]) {
        self.indicators += indicators.len();
        let mut last: Option<(&str, usize)> = None;
        for ind in indicators {
            match &mut last {
                Some((s, n)) if *s == &*ind.source => *n += 1,
                _ => {
                    if let Some((s, n)) = last.take() {
                        *self.by_source.entry(s.to_string()).or_default() += n;
                    }
                    last = Some((&ind.source, 1));
                }
            }
            *self.by_kind.entry(ind.condition.shape()).or_default() += 1;
        }
        if let Some((s, n)) = last {
            *self.by_source.entry(s.to_string()).or_default() += n;
        }
    }

    /// Adds another report's figures to this one.
    pub fn merge(&mut self, other: FeedReport) {
        self.files += other.files;
        self.indicators += other.indicators;
        for (k, v) in other.by_source {
            *self.by_source.entry(k).or_default() += v;
        }
        for (k, v) in other.by_kind {
            *self.by_kind.entry(k).or_default() += v;
        }
        for (k, v) in other.skipped_by_reason {
            *self.skipped_by_reason.entry(k).or_default() += v;
        }
        let room = MAX_SKIP_DETAILS.saturating_sub(self.skipped.len());
        self.skipped.extend(other.skipped.into_iter().take(room));
        self.ignored_files.extend(other.ignored_files);
    }
}

impl fmt::Display for FeedReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} indicators from {} files, {} entries skipped",
            self.indicators,
            self.files,
            self.skipped_total()
        )?;
        for (k, n) in &self.by_kind {
            writeln!(f, "  {n:>9}  {k}")?;
        }
        for (r, n) in &self.skipped_by_reason {
            writeln!(f, "  skipped {n:>9}  {r}")?;
        }
        Ok(())
    }
}

/// Reads a feed file or a directory of feeds (recursively), recognising each file's format
/// from its content:
///
/// * a JSON object with `"type": "bundle"` — a STIX 2.1 bundle;
/// * a JSON object with `"Event"` (or a MISP REST `"response"` list of them) — a MISP event;
/// * a directory holding `manifest.json` (or that file itself) — a MISP feed folder;
/// * a `.csv`/`.tsv` file whose header names a value column (`value`, `indicator`, `ioc`…) —
///   CSV;
/// * anything else — a plain list, one value per line.
///
/// In a directory, files whose extension is not a feed's (`.md`, `.pdf`, `.zip`…) and dot
/// files are left out and listed in [`FeedReport::ignored_files`], and a file that cannot be
/// read is skipped and reported rather than stopping the load. A path that does not exist
/// is an error naming it.
pub fn load_path(path: impl AsRef<Path>) -> Result<(Vec<Indicator>, FeedReport), FeedError> {
    let mut out = Vec::new();
    let mut report = FeedReport::default();
    load_into(path.as_ref(), &mut out, &mut report)?;
    Ok((out, report))
}

/// [`load_path`] appending to existing indicators and report.
pub fn load_into(
    path: &Path,
    out: &mut Vec<Indicator>,
    report: &mut FeedReport,
) -> Result<(), FeedError> {
    let meta = fs::metadata(path).map_err(|e| io_error(path, e))?;
    if meta.is_dir() {
        if path.join("manifest.json").is_file() {
            return read_misp_feed(path, out, report);
        }
        return load_dir(path, out, report);
    }
    if path.file_name().is_some_and(|n| n == "manifest.json") {
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
        return read_misp_feed(dir.unwrap_or(Path::new(".")), out, report);
    }
    load_file(path, out, report)
}

pub(crate) fn io_error(path: &Path, e: io::Error) -> FeedError {
    if e.kind() == io::ErrorKind::NotFound {
        FeedError::NotFound(path.to_path_buf())
    } else {
        FeedError::Io {
            path: path.to_path_buf(),
            source: e,
        }
    }
}

/// Extensions a directory walk reads; everything else is left out.
const FEED_EXTENSIONS: &[&str] = &[
    "json", "stix", "csv", "tsv", "txt", "list", "lst", "ioc", "iocs", "log",
];

fn load_dir(
    dir: &Path,
    out: &mut Vec<Indicator>,
    report: &mut FeedReport,
) -> Result<(), FeedError> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| io_error(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        let result = if p.is_dir() {
            if p.join("manifest.json").is_file() {
                read_misp_feed(&p, out, report)
            } else {
                load_dir(&p, out, report)
            }
        } else {
            let ext = p
                .extension()
                .map(|e| e.to_string_lossy().to_ascii_lowercase());
            match ext {
                Some(e) if !FEED_EXTENSIONS.contains(&e.as_str()) => {
                    report.ignored_files.push(p.display().to_string());
                    continue;
                }
                _ => load_file(&p, out, report),
            }
        };
        if let Err(e) = result {
            report.skip(
                &p.display().to_string(),
                Position::File,
                "unreadable file",
                e.to_string(),
            );
        }
    }
    Ok(())
}

fn load_file(
    path: &Path,
    out: &mut Vec<Indicator>,
    report: &mut FeedReport,
) -> Result<(), FeedError> {
    let bytes = fs::read(path).map_err(|e| io_error(path, e))?;
    let source = path.display().to_string();
    let body = strip_bom(&bytes);
    let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if first == Some(b'{') {
        let sniff = sniff_json(body).map_err(|reason| FeedError::Malformed {
            file: source.clone(),
            reason,
        })?;
        if sniff.type_.as_deref() == Some("bundle") {
            return read_stix_bundle(body, &source, out, report);
        }
        if sniff.event || sniff.response {
            return read_misp_event(body, &source, out, report);
        }
        return Err(FeedError::Malformed {
            file: source,
            reason: "a JSON document that is neither a STIX bundle (\"type\": \"bundle\") nor a MISP event ({\"Event\": …})".into(),
        });
    }
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    if matches!(ext.as_deref(), Some("csv" | "tsv")) && csv::has_header(body) {
        return read_csv(body, &source, out, report);
    }
    read_list(body, &source, out, report)
}

pub(crate) fn strip_bom(b: &[u8]) -> &[u8] {
    b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b)
}

/// The top-level keys of a JSON object that decide its format.
#[derive(Default)]
struct Sniff {
    type_: Option<String>,
    event: bool,
    response: bool,
}

fn sniff_json(bytes: &[u8]) -> Result<Sniff, String> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Sniff;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Sniff, A::Error> {
            let mut s = Sniff::default();
            while let Some(k) = map.next_key::<String>()? {
                match k.as_str() {
                    "type" => {
                        s.type_ = map
                            .next_value::<serde_json::Value>()?
                            .as_str()
                            .map(str::to_string)
                    }
                    "Event" => {
                        s.event = true;
                        map.next_value::<IgnoredAny>()?;
                    }
                    "response" => {
                        s.response = true;
                        map.next_value::<IgnoredAny>()?;
                    }
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(s)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let s = de::Deserializer::deserialize_map(&mut de, V)
        .map_err(|e| format!("not valid JSON: {e}"))?;
    de.end().map_err(|e| format!("not valid JSON: {e}"))?;
    Ok(s)
}

/// Shares equal strings: one `Arc<str>` per distinct text.
#[derive(Debug, Default)]
pub(crate) struct Interner(HashSet<Arc<str>>);

impl Interner {
    pub(crate) fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.0.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        self.0.insert(a.clone());
        a
    }

    pub(crate) fn share(&mut self, a: &mut Arc<str>) {
        match self.0.get(&**a) {
            Some(b) => {
                if !Arc::ptr_eq(a, b) {
                    *a = b.clone();
                }
            }
            None => {
                self.0.insert(a.clone());
            }
        }
    }
}

/// A timestamp as feeds write them: RFC 3339 (`2024-05-01T10:00:00Z`, any offset, any
/// fraction), `2024-05-01 10:00:00` (UTC), `2024-05-01` (midnight UTC), or Unix seconds.
pub fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    let t = raw.trim();
    if t.is_empty() {
        return None;
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some(d.with_timezone(&Utc));
    }
    if let Ok(d) = DateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f%:z") {
        return Some(d.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(t, f) {
            return Some(d.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|d| d.and_utc());
    }
    if t.len() <= 12 && t.bytes().all(|b| b.is_ascii_digit()) {
        return DateTime::from_timestamp(t.parse().ok()?, 0);
    }
    None
}

/// What a type column or a `type:` prefix says a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hint {
    /// Exactly this kind.
    Kind(ObservableKind),
    /// An address or network, IPv4 or IPv6.
    Ip,
    /// A digest, its kind from its length.
    Hash,
    /// Say nothing: infer.
    Infer,
}

/// The hint for a type name as lists, CSV files and other tools write it (`ip-dst`,
/// `domain-name`, `FileHash-SHA256`, `hostname`, `url`, `sha256`…). `None` for a name that
/// is no observable tiaki indexes.
pub(crate) fn type_hint(name: &str) -> Option<Hint> {
    use ObservableKind as K;
    let n = name.trim().to_ascii_lowercase().replace(['_', ' '], "-");
    let h = match n.as_str() {
        "" | "auto" | "any" | "unknown" | "ioc" | "indicator" => Hint::Infer,
        "ip" | "ips" | "ip-src" | "ip-dst" | "ip-addr" | "ipv4" | "ipv6" | "ipv4-addr"
        | "ipv6-addr" | "ipaddress" | "ip-address" | "address" | "cidr" | "ipv4-cidr"
        | "ipv6-cidr" | "network" | "subnet" | "netblock" => Hint::Ip,
        "domain" | "domain-name" | "hostname" | "host" | "fqdn" | "dns" => Hint::Kind(K::Domain),
        "url" | "uri" | "link" => Hint::Kind(K::Url),
        "hash" | "filehash" | "file-hash" | "digest" => Hint::Hash,
        "md5" | "filehash-md5" | "hash-md5" => Hint::Kind(K::Md5),
        "sha1" | "sha-1" | "filehash-sha1" | "hash-sha1" => Hint::Kind(K::Sha1),
        "sha256" | "sha-256" | "filehash-sha256" | "hash-sha256" => Hint::Kind(K::Sha256),
        "sha512" | "sha-512" | "filehash-sha512" | "hash-sha512" => Hint::Kind(K::Sha512),
        "imphash" => Hint::Kind(K::Imphash),
        "filename" | "file-name" => Hint::Kind(K::FileName),
        "filepath" | "file-path" | "path" => Hint::Kind(K::FilePath),
        "email" | "e-mail" | "email-addr" | "email-address" | "email-src" | "email-dst" => {
            Hint::Kind(K::Email)
        }
        "regkey" | "registry" | "registry-key" | "windows-registry-key" => {
            Hint::Kind(K::RegistryKey)
        }
        "user-agent" | "useragent" | "http-user-agent" => Hint::Kind(K::UserAgent),
        "mutex" | "mutant" => Hint::Kind(K::Mutex),
        other => match other.parse::<ObservableKind>() {
            Ok(k) => Hint::Kind(k),
            Err(_) => return None,
        },
    };
    Some(h)
}

/// The terms (all required) for a value from a list or CSV row, refanged first, or why it
/// is not an indicator.
pub(crate) fn terms_for(hint: Hint, raw: &str) -> Result<Vec<Term>, String> {
    use ObservableKind as K;
    let v = refang(raw.trim());
    let v = v.trim().trim_matches(|c| c == '"' || c == '\'').trim();
    if v.is_empty() {
        return Err("empty value".into());
    }
    let ip_terms = |v: &str| -> Option<Vec<Term>> {
        if let Some(t) = Term::ip(v) {
            return Some(vec![t]);
        }
        // `203.0.113.7:443`, `[2001:db8::1]:443`: the address and the port.
        let sa: SocketAddr = v.parse().ok()?;
        let ip = Term::ip(&sa.ip().to_string())?;
        Some(vec![ip, Term::equals(K::Port, &sa.port().to_string())?])
    };
    let bad = |k: ObservableKind| format!("'{v}' is not a valid {k}");
    match hint {
        Hint::Ip => ip_terms(v).ok_or_else(|| format!("'{v}' is not an IP address or network")),
        Hint::Hash => match infer_kind(v) {
            Some(k) if k.is_hash() => Ok(vec![Term::equals(k, v).ok_or_else(|| bad(k))?]),
            _ => Err(format!(
                "'{v}' is not an MD5, SHA-1, SHA-256 or SHA-512 digest"
            )),
        },
        Hint::Kind(K::Ipv4 | K::Ipv6) => ip_terms(v).ok_or_else(|| bad(K::Ipv4)),
        Hint::Kind(K::Url) => {
            if let Some(t) = Term::equals(K::Url, v) {
                Ok(vec![t])
            } else if let Some(t) = url_fragment(v) {
                Ok(vec![t])
            } else {
                Err(bad(K::Url))
            }
        }
        Hint::Kind(k) => Term::equals(k, v).map(|t| vec![t]).ok_or_else(|| bad(k)),
        Hint::Infer => {
            if let Some(ts) = ip_terms(v) {
                return Ok(ts);
            }
            if let Some(k) = infer_kind(v) {
                return Term::equals(k, v).map(|t| vec![t]).ok_or_else(|| bad(k));
            }
            url_fragment(v)
                .map(|t| vec![t])
                .ok_or_else(|| format!("'{v}' is not an indicator (no type could be inferred)"))
        }
    }
}

/// A URL written without its scheme (`evil.example/gate.php`) or a bare path
/// (`/wp-content/gate.php`): a substring of the URLs it stands for.
fn url_fragment(v: &str) -> Option<Term> {
    if v.contains(char::is_whitespace) || !v.contains('/') {
        return None;
    }
    if v.starts_with('/') {
        return (v.len() > 1)
            .then(|| Term::contains(ObservableKind::Url, v))
            .flatten();
    }
    let (host, path) = v.split_at(v.find('/')?);
    let host_ok = normalise(ObservableKind::Domain, host).is_some()
        || crate::observable::parse_ip(host.rsplit_once(':').map_or(host, |(h, _)| h)).is_some()
        || normalise(
            ObservableKind::Domain,
            host.rsplit_once(':').map_or(host, |(h, _)| h),
        )
        .is_some();
    host_ok
        .then(|| {
            Term::contains(
                ObservableKind::Url,
                &format!("{}{path}", host.to_lowercase()),
            )
        })
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicator::ValueTest;
    use ObservableKind as K;

    #[test]
    fn times() {
        let t = parse_time("2024-05-01T10:00:00Z").unwrap();
        assert_eq!(parse_time("2024-05-01T12:00:00+02:00"), Some(t));
        assert_eq!(parse_time("2024-05-01 10:00:00"), Some(t));
        assert_eq!(parse_time("2024-05-01T10:00:00.000000+00:00"), Some(t));
        assert_eq!(parse_time(&t.timestamp().to_string()), Some(t));
        assert!(parse_time("2024-05-01").is_some());
        assert!(parse_time("yesterday").is_none());
    }

    #[test]
    fn hints_and_terms() {
        assert_eq!(type_hint("IP-DST"), Some(Hint::Ip));
        assert_eq!(type_hint("FileHash-SHA256"), Some(Hint::Kind(K::Sha256)));
        assert_eq!(type_hint("domain_name"), Some(Hint::Kind(K::Domain)));
        assert_eq!(type_hint("AS"), None);
        let t = terms_for(Hint::Infer, "203.0.113[.]7:8443").unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[1].test, ValueTest::Equals("8443".into()));
        let t = terms_for(Hint::Infer, "evil[.]example/gate.php").unwrap();
        assert_eq!(
            t[0].test,
            ValueTest::Contains("evil.example/gate.php".into())
        );
        assert!(terms_for(Hint::Hash, "abc").is_err());
        assert!(terms_for(Hint::Infer, "hello world").is_err());
        assert_eq!(
            terms_for(Hint::Ip, "2001:db8::/32").unwrap()[0].test,
            ValueTest::Cidr("2001:db8::/32".parse().unwrap())
        );
    }
}
