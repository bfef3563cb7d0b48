//! Apache and Nginx access logs (common and combined formats).
//!
//! Why W3C names: Sigma web rules are written against `category: webserver` with the W3C
//! column names (`cs-method`, `cs-uri-query`, `sc-status`, `cs-user-agent`…), whichever
//! server wrote the log. So each column of `%h %l %u %t "%r" %>s %b "%{Referer}i"
//! "%{User-agent}i"` gets the name `data/web.toml` gives it, and the request line is split
//! into method, URI (stem and query) and protocol. Lines that do not have this shape are
//! counted, not guessed at.

use std::io::{self, BufRead};

use serde_json::{Map, Value};

use crate::ctx::Ctx;
use crate::event::{Event, Format};
use crate::mapping::Domain;
use crate::readers::Lines;
use crate::sniff::ACCESS_LOG;

pub(crate) fn read(ctx: &mut Ctx<'_>, r: &mut dyn BufRead) -> io::Result<()> {
    let mut lines = Lines::new(r, ctx.opts.max_line_bytes);
    let mut buf = Vec::new();
    let maps = ctx.maps.clone();
    let names = &maps.combined;
    while let Some(line) = lines.next_text(ctx, &mut buf)? {
        let no = lines.number;
        if line.trim().is_empty() {
            continue;
        }
        let Some(c) = ACCESS_LOG.captures(&line) else {
            let preview: String = line.chars().take(60).collect();
            ctx.skip_line("not an access log line", no, format!("{preview:?}"));
            continue;
        };
        let mut fields = Map::with_capacity(16);
        let mut set = |col: &str, v: &str| {
            fields.insert(names.get(col).to_string(), Value::String(v.to_string()));
        };
        for col in ["client", "ident", "user", "time", "request"] {
            set(col, &c[col]);
        }
        let request = &c["request"];
        let mut parts = request.splitn(3, ' ');
        if let (Some(method), Some(uri), Some(proto)) = (parts.next(), parts.next(), parts.next()) {
            set("method", method);
            set("uri", uri);
            match uri.split_once('?') {
                Some((stem, query)) => {
                    set("stem", stem);
                    set("query", query);
                }
                None => set("stem", uri),
            }
            set("protocol", proto);
        }
        set("status", &c["status"]);
        set("bytes", &c["bytes"]);
        if let (Some(re), Some(ag)) = (c.name("referer"), c.name("agent")) {
            set("referer", re.as_str());
            set("agent", ag.as_str());
        }
        let extra = c["extra"].trim();
        if !extra.is_empty() {
            set("extra", extra);
        }
        let timestamp = crate::time::parse_clf(&c["time"]);
        let logsource = ctx.route(Domain::Web, &mut fields, None);
        let ev = Event {
            origin: ctx.origin(None, Some(no)),
            timestamp,
            format: Format::Apache,
            logsource,
            fields,
        };
        ctx.emit(ev);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::ReadOptions;

    #[test]
    fn combined_and_common() {
        let log = concat!(
            "10.1.1.1 - - [10/Oct/2023:13:55:36 -0700] \"GET /shell.php?cmd=id HTTP/1.1\" 200 2326 \"http://x/\" \"curl/8.0\"\n",
            "10.1.1.2 - bob [10/Oct/2023:13:55:37 +0000] \"POST /login HTTP/1.0\" 302 -\n",
            "garbage line\n",
            "10.1.1.3 - - [10/Oct/2023:13:55:38 +0000] \"\\x16\\x03\\x01\" 400 157 \"-\" \"-\"\n",
        );
        let opts = ReadOptions::default();
        let mut events = Vec::new();
        let mut out = |b: Vec<Event>| events.extend(b);
        let mut ctx = Ctx::new(
            &opts,
            "access.log".into(),
            "access.log".into(),
            None,
            &mut out,
        );
        read(&mut ctx, &mut log.as_bytes()).unwrap();
        let rep = ctx.finish();
        assert_eq!(events.len(), 3, "{rep}");
        assert_eq!(rep.skipped["not an access log line"], 1);
        let e = &events[0];
        assert_eq!(e.fields["c-ip"], "10.1.1.1");
        assert_eq!(e.fields["cs-method"], "GET");
        assert_eq!(e.fields["cs-uri-stem"], "/shell.php");
        assert_eq!(e.fields["cs-uri-query"], "cmd=id");
        assert_eq!(e.fields["sc-status"], "200");
        assert_eq!(e.fields["cs-user-agent"], "curl/8.0");
        assert_eq!(e.fields["cs-referer"], "http://x/");
        assert_eq!(e.logsource.category.as_deref(), Some("webserver"));
        assert_eq!(
            e.timestamp.unwrap().to_rfc3339(),
            "2023-10-10T20:55:36+00:00"
        );
        assert_eq!(events[1].fields["cs-username"], "bob");
        assert!(events[1].fields.get("cs-user-agent").is_none());
        assert_eq!(events[2].fields["cs-request"], "\\x16\\x03\\x01");
        assert!(events[2].fields.get("cs-method").is_none());
    }
}
