//! Linux syslog: RFC 3164 (`auth.log`, `messages`, `syslog`), RFC 5424, and the RFC 3339
//! timestamps modern rsyslog writes by default.
//!
//! Why these fields: SigmaHQ's Linux service rules mostly match keywords in the message, a
//! few match fields split out of it (sudo's `USER`). So each line gives `host`, `program`,
//! `pid`, `message` (and, when the line has them, `facility`, `severity`, `msgid`,
//! `structured_data`), and the per-program patterns of `data/linux.toml` split known
//! messages (sudo, sshd logins) into fields. The log source comes from the program and the
//! file name (`auth.log` → service `auth`), see `data/linux.toml`.
//!
//! RFC 3164 lines have no year: the file's modification time gives it (see
//! `time::parse_syslog_3164`).

use std::io::{self, BufRead};
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use crate::ctx::Ctx;
use crate::event::{Event, Format};
use crate::mapping::Domain;
use crate::readers::Lines;

static RFC3164: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:<(\d{1,3})>)?((?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d) (\S+) ?(.*)$")
        .unwrap()
});
static ISO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:<(\d{1,3})>)?(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)) (\S+) ?(.*)$")
        .unwrap()
});
static RFC5424: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^<(\d{1,3})>(\d{1,2}) (\S+) (\S+) (\S+) (\S+) (\S+) ?(.*)$").unwrap()
});
static TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([^\s:\[\]]+)(?:\[([^\]]*)\])?: ?(.*)$").unwrap());

const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];
const SEVERITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

pub(crate) fn read(ctx: &mut Ctx<'_>, r: &mut dyn BufRead) -> io::Result<()> {
    let mut lines = Lines::new(r, ctx.opts.max_line_bytes);
    let mut buf = Vec::new();
    let year = ctx.year_hint();
    let reference = ctx.mtime;
    let maps = ctx.maps.clone();
    while let Some(line) = lines.next_text(ctx, &mut buf)? {
        let no = lines.number;
        if line.trim().is_empty() {
            continue;
        }
        let Some((mut fields, mut timestamp)) = parse(&line, year, reference) else {
            let preview: String = line.chars().take(60).collect();
            ctx.skip_line("not a syslog line", no, format!("{preview:?}"));
            continue;
        };
        // Sysmon for Linux writes each event as Windows-style XML in the message: flatten it
        // like a Windows event (Image, CommandLine…), keeping the syslog host and program.
        if let (Some(Value::String(prog)), Some(Value::String(msg))) =
            (fields.get("program"), fields.get("message"))
            && prog.eq_ignore_ascii_case("sysmon")
            && msg.trim_start().starts_with("<Event")
            && let Some(mut ev) = crate::readers::xml::flatten_str(msg)
        {
            crate::windows::integer_fields(&mut ev, &maps.windows_integer_fields);
            for k in ["host", "program", "pid"] {
                if let Some(v) = fields.get(k)
                    && !ev.contains_key(k)
                {
                    ev.insert(k.to_string(), v.clone());
                }
            }
            if let Some(t) = ev
                .get("TimeCreated_SystemTime")
                .and_then(crate::time::from_value)
            {
                timestamp = Some(t);
            }
            fields = ev;
        }
        // Split known messages into fields.
        if let (Some(Value::String(prog)), Some(Value::String(msg))) =
            (fields.get("program"), fields.get("message"))
        {
            let prog = prog.to_ascii_lowercase();
            let mut extra = Vec::new();
            for (programs, re) in &maps.syslog_extract {
                if programs.contains(&prog)
                    && let Some(c) = re.captures(msg)
                {
                    for name in re.capture_names().flatten() {
                        if let Some(m) = c.name(name) {
                            extra.push((name.to_string(), m.as_str().trim().to_string()));
                        }
                    }
                    break;
                }
            }
            for (k, v) in extra {
                if !v.is_empty() && !fields.contains_key(&k) {
                    fields.insert(k, Value::String(v));
                }
            }
        }
        let logsource = ctx.route(Domain::Linux, &mut fields, None);
        let ev = Event {
            origin: ctx.origin(None, Some(no)),
            timestamp,
            format: Format::Syslog,
            logsource,
            fields,
        };
        ctx.emit(ev);
    }
    Ok(())
}

type Parsed = (Map<String, Value>, Option<chrono::DateTime<chrono::Utc>>);

/// Parses one line in any of the three shapes.
fn parse(
    line: &str,
    year: i32,
    reference: Option<chrono::DateTime<chrono::Utc>>,
) -> Option<Parsed> {
    let mut f = Map::with_capacity(10);
    if let Some(c) = RFC5424.captures(line) {
        let (pri, ts, host, app, procid, msgid, rest) =
            (&c[1], &c[3], &c[4], &c[5], &c[6], &c[7], &c[8]);
        priority(&mut f, pri);
        let timestamp = if ts == "-" {
            None
        } else {
            crate::time::parse_str(ts)
        };
        put_nil(&mut f, "host", host);
        put_nil(&mut f, "program", app);
        if procid != "-" {
            f.insert("pid".into(), pid(procid));
        }
        put_nil(&mut f, "msgid", msgid);
        let (sd, msg) = structured_data(rest);
        put_nil(&mut f, "structured_data", sd);
        let msg = msg.strip_prefix('\u{feff}').unwrap_or(msg);
        f.insert("message".into(), Value::String(msg.to_string()));
        return Some((f, timestamp));
    }
    let (pri, ts, host, rest, timestamp) = if let Some(c) = RFC3164.captures(line) {
        let t = crate::time::parse_syslog_3164(c.get(2)?.as_str(), year, reference);
        (c.get(1), c.get(2)?, c.get(3)?, c.get(4)?, t)
    } else if let Some(c) = ISO.captures(line) {
        let t = crate::time::parse_str(c.get(2)?.as_str());
        (c.get(1), c.get(2)?, c.get(3)?, c.get(4)?, t)
    } else {
        return None;
    };
    let _ = ts;
    if let Some(p) = pri {
        priority(&mut f, p.as_str());
    }
    f.insert("host".into(), Value::String(host.as_str().to_string()));
    let rest = rest.as_str();
    match TAG.captures(rest) {
        Some(t) => {
            f.insert("program".into(), Value::String(t[1].to_string()));
            if let Some(p) = t.get(2) {
                f.insert("pid".into(), pid(p.as_str()));
            }
            f.insert("message".into(), Value::String(t[3].to_string()));
        }
        None => {
            f.insert("message".into(), Value::String(rest.to_string()));
        }
    }
    Some((f, timestamp))
}

fn put_nil(f: &mut Map<String, Value>, k: &str, v: &str) {
    if v != "-" && !v.is_empty() {
        f.insert(k.into(), Value::String(v.to_string()));
    }
}

fn pid(s: &str) -> Value {
    s.parse::<u64>()
        .map(|n| Value::Number(n.into()))
        .unwrap_or_else(|_| Value::String(s.to_string()))
}

fn priority(f: &mut Map<String, Value>, pri: &str) {
    if let Ok(p) = pri.parse::<usize>() {
        if let Some(fac) = FACILITIES.get(p / 8) {
            f.insert("facility".into(), Value::String((*fac).into()));
        }
        f.insert("severity".into(), Value::String(SEVERITIES[p % 8].into()));
    }
}

/// Splits RFC 5424 STRUCTURED-DATA (`-` or `[id k="v"]…`) from the message.
fn structured_data(rest: &str) -> (&str, &str) {
    if let Some(msg) = rest.strip_prefix('-') {
        return ("-", msg.strip_prefix(' ').unwrap_or(msg));
    }
    let b = rest.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i] == b'[' {
        let mut esc = false;
        let mut j = i + 1;
        while j < b.len() {
            match b[j] {
                _ if esc => esc = false,
                b'\\' => esc = true,
                b']' => break,
                _ => {}
            }
            j += 1;
        }
        i = (j + 1).min(b.len());
    }
    let (sd, msg) = rest.split_at(i);
    (sd, msg.strip_prefix(' ').unwrap_or(msg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::ReadOptions;

    fn run(name: &str, log: &str) -> (Vec<Event>, crate::FileReport) {
        let opts = ReadOptions::default();
        let mut events = Vec::new();
        let mut out = |b: Vec<Event>| events.extend(b);
        let mtime = crate::time::parse_str("2024-03-02T00:00:00Z");
        let mut ctx = Ctx::new(&opts, name.into(), name.into(), mtime, &mut out);
        read(&mut ctx, &mut log.as_bytes()).unwrap();
        let rep = ctx.finish();
        (events, rep)
    }

    #[test]
    fn auth_log() {
        let (ev, rep) = run(
            "auth.log",
            concat!(
                "Mar  1 10:00:00 web01 sshd[1234]: Failed password for invalid user admin from 203.0.113.5 port 52311 ssh2\n",
                "Mar  1 10:00:05 web01 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/bash\n",
                "Mar  1 10:01:00 web01 CRON[99]: pam_unix(cron:session): session opened for user root\n",
                "not syslog at all\n",
            ),
        );
        assert_eq!(ev.len(), 3, "{rep}");
        assert_eq!(rep.skipped["not a syslog line"], 1);
        let e = &ev[0];
        assert_eq!(e.fields["host"], "web01");
        assert_eq!(e.fields["program"], "sshd");
        assert_eq!(e.fields["pid"], 1234);
        assert_eq!(e.fields["src_ip"], "203.0.113.5");
        assert_eq!(e.fields["user"], "admin");
        assert_eq!(e.logsource.service.as_deref(), Some("sshd"));
        assert!(e.logsource.matches(Some("linux"), None, Some("auth")));
        assert_eq!(
            e.timestamp.unwrap().to_rfc3339(),
            "2024-03-01T10:00:00+00:00"
        );
        assert_eq!(ev[1].fields["USER"], "root");
        assert_eq!(ev[1].fields["COMMAND"], "/bin/bash");
        assert_eq!(ev[1].fields["SUDO_USER"], "alice");
        assert_eq!(ev[1].logsource.service.as_deref(), Some("sudo"));
        assert_eq!(ev[2].logsource.service.as_deref(), Some("cron"));
    }

    #[test]
    fn rfc5424_and_iso() {
        let (ev, rep) = run(
            "messages",
            concat!(
                "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"App\\]\"] An application event\n",
                "<34>1 2003-10-11T22:14:15.003Z host su - - - 'su root' failed\n",
                "2024-06-14T10:00:00.123456+02:00 web01 systemd[1]: Started session.\n",
            ),
        );
        assert_eq!(ev.len(), 3, "{rep}");
        assert_eq!(ev[0].fields["facility"], "local4");
        assert_eq!(ev[0].fields["severity"], "notice");
        assert_eq!(ev[0].fields["msgid"], "ID47");
        assert_eq!(
            ev[0].fields["structured_data"],
            "[exampleSDID@32473 iut=\"3\" eventSource=\"App\\]\"]"
        );
        assert_eq!(ev[0].fields["message"], "An application event");
        assert_eq!(ev[1].fields["facility"], "auth");
        assert!(ev[1].logsource.matches(None, None, Some("auth")));
        assert_eq!(ev[1].fields["message"], "'su root' failed");
        assert_eq!(ev[2].fields["program"], "systemd");
        assert_eq!(
            ev[2].timestamp.unwrap().to_rfc3339(),
            "2024-06-14T08:00:00.123456+00:00"
        );
        assert!(ev[2].logsource.matches(Some("linux"), None, Some("syslog")));
    }

    #[test]
    fn sysmon_for_linux() {
        let line = "Oct 10 13:14:15 web01 sysmon: <Event><System><Provider Name=\"Linux-Sysmon\" Guid=\"{ff032593-a8d3-4f13-b0d6-01fc615a0f97}\"/><EventID>1</EventID><Version>5</Version><Level>4</Level><Task>1</Task><Opcode>0</Opcode><Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime=\"2024-10-10T13:14:15.123456Z\"/><EventRecordID>42</EventRecordID><Correlation/><Execution ProcessID=\"812\" ThreadID=\"812\"/><Channel>Linux-Sysmon/Operational</Channel><Computer>web01</Computer><Security UserId=\"0\"/></System><EventData><Data Name=\"RuleName\">-</Data><Data Name=\"Image\">/usr/bin/curl</Data><Data Name=\"CommandLine\">curl http://x/a.sh</Data><Data Name=\"ParentImage\">/bin/bash</Data></EventData></Event>\n";
        let (ev, rep) = run("syslog", line);
        assert_eq!(ev.len(), 1, "{rep}");
        let e = &ev[0];
        assert_eq!(e.fields["Image"], "/usr/bin/curl");
        assert_eq!(e.fields["EventID"], 1);
        assert_eq!(e.fields["host"], "web01");
        assert_eq!(e.logsource.category.as_deref(), Some("process_creation"));
        assert!(
            e.logsource
                .matches(Some("linux"), Some("process_creation"), None)
        );
        assert_eq!(
            e.timestamp.unwrap().to_rfc3339(),
            "2024-10-10T13:14:15.123456+00:00"
        );
    }
}
