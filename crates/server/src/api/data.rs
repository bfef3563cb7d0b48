//! The one place the console and the API read and change cases.
//!
//! # Why an adapter
//!
//! Both front ends show the same things (a case, its detections, its analysis, notes) and make
//! the same changes (verdicts, notes); routing both through these functions keeps the
//! validation of user input (verdict names, levels, times, paging) in one place, and keeps
//! the handlers free of store details. Values the front ends only display travel as JSON
//! (`serde_json::Value`): the API returns them as they are and the console reads the fields it
//! shows, so a field added to the store appears in the API without a change here.

use serde::Serialize;
use serde_json::{Value, json};
use tiaki_report::Investigation;
use tiaki_store::cases::{DetectionQuery, NoteTarget, Verdict, VerdictFilter};
use tiaki_store::{CaseStore, StoreError};

/// Detections per page when the request does not say.
pub const DEFAULT_LIMIT: usize = 50;
/// The most detections one request may ask for.
pub const MAX_LIMIT: usize = 1000;

/// Why a request could not be answered.
#[derive(Debug)]
pub enum DataError {
    /// No case, detection or note of that name (404).
    NotFound(String),
    /// A parameter is malformed (400).
    Invalid(String),
    /// The store failed (500).
    Store(StoreError),
}

impl From<StoreError> for DataError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => DataError::NotFound(e.to_string()),
            StoreError::Invalid(m) => DataError::Invalid(m),
            e => DataError::Store(e),
        }
    }
}

impl std::fmt::Display for DataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DataError::NotFound(m) | DataError::Invalid(m) => f.write_str(m),
            DataError::Store(e) => write!(f, "{e}"),
        }
    }
}

/// Result of the adapter.
pub type DataResult<T> = Result<T, DataError>;

fn to_json<T: Serialize>(v: &T) -> DataResult<Value> {
    serde_json::to_value(v).map_err(|e| DataError::Store(StoreError::Json(e)))
}

/// The detection filter as the user gave it (query string of the API and of the console's
/// filter form); every field optional, all text until [`Filter::query`] checks it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(default)]
pub struct Filter {
    /// Free text (rule title, host, event fields).
    pub text: Option<String>,
    /// Lowest rule level: `informational`, `low`, `medium`, `high`, `critical`.
    pub min_level: Option<String>,
    /// Host name.
    pub host: Option<String>,
    /// Rule title or id.
    pub rule: Option<String>,
    /// ATT&CK technique id (`T1505.003`).
    pub technique: Option<String>,
    /// `detection`, `correlation`, `indicator` or `yara`.
    pub kind: Option<String>,
    /// `tp`, `fp`, `none` (not decided yet: no verdict or undetermined) or `any` (decided).
    pub verdict: Option<String>,
    /// Earliest time, RFC 3339.
    pub since: Option<String>,
    /// Latest time, RFC 3339.
    pub until: Option<String>,
    /// Rows to skip.
    pub offset: Option<String>,
    /// Rows per page (at most [`MAX_LIMIT`]).
    pub limit: Option<String>,
    /// `true` for newest first.
    pub newest_first: Option<String>,
}

/// An empty parameter (an untouched form field) is no parameter.
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Parses a verdict as the API and the console spell it (`true-positive`, `tp`, …).
pub fn parse_verdict(s: &str) -> DataResult<Verdict> {
    Ok(Verdict::parse(s)?)
}

fn check_time(name: &str, v: &str) -> DataResult<String> {
    chrono::DateTime::parse_from_rfc3339(v)
        .map(|_| v.to_owned())
        .or_else(|_| {
            // A date alone (`2025-03-03`) or a time without seconds, as a date input gives.
            chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map(|d| format!("{d}T00:00:00Z"))
                .or_else(|_| {
                    chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M")
                        .map(|t| format!("{}Z", t.format("%Y-%m-%dT%H:%M:%S")))
                })
        })
        .map_err(|_| {
            DataError::Invalid(format!(
                "{name}: '{v}' is not a time (RFC 3339, 2025-03-03T02:30:00Z, or a date)"
            ))
        })
}

impl Filter {
    /// The parameters that are set, `(name, value)`, in a fixed order (for links that keep
    /// the filter, such as the next page).
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        [
            ("text", &self.text),
            ("min_level", &self.min_level),
            ("host", &self.host),
            ("rule", &self.rule),
            ("technique", &self.technique),
            ("kind", &self.kind),
            ("verdict", &self.verdict),
            ("since", &self.since),
            ("until", &self.until),
            ("offset", &self.offset),
            ("limit", &self.limit),
            ("newest_first", &self.newest_first),
        ]
        .into_iter()
        .filter_map(|(k, v)| given(v).map(|v| (k, v)))
        .collect()
    }

    /// The offset and limit, checked.
    pub fn paging(&self) -> DataResult<(usize, usize)> {
        let num = |name: &str, v: &Option<String>, default: usize| -> DataResult<usize> {
            match given(v) {
                None => Ok(default),
                Some(s) => s.parse::<usize>().map_err(|_| {
                    DataError::Invalid(format!("{name}: '{s}' is not a non-negative integer"))
                }),
            }
        };
        let offset = num("offset", &self.offset, 0)?;
        let limit = num("limit", &self.limit, DEFAULT_LIMIT)?;
        if limit == 0 || limit > MAX_LIMIT {
            return Err(DataError::Invalid(format!(
                "limit: must be between 1 and {MAX_LIMIT}"
            )));
        }
        Ok((offset, limit))
    }

    /// The store query, or why the filter is malformed.
    pub fn query(&self) -> DataResult<DetectionQuery> {
        let (offset, limit) = self.paging()?;
        let min_level = match given(&self.min_level) {
            None => None,
            Some(l) => Some(
                tiaki_sigma_level(l)
                    .ok_or_else(|| {
                        DataError::Invalid(format!(
                            "min_level: '{l}' is not a level (informational, low, medium, high, critical)"
                        ))
                    })?
                    .to_owned(),
            ),
        };
        let kind = match given(&self.kind) {
            None => None,
            Some(k) => {
                let k = k.to_ascii_lowercase();
                if !["detection", "correlation", "indicator", "yara"].contains(&k.as_str()) {
                    return Err(DataError::Invalid(format!(
                        "kind: '{k}' is not a kind (detection, correlation, indicator, yara)"
                    )));
                }
                Some(k)
            }
        };
        let verdict = given(&self.verdict).map(VerdictFilter::parse).transpose()?;
        let since = given(&self.since)
            .map(|v| check_time("since", v))
            .transpose()?;
        let until = given(&self.until)
            .map(|v| check_time("until", v))
            .transpose()?;
        let newest_first = match given(&self.newest_first) {
            None => false,
            Some("true" | "1" | "on" | "yes") => true,
            Some("false" | "0" | "off" | "no") => false,
            Some(o) => {
                return Err(DataError::Invalid(format!(
                    "newest_first: '{o}' is not true or false"
                )));
            }
        };
        Ok(DetectionQuery {
            text: given(&self.text).map(str::to_owned),
            min_level,
            host: given(&self.host).map(str::to_owned),
            rule: given(&self.rule).map(str::to_owned),
            kind,
            technique: given(&self.technique).map(str::to_owned),
            verdict,
            since,
            until,
            offset: offset as u64,
            limit: Some(limit as u64),
            newest_first,
        })
    }
}

/// The canonical lower-case name of a level, if `s` is one.
fn tiaki_sigma_level(s: &str) -> Option<&'static str> {
    Some(match s.to_ascii_lowercase().as_str() {
        "informational" | "info" => "informational",
        "low" => "low",
        "medium" => "medium",
        "high" => "high",
        "critical" => "critical",
        _ => return None,
    })
}

/// `true-positive`, `false-positive` or `undetermined`.
pub fn verdict_name(v: Verdict) -> &'static str {
    v.as_str()
}

fn need_case(s: &CaseStore, name: &str) -> DataResult<Value> {
    match s.case(name)? {
        Some(c) => to_json(&c),
        None => Err(DataError::NotFound(format!("no case named '{name}'"))),
    }
}

/// Every case with its counts, severity and attribution.
pub fn cases(s: &CaseStore) -> DataResult<Vec<Value>> {
    s.cases()?.iter().map(to_json).collect()
}

/// One case: its record, its summary line, evidence, custody and hunt runs.
pub fn case(s: &CaseStore, name: &str) -> DataResult<Value> {
    let case = need_case(s, name)?;
    let summary = cases(s)?
        .into_iter()
        .find(|c| c.pointer("/case/name").and_then(Value::as_str) == Some(name))
        .unwrap_or(Value::Null);
    Ok(json!({
        "case": case,
        "summary": summary,
        "evidence": to_json(&s.evidence(name)?)?,
        "custody": to_json(&s.custody(name)?)?,
        "runs": to_json(&s.runs(name)?)?,
    }))
}

/// One page of detections: `{total, offset, limit, rows}`; each row is the stored detection
/// (`key`, `detection`, `tlp`, `verdict`).
pub fn detections(s: &CaseStore, name: &str, filter: &Filter) -> DataResult<Value> {
    need_case(s, name)?;
    let q = filter.query()?;
    let (offset, limit) = filter.paging()?;
    let page = s.detections(name, &q)?;
    Ok(json!({
        "total": page.total,
        "offset": offset,
        "limit": limit,
        "rows": to_json(&page.rows)?,
    }))
}

/// The case's incidents as stored (id, title, severity, times, detections, TLP, and the
/// incident itself).
pub fn incidents(s: &CaseStore, name: &str) -> DataResult<Value> {
    need_case(s, name)?;
    to_json(&s.incidents(name)?)
}

/// The case's analysis (incidents, attribution, containment), if one was saved.
pub fn analysis(s: &CaseStore, name: &str) -> DataResult<Option<Investigation>> {
    need_case(s, name)?;
    Ok(s.analysis(name)?)
}

/// The attribution assessments recorded for the case, oldest first.
pub fn assessments(s: &CaseStore, name: &str) -> DataResult<Value> {
    need_case(s, name)?;
    to_json(&s.assessments(name)?)
}

/// The case's notes.
pub fn notes(s: &CaseStore, name: &str) -> DataResult<Value> {
    need_case(s, name)?;
    to_json(&s.notes(name)?)
}

/// Records `analyst`'s verdict on detection `key`.
pub fn set_verdict(
    s: &mut CaseStore,
    name: &str,
    key: &str,
    verdict: &str,
    analyst: &str,
    reason: &str,
) -> DataResult<Value> {
    need_case(s, name)?;
    let v = parse_verdict(verdict)?;
    s.set_verdict(name, key, v, analyst, reason)?;
    Ok(json!({
        "case": name,
        "key": key,
        "verdict": verdict_name(v),
        "analyst": analyst,
        "reason": reason,
    }))
}

/// What a note is about: `case`, `detection` (with the key) or `incident` (with its id).
pub fn note_target(kind: Option<&str>, id: Option<&str>) -> DataResult<NoteTarget> {
    let id = id.map(str::trim).filter(|s| !s.is_empty());
    match (kind.map(str::trim).unwrap_or("case"), id) {
        ("case" | "", _) => Ok(NoteTarget::Case),
        ("detection", Some(k)) => Ok(NoteTarget::Detection(k.to_owned())),
        ("incident", Some(i)) => Ok(NoteTarget::Incident(i.to_owned())),
        ("detection" | "incident", None) => Err(DataError::Invalid(
            "a note about a detection or an incident needs its id".into(),
        )),
        (other, _) => Err(DataError::Invalid(format!(
            "'{other}' is not a note target (case, detection, incident)"
        ))),
    }
}

/// Adds a note by `author`.
pub fn add_note(
    s: &mut CaseStore,
    name: &str,
    target: NoteTarget,
    author: &str,
    text: &str,
    tlp: Option<&str>,
) -> DataResult<Value> {
    need_case(s, name)?;
    if text.trim().is_empty() {
        return Err(DataError::Invalid("a note needs text".into()));
    }
    if text.len() > 64 * 1024 {
        return Err(DataError::Invalid("a note is at most 64 KiB".into()));
    }
    let tlp = tlp.map(str::trim).filter(|t| !t.is_empty());
    let id = s.add_note(name, target, author, text, tlp)?;
    to_json(&id)
}

/// Everything about the case, as `tiaki case dump` writes it.
pub fn export(s: &CaseStore, name: &str) -> DataResult<Value> {
    need_case(s, name)?;
    to_json(&s.dump_case(name)?)
}

/// A string field of a JSON object, trying each name in turn (numbers are shown too).
pub fn text(v: &Value, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| match v.get(*n)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(x) => Some(x.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_checks_its_fields() {
        let f = Filter {
            min_level: Some("HIGH".into()),
            since: Some("2025-03-03".into()),
            limit: Some("10".into()),
            text: Some("  ".into()),
            ..Default::default()
        };
        let q = f.query().unwrap();
        assert_eq!(q.limit, Some(10));
        assert_eq!(q.text, None);
        assert_eq!(q.since.as_deref(), Some("2025-03-03T00:00:00Z"));
        for bad in [
            Filter {
                min_level: Some("severe".into()),
                ..Default::default()
            },
            Filter {
                limit: Some("0".into()),
                ..Default::default()
            },
            Filter {
                offset: Some("-1".into()),
                ..Default::default()
            },
            Filter {
                kind: Some("sigma".into()),
                ..Default::default()
            },
            Filter {
                since: Some("yesterday".into()),
                ..Default::default()
            },
            Filter {
                verdict: Some("maybe".into()),
                ..Default::default()
            },
            Filter {
                newest_first: Some("sometimes".into()),
                ..Default::default()
            },
        ] {
            assert!(matches!(bad.query(), Err(DataError::Invalid(_))), "{bad:?}");
        }
    }

    #[test]
    fn verdicts_in_several_spellings() {
        assert_eq!(verdict_name(parse_verdict("TP").unwrap()), "true-positive");
        assert_eq!(
            verdict_name(parse_verdict("false_positive").unwrap()),
            "false-positive"
        );
        assert!(parse_verdict("yes").is_err());
    }
}
