//! IIS and other W3C extended log files.
//!
//! Why the header drives everything: W3C logs declare their columns in a `#Fields:`
//! directive, IIS writes a new one whenever logging is reconfigured or the service restarts,
//! so the same file can change columns part-way. Each data line is read with the columns of
//! the last `#Fields:` before it. Column names are the Sigma web names (`cs-method`,
//! `cs-uri-query`, `sc-status`…), with `cs(Header)` columns renamed as `data/web.toml` says
//! (`cs(User-Agent)` → `cs-user-agent`). Values are kept as written (`-` for empty, `+` for
//! spaces in IIS user agents).

use std::io::{self, BufRead};

use serde_json::{Map, Value};

use crate::ctx::Ctx;
use crate::event::{Event, Format};
use crate::mapping::Domain;
use crate::readers::Lines;

/// A column: its W3C name and, if renamed, its Sigma name.
struct Column {
    name: String,
    renamed: Option<String>,
}

pub(crate) fn read(ctx: &mut Ctx<'_>, r: &mut dyn BufRead) -> io::Result<()> {
    let mut lines = Lines::new(r, ctx.opts.max_line_bytes);
    let mut buf = Vec::new();
    let mut columns: Option<Vec<Column>> = None;
    let keep = ctx.maps.w3c_keep_original;
    while let Some(line) = lines.next_text(ctx, &mut buf)? {
        let no = lines.number;
        if line.trim().is_empty() {
            continue;
        }
        if let Some(d) = line.strip_prefix('#') {
            if let Some(f) = d.strip_prefix("Fields:") {
                columns = Some(f.split_ascii_whitespace().map(|n| column(ctx, n)).collect());
            }
            continue;
        }
        let Some(cols) = &columns else {
            ctx.skip_line(
                "W3C data before #Fields",
                no,
                "no #Fields: directive before this line",
            );
            continue;
        };
        let values: Vec<&str> = line.split_ascii_whitespace().collect();
        if values.len() != cols.len() {
            let detail = format!(
                "expected {} columns (last #Fields), found {}",
                cols.len(),
                values.len()
            );
            ctx.skip_line("W3C line has wrong number of columns", no, detail);
            continue;
        }
        let mut fields = Map::with_capacity(cols.len() + 8);
        let (mut date, mut time) = (None, None);
        for (c, v) in cols.iter().zip(&values) {
            match c.name.as_str() {
                "date" => date = Some(*v),
                "time" => time = Some(*v),
                _ => {}
            }
            if let Some(r) = &c.renamed {
                fields.insert(r.clone(), Value::String((*v).to_string()));
                if !keep {
                    continue;
                }
            }
            fields.insert(c.name.clone(), Value::String((*v).to_string()));
        }
        // W3C times are UTC.
        let timestamp = match (date, time) {
            (Some(d), Some(t)) => crate::time::parse_str(&format!("{d}T{t}Z")),
            _ => None,
        };
        let logsource = ctx.route(Domain::Web, &mut fields, None);
        let ev = Event {
            origin: ctx.origin(None, Some(no)),
            timestamp,
            format: Format::W3c,
            logsource,
            fields,
        };
        ctx.emit(ev);
    }
    Ok(())
}

fn column(ctx: &Ctx<'_>, name: &str) -> Column {
    let renamed = ctx.maps.w3c_rename.get(name).cloned().or_else(|| {
        // cs(Header) / sc(Header) / s(X) / c(X) -> prefix-header, lower case.
        let open = name.find('(')?;
        let inner = name[open + 1..].strip_suffix(')')?;
        Some(format!("{}-{}", &name[..open], inner.to_ascii_lowercase()))
    });
    Column {
        name: name.to_string(),
        renamed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::ReadOptions;

    #[test]
    fn fields_change_mid_file() {
        let log = "#Software: Microsoft Internet Information Services 10.0\n\
#Version: 1.0\n\
#Date: 2024-01-01 00:00:00\n\
#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) sc-status\n\
2024-01-01 00:00:01 10.0.0.1 GET /index.html - 80 - 10.0.0.9 Mozilla/5.0+(Windows) 200\n\
2024-01-01 00:00:02 10.0.0.1 GET /a.aspx cmd=whoami 80 - 10.0.0.9 curl/8.0 500 extra\n\
#Fields: date time cs-method cs-uri-stem cs-uri-query c-ip cs(Referer) sc-status time-taken\n\
2024-01-01 00:00:03 POST /upload.aspx - 10.0.0.7 http://evil/ 200 15\n";
        let opts = ReadOptions::default();
        let mut events = Vec::new();
        let mut out = |b: Vec<Event>| events.extend(b);
        let mut ctx = Ctx::new(
            &opts,
            "u_ex240101.log".into(),
            "u_ex240101.log".into(),
            None,
            &mut out,
        );
        read(&mut ctx, &mut log.as_bytes()).unwrap();
        let rep = ctx.finish();
        assert_eq!(events.len(), 2, "{rep}");
        assert_eq!(rep.skipped["W3C line has wrong number of columns"], 1);
        let e = &events[0];
        assert_eq!(e.fields["cs-user-agent"], "Mozilla/5.0+(Windows)");
        assert_eq!(e.fields["cs(User-Agent)"], "Mozilla/5.0+(Windows)");
        assert_eq!(e.fields["sc-status"], "200");
        assert_eq!(e.logsource.category.as_deref(), Some("webserver"));
        assert_eq!(
            e.timestamp.unwrap().to_rfc3339(),
            "2024-01-01T00:00:01+00:00"
        );
        let e = &events[1];
        assert_eq!(e.origin.line, Some(8));
        assert_eq!(e.fields["cs-method"], "POST");
        assert_eq!(e.fields["cs-referer"], "http://evil/");
        assert_eq!(e.fields["time-taken"], "15");
        assert!(e.fields.get("s-ip").is_none());
    }
}
