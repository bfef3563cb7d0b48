//! Scanning files and byte slices: size cap, timeout, bounded match copies.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::rules::YaraRules;

/// Limits applied by a [`FileScanner`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanOptions {
    /// Files (and byte slices) larger than this are skipped, not scanned,
    /// and counted in [`ScanStats::skipped_too_large`]. Default 64 MiB.
    pub max_file_size: u64,
    /// Time allowed to scan one file; a file that takes longer is reported
    /// as [`SkipReason::Timeout`]. Default 60 s. YARA-X checks the clock
    /// about once a second, so the effective resolution is one second.
    pub timeout: Duration,
    /// Matches kept per string (pattern) of a matching rule; the total is
    /// still counted in [`StringMatch::count`]. Default 5.
    pub max_matches_per_string: usize,
    /// Bytes of matched data kept per match; longer matches are cut and
    /// marked [`MatchLocation::truncated`]. Default 96.
    pub max_match_bytes: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            max_file_size: 64 * 1024 * 1024,
            timeout: Duration::from_secs(60),
            max_matches_per_string: 5,
            max_match_bytes: 96,
        }
    }
}

/// One rule that matched, with what made it fire.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleMatch {
    /// Rule identifier, e.g. `tiaki_webshell_aspx_chopper_eval`.
    pub rule: String,
    /// Namespace: the rule file it came from (`tiaki:<file>` for the pack).
    pub namespace: String,
    /// Rule tags, in rule order.
    pub tags: Vec<String>,
    /// Every `meta:` entry as key / value text, in rule order (integers,
    /// floats and booleans are written out; non-UTF-8 bytes are escaped).
    pub metadata: Vec<(String, String)>,
    /// The strings (patterns) that matched, in rule order; strings without a
    /// match are left out.
    pub strings: Vec<StringMatch>,
}

impl RuleMatch {
    /// The first value of a metadata key (key compared case-insensitively).
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// `description` metadata.
    pub fn description(&self) -> Option<&str> {
        self.meta("description")
    }

    /// `author` metadata.
    pub fn author(&self) -> Option<&str> {
        self.meta("author")
    }

    /// `reference` metadata.
    pub fn reference(&self) -> Option<&str> {
        self.meta("reference")
    }

    /// Rule level: `level` metadata, else `severity`, else `score`.
    pub fn level(&self) -> Option<&str> {
        self.meta("level")
            .or_else(|| self.meta("severity"))
            .or_else(|| self.meta("score"))
    }

    /// Intrusion set the rule is associated with: `intrusion_set`, else
    /// `threat_actor`, else `actor` metadata.
    pub fn intrusion_set(&self) -> Option<&str> {
        self.meta("intrusion_set")
            .or_else(|| self.meta("threat_actor"))
            .or_else(|| self.meta("actor"))
    }

    /// ATT&CK technique ids (`T1505.003`) named in the `attack`,
    /// `mitre_attack`, `mitre_att`, `technique` or `attack_id` metadata and
    /// in tags like `T1505_003`; upper-cased, deduplicated, in order.
    pub fn attack_techniques(&self) -> Vec<String> {
        const KEYS: &[&str] = &[
            "attack",
            "mitre_attack",
            "mitre_att",
            "mitre",
            "technique",
            "attack_id",
        ];
        let mut ids: Vec<String> = Vec::new();
        let texts = self
            .metadata
            .iter()
            .filter(|(k, _)| KEYS.iter().any(|key| k.eq_ignore_ascii_case(key)))
            .map(|(_, v)| v.clone())
            .chain(self.tags.iter().map(|t| t.replace('_', ".")));
        for text in texts {
            for token in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.')) {
                let token = token.trim_matches('.').to_ascii_uppercase();
                if is_technique_id(&token) && !ids.contains(&token) {
                    ids.push(token);
                }
            }
        }
        ids
    }
}

/// `T` + 4 digits, optionally `.` + 3 digits.
fn is_technique_id(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: &[u8]| r.iter().all(u8::is_ascii_digit);
    match b.len() {
        5 => b[0] == b'T' && digits(&b[1..]),
        9 => b[0] == b'T' && digits(&b[1..5]) && b[5] == b'.' && digits(&b[6..]),
        _ => false,
    }
}

/// Matches of one string (pattern) of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringMatch {
    /// Pattern identifier, e.g. `$eval_request`.
    pub identifier: String,
    /// Total number of matches of this pattern in the data (YARA-X stops
    /// counting at its own limit of one million).
    pub count: usize,
    /// The first matches, at most [`ScanOptions::max_matches_per_string`].
    pub matches: Vec<MatchLocation>,
}

/// Where a string matched, and the bytes (possibly cut).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchLocation {
    /// Byte offset in the file or slice.
    pub offset: u64,
    /// Length of the match in bytes.
    pub length: usize,
    /// The matched bytes, at most [`ScanOptions::max_match_bytes`].
    pub data: Vec<u8>,
    /// Whether `data` was cut.
    pub truncated: bool,
}

impl MatchLocation {
    /// The matched bytes as printable text: ASCII kept, other bytes as
    /// `\xNN`, and `…` when cut.
    pub fn data_escaped(&self) -> String {
        let mut out = String::with_capacity(self.data.len());
        for &b in &self.data {
            match b {
                b'\\' => out.push_str("\\\\"),
                b'\n' => out.push_str("\\n"),
                b'\r' => out.push_str("\\r"),
                b'\t' => out.push_str("\\t"),
                0x20..=0x7e => out.push(b as char),
                _ => out.push_str(&format!("\\x{b:02x}")),
            }
        }
        if self.truncated {
            out.push('…');
        }
        out
    }
}

/// Why a file or slice was not scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// Larger than [`ScanOptions::max_file_size`].
    TooLarge {
        /// Size of the file or slice.
        size: u64,
        /// The limit in force.
        limit: u64,
    },
    /// Not a regular file (directory, FIFO, socket, device): never opened,
    /// since opening a FIFO could block.
    NotAFile,
    /// The scan ran out of time ([`ScanOptions::timeout`]); no result.
    Timeout {
        /// The timeout in force.
        after: Duration,
    },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::TooLarge { size, limit } => {
                write!(f, "too large ({size} bytes, limit {limit})")
            }
            SkipReason::NotAFile => write!(f, "not a regular file"),
            SkipReason::Timeout { after } => {
                write!(f, "scan timed out after {} s", after.as_secs())
            }
        }
    }
}

/// Result of scanning one file or slice.
#[derive(Debug, Clone, PartialEq)]
pub enum ScanOutcome {
    /// Scanned; the rules that matched (empty when none did).
    Scanned(Vec<RuleMatch>),
    /// Not scanned, and why.
    Skipped(SkipReason),
}

impl ScanOutcome {
    /// The matching rules (empty when skipped or clean).
    pub fn matches(&self) -> &[RuleMatch] {
        match self {
            ScanOutcome::Scanned(m) => m,
            ScanOutcome::Skipped(_) => &[],
        }
    }

    /// The skip reason, if the data was not scanned.
    pub fn skip_reason(&self) -> Option<&SkipReason> {
        match self {
            ScanOutcome::Skipped(reason) => Some(reason),
            ScanOutcome::Scanned(_) => None,
        }
    }
}

/// Result of [`FileScanner::scan_file`].
#[derive(Debug, Clone, PartialEq)]
pub struct FileScan {
    /// The path as given.
    pub path: PathBuf,
    /// File size from its metadata when opened.
    pub size: u64,
    /// Matches or skip reason.
    pub outcome: ScanOutcome,
}

/// A file could not be scanned.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// Reading the file failed (missing, permission denied...).
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// YARA-X reported an error other than a timeout.
    #[error("YARA scan failed: {0}")]
    Yara(String),
}

/// Counters kept by a [`FileScanner`]; add up per-thread counters with
/// [`ScanStats::merge`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Files and slices scanned to the end.
    pub scanned: u64,
    /// Bytes scanned.
    pub bytes_scanned: u64,
    /// Scanned items with at least one matching rule.
    pub with_matches: u64,
    /// Total matching rules over all items.
    pub rule_matches: u64,
    /// Skipped for size ([`SkipReason::TooLarge`]).
    pub skipped_too_large: u64,
    /// Skipped as not a regular file ([`SkipReason::NotAFile`]).
    pub skipped_not_a_file: u64,
    /// Scans that timed out ([`SkipReason::Timeout`]).
    pub timed_out: u64,
    /// Files that could not be read, and YARA-X errors.
    pub errors: u64,
}

impl ScanStats {
    /// Adds another scanner's counters to these.
    pub fn merge(&mut self, other: &ScanStats) {
        self.scanned += other.scanned;
        self.bytes_scanned += other.bytes_scanned;
        self.with_matches += other.with_matches;
        self.rule_matches += other.rule_matches;
        self.skipped_too_large += other.skipped_too_large;
        self.skipped_not_a_file += other.skipped_not_a_file;
        self.timed_out += other.timed_out;
        self.errors += other.errors;
    }

    fn count(&mut self, outcome: &ScanOutcome, size: u64) {
        match outcome {
            ScanOutcome::Scanned(matches) => {
                self.scanned += 1;
                self.bytes_scanned += size;
                self.with_matches += u64::from(!matches.is_empty());
                self.rule_matches += matches.len() as u64;
            }
            ScanOutcome::Skipped(SkipReason::TooLarge { .. }) => self.skipped_too_large += 1,
            ScanOutcome::Skipped(SkipReason::NotAFile) => self.skipped_not_a_file += 1,
            ScanOutcome::Skipped(SkipReason::Timeout { .. }) => self.timed_out += 1,
        }
    }
}

/// Scans files and byte slices with a [`YaraRules`] set.
///
/// A `FileScanner` holds a YARA-X scanner (an instance of the compiled
/// rules with its own scratch memory), which is not shared between threads.
/// Create one per worker thread from the shared rules, for example with
/// rayon's `map_init(|| rules.scanner(options.clone()), |s, path| s.scan_file(path))`
/// or one per `std::thread::scope` worker, and add up [`FileScanner::stats`]
/// with [`ScanStats::merge`].
pub struct FileScanner<'r> {
    scanner: yara_x::Scanner<'r>,
    options: ScanOptions,
    stats: ScanStats,
}

impl<'r> FileScanner<'r> {
    /// A scanner over `rules` with `options`.
    pub fn new(rules: &'r YaraRules, options: ScanOptions) -> Self {
        let mut scanner = yara_x::Scanner::new(rules.yara_rules());
        scanner.set_timeout(options.timeout);
        // Files are read into memory by this crate (never memory-mapped: a
        // file truncated while mapped would kill the process with SIGBUS).
        scanner.use_mmap(false);
        FileScanner {
            scanner,
            options,
            stats: ScanStats::default(),
        }
    }

    /// The limits in force.
    pub fn options(&self) -> &ScanOptions {
        &self.options
    }

    /// Counters since this scanner was created.
    pub fn stats(&self) -> &ScanStats {
        &self.stats
    }

    /// Scans a byte slice (an archive member, a carved buffer...). Slices
    /// larger than [`ScanOptions::max_file_size`] are skipped.
    pub fn scan_bytes(&mut self, data: &[u8]) -> Result<ScanOutcome, ScanError> {
        let size = data.len() as u64;
        let outcome = if size > self.options.max_file_size {
            ScanOutcome::Skipped(SkipReason::TooLarge {
                size,
                limit: self.options.max_file_size,
            })
        } else {
            match self.scan_data(data) {
                Ok(outcome) => outcome,
                Err(e) => {
                    self.stats.errors += 1;
                    return Err(e);
                }
            }
        };
        self.stats.count(&outcome, size);
        Ok(outcome)
    }

    /// Scans one file. It is opened read-only (on Linux without updating its
    /// access time when the process may do so) and read into memory; it is
    /// never written. Non-regular files are not opened, files over the size
    /// limit are not read.
    pub fn scan_file(&mut self, path: impl AsRef<Path>) -> Result<FileScan, ScanError> {
        let path = path.as_ref();
        let result = self.scan_file_inner(path);
        match &result {
            Ok(scan) => self.stats.count(&scan.outcome, scan.size),
            Err(_) => self.stats.errors += 1,
        }
        result
    }

    fn scan_file_inner(&mut self, path: &Path) -> Result<FileScan, ScanError> {
        let io = |source| ScanError::Io {
            path: path.to_path_buf(),
            source,
        };
        let skipped = |size, reason| FileScan {
            path: path.to_path_buf(),
            size,
            outcome: ScanOutcome::Skipped(reason),
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        if !meta.is_file() {
            return Ok(skipped(0, SkipReason::NotAFile));
        }
        let limit = self.options.max_file_size;
        if meta.len() > limit {
            return Ok(skipped(
                meta.len(),
                SkipReason::TooLarge {
                    size: meta.len(),
                    limit,
                },
            ));
        }
        let file = open_read_only(path).map_err(io)?;
        let mut data = Vec::with_capacity(meta.len() as usize);
        // The file may grow while it is read: read at most one byte past the limit.
        file.take(limit.saturating_add(1))
            .read_to_end(&mut data)
            .map_err(io)?;
        let size = data.len() as u64;
        if size > limit {
            return Ok(skipped(size, SkipReason::TooLarge { size, limit }));
        }
        let outcome = self.scan_data(&data)?;
        Ok(FileScan {
            path: path.to_path_buf(),
            size,
            outcome,
        })
    }

    fn scan_data(&mut self, data: &[u8]) -> Result<ScanOutcome, ScanError> {
        let max_matches = self.options.max_matches_per_string;
        let max_bytes = self.options.max_match_bytes;
        let timeout = self.options.timeout;
        let results = match self.scanner.scan(data) {
            Ok(results) => results,
            Err(yara_x::ScanError::Timeout) => {
                return Ok(ScanOutcome::Skipped(SkipReason::Timeout { after: timeout }));
            }
            Err(e) => return Err(ScanError::Yara(e.to_string())),
        };
        let matches = results
            .matching_rules()
            .map(|rule| convert(&rule, max_matches, max_bytes))
            .collect();
        Ok(ScanOutcome::Scanned(matches))
    }
}

fn convert(rule: &yara_x::Rule<'_, '_>, max_matches: usize, max_bytes: usize) -> RuleMatch {
    let metadata = rule
        .metadata()
        .map(|(key, value)| {
            let value = match value {
                yara_x::MetaValue::Integer(i) => i.to_string(),
                yara_x::MetaValue::Float(f) => f.to_string(),
                yara_x::MetaValue::Bool(b) => b.to_string(),
                yara_x::MetaValue::String(s) => s.to_string(),
                yara_x::MetaValue::Bytes(b) => MatchLocation {
                    offset: 0,
                    length: b.len(),
                    data: b.to_vec(),
                    truncated: false,
                }
                .data_escaped(),
            };
            (key.to_string(), value)
        })
        .collect();
    let strings = rule
        .patterns()
        .filter_map(|pattern| {
            let matches = pattern.matches();
            let count = matches.len();
            if count == 0 {
                return None;
            }
            let matches = matches
                .take(max_matches)
                .map(|m| {
                    let range = m.range();
                    let data = m.data();
                    let kept = data.len().min(max_bytes);
                    MatchLocation {
                        offset: range.start as u64,
                        length: range.len(),
                        data: data[..kept].to_vec(),
                        truncated: kept < data.len(),
                    }
                })
                .collect();
            Some(StringMatch {
                identifier: pattern.identifier().to_string(),
                count,
                matches,
            })
        })
        .collect();
    RuleMatch {
        rule: rule.identifier().to_string(),
        namespace: rule.namespace().to_string(),
        tags: rule.tags().map(|t| t.identifier().to_string()).collect(),
        metadata,
        strings,
    }
}

/// Opens `path` for reading only. On Linux, first tries `O_NOATIME` so that
/// scanning does not change the evidence's access time (allowed to the
/// file's owner and to root); falls back to a plain read-only open.
fn open_read_only(path: &Path) -> std::io::Result<File> {
    #[cfg(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))]
    {
        use std::os::unix::fs::OpenOptionsExt;
        const O_NOATIME: i32 = 0o1_000_000;
        if let Ok(file) = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(O_NOATIME)
            .open(path)
        {
            return Ok(file);
        }
    }
    File::open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> YaraRules {
        let rules = YaraRules::builder()
            .project_pack(false)
            .add_source("t.yar", text)
            .build();
        assert!(rules.problems().is_empty(), "{:?}", rules.problems());
        rules
    }

    #[test]
    fn technique_ids_are_parsed_from_metadata_and_tags() {
        let m = RuleMatch {
            rule: "r".into(),
            namespace: "n".into(),
            tags: vec!["T1059_001".into(), "webshell".into()],
            metadata: vec![
                ("attack".into(), "T1505.003, t1190".into()),
                ("mitre_attack".into(), "attack.t1505.003".into()),
                ("other".into(), "T9999".into()),
            ],
            strings: vec![],
        };
        assert_eq!(m.attack_techniques(), ["T1505.003", "T1190", "T1059.001"]);
        assert!(
            is_technique_id("T1234") && !is_technique_id("T12345") && !is_technique_id("X1234")
        );
    }

    #[test]
    fn matches_carry_metadata_tags_and_bounded_strings() {
        let rules = rules(
            r#"rule two_strings : tag_a tag_b {
                 meta: description = "d" severity = 7 ok = true
                 strings: $a = "abc" $long = /x{20,}/
                 condition: $a and $long }"#,
        );
        let mut scanner = rules.scanner(ScanOptions {
            max_matches_per_string: 2,
            max_match_bytes: 8,
            ..Default::default()
        });
        let data = format!("abc abc abc {} end", "x".repeat(30));
        let ScanOutcome::Scanned(matches) = scanner.scan_bytes(data.as_bytes()).unwrap() else {
            panic!("skipped")
        };
        assert_eq!(matches.len(), 1);
        let m = &matches[0];
        assert_eq!(
            (m.rule.as_str(), m.namespace.as_str()),
            ("two_strings", "t.yar")
        );
        assert_eq!(m.tags, ["tag_a", "tag_b"]);
        assert_eq!(m.description(), Some("d"));
        assert_eq!(m.level(), Some("7"));
        assert_eq!(m.meta("OK"), Some("true"));
        let a = &m.strings[0];
        assert_eq!(
            (a.identifier.as_str(), a.count, a.matches.len()),
            ("$a", 3, 2)
        );
        assert_eq!((a.matches[0].offset, a.matches[1].offset), (0, 4));
        let long = &m.strings[1];
        assert_eq!((long.matches[0].offset, long.matches[0].length), (12, 30));
        assert!(long.matches[0].truncated);
        assert_eq!(long.matches[0].data_escaped(), "xxxxxxxx…");
        assert_eq!(scanner.stats().scanned, 1);
        assert_eq!(scanner.stats().with_matches, 1);
    }

    #[test]
    fn oversized_slice_is_skipped_and_counted() {
        let rules = rules("rule any_data { condition: filesize > 0 }");
        let mut scanner = rules.scanner(ScanOptions {
            max_file_size: 4,
            ..Default::default()
        });
        assert_eq!(scanner.scan_bytes(b"1234").unwrap().matches().len(), 1);
        let outcome = scanner.scan_bytes(b"12345").unwrap();
        assert_eq!(
            outcome.skip_reason(),
            Some(&SkipReason::TooLarge { size: 5, limit: 4 })
        );
        assert_eq!(scanner.stats().skipped_too_large, 1);
        assert_eq!(scanner.stats().scanned, 1);
    }

    #[test]
    fn escaping_keeps_text_readable() {
        let m = MatchLocation {
            offset: 0,
            length: 5,
            data: b"a\\\n\x00\xff".to_vec(),
            truncated: false,
        };
        assert_eq!(m.data_escaped(), "a\\\\\\n\\x00\\xff");
    }
}
