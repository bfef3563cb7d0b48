//! IIS W3C extended logs and Tomcat (Apache combined) access logs.
//!
//! Why these columns: `sc-bytes`/`cs-bytes` are what shows the exfiltration (the research
//! file asks for them), and `#Fields` is the default IIS set plus those two and `s-computername` (so every
//! request names the server that logged it), so tiaki's W3C
//! reader and SigmaHQ's `webserver` rules see their usual names. IIS writes one file per UTC
//! day (`u_exYYMMDD.log`); Tomcat one per day too.

use chrono::{DateTime, Utc};

use crate::sink::{Kind, Sink, Tag};

/// The `#Fields` directive of every IIS log written.
pub(crate) const FIELDS: &str = "date time s-computername s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status sc-bytes cs-bytes time-taken";

/// One IIS request.
#[derive(Debug, Clone)]
pub(crate) struct Req<'a> {
    pub method: &'a str,
    pub stem: &'a str,
    pub query: &'a str,
    pub user: &'a str,
    pub client: &'a str,
    pub ua: &'a str,
    pub referer: &'a str,
    pub status: u16,
    pub sc_bytes: u64,
    pub cs_bytes: u64,
    pub taken: u64,
}

/// Replaces spaces by `+`, as IIS logs user agents; empty becomes `-`.
fn w3c_field(s: &str) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s.replace(' ', "+")
    }
}

/// Appends one request to the day's log of `host` (s-ip is the host's own address).
pub(crate) fn iis(s: &mut Sink, host: &str, s_ip: &str, t: DateTime<Utc>, q: &Req, tag: Tag) {
    let path = format!("hosts/{host}/iis/u_ex{}.log", t.format("%y%m%d"));
    let line = format!(
        "{} {} {} {} {} {} 443 {} {} {} {} {} 0 0 {} {} {}",
        t.format("%Y-%m-%d %H:%M:%S"),
        host,
        s_ip,
        q.method,
        q.stem,
        w3c_field(q.query),
        w3c_field(q.user),
        q.client,
        w3c_field(q.ua),
        w3c_field(q.referer),
        q.status,
        q.sc_bytes,
        q.cs_bytes,
        q.taken
    );
    s.line(path, Kind::W3c, host, t, line, tag);
}

/// Appends one request to the day's Tomcat access log of `host` (Apache combined).
#[allow(clippy::too_many_arguments)]
pub(crate) fn tomcat(
    s: &mut Sink,
    host: &str,
    t: DateTime<Utc>,
    client: &str,
    user: &str,
    request: &str,
    status: u16,
    bytes: u64,
    referer: &str,
    ua: &str,
    tag: Tag,
) {
    let path = format!(
        "hosts/{host}/tomcat/localhost_access_log.{}.txt",
        t.format("%Y-%m-%d")
    );
    let line = format!(
        "{client} - {} [{}] \"{request}\" {status} {bytes} \"{}\" \"{}\"",
        if user.is_empty() { "-" } else { user },
        t.format("%d/%b/%Y:%H:%M:%S +0000"),
        if referer.is_empty() { "-" } else { referer },
        if ua.is_empty() { "-" } else { ua },
    );
    s.line(path, Kind::Apache, host, t, line, tag);
}
