//! The observable vocabulary: what kind of value an indicator names and an event carries.
//!
//! Indicators arrive in many spellings (`HKLM\…` and `HKEY_LOCAL_MACHINE\…`, upper-case
//! hashes, `Example.COM.`, `2001:0db8::0001`), and events spell the same things in their own
//! ways. Both sides go through [`normalise`] so that an index lookup is one hash probe on an
//! exact string. Values that cannot be of the kind (a 31-digit MD5, a domain with spaces) are
//! rejected there, which is also how plain IOC lists get their types inferred.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What kind of value an observable is. The names are the ones feeds, the field map and the
/// detections use (`ipv4`, `sha256`, `file-name`…).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ObservableKind {
    /// An IPv4 address (dotted quad, canonical).
    Ipv4,
    /// An IPv6 address (canonical RFC 5952 text).
    Ipv6,
    /// A domain or host name (lower case, no trailing dot).
    Domain,
    /// A URL (scheme and host lower-cased, the rest as written).
    Url,
    /// An MD5 digest (32 lower-case hex digits).
    Md5,
    /// A SHA-1 digest (40 lower-case hex digits).
    Sha1,
    /// A SHA-256 digest (64 lower-case hex digits).
    Sha256,
    /// A SHA-512 digest (128 lower-case hex digits).
    Sha512,
    /// A PE import hash (32 lower-case hex digits).
    Imphash,
    /// A file's name without its directory (lower case: Windows names are case-insensitive).
    FileName,
    /// A file's full path (lower case).
    FilePath,
    /// A Windows registry key, hive spelled out (`hkey_local_machine\…`, lower case).
    RegistryKey,
    /// An HTTP user agent, as sent.
    UserAgent,
    /// An e-mail address (lower case).
    Email,
    /// A mutex name, as written.
    Mutex,
    /// An account name (lower case).
    Account,
    /// A TCP/UDP port number (decimal).
    Port,
    /// A process command line, as written.
    CommandLine,
}

impl ObservableKind {
    /// Every kind, in declaration order.
    pub const ALL: [ObservableKind; 18] = [
        ObservableKind::Ipv4,
        ObservableKind::Ipv6,
        ObservableKind::Domain,
        ObservableKind::Url,
        ObservableKind::Md5,
        ObservableKind::Sha1,
        ObservableKind::Sha256,
        ObservableKind::Sha512,
        ObservableKind::Imphash,
        ObservableKind::FileName,
        ObservableKind::FilePath,
        ObservableKind::RegistryKey,
        ObservableKind::UserAgent,
        ObservableKind::Email,
        ObservableKind::Mutex,
        ObservableKind::Account,
        ObservableKind::Port,
        ObservableKind::CommandLine,
    ];

    /// The kind's name (`ipv4`, `sha256`, `file-name`…).
    pub fn as_str(self) -> &'static str {
        match self {
            ObservableKind::Ipv4 => "ipv4",
            ObservableKind::Ipv6 => "ipv6",
            ObservableKind::Domain => "domain",
            ObservableKind::Url => "url",
            ObservableKind::Md5 => "md5",
            ObservableKind::Sha1 => "sha1",
            ObservableKind::Sha256 => "sha256",
            ObservableKind::Sha512 => "sha512",
            ObservableKind::Imphash => "imphash",
            ObservableKind::FileName => "file-name",
            ObservableKind::FilePath => "file-path",
            ObservableKind::RegistryKey => "registry-key",
            ObservableKind::UserAgent => "user-agent",
            ObservableKind::Email => "email",
            ObservableKind::Mutex => "mutex",
            ObservableKind::Account => "account",
            ObservableKind::Port => "port",
            ObservableKind::CommandLine => "command-line",
        }
    }

    /// True for the digest kinds.
    pub fn is_hash(self) -> bool {
        matches!(
            self,
            ObservableKind::Md5
                | ObservableKind::Sha1
                | ObservableKind::Sha256
                | ObservableKind::Sha512
                | ObservableKind::Imphash
        )
    }

    /// True for IPv4 and IPv6.
    pub fn is_ip(self) -> bool {
        matches!(self, ObservableKind::Ipv4 | ObservableKind::Ipv6)
    }
}

impl fmt::Display for ObservableKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not an [`ObservableKind`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{0}' is not an observable kind (expected one of ipv4, ipv6, domain, url, md5, sha1, sha256, sha512, imphash, file-name, file-path, registry-key, user-agent, email, mutex, account, port, command-line)"
)]
pub struct UnknownKind(pub String);

impl FromStr for ObservableKind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase().replace('_', "-");
        ObservableKind::ALL
            .into_iter()
            .find(|k| k.as_str() == t)
            .ok_or_else(|| UnknownKind(s.to_string()))
    }
}

/// One observable: its kind and its normalised value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Observable {
    /// What the value is.
    pub kind: ObservableKind,
    /// The value after [`normalise`].
    pub value: String,
}

impl Observable {
    /// The observable of `kind` for `raw`, if `raw` can be one.
    pub fn new(kind: ObservableKind, raw: &str) -> Option<Observable> {
        normalise(kind, raw).map(|value| Observable { kind, value })
    }
}

/// An IP address from text: surrounding brackets and whitespace are dropped and an
/// IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) becomes its IPv4 address.
pub fn parse_ip(raw: &str) -> Option<IpAddr> {
    let t = raw.trim();
    let t = t
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(t);
    // A zone index (`fe80::1%eth0`) names an interface, not a different address.
    let t = t.split_once('%').map_or(t, |(a, _)| a);
    match t.parse::<IpAddr>().ok()? {
        IpAddr::V6(v6) => Some(v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)),
        v4 => Some(v4),
    }
}

/// The registry hives as Windows abbreviates them (Sysmon, reg.exe) and as the kernel names
/// them, with the full names STIX and most feeds use.
const HIVES: &[(&str, &str)] = &[
    ("hklm\\", "hkey_local_machine\\"),
    ("hkcu\\", "hkey_current_user\\"),
    ("hku\\", "hkey_users\\"),
    ("hkcr\\", "hkey_classes_root\\"),
    ("hkcc\\", "hkey_current_config\\"),
    ("\\registry\\machine\\", "hkey_local_machine\\"),
    ("\\registry\\user\\", "hkey_users\\"),
];

/// `raw` normalised as an observable of `kind`, or `None` when it cannot be one.
///
/// * addresses: parsed and printed canonically (an IPv4-mapped IPv6 address is not an IPv6
///   observable; it normalises as `ipv4`);
/// * domains: lower case, trailing dot dropped, letters, digits, `-`, `_` and dots only, at
///   least one dot, not an address;
/// * URLs: need `scheme://host`; scheme and host lower-cased;
/// * hashes: hex digits of the kind's length, lower-cased;
/// * file names, paths, registry keys, e-mail addresses and accounts: lower case (Windows
///   compares them without case); registry hives spelled out;
/// * ports: a number from 0 to 65535;
/// * user agents, mutexes and command lines: trimmed, otherwise as written.
pub fn normalise(kind: ObservableKind, raw: &str) -> Option<String> {
    let t = raw.trim();
    if t.is_empty() {
        return None;
    }
    match kind {
        ObservableKind::Ipv4 => match parse_ip(t)? {
            IpAddr::V4(a) => Some(a.to_string()),
            IpAddr::V6(_) => None,
        },
        ObservableKind::Ipv6 => match parse_ip(t)? {
            IpAddr::V6(a) => Some(a.to_string()),
            IpAddr::V4(_) => None,
        },
        ObservableKind::Domain => domain(t),
        ObservableKind::Url => url(t),
        ObservableKind::Md5 | ObservableKind::Imphash => hex(t, 32),
        ObservableKind::Sha1 => hex(t, 40),
        ObservableKind::Sha256 => hex(t, 64),
        ObservableKind::Sha512 => hex(t, 128),
        ObservableKind::FileName => {
            let name = t.rsplit(['\\', '/']).next().unwrap_or(t);
            (!name.is_empty()).then(|| lower(name))
        }
        ObservableKind::FilePath | ObservableKind::Account => Some(lower(t)),
        ObservableKind::Email => {
            let l = lower(t);
            let (user, host) = l.split_once('@')?;
            (!user.is_empty() && !host.is_empty() && !l.contains(char::is_whitespace)).then_some(l)
        }
        ObservableKind::RegistryKey => {
            let l = lower(t);
            for (short, long) in HIVES {
                if let Some(rest) = l.strip_prefix(short) {
                    return Some(format!("{long}{rest}"));
                }
            }
            Some(l)
        }
        ObservableKind::Port => t.parse::<u16>().ok().map(|p| p.to_string()),
        ObservableKind::UserAgent | ObservableKind::Mutex | ObservableKind::CommandLine => {
            Some(t.to_string())
        }
    }
}

/// Lower case, with a fast path for ASCII (almost every value in logs).
fn lower(t: &str) -> String {
    if t.is_ascii() {
        t.to_ascii_lowercase()
    } else {
        t.to_lowercase()
    }
}

fn hex(t: &str, len: usize) -> Option<String> {
    (t.len() == len && t.bytes().all(|b| b.is_ascii_hexdigit())).then(|| t.to_ascii_lowercase())
}

fn domain(t: &str) -> Option<String> {
    let d = lower(t.strip_suffix('.').unwrap_or(t));
    let ok = d.contains('.')
        && d.len() <= 253
        && !d.starts_with('.')
        && !d.contains("..")
        && d
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') || b >= 0x80)
        && parse_ip(&d).is_none()
        // A last label of digits only is an address fragment or a version, not a TLD.
        && !d.rsplit('.').next().is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()));
    ok.then_some(d)
}

fn url(t: &str) -> Option<String> {
    let (scheme, rest) = t.split_once("://")?;
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        || t.contains(char::is_whitespace)
    {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if authority.is_empty() {
        return None;
    }
    Some(format!(
        "{}://{}{}",
        scheme.to_ascii_lowercase(),
        lower(authority),
        tail
    ))
}

/// The host part of a normalised URL (`http://user@Host:8080/x` → `host`), if it has one.
pub fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host.strip_prefix('[') {
        v6.split_once(']').map_or(v6, |(h, _)| h)
    } else {
        host.rsplit_once(':')
            .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
            .map_or(host, |(h, _)| h)
    };
    (!host.is_empty()).then_some(host)
}

/// The kinds `raw` could be, most specific first, for lists that do not say: an address, a
/// URL, a hash by its length, an e-mail address, a domain. Anything else is `None`.
pub fn infer_kind(raw: &str) -> Option<ObservableKind> {
    let t = raw.trim();
    if let Some(ip) = parse_ip(t) {
        return Some(if ip.is_ipv4() {
            ObservableKind::Ipv4
        } else {
            ObservableKind::Ipv6
        });
    }
    if url(t).is_some() {
        return Some(ObservableKind::Url);
    }
    if t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return match t.len() {
            32 => Some(ObservableKind::Md5),
            40 => Some(ObservableKind::Sha1),
            64 => Some(ObservableKind::Sha256),
            128 => Some(ObservableKind::Sha512),
            _ => None,
        };
    }
    if normalise(ObservableKind::Email, t).is_some() && !t.contains(['/', '\\']) {
        return Some(ObservableKind::Email);
    }
    if is_file_name(t) {
        return Some(ObservableKind::FileName);
    }
    domain(t).map(|_| ObservableKind::Domain)
}

/// Extensions of files that intrusions leave behind, which are not top-level domains: a
/// listed `errors.aspx` is a web shell's name, not a host.
const FILE_EXTENSIONS: &[&str] = &[
    "exe", "dll", "sys", "scr", "msi", "lnk", "bat", "cmd", "ps1", "psm1", "vbs", "vbe", "hta",
    "js", "jse", "wsf", "aspx", "asp", "ashx", "asmx", "ascx", "config", "jsp", "jspx", "war",
    "jar", "class", "php", "phtml", "py", "sh", "elf", "so", "txt", "log", "tmp", "dat", "bin",
    "doc", "docx", "docm", "xls", "xlsx", "xlsm", "ppt", "pptx", "pdf", "rtf", "iso", "img", "vhd",
    "rar", "7z", "gz", "tar", "cab",
];

/// One name and a known file extension (`errors.aspx`, `plink.exe`), nothing that makes it
/// a path or a host name with several labels.
fn is_file_name(t: &str) -> bool {
    let Some((stem, ext)) = t.rsplit_once('.') else {
        return false;
    };
    !stem.is_empty()
        && !stem.contains('.')
        && !t.contains(['/', '\\', ' '])
        && FILE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ObservableKind as K;

    #[test]
    fn kinds_round_trip_by_name() {
        for k in K::ALL {
            assert_eq!(k.as_str().parse::<K>().unwrap(), k);
        }
        assert_eq!("FILE_NAME".parse::<K>().unwrap(), K::FileName);
        assert!("colour".parse::<K>().is_err());
    }

    #[test]
    fn addresses_are_canonical() {
        assert_eq!(
            normalise(K::Ipv6, "2001:0db8::0001").as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(
            normalise(K::Ipv4, " 192.0.2.1 ").as_deref(),
            Some("192.0.2.1")
        );
        assert_eq!(
            normalise(K::Ipv4, "::ffff:192.0.2.1").as_deref(),
            Some("192.0.2.1")
        );
        assert_eq!(normalise(K::Ipv6, "::ffff:192.0.2.1"), None);
        assert_eq!(
            normalise(K::Ipv6, "[fe80::1%eth0]").as_deref(),
            Some("fe80::1")
        );
        assert_eq!(normalise(K::Ipv4, "192.0.2.256"), None);
    }

    #[test]
    fn domains_hashes_and_keys() {
        assert_eq!(
            normalise(K::Domain, "Evil.Example.COM.").as_deref(),
            Some("evil.example.com")
        );
        assert_eq!(normalise(K::Domain, "192.0.2.1"), None);
        assert_eq!(normalise(K::Domain, "no spaces.com"), None);
        assert_eq!(normalise(K::Domain, "localhost"), None);
        assert_eq!(normalise(K::Domain, "1.2.3"), None);
        assert_eq!(
            normalise(K::Md5, "D41D8CD98F00B204E9800998ECF8427E").as_deref(),
            Some("d41d8cd98f00b204e9800998ecf8427e")
        );
        assert_eq!(normalise(K::Sha1, "d41d8cd98f00b204e9800998ecf8427e"), None);
        assert_eq!(
            normalise(K::RegistryKey, r"HKLM\Software\Run").as_deref(),
            Some(r"hkey_local_machine\software\run")
        );
        assert_eq!(
            normalise(K::RegistryKey, r"\REGISTRY\MACHINE\SYSTEM\x").as_deref(),
            Some(r"hkey_local_machine\system\x")
        );
        assert_eq!(
            normalise(K::FileName, r"C:\inetpub\wwwroot\Shell.ASPX").as_deref(),
            Some("shell.aspx")
        );
        assert_eq!(normalise(K::Port, "443").as_deref(), Some("443"));
        assert_eq!(normalise(K::Port, "70000"), None);
    }

    #[test]
    fn urls_keep_their_path_case() {
        assert_eq!(
            normalise(K::Url, "HTTP://Evil.Example/Gate.php?X=1").as_deref(),
            Some("http://evil.example/Gate.php?X=1")
        );
        assert_eq!(normalise(K::Url, "/gate.php"), None);
        assert_eq!(
            url_host("http://u@Evil.example:8080/x"),
            Some("Evil.example")
        );
        assert_eq!(url_host("http://[2001:db8::1]:80/"), Some("2001:db8::1"));
    }

    #[test]
    fn kinds_are_inferred() {
        assert_eq!(infer_kind("203.0.113.7"), Some(K::Ipv4));
        assert_eq!(infer_kind("2001:db8::7"), Some(K::Ipv6));
        assert_eq!(infer_kind("https://a.example/x"), Some(K::Url));
        assert_eq!(
            infer_kind("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            Some(K::Sha256)
        );
        assert_eq!(infer_kind("ops@evil.example"), Some(K::Email));
        assert_eq!(infer_kind("update.evil.example"), Some(K::Domain));
        assert_eq!(infer_kind("errors.aspx"), Some(K::FileName));
        assert_eq!(infer_kind("cdn.errors.aspx"), Some(K::Domain));
        assert_eq!(infer_kind("evil.zip"), Some(K::Domain));
        assert_eq!(infer_kind("not an indicator"), None);
        assert_eq!(infer_kind("abc"), None);
    }
}
