//! Cases: evidence and its custody, hunt runs, detections, the analysis, verdicts, notes, TLP.
//!
//! # Why it is shaped this way
//!
//! An investigation is hunted many times: new evidence arrives, rules improve, an analyst
//! re-runs `tiaki hunt --case NAME` on the same collection. The case must grow by what is new
//! and never by repetition, so:
//!
//! * a detection's identity is the SHA-256 of its own JSON (the stable `jsonl` contract): the
//!   same rule hit on the same record always has the same key, and `INSERT … ON CONFLICT DO
//!   NOTHING` makes re-adding it free. Verdicts and notes hang on that key, so they survive
//!   re-hunts;
//! * evidence is identified by `(sha256, path)`: the first addition keeps who added it and
//!   when, and every later hunt of it is appended to the custody log (`re-hunted`), which is
//!   the chain of custody a report or a court may ask for;
//! * the analysis (incidents, report snapshot) is derived from all detections, so it is
//!   *replaced* after each hunt; attribution assessments are a *history*, appended only when
//!   the assessment changed (timings ignored), so re-running a hunt adds nothing;
//! * every item carries a TLP label: by default the case's, stricter when what it came from
//!   was stricter (an indicator hit under TLP:RED, an incident containing one). Exporters
//!   compare labels with [`tlp_rank`].
//!
//! Detections are also stored as filter columns (time, level, host, rule, kind, techniques, a
//! lower-cased search text) with indexes, so the console pages the timeline of a case with
//! 100 000 detections through an index instead of decoding JSON.

use std::collections::HashMap;

use rusqlite::types::Value as SqlValue;
use rusqlite::{OptionalExtension, Row, params, params_from_iter};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tiaki::Detection;
use tiaki_report::Investigation;
use tiaki_stix::Tlp;

use crate::{CaseStore, Result, StoreError, now, sha256_hex};

/// The TLP of a new case when none is given.
pub const DEFAULT_TLP: &str = "TLP:AMBER";

/// The most rows [`CaseStore::detections`] returns at once.
pub const MAX_PAGE: u64 = 1000;

/// The page size of [`CaseStore::detections`] when the query gives none.
pub const DEFAULT_PAGE: u64 = 100;

/// The longest note (and verdict reason), in bytes.
pub const MAX_TEXT: usize = 64 * 1024;

/// The label of the most restrictive level, used for labels that cannot be read.
const STRICTEST: &str = "TLP:RED";

// ---------------------------------------------------------------------------------------------
// TLP helpers
// ---------------------------------------------------------------------------------------------

/// The rank of a TLP label: CLEAR (and TLP 1.0 WHITE) 0 < GREEN 1 < AMBER 2 < AMBER+STRICT 3
/// < RED 4. Accepts the spellings [`canonical_tlp`] accepts.
///
/// A label that names no TLP level ranks as RED (4): an exporter comparing ranks then never
/// shares an item whose marking it cannot read.
pub fn tlp_rank(label: &str) -> u8 {
    match label.parse::<Tlp>() {
        Ok(t) => Tlp::ALL.iter().position(|x| *x == t).unwrap_or(4) as u8,
        Err(_) => 4,
    }
}

/// The canonical TLP 2.0 label (`TLP:AMBER+STRICT`) of `label`, which may be lower-case, lack
/// the `TLP:` prefix, or be TLP 1.0 `WHITE` (stored as `TLP:CLEAR`).
pub fn canonical_tlp(label: &str) -> Result<&'static str> {
    label.parse::<Tlp>().map(|t| t.label()).map_err(|_| {
        StoreError::Invalid(format!(
            "tlp '{label}' is not a TLP label (expected TLP:CLEAR, TLP:GREEN, TLP:AMBER, TLP:AMBER+STRICT or TLP:RED)"
        ))
    })
}

/// The stricter of two labels (an unreadable label counts as RED and is written `TLP:RED`).
fn stricter(a: &str, b: &str) -> String {
    let pick = if tlp_rank(b) > tlp_rank(a) { b } else { a };
    match canonical_tlp(pick) {
        Ok(l) => l.to_string(),
        Err(_) => STRICTEST.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

/// A case: one investigation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// Row id.
    pub id: i64,
    /// Short name used on the command line (`pdo-2026`): 1-64 of `A-Z a-z 0-9 . _ -`.
    pub name: String,
    /// Title for reports.
    pub title: String,
    /// The organisation investigated (or investigated for).
    pub organisation: String,
    /// The case's TLP label (`TLP:AMBER`), the default of every item added to it.
    pub tlp: String,
    /// `open` or `closed`.
    pub status: String,
    /// When the case was created.
    pub created: String,
    /// When anything in the case last changed.
    pub updated: String,
}

/// The top candidate of an attribution assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopCandidate {
    /// ATT&CK id (`G0065`).
    pub id: String,
    /// Name (`Leviathan`).
    pub name: String,
    /// Its probability.
    pub probability: f64,
}

/// A case as `tiaki case list` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseSummary {
    /// The case.
    pub case: Case,
    /// Evidence sources.
    pub evidence: u64,
    /// Detections.
    pub detections: u64,
    /// Incidents of the current analysis.
    pub incidents: u64,
    /// Detections whose current verdict is true positive.
    pub true_positives: u64,
    /// Detections whose current verdict is false positive.
    pub false_positives: u64,
    /// The highest incident severity (`critical`), if there are incidents.
    pub max_severity: Option<String>,
    /// The top candidate of the current analysis's attribution, if any.
    pub top_attribution: Option<TopCandidate>,
    /// When the last hunt run finished.
    pub last_run: Option<String>,
}

/// Evidence to add to a case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEvidence {
    /// The file as given to the hunt.
    pub path: String,
    /// SHA-256 of its content (64 hex digits).
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Who added it.
    pub added_by: String,
    /// Its TLP; `None`: the case's.
    pub tlp: Option<String>,
}

/// An evidence source of a case, as first added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceRow {
    /// Row id (for [`ItemRef::Evidence`]).
    pub id: i64,
    /// The file.
    pub path: String,
    /// SHA-256 of its content.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Who first added it.
    pub added_by: String,
    /// When it was first added.
    pub added_at: String,
    /// Its TLP label.
    pub tlp: String,
}

/// One entry of the chain of custody.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustodyEntry {
    /// SHA-256 of the evidence.
    pub sha256: String,
    /// Its path.
    pub path: String,
    /// `added` (first time) or `re-hunted` (added again).
    pub action: String,
    /// Who.
    pub by: String,
    /// When.
    pub at: String,
}

/// What a hunt run did, as recorded in the case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Who ran it.
    pub by: String,
    /// When it started (RFC 3339).
    pub started: String,
    /// When it finished (RFC 3339).
    pub finished: String,
    /// The paths hunted.
    pub paths: Vec<String>,
    /// Rules loaded.
    pub rules: u64,
    /// Events read.
    pub events: u64,
    /// Detections new to the case.
    pub detections_added: u64,
    /// Detections the case already had.
    pub detections_already: u64,
}

/// A recorded hunt run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRow {
    /// Row id.
    pub id: i64,
    /// What was recorded.
    #[serde(flatten)]
    pub run: RunRecord,
}

/// What [`CaseStore::add_detections`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddedCount {
    /// Detections new to the case.
    pub added: u64,
    /// Detections the case already had (including repeats within the batch).
    pub already: u64,
}

/// An analyst's verdict on a detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The detection is real malicious activity.
    TruePositive,
    /// The detection is benign.
    FalsePositive,
    /// Looked at, not decided.
    Undetermined,
}

impl Verdict {
    /// `true-positive`, `false-positive` or `undetermined`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::TruePositive => "true-positive",
            Verdict::FalsePositive => "false-positive",
            Verdict::Undetermined => "undetermined",
        }
    }

    /// Parses `tp`, `true-positive`, `fp`, `false-positive`, `undetermined` (also
    /// `true_positive`, `true positive`, `unknown`, any case).
    pub fn parse(s: &str) -> Result<Verdict> {
        let t = s.trim().to_ascii_lowercase().replace(['_', ' '], "-");
        match t.as_str() {
            "tp" | "true-positive" | "truepositive" | "true" => Ok(Verdict::TruePositive),
            "fp" | "false-positive" | "falsepositive" | "false" => Ok(Verdict::FalsePositive),
            "undetermined" | "unknown" | "undecided" => Ok(Verdict::Undetermined),
            _ => Err(StoreError::Invalid(format!(
                "verdict '{s}' is not a verdict (expected tp, fp or undetermined)"
            ))),
        }
    }
}

/// A verdict as recorded (the current one of a detection, or one entry of the history).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictRow {
    /// The detection's key.
    pub key: String,
    /// The verdict.
    pub verdict: Verdict,
    /// Who gave it.
    pub analyst: String,
    /// Why.
    pub reason: String,
    /// When.
    pub at: String,
}

/// Which verdicts [`DetectionQuery`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerdictFilter {
    /// `tp`: current verdict true positive.
    Tp,
    /// `fp`: current verdict false positive.
    Fp,
    /// `none`: not decided yet (no verdict, or undetermined): what is left to triage.
    None,
    /// `any`: decided (true or false positive). The complement of `none`.
    Any,
}

impl VerdictFilter {
    /// Parses `tp`, `fp`, `none` or `any` (and the [`Verdict`] spellings of tp and fp).
    pub fn parse(s: &str) -> Result<VerdictFilter> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" => return Ok(VerdictFilter::None),
            "any" => return Ok(VerdictFilter::Any),
            _ => {}
        }
        match Verdict::parse(s) {
            Ok(Verdict::TruePositive) => Ok(VerdictFilter::Tp),
            Ok(Verdict::FalsePositive) => Ok(VerdictFilter::Fp),
            _ => Err(StoreError::Invalid(format!(
                "verdict filter '{s}' is not one of tp, fp, none, any"
            ))),
        }
    }
}

/// Which detections to list, and which page. Every filter given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DetectionQuery {
    /// Words that must all appear (case-insensitive substrings) in the rule title, rule id,
    /// host, source path or any event value.
    pub text: Option<String>,
    /// The lowest level kept: `informational` < `low` < `medium` < `high` < `critical`.
    pub min_level: Option<String>,
    /// The host (exact, case-insensitive).
    pub host: Option<String>,
    /// The rule id (exact) or a substring of its title (case-insensitive).
    pub rule: Option<String>,
    /// `detection`, `correlation`, `indicator` or `yara`.
    pub kind: Option<String>,
    /// An ATT&CK technique id prefix: `T1059` keeps `T1059` and `T1059.001`.
    pub technique: Option<String>,
    /// Which verdicts.
    pub verdict: Option<VerdictFilter>,
    /// Earliest time kept, inclusive: RFC 3339, or a prefix of one (`2026-03-01`).
    pub since: Option<String>,
    /// Latest time kept, inclusive: RFC 3339, or a prefix (`2026-03-01` keeps that day).
    pub until: Option<String>,
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return: `None` is [`DEFAULT_PAGE`]; at most [`MAX_PAGE`].
    pub limit: Option<u64>,
    /// Newest first instead of oldest first.
    pub newest_first: bool,
}

/// A detection as stored in a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredDetection {
    /// Its key: SHA-256 of its JSON.
    pub key: String,
    /// The detection.
    pub detection: Detection,
    /// Its TLP label.
    pub tlp: String,
    /// Its current verdict, if any.
    pub verdict: Option<VerdictRow>,
}

/// One page of [`CaseStore::detections`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectionPage {
    /// How many detections match the filters (all pages).
    pub total: u64,
    /// This page.
    pub rows: Vec<StoredDetection>,
}

/// An incident of the case's current analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentRow {
    /// `INC-001`.
    pub id: String,
    /// Title.
    pub title: String,
    /// `informational` … `critical`.
    pub severity: String,
    /// First detection time.
    pub first_seen: Option<String>,
    /// Last detection time.
    pub last_seen: Option<String>,
    /// How many detections it groups.
    pub detections: u64,
    /// Its TLP: the strictest of the case's and its detections'.
    pub tlp: String,
    /// The incident (`tiaki_incident::Incident` as JSON).
    pub incident: Value,
}

/// One attribution assessment of the case's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssessmentRow {
    /// Row id (for [`ItemRef::Assessment`]).
    pub id: i64,
    /// When it was stored.
    pub created: String,
    /// The top candidate, if any.
    pub top: Option<TopCandidate>,
    /// `attributed` or `insufficient-evidence`.
    pub verdict: String,
    /// Its TLP label.
    pub tlp: String,
    /// The assessment (`tiaki_intel::attribution::Assessment` as JSON).
    pub assessment: Value,
}

/// What a note is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "lowercase")]
pub enum NoteTarget {
    /// The case as a whole.
    Case,
    /// A detection, by key.
    Detection(String),
    /// An incident, by id (`INC-001`).
    Incident(String),
}

/// An analyst's note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// Row id.
    pub id: i64,
    /// What it is about.
    pub target: NoteTarget,
    /// Who wrote it.
    pub author: String,
    /// The text.
    pub text: String,
    /// Its TLP label.
    pub tlp: String,
    /// When.
    pub created: String,
}

/// An item whose TLP [`CaseStore::set_tlp`] changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "lowercase")]
pub enum ItemRef {
    /// The case itself (the default for items added later).
    Case,
    /// An evidence source, by [`EvidenceRow::id`].
    Evidence(i64),
    /// A detection, by key.
    Detection(String),
    /// An incident, by id.
    Incident(String),
    /// An assessment, by [`AssessmentRow::id`].
    Assessment(i64),
    /// A note, by [`Note::id`].
    Note(i64),
}

/// Everything in a case, for `tiaki case export`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseDump {
    /// `tiaki-case/1`.
    pub format: String,
    /// When the dump was made.
    pub exported: String,
    /// The case.
    pub case: Case,
    /// Evidence sources.
    pub evidence: Vec<EvidenceRow>,
    /// The chain of custody.
    pub custody: Vec<CustodyEntry>,
    /// Hunt runs.
    pub runs: Vec<RunRow>,
    /// Detections in time order, with key, TLP and current verdict.
    pub detections: Vec<StoredDetection>,
    /// The current analysis.
    pub analysis: Option<Investigation>,
    /// Incidents of the current analysis.
    pub incidents: Vec<IncidentRow>,
    /// Attribution history.
    pub assessments: Vec<AssessmentRow>,
    /// Every verdict given.
    pub verdicts: Vec<VerdictRow>,
    /// Notes.
    pub notes: Vec<Note>,
}

/// The format tag of [`CaseDump`].
pub const DUMP_FORMAT: &str = "tiaki-case/1";

// ---------------------------------------------------------------------------------------------
// Validation and derived columns
// ---------------------------------------------------------------------------------------------

fn valid_case_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "case name '{name}' is not valid (1-64 of A-Z a-z 0-9 . _ -)"
        )))
    }
}

fn valid_text(field: &str, value: &str, max: usize, allow_empty: bool) -> Result<()> {
    if !allow_empty && value.trim().is_empty() {
        return Err(StoreError::Invalid(format!("{field} must not be empty")));
    }
    if value.len() > max {
        return Err(StoreError::Invalid(format!(
            "{field} is {} bytes, more than the {max} allowed",
            value.len()
        )));
    }
    Ok(())
}

fn valid_sha256(s: &str) -> Result<String> {
    if s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(StoreError::Invalid(format!(
            "sha256 '{s}' is not 64 hexadecimal digits"
        )))
    }
}

/// `informational` 0 … `critical` 4.
fn level_rank(name: &str) -> Option<i64> {
    Some(match name.to_ascii_lowercase().as_str() {
        "informational" | "info" => 0,
        "low" => 1,
        "medium" => 2,
        "high" => 3,
        "critical" => 4,
        _ => return None,
    })
}

/// A detection time in a form that sorts as text in time order: UTC, nine fractional digits.
/// Text that is not RFC 3339 is kept as it is.
fn sortable_time(s: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(s) {
        Ok(t) => t
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%dT%H:%M:%S%.9fZ")
            .to_string(),
        Err(_) => s.to_string(),
    }
}

/// A query time bound: RFC 3339 (normalised like [`sortable_time`]) or a prefix of one
/// (`2026-03-01`, `2026-03-01T10`), which for an upper bound includes the whole period.
fn time_bound(field: &str, s: &str, upper: bool) -> Result<String> {
    let s = s.trim();
    if chrono::DateTime::parse_from_rfc3339(s).is_ok() {
        return Ok(sortable_time(s));
    }
    let prefix_ok = s.len() >= 4
        && s.len() <= 40
        && s[..4].chars().all(|c| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | ':' | 'T' | '.'));
    if !prefix_ok {
        return Err(StoreError::Invalid(format!(
            "{field} '{s}' is not an RFC 3339 time or a prefix of one (2026-03-01)"
        )));
    }
    // Every stored character sorts below U+007F, so `prefix\x7f` is above every time that
    // starts with the prefix.
    Ok(if upper {
        format!("{s}\u{7f}")
    } else {
        s.to_string()
    })
}

fn push_value_text(v: &Value, out: &mut String) {
    match v {
        Value::Null => {}
        Value::Bool(b) => {
            out.push_str(if *b { "true" } else { "false" });
            out.push('\n');
        }
        Value::Number(n) => {
            out.push_str(&n.to_string());
            out.push('\n');
        }
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(a) => a.iter().for_each(|x| push_value_text(x, out)),
        Value::Object(o) => o.values().for_each(|x| push_value_text(x, out)),
    }
}

/// The lower-cased text a detection is searched in.
fn search_text(d: &Detection) -> String {
    let mut s = String::with_capacity(256);
    for part in [
        Some(d.rule_title.as_str()),
        d.rule_id.as_deref(),
        d.host.as_deref(),
        Some(d.source.path.as_str()),
    ]
    .into_iter()
    .flatten()
    {
        s.push_str(part);
        s.push('\n');
    }
    for v in d.event.values() {
        push_value_text(v, &mut s);
    }
    if let Some(i) = &d.indicator {
        s.push_str(&i.value);
        s.push('\n');
        s.push_str(&i.id);
        s.push('\n');
    }
    if let Some(y) = &d.yara {
        s.push_str(&y.rule);
        s.push('\n');
    }
    s.to_lowercase()
}

/// The key of a detection: SHA-256 of its JSON (and the JSON itself).
fn detection_key(d: &Detection) -> Result<(String, String)> {
    let json = serde_json::to_string(d)?;
    Ok((sha256_hex(json.as_bytes()), json))
}

/// The key [`CaseStore::add_detections`] gives `d`.
pub fn key_of(d: &Detection) -> Result<String> {
    detection_key(d).map(|(k, _)| k)
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A count or size column (stored as SQLite's signed integer).
fn get_u64(r: &Row<'_>, i: usize) -> rusqlite::Result<u64> {
    Ok(u64::try_from(r.get::<_, i64>(i)?).unwrap_or(0))
}

const CASE_COLS: &str = "id, name, title, organisation, tlp, status, created, updated";

fn case_from_row(r: &Row<'_>) -> rusqlite::Result<Case> {
    Ok(Case {
        id: r.get(0)?,
        name: r.get(1)?,
        title: r.get(2)?,
        organisation: r.get(3)?,
        tlp: r.get(4)?,
        status: r.get(5)?,
        created: r.get(6)?,
        updated: r.get(7)?,
    })
}

const DET_COLS: &str = "key, tlp, json, verdict, verdict_by, verdict_reason, verdict_at";

/// The raw columns of [`DET_COLS`], decoded outside the row callback (JSON errors are ours).
type DetRaw = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn det_raw(r: &Row<'_>) -> rusqlite::Result<DetRaw> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn det_from_raw(raw: DetRaw) -> Result<StoredDetection> {
    let (key, tlp, json, verdict, by, reason, at) = raw;
    let verdict = match verdict {
        Some(v) => Some(VerdictRow {
            key: key.clone(),
            verdict: Verdict::parse(&v)?,
            analyst: by.unwrap_or_default(),
            reason: reason.unwrap_or_default(),
            at: at.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(StoredDetection {
        detection: serde_json::from_str(&json)?,
        key,
        tlp,
        verdict,
    })
}

const SEVERITIES: [&str; 5] = ["informational", "low", "medium", "high", "critical"];

// ---------------------------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------------------------

impl CaseStore {
    /// The row id of a case.
    fn case_id(&self, name: &str) -> Result<i64> {
        Ok(self.case_required(name)?.id)
    }

    fn case_required(&self, name: &str) -> Result<Case> {
        self.case(name)?.ok_or_else(|| StoreError::NotFound {
            kind: "case",
            name: name.to_owned(),
        })
    }

    fn touch(&self, case_id: i64) -> Result<()> {
        self.conn
            .execute(
                "UPDATE case_cases SET updated = ?2 WHERE id = ?1",
                params![case_id, now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Creates the case `name`, or returns it. `Some` title, organisation or TLP set those on
    /// an existing case too; a new case defaults to its name as title and [`DEFAULT_TLP`].
    pub fn ensure_case(
        &mut self,
        name: &str,
        title: Option<&str>,
        organisation: Option<&str>,
        tlp: Option<&str>,
    ) -> Result<Case> {
        valid_case_name(name)?;
        if let Some(t) = title {
            valid_text("title", t, 1024, true)?;
        }
        if let Some(o) = organisation {
            valid_text("organisation", o, 1024, true)?;
        }
        let tlp = tlp.map(canonical_tlp).transpose()?;
        let t = now();
        self.conn
            .execute(
                "INSERT INTO case_cases (name, title, organisation, tlp, status, created, updated)
                 VALUES (?1, ?2, ?3, ?4, 'open', ?5, ?5)
                 ON CONFLICT(name) DO NOTHING",
                params![
                    name,
                    title.unwrap_or(name),
                    organisation.unwrap_or(""),
                    tlp.unwrap_or(DEFAULT_TLP),
                    t
                ],
            )
            .map_err(|e| self.err(e))?;
        let case = self.case_required(name)?;
        let changed = title.is_some_and(|v| v != case.title)
            || organisation.is_some_and(|v| v != case.organisation)
            || tlp.is_some_and(|v| v != case.tlp);
        if changed {
            self.conn
                .execute(
                    "UPDATE case_cases SET title = COALESCE(?2, title),
                        organisation = COALESCE(?3, organisation), tlp = COALESCE(?4, tlp),
                        updated = ?5 WHERE id = ?1",
                    params![case.id, title, organisation, tlp, now()],
                )
                .map_err(|e| self.err(e))?;
            return self.case_required(name);
        }
        Ok(case)
    }

    /// The case `name`, if it exists.
    pub fn case(&self, name: &str) -> Result<Option<Case>> {
        self.conn
            .query_row(
                &format!("SELECT {CASE_COLS} FROM case_cases WHERE name = ?1"),
                [name],
                case_from_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Opens or closes a case (`open` or `closed`).
    pub fn set_case_status(&mut self, name: &str, status: &str) -> Result<()> {
        let status = status.trim().to_ascii_lowercase();
        if status != "open" && status != "closed" {
            return Err(StoreError::Invalid(format!(
                "status '{status}' is not open or closed"
            )));
        }
        let id = self.case_id(name)?;
        self.conn
            .execute(
                "UPDATE case_cases SET status = ?2, updated = ?3 WHERE id = ?1",
                params![id, status, now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Every case, by name, with its counts, worst incident, top attribution and last run.
    pub fn cases(&self) -> Result<Vec<CaseSummary>> {
        let sql = "SELECT c.id, c.name, c.title, c.organisation, c.tlp, c.status, c.created, c.updated,
              (SELECT COUNT(*) FROM case_evidence e WHERE e.case_id = c.id),
              (SELECT COUNT(*) FROM case_detections d WHERE d.case_id = c.id),
              (SELECT COUNT(*) FROM case_incidents i WHERE i.case_id = c.id),
              (SELECT COUNT(*) FROM case_detections d WHERE d.case_id = c.id AND d.verdict = 'true-positive'),
              (SELECT COUNT(*) FROM case_detections d WHERE d.case_id = c.id AND d.verdict = 'false-positive'),
              (SELECT MAX(severity_rank) FROM case_incidents i WHERE i.case_id = c.id),
              a.top_id, a.top_name, a.top_probability,
              (SELECT MAX(finished) FROM case_runs r WHERE r.case_id = c.id)
            FROM case_cases c
            LEFT JOIN case_analysis an ON an.case_id = c.id
            LEFT JOIN case_assessments a ON a.id = an.assessment_id
            ORDER BY c.name";
        let mut st = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                let sev: Option<i64> = r.get(13)?;
                let top_id: Option<String> = r.get(14)?;
                let top = match top_id {
                    Some(id) => Some(TopCandidate {
                        id,
                        name: r.get::<_, Option<String>>(15)?.unwrap_or_default(),
                        probability: r.get::<_, Option<f64>>(16)?.unwrap_or_default(),
                    }),
                    None => None,
                };
                Ok(CaseSummary {
                    case: case_from_row(r)?,
                    evidence: get_u64(r, 8)?,
                    detections: get_u64(r, 9)?,
                    incidents: get_u64(r, 10)?,
                    true_positives: get_u64(r, 11)?,
                    false_positives: get_u64(r, 12)?,
                    max_severity: sev
                        .and_then(|s| SEVERITIES.get(usize::try_from(s).ok()?))
                        .map(|s| s.to_string()),
                    top_attribution: top,
                    last_run: r.get(17)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))
    }

    // -- Evidence and custody ------------------------------------------------------------------

    /// Adds an evidence source to the case's custody. Returns `true` if it is new; otherwise
    /// the original `added_by`/`added_at` are kept and a `re-hunted` custody entry records who
    /// brought it again and when.
    pub fn add_evidence(&mut self, case: &str, ev: &NewEvidence) -> Result<bool> {
        valid_text("evidence path", &ev.path, 4096, false)?;
        valid_text("added_by", &ev.added_by, 256, false)?;
        let sha = valid_sha256(&ev.sha256)?;
        let c = self.case_required(case)?;
        let tlp = match &ev.tlp {
            Some(t) => canonical_tlp(t)?.to_string(),
            None => c.tlp.clone(),
        };
        let path = &self.path;
        let tx = self
            .conn
            .transaction()
            .map_err(|e| StoreError::sqlite(path, e))?;
        let t = now();
        let new = tx
            .execute(
                "INSERT INTO case_evidence (case_id, path, sha256, size, added_by, added_at, tlp)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
                params![c.id, ev.path, sha, to_i64(ev.size), ev.added_by, t, tlp],
            )
            .map_err(|e| StoreError::sqlite(path, e))?
            == 1;
        tx.execute(
            "INSERT INTO case_custody (case_id, sha256, path, action, actor, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                c.id,
                sha,
                ev.path,
                if new { "added" } else { "re-hunted" },
                ev.added_by,
                t
            ],
        )
        .map_err(|e| StoreError::sqlite(path, e))?;
        tx.execute(
            "UPDATE case_cases SET updated = ?2 WHERE id = ?1",
            params![c.id, t],
        )
        .map_err(|e| StoreError::sqlite(path, e))?;
        tx.commit().map_err(|e| StoreError::sqlite(path, e))?;
        Ok(new)
    }

    /// The case's evidence sources, in the order they were added.
    pub fn evidence(&self, case: &str) -> Result<Vec<EvidenceRow>> {
        let id = self.case_id(case)?;
        let mut st = self
            .conn
            .prepare(
                "SELECT id, path, sha256, size, added_by, added_at, tlp FROM case_evidence
                 WHERE case_id = ?1 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([id], |r| {
                Ok(EvidenceRow {
                    id: r.get(0)?,
                    path: r.get(1)?,
                    sha256: r.get(2)?,
                    size: get_u64(r, 3)?,
                    added_by: r.get(4)?,
                    added_at: r.get(5)?,
                    tlp: r.get(6)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))
    }

    /// The case's chain of custody, oldest first.
    pub fn custody(&self, case: &str) -> Result<Vec<CustodyEntry>> {
        let id = self.case_id(case)?;
        let mut st = self
            .conn
            .prepare(
                "SELECT sha256, path, action, actor, at FROM case_custody
                 WHERE case_id = ?1 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([id], |r| {
                Ok(CustodyEntry {
                    sha256: r.get(0)?,
                    path: r.get(1)?,
                    action: r.get(2)?,
                    by: r.get(3)?,
                    at: r.get(4)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))
    }

    // -- Runs ----------------------------------------------------------------------------------

    /// Records a hunt run into the case; returns its id.
    pub fn record_run(&mut self, case: &str, run: &RunRecord) -> Result<i64> {
        valid_text("run by", &run.by, 256, false)?;
        let id = self.case_id(case)?;
        self.conn
            .execute(
                "INSERT INTO case_runs (case_id, actor, started, finished, paths, rules, events,
                    detections_added, detections_already)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    id,
                    run.by,
                    run.started,
                    run.finished,
                    serde_json::to_string(&run.paths)?,
                    to_i64(run.rules),
                    to_i64(run.events),
                    to_i64(run.detections_added),
                    to_i64(run.detections_already)
                ],
            )
            .map_err(|e| self.err(e))?;
        let run_id = self.conn.last_insert_rowid();
        self.touch(id)?;
        Ok(run_id)
    }

    /// The case's hunt runs, oldest first.
    pub fn runs(&self, case: &str) -> Result<Vec<RunRow>> {
        let id = self.case_id(case)?;
        let mut st = self
            .conn
            .prepare(
                "SELECT id, actor, started, finished, paths, rules, events, detections_added,
                    detections_already FROM case_runs WHERE case_id = ?1 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    RunRecord {
                        by: r.get(1)?,
                        started: r.get(2)?,
                        finished: r.get(3)?,
                        paths: Vec::new(),
                        rules: get_u64(r, 5)?,
                        events: get_u64(r, 6)?,
                        detections_added: get_u64(r, 7)?,
                        detections_already: get_u64(r, 8)?,
                    },
                    r.get::<_, String>(4)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, mut run, paths) = row.map_err(|e| self.err(e))?;
            run.paths = serde_json::from_str(&paths)?;
            out.push(RunRow { id, run });
        }
        Ok(out)
    }

    // -- Detections ----------------------------------------------------------------------------

    /// Adds detections to the case in one transaction; those it already has (same key) are
    /// counted, not added. `tlp` (default: the case's) labels them, except that an indicator
    /// hit whose indicator's TLP is stricter keeps that.
    pub fn add_detections(
        &mut self,
        case: &str,
        detections: &[Detection],
        tlp: Option<&str>,
    ) -> Result<AddedCount> {
        let c = self.case_required(case)?;
        let base = match tlp {
            Some(t) => canonical_tlp(t)?.to_string(),
            None => c.tlp.clone(),
        };
        let path = &self.path;
        let sq = |e| StoreError::sqlite(path, e);
        let tx = self.conn.transaction().map_err(sq)?;
        let mut count = AddedCount::default();
        let t = now();
        {
            let mut st = tx
                .prepare(
                    "INSERT INTO case_detections (case_id, key, ts, level, host, rule_id,
                        rule_title, kind, attack, path, record_id, line, search, tlp, json, added_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
                     ON CONFLICT(case_id, key) DO NOTHING",
                )
                .map_err(sq)?;
            for d in detections {
                let (key, json) = detection_key(d)?;
                let item_tlp = match d.indicator.as_ref().and_then(|i| i.tlp.as_deref()) {
                    Some(it) => stricter(&base, it),
                    None => base.clone(),
                };
                let attack = d
                    .attack
                    .iter()
                    .map(|a| a.trim().to_ascii_uppercase())
                    .collect::<Vec<_>>()
                    .join(" ");
                let n = st
                    .execute(params![
                        c.id,
                        key,
                        d.timestamp.as_deref().map(sortable_time),
                        d.level.and_then(|l| level_rank(l.as_str())),
                        d.host,
                        d.rule_id,
                        d.rule_title,
                        d.kind.as_str(),
                        attack,
                        d.source.path,
                        d.source.record_id.map(to_i64),
                        d.source.line.map(to_i64),
                        search_text(d),
                        item_tlp,
                        json,
                        t
                    ])
                    .map_err(sq)?;
                if n == 1 {
                    count.added += 1;
                } else {
                    count.already += 1;
                }
            }
        }
        if count.added > 0 {
            tx.execute(
                "UPDATE case_cases SET updated = ?2 WHERE id = ?1",
                params![c.id, t],
            )
            .map_err(sq)?;
        }
        tx.commit().map_err(sq)?;
        Ok(count)
    }

    /// One page of the case's detections that match `q`, in time order, with the total.
    pub fn detections(&self, case: &str, q: &DetectionQuery) -> Result<DetectionPage> {
        let id = self.case_id(case)?;
        let mut conds = vec!["case_id = ?".to_string()];
        let mut args: Vec<SqlValue> = vec![SqlValue::Integer(id)];
        if let Some(text) = &q.text {
            for word in text.split_whitespace() {
                conds.push("instr(search, ?) > 0".into());
                args.push(SqlValue::Text(word.to_lowercase()));
            }
        }
        if let Some(l) = q.min_level.as_deref().filter(|s| !s.trim().is_empty()) {
            let rank = level_rank(l.trim()).ok_or_else(|| {
                StoreError::Invalid(format!(
                    "min_level '{l}' is not a level (informational, low, medium, high, critical)"
                ))
            })?;
            conds.push("level >= ?".into());
            args.push(SqlValue::Integer(rank));
        }
        if let Some(h) = q.host.as_deref().filter(|s| !s.trim().is_empty()) {
            conds.push("host = ?".into());
            args.push(SqlValue::Text(h.trim().to_string()));
        }
        if let Some(r) = q.rule.as_deref().filter(|s| !s.trim().is_empty()) {
            conds.push("(rule_id = ? OR instr(lower(rule_title), ?) > 0)".into());
            args.push(SqlValue::Text(r.trim().to_string()));
            args.push(SqlValue::Text(r.trim().to_ascii_lowercase()));
        }
        if let Some(k) = q.kind.as_deref().filter(|s| !s.trim().is_empty()) {
            let k = k.trim().to_ascii_lowercase();
            if !["detection", "correlation", "indicator", "yara"].contains(&k.as_str()) {
                return Err(StoreError::Invalid(format!(
                    "kind '{k}' is not detection, correlation, indicator or yara"
                )));
            }
            conds.push("kind = ?".into());
            args.push(SqlValue::Text(k));
        }
        if let Some(t) = q.technique.as_deref().filter(|s| !s.trim().is_empty()) {
            let t = t.trim().to_ascii_uppercase();
            if t.contains(char::is_whitespace) {
                return Err(StoreError::Invalid(format!(
                    "technique '{t}' is not a technique id"
                )));
            }
            // A prefix of one of the space-separated ids.
            conds.push("instr(' ' || attack, ?) > 0".into());
            args.push(SqlValue::Text(format!(" {t}")));
        }
        match q.verdict {
            Some(VerdictFilter::Tp) => conds.push("verdict = 'true-positive'".into()),
            Some(VerdictFilter::Fp) => conds.push("verdict = 'false-positive'".into()),
            Some(VerdictFilter::None) => {
                conds.push("(verdict IS NULL OR verdict = 'undetermined')".into())
            }
            Some(VerdictFilter::Any) => {
                conds.push("verdict IN ('true-positive', 'false-positive')".into())
            }
            None => {}
        }
        if let Some(s) = q.since.as_deref().filter(|s| !s.trim().is_empty()) {
            conds.push("ts >= ?".into());
            args.push(SqlValue::Text(time_bound("since", s, false)?));
        }
        if let Some(s) = q.until.as_deref().filter(|s| !s.trim().is_empty()) {
            conds.push("ts <= ?".into());
            args.push(SqlValue::Text(time_bound("until", s, true)?));
        }
        let filter = conds.join(" AND ");
        let total = self
            .conn
            .query_row(
                &format!("SELECT COUNT(*) FROM case_detections WHERE {filter}"),
                params_from_iter(args.iter()),
                |r| get_u64(r, 0),
            )
            .map_err(|e| self.err(e))?;
        let limit = q.limit.unwrap_or(DEFAULT_PAGE).min(MAX_PAGE);
        let dir = if q.newest_first { "DESC" } else { "ASC" };
        let sql = format!(
            "SELECT {DET_COLS} FROM case_detections WHERE {filter}
             ORDER BY ts {dir}, path {dir}, record_id {dir}, line {dir}, id {dir}
             LIMIT ? OFFSET ?"
        );
        args.push(SqlValue::Integer(to_i64(limit)));
        args.push(SqlValue::Integer(to_i64(q.offset)));
        let mut st = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let raws = st
            .query_map(params_from_iter(args.iter()), det_raw)
            .map_err(|e| self.err(e))?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        let rows = raws
            .into_iter()
            .map(det_from_raw)
            .collect::<Result<Vec<_>>>()?;
        Ok(DetectionPage { total, rows })
    }

    /// One detection of the case, by key.
    pub fn detection(&self, case: &str, key: &str) -> Result<Option<StoredDetection>> {
        let id = self.case_id(case)?;
        let raw = self
            .conn
            .query_row(
                &format!("SELECT {DET_COLS} FROM case_detections WHERE case_id = ?1 AND key = ?2"),
                params![id, key],
                det_raw,
            )
            .optional()
            .map_err(|e| self.err(e))?;
        raw.map(det_from_raw).transpose()
    }

    fn stored_detections(&self, case_id: i64) -> Result<Vec<StoredDetection>> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {DET_COLS} FROM case_detections WHERE case_id = ?1
                 ORDER BY ts, path, record_id, line, id"
            ))
            .map_err(|e| self.err(e))?;
        let raws = st
            .query_map([case_id], det_raw)
            .map_err(|e| self.err(e))?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        raws.into_iter().map(det_from_raw).collect()
    }

    /// Every detection of the case, ordered by (time, path, record id, line): what the case
    /// is re-correlated from after each hunt.
    pub fn all_detections(&self, case: &str) -> Result<Vec<Detection>> {
        let id = self.case_id(case)?;
        let mut st = self
            .conn
            .prepare(
                "SELECT json FROM case_detections WHERE case_id = ?1
                 ORDER BY ts, path, record_id, line, id",
            )
            .map_err(|e| self.err(e))?;
        let jsons = st
            .query_map([id], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        jsons
            .iter()
            .map(|j| serde_json::from_str(j).map_err(StoreError::from))
            .collect()
    }

    // -- Analysis ------------------------------------------------------------------------------

    /// Stores the case's analysis: the report snapshot (replacing the previous one), its
    /// incidents (replacing the previous ones), and its attribution assessment, appended to the
    /// history only if it differs from the latest one (timings aside).
    pub fn save_analysis(&mut self, case: &str, inv: &Investigation) -> Result<()> {
        let c = self.case_required(case)?;
        let path = &self.path;
        let sq = |e| StoreError::sqlite(path, e);
        let tx = self.conn.transaction().map_err(sq)?;
        let t = now();

        // The strictest TLP among the detections: what the assessment and snapshot derive from.
        let mut all_tlp = c.tlp.clone();
        {
            let mut st = tx
                .prepare("SELECT DISTINCT tlp FROM case_detections WHERE case_id = ?1")
                .map_err(sq)?;
            let labels = st
                .query_map([c.id], |r| r.get::<_, String>(0))
                .map_err(sq)?
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(sq)?;
            for l in labels {
                all_tlp = stricter(&all_tlp, &l);
            }
        }

        // Incidents: replaced; an incident keeps the strictest of the case's TLP, its
        // detections' TLP and the TLP its id had before (a re-analysis never loosens it).
        let previous: HashMap<String, String> = {
            let mut st = tx
                .prepare("SELECT id, tlp FROM case_incidents WHERE case_id = ?1")
                .map_err(sq)?;
            st.query_map([c.id], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(sq)?
                .collect::<std::result::Result<_, _>>()
                .map_err(sq)?
        };
        tx.execute("DELETE FROM case_incidents WHERE case_id = ?1", [c.id])
            .map_err(sq)?;
        {
            let mut find = tx
                .prepare(
                    "SELECT tlp FROM case_detections WHERE case_id = ?1 AND path = ?2
                       AND record_id IS ?3 AND line IS ?4 AND rule_title = ?5",
                )
                .map_err(sq)?;
            let mut ins = tx
                .prepare(
                    "INSERT INTO case_incidents (case_id, id, title, severity, severity_rank,
                        first_seen, last_seen, detections, tlp, json)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .map_err(sq)?;
            for inc in &inv.incidents {
                let mut tlp = c.tlp.clone();
                if let Some(p) = previous.get(&inc.id) {
                    tlp = stricter(&tlp, p);
                }
                for ev in &inc.events {
                    let labels = find
                        .query_map(
                            params![
                                c.id,
                                ev.source.path,
                                ev.source.record_id.map(to_i64),
                                ev.source.line.map(to_i64),
                                ev.rule_title
                            ],
                            |r| r.get::<_, String>(0),
                        )
                        .map_err(sq)?
                        .collect::<std::result::Result<Vec<_>, _>>()
                        .map_err(sq)?;
                    for l in labels {
                        tlp = stricter(&tlp, &l);
                    }
                }
                let sev = inc.severity.as_str();
                let rank = SEVERITIES.iter().position(|s| *s == sev).unwrap_or(0) as i64;
                ins.execute(params![
                    c.id,
                    inc.id,
                    inc.title,
                    sev,
                    rank,
                    inc.first_seen,
                    inc.last_seen,
                    inc.events.len() as i64,
                    tlp,
                    serde_json::to_string(inc)?
                ])
                .map_err(sq)?;
            }
        }

        // Assessment history.
        let mut assessment_id: Option<i64> = None;
        if let Some(a) = &inv.assessment {
            let mut timeless = a.clone();
            timeless.rank_micros = 0;
            let fingerprint = sha256_hex(&serde_json::to_vec(&timeless)?);
            let latest: Option<(i64, String)> = tx
                .query_row(
                    "SELECT id, fingerprint FROM case_assessments WHERE case_id = ?1
                     ORDER BY id DESC LIMIT 1",
                    [c.id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(sq)?;
            match latest {
                Some((id, f)) if f == fingerprint => assessment_id = Some(id),
                _ => {
                    let top = a.candidates.first();
                    let verdict = if a.verdict.is_attributed() {
                        "attributed"
                    } else {
                        "insufficient-evidence"
                    };
                    tx.execute(
                        "INSERT INTO case_assessments (case_id, created, top_id, top_name,
                            top_probability, verdict, fingerprint, tlp, json)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                        params![
                            c.id,
                            t,
                            top.map(|x| x.id.as_str()),
                            top.map(|x| x.name.as_str()),
                            top.map(|x| x.probability),
                            verdict,
                            fingerprint,
                            all_tlp,
                            serde_json::to_string(a)?
                        ],
                    )
                    .map_err(sq)?;
                    assessment_id = Some(tx.last_insert_rowid());
                }
            }
        }

        tx.execute(
            "INSERT INTO case_analysis (case_id, saved, assessment_id, tlp, json)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(case_id) DO UPDATE SET saved = excluded.saved,
               assessment_id = excluded.assessment_id, tlp = excluded.tlp, json = excluded.json",
            params![c.id, t, assessment_id, all_tlp, serde_json::to_string(inv)?],
        )
        .map_err(sq)?;
        tx.execute(
            "UPDATE case_cases SET updated = ?2 WHERE id = ?1",
            params![c.id, t],
        )
        .map_err(sq)?;
        tx.commit().map_err(sq)?;
        Ok(())
    }

    /// The case's current analysis (the report snapshot), if one was saved.
    pub fn analysis(&self, case: &str) -> Result<Option<Investigation>> {
        let id = self.case_id(case)?;
        let json: Option<String> = self
            .conn
            .query_row(
                "SELECT json FROM case_analysis WHERE case_id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        match json {
            Some(j) => Ok(Some(serde_json::from_str(&j)?)),
            None => Ok(None),
        }
    }

    /// The incidents of the case's current analysis, by id.
    pub fn incidents(&self, case: &str) -> Result<Vec<IncidentRow>> {
        let id = self.case_id(case)?;
        let mut st = self
            .conn
            .prepare(
                "SELECT id, title, severity, first_seen, last_seen, detections, tlp, json
                 FROM case_incidents WHERE case_id = ?1 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([id], |r| {
                Ok((
                    IncidentRow {
                        id: r.get(0)?,
                        title: r.get(1)?,
                        severity: r.get(2)?,
                        first_seen: r.get(3)?,
                        last_seen: r.get(4)?,
                        detections: get_u64(r, 5)?,
                        tlp: r.get(6)?,
                        incident: Value::Null,
                    },
                    r.get::<_, String>(7)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (mut inc, json) = row.map_err(|e| self.err(e))?;
            inc.incident = serde_json::from_str(&json)?;
            out.push(inc);
        }
        Ok(out)
    }

    /// The case's attribution history, oldest first.
    pub fn assessments(&self, case: &str) -> Result<Vec<AssessmentRow>> {
        let id = self.case_id(case)?;
        let mut st = self
            .conn
            .prepare(
                "SELECT id, created, top_id, top_name, top_probability, verdict, tlp, json
                 FROM case_assessments WHERE case_id = ?1 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([id], |r| {
                let top_id: Option<String> = r.get(2)?;
                let top = match top_id {
                    Some(id) => Some(TopCandidate {
                        id,
                        name: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                        probability: r.get::<_, Option<f64>>(4)?.unwrap_or_default(),
                    }),
                    None => None,
                };
                Ok((
                    AssessmentRow {
                        id: r.get(0)?,
                        created: r.get(1)?,
                        top,
                        verdict: r.get(5)?,
                        tlp: r.get(6)?,
                        assessment: Value::Null,
                    },
                    r.get::<_, String>(7)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (mut a, json) = row.map_err(|e| self.err(e))?;
            a.assessment = serde_json::from_str(&json)?;
            out.push(a);
        }
        Ok(out)
    }

    // -- Verdicts and notes --------------------------------------------------------------------

    /// Records an analyst's verdict on a detection of the case (it becomes the current one;
    /// every verdict is kept in the history). `NotFound` if the case has no such detection.
    pub fn set_verdict(
        &mut self,
        case: &str,
        detection_key: &str,
        verdict: Verdict,
        analyst: &str,
        reason: &str,
    ) -> Result<()> {
        valid_text("analyst", analyst, 256, false)?;
        valid_text("reason", reason, MAX_TEXT, true)?;
        let id = self.case_id(case)?;
        let path = &self.path;
        let sq = |e| StoreError::sqlite(path, e);
        let tx = self.conn.transaction().map_err(sq)?;
        let t = now();
        let n = tx
            .execute(
                "UPDATE case_detections SET verdict = ?3, verdict_by = ?4, verdict_reason = ?5,
                    verdict_at = ?6 WHERE case_id = ?1 AND key = ?2",
                params![id, detection_key, verdict.as_str(), analyst, reason, t],
            )
            .map_err(sq)?;
        if n == 0 {
            return Err(StoreError::NotFound {
                kind: "detection",
                name: detection_key.to_owned(),
            });
        }
        tx.execute(
            "INSERT INTO case_verdicts (case_id, key, verdict, analyst, reason, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id, detection_key, verdict.as_str(), analyst, reason, t],
        )
        .map_err(sq)?;
        tx.execute(
            "UPDATE case_cases SET updated = ?2 WHERE id = ?1",
            params![id, t],
        )
        .map_err(sq)?;
        tx.commit().map_err(sq)
    }

    /// Every verdict given in the case, oldest first.
    pub fn verdicts(&self, case: &str) -> Result<Vec<VerdictRow>> {
        let id = self.case_id(case)?;
        let mut st = self
            .conn
            .prepare(
                "SELECT key, verdict, analyst, reason, at FROM case_verdicts
                 WHERE case_id = ?1 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (key, v, analyst, reason, at) = row.map_err(|e| self.err(e))?;
            out.push(VerdictRow {
                key,
                verdict: Verdict::parse(&v)?,
                analyst,
                reason,
                at,
            });
        }
        Ok(out)
    }

    /// Adds a note to the case, one of its detections or one of its incidents; returns its id.
    /// The note's TLP defaults to the case's.
    pub fn add_note(
        &mut self,
        case: &str,
        target: NoteTarget,
        author: &str,
        text: &str,
        tlp: Option<&str>,
    ) -> Result<i64> {
        valid_text("author", author, 256, false)?;
        valid_text("note text", text, MAX_TEXT, false)?;
        let c = self.case_required(case)?;
        let tlp = match tlp {
            Some(t) => canonical_tlp(t)?.to_string(),
            None => c.tlp.clone(),
        };
        let (kind, target_id) = match &target {
            NoteTarget::Case => ("case", String::new()),
            NoteTarget::Detection(k) => {
                self.require_item(
                    "SELECT 1 FROM case_detections WHERE case_id = ?1 AND key = ?2",
                    c.id,
                    k,
                    "detection",
                )?;
                ("detection", k.clone())
            }
            NoteTarget::Incident(i) => {
                self.require_item(
                    "SELECT 1 FROM case_incidents WHERE case_id = ?1 AND id = ?2",
                    c.id,
                    i,
                    "incident",
                )?;
                ("incident", i.clone())
            }
        };
        let t = now();
        self.conn
            .execute(
                "INSERT INTO case_notes (case_id, target_kind, target_id, author, text, tlp, created)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![c.id, kind, target_id, author, text, tlp, t],
            )
            .map_err(|e| self.err(e))?;
        let id = self.conn.last_insert_rowid();
        self.touch(c.id)?;
        Ok(id)
    }

    fn require_item(&self, sql: &str, case_id: i64, id: &str, kind: &'static str) -> Result<()> {
        let found: Option<i64> = self
            .conn
            .query_row(sql, params![case_id, id], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?;
        match found {
            Some(_) => Ok(()),
            None => Err(StoreError::NotFound {
                kind,
                name: id.to_owned(),
            }),
        }
    }

    /// The case's notes, oldest first.
    pub fn notes(&self, case: &str) -> Result<Vec<Note>> {
        let id = self.case_id(case)?;
        let mut st = self
            .conn
            .prepare(
                "SELECT id, target_kind, target_id, author, text, tlp, created FROM case_notes
                 WHERE case_id = ?1 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([id], |r| {
                let kind: String = r.get(1)?;
                let tid: String = r.get(2)?;
                let target = match kind.as_str() {
                    "detection" => NoteTarget::Detection(tid),
                    "incident" => NoteTarget::Incident(tid),
                    _ => NoteTarget::Case,
                };
                Ok(Note {
                    id: r.get(0)?,
                    target,
                    author: r.get(3)?,
                    text: r.get(4)?,
                    tlp: r.get(5)?,
                    created: r.get(6)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))
    }

    // -- TLP and export ------------------------------------------------------------------------

    /// Sets the TLP label of one item of the case (of the case itself: the default for items
    /// added from now on). Items keep their own label when the case's changes.
    pub fn set_tlp(&mut self, case: &str, item: ItemRef, tlp: &str) -> Result<()> {
        let tlp = canonical_tlp(tlp)?;
        let id = self.case_id(case)?;
        let (sql, arg, kind): (&str, SqlValue, &'static str) = match &item {
            ItemRef::Case => (
                "UPDATE case_cases SET tlp = ?3 WHERE id = ?1 AND ?2 IS NULL",
                SqlValue::Null,
                "case",
            ),
            ItemRef::Evidence(e) => (
                "UPDATE case_evidence SET tlp = ?3 WHERE case_id = ?1 AND id = ?2",
                SqlValue::Integer(*e),
                "evidence",
            ),
            ItemRef::Detection(k) => (
                "UPDATE case_detections SET tlp = ?3 WHERE case_id = ?1 AND key = ?2",
                SqlValue::Text(k.clone()),
                "detection",
            ),
            ItemRef::Incident(i) => (
                "UPDATE case_incidents SET tlp = ?3 WHERE case_id = ?1 AND id = ?2",
                SqlValue::Text(i.clone()),
                "incident",
            ),
            ItemRef::Assessment(a) => (
                "UPDATE case_assessments SET tlp = ?3 WHERE case_id = ?1 AND id = ?2",
                SqlValue::Integer(*a),
                "assessment",
            ),
            ItemRef::Note(n) => (
                "UPDATE case_notes SET tlp = ?3 WHERE case_id = ?1 AND id = ?2",
                SqlValue::Integer(*n),
                "note",
            ),
        };
        let name = match &arg {
            SqlValue::Integer(i) => i.to_string(),
            SqlValue::Text(s) => s.clone(),
            _ => case.to_owned(),
        };
        let n = self
            .conn
            .execute(sql, params![id, arg, tlp])
            .map_err(|e| self.err(e))?;
        if n == 0 {
            return Err(StoreError::NotFound { kind, name });
        }
        self.touch(id)
    }

    /// Everything in the case, for export.
    pub fn dump_case(&self, case: &str) -> Result<CaseDump> {
        let c = self.case_required(case)?;
        Ok(CaseDump {
            format: DUMP_FORMAT.to_string(),
            exported: now(),
            evidence: self.evidence(case)?,
            custody: self.custody(case)?,
            runs: self.runs(case)?,
            detections: self.stored_detections(c.id)?,
            analysis: self.analysis(case)?,
            incidents: self.incidents(case)?,
            assessments: self.assessments(case)?,
            verdicts: self.verdicts(case)?,
            notes: self.notes(case)?,
            case: c,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn det(i: u64, ts: &str, level: &str, host: &str, attack: &[&str]) -> Detection {
        serde_json::from_value(json!({
            "rule_id": format!("r-{}", i % 7),
            "rule_title": format!("Rule number {}", i % 7),
            "level": level,
            "timestamp": ts,
            "host": host,
            "attack": attack,
            "source": {"path": "C:/logs/Security.evtx", "record_id": i},
            "event": {"CommandLine": format!("cmd.exe /c whoami {i}"), "EventID": 4688},
            "kind": "detection",
            "rule_path": "rules/x.yml"
        }))
        .unwrap()
    }

    fn store_with_case() -> CaseStore {
        let mut s = CaseStore::in_memory().unwrap();
        s.ensure_case("c1", None, None, None).unwrap();
        s
    }

    #[test]
    fn tlp_labels_are_canonical_and_ranked() {
        assert_eq!(canonical_tlp("amber+strict").unwrap(), "TLP:AMBER+STRICT");
        assert_eq!(canonical_tlp("tlp:white").unwrap(), "TLP:CLEAR");
        assert_eq!(canonical_tlp("RED").unwrap(), "TLP:RED");
        assert!(canonical_tlp("TLP:PURPLE").is_err());
        let ranks: Vec<u8> = [
            "TLP:CLEAR",
            "green",
            "TLP:AMBER",
            "TLP:AMBER+STRICT",
            "tlp:red",
        ]
        .iter()
        .map(|l| tlp_rank(l))
        .collect();
        assert_eq!(ranks, vec![0, 1, 2, 3, 4]);
        assert_eq!(tlp_rank("TLP:WHITE"), 0);
        assert_eq!(
            tlp_rank("garbage"),
            4,
            "unreadable labels are treated as RED"
        );
        assert_eq!(stricter("TLP:GREEN", "amber"), "TLP:AMBER");
        assert_eq!(stricter("TLP:RED", "TLP:CLEAR"), "TLP:RED");
        assert_eq!(stricter("TLP:GREEN", "nonsense"), "TLP:RED");
    }

    #[test]
    fn case_names_tlp_and_metadata_are_validated_and_updated() {
        let mut s = CaseStore::in_memory().unwrap();
        let long = "a".repeat(65);
        for bad in ["", "a b", "x/y", "..", long.as_str(), "é"] {
            let e = s.ensure_case(bad, None, None, None).unwrap_err();
            assert!(matches!(e, StoreError::Invalid(_)), "{bad}: {e}");
        }
        let e = s.ensure_case("ok", None, None, Some("purple")).unwrap_err();
        assert!(e.to_string().contains("purple"), "{e}");
        let c = s.ensure_case("op.quiet-draft_1", None, None, None).unwrap();
        assert_eq!(
            (c.title.as_str(), c.tlp.as_str()),
            ("op.quiet-draft_1", "TLP:AMBER")
        );
        assert_eq!(c.status, "open");
        let c2 = s
            .ensure_case(
                "op.quiet-draft_1",
                Some("Quiet Draft"),
                Some("PDO"),
                Some("red"),
            )
            .unwrap();
        assert_eq!(c2.id, c.id);
        assert_eq!(
            (c2.title.as_str(), c2.organisation.as_str(), c2.tlp.as_str()),
            ("Quiet Draft", "PDO", "TLP:RED")
        );
        // None leaves metadata alone.
        let c3 = s.ensure_case("op.quiet-draft_1", None, None, None).unwrap();
        assert_eq!(c3, c2);
        s.set_case_status("op.quiet-draft_1", "closed").unwrap();
        assert_eq!(
            s.case("op.quiet-draft_1").unwrap().unwrap().status,
            "closed"
        );
        assert!(s.set_case_status("op.quiet-draft_1", "archived").is_err());
        assert!(matches!(
            s.set_case_status("nope", "open").unwrap_err(),
            StoreError::NotFound { kind: "case", .. }
        ));
        assert!(s.case("nope").unwrap().is_none());
    }

    #[test]
    fn verdict_spellings_parse() {
        for (s, v) in [
            ("tp", Verdict::TruePositive),
            ("True-Positive", Verdict::TruePositive),
            ("true_positive", Verdict::TruePositive),
            ("FP", Verdict::FalsePositive),
            ("false positive", Verdict::FalsePositive),
            ("undetermined", Verdict::Undetermined),
        ] {
            assert_eq!(Verdict::parse(s).unwrap(), v, "{s}");
            assert_eq!(Verdict::parse(v.as_str()).unwrap(), v);
        }
        assert!(Verdict::parse("maybe").is_err());
        assert_eq!(VerdictFilter::parse("any").unwrap(), VerdictFilter::Any);
        assert_eq!(VerdictFilter::parse("tp").unwrap(), VerdictFilter::Tp);
        assert!(VerdictFilter::parse("undetermined").is_err());
    }

    #[test]
    fn times_sort_in_time_order_whatever_the_precision() {
        let a = sortable_time("2026-03-01T10:00:00Z");
        let b = sortable_time("2026-03-01T10:00:00.5Z");
        let c = sortable_time("2026-03-01T12:00:00+01:00");
        assert!(a < b, "{a} {b}");
        assert_eq!(c, "2026-03-01T11:00:00.000000000Z");
        assert!(b < c);
        assert_eq!(
            time_bound("until", "2026-03-01", true).unwrap(),
            "2026-03-01\u{7f}"
        );
        assert!(time_bound("since", "yesterday", false).is_err());
    }

    #[test]
    fn the_key_is_stable_across_a_json_round_trip() {
        let d = det(1, "2026-03-01T10:00:00Z", "high", "WS1", &["T1059.001"]);
        let back: Detection = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
        assert_eq!(key_of(&d).unwrap(), key_of(&back).unwrap());
        let other = det(2, "2026-03-01T10:00:00Z", "high", "WS1", &["T1059.001"]);
        assert_ne!(key_of(&d).unwrap(), key_of(&other).unwrap());
    }

    #[test]
    fn search_text_covers_event_values_lower_cased() {
        let d = det(3, "2026-03-01T10:00:00Z", "high", "PDO-WEB01", &[]);
        let s = search_text(&d);
        assert!(s.contains("pdo-web01"));
        assert!(s.contains("cmd.exe /c whoami 3"));
        assert!(s.contains("4688"));
        assert!(s.contains("rule number 3"));
        assert_eq!(s, s.to_lowercase());
    }

    #[test]
    fn indicator_hits_keep_a_stricter_tlp() {
        let mut s = store_with_case();
        let mut red: Detection = det(1, "2026-03-01T10:00:00Z", "high", "WS1", &[]);
        red.kind = tiaki::DetectionKind::Indicator;
        red.indicator = Some(
            serde_json::from_value(json!({
                "id": "indicator--1", "type": "ipv4", "value": "203.0.113.9",
                "source": "feed.json", "tlp": "TLP:RED"
            }))
            .unwrap(),
        );
        let mut green = red.clone();
        green.source.record_id = Some(2);
        green.indicator.as_mut().unwrap().tlp = Some("TLP:GREEN".into());
        let plain = det(3, "2026-03-01T10:00:00Z", "high", "WS1", &[]);
        s.add_detections("c1", &[red.clone(), green.clone(), plain.clone()], None)
            .unwrap();
        let tlp = |d: &Detection| s.detection("c1", &key_of(d).unwrap()).unwrap().unwrap().tlp;
        assert_eq!(tlp(&red), "TLP:RED");
        assert_eq!(
            tlp(&green),
            "TLP:AMBER",
            "a looser indicator TLP does not loosen"
        );
        assert_eq!(tlp(&plain), "TLP:AMBER");
        // The search text includes the indicator value.
        let q = DetectionQuery {
            text: Some("203.0.113.9".into()),
            ..Default::default()
        };
        assert_eq!(s.detections("c1", &q).unwrap().total, 2);
    }

    #[test]
    fn incidents_take_the_strictest_tlp_of_their_detections() {
        let mut s = store_with_case();
        let a = det(1, "2026-03-01T10:00:00Z", "high", "WS1", &[]);
        let b = det(2, "2026-03-01T10:01:00Z", "high", "WS1", &[]);
        s.add_detections("c1", std::slice::from_ref(&a), None)
            .unwrap();
        s.add_detections("c1", std::slice::from_ref(&b), Some("TLP:RED"))
            .unwrap();
        let event = |d: &Detection| {
            json!({"index": 0, "kind": "detection", "rule_id": d.rule_id, "rule_title": d.rule_title,
                   "level": "high", "timestamp": d.timestamp, "host": "WS1", "attack": [],
                   "tactic": null, "source": d.source, "entities": [], "summary": "x"})
        };
        let incident = |id: &str, evs: Vec<Value>| {
            json!({"id": id, "title": "t", "severity": "high", "severity_reasons": [],
                   "first_seen": null, "last_seen": null, "hosts": [], "accounts": [],
                   "addresses": [], "web_shells": [], "techniques": [], "phases": [],
                   "events": evs, "links": [], "narrative": ""})
        };
        let inv: Investigation = serde_json::from_value(json!({
            "incidents": [incident("INC-001", vec![event(&a)]), incident("INC-002", vec![event(&a), event(&b)])]
        }))
        .unwrap();
        s.save_analysis("c1", &inv).unwrap();
        let inc = s.incidents("c1").unwrap();
        assert_eq!(inc.len(), 2);
        assert_eq!(
            (inc[0].id.as_str(), inc[0].tlp.as_str()),
            ("INC-001", "TLP:AMBER")
        );
        assert_eq!(
            (inc[1].id.as_str(), inc[1].tlp.as_str()),
            ("INC-002", "TLP:RED")
        );
        assert_eq!(inc[1].detections, 2);
    }

    #[test]
    fn the_timeline_pages_through_an_index_without_sorting() {
        let s = store_with_case();
        for desc in ["", " DESC"] {
            let sql = format!(
                "EXPLAIN QUERY PLAN SELECT {DET_COLS} FROM case_detections WHERE case_id = 1
                 ORDER BY ts{desc}, path{desc}, record_id{desc}, line{desc}, id{desc} LIMIT 100 OFFSET 5000"
            );
            let mut st = s.conn.prepare(&sql).unwrap();
            let plan: Vec<String> = st
                .query_map([], |r| r.get::<_, String>(3))
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            let plan = plan.join("\n");
            assert!(plan.contains("case_detections_time"), "{plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{plan}");
        }
    }

    #[test]
    fn a_reader_is_not_blocked_by_an_open_write_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("case.db");
        let mut w = CaseStore::open(&p).unwrap();
        w.ensure_case("c1", None, None, None).unwrap();
        w.add_detections(
            "c1",
            &[det(1, "2026-03-01T10:00:00Z", "low", "A", &[])],
            None,
        )
        .unwrap();
        let mode: String = w
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let r = CaseStore::open(&p).unwrap();
        r.conn
            .busy_timeout(std::time::Duration::from_millis(1))
            .unwrap();
        w.conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        w.conn
            .execute(
                "UPDATE case_cases SET title = 'uncommitted' WHERE name = 'c1'",
                [],
            )
            .unwrap();
        // Reads succeed at once and see the last committed state.
        let c = r.case("c1").unwrap().unwrap();
        assert_eq!(c.title, "c1");
        assert_eq!(r.cases().unwrap()[0].detections, 1);
        w.conn.execute_batch("COMMIT").unwrap();
        assert_eq!(r.case("c1").unwrap().unwrap().title, "uncommitted");
    }
}
