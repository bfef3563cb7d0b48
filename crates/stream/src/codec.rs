//! What travels on the streams: events and detections as JSON, with ids derived from their
//! content so that publishing again is recognised as the same message.
//!
//! JSON because events are already `serde_json` maps (the reader's field order is kept, so a
//! detection built on a worker serialises byte for byte like one built by `tiaki hunt`). The
//! event id hashes the whole serialised event, origin included: two records with the same
//! content in different files stay two events. The detection id is the case store's key (the
//! SHA-256 of the detection's JSON), so the stream's de-duplication and the store's agree.

use sha2::{Digest, Sha256};
use tiaki::Detection;
use tiaki_evidence::Event;

use crate::error::{Error, Result};
use crate::topology::partition_of;

/// Hex of a SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in d {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// The key an event is partitioned on: its host, else its evidence file (so a log that names
/// no host, such as a Tomcat access log, stays in one partition).
pub fn partition_key(e: &Event) -> String {
    match tiaki::detection::host_of(e) {
        Some(h) => format!("host:{}", h.to_ascii_lowercase()),
        None => format!("file:{}", e.origin.path),
    }
}

/// An event ready to publish.
pub struct EncodedEvent {
    /// Its partition.
    pub partition: u32,
    /// Its message id.
    pub id: String,
    /// The JSON.
    pub payload: Vec<u8>,
}

/// Encodes `e` for a stream of `partitions` partitions.
pub fn encode_event(e: &Event, partitions: u32) -> Result<EncodedEvent> {
    let payload = serde_json::to_vec(e)
        .map_err(|err| Error::Protocol(format!("cannot encode event from {}: {err}", e.origin)))?;
    Ok(EncodedEvent {
        partition: partition_of(&partition_key(e), partitions),
        id: sha256_hex(&payload),
        payload,
    })
}

/// Decodes an event published by [`encode_event`].
pub fn decode_event(bytes: &[u8]) -> Result<Event> {
    serde_json::from_slice(bytes)
        .map_err(|e| Error::Protocol(format!("not a tiaki event ({} bytes): {e}", bytes.len())))
}

/// A detection's JSON and id (the same key as `tiaki_store::key_of`).
pub fn encode_detection(d: &Detection) -> Result<(String, Vec<u8>)> {
    let json = serde_json::to_vec(d)
        .map_err(|e| Error::Protocol(format!("cannot encode detection: {e}")))?;
    Ok((sha256_hex(&json), json))
}

/// Decodes a detection published by [`encode_detection`].
pub fn decode_detection(bytes: &[u8]) -> Result<Detection> {
    serde_json::from_slice(bytes).map_err(|e| {
        Error::Protocol(format!(
            "not a tiaki detection ({} bytes): {e}",
            bytes.len()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tiaki_evidence::{Format, LogSource, Origin};

    fn event(host: &str, line: u64) -> Event {
        let mut fields = serde_json::Map::new();
        fields.insert("Computer".into(), host.into());
        fields.insert("EventID".into(), 4625.into());
        fields.insert("Ratio".into(), serde_json::json!(0.1));
        Event {
            origin: Origin {
                path: Arc::from("case/Security.json"),
                record_id: Some(line),
                line: Some(line),
                recovered: false,
            },
            timestamp: Some("2025-03-04T01:02:03.123456789Z".parse().unwrap()),
            format: Format::EvtxJson,
            logsource: LogSource {
                product: Some("windows".into()),
                service: Some("security".into()),
                ..Default::default()
            },
            fields,
        }
    }

    #[test]
    fn events_round_trip_exactly() {
        let e = event("PDO-DC01", 7);
        let enc = encode_event(&e, 16).unwrap();
        let back = decode_event(&enc.payload).unwrap();
        assert_eq!(back, e);
        assert_eq!(encode_event(&back, 16).unwrap().id, enc.id, "same id again");
        assert_ne!(encode_event(&event("PDO-DC01", 8), 16).unwrap().id, enc.id);
    }

    #[test]
    fn one_host_one_partition_whatever_the_case() {
        let a = encode_event(&event("PDO-DC01", 1), 16).unwrap();
        let b = encode_event(&event("pdo-dc01", 2), 16).unwrap();
        assert_eq!(a.partition, b.partition);
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let e = decode_event(b"{not json").unwrap_err().to_string();
        assert!(e.contains("not a tiaki event"), "{e}");
        let e = decode_detection(b"[]").unwrap_err().to_string();
        assert!(e.contains("not a tiaki detection"), "{e}");
    }
}
