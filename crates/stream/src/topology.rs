//! Names, partitions and the JetStream resources every tiaki process agrees on.
//!
//! Events are published on `tiaki.events.<partition>`; the partition is a stable hash of the
//! event's host (or, for evidence that names no host, of its file), so every event of one host
//! is in one partition and one worker sees all of it. The number of partitions is fixed when
//! the streams are first created and stored in the `tiaki-config` bucket; later processes
//! read it from there. Detections go to `tiaki.detections.<partition>`. Both streams use
//! JetStream's duplicate window on message ids, so publishing the same event or detection
//! twice (a retried publish, a re-run ingest, a worker that died before acknowledging) stores
//! it once.

use std::time::Duration;

use async_nats::jetstream::{self, kv, object_store, stream};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The events stream.
pub const EVENTS_STREAM: &str = "TIAKI_EVENTS";
/// The detections stream.
pub const DETECTIONS_STREAM: &str = "TIAKI_DETECTIONS";
/// Key-value bucket with the partition count and the current rule pack.
pub const CONFIG_BUCKET: &str = "tiaki-config";
/// Key-value bucket of partition leases (`p<N>` → worker id), entries expire after the lease.
pub const OWNERS_BUCKET: &str = "tiaki-owners";
/// Key-value bucket of live workers (worker id → heartbeat), entries expire after the lease.
pub const WORKERS_BUCKET: &str = "tiaki-workers";
/// Object store of rule packs, by digest.
pub const PACKS_BUCKET: &str = "tiaki-packs";
/// Config key: the number of partitions.
pub const KEY_PARTITIONS: &str = "partitions";
/// Config key: the digest of the rule pack workers run.
pub const KEY_PACK: &str = "pack";
/// Header on the end-of-input marker an ingest run publishes to every partition.
pub const MARKER_HEADER: &str = "Tiaki-Marker";

/// How the streams are laid out; used when they are created, read back afterwards.
#[derive(Debug, Clone)]
pub struct Topology {
    /// Number of event partitions (fixed once the streams exist).
    pub partitions: u32,
    /// JetStream replicas of every stream and bucket (3 on a 3-node cluster).
    pub replicas: usize,
    /// How long message ids are remembered for de-duplication.
    pub duplicate_window: Duration,
    /// How long a partition lease lasts without renewal (a dead worker's partitions are taken
    /// over after this).
    pub lease: Duration,
}

impl Default for Topology {
    fn default() -> Self {
        Topology {
            partitions: 16,
            replicas: 1,
            duplicate_window: Duration::from_secs(20 * 60),
            lease: Duration::from_secs(6),
        }
    }
}

/// The subject of partition `p`'s events.
pub fn event_subject(p: u32) -> String {
    format!("tiaki.events.{p}")
}

/// The subject of partition `p`'s detections.
pub fn detection_subject(p: u32) -> String {
    format!("tiaki.detections.{p}")
}

/// The partition of `key` among `n`: the first 4 bytes of its SHA-256, modulo `n`. Stable
/// across machines, builds and versions (unlike `std`'s hasher).
pub fn partition_of(key: &str, n: u32) -> u32 {
    let h = Sha256::digest(key.as_bytes());
    u32::from_be_bytes([h[0], h[1], h[2], h[3]]) % n.max(1)
}

/// The resources, opened.
#[derive(Clone)]
pub struct Resources {
    /// The JetStream context they were opened with.
    pub js: jetstream::Context,
    /// The events stream.
    pub events: stream::Stream,
    /// The detections stream.
    pub detections: stream::Stream,
    /// The `tiaki-config` bucket.
    pub config: kv::Store,
    /// The `tiaki-owners` bucket.
    pub owners: kv::Store,
    /// The `tiaki-workers` bucket.
    pub workers: kv::Store,
    /// The rule-pack object store.
    pub packs: object_store::ObjectStore,
    /// The partition count in force.
    pub partitions: u32,
}

fn stream_config(name: &str, subjects: &str, t: &Topology) -> stream::Config {
    stream::Config {
        name: name.to_string(),
        subjects: vec![subjects.to_string()],
        storage: stream::StorageType::File,
        num_replicas: t.replicas,
        duplicate_window: t.duplicate_window,
        ..Default::default()
    }
}

/// Creates (or opens) every stream and bucket. The first process to run fixes the partition
/// count; a different `t.partitions` later is ignored in favour of the stored one.
pub async fn ensure(js: &jetstream::Context, t: &Topology) -> Result<Resources> {
    let events = js
        .get_or_create_stream(stream_config(EVENTS_STREAM, "tiaki.events.*", t))
        .await
        .map_err(|e| Error::nats("create or open stream TIAKI_EVENTS", e))?;
    let detections = js
        .get_or_create_stream(stream_config(DETECTIONS_STREAM, "tiaki.detections.*", t))
        .await
        .map_err(|e| Error::nats("create or open stream TIAKI_DETECTIONS", e))?;
    let bucket = |name: &str, max_age: Duration, history: i64| kv::Config {
        bucket: name.to_string(),
        history,
        max_age,
        storage: stream::StorageType::File,
        num_replicas: t.replicas,
        ..Default::default()
    };
    let config = open_or_create_kv(js, bucket(CONFIG_BUCKET, Duration::ZERO, 5)).await?;
    let owners = open_or_create_kv(js, bucket(OWNERS_BUCKET, t.lease, 1)).await?;
    let workers = open_or_create_kv(js, bucket(WORKERS_BUCKET, t.lease, 1)).await?;
    let packs = match js.get_object_store(PACKS_BUCKET).await {
        Ok(s) => s,
        Err(_) => js
            .create_object_store(object_store::Config {
                bucket: PACKS_BUCKET.to_string(),
                num_replicas: t.replicas,
                storage: stream::StorageType::File,
                ..Default::default()
            })
            .await
            .map_err(|e| Error::nats("create object store tiaki-packs", e))?,
    };
    // The partition count: the stored one wins; the first process stores its own.
    let partitions = match config
        .get(KEY_PARTITIONS)
        .await
        .map_err(|e| Error::nats("read tiaki-config partitions", e))?
    {
        Some(v) => parse_partitions(&v)?,
        None => {
            let _ = config
                .create(KEY_PARTITIONS, t.partitions.to_string().into())
                .await;
            let v = config
                .get(KEY_PARTITIONS)
                .await
                .map_err(|e| Error::nats("read tiaki-config partitions", e))?
                .ok_or_else(|| Error::Protocol("tiaki-config has no partition count".into()))?;
            parse_partitions(&v)?
        }
    };
    Ok(Resources {
        js: js.clone(),
        events,
        detections,
        config,
        owners,
        workers,
        packs,
        partitions,
    })
}

fn parse_partitions(v: &[u8]) -> Result<u32> {
    std::str::from_utf8(v)
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            Error::Protocol(format!(
                "tiaki-config partitions is not a positive number: {:?}",
                String::from_utf8_lossy(v)
            ))
        })
}

/// Opens a key-value bucket, creating its stream if needed. The stream is created directly,
/// with the key-value conventions (`KV_<bucket>`, `$KV.<bucket>.>`, per-key history, roll-ups,
/// direct get), because the client's own bucket creation first asks for account details in a
/// shape nats-server 2.9 (Debian 12's) does not send.
async fn open_or_create_kv(js: &jetstream::Context, c: kv::Config) -> Result<kv::Store> {
    if let Ok(s) = js.get_key_value(&c.bucket).await {
        return Ok(s);
    }
    let name = c.bucket.clone();
    let duplicate_window = if c.max_age.is_zero() {
        Duration::from_secs(120)
    } else {
        c.max_age.min(Duration::from_secs(120))
    };
    let config = stream::Config {
        name: format!("KV_{name}"),
        subjects: vec![format!("$KV.{name}.>")],
        max_messages_per_subject: c.history.max(1),
        max_age: c.max_age,
        storage: c.storage,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        num_replicas: c.num_replicas.max(1),
        discard: stream::DiscardPolicy::New,
        duplicate_window,
        ..Default::default()
    };
    if let Err(e) = js.get_or_create_stream(config).await {
        // Another process may have created it in between.
        return js
            .get_key_value(&name)
            .await
            .map_err(|_| Error::nats(&format!("create key-value bucket {name}"), e));
    }
    js.get_key_value(&name)
        .await
        .map_err(|e| Error::nats(&format!("open key-value bucket {name}"), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_stable_and_spread() {
        // Fixed values: a change here would move hosts between partitions of a running
        // deployment.
        assert_eq!(partition_of("PDO-WEB01", 16), partition_of("PDO-WEB01", 16));
        let mut seen = std::collections::HashSet::new();
        for i in 0..200 {
            seen.insert(partition_of(&format!("host-{i}"), 16));
        }
        assert_eq!(seen.len(), 16, "200 hosts cover all 16 partitions");
        assert_eq!(partition_of("anything", 1), 0);
        assert_eq!(event_subject(3), "tiaki.events.3");
        assert_eq!(detection_subject(0), "tiaki.detections.0");
    }

    #[test]
    fn partition_count_must_be_positive() {
        assert_eq!(parse_partitions(b"8").unwrap(), 8);
        assert!(parse_partitions(b"0").is_err());
        assert!(parse_partitions(b"x").is_err());
    }
}
