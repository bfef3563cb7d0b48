//! Zeek logs: the TSV format with `#separator`/`#fields`/`#types` headers, and Zeek JSON.
//!
//! Why typed values: the `#types` header says which columns are times, counts, addresses,
//! sets…, so values come out as JSON numbers, booleans and lists where Zeek meant them, and
//! the unset marker (`-`) becomes `null`. Field names stay Zeek's own (`id.orig_h`,
//! `query`, `resp_mime_types`), which is what SigmaHQ's Zeek rules use. The service is the
//! log path (`dns`, `http`, `conn`…) from `#path`, `_path` or the file name.

use std::io::{self, BufRead};

use serde_json::{Map, Number, Value};

use crate::ctx::Ctx;
use crate::readers::Lines;

/// Reads a Zeek log (TSV or JSON).
pub(crate) fn read(ctx: &mut Ctx<'_>, r: &mut dyn BufRead) -> io::Result<()> {
    let file_path = path_from_file_name(&ctx.file_name);
    // Zeek JSON?
    let first = r
        .fill_buf()?
        .iter()
        .copied()
        .find(|c| !c.is_ascii_whitespace());
    if first == Some(b'{') || first == Some(b'[') {
        return crate::readers::json::read(ctx, r, file_path.as_deref());
    }
    let mut lines = Lines::new(r, ctx.opts.max_line_bytes);
    let mut buf = Vec::new();
    let mut sep = "\t".to_string();
    let mut set_sep = ",".to_string();
    let mut empty = "(empty)".to_string();
    let mut unset = "-".to_string();
    let mut path = file_path;
    let mut names: Vec<String> = Vec::new();
    let mut types: Vec<String> = Vec::new();
    while let Some(line) = lines.next_text(ctx, &mut buf)? {
        let no = lines.number;
        if line.is_empty() {
            continue;
        }
        if let Some(d) = line.strip_prefix('#') {
            let (key, val) = match d.split_once(sep.as_str()) {
                Some(kv) => kv,
                None => d.split_once(' ').unwrap_or((d, "")),
            };
            match key {
                "separator" => sep = unescape(val.trim()),
                "set_separator" => set_sep = val.to_string(),
                "empty_field" => empty = val.to_string(),
                "unset_field" => unset = val.to_string(),
                "path" => path = Some(val.to_string()),
                "fields" => names = val.split(sep.as_str()).map(str::to_string).collect(),
                "types" => types = val.split(sep.as_str()).map(str::to_string).collect(),
                _ => {}
            }
            continue;
        }
        if names.is_empty() {
            ctx.skip_line(
                "Zeek data before #fields",
                no,
                "no #fields header before this line",
            );
            continue;
        }
        let values: Vec<&str> = line.split(sep.as_str()).collect();
        if values.len() != names.len() {
            let detail = format!(
                "expected {} columns (#fields), found {}",
                names.len(),
                values.len()
            );
            ctx.skip_line("Zeek line has wrong number of columns", no, detail);
            continue;
        }
        let mut fields = Map::with_capacity(names.len());
        for (i, (n, v)) in names.iter().zip(&values).enumerate() {
            let ty = types.get(i).map_or("string", String::as_str);
            fields.insert(n.clone(), typed(v, ty, &set_sep, &empty, &unset));
        }
        let ev = ctx.env().zeek(fields, path.as_deref(), Some(no));
        ctx.emit(ev);
    }
    Ok(())
}

/// `dns.log`, `dns.00:00:00-01:00:00.log` → `dns`.
fn path_from_file_name(name: &str) -> Option<String> {
    if !name.contains(".log") {
        return None;
    }
    let stem = name.split('.').next()?;
    (!stem.is_empty()).then(|| stem.to_string())
}

/// `\x09` → tab.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("\\x") {
        out.push_str(&rest[..i]);
        let hex = rest.get(i + 2..i + 4);
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(b) => {
                out.push(b as char);
                rest = &rest[i + 4..];
            }
            None => {
                out.push_str("\\x");
                rest = &rest[i + 2..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn typed(v: &str, ty: &str, set_sep: &str, empty: &str, unset: &str) -> Value {
    if v == unset {
        return Value::Null;
    }
    if let Some(inner) = ty
        .strip_prefix("set[")
        .or_else(|| ty.strip_prefix("vector["))
    {
        let inner = inner.trim_end_matches(']');
        if v == empty {
            return Value::Array(Vec::new());
        }
        return Value::Array(
            v.split(set_sep)
                .map(|x| typed(x, inner, set_sep, empty, unset))
                .collect(),
        );
    }
    if v == empty {
        return Value::String(String::new());
    }
    match ty {
        "count" | "port" => v.parse::<u64>().map(|n| Value::Number(n.into())).ok(),
        "int" => v.parse::<i64>().map(|n| Value::Number(n.into())).ok(),
        "time" | "interval" | "double" => v
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number),
        "bool" => match v {
            "T" => Some(Value::Bool(true)),
            "F" => Some(Value::Bool(false)),
            _ => None,
        },
        _ => None,
    }
    .unwrap_or_else(|| Value::String(v.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
    use crate::options::ReadOptions;

    #[test]
    fn tsv_with_types() {
        let log = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n\
#fields\tts\tuid\tid.orig_h\tid.resp_p\tquery\tanswers\tAA\trtt\n\
#types\ttime\tstring\taddr\tport\tstring\tvector[string]\tbool\tinterval\n\
1700000000.123456\tCx1\t10.0.0.5\t53\tevil.example\t1.2.3.4,5.6.7.8\tF\t-\n\
1700000001.0\tCx2\t10.0.0.5\t53\tb.example\t(empty)\tT\n";
        let opts = ReadOptions::default();
        let mut events = Vec::new();
        let mut out = |b: Vec<Event>| events.extend(b);
        let mut ctx = Ctx::new(&opts, "x/dns.log".into(), "dns.log".into(), None, &mut out);
        read(&mut ctx, &mut log.as_bytes()).unwrap();
        let rep = ctx.finish();
        assert_eq!(events.len(), 1, "{rep}");
        assert_eq!(rep.skipped["Zeek line has wrong number of columns"], 1);
        let e = &events[0];
        assert_eq!(e.fields["id.resp_p"], 53);
        assert_eq!(
            e.fields["answers"],
            serde_json::json!(["1.2.3.4", "5.6.7.8"])
        );
        assert_eq!(e.fields["AA"], false);
        assert_eq!(e.fields["rtt"], Value::Null);
        assert_eq!(e.logsource.product.as_deref(), Some("zeek"));
        assert_eq!(e.logsource.service.as_deref(), Some("dns"));
        assert_eq!(e.timestamp.unwrap().timestamp(), 1_700_000_000);
        assert_eq!(
            path_from_file_name("conn.00:00:00-01:00:00.log"),
            Some("conn".into())
        );
    }
}
