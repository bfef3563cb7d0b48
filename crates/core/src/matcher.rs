//! Matching a batch of events against the rule set on every core.
//!
//! The evidence reader hands batches (about a thousand events) to one
//! thread; this module splits each batch into small chunks for rayon's pool.
//! A [`Scratch`] is the matcher's per-thread working memory (sized to the
//! rule set, reused from event to event), so there is exactly one per pool
//! thread, found by the thread's index: no allocation per chunk and no
//! contention on its lock. Results come back in event order, so output is
//! deterministic for a given batch.

use std::sync::Mutex;

use rayon::prelude::*;
use tiaki_evidence::{Event, LogSource};
use tiaki_sigma::{EventSource, MatchStats, RuleId, RuleSet, Scratch};

use crate::patterns::Deferred;
use crate::sweep::{IndicatorMatch, IndicatorSweep, SweepScratch};

/// Events per rayon task: small enough to balance, large enough that task
/// overhead is negligible next to matching.
const CHUNK: usize = 16;

/// The Sigma log source of an evidence event, as the matcher wants it.
pub fn event_source(ls: &LogSource) -> EventSource<'_> {
    EventSource {
        product: ls.product.as_deref(),
        category: ls.category.as_deref(),
        service: ls.service.as_deref(),
        also_categories: ls.also_categories.as_deref().unwrap_or(&[]),
        also_services: ls.also_services.as_deref().unwrap_or(&[]),
    }
}

/// What one event matched: rules, indicators, and brackets of multi-observation patterns.
#[derive(Debug, Default)]
pub struct EventHits {
    /// The Sigma rules that matched.
    pub rules: Vec<RuleId>,
    /// The indicators that matched.
    pub indicators: Vec<IndicatorMatch>,
    /// The event, kept for patterns over several observations.
    pub deferred: Vec<Deferred>,
}

impl EventHits {
    /// True when the event matched nothing.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.indicators.is_empty() && self.deferred.is_empty()
    }
}

/// Matches batches of events in parallel, one [`Scratch`] per thread.
pub struct BatchMatcher<'a> {
    set: &'a RuleSet,
    sweep: Option<&'a IndicatorSweep>,
    /// Index `i` belongs to rayon pool thread `i`; the last one to a caller
    /// outside the pool.
    scratches: Vec<Mutex<(Scratch, SweepScratch)>>,
}

impl<'a> BatchMatcher<'a> {
    /// A matcher for `set` on rayon's current pool.
    pub fn new(set: &'a RuleSet) -> Self {
        Self::with_sweep(set, None)
    }

    /// A matcher for `set` that also sweeps every event with `sweep`'s indicators.
    pub fn with_sweep(set: &'a RuleSet, sweep: Option<&'a IndicatorSweep>) -> Self {
        let n = rayon::current_num_threads() + 1;
        BatchMatcher {
            set,
            sweep: sweep.filter(|s| !s.is_empty()),
            scratches: (0..n)
                .map(|_| Mutex::new((set.scratch(), SweepScratch::default())))
                .collect(),
        }
    }

    /// The rule set matched against.
    pub fn rules(&self) -> &'a RuleSet {
        self.set
    }

    /// Matches every event; returns `(index in events, what matched)` for
    /// the events with at least one match, in event order.
    pub fn match_batch(&self, events: &[Event]) -> Vec<(usize, EventHits)> {
        if (self.set.is_empty() && self.sweep.is_none()) || events.is_empty() {
            return Vec::new();
        }
        let chunks: Vec<Vec<(usize, EventHits)>> = events
            .par_chunks(CHUNK)
            .enumerate()
            .map(|(c, chunk)| {
                let slot = rayon::current_thread_index()
                    .unwrap_or(self.scratches.len() - 1)
                    .min(self.scratches.len() - 1);
                let mut guard = self.scratches[slot]
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                let (scratch, sweep_scratch) = &mut *guard;
                let mut found = Vec::new();
                let mut hits = EventHits::default();
                for (j, ev) in chunk.iter().enumerate() {
                    if !self.set.is_empty() {
                        let source = event_source(&ev.logsource);
                        self.set
                            .matches(&ev.fields, Some(&source), scratch, &mut hits.rules);
                    }
                    if let Some(sweep) = self.sweep {
                        sweep.check(ev, sweep_scratch, &mut hits.indicators, &mut hits.deferred);
                    }
                    if !hits.is_empty() {
                        found.push((c * CHUNK + j, std::mem::take(&mut hits)));
                    }
                }
                found
            })
            .collect();
        chunks.into_iter().flatten().collect()
    }

    /// The matcher's work counters, summed over threads.
    pub fn stats(&self) -> MatchStats {
        let mut total = MatchStats::default();
        for s in &self.scratches {
            let s = s.lock().unwrap_or_else(|p| p.into_inner()).0.stats();
            total.events += s.events;
            total.rules_evaluated += s.rules_evaluated;
            total.literal_hits += s.literal_hits;
            total.matches += s.matches;
        }
        total
    }
}
