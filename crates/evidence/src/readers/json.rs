//! JSON and JSON Lines: `evtx_dump` exports, Winlogbeat/ECS, Zeek JSON, anything else.
//!
//! Why one reader for all JSON: the file does not say which tool wrote it, and one export can
//! mix shapes. Each object is recognised on its own: `{"Event": {"System": …}}` is an
//! `evtx_dump` event (flattened like EVTX), an object with a `winlog` (or Winlogbeat 6
//! `event_data`) object is ECS, one with `_path`/`uid`/`id.orig_h` is Zeek, the rest is kept
//! as it is, nested.
//!
//! Layouts: JSON Lines (one object per line; a bad line costs that line only), and documents
//! of one or more objects, pretty-printed and concatenated without newlines between them (13
//! of SigmaHQ's regression files), or inside a top-level array, with `evtx_dump`'s
//! `Record N` lines between them. Documents are cut into objects by a small scanner that
//! tracks strings and nesting, so each object is parsed (and can fail) on its own.
//!
//! Speed: `evtx_dump` objects are recognised from their first bytes and flattened straight
//! from the bytes (no `Value` tree); other objects are parsed once into the map that becomes
//! the event's fields.

use std::io::{self, BufRead};

use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::ctx::{Ctx, Env, Outcome};
use crate::event::Format;
use crate::mapping::Mappings;
use crate::readers::{Line, Lines, too_long};
use crate::windows::{data_name, flatten_json, integer_fields, put};

/// Reads JSON or JSON Lines. `zeek_path`: the Zeek log path when the file is a Zeek log.
pub(crate) fn read(
    ctx: &mut Ctx<'_>,
    r: &mut dyn BufRead,
    zeek_path: Option<&str>,
) -> io::Result<()> {
    let env = ctx.env();
    // Decide the layout from the first non-blank byte and line.
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        match buf.iter().position(|c| !c.is_ascii_whitespace()) {
            Some(i) => {
                if buf[i] == b'[' {
                    return document(ctx, &env, r, Vec::new(), 0, zeek_path);
                }
                break;
            }
            None => {
                let n = buf.len();
                r.consume(n);
            }
        }
    }
    let mut lines = Lines::new(r, ctx.opts.max_line_bytes);
    let mut line = Vec::new();
    // The first non-empty line: a complete JSON value means JSON Lines.
    loop {
        match lines.next_line(&mut line)? {
            None => return Ok(()),
            Some(Line::TooLong(n)) => {
                let no = lines.number;
                ctx.skip_line("line too long", no, too_long(n, lines.max()));
            }
            Some(Line::Ok) => {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                // A complete value, or one too deep for the parser (a JSON Lines record
                // that will be skipped as such, not a reason to read the file as a document).
                let first = serde_json::from_slice::<serde::de::IgnoredAny>(&line);
                if first.is_ok()
                    || first
                        .as_ref()
                        .is_err_and(|e| e.to_string().starts_with("recursion limit exceeded"))
                {
                    let no = lines.number;
                    ctx.apply(parse_object(&env, &line, Some(no), None, zeek_path));
                    break;
                }
                // A pretty-printed or concatenated document.
                let mut start = std::mem::take(&mut line);
                start.push(b'\n');
                let first_line = lines.number;
                return document(
                    ctx,
                    &env,
                    lines.into_inner(),
                    start,
                    first_line - 1,
                    zeek_path,
                );
            }
        }
    }
    json_lines(ctx, &env, lines, zeek_path)
}

/// Lines per block parsed by one worker.
const BLOCK_LINES: usize = 512;

/// The rest of a JSON Lines file. Lines are gathered in blocks, each block is parsed on
/// rayon's pool (parsing and building events is the expensive part) while this thread reads
/// the next ones, and results are applied in file order: events stay in order, and memory
/// stays at a few blocks in flight.
fn json_lines(
    ctx: &mut Ctx<'_>,
    env: &Env,
    mut lines: Lines<'_>,
    zeek_path: Option<&str>,
) -> io::Result<()> {
    // Inside a rayon worker, waiting for jobs queued behind ourselves could stall: parse here.
    let parallel = rayon::current_thread_index().is_none() && rayon::current_num_threads() > 1;
    let max_in_flight = rayon::current_num_threads().max(1) * 2;
    let (tx, rx) = std::sync::mpsc::channel::<(u64, Vec<Outcome>)>();
    let mut pending: std::collections::BTreeMap<u64, Vec<Outcome>> =
        std::collections::BTreeMap::new();
    let (mut next_seq, mut next_apply, mut in_flight) = (0u64, 0u64, 0usize);
    let mut line = Vec::new();
    let mut eof = false;
    let max_line = lines.max();
    loop {
        while !eof && in_flight < max_in_flight {
            let mut b = Block::default();
            while b.lines.len() < BLOCK_LINES {
                match lines.next_line(&mut line)? {
                    None => {
                        eof = true;
                        break;
                    }
                    Some(Line::TooLong(n)) => b.lines.push((lines.number, b.data.len(), Some(n))),
                    Some(Line::Ok) => {
                        if !line.iter().all(u8::is_ascii_whitespace) {
                            b.data.extend_from_slice(&line);
                            b.lines.push((lines.number, b.data.len(), None));
                        }
                    }
                }
            }
            if b.lines.is_empty() {
                continue;
            }
            if !parallel {
                for o in parse_block(env, &b, zeek_path, max_line) {
                    ctx.apply(o);
                }
                continue;
            }
            let (tx, env, zp, seq) = (
                tx.clone(),
                env.clone(),
                zeek_path.map(str::to_string),
                next_seq,
            );
            next_seq += 1;
            in_flight += 1;
            rayon::spawn(move || {
                let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    parse_block(&env, &b, zp.as_deref(), max_line)
                }))
                .unwrap_or_else(|_| {
                    let first = b.lines.first().map_or(0, |l| l.0);
                    vec![Outcome::Skip {
                        reason: "internal error",
                        line: Some(first),
                        record_id: None,
                        detail: format!("parsing {} lines from here failed", b.lines.len()),
                    }]
                });
                // The receiver is gone only if the reader stopped early.
                let _ = tx.send((seq, out));
            });
        }
        if in_flight == 0 {
            break;
        }
        let (seq, out) = rx
            .recv()
            .map_err(|_| io::Error::other("JSON worker channel closed"))?;
        pending.insert(seq, out);
        while let Some(out) = pending.remove(&next_apply) {
            next_apply += 1;
            in_flight -= 1;
            for o in out {
                ctx.apply(o);
            }
        }
    }
    Ok(())
}

/// Parses the lines of a block, in order.
fn parse_block(env: &Env, b: &Block, zeek_path: Option<&str>, max_line: usize) -> Vec<Outcome> {
    let mut out = Vec::with_capacity(b.lines.len());
    let mut start = 0;
    for &(no, end, over) in &b.lines {
        out.push(match over {
            Some(n) => Outcome::Skip {
                reason: "line too long",
                line: Some(no),
                record_id: None,
                detail: too_long(n, max_line),
            },
            None => parse_object(env, &b.data[start..end], Some(no), None, zeek_path),
        });
        start = end;
    }
    out
}

/// Lines read, waiting to be parsed.
#[derive(Default)]
struct Block {
    /// The lines, one after the other.
    data: Vec<u8>,
    /// Per line: its number, its end in `data`, and its length if it was too long to keep.
    lines: Vec<(u64, usize, Option<usize>)>,
}

/// Parses one JSON object from `bytes` into an event, or says why not.
fn parse_object(
    env: &Env,
    bytes: &[u8],
    line: Option<u64>,
    record_id: Option<u64>,
    zeek_path: Option<&str>,
) -> Outcome {
    let skip = |reason: &'static str, detail: String| Outcome::Skip {
        reason,
        line,
        record_id,
        detail,
    };
    let bytes = trim(bytes);
    if bytes.first() != Some(&b'{') {
        return skip(
            "not a JSON object",
            format!("expected a JSON object, found {}", preview(bytes)),
        );
    }
    // The parser's own bound is the default; a lower one is checked by a scan first.
    if env.max_json_depth < crate::options::MAX_JSON_DEPTH && too_deep(bytes, env.max_json_depth) {
        return skip(TOO_DEEP, deeper_than(env.max_json_depth));
    }
    // Valid UTF-8 (nearly every line) is checked once for the whole line, so that the
    // parser need not check every string again; otherwise the slice parser reports
    // where the bad bytes are.
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_line(
            env,
            || serde_json::de::StrRead::new(text),
            bytes,
            skip,
            (line, record_id, zeek_path),
        ),
        Err(_) => parse_line(
            env,
            || serde_json::de::SliceRead::new(bytes),
            bytes,
            skip,
            (line, record_id, zeek_path),
        ),
    }
}

/// Parses one JSON object line (`bytes`, read through readers that `read` makes)
/// into its event.
fn parse_line<'a, R: serde_json::de::Read<'a>>(
    env: &Env,
    read: impl Fn() -> R,
    bytes: &'a [u8],
    skip: impl Fn(&'static str, String) -> Outcome,
    (line, record_id, zeek_path): (Option<u64>, Option<u64>, Option<&str>),
) -> Outcome {
    // evtx_dump events, recognised by their first key, are flattened from the bytes.
    if starts_with_event_key(bytes) {
        let mut fields = Map::with_capacity(48);
        let mut de = serde_json::Deserializer::new(read());
        match flatten_json(&mut de, &mut fields, None).and_then(|found| de.end().map(|()| found)) {
            Ok(true) => {
                return Outcome::Event(env.windows(
                    fields,
                    Format::EvtxJson,
                    line,
                    record_id,
                    false,
                ));
            }
            Ok(false) => {}
            Err(e) => return malformed(e, skip),
        }
    }
    let mut de = serde_json::Deserializer::new(read());
    match MapSeed
        .deserialize(&mut de)
        .and_then(|m| de.end().map(|()| m))
    {
        Ok(map) => value_object(env, map, line, record_id, zeek_path),
        Err(e) => malformed(e, skip),
    }
}

/// Why a deep record is skipped.
const TOO_DEEP: &str = "JSON nested too deep";

fn deeper_than(max: usize) -> String {
    format!("nesting deeper than {max} (max_json_depth)")
}

/// A parse error as a skip: the parser's recursion limit is the depth limit.
fn malformed(e: serde_json::Error, skip: impl Fn(&'static str, String) -> Outcome) -> Outcome {
    let text = e.to_string();
    if text.starts_with("recursion limit exceeded") {
        return skip(TOO_DEEP, deeper_than(crate::options::MAX_JSON_DEPTH));
    }
    skip("malformed JSON", text)
}

/// True when objects and arrays in `b` nest deeper than `max` (strings skipped).
fn too_deep(b: &[u8], max: usize) -> bool {
    let (mut depth, mut in_str, mut esc) = (0usize, false, false);
    for &c in b {
        if in_str {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_str = false;
            }
            continue;
        }
        match c {
            b'"' => in_str = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Deserializes a JSON object into a map sized for a typical event up front (serde_json's
/// own starts empty and rehashes as it grows).
struct MapSeed;

impl<'de> DeserializeSeed<'de> for MapSeed {
    type Value = Map<String, Value>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MapSeed {
    type Value = Map<String, Value>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut m = Map::with_capacity(access.size_hint().unwrap_or(32).max(32));
        while let Some((k, v)) = access.next_entry::<String, Value>()? {
            m.insert(k, v);
        }
        Ok(m)
    }
}

/// Recognises an already-parsed object's shape and builds its event.
fn value_object(
    env: &Env,
    map: Map<String, Value>,
    line: Option<u64>,
    record_id: Option<u64>,
    zeek_path: Option<&str>,
) -> Outcome {
    if let Some(Value::Object(ev)) = map.get("Event")
        && ev.contains_key("System")
    {
        let mut fields = Map::with_capacity(48);
        return match flatten_json(Value::Object(map), &mut fields, None) {
            Ok(_) => Outcome::Event(env.windows(fields, Format::EvtxJson, line, record_id, false)),
            Err(e) => Outcome::Skip {
                reason: "malformed JSON",
                line,
                record_id,
                detail: e.to_string(),
            },
        };
    }
    let maps = &env.maps;
    if maps
        .ecs_detect
        .iter()
        .any(|k| matches!(map.get(k), Some(Value::Object(_))))
    {
        let fields = ecs_to_windows(maps, map);
        return Outcome::Event(env.windows(fields, Format::Ecs, line, None, false));
    }
    let zeekish = map.contains_key("_path")
        || map.contains_key("id.orig_h")
        || (map.contains_key("ts") && map.contains_key("uid"));
    if zeekish || zeek_path.is_some() {
        let path = match map.get("_path") {
            Some(Value::String(p)) => Some(p.clone()),
            _ => zeek_path.map(str::to_string),
        };
        return Outcome::Event(env.zeek(map, path.as_deref(), line));
    }
    Outcome::Event(env.generic(map, Format::Json, line))
}

/// Converts a Winlogbeat/ECS object to Windows field names (see `data/ecs.toml`).
pub(crate) fn ecs_to_windows(maps: &Mappings, mut map: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::with_capacity(map.len() + 32);
    for (src, dst) in &maps.ecs_fields {
        if let Some(v) = take_path(&mut map, src) {
            put(&mut out, dst.clone(), v);
        }
    }
    for path in &maps.ecs_flatten {
        if let Some(Value::Object(obj)) = take_path(&mut map, path) {
            flatten_into(&mut out, obj);
        }
    }
    for k in &maps.ecs_timestamp {
        if let Some(v) = map.get(k)
            && !out.contains_key("TimeCreated_SystemTime")
            && let Some(t) = crate::time::from_value(v)
        {
            out.insert(
                "TimeCreated_SystemTime".into(),
                Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
            );
        }
    }
    integer_fields(&mut out, &maps.windows_integer_fields);
    // Whatever was not mapped stays, nested, so nothing is lost.
    for (k, v) in map {
        if matches!(&v, Value::Object(o) if o.is_empty()) {
            continue;
        }
        put(&mut out, k, v);
    }
    out
}

/// Members of an object become fields (spaces stripped); nested objects are walked down to
/// their leaves, as for EVTX `UserData`.
fn flatten_into(out: &mut Map<String, Value>, obj: Map<String, Value>) {
    for (k, v) in obj {
        match v {
            Value::Object(inner) => flatten_into(out, inner),
            v => put(out, data_name(&k).into_owned(), v),
        }
    }
}

/// Removes and returns the value at `path`: an exact key, or a dotted path into objects.
fn take_path(map: &mut Map<String, Value>, path: &str) -> Option<Value> {
    if let Some(v) = map.shift_remove(path) {
        return Some(v);
    }
    for (i, _) in path.match_indices('.') {
        if let Some(Value::Object(inner)) = map.get_mut(&path[..i])
            && let Some(v) = take_path(inner, &path[i + 1..])
        {
            return Some(v);
        }
    }
    None
}

fn trim(b: &[u8]) -> &[u8] {
    let s = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let e = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(s, |i| i + 1);
    &b[s..e]
}

fn starts_with_event_key(b: &[u8]) -> bool {
    let rest = trim(&b[1..]);
    rest.starts_with(b"\"Event\"")
}

fn preview(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(&b[..b.len().min(40)]);
    format!("{s:?}")
}

/// A JSON document of one or more objects: cut into objects and read each.
fn document(
    ctx: &mut Ctx<'_>,
    env: &Env,
    r: &mut dyn BufRead,
    mut buf: Vec<u8>,
    lines_before: u64,
    zeek_path: Option<&str>,
) -> io::Result<()> {
    let mut sc = Scanner {
        line: lines_before + 1,
        ..Scanner::default()
    };
    let mut pos = 0usize;
    let mut obj_start = 0usize;
    let mut obj_line = 0u64;
    let mut record = None;
    loop {
        while pos < buf.len() {
            match sc.step(buf[pos]) {
                Step::None => {}
                Step::Start => {
                    obj_start = pos;
                    obj_line = sc.line;
                    record = None;
                    if let Some((text, line)) = sc.take_junk() {
                        match record_hint(&text) {
                            Some(id) => record = Some(id),
                            None => ctx.skip_line(
                                "text outside JSON objects",
                                line,
                                format!("unexpected {}", preview(&text)),
                            ),
                        }
                    }
                }
                Step::End => ctx.apply(parse_object(
                    env,
                    &buf[obj_start..=pos],
                    Some(obj_line),
                    record.take(),
                    zeek_path,
                )),
            }
            pos += 1;
        }
        // Drop what has been read, keep an unfinished object.
        let keep_from = if sc.depth > 0 { obj_start } else { pos };
        if keep_from > 0 {
            buf.drain(..keep_from);
            pos -= keep_from;
            obj_start -= keep_from.min(obj_start);
        }
        let max_object = ctx.opts.max_object_bytes;
        if sc.depth > 0 && buf.len() > max_object {
            ctx.skip_line(
                "JSON object too large",
                obj_line,
                format!(
                    "more than {max_object} bytes (max_object_bytes); the rest of the file was not read"
                ),
            );
            return Ok(());
        }
        let avail = r.fill_buf()?;
        if avail.is_empty() {
            break;
        }
        buf.extend_from_slice(avail);
        let n = avail.len();
        r.consume(n);
    }
    if sc.depth > 0 {
        ctx.skip_line(
            "truncated JSON object",
            obj_line,
            "the file ends inside this object",
        );
    }
    if let Some((text, line)) = sc.take_junk()
        && record_hint(&text).is_none()
    {
        ctx.skip_line(
            "text outside JSON objects",
            line,
            format!("unexpected {}", preview(&text)),
        );
    }
    Ok(())
}

/// `evtx_dump` writes `Record N` before each object.
fn record_hint(text: &[u8]) -> Option<u64> {
    let t = std::str::from_utf8(text).ok()?;
    t.strip_prefix("Record")?.trim().parse().ok()
}

enum Step {
    None,
    Start,
    End,
}

/// Finds object boundaries in a JSON document stream (strings and nesting aware).
#[derive(Default)]
struct Scanner {
    depth: u32,
    in_str: bool,
    esc: bool,
    /// Inside a top-level `[`: its elements are the objects.
    in_array: bool,
    line: u64,
    /// Text seen between objects, and the line it started on.
    junk: Vec<u8>,
    junk_line: Option<u64>,
}

impl Scanner {
    fn step(&mut self, c: u8) -> Step {
        if self.depth > 0 {
            if c == b'\n' {
                self.line += 1;
            }
            if self.in_str {
                if self.esc {
                    self.esc = false;
                } else if c == b'\\' {
                    self.esc = true;
                } else if c == b'"' {
                    self.in_str = false;
                }
                return Step::None;
            }
            match c {
                b'"' => self.in_str = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        return Step::End;
                    }
                }
                _ => {}
            }
            return Step::None;
        }
        match c {
            b'{' => {
                self.depth = 1;
                Step::Start
            }
            b'[' if !self.in_array && self.junk_line.is_none() => {
                self.in_array = true;
                Step::None
            }
            b',' | b']' if self.in_array => Step::None,
            b'\n' => {
                self.line += 1;
                Step::None
            }
            c if c.is_ascii_whitespace() => {
                if self.junk_line.is_some() && self.junk.len() < 64 {
                    self.junk.push(b' ');
                }
                Step::None
            }
            c => {
                if self.junk_line.is_none() {
                    self.junk_line = Some(self.line);
                }
                if self.junk.len() < 64 {
                    self.junk.push(c);
                }
                Step::None
            }
        }
    }

    /// Text seen since the last object, if any, with its line.
    fn take_junk(&mut self) -> Option<(Vec<u8>, u64)> {
        let line = self.junk_line.take()?;
        let mut text = std::mem::take(&mut self.junk);
        while text.last() == Some(&b' ') {
            text.pop();
        }
        Some((text, line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::ReadOptions;

    fn run(input: &str) -> (Vec<crate::Event>, crate::FileReport) {
        let opts = ReadOptions::default();
        let mut events = Vec::new();
        let mut out = |b: Vec<crate::Event>| events.extend(b);
        let mut ctx = Ctx::new(&opts, "t.json".into(), "t.json".into(), None, &mut out);
        let mut r = input.as_bytes();
        read(&mut ctx, &mut r, None).unwrap();
        let rep = ctx.finish();
        (events, rep)
    }

    #[test]
    fn json_lines_with_malformed_lines() {
        let (ev, rep) = run(
            "{\"a\": 1}\n{\"a\": 2\n\n[1,2]\n{\"a\": 3, \"@timestamp\": \"2024-01-01T00:00:00Z\"}\n",
        );
        assert_eq!(ev.len(), 2);
        assert_eq!(ev[1].origin.line, Some(5));
        assert!(ev[1].timestamp.is_some());
        assert_eq!(rep.skipped["malformed JSON"], 1);
        assert_eq!(rep.skipped["not a JSON object"], 1);
        assert!(
            rep.errors[0]
                .to_string()
                .starts_with("t.json line 2: malformed JSON"),
            "{}",
            rep.errors[0]
        );
    }

    #[test]
    fn concatenated_pretty_documents_and_arrays() {
        let doc = "{\n  \"a\": \"}{\"\n}{\n \"a\": 2\n}\nRecord 7\n{\"b\": [1, {\"c\": 3}]}";
        let (ev, rep) = run(doc);
        assert_eq!(ev.len(), 3, "{rep}");
        assert_eq!(ev[0].fields["a"], "}{");
        assert_eq!(ev[1].origin.line, Some(3));
        assert_eq!(ev[2].origin.line, Some(7));
        assert_eq!(rep.skipped_total(), 0);
        let (ev, rep) = run("[ {\"a\": 1},\n {\"a\": 2} ]");
        assert_eq!(ev.len(), 2, "{rep}");
        let (ev, rep) = run("{\"a\": 1}\n{\"a\":");
        assert_eq!(ev.len(), 1);
        assert_eq!(rep.skipped_total(), 1, "{rep}");
    }

    #[test]
    fn shapes_are_recognised() {
        let lines = concat!(
            r#"{"Event":{"System":{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","EventRecordID":9},"EventData":{"Image":"a.exe"}}}"#,
            "\n",
            r#"{"@timestamp":"2024-01-01T00:00:00Z","winlog":{"event_id":"4688","channel":"Security","event_data":{"NewProcessName":"C:\\x.exe","Source Name":"s"}},"host":{"name":"h"}}"#,
            "\n",
            r#"{"ts":1700000000.5,"uid":"C1","id.orig_h":"10.0.0.1","_path":"dns","query":"x.example"}"#,
            "\n",
            r#"{"msg":"hello","time":"2024-01-01 00:00:00"}"#,
            "\n",
        );
        let (ev, rep) = run(lines);
        assert_eq!(ev.len(), 4, "{rep}");
        assert_eq!(ev[0].format, Format::EvtxJson);
        assert_eq!(ev[0].origin.record_id, Some(9));
        assert_eq!(
            ev[0].logsource.category.as_deref(),
            Some("process_creation")
        );
        assert_eq!(ev[1].format, Format::Ecs);
        assert_eq!(ev[1].fields["EventID"], 4688);
        assert_eq!(ev[1].fields["Image"], "C:\\x.exe");
        assert_eq!(ev[1].fields["SourceName"], "s");
        assert_eq!(ev[1].fields["host"]["name"], "h");
        assert_eq!(
            ev[1].logsource.category.as_deref(),
            Some("process_creation")
        );
        assert!(ev[1].timestamp.is_some());
        assert_eq!(ev[2].format, Format::Zeek);
        assert_eq!(ev[2].logsource.service.as_deref(), Some("dns"));
        assert_eq!(ev[3].format, Format::Json);
        assert!(ev[3].timestamp.is_some());
    }
}
