//! Linux syslog lines (`auth.log`) and auditd records carried in syslog.
//!
//! Why RFC 3339 timestamps (`2025-03-11T02:30:01.000000+00:00 host sshd[2231]: …`): it is
//! rsyslog's `RSYSLOG_FileFormat`, the default of Debian 12 and later, and unlike the RFC 3164
//! `Mar 11 02:30:01` form it carries the year. A file's modification time (where readers
//! take the year of RFC 3164 lines from) does not survive a git checkout of the committed
//! example, so the year must be in the line.

use chrono::{DateTime, Utc};

use crate::sink::{Kind, Sink, Tag};

/// Appends a line to `hosts/<host>/<file>`; `hostname` is the lower-case short name.
#[allow(clippy::too_many_arguments)]
pub(crate) fn line(
    s: &mut Sink,
    host: &str,
    file: &str,
    t: DateTime<Utc>,
    program: &str,
    pid: u32,
    msg: &str,
    tag: Tag,
) {
    let hostname = host.to_ascii_lowercase();
    let text = if pid == 0 {
        format!("{} {hostname} {program}: {msg}", stamp(t))
    } else {
        format!("{} {hostname} {program}[{pid}]: {msg}", stamp(t))
    };
    s.line(
        format!("hosts/{host}/{file}"),
        Kind::Syslog,
        host,
        t,
        text,
        tag,
    );
}

/// rsyslog's `RSYSLOG_FileFormat` time: RFC 3339 with microseconds and the UTC offset.
fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}
