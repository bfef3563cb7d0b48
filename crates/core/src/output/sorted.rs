//! Detections in a reproducible order: `tiaki hunt --sort`.
//!
//! The reader hunts files in parallel, so streamed detections come out in whatever order the
//! files' batches finished: two runs over the same evidence can list the same detections in a
//! different order. An analyst who diffs two runs, or hands a result file to a partner, needs
//! the same bytes for the same evidence. [`SortedSink`] puts every detection through the
//! external merge sort (bounded memory; spills to temporary files) and replays them into the
//! real writer when the hunt is done, ordered by time or by source, with the file, the record
//! and the rule as tie-breaks — so the order no longer depends on thread timing.

use chrono::DateTime;

use crate::detection::Detection;
use crate::error::HuntError;
use crate::output::DetectionSink;
use crate::sort::ExternalSorter;
use crate::summary::Summary;

/// The orders of `tiaki hunt --sort`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    /// By the record's time; then file, record, rule. Detections without a time come last.
    Time,
    /// By file, then record number or line, then rule.
    Source,
}

/// A [`DetectionSink`] that sorts everything it is given and writes it to `inner` on
/// [`DetectionSink::finish`].
pub struct SortedSink<'a> {
    inner: Box<dyn DetectionSink + 'a>,
    order: SortOrder,
    sorter: Option<ExternalSorter>,
}

impl<'a> SortedSink<'a> {
    /// Sorts into `inner` by `order`, holding up to `budget` bytes in memory and spilling to
    /// `spill_dir` (the system temporary directory when `None`).
    pub fn new(
        inner: Box<dyn DetectionSink + 'a>,
        order: SortOrder,
        spill_dir: Option<&std::path::Path>,
        budget: usize,
    ) -> Self {
        SortedSink {
            inner,
            order,
            sorter: Some(ExternalSorter::new(spill_dir, budget)),
        }
    }
}

/// The sort key of a detection: its time in nanoseconds since 1970 (`i64::MAX` without one,
/// or when it is outside what an `i64` of nanoseconds holds), or 0 when sorting by source.
fn sort_key(d: &Detection, order: SortOrder) -> i64 {
    match order {
        SortOrder::Source => 0,
        SortOrder::Time => d
            .timestamp
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .and_then(|t| t.timestamp_nanos_opt())
            .unwrap_or(i64::MAX),
    }
}

/// The tie-break bytes: file, record number, line, rule title and id. Numbers are big-endian
/// so that byte order is numeric order.
fn tie_break(d: &Detection) -> Vec<u8> {
    let s = &d.source;
    let mut tie = Vec::with_capacity(s.path.len() + d.rule_title.len() + 64);
    tie.extend_from_slice(s.path.as_bytes());
    tie.push(0);
    tie.extend_from_slice(&s.record_id.unwrap_or(0).to_be_bytes());
    tie.extend_from_slice(&s.line.unwrap_or(0).to_be_bytes());
    tie.push(u8::from(s.recovered));
    tie.extend_from_slice(d.rule_title.as_bytes());
    tie.push(0);
    tie.extend_from_slice(d.rule_id.as_deref().unwrap_or("").as_bytes());
    tie
}

impl DetectionSink for SortedSink<'_> {
    fn write(&mut self, d: &Detection) -> Result<(), HuntError> {
        let payload = serde_json::to_vec(d).map_err(|e| HuntError::Output(e.into()))?;
        let sorter = self
            .sorter
            .as_mut()
            .expect("SortedSink written after finish");
        sorter.push(sort_key(d, self.order), &tie_break(d), payload)
    }

    fn finish(&mut self, summary: &Summary) -> Result<(), HuntError> {
        if let Some(sorter) = self.sorter.take() {
            for record in sorter.finish()? {
                let (_, payload) = record?;
                let d: Detection =
                    serde_json::from_slice(&payload).map_err(|e| HuntError::Output(e.into()))?;
                self.inner.write(&d)?;
            }
        }
        self.inner.finish(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detection::SourceRef;
    use serde_json::{Map, json};

    fn det(path: &str, record: u64, time: Option<&str>, title: &str) -> Detection {
        let mut event = Map::new();
        event.insert("CommandLine".into(), json!("whoami /all"));
        Detection {
            rule_id: Some(format!("id-{title}")),
            rule_title: title.into(),
            level: Some(tiaki_sigma::Level::High),
            timestamp: time.map(str::to_string),
            host: Some("pc1".into()),
            attack: vec!["T1033".into()],
            source: SourceRef {
                path: path.into(),
                record_id: Some(record),
                line: None,
                recovered: false,
            },
            event,
            kind: crate::detection::DetectionKind::Detection,
            rule_path: "r.yml".into(),
            logsource: Some("windows/process_creation/*".into()),
            correlation: None,
            indicator: None,
            yara: None,
        }
    }

    fn sorted(order: SortOrder, input: &[Detection], budget: usize) -> Vec<Detection> {
        let mut out: Vec<Detection> = Vec::new();
        {
            let mut s = SortedSink::new(Box::new(&mut out), order, None, budget);
            for d in input {
                s.write(d).unwrap();
            }
            s.finish(&Summary::default()).unwrap();
        }
        out
    }

    fn input() -> Vec<Detection> {
        vec![
            det("b.evtx", 7, Some("2021-03-01T10:00:00Z"), "B"),
            det("a.evtx", 9, None, "A"),
            det("a.evtx", 2, Some("2021-03-01T11:00:00.5Z"), "Z"),
            det("a.evtx", 2, Some("2021-03-01T11:00:00.5Z"), "A"),
            det("a.evtx", 10, Some("2021-03-01T09:00:00Z"), "A"),
        ]
    }

    fn keys(v: &[Detection]) -> Vec<(String, u64, String)> {
        v.iter()
            .map(|d| {
                (
                    d.source.path.clone(),
                    d.source.record_id.unwrap(),
                    d.rule_title.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn time_order_with_ties_broken_by_source_and_rule() {
        let k = |p: &str, r: u64, t: &str| (p.to_string(), r, t.to_string());
        let want = vec![
            k("a.evtx", 10, "A"),
            k("b.evtx", 7, "B"),
            k("a.evtx", 2, "A"),
            k("a.evtx", 2, "Z"),
            k("a.evtx", 9, "A"),
        ];
        assert_eq!(keys(&sorted(SortOrder::Time, &input(), 1 << 20)), want);
        // Spilling after every record must give the same order.
        assert_eq!(keys(&sorted(SortOrder::Time, &input(), 1)), want);
    }

    #[test]
    fn source_order_is_independent_of_arrival_order() {
        let mut rev = input();
        rev.reverse();
        let a = sorted(SortOrder::Source, &input(), 1 << 20);
        let b = sorted(SortOrder::Source, &rev, 1);
        assert_eq!(a, b);
        let k = keys(&a);
        assert_eq!(k[0], ("a.evtx".to_string(), 2, "A".to_string()));
        assert_eq!(k[4], ("b.evtx".to_string(), 7, "B".to_string()));
    }

    #[test]
    fn detections_survive_the_round_trip_unchanged() {
        let d = input();
        let out = sorted(SortOrder::Source, &d, 1);
        for x in &d {
            assert!(out.contains(x), "lost or changed: {x:?}");
        }
    }
}
