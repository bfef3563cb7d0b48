//! Options for reading evidence.
//!
//! Why so few: readers turn evidence into events and nothing more. Filtering by time, host
//! or log source happens later in the pipeline, so it is not here.

use std::sync::Arc;

use crate::event::Format;
use crate::mapping::Mappings;

/// How to read evidence.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Read every file as this format instead of recognising it from its content (the
    /// `--input-format` flag). Archives (`.zip`, `.gz`) are still opened; the format applies
    /// to their members. `Json`, `EvtxJson` and `Ecs` all select the JSON reader, which
    /// tells the object shapes apart itself.
    pub format: Option<Format>,
    /// Limits against decompression bombs.
    pub limits: ArchiveLimits,
    /// Events per batch handed to the caller.
    pub batch_size: usize,
    /// Files read at once (0: one per CPU). EVTX records are also parsed in parallel, on
    /// rayon's global pool.
    pub threads: usize,
    /// Also return EVTX records carved from unallocated chunk space (cleared or overwritten
    /// records), marked [`crate::Origin::recovered`]. Carved copies of records that are still
    /// live in the same file are dropped.
    pub evtx_recover_records: bool,
    /// Full errors kept per file in the report (all are counted).
    pub max_errors_kept: usize,
    /// Field mapping and log-source routing tables.
    pub mappings: Arc<Mappings>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            format: None,
            limits: ArchiveLimits::default(),
            batch_size: 1024,
            threads: 0,
            evtx_recover_records: true,
            max_errors_kept: 10,
            mappings: Mappings::builtin(),
        }
    }
}

/// Limits on decompressed data, per top-level evidence file. Exceeding one stops reading
/// that archive member or stream, with an error in its report; memory use never follows the
/// decompressed size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Bytes one archive member or gzip stream may decompress to.
    pub max_member_bytes: u64,
    /// Bytes all members of one evidence file (nested archives included) may decompress to.
    pub max_total_bytes: u64,
    /// Largest decompressed/compressed ratio allowed (0: no ratio limit). Checked once a
    /// stream has produced [`ArchiveLimits::ratio_grace_bytes`]; deflate cannot exceed about
    /// 1032:1, logs rarely exceed 50:1.
    pub max_ratio: u64,
    /// Output a stream may produce before the ratio is checked.
    pub ratio_grace_bytes: u64,
    /// How deep archives may nest (a zip in a zip is depth 2).
    pub max_depth: u32,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_member_bytes: 8 << 30,
            max_total_bytes: 32 << 30,
            max_ratio: 250,
            ratio_grace_bytes: 8 << 20,
            max_depth: 4,
        }
    }
}
