//! The hunt: evidence paths and rules in, detections out, with a summary.
//!
//! One pass over the evidence. The reader streams batches (its threads read
//! files in parallel and wait when the hunt falls behind, so memory stays
//! bounded by the batches in flight); each batch is filtered by time,
//! matched on every core ([`BatchMatcher`]), and its hits are written as
//! detections on this thread, in event order within the batch. Matches of
//! rules that correlations reference are set aside for the correlation pass
//! ([`CorrelationPass`]), which runs when the last batch is done.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use tiaki_evidence::ReadOptions;
use tiaki_sigma::{Level, RuleId};

use crate::correlate::CorrelationPass;
use crate::detection::Detection;
use crate::error::HuntError;
use crate::filter::EventFilter;
use crate::matcher::BatchMatcher;
use crate::output::DetectionSink;
use crate::patterns::PatternState;
use crate::pipeline::{self, Matched};
use crate::rules::Rules;
use crate::sort::DEFAULT_BUDGET;
use crate::summary::{RuleCount, Summary};
use crate::sweep::{IndicatorSummary, IndicatorSweep};
use crate::yara_pass::yara_pass;

/// How to hunt.
#[derive(Debug, Clone)]
pub struct HuntOptions {
    /// How to read the evidence (format override, threads, EVTX carving...).
    pub read: ReadOptions,
    /// `--from`/`--to`.
    pub filter: EventFilter,
    /// Write only detections at or above this level (`--min-level`).
    pub min_level: Option<Level>,
    /// Also write matches of rules that only feed correlations. By the
    /// specification (`generate: false`, the default) they are not outputs
    /// of their own; they are counted in the summary either way.
    pub all_matches: bool,
    /// Where sorts spill temporary files (system temporary directory if
    /// `None`).
    pub spill_dir: Option<PathBuf>,
    /// Memory budget of each sort, in bytes.
    pub sort_budget: usize,
}

impl Default for HuntOptions {
    fn default() -> Self {
        HuntOptions {
            read: ReadOptions::default(),
            filter: EventFilter::default(),
            min_level: None,
            all_matches: false,
            spill_dir: None,
            sort_budget: DEFAULT_BUDGET,
        }
    }
}

/// Progress of a run, reported after every batch.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    /// Events read so far.
    pub events: u64,
    /// Detections written so far.
    pub detections: u64,
}

/// What a hunt sweeps besides the Sigma rules.
#[derive(Default)]
pub struct Sweeps<'a> {
    /// Indicators (STIX, MISP, lists), tested on every event.
    pub indicators: Option<&'a IndicatorSweep>,
    /// What loading the indicators found (counts per feed, entries skipped), for the summary.
    pub indicator_summary: IndicatorSummary,
    /// YARA rules, run over every file under the evidence paths.
    pub yara: Option<&'a tiaki_yara::YaraRules>,
    /// Limits of the YARA pass.
    pub yara_options: tiaki_yara::ScanOptions,
}

/// What is counted per rule for the summary.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Fired {
    Rule(RuleId),
    Correlation(usize),
    Indicator(u32),
    /// YARA rules and multi-observation patterns, by rule id.
    Named(String),
}

/// How often each rule fired, for the summary's top list.
#[derive(Default)]
struct Tally(HashMap<Fired, RuleCount>);

impl Tally {
    fn wrote(&mut self, key: Fired, d: &Detection, summary: &mut Summary) {
        summary.count_detection(d.level);
        self.0
            .entry(key)
            .or_insert_with(|| RuleCount {
                rule_id: d.rule_id.clone(),
                rule_title: d.rule_title.clone(),
                level: d.level.map(|l| l.as_str().to_string()),
                count: 0,
            })
            .count += 1;
    }

    fn top_rules(self, n: usize) -> Vec<RuleCount> {
        let mut v: Vec<RuleCount> = self.0.into_values().collect();
        v.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.rule_title.cmp(&b.rule_title))
        });
        v.truncate(n);
        v
    }
}

/// Hunts `paths` (files or directories) with `rules`, writing detections to
/// `sink` as they are found and correlation alerts after the last event;
/// calls `sink.finish` with the summary, and returns it.
///
/// Damaged or unreadable evidence does not stop the hunt: it is reported in
/// [`Summary::files_with_problems`]. Errors are about writing the output.
pub fn hunt<P: AsRef<Path>>(
    paths: &[P],
    rules: &Rules,
    opts: &HuntOptions,
    sink: &mut dyn DetectionSink,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Summary, HuntError> {
    hunt_with(paths, rules, &Sweeps::default(), opts, sink, progress)
}

/// [`hunt`] with indicator and YARA sweeps: indicator hits are written as their events are
/// matched, multi-observation STIX patterns after the last event, and YARA hits after the
/// evidence has been read (files in walk order).
pub fn hunt_with<P: AsRef<Path>>(
    paths: &[P],
    rules: &Rules,
    sweeps: &Sweeps<'_>,
    opts: &HuntOptions,
    sink: &mut dyn DetectionSink,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Summary, HuntError> {
    let started = Instant::now();
    let set = &rules.set;
    let matcher = BatchMatcher::with_sweep(set, sweeps.indicators);
    let mut pattern_state = PatternState::default();
    let mut indicators_hit = std::collections::HashSet::new();
    let mut corr = rules
        .engine()
        .map(|e| CorrelationPass::new(e, set, opts.spill_dir.as_deref(), opts.sort_budget));
    let mut hidden = vec![false; set.len()];
    if !opts.all_matches
        && let Some(c) = &corr
    {
        for r in c.suppressed() {
            hidden[r as usize] = true;
        }
    }
    let mut tally = Tally::default();
    let mut written = Progress::default();
    let mut summary = Summary::default();
    let mut consume = |m: Matched, summary: &mut Summary| -> Result<(), HuntError> {
        written.events = summary.events_hunted
            + summary.events_outside_time_window
            + summary.events_without_timestamp;
        for (i, hits) in m.hits {
            let ev = &m.events[i];
            if let Some(c) = corr.as_mut()
                && !hits.rules.is_empty()
            {
                c.offer(ev, &hits.rules)?;
            }
            if let Some(sweep) = sweeps.indicators {
                for im in &hits.indicators {
                    let d = sweep.detection(im, ev);
                    if opts.min_level.is_some_and(|m| !d.at_least(m)) {
                        summary.below_min_level += 1;
                        continue;
                    }
                    sink.write(&d)?;
                    indicators_hit.insert(im.indicator);
                    tally.wrote(Fired::Indicator(im.indicator), &d, summary);
                    summary.indicator_hits += 1;
                }
            }
            for d in hits.deferred {
                pattern_state.keep(d);
            }
            for r in hits.rules {
                if hidden[r as usize] {
                    summary.correlation_only_matches += 1;
                    continue;
                }
                let meta = set.meta(r);
                if let Some(min) = opts.min_level
                    && meta.level.unwrap_or(Level::Informational) < min
                {
                    summary.below_min_level += 1;
                    continue;
                }
                let d = Detection::new(meta, ev);
                sink.write(&d)?;
                tally.wrote(Fired::Rule(r), &d, summary);
            }
        }
        written.detections = summary.detections;
        progress(&written);
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

    if let Some(sweep) = sweeps.indicators {
        let errors = std::sync::Mutex::new(Vec::new());
        let dropped = pattern_state.dropped;
        let found = pattern_state.finish(
            sweep.patterns(),
            &|pos, value| sweep.detection_without_event(pos, "pattern", value),
            &|pos, time| sweep.indicator(pos).is_valid_at(time),
            &errors,
        );
        for d in found {
            if opts.min_level.is_some_and(|m| !d.at_least(m)) {
                summary.below_min_level += 1;
                continue;
            }
            sink.write(&d)?;
            summary.indicator_hits += 1;
            let key = Fired::Named(d.rule_id.clone().unwrap_or_default());
            tally.wrote(key, &d, &mut summary);
        }
        let mut s = sweeps.indicator_summary.clone();
        sweep.fill_summary(&mut s);
        s.hits = summary.indicator_hits;
        s.indicators_hit = indicators_hit.len();
        s.pattern_candidates_dropped = dropped;
        s.pattern_errors = errors.into_inner().unwrap_or_default();
        summary.indicators = Some(s);
    }
    if let Some(yara) = sweeps.yara {
        let mut yara_hits = 0u64;
        let mut y = yara_pass(paths, yara, &sweeps.yara_options, &mut |d| {
            if opts.min_level.is_some_and(|m| !d.at_least(m)) {
                summary.below_min_level += 1;
                return Ok(());
            }
            sink.write(&d)?;
            yara_hits += 1;
            let key = Fired::Named(format!("yara:{}", d.rule_id.as_deref().unwrap_or_default()));
            tally.wrote(key, &d, &mut summary);
            Ok(())
        })?;
        y.hits = yara_hits;
        summary.yara = Some(y);
    }
    if let Some(c) = corr.take() {
        for (c, d) in c.finish_counted(set, &mut summary)? {
            if opts.min_level.is_some_and(|m| !d.at_least(m)) {
                summary.below_min_level += 1;
                continue;
            }
            sink.write(&d)?;
            summary.correlation_alerts += 1;
            tally.wrote(Fired::Correlation(c), &d, &mut summary);
        }
    }
    summary.top_rules = tally.top_rules(10);
    summary.add_read_report(&report);
    if sweeps.yara.is_some() {
        summary.set_aside_non_logs();
    }
    summary.events_read = report.events();
    summary.detection_rules = set.len();
    summary.correlation_rules = set.correlations().len();
    summary.rule_load_errors = rules.errors.len();
    summary.seconds = started.elapsed().as_secs_f64();
    sink.finish(&summary)?;
    Ok(summary)
}
