//! `tiaki collect`: the detections stream → a case.
//!
//! One durable consumer per case (`collect-<case>`), so a collector that stops resumes where
//! it left off, and two cases can collect the same stream independently. A batch is decoded,
//! handed to the store (one transaction; the store ignores a detection it already has, by
//! the same content key the stream de-duplicates on) and only then acknowledged: a crash
//! between the two re-delivers the batch, and re-delivery adds nothing. That is "exactly
//! once" from the store's point of view. After a batch that added something, and at most
//! every `analyse_every`, the caller's analysis runs (incidents, attribution), so a case
//! updates as detections arrive.

use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{self, AckPolicy, DeliverPolicy, pull};
use futures_util::StreamExt;
use tiaki::Detection;

use crate::codec::decode_detection;
use crate::error::{Error, Result};
use crate::topology::Resources;
use crate::worker::pending_total;

/// How a collector runs.
#[derive(Debug, Clone)]
pub struct CollectConfig {
    /// The durable consumer (one per case).
    pub durable: String,
    /// Detections per batch (per store transaction).
    pub batch: usize,
    /// Run the analysis at most this often while detections arrive.
    pub analyse_every: Duration,
    /// Exit once every event has been hunted and every detection stored.
    pub until_drained: bool,
}

/// What a collector did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct CollectStats {
    /// Detections received.
    pub received: u64,
    /// Of those, new to the case.
    pub added: u64,
    /// Messages that were not detections (acknowledged, dropped, counted).
    pub undecodable: u64,
    /// Analyses run.
    pub analyses: u64,
}

/// Collects until drained (if so configured) or `shutdown`. `store` writes a batch and
/// returns how many were new; `analyse` re-analyses the case.
pub async fn run(
    res: Resources,
    cfg: CollectConfig,
    mut store: impl FnMut(Vec<Detection>) -> anyhow::Result<u64>,
    mut analyse: impl FnMut() -> anyhow::Result<()>,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<CollectStats> {
    let mut c: consumer::Consumer<pull::Config> = res
        .detections
        .get_or_create_consumer(
            &cfg.durable,
            pull::Config {
                durable_name: Some(cfg.durable.clone()),
                ack_policy: AckPolicy::Explicit,
                deliver_policy: DeliverPolicy::All,
                ack_wait: Duration::from_secs(120),
                max_ack_pending: 50_000,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| Error::nats(&format!("consumer {} on TIAKI_DETECTIONS", cfg.durable), e))?;
    let mut stats = CollectStats::default();
    let mut dirty = false;
    let mut last_analysis = Instant::now();
    loop {
        let mut msgs = c
            .fetch()
            .max_messages(cfg.batch)
            .expires(Duration::from_millis(500))
            .messages()
            .await
            .map_err(|e| Error::nats("fetch detections", e))?;
        let mut batch = Vec::new();
        let mut got = Vec::new();
        while let Some(m) = msgs.next().await {
            let Ok(m) = m else { break };
            match decode_detection(&m.payload) {
                Ok(d) => batch.push(d),
                Err(e) => {
                    stats.undecodable += 1;
                    eprintln!(
                        "tiaki collect: {} message on {}: {e}; dropped",
                        cfg.durable, m.subject
                    );
                }
            }
            got.push(m);
        }
        if !got.is_empty() {
            stats.received += batch.len() as u64;
            let added = tokio::task::block_in_place(|| store(batch))?;
            stats.added += added;
            dirty |= added > 0;
            for m in &got {
                m.ack()
                    .await
                    .map_err(|e| Error::Protocol(format!("acknowledge detection: {e}")))?;
            }
        }
        if dirty && (got.is_empty() || last_analysis.elapsed() >= cfg.analyse_every) {
            tokio::task::block_in_place(&mut analyse)?;
            stats.analyses += 1;
            dirty = false;
            last_analysis = Instant::now();
        }
        if *shutdown.borrow() {
            break;
        }
        if cfg.until_drained && got.is_empty() && !dirty {
            let own = c
                .info()
                .await
                .map(|i| i.num_pending + i.num_ack_pending as u64);
            if matches!(own, Ok(0)) && pending_total(&res).await == Some(0) {
                // Nothing left upstream either; one more look, since a worker may have
                // published between the two checks.
                let own = c
                    .info()
                    .await
                    .map(|i| i.num_pending + i.num_ack_pending as u64);
                if matches!(own, Ok(0)) {
                    break;
                }
            }
        }
    }
    if dirty {
        tokio::task::block_in_place(&mut analyse)?;
        stats.analyses += 1;
    }
    Ok(stats)
}
