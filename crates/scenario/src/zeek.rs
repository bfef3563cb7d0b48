//! Zeek TSV logs of the network sensors (`conn`, `http`, `dns`).
//!
//! Why TSV with full headers: it is Zeek's default output and the headers (`#fields`,
//! `#types`) are how readers name the columns. `ts` is epoch seconds with microseconds.
//! The sensor sees the perimeter and the DMZ↔LAN segment, and the proxies' decrypted
//! HTTP (`http.log`), so the flows of the storylines are visible as they would be.

use chrono::{DateTime, Utc};

use crate::rng::Rng;
use crate::sink::{Kind, Sink, Tag};

const CONN_F: &str = "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents";
const CONN_T: &str = "time\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]";
const HTTP_F: &str = "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\ttrans_depth\tmethod\thost\turi\treferrer\tversion\tuser_agent\torigin\trequest_body_len\tresponse_body_len\tstatus_code\tstatus_msg\tinfo_code\tinfo_msg\ttags\tusername\tpassword\tproxied\torig_fuids\torig_filenames\torig_mime_types\tresp_fuids\tresp_filenames\tresp_mime_types";
const HTTP_T: &str = "time\tstring\taddr\tport\taddr\tport\tcount\tstring\tstring\tstring\tstring\tstring\tstring\tstring\tcount\tcount\tcount\tstring\tcount\tstring\tset[enum]\tstring\tstring\tset[string]\tvector[string]\tvector[string]\tvector[string]\tvector[string]\tvector[string]\tvector[string]";
const DNS_F: &str = "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\trtt\tquery\tqclass\tqclass_name\tqtype\tqtype_name\trcode\trcode_name\tAA\tTC\tRD\tRA\tZ\tanswers\tTTLs\trejected";
const DNS_T: &str = "time\tstring\taddr\tport\taddr\tport\tenum\tcount\tinterval\tstring\tcount\tstring\tcount\tstring\tcount\tstring\tbool\tbool\tbool\tbool\tcount\tvector[string]\tvector[interval]\tbool";

/// `#fields` and `#types` of a log path.
pub(crate) fn columns(path: &str) -> (&'static str, &'static str) {
    match path {
        "conn" => (CONN_F, CONN_T),
        "http" => (HTTP_F, HTTP_T),
        _ => (DNS_F, DNS_T),
    }
}

fn ts(t: DateTime<Utc>) -> String {
    format!("{}.{:06}", t.timestamp(), t.timestamp_subsec_micros())
}

/// A Zeek connection uid, and a generator for the record's other random-looking values
/// (derived from the sink's sequence, so callers need not pass their PRNG).
fn ids(s: &mut Sink) -> (String, Rng) {
    let mut r = Rng::new(s.next_id());
    (format!("C{}", r.alnum(17)), r)
}

fn local(ip: &str) -> &'static str {
    if ip.starts_with("10.") || ip.starts_with("172.16.") {
        "T"
    } else {
        "F"
    }
}

/// One connection.
#[derive(Debug, Clone)]
pub(crate) struct Conn<'a> {
    pub orig: &'a str,
    pub orig_p: u16,
    pub resp: &'a str,
    pub resp_p: u16,
    pub proto: &'a str,
    pub service: &'a str,
    pub duration: f64,
    pub orig_bytes: u64,
    pub resp_bytes: u64,
    /// `SF`, `S0`, `REJ`, `S1`…
    pub state: &'a str,
}

/// Appends a `conn.log` record; returns its uid.
pub(crate) fn conn(s: &mut Sink, t: DateTime<Utc>, c: &Conn, tag: Tag) -> String {
    let (id, _) = ids(s);
    let (hist, op, rp) = match c.state {
        "S0" => ("S", 1, 0),
        "REJ" => ("Sr", 1, 1),
        "S1" => ("ShAD", 6, 5),
        _ if c.proto == "udp" => ("Dd", 1, 1),
        _ => ("ShADadFf", 4 + c.orig_bytes / 1400, 4 + c.resp_bytes / 1400),
    };
    let dur = if c.state == "S0" || c.state == "REJ" {
        "-".to_string()
    } else {
        format!("{:.6}", c.duration)
    };
    let (ob, rb) = if c.state == "S0" || c.state == "REJ" {
        ("-".to_string(), "-".to_string())
    } else {
        (c.orig_bytes.to_string(), c.resp_bytes.to_string())
    };
    let line = format!(
        "{}\t{id}\t{}\t{}\t{}\t{}\t{}\t{}\t{dur}\t{ob}\t{rb}\t{}\t{}\t{}\t0\t{hist}\t{op}\t{}\t{rp}\t{}\t-",
        ts(t),
        c.orig,
        c.orig_p,
        c.resp,
        c.resp_p,
        c.proto,
        if c.service.is_empty() { "-" } else { c.service },
        c.state,
        local(c.orig),
        local(c.resp),
        op * 40 + c.orig_bytes,
        rp * 40 + c.resp_bytes,
    );
    s.line(
        "sensor/conn.log".into(),
        Kind::Zeek("conn"),
        "sensor",
        t,
        line,
        tag,
    );
    id
}

/// One HTTP transaction.
#[derive(Debug, Clone)]
pub(crate) struct Http<'a> {
    pub orig: &'a str,
    pub resp: &'a str,
    pub resp_p: u16,
    pub method: &'a str,
    pub host: &'a str,
    pub uri: &'a str,
    pub ua: &'a str,
    pub req_len: u64,
    pub resp_len: u64,
    pub status: u16,
    pub mime: &'a str,
}

/// Appends an `http.log` record (and its `conn.log` record, same uid).
pub(crate) fn http(s: &mut Sink, t: DateTime<Utc>, h: &Http, tag: Tag) {
    let (_, mut rr) = ids(s);
    let r = &mut rr;
    let orig_p = r.range(49152, 65535) as u16;
    let dur = 0.05 + r.f64() * (0.5 + (h.resp_len + h.req_len) as f64 / 2.0e6);
    let id = conn(
        s,
        t,
        &Conn {
            orig: h.orig,
            orig_p,
            resp: h.resp,
            resp_p: h.resp_p,
            proto: "tcp",
            service: "http",
            duration: dur,
            orig_bytes: h.req_len + 420,
            resp_bytes: h.resp_len + 310,
            state: "SF",
        },
        tag,
    );
    let msg = match h.status {
        200 => "OK",
        204 => "No Content",
        302 => "Found",
        304 => "Not Modified",
        404 => "Not Found",
        _ => "-",
    };
    let line = format!(
        "{}\t{id}\t{}\t{orig_p}\t{}\t{}\t1\t{}\t{}\t{}\t-\t1.1\t{}\t-\t{}\t{}\t{}\t{msg}\t-\t-\t(empty)\t-\t-\t-\t-\t-\t-\tF{}\t-\t{}",
        ts(t),
        h.orig,
        h.resp,
        h.resp_p,
        h.method,
        h.host,
        h.uri,
        h.ua,
        h.req_len,
        h.resp_len,
        h.status,
        r.alnum(16),
        if h.mime.is_empty() { "-" } else { h.mime },
    );
    s.line(
        "sensor/http.log".into(),
        Kind::Zeek("http"),
        "sensor",
        t,
        line,
        tag,
    );
}

/// Appends a `dns.log` record (A query answered with `answer`, or NXDOMAIN when empty).
pub(crate) fn dns(
    s: &mut Sink,
    t: DateTime<Utc>,
    client: &str,
    server: &str,
    query: &str,
    answer: &str,
    tag: Tag,
) {
    let (uid, mut rr) = ids(s);
    let r = &mut rr;
    let (rcode, name, answers, ttls) = if answer.is_empty() {
        (3, "NXDOMAIN", "-".to_string(), "-".to_string())
    } else {
        (0, "NOERROR", answer.to_string(), "300.000000".to_string())
    };
    let line = format!(
        "{}\t{}\t{client}\t{}\t{server}\t53\tudp\t{}\t{:.6}\t{query}\t1\tC_INTERNET\t1\tA\t{rcode}\t{name}\tF\tF\tT\tT\t0\t{answers}\t{ttls}\tF",
        ts(t),
        uid,
        r.range(49152, 65535),
        r.below(65535),
        0.0005 + r.f64() * 0.02,
    );
    s.line(
        "sensor/dns.log".into(),
        Kind::Zeek("dns"),
        "sensor",
        t,
        line,
        tag,
    );
}
