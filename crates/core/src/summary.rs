//! The end-of-run account: what was read, what was skipped and why, what
//! fired. "Every record is accounted for" (DESIGN.md): a hunt that found
//! nothing in a half-unreadable log must say so, so the summary carries the
//! reader's per-file damage report next to the detection counts.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use tiaki_evidence::ReadReport;

/// How many times one rule fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleCount {
    /// The rule's id.
    pub rule_id: Option<String>,
    /// The rule's title.
    pub rule_title: String,
    /// The rule's level.
    pub level: Option<String>,
    /// Detections written for it.
    pub count: u64,
}

/// A file that was not read cleanly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileProblem {
    /// The evidence path.
    pub path: String,
    /// The format it was read as, if recognised.
    pub format: Option<String>,
    /// Events read from it.
    pub events: u64,
    /// Records skipped, per reason.
    pub skipped: BTreeMap<String, u64>,
    /// The first errors in full (file, record, reason).
    pub errors: Vec<String>,
    /// False if reading stopped before the end of the file.
    pub complete: bool,
}

/// The account of one evidence file or archive member: every record read from it is either
/// hunted, left out by the time window, or skipped by the reader with a reason, so
/// `events == hunted + outside_time_window + without_timestamp` and
/// `records() == events + skipped`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileAccount {
    /// The evidence path (`a.zip!inner/x.evtx` for archive members).
    pub path: String,
    /// The format it was read as, if recognised.
    pub format: Option<String>,
    /// Events read from it.
    pub events: u64,
    /// Of those, events matched against the rules.
    pub hunted: u64,
    /// Of those, events left out by `--from`/`--to`.
    pub outside_time_window: u64,
    /// Of those, events left out because a time window was set and they had no time.
    pub without_timestamp: u64,
    /// Records the reader skipped, per reason.
    pub skipped: BTreeMap<String, u64>,
    /// False if reading stopped before the end of the file.
    pub complete: bool,
}

impl FileAccount {
    /// Records accounted for: events read plus records skipped.
    pub fn records(&self) -> u64 {
        self.events + self.skipped.values().sum::<u64>()
    }

    /// Whether the events read add up to hunted plus left out by the time window.
    pub fn balances(&self) -> bool {
        self.events == self.hunted + self.outside_time_window + self.without_timestamp
    }
}

/// The account of one hunt (or dump, or timeline).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Files and archive members read.
    pub files: usize,
    /// Events read, all formats.
    pub events_read: u64,
    /// Events read per format (`evtx`, `evtx-json`, `syslog`...).
    pub events_by_format: BTreeMap<String, u64>,
    /// Of the events read, EVTX records carved from unallocated space.
    pub events_recovered: u64,
    /// Events matched against the rules (read, minus the time filter).
    pub events_hunted: u64,
    /// Events left out by `--from`/`--to`.
    pub events_outside_time_window: u64,
    /// Events left out because a time window was set and they had no time.
    pub events_without_timestamp: u64,
    /// Records skipped by the readers, per reason, over all files.
    pub records_skipped: BTreeMap<String, u64>,
    /// Files with skipped records, errors, or that could not be read to the
    /// end.
    pub files_with_problems: Vec<FileProblem>,
    /// Every file and archive member read, with its records accounted for, in reading order.
    pub file_accounts: Vec<FileAccount>,
    /// Events the time window left out, per file: (outside, without a timestamp). Folded
    /// into [`Summary::file_accounts`] by [`Summary::add_read_report`].
    #[serde(skip)]
    pub(crate) filtered_by_file: HashMap<Arc<str>, (u64, u64)>,
    /// Files that are not logs (not recognised by any reader), left to the YARA pass.
    #[serde(skip_serializing_if = "is_zero")]
    pub files_not_logs: u64,
    /// Detection rules loaded.
    pub detection_rules: usize,
    /// Correlation rules loaded.
    pub correlation_rules: usize,
    /// Rule documents refused while loading or compiling.
    pub rule_load_errors: usize,
    /// Detections written (correlation alerts included), per level
    /// (`none` for rules without a level).
    pub detections_by_level: BTreeMap<String, u64>,
    /// Detections written.
    pub detections: u64,
    /// Of those, correlation alerts.
    pub correlation_alerts: u64,
    /// Matches not written because they were below `--min-level`.
    pub below_min_level: u64,
    /// Matches of rules that only feed correlations (`generate: false`),
    /// not written as detections of their own.
    pub correlation_only_matches: u64,
    /// Matches of correlation-referenced rules left out of correlation for
    /// lack of a timestamp.
    pub correlation_inputs_without_timestamp: u64,
    /// Correlation inputs lost to the engine's memory limits or lateness (if
    /// non-zero, correlation results may be incomplete).
    pub correlation_inputs_lost: u64,
    /// Indicator detections written (multi-observation patterns included).
    pub indicator_hits: u64,
    /// The indicator sweep, when indicators were loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indicators: Option<crate::sweep::IndicatorSummary>,
    /// The YARA pass, when YARA rules were given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub yara: Option<crate::yara_pass::YaraSummary>,
    /// The rules (and indicators) that fired most (at most 10), most first.
    pub top_rules: Vec<RuleCount>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

impl Summary {
    /// Fills the reading part from the reader's report.
    pub fn add_read_report(&mut self, report: &ReadReport) {
        self.files = report.files.len();
        for f in &report.files {
            let (outside, no_time) = self.filtered_by_file.remove(&f.path).unwrap_or_default();
            self.file_accounts.push(FileAccount {
                path: f.path.to_string(),
                format: f.format.map(|x| x.name().to_string()),
                events: f.events,
                hunted: f.events.saturating_sub(outside + no_time),
                outside_time_window: outside,
                without_timestamp: no_time,
                skipped: f
                    .skipped
                    .iter()
                    .map(|(k, v)| ((*k).to_string(), *v))
                    .collect(),
                complete: f.complete,
            });
            self.events_recovered += f.recovered;
            for (r, n) in &f.skipped {
                *self.records_skipped.entry((*r).to_string()).or_default() += n;
            }
            if !f.skipped.is_empty() || !f.errors.is_empty() || !f.complete {
                self.files_with_problems.push(FileProblem {
                    path: f.path.to_string(),
                    format: f.format.map(|x| x.name().to_string()),
                    events: f.events,
                    skipped: f
                        .skipped
                        .iter()
                        .map(|(k, v)| ((*k).to_string(), *v))
                        .collect(),
                    errors: f.errors.iter().map(ToString::to_string).collect(),
                    complete: f.complete,
                });
            }
        }
    }

    /// Counts one detection written at `level`.
    pub(crate) fn count_detection(&mut self, level: Option<tiaki_sigma::Level>) {
        let name = level.map_or("none", tiaki_sigma::Level::as_str);
        *self
            .detections_by_level
            .entry(name.to_string())
            .or_default() += 1;
        self.detections += 1;
    }

    /// With a YARA pass, files that are not logs (web pages, tools, documents) are expected
    /// in the evidence: those the readers did not recognise, and read nothing from, are
    /// counted in [`Summary::files_not_logs`] instead of being listed as damaged evidence.
    pub fn set_aside_non_logs(&mut self) {
        const UNRECOGNISED: &str = "format not recognised";
        let before = self.files_with_problems.len();
        self.files_with_problems.retain(|p| {
            !(p.events == 0 && p.skipped.len() == 1 && p.skipped.contains_key(UNRECOGNISED))
        });
        let moved = (before - self.files_with_problems.len()) as u64;
        self.files_not_logs += moved;
        if let Some(n) = self.records_skipped.get_mut(UNRECOGNISED) {
            *n -= moved.min(*n);
            if *n == 0 {
                self.records_skipped.remove(UNRECOGNISED);
            }
        }
    }

    /// Records skipped, all reasons.
    pub fn records_skipped_total(&self) -> u64 {
        self.records_skipped.values().sum()
    }

    /// Records accounted for over all files: (read or skipped, hunted, left out by the time
    /// window, skipped by the readers).
    pub fn records_accounted(&self) -> (u64, u64, u64, u64) {
        let mut t = (0, 0, 0, 0);
        for a in &self.file_accounts {
            t.0 += a.records();
            t.1 += a.hunted;
            t.2 += a.outside_time_window + a.without_timestamp;
            t.3 += a.skipped.values().sum::<u64>();
        }
        t
    }

    /// Events per second of wall time.
    pub fn events_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.events_read as f64 / self.seconds
        } else {
            0.0
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

const LEVEL_ORDER: [&str; 6] = ["critical", "high", "medium", "low", "informational", "none"];

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let formats: Vec<String> = self
            .events_by_format
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect();
        write!(
            f,
            "read {} events from {} files in {:.2} s ({:.0} events/s)",
            self.events_read,
            self.files,
            self.seconds,
            self.events_per_second()
        )?;
        if !formats.is_empty() {
            write!(f, ": {}", formats.join(", "))?;
        }
        if self.events_recovered > 0 {
            write!(
                f,
                "; {} carved from unallocated EVTX space",
                self.events_recovered
            )?;
        }
        writeln!(f)?;
        if self.events_outside_time_window + self.events_without_timestamp > 0 {
            writeln!(
                f,
                "time window: {} events hunted, {} outside, {} without a timestamp",
                self.events_hunted, self.events_outside_time_window, self.events_without_timestamp
            )?;
        }
        if !self.records_skipped.is_empty() {
            let parts: Vec<String> = self
                .records_skipped
                .iter()
                .map(|(k, v)| format!("{v} {k}"))
                .collect();
            writeln!(
                f,
                "skipped {} records: {}",
                self.records_skipped_total(),
                parts.join(", ")
            )?;
        }
        let (records, hunted, left_out, skipped) = self.records_accounted();
        if records > 0 {
            writeln!(
                f,
                "records: {records} accounted for = {hunted} hunted + {left_out} left out by the time window + {skipped} skipped"
            )?;
        }
        if self.files_not_logs > 0 {
            writeln!(
                f,
                "{} files are not logs (no reader recognised them); the YARA pass scanned them",
                self.files_not_logs
            )?;
        }
        for p in &self.files_with_problems {
            let mut parts: Vec<String> = p
                .skipped
                .iter()
                .map(|(k, v)| format!("{v} skipped: {k}"))
                .collect();
            if !p.complete {
                parts.push("INCOMPLETE".into());
            }
            writeln!(
                f,
                "  {} [{}]: {} events, {}",
                p.path,
                p.format.as_deref().unwrap_or("?"),
                p.events,
                parts.join(", ")
            )?;
            for e in p.errors.iter().take(3) {
                writeln!(f, "    {e}")?;
            }
        }
        let has_rules = self.detection_rules + self.correlation_rules + self.rule_load_errors > 0;
        if !has_rules && self.indicators.is_none() && self.yara.is_none() {
            // `dump`: no rules, nothing more to say.
            return Ok(());
        }
        if has_rules {
            write!(
                f,
                "rules: {} detection, {} correlation",
                self.detection_rules, self.correlation_rules
            )?;
            if self.rule_load_errors > 0 {
                write!(
                    f,
                    ", {} refused (`tiaki rules check` lists them)",
                    self.rule_load_errors
                )?;
            }
            writeln!(f)?;
        }
        if let Some(i) = &self.indicators {
            write_indicators(f, i)?;
        }
        if let Some(y) = &self.yara {
            write_yara(f, y)?;
        }
        let levels: Vec<String> = LEVEL_ORDER
            .iter()
            .filter_map(|l| self.detections_by_level.get(*l).map(|n| format!("{n} {l}")))
            .collect();
        write!(f, "detections: {}", self.detections)?;
        if !levels.is_empty() {
            write!(f, " ({})", levels.join(", "))?;
        }
        if self.correlation_alerts > 0 {
            write!(
                f,
                ", of which {} correlation alerts",
                self.correlation_alerts
            )?;
        }
        if self.below_min_level > 0 {
            write!(f, "; {} below --min-level not shown", self.below_min_level)?;
        }
        writeln!(f)?;
        if self.correlation_only_matches > 0 {
            writeln!(
                f,
                "{} matches of rules that only feed correlations are not listed (--all-matches lists them)",
                self.correlation_only_matches
            )?;
        }
        if self.correlation_inputs_without_timestamp > 0 || self.correlation_inputs_lost > 0 {
            writeln!(
                f,
                "correlation may be incomplete: {} inputs without a timestamp, {} lost to limits",
                self.correlation_inputs_without_timestamp, self.correlation_inputs_lost
            )?;
        }
        for (i, r) in self.top_rules.iter().enumerate() {
            if i == 0 {
                writeln!(f, "rules that fired most:")?;
            }
            writeln!(
                f,
                "  {:>7}  {:<13} {}",
                r.count,
                r.level.as_deref().unwrap_or("-"),
                r.rule_title
            )?;
        }
        Ok(())
    }
}

fn counts<K: fmt::Display, V: fmt::Display>(m: &BTreeMap<K, V>) -> String {
    m.iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn write_indicators(f: &mut fmt::Formatter<'_>, i: &crate::sweep::IndicatorSummary) -> fmt::Result {
    write!(
        f,
        "indicators: {} loaded in {:.2} s ({} indexed, {} STIX patterns per event, {} over several observations",
        i.indicators, i.load_seconds, i.indexed, i.patterns_per_event, i.patterns_multi_observation
    )?;
    if i.patterns_refused > 0 {
        write!(f, ", {} refused", i.patterns_refused)?;
    }
    writeln!(f, "); {} hits on {} indicators", i.hits, i.indicators_hit)?;
    if !i.by_kind.is_empty() {
        writeln!(f, "  by kind: {}", counts(&i.by_kind))?;
    }
    if !i.skipped_by_reason.is_empty() {
        writeln!(
            f,
            "  feed entries skipped: {}",
            counts(&i.skipped_by_reason)
        )?;
    }
    if i.pattern_candidates_dropped > 0 {
        writeln!(
            f,
            "  {} events not kept for multi-observation patterns (limit reached): such patterns may have missed a match",
            i.pattern_candidates_dropped
        )?;
    }
    for e in i.pattern_errors.iter().take(5) {
        writeln!(f, "  pattern error: {e}")?;
    }
    Ok(())
}

fn write_yara(f: &mut fmt::Formatter<'_>, y: &crate::yara_pass::YaraSummary) -> fmt::Result {
    write!(
        f,
        "yara: {} rules, {} files scanned ({:.1} MiB), {} matched, {} hits",
        y.rules,
        y.files_scanned,
        y.bytes_scanned as f64 / (1024.0 * 1024.0),
        y.files_matched,
        y.hits
    )?;
    if y.rule_files_refused > 0 {
        write!(f, "; {} rule files refused", y.rule_files_refused)?;
    }
    writeln!(f)?;
    if !y.files_skipped.is_empty() {
        writeln!(f, "  files not scanned: {}", counts(&y.files_skipped))?;
        for p in y.problems.iter().take(5) {
            writeln!(f, "    {p}")?;
        }
    }
    Ok(())
}
