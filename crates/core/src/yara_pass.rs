//! The YARA pass of a hunt: every file under the evidence paths, scanned with the YARA rules.
//!
//! Logs show that `shell.aspx` was requested; the file itself proves what it is. So a hunt
//! with `--yara` also walks the evidence folders (web roots, upload folders, dropped tools
//! copied off a host) and scans each regular file, read-only and size-capped, on every core.
//! Each matching rule becomes a detection in the same contract as rule and indicator hits,
//! with the file's SHA-256 and modification time so that it can be shared and put on the
//! timeline. Triage collections arrive zipped: the members of `.zip` archives and the
//! content of `.gz` files are scanned too (one level deep, within the size cap, with a limit
//! on the bytes one archive may expand to), named `archive.zip!member` as the readers do.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tiaki_sigma::Level;
use tiaki_yara::{EvidenceWalker, FileScan, RuleMatch, ScanOptions, ScanOutcome, YaraRules};

use crate::detection::{Detection, DetectionKind, SourceRef, YaraInfo, YaraString, rfc3339};
use crate::error::HuntError;

/// Files handed to the pool at a time: enough to keep every core busy, few enough that a
/// walk over a million files never holds them all.
const BATCH: usize = 256;

/// Problems kept in full in the summary; the rest are counted.
const KEEP_PROBLEMS: usize = 20;

/// Bytes one archive may expand to in the YARA pass; members beyond are counted as skipped.
const ARCHIVE_BUDGET: u64 = 4 << 30;

/// One scanned item: a file, or a member of an archive.
struct Item {
    /// The path as detections name it (`archive.zip!member`).
    path: String,
    size: u64,
    outcome: ScanOutcome,
    /// For matched items: SHA-256 and modification time (the archive's, for members).
    facts: Option<FileFacts>,
}

/// The YARA part of a hunt's account.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct YaraSummary {
    /// Rules compiled (the project pack and `--yara` files).
    pub rules: usize,
    /// Rule files that could not be compiled (each reported on stderr when loaded).
    pub rule_files_refused: usize,
    /// Files scanned to the end.
    pub files_scanned: u64,
    /// Bytes scanned.
    pub bytes_scanned: u64,
    /// Files with at least one matching rule.
    pub files_matched: u64,
    /// YARA detections written.
    pub hits: u64,
    /// Files not scanned, per reason (`too large`, `timed out`, `unreadable`).
    pub files_skipped: BTreeMap<String, u64>,
    /// The first problems in full (file and reason).
    pub problems: Vec<String>,
}

impl YaraSummary {
    fn skip(&mut self, reason: &str, detail: String) {
        *self.files_skipped.entry(reason.to_string()).or_default() += 1;
        if self.problems.len() < KEEP_PROBLEMS {
            self.problems.push(detail);
        }
    }
}

/// Scans every regular file under `paths` with `rules` and hands each match to `emit` as a
/// detection, files in walk order. Unreadable files and directories are counted and listed;
/// they never stop the pass. Errors are `emit`'s.
pub fn yara_pass<P: AsRef<Path>>(
    paths: &[P],
    rules: &YaraRules,
    options: &ScanOptions,
    emit: &mut dyn FnMut(Detection) -> Result<(), HuntError>,
) -> Result<YaraSummary, HuntError> {
    let mut summary = YaraSummary {
        rules: rules.rule_count(),
        rule_files_refused: rules.skipped_files(),
        ..YaraSummary::default()
    };
    let mut walker = EvidenceWalker::new(paths.iter().map(|p| p.as_ref().to_path_buf()));
    let mut batch: Vec<PathBuf> = Vec::with_capacity(BATCH);
    loop {
        batch.clear();
        for item in walker.by_ref() {
            match item {
                Ok(p) => batch.push(p),
                Err(e) => summary.skip("unreadable", e.to_string()),
            }
            if batch.len() == BATCH {
                break;
            }
        }
        if batch.is_empty() {
            break;
        }
        let results: Vec<Vec<Result<Item, String>>> = batch
            .par_iter()
            .map_init(
                || rules.scanner(options.clone()),
                |scanner, path| scan_path(scanner, path),
            )
            .collect();
        for result in results.into_iter().flatten() {
            match result {
                Err(e) => summary.skip("unreadable", e),
                Ok(item) => {
                    if let Some(reason) = item.outcome.skip_reason() {
                        let key = match reason {
                            tiaki_yara::SkipReason::TooLarge { .. } => "too large",
                            tiaki_yara::SkipReason::Timeout { .. } => "timed out",
                            tiaki_yara::SkipReason::NotAFile => "not a regular file",
                        };
                        summary.skip(key, format!("{}: {reason}", item.path));
                        continue;
                    }
                    summary.files_scanned += 1;
                    summary.bytes_scanned += item.size;
                    if let (ScanOutcome::Scanned(matches), Some(facts)) =
                        (&item.outcome, &item.facts)
                        && !matches.is_empty()
                    {
                        summary.files_matched += 1;
                        for m in matches {
                            emit(detection(m, &item, facts))?;
                        }
                    }
                }
            }
        }
    }
    Ok(summary)
}

/// What a detection says of the matched file besides the match.
struct FileFacts {
    modified: Option<DateTime<Utc>>,
    sha256: Option<String>,
}

fn modified(path: &Path) -> Option<DateTime<Utc>> {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .map(DateTime::<Utc>::from)
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Scans one file; for a zip archive or a gzip file also what is inside.
fn scan_path(scanner: &mut tiaki_yara::FileScanner<'_>, path: &Path) -> Vec<Result<Item, String>> {
    let mut out = Vec::new();
    let scan: FileScan = match scanner.scan_file(path) {
        Ok(s) => s,
        Err(e) => {
            out.push(Err(e.to_string()));
            return out;
        }
    };
    let facts = (!scan.outcome.matches().is_empty()).then(|| FileFacts {
        modified: modified(path),
        sha256: sha256_of(path).ok(),
    });
    let scanned = scan.outcome.skip_reason().is_none();
    out.push(Ok(Item {
        path: path.display().to_string(),
        size: scan.size,
        outcome: scan.outcome,
        facts,
    }));
    if scanned && let Some(kind) = magic(path) {
        let limit = scanner.options().max_file_size;
        match std::fs::File::open(path) {
            Err(e) => out.push(Err(format!("{}: {e}", path.display()))),
            Ok(file) => match kind {
                Archive::Zip => scan_zip(scanner, path, file, limit, &mut out),
                Archive::Gzip => scan_gzip(scanner, path, file, limit, &mut out),
            },
        }
    }
    out
}

enum Archive {
    Zip,
    Gzip,
}

fn magic(path: &Path) -> Option<Archive> {
    let mut head = [0u8; 4];
    let mut f = std::fs::File::open(path).ok()?;
    f.read_exact(&mut head).ok()?;
    match head {
        [b'P', b'K', 3, 4] => Some(Archive::Zip),
        [0x1f, 0x8b, _, _] => Some(Archive::Gzip),
        _ => None,
    }
}

/// Reads at most `limit + 1` bytes, so that a member larger than the cap (whatever its
/// header claims) is seen to be larger without being expanded.
fn read_capped(r: impl Read, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut data = Vec::new();
    r.take(limit.saturating_add(1)).read_to_end(&mut data)?;
    Ok(data)
}

fn scan_member(
    scanner: &mut tiaki_yara::FileScanner<'_>,
    name: String,
    data: &[u8],
    archive: &Path,
    out: &mut Vec<Result<Item, String>>,
) {
    match scanner.scan_bytes(data) {
        Err(e) => out.push(Err(format!("{name}: {e}"))),
        Ok(outcome) => {
            let facts = (!outcome.matches().is_empty()).then(|| FileFacts {
                modified: modified(archive),
                sha256: Some(hex(&Sha256::digest(data))),
            });
            out.push(Ok(Item {
                path: name,
                size: data.len() as u64,
                outcome,
                facts,
            }));
        }
    }
}

fn scan_zip(
    scanner: &mut tiaki_yara::FileScanner<'_>,
    path: &Path,
    file: std::fs::File,
    limit: u64,
    out: &mut Vec<Result<Item, String>>,
) {
    let mut zip = match zip::ZipArchive::new(std::io::BufReader::new(file)) {
        Ok(z) => z,
        Err(e) => return out.push(Err(format!("{}: not a readable zip: {e}", path.display()))),
    };
    let mut budget = ARCHIVE_BUDGET;
    for i in 0..zip.len() {
        let mut member = match zip.by_index(i) {
            Ok(m) => m,
            Err(e) => {
                out.push(Err(format!("{}: member {i}: {e}", path.display())));
                continue;
            }
        };
        if member.is_dir() {
            continue;
        }
        let name = match member.name() {
            Ok(n) => format!("{}!{n}", path.display()),
            Err(_) => format!(
                "{}!{}",
                path.display(),
                String::from_utf8_lossy(member.name_raw())
            ),
        };
        let declared = member.size();
        if declared > limit || declared > budget {
            out.push(Ok(Item {
                path: name,
                size: declared,
                outcome: ScanOutcome::Skipped(tiaki_yara::SkipReason::TooLarge {
                    size: declared,
                    limit: limit.min(budget),
                }),
                facts: None,
            }));
            continue;
        }
        match read_capped(&mut member, limit.min(budget)) {
            Err(e) => out.push(Err(format!("{name}: {e}"))),
            Ok(data) => {
                budget = budget.saturating_sub(data.len() as u64);
                // `scan_bytes` skips (and counts) data over the size cap.
                scan_member(scanner, name, &data, path, out);
            }
        }
    }
}

fn scan_gzip(
    scanner: &mut tiaki_yara::FileScanner<'_>,
    path: &Path,
    file: std::fs::File,
    limit: u64,
    out: &mut Vec<Result<Item, String>>,
) {
    let name = format!("{}!", path.display());
    match read_capped(flate2::read::MultiGzDecoder::new(file), limit) {
        Err(e) => out.push(Err(format!("{name}: {e}"))),
        Ok(data) => scan_member(scanner, name, &data, path, out),
    }
}

/// The SHA-256 of a file, read (read-only) in blocks.
fn sha256_of(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

/// The detection of rule `m` on the scanned file or member.
fn detection(m: &RuleMatch, scan: &Item, file: &FileFacts) -> Detection {
    let path = scan.path.clone();
    let mut event = Map::new();
    event.insert("path".into(), Value::String(path.clone()));
    let name = path
        .rsplit(['/', '\\', '!'])
        .next()
        .unwrap_or_default()
        .to_string();
    event.insert("name".into(), Value::String(name));
    event.insert("size".into(), Value::from(scan.size));
    if let Some(h) = &file.sha256 {
        event.insert("sha256".into(), Value::String(h.clone()));
    }
    if let Some(t) = &file.modified {
        event.insert("modified".into(), Value::String(rfc3339(t)));
    }
    let meta: Map<String, Value> = m
        .metadata
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let strings = m
        .strings
        .iter()
        .flat_map(|s| {
            s.matches.iter().map(|loc| YaraString {
                identifier: s.identifier.clone(),
                offset: loc.offset,
                data: loc.data_escaped(),
            })
        })
        .take(32)
        .collect();
    let title = match m.description() {
        Some(d) => format!("YARA {}: {d}", m.rule),
        None => format!("YARA {}", m.rule),
    };
    Detection {
        rule_id: Some(m.rule.clone()),
        rule_title: title,
        level: Some(m.level().and_then(Level::parse).unwrap_or(Level::High)),
        timestamp: file.modified.as_ref().map(rfc3339),
        host: None,
        attack: m.attack_techniques(),
        source: SourceRef {
            path,
            record_id: None,
            line: None,
            recovered: false,
        },
        event,
        kind: DetectionKind::Yara,
        rule_path: m.namespace.clone(),
        logsource: None,
        correlation: None,
        indicator: None,
        yara: Some(YaraInfo {
            rule: m.rule.clone(),
            namespace: m.namespace.clone(),
            tags: m.tags.clone(),
            meta,
            strings,
            file_size: scan.size,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_web_root_is_scanned_and_a_shell_found() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("wwwroot");
        std::fs::create_dir_all(root.join("aspnet_client")).unwrap();
        std::fs::write(
            root.join("aspnet_client/errors.aspx"),
            "<%@ Page Language=\"Jscript\"%><%eval(Request.Item[\"z\"],\"unsafe\");%>",
        )
        .unwrap();
        std::fs::write(
            root.join("default.htm"),
            "<html><body>Welcome</body></html>",
        )
        .unwrap();
        let rules = YaraRules::project_pack_only();
        let mut found = Vec::new();
        let summary = yara_pass(&[&root], &rules, &ScanOptions::default(), &mut |d| {
            found.push(d);
            Ok(())
        })
        .unwrap();
        assert_eq!(summary.files_scanned, 2);
        assert_eq!(summary.files_matched, 1);
        assert!(!found.is_empty());
        let d = &found[0];
        assert_eq!(d.kind, DetectionKind::Yara);
        assert!(d.source.path.ends_with("errors.aspx"), "{}", d.source.path);
        assert!(
            d.attack.contains(&"T1505.003".to_string()),
            "{:?}",
            d.attack
        );
        assert_eq!(d.event["sha256"].as_str().unwrap().len(), 64);
        assert!(
            d.yara
                .as_ref()
                .unwrap()
                .strings
                .iter()
                .any(|s| !s.data.is_empty())
        );
        assert!(d.timestamp.is_some());
    }

    #[test]
    fn shells_inside_zip_and_gzip_evidence_are_found() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let shell = b"<%@ Page Language=\"Jscript\"%><%eval(Request.Item[\"z\"],\"unsafe\");%>";
        let zpath = dir.path().join("triage.zip");
        let mut z = zip::ZipWriter::new(std::fs::File::create(&zpath).unwrap());
        let opts = zip::write::SimpleFileOptions::default();
        z.start_file("inetpub/wwwroot/aspnet_client/errors.aspx", opts)
            .unwrap();
        z.write_all(shell).unwrap();
        z.start_file("inetpub/wwwroot/default.htm", opts).unwrap();
        z.write_all(b"<html>hello</html>").unwrap();
        z.finish().unwrap();
        let gpath = dir.path().join("shell.aspx.gz");
        let mut g = flate2::write::GzEncoder::new(
            std::fs::File::create(&gpath).unwrap(),
            flate2::Compression::default(),
        );
        g.write_all(shell).unwrap();
        g.finish().unwrap();
        let rules = YaraRules::project_pack_only();
        let mut found = Vec::new();
        let summary = yara_pass(&[dir.path()], &rules, &ScanOptions::default(), &mut |d| {
            found.push(d);
            Ok(())
        })
        .unwrap();
        // Two files and three members/streams.
        assert_eq!(summary.files_scanned, 5, "{summary:?}");
        let paths: Vec<&str> = found.iter().map(|d| d.source.path.as_str()).collect();
        assert!(
            paths
                .iter()
                .any(|p| p.ends_with("triage.zip!inetpub/wwwroot/aspnet_client/errors.aspx")),
            "{paths:?}"
        );
        assert!(
            paths.iter().any(|p| p.ends_with("shell.aspx.gz!")),
            "{paths:?}"
        );
        assert!(!paths.iter().any(|p| p.ends_with("default.htm")));
        let member = found
            .iter()
            .find(|d| d.source.path.ends_with("errors.aspx"))
            .unwrap();
        assert_eq!(member.event["name"], "errors.aspx");
        let expected: String = hex(&Sha256::digest(shell));
        assert_eq!(member.event["sha256"], expected.as_str());
    }

    #[test]
    fn oversized_and_missing_files_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("big.bin"), vec![b'A'; 2048]).unwrap();
        let rules = YaraRules::project_pack_only();
        let opts = ScanOptions {
            max_file_size: 1024,
            ..ScanOptions::default()
        };
        let missing = dir.path().join("nope");
        let summary = yara_pass(&[dir.path(), missing.as_path()], &rules, &opts, &mut |_| {
            Ok(())
        })
        .unwrap();
        assert_eq!(summary.files_skipped.get("too large"), Some(&1));
        assert_eq!(
            summary.files_skipped.get("unreadable"),
            Some(&1),
            "{summary:?}"
        );
        assert!(summary.problems.iter().any(|p| p.contains("nope")));
    }
}
