//! The timeline: every event in time order with the detections it raised,
//! as Timesketch imports it (CSV or JSON Lines with `datetime`,
//! `timestamp_desc` and `message`, plus attributes).
//!
//! Time order over a whole case needs a sort of every event; events are
//! turned into their final output row as they are read (matching included)
//! and the rows go through an [`ExternalSorter`], so memory is bounded by
//! the sort budget (default 256 MiB), not by the evidence. Events without a
//! time are kept, as Plaso does: at the Unix epoch with `timestamp_desc`
//! `Not a time`, so they sort first and are easy to filter out.
//!
//! Columns/keys: `datetime` (RFC 3339 UTC), `timestamp` (µs since the
//! epoch), `timestamp_desc`, `message`, `hostname`, `tiaki_source`,
//! `tiaki_record_id`, `tiaki_line`, `tiaki_format`, `tiaki_logsource`,
//! `tiaki_level` (highest level among the detections), `tiaki_detections`
//! (rule titles), `tiaki_rule_ids`, `tiaki_attack`. JSON Lines add every
//! event field as a key (a field named like one of those keys is renamed
//! `event_<name>`); CSV, whose columns are fixed, has the event as compact
//! JSON in the `event` column. Correlation alerts are rows of their own at
//! the time of the match that completed them.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use serde_json::{Map, Value};
use tiaki_evidence::Event;
use tiaki_sigma::{Level, RuleId, RuleSet};

use crate::correlate::{CorrelationPass, origin_key};
use crate::detection::{Detection, host_of, logsource_text, rfc3339};
use crate::error::HuntError;
use crate::hunt::{HuntOptions, Progress};
use crate::output::io;
use crate::pipeline::{self, Matched};
use crate::rules::Rules;
use crate::sort::ExternalSorter;
use crate::summary::Summary;

/// Timeline output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimelineFormat {
    /// Timesketch CSV.
    Csv,
    /// Timesketch JSON Lines.
    Jsonl,
}

/// The fixed CSV header.
pub const TIMELINE_CSV_HEADER: [&str; 15] = [
    "datetime",
    "timestamp",
    "timestamp_desc",
    "message",
    "hostname",
    "tiaki_source",
    "tiaki_record_id",
    "tiaki_line",
    "tiaki_format",
    "tiaki_logsource",
    "tiaki_level",
    "tiaki_detections",
    "tiaki_rule_ids",
    "tiaki_attack",
    "event",
];

/// Longest `message` written, in characters.
const MESSAGE_MAX: usize = 1000;

/// One timeline row before encoding.
struct Row {
    micros: Option<i64>,
    message: String,
    host: Option<String>,
    source: String,
    record_id: Option<u64>,
    line: Option<u64>,
    format: String,
    logsource: String,
    level: Option<Level>,
    detections: Vec<String>,
    rule_ids: Vec<String>,
    attack: Vec<String>,
    event: Map<String, Value>,
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A one-line description of an event: its own message if it has one,
/// else `key=value` pairs (Windows: channel and event id first).
fn describe(fields: &Map<String, Value>) -> String {
    for k in ["message", "Message", "msg"] {
        if let Some(Value::String(m)) = fields.get(k) {
            return m.clone();
        }
    }
    let mut out = String::new();
    if let (Some(c), Some(id)) = (fields.get("Channel"), fields.get("EventID")) {
        out = format!(
            "{} {}:",
            scalar_text(c).unwrap_or_default(),
            scalar_text(id).unwrap_or_default()
        );
    }
    for (k, v) in fields {
        if k == "Channel" || k == "EventID" {
            continue;
        }
        if let Some(t) = scalar_text(v) {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(k);
            out.push('=');
            out.push_str(&t);
        }
        if out.len() > MESSAGE_MAX * 4 {
            break;
        }
    }
    out
}

fn cut(mut s: String) -> String {
    if let Some((i, _)) = s.char_indices().nth(MESSAGE_MAX) {
        s.truncate(i);
        s.push('…');
    }
    s
}

impl Row {
    fn from_event(ev: &Event, hits: &[RuleId], set: &RuleSet) -> Row {
        let mut row = Row {
            micros: ev.timestamp.map(|t| t.timestamp_micros()),
            message: String::new(),
            host: host_of(ev),
            source: ev.origin.path.to_string(),
            record_id: ev.origin.record_id,
            line: ev.origin.line,
            format: ev.format.name().to_string(),
            logsource: logsource_text(&ev.logsource),
            level: None,
            detections: Vec::new(),
            rule_ids: Vec::new(),
            attack: Vec::new(),
            event: ev.fields.clone(),
        };
        for &r in hits {
            let m = set.meta(r);
            row.detections.push(m.title.clone());
            row.rule_ids.push(m.id.clone().unwrap_or_default());
            row.level = row.level.max(m.level);
            for t in m.attack_techniques() {
                if !row.attack.contains(&t) {
                    row.attack.push(t);
                }
            }
        }
        let text = describe(&ev.fields);
        row.message = cut(if row.detections.is_empty() {
            text
        } else {
            format!("[{}] {text}", row.detections.join(" | "))
        });
        row
    }

    fn from_alert(d: &Detection, ms: i64) -> Row {
        let c = d.correlation.as_ref();
        let group: Vec<String> = c
            .map(|c| {
                c.group
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                    .collect()
            })
            .unwrap_or_default();
        Row {
            micros: Some(ms * 1000),
            message: cut(format!(
                "[correlation: {}] {} {} in {}",
                d.rule_title,
                group.join(" "),
                c.map_or(String::new(), |c| format!("{} = {}", c.kind, c.value)),
                c.map_or("", |c| c.timespan.as_str())
            )),
            host: d.host.clone(),
            source: d.source.path.clone(),
            record_id: d.source.record_id,
            line: d.source.line,
            format: "correlation".into(),
            logsource: String::new(),
            level: d.level,
            detections: vec![d.rule_title.clone()],
            rule_ids: vec![d.rule_id.clone().unwrap_or_default()],
            attack: d.attack.clone(),
            event: d.event.clone(),
        }
    }

    fn datetime(&self) -> (String, i64, &'static str) {
        match self.micros {
            Some(us) => (
                chrono::DateTime::from_timestamp_micros(us)
                    .map_or_else(String::new, |t| rfc3339(&t)),
                us,
                "Event Time",
            ),
            None => ("1970-01-01T00:00:00Z".into(), 0, "Not a time"),
        }
    }

    fn encode(&self, format: TimelineFormat) -> Result<Vec<u8>, HuntError> {
        let (datetime, micros, desc) = self.datetime();
        let level = self.level.map_or("", Level::as_str);
        match format {
            TimelineFormat::Jsonl => {
                let mut m = Map::new();
                m.insert("datetime".into(), datetime.into());
                m.insert("timestamp".into(), micros.into());
                m.insert("timestamp_desc".into(), desc.into());
                m.insert("message".into(), self.message.clone().into());
                if let Some(h) = &self.host {
                    m.insert("hostname".into(), h.clone().into());
                }
                m.insert("tiaki_source".into(), self.source.clone().into());
                if let Some(r) = self.record_id {
                    m.insert("tiaki_record_id".into(), r.into());
                }
                if let Some(l) = self.line {
                    m.insert("tiaki_line".into(), l.into());
                }
                m.insert("tiaki_format".into(), self.format.clone().into());
                m.insert("tiaki_logsource".into(), self.logsource.clone().into());
                if !self.detections.is_empty() {
                    m.insert("tiaki_level".into(), level.into());
                    m.insert("tiaki_detections".into(), self.detections.clone().into());
                    m.insert("tiaki_rule_ids".into(), self.rule_ids.clone().into());
                    m.insert("tiaki_attack".into(), self.attack.clone().into());
                    m.insert("tag".into(), vec!["tiaki-detection"].into());
                }
                for (k, v) in &self.event {
                    let key = if m.contains_key(k) || k.starts_with("tiaki_") {
                        format!("event_{k}")
                    } else {
                        k.clone()
                    };
                    m.insert(key, v.clone());
                }
                let mut out = serde_json::to_vec(&m)?;
                out.push(b'\n');
                Ok(out)
            }
            TimelineFormat::Csv => {
                let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
                let opt = |v: Option<u64>| v.map(|x| x.to_string()).unwrap_or_default();
                w.write_record([
                    datetime.as_str(),
                    &micros.to_string(),
                    desc,
                    &self.message,
                    self.host.as_deref().unwrap_or(""),
                    &self.source,
                    &opt(self.record_id),
                    &opt(self.line),
                    &self.format,
                    &self.logsource,
                    level,
                    &self.detections.join(" | "),
                    &self.rule_ids.join(" | "),
                    &self.attack.join(";"),
                    &serde_json::to_string(&self.event)?,
                ])?;
                w.into_inner().map_err(|e| HuntError::Encode(e.to_string()))
            }
        }
    }
}

/// Writes the timeline of `paths` to `out`: every event (after the time
/// filter), time-ordered, with the detections of `rules` if given.
/// `opts.min_level` and `opts.all_matches` do not apply: every event is a
/// row. Returns the summary (detection counts are of events with hits).
pub fn timeline<P: AsRef<Path>>(
    paths: &[P],
    rules: Option<&Rules>,
    opts: &HuntOptions,
    format: TimelineFormat,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Summary, HuntError> {
    let started = Instant::now();
    let empty = tiaki_sigma::Collection::new(Default::default())
        .compile()
        .ruleset;
    let set = rules.map_or(&empty, |r| &r.set);
    let matcher = crate::matcher::BatchMatcher::new(set);
    let mut corr = rules
        .and_then(|r| r.engine(opts.correlation.clone()))
        .map(|e| CorrelationPass::new(e, set, opts.spill_dir.as_deref(), opts.sort_budget));
    let mut sorter = ExternalSorter::new(opts.spill_dir.as_deref(), opts.sort_budget);
    let mut summary = Summary::default();
    let mut seen = Progress::default();
    let mut consume = |m: Matched, summary: &mut Summary| -> Result<(), HuntError> {
        let mut next = m.hits.into_iter().peekable();
        for (i, ev) in m.events.iter().enumerate() {
            let rules_hit = match next.peek() {
                Some((j, _)) if *j == i => next.next().map(|(_, h)| h.rules).unwrap_or_default(),
                _ => Vec::new(),
            };
            if !rules_hit.is_empty() {
                if let Some(c) = corr.as_mut() {
                    c.offer(ev, &rules_hit)?;
                }
                for &r in &rules_hit {
                    summary.count_detection(set.meta(r).level);
                }
            }
            let row = Row::from_event(ev, &rules_hit, set);
            sorter.push(
                row.micros.unwrap_or(i64::MIN),
                &origin_key(&ev.origin),
                row.encode(format)?,
            )?;
        }
        seen.events = summary.events_hunted
            + summary.events_outside_time_window
            + summary.events_without_timestamp;
        seen.detections = summary.detections;
        progress(&seen);
        Ok(())
    };
    let report = pipeline::run(
        paths,
        &opts.read,
        &opts.filter,
        &matcher,
        &mut summary,
        &mut consume,
    )?;
    if let Some(c) = corr.take() {
        for (_, d) in c.finish_counted(set, &mut summary)? {
            let ms = d
                .timestamp
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map_or(0, |t| t.timestamp_millis());
            let row = Row::from_alert(&d, ms);
            // After the events of the same time: the alert follows its
            // completing event.
            sorter.push(ms * 1000, &[0xff], row.encode(format)?)?;
            summary.correlation_alerts += 1;
            summary.count_detection(d.level);
        }
    }
    if format == TimelineFormat::Csv {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(TIMELINE_CSV_HEADER)?;
        out.write_all(
            &w.into_inner()
                .map_err(|e| HuntError::Encode(e.to_string()))?,
        )
        .map_err(io)?;
    }
    for row in sorter.finish()? {
        out.write_all(&row?.1).map_err(io)?;
    }
    out.flush().map_err(io)?;
    summary.add_read_report(&report);
    summary.events_read = report.events();
    if let Some(r) = rules {
        summary.detection_rules = r.set.len();
        summary.correlation_rules = r.set.correlations().len();
        summary.rule_load_errors = r.errors.len();
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}
