//! Options for reading evidence.
//!
//! Why so few: readers turn evidence into events and nothing more. Filtering by time, host
//! or log source happens later in the pipeline, so it is not here.

use std::sync::Arc;

use crate::event::Format;
use crate::mapping::Mappings;

/// The default [`ReadOptions::max_line_bytes`]: 16 MiB.
pub const DEFAULT_MAX_LINE_BYTES: usize = 16 << 20;

/// The deepest JSON nesting the parser supports (serde_json's recursion limit), and the
/// default and largest [`ReadOptions::max_json_depth`].
pub const MAX_JSON_DEPTH: usize = 128;

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
    /// Longest line of a text format kept, in bytes (default 16 MiB). A longer line is
    /// skipped, counted as `line too long` in its file's report with its number and length,
    /// and reading goes on at the next line; memory never holds more than this per line.
    pub max_line_bytes: usize,
    /// Longest value of one event field, in bytes (default 4 MiB). An event with a longer
    /// value is skipped, counted as `field too long` with the field's name and length (not
    /// truncated: a cut value could match, or fail to match, what the whole would not).
    pub max_field_bytes: usize,
    /// Deepest nesting of objects and arrays in a JSON record (default 128, which is also
    /// the most the JSON parser allows). A deeper record is skipped, counted as `JSON nested
    /// too deep` ("nesting deeper than N"), and the next one is read.
    pub max_json_depth: usize,
    /// Largest object in a JSON document that is not JSON Lines (pretty-printed or an array),
    /// in bytes (default 64 MiB). An object still open past it ends that file with
    /// `JSON object too large` (the rest cannot be re-synchronised).
    pub max_object_bytes: usize,
    /// Read files reached through symbolic links that point outside the directory being
    /// walked (default false: they are reported as not followed, with the target, and not
    /// read, so a planted link cannot pull `/etc/shadow` or another case's evidence into
    /// this one). Links to directories are never followed. A path named on the command line
    /// is read whatever it is.
    pub follow_links_outside_root: bool,
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
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            max_field_bytes: 4 << 20,
            max_json_depth: MAX_JSON_DEPTH,
            max_object_bytes: 64 << 20,
            follow_links_outside_root: false,
        }
    }
}

/// Limits on decompressed data, per top-level evidence file. Exceeding one stops reading
/// that archive member or stream, with an error in its report; memory use never follows the
/// decompressed size. Defaults: 8 GiB per member, 32 GiB per evidence file, ratio 250:1
/// checked after 8 MiB, archives nested 4 deep.
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
