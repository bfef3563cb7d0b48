//! `tiaki worker`: partitions of the events stream → detections.
//!
//! Ownership. Each partition has one durable pull consumer (`part-<N>`) and, in the
//! `tiaki-owners` bucket, a lease: the key `p<N>` holds the owning worker's id and expires
//! when not renewed. A worker renews its leases every third of the lease time with a
//! compare-and-set on the revision it last wrote; if that fails, someone else owns the
//! partition and the worker stops working on it at once. Workers announce themselves in
//! `tiaki-workers` (also expiring), take unowned partitions up to their fair share
//! (`ceil(partitions / live workers)`), and give back partitions above it, so a new worker
//! gets work and a dead worker's partitions are taken over after one lease.
//!
//! Processing. A batch is fetched, decoded, time-filtered and matched with the same
//! [`Hunter`] as `tiaki hunt`; its detections are published to `tiaki.detections.<N>` with
//! content-derived ids and the publishes awaited; only then are the input messages
//! acknowledged. A worker that dies mid-batch leaves them unacknowledged, so they are
//! delivered again to the next owner, whose detections have the same ids: the stream (and the
//! case store) keep one copy.
//!
//! End of input. Correlation rules and multi-observation STIX patterns need every event of
//! the partition. Their state is the partition itself: when a worker meets an ingest run's
//! end marker, it re-reads the partition from the start up to the marker (an ordered
//! consumer), evaluates those rules, publishes what they find, and acknowledges the marker.
//! So a worker that takes over a partition has nothing to recover, and correlations over
//! hosts are exactly those of `tiaki hunt` (correlations grouped across hosts only see one
//! partition; see the README).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{self, AckPolicy, DeliverPolicy, pull};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{AckKind, Message};
use futures_util::StreamExt;
use tiaki::filter::Verdict;
use tiaki::{
    Detection, HuntOptions, Hunter, IndicatorSummary, IndicatorSweep, Rules, Summary, Sweeps,
};
use tiaki_evidence::Event;
use tokio::sync::watch;

use crate::codec::{decode_event, encode_detection};
use crate::error::{Error, Result};
use crate::topology::{MARKER_HEADER, Resources, detection_subject, event_subject};

/// Compiled rules and indicators, as `tiaki hunt` would load them from a pack's arguments.
pub struct Engine {
    /// The pack digest it was loaded from.
    pub digest: String,
    /// Sigma rules.
    pub rules: Rules,
    /// Indicator sweep and what loading it found.
    pub indicators: Option<(IndicatorSweep, IndicatorSummary)>,
    /// Level, time window and correlation-output settings.
    pub opts: HuntOptions,
}

impl Engine {
    /// The sweeps, as a hunt takes them (YARA stays with `tiaki hunt`: it reads files).
    pub fn sweeps(&self) -> Sweeps<'_> {
        let mut s = Sweeps::default();
        if let Some((sweep, summary)) = &self.indicators {
            s.indicators = Some(sweep);
            s.indicator_summary = summary.clone();
        }
        s
    }

    /// True when some rule needs the whole partition (correlations, multi-observation
    /// patterns), so end markers trigger a re-read.
    pub fn needs_end_pass(&self) -> bool {
        (!self.rules.set.correlations().is_empty() && self.rules.correlations_usable)
            || self
                .indicators
                .as_ref()
                .is_some_and(|(s, _)| s.patterns().multi_observation() > 0)
    }

    /// Detections of one batch (time filter applied as `tiaki hunt` does).
    pub fn hunt(&self, mut events: Vec<Event>) -> Result<Vec<Detection>> {
        let filter = &self.opts.filter;
        if !filter.is_open() {
            events.retain(|e| matches!(filter.check(e.timestamp), Verdict::Keep));
        }
        let sweeps = self.sweeps();
        let mut hunter = Hunter::new(&self.rules, &sweeps, &self.opts);
        let mut out: Vec<Detection> = Vec::new();
        let mut summary = Summary::default();
        hunter.hunt_batch(&events, &mut summary, &mut out)?;
        Ok(out)
    }
}

/// Loads an engine from a materialised pack: `(pack directory, arguments, digest)`.
pub type Loader =
    Arc<dyn Fn(&std::path::Path, &[String], &str) -> anyhow::Result<Engine> + Send + Sync>;

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// This worker's id (unique among live workers).
    pub id: String,
    /// Messages fetched per batch.
    pub batch: usize,
    /// How long a delivered message may stay unacknowledged before redelivery.
    pub ack_wait: Duration,
    /// Exit once nothing is left to do for this long (benchmarks, tests); `None` runs until
    /// stopped.
    pub exit_when_idle: Option<Duration>,
}

/// What a worker did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct WorkerStats {
    /// Events hunted.
    pub events: u64,
    /// Detections published (before de-duplication).
    pub detections: u64,
    /// Messages that were not tiaki events (acknowledged and dropped, counted here).
    pub undecodable: u64,
    /// End markers handled.
    pub markers: u64,
    /// Partitions taken (over the whole run).
    pub partitions_taken: u64,
    /// Rule packs loaded.
    pub packs_loaded: u64,
}

#[derive(Default)]
struct Counters {
    events: AtomicU64,
    detections: AtomicU64,
    undecodable: AtomicU64,
    markers: AtomicU64,
}

struct Owned {
    revision: u64,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

fn lease_key(p: u32) -> String {
    format!("p{p}")
}

/// The fair share of `partitions` among `workers` live workers.
pub fn fair_share(partitions: u32, workers: usize) -> usize {
    let w = workers.max(1);
    (partitions as usize).div_ceil(w)
}

/// Runs a worker until `shutdown` turns true (or it is idle long enough, if so configured).
pub async fn run(
    res: Resources,
    loader: Loader,
    cfg: WorkerConfig,
    mut shutdown: watch::Receiver<bool>,
) -> Result<WorkerStats> {
    let counters = Arc::new(Counters::default());
    let mut stats = WorkerStats::default();
    let (engine_tx, engine_rx) = watch::channel::<Option<Arc<Engine>>>(None);
    let lease = lease_of(&res).await;
    let tick = lease / 3;
    let mut owned: HashMap<u32, Owned> = HashMap::new();
    let mut pack_dir: Option<tempfile::TempDir> = None;
    let mut last_busy = Instant::now();
    let mut last_count = 0u64;
    let mut waiting_said = false;
    // A pack that failed to load here, not retried until another is rolled out.
    let mut refused: Option<String> = None;
    loop {
        // Heartbeat.
        let _ = res
            .workers
            .put(&cfg.id, chrono::Utc::now().to_rfc3339().into())
            .await;
        // The pack in force.
        if let Some(digest) = crate::pack::current(&res).await? {
            let loaded = engine_rx.borrow().as_ref().map(|e| e.digest.clone());
            if loaded.as_deref() != Some(digest.as_str())
                && refused.as_deref() != Some(digest.as_str())
            {
                let pack = crate::pack::fetch(&res, &digest).await?;
                let dir = tempfile::tempdir().map_err(|source| Error::Io {
                    what: "cannot create a directory for the rule pack".into(),
                    source,
                })?;
                let args = pack.materialise(dir.path())?;
                let l = loader.clone();
                let d2 = digest.clone();
                let path = dir.path().to_path_buf();
                let engine = tokio::task::spawn_blocking(move || l(&path, &args, &d2))
                    .await
                    .map_err(|e| Error::Protocol(format!("loading the rule pack panicked: {e}")))?;
                match engine {
                    Ok(e) => {
                        eprintln!(
                            "tiaki worker {}: running rule pack {}",
                            cfg.id,
                            &digest[..12]
                        );
                        engine_tx.send_replace(Some(Arc::new(e)));
                        pack_dir = Some(dir);
                        stats.packs_loaded += 1;
                    }
                    Err(e) => {
                        // Keep running the previous pack; say why once per digest.
                        eprintln!(
                            "tiaki worker {}: rule pack {} refused: {e:#}",
                            cfg.id,
                            &digest[..12]
                        );
                        refused = Some(digest.clone());
                    }
                }
            }
        } else if !waiting_said {
            eprintln!(
                "tiaki worker {}: waiting for a rule pack (`tiaki rollout`)",
                cfg.id
            );
            waiting_said = true;
        }
        let _ = &pack_dir;
        // Renew what we own; drop what we lost.
        let mut lost = Vec::new();
        for (p, o) in owned.iter_mut() {
            match res
                .owners
                .update(lease_key(*p), cfg.id.clone().into(), o.revision)
                .await
            {
                Ok(rev) => o.revision = rev,
                Err(_) => lost.push(*p),
            }
        }
        for p in lost {
            if let Some(o) = owned.remove(&p) {
                let _ = o.stop.send(true);
                o.task.abort();
                eprintln!("tiaki worker {}: lost partition {p}", cfg.id);
            }
        }
        let stopping = *shutdown.borrow();
        if engine_rx.borrow().is_some() && !stopping {
            let live = count_keys(&res.workers).await.max(1);
            let share = fair_share(res.partitions, live);
            // Give back partitions above the fair share.
            while owned.len() > share {
                let p = *owned.keys().max().expect("non-empty");
                let o = owned.remove(&p).expect("present");
                release(&res, p, o).await;
            }
            // Take unowned ones up to it, starting at a place that depends on the id.
            let start = crate::topology::partition_of(&cfg.id, res.partitions);
            for k in 0..res.partitions {
                if owned.len() >= share {
                    break;
                }
                let p = (start + k) % res.partitions;
                if owned.contains_key(&p) {
                    continue;
                }
                if let Ok(rev) = res.owners.create(lease_key(p), cfg.id.clone().into()).await {
                    let (stop_tx, stop_rx) = watch::channel(false);
                    let task = tokio::spawn(partition_task(
                        res.clone(),
                        p,
                        cfg.clone(),
                        engine_rx.clone(),
                        stop_rx,
                        counters.clone(),
                    ));
                    owned.insert(
                        p,
                        Owned {
                            revision: rev,
                            stop: stop_tx,
                            task,
                        },
                    );
                    stats.partitions_taken += 1;
                    eprintln!("tiaki worker {}: took partition {p}", cfg.id);
                }
            }
        }
        // Idle exit.
        let now_count =
            counters.events.load(Ordering::Relaxed) + counters.markers.load(Ordering::Relaxed);
        if now_count != last_count {
            last_count = now_count;
            last_busy = Instant::now();
        }
        let idle_done = match cfg.exit_when_idle {
            Some(idle) if last_busy.elapsed() >= idle && !owned.is_empty() => {
                pending_total(&res).await == Some(0)
            }
            _ => false,
        };
        if stopping || idle_done {
            for (p, o) in owned.drain() {
                release(&res, p, o).await;
            }
            let _ = res.workers.delete(&cfg.id).await;
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = shutdown.changed() => {}
        }
    }
    stats.events = counters.events.load(Ordering::Relaxed);
    stats.detections = counters.detections.load(Ordering::Relaxed);
    stats.undecodable = counters.undecodable.load(Ordering::Relaxed);
    stats.markers = counters.markers.load(Ordering::Relaxed);
    Ok(stats)
}

async fn lease_of(res: &Resources) -> Duration {
    let owners = res.owners.clone();
    match owners.status().await {
        Ok(s) => {
            let age = s.max_age();
            if age.is_zero() {
                Duration::from_secs(6)
            } else {
                age
            }
        }
        Err(_) => Duration::from_secs(6),
    }
}

/// Stops a partition's task after its current batch, then deletes the lease.
async fn release(res: &Resources, p: u32, o: Owned) {
    let _ = o.stop.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(30), o.task).await;
    let _ = res
        .owners
        .delete_expect_revision(lease_key(p), Some(o.revision))
        .await;
}

async fn count_keys(kv: &async_nats::jetstream::kv::Store) -> usize {
    match kv.keys().await {
        Ok(keys) => keys.filter_map(|k| async move { k.ok() }).count().await,
        Err(_) => 1,
    }
}

/// Messages of the events stream not yet acknowledged by the partition consumers, if every
/// consumer could be asked.
pub async fn pending_total(res: &Resources) -> Option<u64> {
    let mut total = 0;
    for p in 0..res.partitions {
        let mut c: consumer::Consumer<pull::Config> =
            res.events.get_consumer(&consumer_name(p)).await.ok()?;
        let info = c.info().await.ok()?;
        total += info.num_pending + info.num_ack_pending as u64;
    }
    Some(total)
}

/// The durable consumer name of partition `p`.
pub fn consumer_name(p: u32) -> String {
    format!("part-{p}")
}

/// Creates (or opens) the durable consumer of partition `p`.
pub async fn partition_consumer(
    res: &Resources,
    p: u32,
    ack_wait: Duration,
) -> Result<consumer::Consumer<pull::Config>> {
    res.events
        .get_or_create_consumer(
            &consumer_name(p),
            pull::Config {
                durable_name: Some(consumer_name(p)),
                filter_subject: event_subject(p),
                ack_policy: AckPolicy::Explicit,
                deliver_policy: DeliverPolicy::All,
                ack_wait,
                max_ack_pending: 20_000,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| Error::nats(&format!("consumer {} on TIAKI_EVENTS", consumer_name(p)), e))
}

async fn partition_task(
    res: Resources,
    p: u32,
    cfg: WorkerConfig,
    engine: watch::Receiver<Option<Arc<Engine>>>,
    stop: watch::Receiver<bool>,
    counters: Arc<Counters>,
) {
    let consumer = loop {
        match partition_consumer(&res, p, cfg.ack_wait).await {
            Ok(c) => break c,
            Err(e) => {
                eprintln!("tiaki worker {}: partition {p}: {e}", cfg.id);
                if *stop.borrow() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    while !*stop.borrow() {
        let Some(eng) = engine.borrow().clone() else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let batch = match fetch(&consumer, cfg.batch).await {
            Ok(b) => b,
            Err(e) => {
                eprintln!("tiaki worker {}: partition {p}: {e}", cfg.id);
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        if batch.is_empty() {
            continue;
        }
        if let Err(e) = process(&res, p, &eng, batch, &counters, &stop).await {
            eprintln!(
                "tiaki worker {}: partition {p}: {e} (the batch will be delivered again)",
                cfg.id
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

async fn fetch(c: &consumer::Consumer<pull::Config>, n: usize) -> Result<Vec<Message>> {
    let mut msgs = c
        .fetch()
        .max_messages(n)
        .expires(Duration::from_millis(500))
        .messages()
        .await
        .map_err(|e| Error::nats("fetch", e))?;
    let mut out = Vec::with_capacity(n);
    while let Some(m) = msgs.next().await {
        match m {
            Ok(m) => out.push(m),
            Err(e) => {
                if out.is_empty() {
                    return Err(Error::nats("fetch", e));
                }
                break;
            }
        }
    }
    Ok(out)
}

fn is_marker(m: &Message) -> bool {
    m.headers
        .as_ref()
        .and_then(|h| h.get(MARKER_HEADER))
        .is_some()
}

/// Hunts a batch: events up to each marker, then the marker's end pass.
async fn process(
    res: &Resources,
    p: u32,
    eng: &Arc<Engine>,
    batch: Vec<Message>,
    counters: &Counters,
    stop: &watch::Receiver<bool>,
) -> Result<()> {
    let mut run: Vec<Message> = Vec::new();
    for m in batch {
        if is_marker(&m) {
            hunt_and_ack(res, p, eng, std::mem::take(&mut run), counters).await?;
            if *stop.borrow() {
                // Leave the marker for the next owner.
                let _ = m.ack_with(AckKind::Nak(None)).await;
                return Ok(());
            }
            end_pass(res, p, eng, &m, counters).await?;
            m.ack()
                .await
                .map_err(|e| Error::nats("acknowledge end marker", e))?;
            counters.markers.fetch_add(1, Ordering::Relaxed);
        } else {
            run.push(m);
        }
    }
    hunt_and_ack(res, p, eng, run, counters).await
}

async fn hunt_and_ack(
    res: &Resources,
    p: u32,
    eng: &Arc<Engine>,
    msgs: Vec<Message>,
    counters: &Counters,
) -> Result<()> {
    if msgs.is_empty() {
        return Ok(());
    }
    let mut events = Vec::with_capacity(msgs.len());
    for m in &msgs {
        match decode_event(&m.payload) {
            Ok(e) => events.push(e),
            Err(e) => {
                counters.undecodable.fetch_add(1, Ordering::Relaxed);
                let seq = m.info().map(|i| i.stream_sequence).unwrap_or_default();
                eprintln!(
                    "tiaki worker: TIAKI_EVENTS sequence {seq} on {}: {e}; dropped",
                    m.subject
                );
            }
        }
    }
    let n = events.len() as u64;
    let e2 = eng.clone();
    let detections = tokio::task::spawn_blocking(move || e2.hunt(events))
        .await
        .map_err(|e| Error::Protocol(format!("matching panicked: {e}")))??;
    publish_detections(res, p, &detections).await?;
    counters
        .detections
        .fetch_add(detections.len() as u64, Ordering::Relaxed);
    for m in &msgs {
        m.ack()
            .await
            .map_err(|e| Error::nats("acknowledge events", e))?;
    }
    counters.events.fetch_add(n, Ordering::Relaxed);
    Ok(())
}

/// Publishes detections to partition `p`'s subject and waits until the stream has stored
/// every one.
pub async fn publish_detections(res: &Resources, p: u32, detections: &[Detection]) -> Result<()> {
    let subject = detection_subject(p);
    let mut acks = Vec::with_capacity(detections.len());
    for d in detections {
        let (id, json) = encode_detection(d)?;
        let ack = res
            .js
            .send_publish(
                subject.clone(),
                PublishMessage::build().payload(json.into()).message_id(id),
            )
            .await
            .map_err(|e| Error::nats(&format!("publish detection to {subject}"), e))?;
        acks.push(ack);
    }
    for a in acks {
        a.await
            .map_err(|e| Error::nats(&format!("store detection on {subject}"), e))?;
    }
    Ok(())
}

/// Re-reads partition `p` up to the marker and writes what needs the whole input.
async fn end_pass(
    res: &Resources,
    p: u32,
    eng: &Arc<Engine>,
    marker: &Message,
    counters: &Counters,
) -> Result<()> {
    if !eng.needs_end_pass() {
        return Ok(());
    }
    let upto = marker
        .info()
        .map_err(|e| Error::Protocol(format!("end marker without stream info: {e}")))?
        .stream_sequence;
    let consumer = res
        .events
        .create_consumer(pull::OrderedConfig {
            filter_subject: event_subject(p),
            deliver_policy: DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .map_err(|e| Error::nats("ordered consumer for the end pass", e))?;
    let mut msgs = consumer
        .messages()
        .await
        .map_err(|e| Error::nats("read partition for the end pass", e))?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Event>>(4);
    let e2 = eng.clone();
    let worker = tokio::task::spawn_blocking(move || -> Result<Vec<Detection>> {
        let sweeps = e2.sweeps();
        let mut hunter = Hunter::new(&e2.rules, &sweeps, &e2.opts);
        let mut summary = Summary::default();
        // Single-event detections were published when their batch was hunted.
        let mut discard: Vec<Detection> = Vec::new();
        let filter = &e2.opts.filter;
        for mut events in rx {
            if !filter.is_open() {
                events.retain(|e| matches!(filter.check(e.timestamp), Verdict::Keep));
            }
            hunter.hunt_batch(&events, &mut summary, &mut discard)?;
            discard.clear();
        }
        let mut out = Vec::new();
        hunter.finish_patterns(&mut summary, &mut out)?;
        hunter.finish_correlations(&mut summary, &mut out)?;
        Ok(out)
    });
    let mut batch = Vec::new();
    while let Some(m) = msgs.next().await {
        let m = m.map_err(|e| Error::nats("read partition for the end pass", e))?;
        let seq = m.info().map(|i| i.stream_sequence).unwrap_or(u64::MAX);
        if seq > upto {
            break;
        }
        if !is_marker(&m)
            && let Ok(e) = decode_event(&m.payload)
        {
            batch.push(e);
            if batch.len() >= 2048 {
                let b = std::mem::take(&mut batch);
                let tx2 = tx.clone();
                tokio::task::spawn_blocking(move || tx2.send(b))
                    .await
                    .map_err(|e| Error::Protocol(format!("end pass: {e}")))?
                    .map_err(|_| Error::Protocol("end pass stopped".into()))?;
            }
        }
        if seq >= upto {
            break;
        }
    }
    if !batch.is_empty() {
        let tx2 = tx.clone();
        tokio::task::spawn_blocking(move || tx2.send(batch))
            .await
            .map_err(|e| Error::Protocol(format!("end pass: {e}")))?
            .map_err(|_| Error::Protocol("end pass stopped".into()))?;
    }
    drop(tx);
    let found = worker
        .await
        .map_err(|e| Error::Protocol(format!("end pass panicked: {e}")))??;
    publish_detections(res, p, &found).await?;
    counters
        .detections
        .fetch_add(found.len() as u64, Ordering::Relaxed);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fair_shares() {
        assert_eq!(fair_share(16, 1), 16);
        assert_eq!(fair_share(16, 3), 6);
        assert_eq!(fair_share(16, 4), 4);
        assert_eq!(fair_share(16, 0), 16);
        assert_eq!(fair_share(4, 8), 1);
    }
}
