//! CSV (and TSV) indicator tables with a header row.
//!
//! Spreadsheets from partners and exports from other tools name their columns in many ways;
//! the header is matched case-insensitively against the usual names, the delimiter is taken
//! from the header line (comma, semicolon or tab), and every value is refanged. Without a
//! type column, each value's type is inferred.

use std::collections::HashMap;
use std::sync::Arc;

use super::{FeedError, FeedReport, Hint, Interner, Position, parse_time, terms_for, type_hint};
use crate::indicator::{Condition, Indicator, synthetic_id};
use tiaki_stix::Tlp;

const VALUE: &[&str] = &[
    "value",
    "indicator",
    "ioc",
    "observable",
    "ioc_value",
    "indicator_value",
    "data",
];
const TYPE: &[&str] = &[
    "type",
    "kind",
    "indicator_type",
    "ioc_type",
    "type_name",
    "observable_type",
];
const NAME: &[&str] = &["comment", "description", "name", "title", "info"];
const ACTOR: &[&str] = &[
    "intrusion_set",
    "intrusion_sets",
    "actor",
    "threat_actor",
    "actors",
    "apt",
    "group",
];
const TLP: &[&str] = &["tlp", "marking"];
const FROM: &[&str] = &["valid_from", "first_seen", "created", "date"];
const UNTIL: &[&str] = &[
    "valid_until",
    "expiration",
    "expires",
    "expiry",
    "last_seen",
];
const CONFIDENCE: &[&str] = &["confidence", "score"];
const LABELS: &[&str] = &["labels", "tags", "category", "indicator_types"];
const ID: &[&str] = &["id", "uuid"];

fn header_key(h: &str) -> String {
    h.trim()
        .trim_matches('"')
        .to_ascii_lowercase()
        .replace([' ', '-'], "_")
}

fn delimiter(first_line: &str) -> u8 {
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| first_line.bytes().filter(|b| b == d).count())
        .unwrap_or(b',')
}

fn header_line(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes)
        .ok()
        .or_else(|| std::str::from_utf8(&bytes[..bytes.len().min(4096)]).ok())
        .and_then(|s| {
            s.lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#'))
        })
}

/// Whether the first non-comment line is a header naming a value column.
pub(crate) fn has_header(bytes: &[u8]) -> bool {
    let Some(line) = header_line(bytes) else {
        return false;
    };
    let d = delimiter(line) as char;
    line.split(d)
        .any(|h| VALUE.contains(&header_key(h).as_str()))
}

/// Reads a CSV table of indicators with a header row (`#` comment lines allowed before and
/// between rows). Columns, matched case-insensitively:
///
/// * value (required): `value`, `indicator`, `ioc`, `observable`…;
/// * type: `type`, `kind`, `indicator_type`, `ioc_type` (MISP and common type names;
///   inferred from the value when absent or empty);
/// * `comment`/`description`/`name` → name; `intrusion_set`/`actor`/`threat_actor` →
///   intrusion sets (several separated by `;` or `|`); `tlp`; `valid_from`/`first_seen`;
///   `valid_until`/`expiration`; `confidence`; `labels`/`tags`/`category`; `id`/`uuid`.
///
/// A row whose value is not an indicator, whose type is unknown or whose dates or TLP
/// cannot be read is skipped and reported with its line.
pub fn read_csv(
    bytes: &[u8],
    source: &str,
    out: &mut Vec<Indicator>,
    report: &mut FeedReport,
) -> Result<(), FeedError> {
    let malformed = |reason: String| FeedError::Malformed {
        file: source.to_string(),
        reason,
    };
    let line = header_line(bytes).ok_or_else(|| malformed("empty CSV file".into()))?;
    let mut rdr = ::csv::ReaderBuilder::new()
        .delimiter(delimiter(line))
        .comment(Some(b'#'))
        .flexible(true)
        .trim(::csv::Trim::All)
        .from_reader(bytes);
    let headers = rdr
        .headers()
        .map_err(|e| malformed(format!("unreadable CSV header: {e}")))?
        .clone();
    let mut cols: HashMap<String, usize> = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        // The first column of a name wins.
        cols.entry(header_key(h)).or_insert(i);
    }
    let col = |names: &[&str]| names.iter().find_map(|n| cols.get(*n).copied());
    let value_col = col(VALUE).ok_or_else(|| {
        malformed("no value column in the header (value, indicator, ioc, observable…)".into())
    })?;
    let (type_col, name_col, actor_col, tlp_col) = (col(TYPE), col(NAME), col(ACTOR), col(TLP));
    let (from_col, until_col, conf_col, labels_col, id_col) =
        (col(FROM), col(UNTIL), col(CONFIDENCE), col(LABELS), col(ID));

    report.files += 1;
    let src: Arc<str> = Arc::from(source);
    let mut strings = Interner::default();
    let start = out.len();
    let mut record = ::csv::StringRecord::new();
    loop {
        let line_no = rdr.position().line();
        match rdr.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let l = e.position().map_or(line_no, |p| p.line());
                report.skip(
                    source,
                    Position::Line(l),
                    "unreadable CSV row",
                    e.to_string(),
                );
                if matches!(e.kind(), ::csv::ErrorKind::Io(_)) {
                    break;
                }
                continue;
            }
        }
        let line = record.position().map_or(line_no, |p| p.line());
        let at = || Position::Line(line);
        let get = |c: Option<usize>| c.and_then(|c| record.get(c)).filter(|s| !s.is_empty());
        let Some(value) = get(Some(value_col)) else {
            report.skip(source, at(), "empty value", "");
            continue;
        };
        let hint = match get(type_col) {
            None => Hint::Infer,
            Some(t) => match type_hint(t) {
                Some(h) => h,
                None => {
                    report.skip(source, at(), format!("unknown type {t}"), value);
                    continue;
                }
            },
        };
        let terms = match terms_for(hint, value) {
            Ok(t) => t,
            Err(why) => {
                report.skip(source, at(), "not an indicator", why);
                continue;
            }
        };
        let tlp = match get(tlp_col).map(str::parse::<Tlp>) {
            None => None,
            Some(Ok(t)) => Some(t),
            Some(Err(e)) => {
                report.skip(source, at(), "bad TLP", e.to_string());
                continue;
            }
        };
        let mut times = [None, None];
        let mut bad = None;
        for (slot, c) in times.iter_mut().zip([from_col, until_col]) {
            if let Some(raw) = get(c) {
                match parse_time(raw) {
                    Some(t) => *slot = Some(t),
                    None => bad = Some(raw),
                }
            }
        }
        if let Some(raw) = bad {
            report.skip(source, at(), "bad date", raw);
            continue;
        }
        let confidence = match get(conf_col).map(|c| c.parse::<f64>()) {
            None => None,
            Some(Ok(c)) if (0.0..=100.0).contains(&c) => Some(c.round() as u8),
            Some(_) => {
                report.skip(source, at(), "bad confidence", get(conf_col).unwrap_or(""));
                continue;
            }
        };
        let split = |s: Option<&str>| -> Vec<String> {
            s.map(|s| {
                s.split([';', '|'])
                    .map(str::trim)
                    .filter(|x| !x.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
        };
        let condition = Condition::All(terms);
        let id = match get(id_col) {
            Some(i) if i.starts_with("indicator--") => i.to_string(),
            Some(i) if uuid::Uuid::parse_str(i).is_ok() => {
                format!("indicator--{}", i.to_ascii_lowercase())
            }
            _ => synthetic_id(source, &format!("{}", CondKey(&condition))),
        };
        out.push(Indicator {
            id,
            name: get(name_col).map(|n| strings.get(n)),
            source: src.clone(),
            tlp,
            valid_from: times[0],
            valid_until: times[1],
            intrusion_sets: split(get(actor_col))
                .iter()
                .map(|a| strings.get(a))
                .collect(),
            confidence,
            labels: split(get(labels_col))
                .iter()
                .map(|a| strings.get(a))
                .collect(),
            pattern: None,
            condition,
        });
    }
    report.count(&out[start..]);
    Ok(())
}

/// A condition written out for a synthetic id: its terms, in order.
pub(crate) struct CondKey<'a>(pub &'a Condition);

impl std::fmt::Display for CondKey<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, alt) in self.0.alternatives().iter().enumerate() {
            if i > 0 {
                f.write_str(" OR ")?;
            }
            for (j, t) in alt.iter().enumerate() {
                if j > 0 {
                    f.write_str(" AND ")?;
                }
                write!(f, "{t}")?;
            }
        }
        Ok(())
    }
}
