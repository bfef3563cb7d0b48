//! Windows EVTX, through the `evtx` crate.
//!
//! Why this way:
//! * Records are parsed in parallel: the `evtx` crate's pipeline parses chunks on rayon's
//!   global pool, and our per-record work (rendering, flattening, routing) runs inside that
//!   pipeline, on the same workers. The file reader thread only collects finished events.
//! * No JSON string round-trip: `records_json_value` renders each record to a JSON string and
//!   parses it back into a `Value` tree. We render the record's JSON bytes once and walk them
//!   with the flattening seed (`crate::windows`), straight into the flat field map.
//! * Same fields as the JSON exports: the `evtx` crate (0.15) renders GUIDs as Windows does
//!   (`{5770385f-…}`) and times with 7 fractional digits, where `evtx_dump` JSON exports (and
//!   SigmaHQ's regression data) have `5770385F-…` and 6 digits. The GUID and time values are
//!   found by type in the record's substitution values and rewritten, so a rule sees the same
//!   value whichever way the evidence arrived. String values are never changed: trailing
//!   spaces in a command line are evidence and stay (the JSON exports lost them).
//! * Damage: the crate skips to the next chunk after a bad one and carries on after a bad
//!   record; each failure is counted here with its chunk or record. A file cut inside a chunk
//!   would lose that chunk silently (the crate only reads whole chunks), so it is padded with
//!   zeros in memory and its records read up to the cut. Records carved from unallocated
//!   space are kept (marked recovered) unless a live record with the same id exists.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use evtx::err::{EvtxError, SerializationError};
use evtx::{EvtxParser, EvtxRecord, ParserSettings};
use serde_json::Map;

use crate::ctx::Ctx;
use crate::error::{EvidenceError, chain};
use crate::event::{Event, Format};
use crate::windows::{Normalize, flatten_json};

const HEADER: u64 = 4096;
const CHUNK: u64 = 65536;
/// Carved records held back to check against later live records; past this they are
/// emitted without the check.
const MAX_HELD: usize = 100_000;

/// Reads an EVTX file opened read-only (`len` is its size).
pub(crate) fn read_file(ctx: &mut Ctx<'_>, mut file: File, len: u64) {
    ctx.report.format = Some(Format::Evtx);
    if let Err(e) = file.rewind() {
        return ctx.fail_io(e);
    }
    if len >= HEADER && (len - HEADER).is_multiple_of(CHUNK) {
        match EvtxParser::from_read_seek(file) {
            Ok(p) => return read_parser(ctx, p, None),
            Err(e) => {
                // A damaged file header: read it into memory, where it can be repaired.
                match crate::source::open_read_only(std::path::Path::new(&*ctx.path))
                    .and_then(read_all)
                {
                    Ok(buf) => return read_buffer_after(ctx, buf, Some(e)),
                    Err(io) => return ctx.fail_io(io),
                }
            }
        }
    }
    // Shorter than a header, or cut inside a chunk: read it into memory (and pad the cut
    // chunk, to recover its records).
    let mut buf = Vec::new();
    if let Err(e) = file
        .seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut buf))
    {
        ctx.fail_io(e);
        return;
    }
    read_buffer(ctx, buf);
}

fn read_all(mut f: File) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    f.read_to_end(&mut buf)?;
    Ok(buf)
}

/// Reads an EVTX file held in memory (an archive member, or a damaged file).
pub(crate) fn read_buffer(ctx: &mut Ctx<'_>, buf: Vec<u8>) {
    read_buffer_after(ctx, buf, None);
}

fn read_buffer_after(ctx: &mut Ctx<'_>, mut buf: Vec<u8>, open_error: Option<EvtxError>) {
    ctx.report.format = Some(Format::Evtx);
    let len = buf.len() as u64;
    if len < HEADER {
        let path = ctx.path.clone();
        ctx.fail(EvidenceError::Format {
            path,
            format: Format::Evtx,
            detail: format!("file is {len} bytes, shorter than the 4096-byte EVTX header"),
        });
        return;
    }
    let partial = (len - HEADER) % CHUNK;
    let truncated = (partial != 0).then(|| {
        let chunk = (len - HEADER) / CHUNK;
        buf.resize((HEADER + (chunk + 1) * CHUNK) as usize, 0);
        (chunk, partial)
    });
    let header_ok = buf.starts_with(b"ElfFile\0") && open_error.is_none();
    let first_chunk_ok = buf.len() >= (HEADER + 8) as usize
        && &buf[HEADER as usize..HEADER as usize + 8] == b"ElfChnk\0";
    if !header_ok && first_chunk_ok {
        // The file header is damaged but chunks follow it: the header is only needed to find
        // them, and they sit at fixed offsets, so repair the copy in memory.
        let why = match &open_error {
            Some(e) => chain(e),
            None => "bad file header magic".to_string(),
        };
        buf[..8].copy_from_slice(b"ElfFile\0");
        buf[40..42].copy_from_slice(&(HEADER as u16).to_le_bytes());
        let loc = ctx.loc(None, None, None);
        ctx.skip(
            "EVTX file header damaged",
            loc,
            format!("{why}; repaired in memory to read the chunks"),
        );
    }
    match EvtxParser::from_buffer(buf) {
        Ok(p) => read_parser(ctx, p, truncated),
        Err(e) => fail_open(ctx, &e),
    }
}

fn fail_open(ctx: &mut Ctx<'_>, e: &EvtxError) {
    let path = ctx.path.clone();
    ctx.fail(EvidenceError::Format {
        path,
        format: Format::Evtx,
        detail: chain(e),
    });
}

fn read_parser<T: Read + Seek>(
    ctx: &mut Ctx<'_>,
    parser: EvtxParser<T>,
    truncated: Option<(u64, u64)>,
) {
    if let Some((chunk, bytes)) = truncated {
        let loc = ctx.loc(None, Some(chunk), None);
        ctx.skip(
            "EVTX file truncated",
            loc,
            format!(
                "the file ends {bytes} bytes into chunk {chunk} (of {CHUNK}); the chunk was padded with zeros and read up to the cut"
            ),
        );
    }
    // Inside a rayon worker the crate's pipeline would wait on jobs queued behind us; parse
    // on this thread then.
    let threads = if rayon::current_thread_index().is_some() {
        1
    } else {
        0
    };
    let settings = ParserSettings::new()
        .num_threads(threads)
        .indent(false)
        .validate_checksums(false)
        .recover_records(ctx.opts.evtx_recover_records);
    let mut parser = parser.with_configuration(settings);
    let env = ctx.env();
    let to_event = move |rec: evtx::err::Result<EvtxRecord<'_>>| -> evtx::err::Result<Event> {
        let rec = rec?;
        let id = rec.event_record_id;
        let recovered = rec.recovered;
        let header_time = rec.timestamp;
        let norm = typed_values(&rec);
        let json = rec.into_json_bytes()?;
        let mut fields = Map::with_capacity(48);
        let mut de = serde_json::Deserializer::from_slice(&json.data);
        let flat = flatten_json(&mut de, &mut fields, Some(&norm));
        let err = match flat {
            Ok(true) => None,
            Ok(false) => Some(SerializationError::JsonStructureError {
                message: "record has no Event element".into(),
            }),
            Err(e) => Some(SerializationError::from(e)),
        };
        if let Some(err) = err {
            return Err(EvtxError::FailedToParseRecord {
                record_id: id,
                source: Box::new(err.into()),
            });
        }
        let mut ev = env.windows(fields, Format::Evtx, None, Some(id), false);
        ev.origin.recovered = recovered;
        if ev.timestamp.is_none() {
            ev.timestamp = chrono::DateTime::from_timestamp(
                header_time.as_second(),
                u32::try_from(header_time.subsec_nanosecond()).unwrap_or(0),
            );
        }
        Ok(ev)
    };
    let mut live = IdRanges::default();
    let mut held: Vec<Event> = Vec::new();
    for item in parser.serialized_records(to_event) {
        match item {
            Ok(ev) if !ev.origin.recovered => {
                if let Some(id) = ev.origin.record_id {
                    live.insert(id);
                }
                ctx.emit(ev);
            }
            Ok(ev) => {
                let id = ev.origin.record_id.unwrap_or(0);
                if live.contains(id) {
                    ctx.report.recovered_duplicates += 1;
                } else if live.max().is_some_and(|m| id <= m) || held.len() >= MAX_HELD {
                    ctx.emit(ev);
                } else {
                    held.push(ev);
                }
            }
            Err(e) => record_error(ctx, &e),
        }
    }
    for ev in held {
        if live.contains(ev.origin.record_id.unwrap_or(0)) {
            ctx.report.recovered_duplicates += 1;
        } else {
            ctx.emit(ev);
        }
    }
}

fn record_error(ctx: &mut Ctx<'_>, e: &EvtxError) {
    let (reason, loc) = match e {
        EvtxError::FailedToParseChunk { chunk_id, .. } => (
            "EVTX chunk unreadable",
            ctx.loc(None, Some(*chunk_id), None),
        ),
        EvtxError::FailedToParseRecord { record_id, .. } => (
            "EVTX record unreadable",
            ctx.loc(Some(*record_id), None, None),
        ),
        EvtxError::FailedToReadRecordAt { chunk, .. } => {
            ("EVTX record unreadable", ctx.loc(None, *chunk, None))
        }
        _ => ("EVTX error", ctx.loc(None, None, None)),
    };
    ctx.skip(reason, loc, chain(e));
}

/// Record ids of live records, as ranges (ids are mostly consecutive).
#[derive(Default)]
struct IdRanges(BTreeMap<u64, u64>);

impl IdRanges {
    fn insert(&mut self, id: u64) {
        if let Some((&s, &e)) = self.0.range(..=id).next_back() {
            if id <= e {
                return;
            }
            if e.checked_add(1) == Some(id) {
                let end = self.take_range_after(id);
                self.0.insert(s, end);
                return;
            }
        }
        let end = self.take_range_after(id);
        self.0.insert(id, end);
    }

    /// Removes the range starting right after `id`, if any, and returns where the merged
    /// range ends (`id` itself otherwise). Record ids come from the evidence: `u64::MAX` is
    /// possible and has no successor.
    fn take_range_after(&mut self, id: u64) -> u64 {
        id.checked_add(1)
            .and_then(|next| self.0.remove(&next))
            .unwrap_or(id)
    }

    fn contains(&self, id: u64) -> bool {
        self.0
            .range(..=id)
            .next_back()
            .is_some_and(|(_, &e)| id <= e)
    }

    fn max(&self) -> Option<u64> {
        self.0.values().next_back().copied()
    }
}

/// Finds the GUID and time values of a record by type, rendered as the `evtx` crate renders
/// them, so that flattening can rewrite exactly those (see the module documentation).
///
/// The record's BinXML is a template instance whose substitution values carry their types;
/// `EventData` is often a nested BinXML fragment with a template instance of its own (Sysmon),
/// which `EvtxRecord::template_instances` does not descend into. So the substitution arrays
/// are walked here (MS-EVEN6 2.2.16-2.2.18), nested fragments included. It only reads: any
/// inconsistency ends the walk, and values not found are simply not rewritten.
fn typed_values(rec: &EvtxRecord<'_>) -> Normalize {
    let mut n = Normalize::default();
    let data = rec.chunk.data;
    let start = rec.binxml_offset as usize;
    let end = start
        .saturating_add(rec.binxml_size as usize)
        .min(data.len());
    walk_fragment(data, start, end, &mut n, 0);
    n
}

fn le_u16(d: &[u8], p: usize) -> Option<u16> {
    Some(u16::from_le_bytes(d.get(p..p + 2)?.try_into().ok()?))
}

fn le_u32(d: &[u8], p: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(p..p + 4)?.try_into().ok()?))
}

/// Walks a BinXML fragment at chunk offset `pos` for its template instance's typed values.
fn walk_fragment(
    d: &[u8],
    mut pos: usize,
    end: usize,
    n: &mut Normalize,
    depth: u32,
) -> Option<()> {
    if depth > 8 {
        return None;
    }
    // Fragment header: 0x0f major minor flags.
    if *d.get(pos)? == 0x0f {
        pos += 4;
    }
    if pos >= end || *d.get(pos)? != 0x0c {
        return None;
    }
    // Template instance: token, 1 unknown byte, template id, definition offset.
    let def_offset = le_u32(d, pos + 6)? as usize;
    pos += 10;
    if def_offset == pos {
        // The definition is inline: next offset (4), GUID (16), data size (4), data.
        let size = le_u32(d, pos + 20)? as usize;
        pos = pos.checked_add(24 + size)?;
    }
    let count = le_u32(d, pos)? as usize;
    pos += 4;
    if count > 4096 {
        return None;
    }
    let descriptors = pos;
    let mut value = pos.checked_add(count * 4)?;
    for i in 0..count {
        let size = le_u16(d, descriptors + i * 4)? as usize;
        let ty = *d.get(descriptors + i * 4 + 2)?;
        let bytes = d.get(value..value.checked_add(size)?)?;
        match ty {
            0x0f if size == 16 => n.guids.push(render_guid(bytes.try_into().ok()?)),
            0x8f => n.guids.extend(
                bytes
                    .chunks_exact(16)
                    .filter_map(|g| g.try_into().ok())
                    .map(render_guid),
            ),
            0x11 if size == 8 => {
                if let Some(t) = render_filetime(u64::from_le_bytes(bytes.try_into().ok()?)) {
                    n.times.push(t);
                }
            }
            0x12 if size == 16 => {
                let f = |i: usize| u16::from_le_bytes([bytes[2 * i], bytes[2 * i + 1]]);
                if let Some(t) = render_systime(f(0), f(1), f(3), f(4), f(5), f(6), f(7)) {
                    n.times.push(t);
                }
            }
            0x21 => {
                walk_fragment(d, value, value + size, n, depth + 1);
            }
            _ => {}
        }
        value += size;
    }
    Some(())
}

fn render_guid(b: &[u8; 16]) -> [u8; 38] {
    const ORDER: [usize; 16] = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'-'; 38];
    out[0] = b'{';
    out[37] = b'}';
    let mut n = 1;
    for (i, &idx) in ORDER.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            n += 1;
        }
        out[n] = HEX[(b[idx] >> 4) as usize];
        out[n + 1] = HEX[(b[idx] & 0xf) as usize];
        n += 2;
    }
    out
}

fn render_filetime(ft: u64) -> Option<[u8; 28]> {
    const TICKS: u64 = 10_000_000;
    let secs = i64::try_from(ft / TICKS).ok()? - 11_644_473_600;
    let dt = chrono::DateTime::from_timestamp(secs, 0)?;
    use chrono::{Datelike, Timelike};
    render_fields(
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        (ft % TICKS) as u32,
    )
}

fn render_systime(y: u16, mo: u16, d: u16, h: u16, mi: u16, s: u16, ms: u16) -> Option<[u8; 28]> {
    render_fields(
        y.into(),
        mo.into(),
        d.into(),
        h.into(),
        mi.into(),
        s.into(),
        u32::from(ms) * 10_000,
    )
}

fn render_fields(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, ticks: u32) -> Option<[u8; 28]> {
    if !(0..=9999).contains(&y) {
        return None;
    }
    if mo > 99 || d > 99 || h > 99 || mi > 99 || s > 99 || ticks > 9_999_999 {
        return None;
    }
    let mut out = *b"0000-00-00T00:00:00.0000000Z";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (0..width).rev() {
            out[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, y as u32);
    put(5, 2, mo);
    put(8, 2, d);
    put(11, 2, h);
    put(14, 2, mi);
    put(17, 2, s);
    put(20, 7, ticks);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_ranges() {
        let mut r = IdRanges::default();
        for id in [5, 6, 7, 10, 9, 8, 1] {
            r.insert(id);
        }
        assert!(r.contains(1) && r.contains(5) && r.contains(10));
        assert!(!r.contains(2) && !r.contains(11) && !r.contains(0));
        assert_eq!(r.0.len(), 2);
        assert_eq!(r.max(), Some(10));
    }

    #[test]
    fn id_ranges_at_the_top_of_u64() {
        // Record ids are whatever the file says; found by the evtx fuzz target.
        let mut r = IdRanges::default();
        for id in [u64::MAX, u64::MAX - 1, u64::MAX, 3, u64::MAX - 3] {
            r.insert(id);
        }
        assert!(r.contains(u64::MAX) && r.contains(u64::MAX - 1) && r.contains(3));
        assert!(!r.contains(u64::MAX - 2));
        assert_eq!(r.0.len(), 3);
        assert_eq!(r.max(), Some(u64::MAX));
    }

    #[test]
    fn renders_like_the_evtx_crate() {
        let g = [
            0x5f, 0x38, 0x70, 0x57, 0x2a, 0xc2, 0xe0, 0x43, 0xbf, 0x4c, 0x06, 0xf5, 0x69, 0x8f,
            0xfb, 0xd9,
        ];
        assert_eq!(&render_guid(&g), b"{5770385f-c22a-43e0-bf4c-06f5698ffbd9}");
        // 2025-12-06T21:11:02.6491508Z
        let secs = 1_765_055_462_i64 + 11_644_473_600;
        let ft = secs as u64 * 10_000_000 + 6_491_508;
        assert_eq!(
            &render_filetime(ft).unwrap(),
            b"2025-12-06T21:11:02.6491508Z"
        );
        assert_eq!(
            &render_systime(2019, 3, 19, 17, 6, 22, 908).unwrap(),
            b"2019-03-19T17:06:22.9080000Z"
        );
    }
}
