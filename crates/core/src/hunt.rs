//! The hunt: evidence paths and rules in, detections out, with a summary.
//!
//! One pass over the evidence. The reader streams batches (its threads read
//! files in parallel and wait when the hunt falls behind, so memory stays
//! bounded by the batches in flight); each batch is filtered by time,
//! matched on every core ([`BatchMatcher`]), and its hits are written as
//! detections on this thread, in event order within the batch. Matches of
//! rules that correlations reference are set aside for the correlation pass
//! ([`CorrelationPass`]), which runs when the last batch is done.

use std::path::{Path, PathBuf};
use std::time::Instant;

use tiaki_evidence::ReadOptions;
use tiaki_sigma::Level;

use crate::error::HuntError;
use crate::filter::EventFilter;
use crate::hunter::{Fired, Hunter};
use crate::output::DetectionSink;
use crate::pipeline::{self, Matched};
use crate::rules::Rules;
use crate::sort::DEFAULT_BUDGET;
use crate::summary::Summary;
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
    /// Bounds on the correlation state (groups per correlation, entries per group and
    /// window, events listed per alert); see [`tiaki_sigma::correlation::EngineOptions`]
    /// for the defaults. Inputs lost to them are counted in the summary's correlation line.
    pub correlation: tiaki_sigma::correlation::EngineOptions,
    /// Events kept per multi-observation STIX pattern (default
    /// [`crate::patterns::DEFAULT_MAX_KEPT`], 10,000); further candidates are counted in
    /// the summary, not kept.
    pub pattern_max_kept: usize,
    /// Bounds on the search for a STIX pattern's binding (search steps, `REPEATS` count);
    /// a pattern past one is not decided and named in the summary's pattern errors.
    pub pattern_limits: tiaki_stix::pattern::SearchLimits,
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
            correlation: Default::default(),
            pattern_max_kept: crate::patterns::DEFAULT_MAX_KEPT,
            pattern_limits: Default::default(),
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
    let mut hunter = Hunter::new(rules, sweeps, opts);
    let matcher = hunter.matcher();
    let mut written = Progress::default();
    let mut summary = Summary::default();
    let mut consume = |m: Matched, summary: &mut Summary| -> Result<(), HuntError> {
        written.events = summary.events_hunted
            + summary.events_outside_time_window
            + summary.events_without_timestamp;
        hunter.events(&m.events, m.hits, summary, sink)?;
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
    hunter.finish_patterns(&mut summary, sink)?;
    if let Some(yara) = sweeps.yara {
        let mut yara_hits = 0u64;
        let mut y = yara_pass(paths, yara, &sweeps.yara_options, &mut |d| {
            let key = Fired::Named(format!("yara:{}", d.rule_id.as_deref().unwrap_or_default()));
            if hunter.write(key, &d, &mut summary, sink)? {
                yara_hits += 1;
            }
            Ok(())
        })?;
        y.hits = yara_hits;
        summary.yara = Some(y);
    }
    hunter.finish_correlations(&mut summary, sink)?;
    summary.top_rules = hunter.top_rules(10);
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
