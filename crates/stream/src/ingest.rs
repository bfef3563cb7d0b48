//! `tiaki ingest`: evidence → the events stream.
//!
//! The readers are the hunt's (`tiaki_evidence::read_paths`), run on their own thread; batches
//! cross to the publisher through a bounded channel, so a slow broker slows the readers
//! instead of filling memory. Publishing is asynchronous with a bounded window of
//! unacknowledged messages (JetStream's publish acknowledgement is the back-pressure signal);
//! a publish that fails or times out is sent again with the same message id, which the stream
//! de-duplicates. When every event is acknowledged, an end-of-input marker goes to every
//! partition: it is what tells workers to evaluate the rules that need the whole input
//! (correlations, multi-observation STIX patterns).

use std::collections::VecDeque;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::context::PublishAckFuture;
use async_nats::jetstream::message::PublishMessage;
use bytes::Bytes;
use tiaki_evidence::Event;
use tokio::sync::mpsc;

use crate::codec::encode_event;
use crate::error::{Error, Result};
use crate::topology::{MARKER_HEADER, Resources, event_subject};

/// Unacknowledged publishes allowed in flight.
pub const DEFAULT_WINDOW: usize = 1024;
/// Attempts per message before the ingest gives up.
const ATTEMPTS: u32 = 8;

/// What an ingest published.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct IngestStats {
    /// Events published and acknowledged by the stream.
    pub events: u64,
    /// Of those, how many the stream already had (same message id).
    pub duplicates: u64,
    /// Publishes sent again after an error or timeout.
    pub retries: u64,
    /// Events per partition.
    pub per_partition: Vec<u64>,
    /// End-of-input markers published (one per partition).
    pub markers: u32,
}

struct InFlight {
    subject: String,
    id: String,
    payload: Bytes,
    ack: PublishAckFuture,
    attempt: u32,
    marker: bool,
}

/// Publishes events and end markers with a bounded window of unacknowledged messages.
pub struct Publisher {
    res: Resources,
    window: usize,
    pending: VecDeque<InFlight>,
    stats: IngestStats,
}

impl Publisher {
    /// A publisher on `res` with at most `window` publishes awaiting acknowledgement.
    pub fn new(res: Resources, window: usize) -> Self {
        let n = res.partitions as usize;
        Publisher {
            res,
            window: window.max(1),
            pending: VecDeque::new(),
            stats: IngestStats {
                per_partition: vec![0; n],
                ..Default::default()
            },
        }
    }

    async fn send(
        &self,
        subject: &str,
        id: &str,
        payload: Bytes,
        marker: bool,
    ) -> Result<PublishAckFuture> {
        let mut p = PublishMessage::build().payload(payload).message_id(id);
        if marker {
            let mut h = HeaderMap::new();
            h.insert(MARKER_HEADER, "end");
            p = p.headers(h).message_id(id);
        }
        self.res
            .js
            .send_publish(subject.to_string(), p)
            .await
            .map_err(|e| Error::nats(&format!("publish to {subject}"), e))
    }

    async fn push(
        &mut self,
        subject: String,
        id: String,
        payload: Bytes,
        marker: bool,
    ) -> Result<()> {
        while self.pending.len() >= self.window {
            self.settle_one().await?;
        }
        let ack = self
            .send_retrying(&subject, &id, payload.clone(), marker)
            .await?;
        self.pending.push_back(InFlight {
            subject,
            id,
            payload,
            ack,
            attempt: 1,
            marker,
        });
        Ok(())
    }

    async fn send_retrying(
        &mut self,
        subject: &str,
        id: &str,
        payload: Bytes,
        marker: bool,
    ) -> Result<PublishAckFuture> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.send(subject, id, payload.clone(), marker).await {
                Ok(a) => return Ok(a),
                Err(e) if attempt >= ATTEMPTS => return Err(e),
                Err(_) => {
                    self.stats.retries += 1;
                    tokio::time::sleep(backoff(attempt)).await;
                }
            }
        }
    }

    /// Waits for the oldest publish; sends it again (same id) if it failed.
    async fn settle_one(&mut self) -> Result<()> {
        let Some(mut f) = self.pending.pop_front() else {
            return Ok(());
        };
        loop {
            match f.ack.await {
                Ok(ack) => {
                    if ack.duplicate {
                        self.stats.duplicates += 1;
                    }
                    return Ok(());
                }
                Err(e) => {
                    if f.attempt >= ATTEMPTS {
                        return Err(Error::nats(
                            &format!("publish {} to {} ({} attempts)", f.id, f.subject, f.attempt),
                            e,
                        ));
                    }
                    self.stats.retries += 1;
                    tokio::time::sleep(backoff(f.attempt)).await;
                    f.ack = self
                        .send_retrying(&f.subject, &f.id, f.payload.clone(), f.marker)
                        .await?;
                    f.attempt += 1;
                }
            }
        }
    }

    /// Publishes a batch of events.
    pub async fn events(&mut self, batch: &[Event]) -> Result<()> {
        for e in batch {
            let enc = encode_event(e, self.res.partitions)?;
            self.stats.per_partition[enc.partition as usize] += 1;
            self.stats.events += 1;
            self.push(
                event_subject(enc.partition),
                enc.id,
                enc.payload.into(),
                false,
            )
            .await?;
        }
        Ok(())
    }

    /// Waits until every publish so far is acknowledged.
    pub async fn flush(&mut self) -> Result<()> {
        while !self.pending.is_empty() {
            self.settle_one().await?;
        }
        Ok(())
    }

    /// Flushes, then publishes the end-of-input marker of run `run` to every partition and
    /// waits for them; returns the statistics.
    pub async fn finish(mut self, run: &str) -> Result<IngestStats> {
        self.flush().await?;
        for p in 0..self.res.partitions {
            let body = serde_json::json!({ "marker": "end", "run": run, "partition": p });
            self.push(
                event_subject(p),
                format!("end-{run}-{p}"),
                body.to_string().into(),
                true,
            )
            .await?;
            self.stats.markers += 1;
        }
        self.flush().await?;
        Ok(self.stats)
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((100u64 << attempt.min(6)).min(5_000))
}

/// Publishes every batch received on `rx` (until the sender is dropped), then the end
/// markers of run `run`.
pub async fn publish_all(
    res: Resources,
    mut rx: mpsc::Receiver<Vec<Event>>,
    window: usize,
    run: &str,
) -> Result<IngestStats> {
    let mut p = Publisher::new(res, window);
    while let Some(batch) = rx.recv().await {
        p.events(&batch).await?;
    }
    p.finish(run).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_millis(200));
        assert!(backoff(3) > backoff(2));
        assert_eq!(backoff(20), Duration::from_millis(5_000));
    }
}
