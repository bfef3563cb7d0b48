//! Windows event records in the shape `evtx_dump -o jsonl` writes them.
//!
//! Why this shape: it is what tiaki's JSON reader flattens exactly like EVTX, and it keeps
//! the real provider names, GUIDs and channels, which is what Sigma log-source routing keys
//! on. Builders below fill the standard `EventData` field names of each event id, so SigmaHQ
//! rules see what they would see on a real host.

// Builders take the event's own fields as arguments, like the event does.
#![allow(clippy::too_many_arguments)]

use chrono::{DateTime, Utc};

use crate::net::ENV;
use crate::rng::{Rng, fake_sha256};
use crate::sink::{Sink, Tag, WinRec};

/// A Windows event log channel written as one file per host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channel {
    Security,
    Sysmon,
    PowerShell,
    System,
    Firewall,
    /// TerminalServices-RemoteConnectionManager/Operational (1149).
    TsRcm,
    /// TerminalServices-LocalSessionManager/Operational (21/22/25).
    TsLsm,
    /// Application (ESENT).
    Application,
    /// TaskScheduler/Operational.
    TaskScheduler,
}

impl Channel {
    /// File name under `hosts/<HOST>/`.
    pub(crate) fn file(self) -> &'static str {
        match self {
            Channel::Security => "Security.jsonl",
            Channel::Sysmon => "Sysmon.jsonl",
            Channel::PowerShell => "PowerShell.jsonl",
            Channel::System => "System.jsonl",
            Channel::Firewall => "Firewall.jsonl",
            Channel::TsRcm => "TerminalServices.jsonl",
            Channel::TsLsm => "LocalSessionManager.jsonl",
            Channel::Application => "Application.jsonl",
            Channel::TaskScheduler => "TaskScheduler.jsonl",
        }
    }

    /// The `Channel` element.
    fn name(self) -> &'static str {
        match self {
            Channel::Security => "Security",
            Channel::Sysmon => "Microsoft-Windows-Sysmon/Operational",
            Channel::PowerShell => "Microsoft-Windows-PowerShell/Operational",
            Channel::System => "System",
            Channel::Firewall => {
                "Microsoft-Windows-Windows Firewall With Advanced Security/Firewall"
            }
            Channel::TsRcm => {
                "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational"
            }
            Channel::TsLsm => "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational",
            Channel::Application => "Application",
            Channel::TaskScheduler => "Microsoft-Windows-TaskScheduler/Operational",
        }
    }

    /// Default provider name and GUID.
    fn provider(self) -> (&'static str, &'static str) {
        match self {
            Channel::Security => (
                "Microsoft-Windows-Security-Auditing",
                "54849625-5478-4994-A5BA-3E3B0328C30D",
            ),
            Channel::Sysmon => (
                "Microsoft-Windows-Sysmon",
                "5770385F-C22A-43E0-BF4C-06F5698FFBD9",
            ),
            Channel::PowerShell => (
                "Microsoft-Windows-PowerShell",
                "A0C1853B-5C40-4B15-8766-3CF1C58F985A",
            ),
            Channel::System => SCM,
            Channel::Firewall => (
                "Microsoft-Windows-Windows Firewall With Advanced Security",
                "D1BC9AFF-2ABF-4D71-9146-ECB2A986EB85",
            ),
            Channel::TsRcm => (
                "Microsoft-Windows-TerminalServices-RemoteConnectionManager",
                "C76BAA63-AE81-421C-B425-340B4B24157F",
            ),
            Channel::TsLsm => (
                "Microsoft-Windows-TerminalServices-LocalSessionManager",
                "5D896912-022D-40AA-A3A8-4FA5515C76D7",
            ),
            Channel::Application => ("ESENT", "478EA8A8-00BE-4BA6-8E75-8B9DC7DB9F78"),
            Channel::TaskScheduler => (
                "Microsoft-Windows-TaskScheduler",
                "DE7B24EA-73C8-4A09-985D-5BDADCFA9017",
            ),
        }
    }

    /// The process id that writes the channel (`Execution/ProcessID`).
    fn writer_pid(self) -> u32 {
        match self {
            Channel::Security => 688,
            Channel::Sysmon => 2988,
            Channel::PowerShell => 5120,
            Channel::System => 672,
            Channel::Firewall => 2412,
            Channel::TsRcm | Channel::TsLsm => 1104,
            Channel::Application => 3340,
            Channel::TaskScheduler => 1468,
        }
    }
}

/// Service Control Manager, the provider of System 7045.
pub(crate) const SCM: (&str, &str) = (
    "Service Control Manager",
    "555908D1-A6D7-4695-8E1E-26931D2012F4",
);

/// Fields that evtx_dump renders as JSON numbers.
const NUMERIC: &[&str] = &[
    "ProcessId",
    "ParentProcessId",
    "TerminalSessionId",
    "LogonType",
    "SourcePort",
    "DestinationPort",
    "SourceProcessId",
    "TargetProcessId",
    "SourceThreadId",
    "KeyLength",
    "MessageNumber",
    "MessageTotal",
];

/// The FQDN of a host (`PDO-WEB01.pdo.example`).
pub(crate) fn fqdn(host: &str) -> String {
    match ENV.hosts.iter().find(|h| h.name == host) {
        Some(h) => format!("{}.{}", h.name, ENV.domain(&h.domain).fqdn),
        None => host.to_string(),
    }
}

/// Appends `s` as a JSON string.
pub(crate) fn json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => {
                let mut b = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// Renders one record as a JSON line.
pub(crate) fn render(
    out: &mut Vec<u8>,
    ch: Channel,
    computer: &str,
    t: DateTime<Utc>,
    record_id: u64,
    w: &WinRec,
) {
    let (pname, pguid) = w.provider.unwrap_or(ch.provider());
    let level = if ch == Channel::Security { 0 } else { 4 };
    let keywords = match (ch, w.id) {
        (Channel::Security, 4625) => "0x8010000000000000",
        (Channel::Security, _) => "0x8020000000000000",
        (Channel::System, _) => "0x8080000000000000",
        _ => "0x8000000000000000",
    };
    out.extend_from_slice(br##"{"Event":{"#attributes":{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"},"System":{"Provider":{"#attributes":{"Name":"##);
    json_str(out, pname);
    out.extend_from_slice(br#","Guid":""#);
    out.extend_from_slice(pguid.as_bytes());
    out.extend_from_slice(b"\"");
    if pname == SCM.0 {
        out.extend_from_slice(br#","EventSourceName":"Service Control Manager""#);
    }
    out.extend_from_slice(
        format!(
            r##"}}}},"EventID":{},"Version":{},"Level":{},"Task":{},"Opcode":0,"Keywords":"{}","TimeCreated":{{"#attributes":{{"SystemTime":"{}"}}}},"EventRecordID":{},"Correlation":null,"Execution":{{"#attributes":{{"ProcessID":{},"ThreadID":{}}}}},"Channel":"##,
            w.id,
            if ch == Channel::Sysmon { 5 } else { 0 },
            level,
            if ch == Channel::Sysmon { w.id } else { 0 },
            keywords,
            t.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
            record_id,
            ch.writer_pid(),
            ch.writer_pid() + 4 + (record_id % 97) as u32 * 4,
        )
        .as_bytes(),
    );
    json_str(out, ch.name());
    out.extend_from_slice(br#","Computer":"#);
    json_str(out, computer);
    match &w.sid {
        Some(sid) => {
            out.extend_from_slice(br##","Security":{"#attributes":{"UserID":"##);
            json_str(out, sid);
            out.extend_from_slice(b"}}}");
        }
        None => out.extend_from_slice(br#","Security":null}"#),
    }
    match w.userdata {
        Some(name) => {
            out.extend_from_slice(br#","UserData":{"#);
            json_str(out, name);
            out.extend_from_slice(b":{");
        }
        None => out.extend_from_slice(br#","EventData":{"#),
    }
    for (i, (k, v)) in w.data.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json_str(out, k);
        out.push(b':');
        let numeric = NUMERIC.contains(k)
            && !v.is_empty()
            && v.len() < 19
            && v.bytes().all(|c| c.is_ascii_digit());
        if numeric {
            out.extend_from_slice(v.as_bytes());
        } else {
            json_str(out, v);
        }
    }
    if w.userdata.is_some() {
        out.push(b'}');
    }
    out.extend_from_slice(b"}}}\n");
}

/// Shorthand for an owned data list.
pub(crate) fn data(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
}

/// Adds a record with the channel's default provider.
pub(crate) fn event(
    s: &mut Sink,
    host: &str,
    ch: Channel,
    t: DateTime<Utc>,
    id: u32,
    data: Vec<(&'static str, String)>,
    tag: Tag,
) {
    s.win(
        host,
        ch,
        t,
        WinRec {
            id,
            provider: None,
            data,
            userdata: None,
            sid: None,
        },
        tag,
    );
}

/// `UtcTime` as Sysmon writes it.
fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.3f").to_string()
}

/// A Sysmon-style process GUID.
fn guid(r: &mut Rng) -> String {
    format!(
        "{{8F2B6C1A-{}-{}-{}-{}}}",
        r.hex(4).to_uppercase(),
        r.hex(4).to_uppercase(),
        r.hex(4).to_uppercase(),
        r.hex(12).to_uppercase()
    )
}

/// The last path component (`C:\Windows\System32\cmd.exe` → `cmd.exe`).
pub(crate) fn base(path: &str) -> &str {
    path.rsplit(['\\', '/']).next().unwrap_or(path)
}

/// The SID a `User` string stands for (well-known ones; domain users get a made-up RID).
fn sid_of(user: &str) -> String {
    let up = user.to_ascii_uppercase();
    if up.ends_with("\\SYSTEM") {
        "S-1-5-18".into()
    } else if up.ends_with("\\LOCAL SERVICE") {
        "S-1-5-19".into()
    } else if up.ends_with("\\NETWORK SERVICE") {
        "S-1-5-20".into()
    } else if up.starts_with("IIS APPPOOL\\") {
        "S-1-5-82-3006700770-424185619-1745488364-794895919-4004696415".into()
    } else {
        let (dom, name) = user.split_once('\\').unwrap_or(("PDO", user));
        let d = ENV
            .domains
            .iter()
            .find(|d| d.netbios.eq_ignore_ascii_case(dom))
            .map_or("S-1-5-21-0-0-0", |d| d.sid.as_str());
        format!("{d}-{}", 1100 + crate::rng::fnv1a(name) % 3000)
    }
}

/// A process creation: what ran, from what, as whom.
#[derive(Debug, Clone)]
pub(crate) struct Proc<'a> {
    pub image: &'a str,
    pub cmd: &'a str,
    pub parent_image: &'a str,
    pub parent_cmd: &'a str,
    /// `DOMAIN\name`, `NT AUTHORITY\SYSTEM`, `IIS APPPOOL\DraftsPortal`.
    pub user: &'a str,
    pub integrity: &'a str,
    /// `OriginalFileName` when it differs from the image's name (renamed tools).
    pub original: Option<&'a str>,
    pub cwd: &'a str,
}

impl<'a> Proc<'a> {
    /// A process with default integrity `Medium` and working directory `C:\Windows\system32\`.
    pub(crate) fn new(
        image: &'a str,
        cmd: &'a str,
        parent_image: &'a str,
        parent_cmd: &'a str,
        user: &'a str,
    ) -> Self {
        let sys = user.starts_with("NT AUTHORITY");
        Proc {
            image,
            cmd,
            parent_image,
            parent_cmd,
            user,
            integrity: if sys { "System" } else { "Medium" },
            original: None,
            cwd: "C:\\Windows\\system32\\",
        }
    }

    /// Sets the integrity level.
    pub(crate) fn integrity(mut self, il: &'a str) -> Self {
        self.integrity = il;
        self
    }

    /// Sets the working directory.
    pub(crate) fn cwd(mut self, cwd: &'a str) -> Self {
        self.cwd = cwd;
        self
    }

    /// Sets `OriginalFileName`.
    pub(crate) fn original(mut self, o: &'a str) -> Self {
        self.original = Some(o);
        self
    }
}

/// Writes Sysmon 1 and Security 4688 for a process creation.
pub(crate) fn process(s: &mut Sink, r: &mut Rng, host: &str, t: DateTime<Utc>, p: &Proc, tag: Tag) {
    let pid = (r.range(1000, 12000) / 4 * 4).to_string();
    let ppid = (r.range(600, 12000) / 4 * 4).to_string();
    let name = base(p.image);
    let original = p.original.unwrap_or(name);
    let logon_id = if p.user.starts_with("NT AUTHORITY") {
        "0x3e7".to_string()
    } else {
        format!("0x{}", r.hex(6))
    };
    let (company, product) = if p.image.to_ascii_lowercase().starts_with("c:\\windows\\")
        && !p.image.to_ascii_lowercase().contains("\\debug\\")
        && !p.image.to_ascii_lowercase().contains("\\temp\\")
    {
        (
            "Microsoft Corporation",
            "Microsoft® Windows® Operating System",
        )
    } else {
        ("-", "-")
    };
    let session = if p.user.starts_with("NT AUTHORITY") || p.user.starts_with("IIS") {
        "0"
    } else {
        "1"
    };
    let parent_user = if p.parent_image.ends_with("w3wp.exe") {
        p.user.to_string()
    } else if p.parent_image.ends_with("services.exe")
        || p.parent_image.ends_with("svchost.exe")
        || p.parent_image.ends_with("WmiPrvSE.exe")
    {
        "NT AUTHORITY\\SYSTEM".to_string()
    } else {
        p.user.to_string()
    };
    event(
        s,
        host,
        Channel::Sysmon,
        t,
        1,
        vec![
            ("RuleName", "-".into()),
            ("UtcTime", utc(t)),
            ("ProcessGuid", guid(r)),
            ("ProcessId", pid.clone()),
            ("Image", p.image.into()),
            ("FileVersion", "-".into()),
            ("Description", "-".into()),
            ("Product", product.into()),
            ("Company", company.into()),
            ("OriginalFileName", original.into()),
            ("CommandLine", p.cmd.into()),
            ("CurrentDirectory", p.cwd.into()),
            ("User", p.user.into()),
            ("LogonGuid", guid(r)),
            ("LogonId", logon_id.clone()),
            ("TerminalSessionId", session.into()),
            ("IntegrityLevel", p.integrity.into()),
            (
                "Hashes",
                format!("SHA256={}", fake_sha256(&p.image.to_ascii_lowercase())),
            ),
            ("ParentProcessGuid", guid(r)),
            ("ParentProcessId", ppid.clone()),
            ("ParentImage", p.parent_image.into()),
            ("ParentCommandLine", p.parent_cmd.into()),
            ("ParentUser", parent_user),
        ],
        tag,
    );
    let (dom, name) = p.user.split_once('\\').unwrap_or(("-", p.user));
    let (sdom, sname) = if p.user.starts_with("NT AUTHORITY") {
        (
            host.split('-').next().unwrap_or("PDO").to_string(),
            format!("{host}$"),
        )
    } else {
        (dom.to_string(), name.to_string())
    };
    let label = match p.integrity {
        "System" => "S-1-16-16384",
        "High" => "S-1-16-12288",
        "Low" => "S-1-16-4096",
        _ => "S-1-16-8192",
    };
    event(
        s,
        host,
        Channel::Security,
        t,
        4688,
        vec![
            ("SubjectUserSid", sid_of(p.user)),
            ("SubjectUserName", sname),
            ("SubjectDomainName", sdom),
            ("SubjectLogonId", logon_id),
            (
                "NewProcessId",
                format!("0x{:x}", pid.parse::<u32>().unwrap_or(0)),
            ),
            ("NewProcessName", p.image.into()),
            ("TokenElevationType", "%%1936".into()),
            (
                "ProcessId",
                format!("0x{:x}", ppid.parse::<u32>().unwrap_or(0)),
            ),
            ("CommandLine", p.cmd.into()),
            ("TargetUserSid", "S-1-0-0".into()),
            ("TargetUserName", "-".into()),
            ("TargetDomainName", "-".into()),
            ("TargetLogonId", "0x0".into()),
            ("ParentProcessName", p.parent_image.into()),
            ("MandatoryLabel", label.into()),
        ],
        tag,
    );
}

/// Sysmon 3, an outbound (or inbound) TCP connection.
pub(crate) fn net_conn(
    s: &mut Sink,
    r: &mut Rng,
    host: &str,
    t: DateTime<Utc>,
    image: &str,
    user: &str,
    src: (&str, u16),
    dst: (&str, u16),
    dst_name: &str,
    tag: Tag,
) {
    event(
        s,
        host,
        Channel::Sysmon,
        t,
        3,
        vec![
            ("RuleName", "-".into()),
            ("UtcTime", utc(t)),
            ("ProcessGuid", guid(r)),
            ("ProcessId", (r.range(1000, 12000) / 4 * 4).to_string()),
            ("Image", image.into()),
            ("User", user.into()),
            ("Protocol", "tcp".into()),
            ("Initiated", "true".into()),
            ("SourceIsIpv6", "false".into()),
            ("SourceIp", src.0.into()),
            ("SourceHostname", fqdn(host)),
            ("SourcePort", src.1.to_string()),
            ("SourcePortName", "-".into()),
            ("DestinationIsIpv6", "false".into()),
            ("DestinationIp", dst.0.into()),
            ("DestinationHostname", dst_name.into()),
            ("DestinationPort", dst.1.to_string()),
            (
                "DestinationPortName",
                match dst.1 {
                    443 => "https",
                    80 => "http",
                    445 => "microsoft-ds",
                    53 => "domain",
                    _ => "-",
                }
                .into(),
            ),
        ],
        tag,
    );
}

/// Sysmon 11, a file created.
pub(crate) fn file_create(
    s: &mut Sink,
    r: &mut Rng,
    host: &str,
    t: DateTime<Utc>,
    image: &str,
    target: &str,
    user: &str,
    tag: Tag,
) {
    event(
        s,
        host,
        Channel::Sysmon,
        t,
        11,
        vec![
            ("RuleName", "-".into()),
            ("UtcTime", utc(t)),
            ("ProcessGuid", guid(r)),
            ("ProcessId", (r.range(1000, 12000) / 4 * 4).to_string()),
            ("Image", image.into()),
            ("TargetFilename", target.into()),
            ("CreationUtcTime", utc(t)),
            ("User", user.into()),
        ],
        tag,
    );
}

/// Sysmon 23, a file deleted (archived).
pub(crate) fn file_delete(
    s: &mut Sink,
    r: &mut Rng,
    host: &str,
    t: DateTime<Utc>,
    image: &str,
    target: &str,
    user: &str,
    tag: Tag,
) {
    event(
        s,
        host,
        Channel::Sysmon,
        t,
        23,
        vec![
            ("RuleName", "-".into()),
            ("UtcTime", utc(t)),
            ("ProcessGuid", guid(r)),
            ("ProcessId", (r.range(1000, 12000) / 4 * 4).to_string()),
            ("User", user.into()),
            ("Image", image.into()),
            ("TargetFilename", target.into()),
            (
                "Hashes",
                format!("SHA256={}", fake_sha256(&target.to_ascii_lowercase())),
            ),
            ("IsExecutable", "false".into()),
            ("Archived", "true".into()),
        ],
        tag,
    );
}

/// Sysmon 10, a process opened another.
pub(crate) fn proc_access(
    s: &mut Sink,
    r: &mut Rng,
    host: &str,
    t: DateTime<Utc>,
    source: &str,
    target: &str,
    access: &str,
    call_trace: &str,
    user: &str,
    tag: Tag,
) {
    event(
        s,
        host,
        Channel::Sysmon,
        t,
        10,
        vec![
            ("RuleName", "-".into()),
            ("UtcTime", utc(t)),
            ("SourceProcessGUID", guid(r)),
            (
                "SourceProcessId",
                (r.range(1000, 12000) / 4 * 4).to_string(),
            ),
            ("SourceThreadId", (r.range(1000, 12000) / 4 * 4).to_string()),
            ("SourceImage", source.into()),
            ("TargetProcessGUID", guid(r)),
            ("TargetProcessId", (r.range(600, 900) / 4 * 4).to_string()),
            ("TargetImage", target.into()),
            ("GrantedAccess", access.into()),
            ("CallTrace", call_trace.into()),
            ("SourceUser", user.into()),
            ("TargetUser", "NT AUTHORITY\\SYSTEM".into()),
        ],
        tag,
    );
}

/// Sysmon 13, a registry value set.
pub(crate) fn reg_set(
    s: &mut Sink,
    r: &mut Rng,
    host: &str,
    t: DateTime<Utc>,
    image: &str,
    key: &str,
    details: &str,
    user: &str,
    tag: Tag,
) {
    event(
        s,
        host,
        Channel::Sysmon,
        t,
        13,
        vec![
            ("RuleName", "-".into()),
            ("EventType", "SetValue".into()),
            ("UtcTime", utc(t)),
            ("ProcessGuid", guid(r)),
            ("ProcessId", (r.range(1000, 12000) / 4 * 4).to_string()),
            ("Image", image.into()),
            ("TargetObject", key.into()),
            ("Details", details.into()),
            ("User", user.into()),
        ],
        tag,
    );
}

/// Sysmon 7, an image loaded.
pub(crate) fn image_load(
    s: &mut Sink,
    r: &mut Rng,
    host: &str,
    t: DateTime<Utc>,
    image: &str,
    loaded: &str,
    user: &str,
    tag: Tag,
) {
    event(
        s,
        host,
        Channel::Sysmon,
        t,
        7,
        vec![
            ("RuleName", "-".into()),
            ("UtcTime", utc(t)),
            ("ProcessGuid", guid(r)),
            ("ProcessId", (r.range(1000, 12000) / 4 * 4).to_string()),
            ("Image", image.into()),
            ("ImageLoaded", loaded.into()),
            ("FileVersion", "-".into()),
            ("Description", "-".into()),
            ("Product", "-".into()),
            ("Company", "-".into()),
            ("OriginalFileName", base(loaded).into()),
            (
                "Hashes",
                format!("SHA256={}", fake_sha256(&loaded.to_ascii_lowercase())),
            ),
            ("Signed", "false".into()),
            ("Signature", "-".into()),
            ("SignatureStatus", "Unavailable".into()),
            ("User", user.into()),
        ],
        tag,
    );
}

/// Sysmon 22, a DNS query.
pub(crate) fn dns_query(
    s: &mut Sink,
    r: &mut Rng,
    host: &str,
    t: DateTime<Utc>,
    image: &str,
    query: &str,
    results: &str,
    user: &str,
    tag: Tag,
) {
    event(
        s,
        host,
        Channel::Sysmon,
        t,
        22,
        vec![
            ("RuleName", "-".into()),
            ("UtcTime", utc(t)),
            ("ProcessGuid", guid(r)),
            ("ProcessId", (r.range(1000, 12000) / 4 * 4).to_string()),
            ("QueryName", query.into()),
            ("QueryStatus", "0".into()),
            ("QueryResults", results.into()),
            ("Image", image.into()),
            ("User", user.into()),
        ],
        tag,
    );
}

/// A logon (4624) and what describes it.
#[derive(Debug, Clone)]
pub(crate) struct Logon<'a> {
    pub user: &'a str,
    pub domain: &'a str,
    pub logon_type: u8,
    pub ip: &'a str,
    pub workstation: &'a str,
    /// `Kerberos` or `NTLM` (also decides the logon process).
    pub package: &'a str,
}

/// Security 4624; returns the logon id.
pub(crate) fn logon(
    s: &mut Sink,
    r: &mut Rng,
    host: &str,
    t: DateTime<Utc>,
    l: &Logon,
    tag: Tag,
) -> String {
    let id = format!("0x{}", r.hex(7));
    let process = match (l.logon_type, l.package) {
        (2 | 7 | 10 | 11, _) => "User32",
        (_, "NTLM") => "NtLmSsp",
        _ => "Kerberos",
    };
    let process_name = match l.logon_type {
        2 | 7 | 10 | 11 => "C:\\Windows\\System32\\svchost.exe",
        5 => "C:\\Windows\\System32\\services.exe",
        _ => "-",
    };
    let package = if l.package == "NTLM" {
        "NTLM"
    } else if matches!(l.logon_type, 2 | 7 | 10 | 11) {
        "Negotiate"
    } else {
        "Kerberos"
    };
    event(
        s,
        host,
        Channel::Security,
        t,
        4624,
        vec![
            (
                "SubjectUserSid",
                if l.logon_type == 3 {
                    "S-1-0-0".into()
                } else {
                    "S-1-5-18".into()
                },
            ),
            (
                "SubjectUserName",
                if l.logon_type == 3 {
                    "-".into()
                } else {
                    format!("{host}$")
                },
            ),
            (
                "SubjectDomainName",
                if l.logon_type == 3 {
                    "-".into()
                } else {
                    l.domain.into()
                },
            ),
            (
                "SubjectLogonId",
                if l.logon_type == 3 {
                    "0x0".into()
                } else {
                    "0x3e7".into()
                },
            ),
            (
                "TargetUserSid",
                sid_of(&format!("{}\\{}", l.domain, l.user)),
            ),
            ("TargetUserName", l.user.into()),
            ("TargetDomainName", l.domain.into()),
            ("TargetLogonId", id.clone()),
            ("LogonType", l.logon_type.to_string()),
            ("LogonProcessName", process.into()),
            ("AuthenticationPackageName", package.into()),
            ("WorkstationName", l.workstation.into()),
            (
                "LogonGuid",
                if l.package == "NTLM" {
                    "{00000000-0000-0000-0000-000000000000}".into()
                } else {
                    guid(r)
                },
            ),
            ("TransmittedServices", "-".into()),
            (
                "LmPackageName",
                if l.package == "NTLM" {
                    "NTLM V2".into()
                } else {
                    "-".into()
                },
            ),
            (
                "KeyLength",
                if l.package == "NTLM" {
                    "128".into()
                } else {
                    "0".into()
                },
            ),
            ("ProcessId", "0x0".into()),
            ("ProcessName", process_name.into()),
            ("IpAddress", l.ip.into()),
            (
                "IpPort",
                if l.ip == "-" {
                    "-".into()
                } else {
                    r.range(49152, 65000).to_string()
                },
            ),
            ("ImpersonationLevel", "%%1833".into()),
            ("RestrictedAdminMode", "-".into()),
            ("TargetOutboundUserName", "-".into()),
            ("TargetOutboundDomainName", "-".into()),
            ("VirtualAccount", "%%1843".into()),
            ("TargetLinkedLogonId", "0x0".into()),
            ("ElevatedToken", "%%1842".into()),
        ],
        tag,
    );
    id
}

/// Security 4634, a logoff.
pub(crate) fn logoff(
    s: &mut Sink,
    host: &str,
    t: DateTime<Utc>,
    user: &str,
    domain: &str,
    logon_type: u8,
    logon_id: &str,
    tag: Tag,
) {
    event(
        s,
        host,
        Channel::Security,
        t,
        4634,
        vec![
            ("TargetUserSid", sid_of(&format!("{domain}\\{user}"))),
            ("TargetUserName", user.into()),
            ("TargetDomainName", domain.into()),
            ("TargetLogonId", logon_id.into()),
            ("LogonType", logon_type.to_string()),
        ],
        tag,
    );
}

/// Security 4672, special privileges assigned to a new logon.
pub(crate) fn special_privs(
    s: &mut Sink,
    host: &str,
    t: DateTime<Utc>,
    user: &str,
    domain: &str,
    logon_id: &str,
    tag: Tag,
) {
    event(
        s,
        host,
        Channel::Security,
        t,
        4672,
        vec![
            ("SubjectUserSid", sid_of(&format!("{domain}\\{user}"))),
            ("SubjectUserName", user.into()),
            ("SubjectDomainName", domain.into()),
            ("SubjectLogonId", logon_id.into()),
            ("PrivilegeList", "SeSecurityPrivilege\n\t\t\tSeBackupPrivilege\n\t\t\tSeRestorePrivilege\n\t\t\tSeTakeOwnershipPrivilege\n\t\t\tSeDebugPrivilege\n\t\t\tSeSystemEnvironmentPrivilege\n\t\t\tSeLoadDriverPrivilege\n\t\t\tSeImpersonatePrivilege\n\t\t\tSeDelegateSessionUserImpersonatePrivilege".into()),
        ],
        tag,
    );
}

/// Security 4768, a TGT requested (on a DC).
pub(crate) fn tgt(
    s: &mut Sink,
    dc: &str,
    t: DateTime<Utc>,
    user: &str,
    realm: &str,
    ip: &str,
    etype: &str,
    tag: Tag,
) {
    event(
        s,
        dc,
        Channel::Security,
        t,
        4768,
        vec![
            ("TargetUserName", user.into()),
            ("TargetDomainName", realm.into()),
            ("TargetSid", sid_of(user)),
            ("ServiceName", "krbtgt".into()),
            ("ServiceSid", sid_of("krbtgt")),
            ("TicketOptions", "0x40810010".into()),
            ("Status", "0x0".into()),
            ("TicketEncryptionType", etype.into()),
            ("PreAuthType", "2".into()),
            ("IpAddress", format!("::ffff:{ip}")),
            ("IpPort", "0".into()),
            ("CertIssuerName", "".into()),
            ("CertSerialNumber", "".into()),
            ("CertThumbprint", "".into()),
        ],
        tag,
    );
}

/// Security 4769, a service ticket requested (on a DC). `user` is `name@REALM`.
pub(crate) fn tgs(
    s: &mut Sink,
    dc: &str,
    t: DateTime<Utc>,
    user: &str,
    service: &str,
    ip: &str,
    etype: &str,
    options: &str,
    tag: Tag,
) {
    event(
        s,
        dc,
        Channel::Security,
        t,
        4769,
        vec![
            ("TargetUserName", user.into()),
            (
                "TargetDomainName",
                user.split('@').nth(1).unwrap_or("PDO.EXAMPLE").into(),
            ),
            ("ServiceName", service.into()),
            ("ServiceSid", sid_of(service)),
            ("TicketOptions", options.into()),
            ("TicketEncryptionType", etype.into()),
            ("IpAddress", format!("::ffff:{ip}")),
            ("IpPort", "0".into()),
            ("Status", "0x0".into()),
            ("LogonGuid", "{00000000-0000-0000-0000-000000000000}".into()),
            ("TransmittedServices", "-".into()),
        ],
        tag,
    );
}

/// Security 5140 (share accessed) or 5145 (share object checked).
pub(crate) fn share(
    s: &mut Sink,
    host: &str,
    t: DateTime<Utc>,
    id: u32,
    user: &str,
    domain: &str,
    ip: &str,
    share: &str,
    local: &str,
    relative: &str,
    mask: &str,
    tag: Tag,
) {
    let mut d = vec![
        ("SubjectUserSid", sid_of(&format!("{domain}\\{user}"))),
        ("SubjectUserName", user.to_string()),
        ("SubjectDomainName", domain.to_string()),
        ("SubjectLogonId", "0x1a2b3c".to_string()),
        ("ObjectType", "File".to_string()),
        ("IpAddress", ip.to_string()),
        ("IpPort", "49733".to_string()),
        ("ShareName", share.to_string()),
        ("ShareLocalPath", local.to_string()),
    ];
    if id == 5145 {
        d.push(("RelativeTargetName", relative.to_string()));
    }
    d.push(("AccessMask", mask.to_string()));
    d.push((
        "AccessList",
        match mask {
            "0x2" => "%%4417",
            "0x100081" => "%%1538 %%4416 %%4423",
            _ => "%%4416",
        }
        .to_string(),
    ));
    if id == 5145 {
        d.push(("AccessReason", "-".to_string()));
    }
    event(s, host, Channel::Security, t, id, d, tag);
}

/// System 7045, a service installed.
pub(crate) fn service_install(
    s: &mut Sink,
    host: &str,
    t: DateTime<Utc>,
    name: &str,
    image: &str,
    start: &str,
    account: &str,
    tag: Tag,
) {
    s.win(
        host,
        Channel::System,
        t,
        WinRec {
            id: 7045,
            provider: Some(SCM),
            data: vec![
                ("ServiceName", name.into()),
                ("ImagePath", image.into()),
                ("ServiceType", "user mode service".into()),
                ("StartType", start.into()),
                ("AccountName", account.into()),
            ],
            userdata: None,
            sid: Some("S-1-5-18".into()),
        },
        tag,
    );
}

/// PowerShell 4104, a script block logged (one message).
pub(crate) fn script_block(
    s: &mut Sink,
    r: &mut Rng,
    host: &str,
    t: DateTime<Utc>,
    text: &str,
    path: &str,
    user_sid: &str,
    tag: Tag,
) {
    s.win(
        host,
        Channel::PowerShell,
        t,
        WinRec {
            id: 4104,
            provider: None,
            data: vec![
                ("MessageNumber", "1".into()),
                ("MessageTotal", "1".into()),
                ("ScriptBlockText", text.into()),
                (
                    "ScriptBlockId",
                    guid(r).trim_matches(['{', '}']).to_ascii_lowercase(),
                ),
                ("Path", path.into()),
            ],
            userdata: None,
            sid: Some(user_sid.into()),
        },
        tag,
    );
}

/// Firewall-AS 2004, a rule added.
pub(crate) fn fw_rule(
    s: &mut Sink,
    r: &mut Rng,
    host: &str,
    t: DateTime<Utc>,
    name: &str,
    app: &str,
    ports: &str,
    modifying: &str,
    user_sid: &str,
    tag: Tag,
) {
    event(
        s,
        host,
        Channel::Firewall,
        t,
        2004,
        vec![
            ("RuleId", format!("{{{}}}", r.hex(32).to_uppercase())),
            ("RuleName", name.into()),
            ("Origin", "1".into()),
            ("ApplicationPath", app.into()),
            ("ServiceName", "".into()),
            ("Direction", "1".into()),
            ("Protocol", "6".into()),
            ("LocalPorts", ports.into()),
            ("RemotePorts", "*".into()),
            ("Action", "3".into()),
            ("Profiles", "7".into()),
            ("LocalAddresses", "*".into()),
            ("RemoteAddresses", "*".into()),
            ("RemoteMachineAuthorizationList", "".into()),
            ("RemoteUserAuthorizationList", "".into()),
            ("EmbeddedContext", "".into()),
            ("Flags", "1".into()),
            ("Active", "1".into()),
            ("EdgeTraversal", "0".into()),
            ("LooseSourceMapped", "0".into()),
            ("SecurityOptions", "0".into()),
            ("ModifyingUser", user_sid.into()),
            ("ModifyingApplication", modifying.into()),
            ("SchemaVersion", "542".into()),
            ("RuleStatus", "65536".into()),
            ("LocalOnlyMapped", "0".into()),
        ],
        tag,
    );
}

/// Security 4946, a firewall exception rule added.
pub(crate) fn fw_4946(
    s: &mut Sink,
    r: &mut Rng,
    host: &str,
    t: DateTime<Utc>,
    name: &str,
    tag: Tag,
) {
    event(
        s,
        host,
        Channel::Security,
        t,
        4946,
        vec![
            ("ProfileChanged", "Domain,Private,Public".into()),
            ("RuleId", format!("{{{}}}", r.hex(32).to_uppercase())),
            ("RuleName", name.into()),
        ],
        tag,
    );
}

/// TerminalServices-RemoteConnectionManager 1149 (user authenticated for RDP).
pub(crate) fn rdp_auth(
    s: &mut Sink,
    host: &str,
    t: DateTime<Utc>,
    user: &str,
    domain: &str,
    ip: &str,
    tag: Tag,
) {
    s.win(
        host,
        Channel::TsRcm,
        t,
        WinRec {
            id: 1149,
            provider: None,
            data: vec![
                ("Param1", user.into()),
                ("Param2", domain.into()),
                ("Param3", ip.into()),
            ],
            userdata: Some("EventXML"),
            sid: Some("S-1-5-20".into()),
        },
        tag,
    );
}

/// TerminalServices-LocalSessionManager 21 (logon), 22 (shell start), 24/25 (disconnect, reconnect).
pub(crate) fn rdp_session(
    s: &mut Sink,
    host: &str,
    t: DateTime<Utc>,
    id: u32,
    user: &str,
    session: u32,
    ip: &str,
    tag: Tag,
) {
    s.win(
        host,
        Channel::TsLsm,
        t,
        WinRec {
            id,
            provider: None,
            data: vec![
                ("User", user.into()),
                ("SessionID", session.to_string()),
                ("Address", ip.into()),
            ],
            userdata: Some("EventXML"),
            sid: Some("S-1-5-18".into()),
        },
        tag,
    );
}
