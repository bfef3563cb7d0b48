//! The public types of cases: what the store takes and returns, and the export format.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tiaki::Detection;
use tiaki_report::Investigation;

#[cfg(doc)]
use super::{DEFAULT_PAGE, MAX_PAGE};
#[cfg(doc)]
use crate::CaseStore;
use crate::{Result, StoreError};

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
    /// Every file and archive member read, with its records accounted for.
    #[serde(default)]
    pub files: Vec<RunFile>,
    /// Every evidence file, hashed before and after the hunt.
    #[serde(default)]
    pub integrity: Vec<IntegrityCheck>,
}

/// The account of one file or archive member in a run: `events == hunted + outside_window +
/// without_timestamp`, and the reader's skipped records are counted per reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunFile {
    /// The evidence path (`a.zip!inner/x.evtx` for archive members).
    pub path: String,
    /// The format it was read as, if recognised.
    pub format: Option<String>,
    /// Events read.
    pub events: u64,
    /// Events hunted.
    pub hunted: u64,
    /// Events outside the run's time window.
    pub outside_window: u64,
    /// Events without a timestamp when a time window was set.
    pub without_timestamp: u64,
    /// Records skipped by the reader, per reason.
    pub skipped: std::collections::BTreeMap<String, u64>,
    /// False if reading stopped before the end of the file.
    pub complete: bool,
}

/// One evidence file hashed before and after a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrityCheck {
    /// The file (absolute path).
    pub path: String,
    /// SHA-256 before the hunt (`None`: could not be read).
    pub sha256_before: Option<String>,
    /// SHA-256 after the hunt.
    pub sha256_after: Option<String>,
    /// Size before, in bytes.
    pub size_before: Option<u64>,
    /// Size after, in bytes.
    pub size_after: Option<u64>,
    /// Both hashes taken and equal.
    pub intact: bool,
    /// Why not intact: a read error, or the change seen.
    pub problem: Option<String>,
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
