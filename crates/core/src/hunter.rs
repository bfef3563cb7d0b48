//! The per-event half of a hunt, for any stream of events.
//!
//! [`crate::hunt_with`] reads files; a distributed worker reads events from a message stream.
//! Both must turn matches into exactly the same detections, so that logic lives here once:
//! [`Hunter::events`] takes a batch and its matches (from [`crate::matcher::BatchMatcher`]) and
//! writes rule and indicator detections, keeping what only the end of the input can decide
//! (correlation inputs, multi-observation STIX pattern candidates); the `finish_*` methods
//! then write those. Level filtering, the per-rule tally and the summary counters are the
//! hunt's, whoever drives it.

use std::collections::{HashMap, HashSet};

use tiaki_evidence::Event;
use tiaki_sigma::{Level, RuleId};

use crate::correlate::CorrelationPass;
use crate::detection::Detection;
use crate::error::HuntError;
use crate::hunt::{HuntOptions, Sweeps};
use crate::matcher::{BatchMatcher, EventHits};
use crate::output::DetectionSink;
use crate::patterns::PatternState;
use crate::rules::Rules;
use crate::summary::{RuleCount, Summary};

/// What wrote a detection, for the summary's per-rule counts.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Fired {
    /// A Sigma detection rule, by index in the rule set.
    Rule(RuleId),
    /// A correlation rule, by index among the correlations.
    Correlation(usize),
    /// An indicator, by position in the sweep.
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

    fn top_rules(&self, n: usize) -> Vec<RuleCount> {
        let mut v: Vec<RuleCount> = self.0.values().cloned().collect();
        v.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.rule_title.cmp(&b.rule_title))
        });
        v.truncate(n);
        v
    }
}

/// Turns matched events into detections, with the state a whole input needs.
pub struct Hunter<'a> {
    rules: &'a Rules,
    sweeps: &'a Sweeps<'a>,
    min_level: Option<Level>,
    /// Rules whose matches only feed correlations (not outputs of their own).
    hidden: Vec<bool>,
    corr: Option<CorrelationPass>,
    pattern_state: PatternState,
    indicators_hit: HashSet<u32>,
    tally: Tally,
}

impl<'a> Hunter<'a> {
    /// A hunter for `rules` and `sweeps`, with the level, correlation-output and sort settings
    /// of `opts`.
    pub fn new(rules: &'a Rules, sweeps: &'a Sweeps<'a>, opts: &HuntOptions) -> Self {
        let set = &rules.set;
        let corr = rules
            .engine(opts.correlation.clone())
            .map(|e| CorrelationPass::new(e, set, opts.spill_dir.as_deref(), opts.sort_budget));
        let mut hidden = vec![false; set.len()];
        if !opts.all_matches
            && let Some(c) = &corr
        {
            for r in c.suppressed() {
                hidden[r as usize] = true;
            }
        }
        Hunter {
            rules,
            sweeps,
            min_level: opts.min_level,
            hidden,
            corr,
            pattern_state: PatternState::new(opts.pattern_max_kept, opts.pattern_limits),
            indicators_hit: HashSet::new(),
            tally: Tally::default(),
        }
    }

    /// The matcher for this hunter's rules and indicators.
    pub fn matcher(&self) -> BatchMatcher<'a> {
        BatchMatcher::with_sweep(&self.rules.set, self.sweeps.indicators)
    }

    /// Writes `d` unless it is below the minimum level (then counts it), and tallies it.
    pub fn write(
        &mut self,
        fired: Fired,
        d: &Detection,
        summary: &mut Summary,
        sink: &mut dyn DetectionSink,
    ) -> Result<bool, HuntError> {
        if self.min_level.is_some_and(|m| !d.at_least(m)) {
            summary.below_min_level += 1;
            return Ok(false);
        }
        sink.write(d)?;
        self.tally.wrote(fired, d, summary);
        Ok(true)
    }

    /// Writes the detections of one batch: `hits` are `(index in events, what matched)` as
    /// [`BatchMatcher::match_batch`] returns them, ascending.
    pub fn events(
        &mut self,
        events: &[Event],
        hits: Vec<(usize, EventHits)>,
        summary: &mut Summary,
        sink: &mut dyn DetectionSink,
    ) -> Result<(), HuntError> {
        let set = &self.rules.set;
        for (i, hits) in hits {
            let ev = &events[i];
            if let Some(c) = self.corr.as_mut()
                && !hits.rules.is_empty()
            {
                c.offer(ev, &hits.rules)?;
            }
            if let Some(sweep) = self.sweeps.indicators {
                for im in &hits.indicators {
                    let d = sweep.detection(im, ev);
                    if self.write(Fired::Indicator(im.indicator), &d, summary, sink)? {
                        self.indicators_hit.insert(im.indicator);
                        summary.indicator_hits += 1;
                    }
                }
            }
            for d in hits.deferred {
                self.pattern_state.keep(d);
            }
            for r in hits.rules {
                if self.hidden[r as usize] {
                    summary.correlation_only_matches += 1;
                    continue;
                }
                let meta = set.meta(r);
                if let Some(min) = self.min_level
                    && meta.level.unwrap_or(Level::Informational) < min
                {
                    summary.below_min_level += 1;
                    continue;
                }
                let d = Detection::new(meta, ev);
                sink.write(&d)?;
                self.tally.wrote(Fired::Rule(r), &d, summary);
            }
        }
        Ok(())
    }

    /// Matches `events` on every core and writes their detections ([`Hunter::events`]).
    pub fn hunt_batch(
        &mut self,
        events: &[Event],
        summary: &mut Summary,
        sink: &mut dyn DetectionSink,
    ) -> Result<(), HuntError> {
        let hits = self.matcher().match_batch(events);
        self.events(events, hits, summary, sink)
    }

    /// Writes what multi-observation STIX patterns found over everything seen, and fills the
    /// summary's indicator section. Does nothing without indicators.
    pub fn finish_patterns(
        &mut self,
        summary: &mut Summary,
        sink: &mut dyn DetectionSink,
    ) -> Result<(), HuntError> {
        let Some(sweep) = self.sweeps.indicators else {
            return Ok(());
        };
        let errors = std::sync::Mutex::new(Vec::new());
        let state = std::mem::take(&mut self.pattern_state);
        let dropped = state.dropped;
        let found = state.finish(
            sweep.patterns(),
            &|pos, value| sweep.detection_without_event(pos, "pattern", value),
            &|pos, time| sweep.indicator(pos).is_valid_at(time),
            &errors,
        );
        for d in found {
            let key = Fired::Named(d.rule_id.clone().unwrap_or_default());
            if self.write(key, &d, summary, sink)? {
                summary.indicator_hits += 1;
            }
        }
        let mut s = self.sweeps.indicator_summary.clone();
        sweep.fill_summary(&mut s);
        s.hits = summary.indicator_hits;
        s.indicators_hit = self.indicators_hit.len();
        s.pattern_candidates_dropped = dropped;
        s.pattern_errors = errors.into_inner().unwrap_or_default();
        summary.indicators = Some(s);
        Ok(())
    }

    /// Evaluates the correlation rules over every referenced match seen and writes their
    /// alerts. Does nothing without correlation rules, or the second time.
    pub fn finish_correlations(
        &mut self,
        summary: &mut Summary,
        sink: &mut dyn DetectionSink,
    ) -> Result<(), HuntError> {
        if let Some(c) = self.corr.take() {
            for (c, d) in c.finish_counted(&self.rules.set, summary)? {
                if self.write(Fired::Correlation(c), &d, summary, sink)? {
                    summary.correlation_alerts += 1;
                }
            }
        }
        Ok(())
    }

    /// The `n` rules that wrote most detections so far.
    pub fn top_rules(&self, n: usize) -> Vec<RuleCount> {
        self.tally.top_rules(n)
    }
}
