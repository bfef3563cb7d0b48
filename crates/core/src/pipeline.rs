//! Reading and matching overlapped: the stage structure of hunt and
//! timeline.
//!
//! The evidence reader calls its sink on one thread (here: the caller's).
//! If that thread matched each batch itself and then wrote its detections,
//! everything after matching (building detections, writing, freeing the
//! batch) would leave the pool idle, and the reader would wait on the
//! sink. So matching runs on its own stage thread, which hands each batch
//! to rayon's pool; the caller's thread only queues batches and, between
//! two batches, consumes the matched ones. Memory stays bounded: the queue
//! to the matcher holds [`QUEUE`] batches and the matcher can only run that
//! far ahead of the consumer.

use std::path::Path;
use std::sync::mpsc::{Receiver, sync_channel};

use tiaki_evidence::{Event, ReadOptions, ReadReport, read_paths};

use crate::error::HuntError;
use crate::filter::{EventFilter, Verdict};
use crate::matcher::{BatchMatcher, EventHits};
use crate::summary::Summary;

/// Batches queued for the matcher stage.
const QUEUE: usize = 2;

/// A batch with its hits: `(index in events, matching rules)`, ascending.
pub struct Matched {
    /// The events of the batch (after the time filter).
    pub events: Vec<Event>,
    /// The events that matched at least one rule or indicator.
    pub hits: Vec<(usize, EventHits)>,
}

/// Drops the events outside the time window, counting them.
pub(crate) fn apply_filter(filter: &EventFilter, batch: &mut Vec<Event>, summary: &mut Summary) {
    if filter.is_open() {
        return;
    }
    let Some(path) = batch.first().map(|e| e.origin.path.clone()) else {
        return;
    };
    let (mut outside, mut no_time) = (0, 0);
    // A batch comes from one file (the readers batch per file), so its left-out events are
    // counted against that file.
    batch.retain(|e| match filter.check(e.timestamp) {
        Verdict::Keep => true,
        Verdict::Outside => {
            outside += 1;
            false
        }
        Verdict::NoTime => {
            no_time += 1;
            false
        }
    });
    summary.events_outside_time_window += outside;
    summary.events_without_timestamp += no_time;
    if outside + no_time > 0 {
        let f = summary.filtered_by_file.entry(path).or_default();
        f.0 += outside;
        f.1 += no_time;
    }
}

/// Counts events per format.
pub(crate) fn count_formats(batch: &[Event], summary: &mut Summary) {
    for e in batch {
        *summary
            .events_by_format
            .entry(e.format.name().to_string())
            .or_default() += 1;
    }
}

/// Reads `paths`, filters and matches every batch, and calls `consume` on
/// the caller's thread with each matched batch in reading order. Stops
/// consuming after the first error (the rest of the evidence is still read
/// but dropped: the reader cannot be stopped early) and returns it.
pub(crate) fn run<P: AsRef<Path>>(
    paths: &[P],
    read: &ReadOptions,
    filter: &EventFilter,
    matcher: &BatchMatcher<'_>,
    summary: &mut Summary,
    consume: &mut dyn FnMut(Matched, &mut Summary) -> Result<(), HuntError>,
) -> Result<ReadReport, HuntError> {
    let (batch_tx, batch_rx) = sync_channel::<Vec<Event>>(QUEUE);
    // Unbounded, but the matcher can only be QUEUE + 1 batches ahead of the
    // consumer: it waits on `batch_rx`, which the consumer fills.
    let (done_tx, done_rx) = std::sync::mpsc::channel::<Matched>();
    let mut failed: Option<HuntError> = None;
    let report = std::thread::scope(|s| {
        s.spawn(move || {
            for events in batch_rx {
                let hits = matcher.match_batch(&events);
                if done_tx.send(Matched { events, hits }).is_err() {
                    break;
                }
            }
        });
        let mut drain = |rx: &Receiver<Matched>, block: bool, summary: &mut Summary| loop {
            let next = if block {
                rx.recv().ok()
            } else {
                rx.try_recv().ok()
            };
            let Some(m) = next else { break };
            if failed.is_none()
                && let Err(e) = consume(m, summary)
            {
                failed = Some(e);
            }
        };
        let report = read_paths(paths, read, |mut batch| {
            count_formats(&batch, summary);
            apply_filter(filter, &mut batch, summary);
            summary.events_hunted += batch.len() as u64;
            drain(&done_rx, false, summary);
            if !batch.is_empty() {
                // The matcher only stops early if it panicked; the scope
                // then re-raises the panic.
                let _ = batch_tx.send(batch);
            }
        });
        drop(batch_tx);
        drain(&done_rx, true, summary);
        report
    });
    match failed {
        Some(e) => Err(e),
        None => Ok(report),
    }
}
