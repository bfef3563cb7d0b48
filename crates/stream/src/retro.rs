//! `tiaki retrohunt`: hunt what the events stream already holds with a new pack (typically
//! new indicators from a partner), publishing to the detections stream like a worker.
//!
//! The stream is the archive: an ordered consumer reads it from the first stored message
//! (or from a stored time) up to the last one present when the retro-hunt started. Events
//! are hunted per partition, as workers do, so correlations and multi-observation patterns
//! see the same events and detections get the same ids as a worker would give them: what is
//! already in a case is not added again. The pack's `--from`/`--to` select the events by
//! their own time.

use std::collections::HashMap;
use std::sync::Arc;

use async_nats::jetstream::consumer::{DeliverPolicy, pull};
use futures_util::StreamExt;
use tiaki::{Detection, Hunter, Summary};
use tiaki_evidence::Event;

use crate::codec::decode_event;
use crate::error::{Error, Result};
use crate::topology::{MARKER_HEADER, Resources};
use crate::worker::{Engine, publish_detections};

/// What a retro-hunt did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct RetroStats {
    /// Stored events read.
    pub events: u64,
    /// Detections published (the detections stream drops those it already has).
    pub detections: u64,
    /// Stored messages that were not events.
    pub undecodable: u64,
    /// The last stream sequence read.
    pub last_sequence: u64,
}

fn partition_of_subject(subject: &str) -> Option<u32> {
    subject.rsplit('.').next()?.parse().ok()
}

/// Hunts the stored events (stored at or after `since`, if given) with `engine`.
pub async fn run(
    res: &Resources,
    engine: Arc<Engine>,
    since: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<RetroStats> {
    let mut events_stream = res.events.clone();
    let last = events_stream
        .info()
        .await
        .map_err(|e| Error::nats("TIAKI_EVENTS info", e))?
        .state
        .last_sequence;
    let mut stats = RetroStats::default();
    if last == 0 {
        return Ok(stats);
    }
    let deliver_policy = match since {
        Some(t) => DeliverPolicy::ByStartTime {
            start_time: time::OffsetDateTime::from_unix_timestamp_nanos(
                t.timestamp_nanos_opt().unwrap_or_default() as i128,
            )
            .map_err(|e| Error::Protocol(format!("--since: {e}")))?,
        },
        None => DeliverPolicy::All,
    };
    let consumer = res
        .events
        .create_consumer(pull::OrderedConfig {
            filter_subject: "tiaki.events.*".into(),
            deliver_policy,
            ..Default::default()
        })
        .await
        .map_err(|e| Error::nats("ordered consumer on TIAKI_EVENTS", e))?;
    let mut msgs = consumer
        .messages()
        .await
        .map_err(|e| Error::nats("read TIAKI_EVENTS", e))?;
    // Matching runs on its own thread with one hunter per partition; detections come back
    // per batch, tagged with their partition.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Option<(u32, Vec<Event>)>>(4);
    let (out_tx, mut out_rx) =
        tokio::sync::mpsc::unbounded_channel::<Result<Vec<(u32, Detection)>>>();
    let eng = engine.clone();
    let matcher = std::thread::spawn(move || {
        let sweeps = eng.sweeps();
        let mut hunters: HashMap<u32, Hunter<'_>> = HashMap::new();
        let mut summary = Summary::default();
        for item in rx {
            let result = (|| -> Result<Vec<(u32, Detection)>> {
                match item {
                    Some((p, events)) => {
                        let h = hunters
                            .entry(p)
                            .or_insert_with(|| Hunter::new(&eng.rules, &sweeps, &eng.opts));
                        let mut found: Vec<Detection> = Vec::new();
                        let filter = &eng.opts.filter;
                        let events: Vec<Event> = events
                            .into_iter()
                            .filter(|e| {
                                matches!(filter.check(e.timestamp), tiaki::filter::Verdict::Keep)
                            })
                            .collect();
                        h.hunt_batch(&events, &mut summary, &mut found)?;
                        Ok(found.into_iter().map(|d| (p, d)).collect())
                    }
                    None => {
                        let mut all = Vec::new();
                        for (p, h) in hunters.iter_mut() {
                            let mut found: Vec<Detection> = Vec::new();
                            h.finish_patterns(&mut summary, &mut found)?;
                            h.finish_correlations(&mut summary, &mut found)?;
                            all.extend(found.into_iter().map(|d| (*p, d)));
                        }
                        Ok(all)
                    }
                }
            })();
            if out_tx.send(result).is_err() {
                break;
            }
        }
    });
    let mut pending: HashMap<u32, Vec<Event>> = HashMap::new();
    let mut buffered = 0usize;
    let mut sent = 0usize;
    let publish = async |batch: Vec<(u32, Detection)>, stats: &mut RetroStats| -> Result<()> {
        let mut by_p: HashMap<u32, Vec<Detection>> = HashMap::new();
        for (p, d) in batch {
            by_p.entry(p).or_default().push(d);
        }
        for (p, ds) in by_p {
            stats.detections += ds.len() as u64;
            publish_detections(res, p, &ds).await?;
        }
        Ok(())
    };
    while let Some(m) = msgs.next().await {
        let m = m.map_err(|e| Error::nats("read TIAKI_EVENTS", e))?;
        let seq = m.info().map(|i| i.stream_sequence).unwrap_or(u64::MAX);
        stats.last_sequence = seq.min(last);
        let marker = m
            .headers
            .as_ref()
            .is_some_and(|h| h.get(MARKER_HEADER).is_some());
        if !marker {
            match (partition_of_subject(&m.subject), decode_event(&m.payload)) {
                (Some(p), Ok(e)) => {
                    pending.entry(p).or_default().push(e);
                    buffered += 1;
                    stats.events += 1;
                }
                _ => stats.undecodable += 1,
            }
        }
        if buffered >= 4096 || seq >= last {
            for (p, events) in pending.drain() {
                tx.send(Some((p, events)))
                    .map_err(|_| Error::Protocol("retro-hunt matcher stopped".into()))?;
                sent += 1;
            }
            buffered = 0;
            while sent > 0 {
                match out_rx.try_recv() {
                    Ok(r) => {
                        publish(r?, &mut stats).await?;
                        sent -= 1;
                    }
                    Err(_) => break,
                }
            }
        }
        if seq >= last {
            break;
        }
    }
    tx.send(None)
        .map_err(|_| Error::Protocol("retro-hunt matcher stopped".into()))?;
    drop(tx);
    // Every batch result, then the end result.
    while let Some(r) = out_rx.recv().await {
        publish(r?, &mut stats).await?;
    }
    let _ = matcher.join();
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_come_from_subjects() {
        assert_eq!(partition_of_subject("tiaki.events.12"), Some(12));
        assert_eq!(partition_of_subject("tiaki.events.x"), None);
    }
}
