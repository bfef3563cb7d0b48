//! # tiaki-stream
//!
//! Hunting beyond one machine, on NATS JetStream: `tiaki ingest` publishes evidence events
//! to a partitioned stream ([`ingest`]), any number of `tiaki worker`s hunt the partitions
//! with the same compiled rules as `tiaki hunt` ([`worker`]), the rules and intelligence they
//! run are distributed as versioned packs ([`pack`]), and `tiaki collect` stores the
//! detections in a case ([`collect`]); `tiaki retrohunt` hunts what the stream already holds
//! with new rules or indicators ([`retro`]).
//!
//! Why JetStream rather than a home-made queue: it already has what the job needs and is
//! operated by CERTs already — replicated, persisted streams; durable consumers with
//! acknowledgement and redelivery; de-duplication on message ids; key-value buckets with
//! compare-and-set and expiry (used for partition leases); an object store (rule packs); and
//! clustering. tiaki adds only the partitioning, the leases and the processing order that
//! make results equal to a single-machine hunt.

#![warn(missing_docs)]

pub mod codec;
pub mod collect;
mod error;
pub mod ingest;
pub mod pack;
pub mod retro;
pub mod topology;
pub mod worker;

pub use error::{Error, Result};
pub use topology::{Resources, Topology, ensure};

/// Connects to NATS. `urls` is one URL or several, comma-separated (the servers of a
/// cluster); the client reconnects to any of them and retries the first connection.
pub async fn connect(urls: &str) -> Result<async_nats::jetstream::Context> {
    let addrs: Vec<async_nats::ServerAddr> = urls
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|u| {
            u.parse::<async_nats::ServerAddr>()
                .map_err(|e| Error::Protocol(format!("not a NATS URL: {u}: {e}")))
        })
        .collect::<Result<_>>()?;
    if addrs.is_empty() {
        return Err(Error::Protocol("no NATS URL given".into()));
    }
    let client = async_nats::ConnectOptions::new()
        .name("tiaki")
        .retry_on_initial_connect()
        .connection_timeout(std::time::Duration::from_secs(5))
        .connect(addrs)
        .await
        .map_err(|e| Error::nats(&format!("connect to {urls}"), e))?;
    Ok(async_nats::jetstream::new(client))
}
