//! Entities: the accounts, addresses, hosts, processes, files, web shells and domains a
//! detection's event names, normalised so that two detections that name the same thing agree.
//!
//! # Why it looks like this
//!
//! Grouping detections into incidents is only as good as the keys they are grouped by. The same
//! account is `PDO\svc_sqlrpt` in Sysmon, `svc_sqlrpt` with `TargetDomainName=PDO` in a 4624 and
//! `svc_sqlrpt@PDO.EXAMPLE` in a 4769; the same address is `::ffff:172.16.10.21` on a domain
//! controller and `172.16.10.21` in a firewall log; the same web shell is
//! `C:\inetpub\wwwroot\drafts\Images\thumbs\spinner.aspx` to Sysmon and
//! `/drafts/Images/thumbs/spinner.aspx` to IIS. This module turns all of those into one value.
//!
//! It also drops what would glue everything to everything: `SYSTEM`, `ANONYMOUS LOGON`,
//! machine accounts, loopback addresses, and `svchost.exe`/`services.exe` as process parents.
//! Which field gives which kind, and what is noise, is data (`data/entities.toml`), not code,
//! so a new log source is a line in that file.
//!
//! Accounts are keyed by their bare lower-case name: the domain is dropped because the sources
//! above spell it three ways (`PDO`, `PDO.EXAMPLE`, absent). Two forests with the same account
//! name would share a key; the hub cap of [`crate::correlate`] limits the damage.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::LazyLock;

use serde::Deserialize;
use serde_json::{Map, Value};
use tiaki::Detection;

use crate::model::{Entity, EntityKind};

/// The embedded entity rules (`data/entities.toml`).
pub const ENTITIES_TOML: &str = include_str!("../data/entities.toml");

/// Why an entity rules file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum EntityRulesError {
    /// The TOML did not parse or did not have the expected shape.
    #[error("entity rules: {0}")]
    Toml(#[from] toml::de::Error),
}

#[derive(Debug, Deserialize)]
struct AccountField {
    field: String,
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    require: Option<String>,
    /// `false`: shown, never joined on.
    #[serde(default = "yes")]
    join: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, Default)]
struct Noise {
    #[serde(default)]
    accounts: Vec<String>,
    #[serde(default)]
    account_domains: Vec<String>,
    #[serde(default)]
    account_prefixes: Vec<String>,
    #[serde(default)]
    host_scoped_domains: Vec<String>,
}

#[derive(Debug, Deserialize, Default)]
struct AddressRules {
    #[serde(default)]
    fields: Vec<String>,
    #[serde(default)]
    self_fields: Vec<String>,
    #[serde(default)]
    address_host_pairs: Vec<(String, String)>,
}

#[derive(Debug, Deserialize, Default)]
struct PeerHostRules {
    #[serde(default)]
    fields: Vec<String>,
    #[serde(default)]
    noise: Vec<String>,
}

#[derive(Debug, Deserialize, Default)]
struct ProcessRules {
    #[serde(default)]
    image_fields: Vec<String>,
    #[serde(default)]
    guid_fields: Vec<(String, String)>,
    #[serde(default)]
    noise_images: Vec<String>,
    #[serde(default)]
    common_image_dirs: Vec<String>,
}

#[derive(Debug, Deserialize, Default)]
struct FileRules {
    #[serde(default)]
    fields: Vec<String>,
    #[serde(default)]
    yara_fields: Vec<String>,
    #[serde(default)]
    noise_prefixes: Vec<String>,
}

#[derive(Debug, Deserialize, Default)]
struct WebShellRules {
    #[serde(default)]
    extensions: Vec<String>,
    #[serde(default)]
    web_roots: Vec<String>,
    #[serde(default)]
    deploy_images: Vec<String>,
    #[serde(default)]
    uri_fields: Vec<String>,
    #[serde(default)]
    method_fields: Vec<String>,
    #[serde(default)]
    query_fields: Vec<String>,
    #[serde(default)]
    status_fields: Vec<String>,
    #[serde(default)]
    uri_techniques: Vec<String>,
}

#[derive(Debug, Deserialize, Default)]
struct DomainRules {
    #[serde(default)]
    fields: Vec<String>,
    #[serde(default)]
    noise_suffixes: Vec<String>,
    #[serde(default)]
    noise: Vec<String>,
}

#[derive(Debug, Deserialize, Default)]
struct ImageSwitches {
    #[serde(default)]
    hosts: Vec<String>,
    #[serde(default)]
    accounts: Vec<String>,
}

#[derive(Debug, Deserialize, Default)]
struct CommandLineRules {
    #[serde(default)]
    fields: Vec<String>,
    #[serde(default)]
    host_switches: Vec<String>,
    #[serde(default)]
    account_switches: Vec<String>,
    #[serde(default)]
    image_switches: BTreeMap<String, ImageSwitches>,
}

#[derive(Debug, Deserialize, Default)]
struct HostRules {
    #[serde(default)]
    remote_when: Vec<String>,
}

/// The parsed entity rules: which fields give which entity kind and what is noise.
#[derive(Debug, Deserialize)]
pub struct EntityRules {
    #[serde(default)]
    host: HostRules,
    #[serde(default)]
    account: Vec<AccountField>,
    #[serde(default)]
    noise: Noise,
    #[serde(default)]
    address: AddressRules,
    #[serde(default)]
    peer_host: PeerHostRules,
    #[serde(default)]
    process: ProcessRules,
    #[serde(default)]
    file: FileRules,
    #[serde(default)]
    web_shell: WebShellRules,
    #[serde(default)]
    domain: DomainRules,
    #[serde(default)]
    command_line: CommandLineRules,
}

static EMBEDDED: LazyLock<EntityRules> =
    LazyLock::new(|| EntityRules::from_toml(ENTITIES_TOML).expect("data/entities.toml parses"));

impl EntityRules {
    /// The rules of the embedded `data/entities.toml`.
    pub fn embedded() -> &'static EntityRules {
        &EMBEDDED
    }

    /// Parses rules written like `data/entities.toml`.
    pub fn from_toml(text: &str) -> Result<EntityRules, EntityRulesError> {
        let mut r: EntityRules = toml::from_str(text)?;
        // Compare lower-case throughout.
        for list in [
            &mut r.noise.accounts,
            &mut r.noise.account_domains,
            &mut r.noise.account_prefixes,
            &mut r.noise.host_scoped_domains,
            &mut r.peer_host.noise,
            &mut r.process.noise_images,
            &mut r.process.common_image_dirs,
            &mut r.file.noise_prefixes,
            &mut r.web_shell.extensions,
            &mut r.web_shell.web_roots,
            &mut r.web_shell.deploy_images,
            &mut r.domain.noise_suffixes,
            &mut r.domain.noise,
            &mut r.command_line.host_switches,
            &mut r.command_line.account_switches,
        ] {
            for s in list.iter_mut() {
                *s = s.to_lowercase();
            }
        }
        Ok(r)
    }
}

/// What one detection says about the world, normalised.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extracted {
    /// The host the detection happened on (short, upper-case).
    pub host: Option<String>,
    /// Every entity found (sorted, deduplicated), the detection's own host included.
    pub entities: Vec<Entity>,
    /// Other hosts the event names: the source of a logon, the target of `net use`.
    pub peer_hosts: Vec<String>,
    /// Process GUIDs of the event's processes (lineage keys), system parents left out.
    pub guids: Vec<String>,
    /// Host-scoped accounts (`iis apppool\draftsportal`), keyed with the host.
    pub local_accounts: Vec<String>,
    /// Addresses learned to belong to a host: (address, host).
    pub address_hosts: Vec<(String, String)>,
    /// Entities whose path is common to every machine (`c:\windows\system32\cmd.exe`): shown,
    /// never joined on.
    pub weak: Vec<Entity>,
    /// The HTTP status of a web request, if the event is one.
    pub http_status: Option<u16>,
}

/// Short upper-case host name: `pdo-web01.pdo.example` → `PDO-WEB01`. Addresses stay as
/// they are.
pub fn normalize_host(s: &str) -> Option<String> {
    let s = s.trim().trim_start_matches("\\\\");
    if s.is_empty() || s == "-" {
        return None;
    }
    if let Some(ip) = normalize_address(s) {
        return Some(ip);
    }
    let short = s.split('.').next().unwrap_or(s);
    if short.is_empty() {
        return None;
    }
    Some(short.to_uppercase())
}

/// A canonical IP address (`::ffff:172.16.10.21` → `172.16.10.21`), or `None` if `s` is not
/// one or is loopback/unspecified.
pub fn normalize_address(s: &str) -> Option<String> {
    let s = s.trim();
    let s = s
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(s);
    let lower = s.to_ascii_lowercase();
    let s = lower.strip_prefix("::ffff:").unwrap_or(&lower);
    let ip: IpAddr = s.parse().ok()?;
    let ip = match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    if ip.is_loopback() || ip.is_unspecified() {
        return None;
    }
    if let IpAddr::V4(v4) = ip
        && (v4.is_broadcast() || v4.is_link_local() || v4.is_multicast())
    {
        return None;
    }
    if let IpAddr::V6(v6) = ip
        && (v6.is_multicast() || (v6.segments()[0] & 0xffc0) == 0xfe80)
    {
        return None;
    }
    Some(ip.to_string())
}

/// True for addresses that are private to an organisation: RFC 1918, shared address space
/// (100.64/10), link-local, loopback and IPv6 unique-local. Documentation ranges
/// (192.0.2/24, 198.51.100/24, 203.0.113/24) count as external, which is how the synthetic
/// scenarios use them.
pub fn is_internal(addr: &str) -> bool {
    match addr.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => {
            let o = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || (o[0] == 100 && (64..128).contains(&o[1]))
        }
        Ok(IpAddr::V6(v6)) => {
            v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00 || {
                (v6.segments()[0] & 0xffc0) == 0xfe80
            }
        }
        Err(_) => false,
    }
}

/// Text of a field, if it is a non-empty string or a number.
pub(crate) fn text<'a>(
    event: &'a Map<String, Value>,
    field: &str,
) -> Option<std::borrow::Cow<'a, str>> {
    match event.get(field)? {
        Value::String(s) if !s.trim().is_empty() => Some(std::borrow::Cow::Borrowed(s.trim())),
        Value::Number(n) => Some(std::borrow::Cow::Owned(n.to_string())),
        _ => None,
    }
}

/// The file name of a path (either separator), lower-case.
pub(crate) fn file_name(path: &str) -> String {
    path.rsplit(['\\', '/'])
        .next()
        .unwrap_or(path)
        .to_ascii_lowercase()
}

impl EntityRules {
    /// A normalised account from a name and an optional domain, or `None` for noise. Host-scoped
    /// identities (`IIS APPPOOL\x`) come back with `local = true`.
    pub fn account(&self, name: &str, domain: Option<&str>) -> Option<(String, bool)> {
        let name = name.trim().trim_matches('"');
        let (mut dom, mut user) = match name.split_once('\\') {
            Some((d, u)) => (Some(d.to_string()), u.to_string()),
            None => (domain.map(str::to_string), name.to_string()),
        };
        if let Some((u, realm)) = user.clone().split_once('@') {
            user = u.to_string();
            if dom.is_none() {
                dom = Some(realm.to_string());
            }
        }
        let user = user.trim().to_lowercase();
        let dom = dom
            .map(|d| d.trim().to_lowercase())
            .filter(|d| !d.is_empty() && d != "-");
        if user.is_empty() || user.ends_with('$') || self.noise.accounts.contains(&user) {
            return None;
        }
        if self
            .noise
            .account_prefixes
            .iter()
            .any(|p| user.starts_with(p.as_str()))
        {
            return None;
        }
        if let Some(d) = &dom {
            if self.noise.account_domains.contains(d) {
                return None;
            }
            if self.noise.host_scoped_domains.contains(d) {
                return Some((format!("{d}\\{user}"), true));
            }
        }
        Some((user, false))
    }

    fn is_noise_image(&self, path: &str) -> bool {
        self.process.noise_images.contains(&file_name(path))
    }

    fn is_common_path(&self, path_lower: &str) -> bool {
        self.process
            .common_image_dirs
            .iter()
            .any(|d| path_lower.starts_with(d.as_str()))
    }

    /// The web-root-relative URI of a script file under a web root (`/drafts/x/spinner.aspx`),
    /// if the path is one.
    pub fn web_shell_path(&self, path: &str) -> Option<String> {
        let lower = path.to_lowercase();
        if !self.is_script(&lower) {
            return None;
        }
        for root in &self.web_shell.web_roots {
            if let Some(i) = lower.find(root.as_str()) {
                let rest = &lower[i + root.len()..];
                if rest.starts_with(['\\', '/']) {
                    return Some(rest.replace('\\', "/"));
                }
            }
        }
        None
    }

    fn is_script(&self, lower: &str) -> bool {
        self.web_shell
            .extensions
            .iter()
            .any(|e| lower.ends_with(e.as_str()))
    }

    fn domain(&self, s: &str) -> Option<String> {
        let d = s.trim().trim_end_matches('.').to_lowercase();
        if d.is_empty()
            || self.domain.noise.contains(&d)
            || !d.contains('.')
            || normalize_address(&d).is_some()
            || d.contains(['\\', '/', ' ', ':'])
        {
            return None;
        }
        if self
            .domain
            .noise_suffixes
            .iter()
            .any(|s| d.ends_with(s.as_str()) || format!(".{d}") == *s)
        {
            return None;
        }
        Some(d)
    }

    /// Everything the detection's event names.
    pub fn extract(&self, d: &Detection) -> Extracted {
        let ev = &d.event;
        let remote = self.host.remote_when.iter().any(|f| ev.contains_key(f));
        let mut out = Extracted {
            host: if remote {
                None
            } else {
                d.host.as_deref().and_then(normalize_host)
            },
            ..Default::default()
        };
        let mut ents: BTreeSet<Entity> = BTreeSet::new();
        if remote && let Some(h) = &d.host {
            if let Some(ip) = normalize_address(h) {
                ents.insert(Entity {
                    kind: EntityKind::Address,
                    value: ip,
                });
            } else if let Some(dom) = self.domain(h) {
                ents.insert(Entity {
                    kind: EntityKind::Domain,
                    value: dom,
                });
            }
        }
        let mut weak: BTreeSet<Entity> = BTreeSet::new();
        let mut peers: BTreeSet<String> = BTreeSet::new();
        let mut locals: BTreeSet<String> = BTreeSet::new();
        let push = |set: &mut BTreeSet<Entity>, kind: EntityKind, value: String| {
            set.insert(Entity { kind, value });
        };
        if let Some(h) = &out.host {
            push(&mut ents, EntityKind::Host, h.clone());
        }

        // Accounts.
        for a in &self.account {
            if let Some(req) = &a.require
                && !ev.contains_key(req)
            {
                continue;
            }
            let Some(name) = text(ev, &a.field) else {
                continue;
            };
            let dom = a.domain.as_deref().and_then(|f| text(ev, f));
            if let Some((acc, local)) = self.account(&name, dom.as_deref()) {
                if local {
                    locals.insert(acc.clone());
                }
                if a.join {
                    push(&mut ents, EntityKind::Account, acc);
                } else {
                    push(&mut weak, EntityKind::Account, acc);
                }
            }
        }

        // Addresses, and which host an address belongs to.
        let mut self_addrs = BTreeSet::new();
        for f in &self.address.self_fields {
            if let Some(ip) = text(ev, f).and_then(|v| normalize_address(&v))
                && let Some(h) = &out.host
            {
                self_addrs.insert(ip.clone());
                out.address_hosts.push((ip, h.clone()));
            }
        }
        for (af, hf) in &self.address.address_host_pairs {
            if let (Some(ip), Some(h)) = (
                text(ev, af).and_then(|v| normalize_address(&v)),
                text(ev, hf).and_then(|v| self.peer_host(&v)),
            ) {
                out.address_hosts.push((ip, h));
            }
        }
        for f in &self.address.fields {
            let Some(v) = text(ev, f) else { continue };
            // X-Forwarded-For may list several.
            for part in v.split([',', ' ']) {
                if let Some(ip) = normalize_address(part)
                    && !self_addrs.contains(&ip)
                {
                    push(&mut ents, EntityKind::Address, ip);
                }
            }
        }

        // Other hosts.
        for f in &self.peer_host.fields {
            if let Some(h) = text(ev, f).and_then(|v| self.peer_host(&v)) {
                peers.insert(h);
            }
        }

        // Processes: images, lineage GUIDs.
        for f in &self.process.image_fields {
            let Some(img) = text(ev, f) else { continue };
            if self.is_noise_image(&img) {
                continue;
            }
            let lower = img.to_lowercase();
            let e = Entity {
                kind: EntityKind::Process,
                value: lower.clone(),
            };
            if self.is_common_path(&lower) {
                weak.insert(e);
            } else {
                ents.insert(e);
            }
        }
        for (gf, imgf) in &self.process.guid_fields {
            let Some(g) = text(ev, gf) else { continue };
            if text(ev, imgf).is_some_and(|img| self.is_noise_image(&img)) {
                continue;
            }
            let g = g.trim_matches(['{', '}']).to_ascii_lowercase();
            if !g.is_empty() && g.chars().any(|c| c != '0' && c != '-') {
                out.guids.push(g);
            }
        }

        // Files and web shells.
        let writer = text(ev, "Image").map(|i| file_name(&i));
        let deploy = writer
            .as_deref()
            .is_some_and(|w| self.web_shell.deploy_images.iter().any(|d| d == w));
        let yara_fields = if d.yara.is_some() {
            &self.file.yara_fields[..]
        } else {
            &[]
        };
        for f in self.file.fields.iter().chain(yara_fields) {
            let Some(p) = text(ev, f) else { continue };
            let lower = p.to_lowercase();
            if self
                .file
                .noise_prefixes
                .iter()
                .any(|n| lower.starts_with(n.as_str()))
            {
                continue;
            }
            match self.web_shell_path(&p) {
                Some(uri) if !deploy => push(&mut ents, EntityKind::WebShell, uri),
                _ => push(&mut ents, EntityKind::File, lower),
            }
        }
        out.http_status = self
            .web_shell
            .status_fields
            .iter()
            .find_map(|f| text(ev, f))
            .and_then(|s| s.parse::<u16>().ok());
        for f in &self.web_shell.uri_fields {
            let Some(uri) = text(ev, f) else { continue };
            let lower = uri.to_lowercase();
            if !self.is_script(&lower) {
                continue;
            }
            let method = self
                .web_shell
                .method_fields
                .iter()
                .find_map(|m| text(ev, m))
                .map(|m| m.to_ascii_uppercase());
            let query = self
                .web_shell
                .query_fields
                .iter()
                .find_map(|m| text(ev, m))
                .filter(|q| q != "-");
            let served = out.http_status.is_some_and(|s| s < 400);
            let says_shell = self.web_shell.uri_techniques.is_empty()
                || d.attack.iter().any(|t| {
                    self.web_shell
                        .uri_techniques
                        .iter()
                        .any(|w| w.eq_ignore_ascii_case(t))
                });
            if served && says_shell && (method.as_deref() == Some("POST") || query.is_some()) {
                push(&mut ents, EntityKind::WebShell, lower);
            }
        }

        // Domains.
        for f in &self.domain.fields {
            if let Some(dom) = text(ev, f).and_then(|v| self.domain(&v)) {
                push(&mut ents, EntityKind::Domain, dom);
            }
        }

        // Command lines.
        let image = text(ev, "Image").map(|i| file_name(&i)).unwrap_or_default();
        for f in &self.command_line.fields {
            let Some(cl) = text(ev, f) else { continue };
            self.command_line(&cl, &image, &mut peers, &mut ents);
        }

        // Indicator hits: the value that matched.
        if let Some(ind) = &d.indicator {
            match ind.kind.as_str() {
                "ipv4" | "ipv6" | "ip" => {
                    if let Some(ip) = normalize_address(&ind.value) {
                        push(&mut ents, EntityKind::Address, ip);
                    }
                }
                "domain" | "domain-name" | "hostname" => {
                    if let Some(dom) = self.domain(&ind.value) {
                        push(&mut ents, EntityKind::Domain, dom);
                    }
                }
                "url" => {
                    if let Some(e) = self.url_host(&ind.value) {
                        ents.insert(e);
                    }
                }
                "pattern" => {
                    if let Some(ip) = normalize_address(&ind.value) {
                        push(&mut ents, EntityKind::Address, ip);
                    }
                }
                _ => {}
            }
        }

        // Correlation groups name their fields like events do; nothing more to add.
        if let Some(h) = &out.host {
            peers.remove(h);
        }
        // A peer host spelled as an address is an address.
        let peers: Vec<String> = peers
            .into_iter()
            .filter(|p| {
                if normalize_address(p).is_some() {
                    ents.insert(Entity {
                        kind: EntityKind::Address,
                        value: p.clone(),
                    });
                    false
                } else {
                    true
                }
            })
            .collect();
        out.peer_hosts = peers;
        out.local_accounts = locals.into_iter().collect();
        out.guids.sort();
        out.guids.dedup();
        out.weak = weak.into_iter().filter(|e| !ents.contains(e)).collect();
        out.entities = ents.into_iter().collect();
        out
    }

    fn peer_host(&self, v: &str) -> Option<String> {
        let lower = v.trim().to_lowercase();
        if self.peer_host.noise.contains(&lower) {
            return None;
        }
        normalize_host(v)
    }

    /// The host of a URL as an address or domain entity.
    pub fn url_host(&self, url: &str) -> Option<Entity> {
        let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
        let hostport = rest.split(['/', '?', '#']).next()?;
        let hostport = hostport.rsplit('@').next()?;
        let host = if hostport.starts_with('[') {
            hostport.split(']').next()?.trim_start_matches('[')
        } else {
            hostport.split(':').next()?
        };
        if let Some(ip) = normalize_address(host) {
            return Some(Entity {
                kind: EntityKind::Address,
                value: ip,
            });
        }
        self.domain(host).map(|value| Entity {
            kind: EntityKind::Domain,
            value,
        })
    }

    fn command_line(
        &self,
        cl: &str,
        image: &str,
        peers: &mut BTreeSet<String>,
        ents: &mut BTreeSet<Entity>,
    ) {
        // ASCII lower-casing keeps byte offsets valid in `cl`.
        let lower = cl.to_ascii_lowercase();
        // UNC paths: \\HOST\share.
        let mut rest = cl;
        while let Some(i) = rest.find("\\\\") {
            let after = &rest[i + 2..];
            let end = after
                .find(|c: char| c == '\\' || c == '"' || c == '\'' || c.is_whitespace())
                .unwrap_or(after.len());
            let name = &after[..end];
            if is_host_token(name)
                && let Some(h) = self.peer_host(name)
            {
                peers.insert(h);
            }
            rest = &after[end..];
        }
        let mut host_sw: Vec<&str> = self
            .command_line
            .host_switches
            .iter()
            .map(String::as_str)
            .collect();
        let mut acc_sw: Vec<&str> = self
            .command_line
            .account_switches
            .iter()
            .map(String::as_str)
            .collect();
        if let Some(extra) = self.command_line.image_switches.get(image) {
            host_sw.extend(extra.hosts.iter().map(String::as_str));
            acc_sw.extend(extra.accounts.iter().map(String::as_str));
        }
        for sw in host_sw {
            for v in switch_values(cl, &lower, &sw.to_lowercase()) {
                if is_host_token(&v)
                    && let Some(h) = self.peer_host(&v)
                {
                    peers.insert(h);
                }
            }
        }
        for sw in acc_sw {
            for v in switch_values(cl, &lower, &sw.to_lowercase()) {
                if let Some((acc, false)) = self.account(&v, None) {
                    ents.insert(Entity {
                        kind: EntityKind::Account,
                        value: acc,
                    });
                }
            }
        }
        // URLs.
        for scheme in ["http://", "https://"] {
            let mut from = 0;
            while let Some(i) = lower[from..].find(scheme) {
                let start = from + i;
                let end = cl[start..]
                    .find(|c: char| c.is_whitespace() || c == '"' || c == '\'')
                    .map(|e| start + e)
                    .unwrap_or(cl.len());
                if let Some(e) = self.url_host(&cl[start..end]) {
                    ents.insert(e);
                }
                from = end.max(start + scheme.len());
            }
        }
    }
}

/// The values following a switch (`/node:PDO-SQL01` → `PDO-SQL01`), quotes removed.
fn switch_values(cl: &str, lower: &str, sw: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = lower[from..].find(sw) {
        let start = from + i;
        // The switch must start a token.
        let ok = start == 0 || lower[..start].ends_with([' ', '\t', '"']);
        let vstart = start + sw.len();
        let v = cl[vstart..].trim_start();
        let v = if let Some(q) = v.strip_prefix('"') {
            q.split('"').next().unwrap_or("")
        } else {
            v.split_whitespace().next().unwrap_or("")
        };
        if ok && !v.is_empty() && !v.starts_with(['/', '-']) {
            out.push(v.to_string());
        }
        from = vstart;
    }
    out
}

/// A plausible host name or address: letters, digits, `-`, `_`, `.`, at least one letter or a
/// dot (so `\\?\C:` and `\\*\IPC$` are not hosts).
fn is_host_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && s.chars().any(|c| c.is_ascii_alphabetic() || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn det(event: Value) -> Detection {
        serde_json::from_value(json!({
            "rule_id": "r", "rule_title": "t", "level": "high",
            "timestamp": "2025-03-03T02:31:44Z", "host": "pdo-web01.pdo.example",
            "attack": [], "source": {"path": "x", "line": 1},
            "event": event, "kind": "detection", "rule_path": "r.yml"
        }))
        .unwrap()
    }

    fn has(x: &Extracted, kind: EntityKind, v: &str) -> bool {
        x.entities.iter().any(|e| e.kind == kind && e.value == v)
    }

    #[test]
    fn embedded_rules_parse() {
        let r = EntityRules::embedded();
        assert!(!r.account.is_empty());
    }

    #[test]
    fn normalises_hosts_addresses_and_accounts() {
        assert_eq!(
            normalize_host("pdo-web01.pdo.example").unwrap(),
            "PDO-WEB01"
        );
        assert_eq!(
            normalize_address("::ffff:172.16.10.21").unwrap(),
            "172.16.10.21"
        );
        assert_eq!(normalize_address("127.0.0.1"), None);
        assert_eq!(normalize_address("::"), None);
        assert_eq!(normalize_address("-"), None);
        let r = EntityRules::embedded();
        assert_eq!(r.account("PDO\\svc_sqlrpt", None).unwrap().0, "svc_sqlrpt");
        assert_eq!(
            r.account("svc_draftsweb@PDO.EXAMPLE", None).unwrap().0,
            "svc_draftsweb"
        );
        assert_eq!(r.account("SYSTEM", Some("NT AUTHORITY")), None);
        assert_eq!(r.account("PDO-WEB01$", Some("PDO")), None);
        assert_eq!(r.account("ANONYMOUS LOGON", None), None);
        assert_eq!(r.account("-", None), None);
        assert_eq!(
            r.account("IIS APPPOOL\\DraftsPortal", None).unwrap(),
            ("iis apppool\\draftsportal".to_string(), true)
        );
        assert!(is_internal("10.20.0.10") && is_internal("172.16.10.21"));
        assert!(!is_internal("203.0.113.45"));
    }

    #[test]
    fn finds_logon_entities_and_peer_host() {
        let r = EntityRules::embedded();
        let mut d = det(json!({
            "EventID": 4624, "TargetUserName": "svc_sqlrpt", "TargetDomainName": "PDO",
            "IpAddress": "::ffff:172.16.10.21", "WorkstationName": "PDO-WEB01",
            "SubjectUserName": "-", "Computer": "PDO-FS01"
        }));
        d.host = Some("PDO-FS01".into());
        let x = r.extract(&d);
        assert!(has(&x, EntityKind::Account, "svc_sqlrpt"));
        assert!(has(&x, EntityKind::Address, "172.16.10.21"));
        assert_eq!(x.peer_hosts, vec!["PDO-WEB01".to_string()]);
        assert_eq!(
            x.address_hosts,
            vec![("172.16.10.21".to_string(), "PDO-WEB01".to_string())]
        );
    }

    #[test]
    fn web_shell_file_and_uri_agree() {
        let r = EntityRules::embedded();
        let f = r.extract(&det(json!({
            "EventID": 11, "Image": "C:\\Windows\\System32\\inetsrv\\w3wp.exe",
            "TargetFilename": "C:\\inetpub\\wwwroot\\drafts\\Images\\thumbs\\spinner.aspx"
        })));
        let mut post = det(json!({
            "cs-method": "POST", "cs-uri-stem": "/drafts/Images/thumbs/spinner.aspx",
            "cs-uri-query": "-", "c-ip": "203.0.113.45", "s-ip": "172.16.10.21", "sc-status": "200"
        }));
        // Only a rule about web shells makes a URI one (an upload handler receives POSTs too).
        assert!(
            !r.extract(&post)
                .entities
                .iter()
                .any(|e| e.kind == EntityKind::WebShell)
        );
        post.attack = vec!["T1505.003".into()];
        let u = r.extract(&post);
        assert!(has(
            &f,
            EntityKind::WebShell,
            "/drafts/images/thumbs/spinner.aspx"
        ));
        assert!(has(
            &u,
            EntityKind::WebShell,
            "/drafts/images/thumbs/spinner.aspx"
        ));
        assert!(has(&u, EntityKind::Address, "203.0.113.45"));
        assert!(
            !has(&u, EntityKind::Address, "172.16.10.21"),
            "s-ip is the host's own"
        );
        assert_eq!(u.http_status, Some(200));
        // A failed POST is no web shell; a deployment tool's page is a file.
        let failed = r.extract(&det(json!({
            "cs-method": "POST", "cs-uri-stem": "/shell.aspx", "sc-status": "404", "c-ip": "192.0.2.9"
        })));
        // (no technique on it either way)
        assert!(
            !failed
                .entities
                .iter()
                .any(|e| e.kind == EntityKind::WebShell)
        );
        let deploy = r.extract(&det(json!({
            "Image": "C:\\Program Files\\IIS\\Microsoft Web Deploy V3\\msdeploy.exe",
            "TargetFilename": "C:\\inetpub\\wwwroot\\drafts\\Reports\\Summary.aspx"
        })));
        assert!(
            !deploy
                .entities
                .iter()
                .any(|e| e.kind == EntityKind::WebShell)
        );
        assert!(deploy.entities.iter().any(|e| e.kind == EntityKind::File));
    }

    #[test]
    fn command_lines_name_hosts_accounts_and_urls() {
        let r = EntityRules::embedded();
        let x = r.extract(&det(json!({
            "Image": "C:\\Windows\\System32\\wbem\\WMIC.exe",
            "CommandLine": "wmic /node:PDO-SQL01 /user:PDO\\svc_sqlrpt /password:x process call create \"cmd /c copy \\\\PDO-FS01\\C$\\a.txt http://203.0.113.77/s.txt\"",
            "ParentImage": "C:\\Windows\\System32\\services.exe",
            "ParentProcessGuid": "{AAAA-1}", "ProcessGuid": "{BBBB-2}",
            "User": "NT AUTHORITY\\SYSTEM"
        })));
        assert_eq!(
            x.peer_hosts,
            vec!["PDO-FS01".to_string(), "PDO-SQL01".to_string()]
        );
        assert!(has(&x, EntityKind::Account, "svc_sqlrpt"));
        assert!(has(&x, EntityKind::Address, "203.0.113.77"));
        assert_eq!(
            x.guids,
            vec!["bbbb-2".to_string()],
            "services.exe is no lineage joiner"
        );
        assert!(
            !x.entities
                .iter()
                .any(|e| e.kind == EntityKind::Account && e.value == "system")
        );
        assert!(x.weak.iter().any(|e| e.value.ends_with("wmic.exe")));
        // schtasks /s is a host; del /s is not.
        let s = r.extract(&det(json!({
            "Image": "C:\\Windows\\System32\\schtasks.exe",
            "CommandLine": "schtasks /create /s PDO-FS01 /u PDO\\svc_sqlrpt /tn x"
        })));
        assert_eq!(s.peer_hosts, vec!["PDO-FS01".to_string()]);
        let d = r.extract(&det(json!({
            "Image": "C:\\Windows\\System32\\cmd.exe",
            "CommandLine": "cmd /c del /s /q C:\\PerfLogs\\*"
        })));
        assert!(d.peer_hosts.is_empty());
    }

    #[test]
    fn non_ascii_command_lines_do_not_panic() {
        let r = EntityRules::embedded();
        let x = r.extract(&det(json!({
            "Image": "C:\\Windows\\System32\\net.exe",
            "CommandLine": "İİİ net use \\\\FS-İ\\c$ /user:PDO\\İnci /node:ŞŞ http://ö.example/x"
        })));
        assert!(x.entities.iter().any(|e| e.kind == EntityKind::Account));
    }

    #[test]
    fn a_sensor_log_host_is_the_server_asked_for() {
        let r = EntityRules::embedded();
        let mut d = det(json!({
            "uid": "C1", "id.orig_h": "10.30.10.114", "id.resp_h": "10.30.0.5",
            "host": "content.dropboxapi.com", "status_code": 200, "method": "POST"
        }));
        d.host = Some("content.dropboxapi.com".into());
        let x = r.extract(&d);
        assert_eq!(x.host, None);
        assert!(has(&x, EntityKind::Domain, "content.dropboxapi.com"));
        assert!(has(&x, EntityKind::Address, "10.30.10.114"));
        assert_eq!(x.http_status, Some(200));
    }

    #[test]
    fn kerberos_service_name_is_an_account_but_a_service_is_not() {
        let r = EntityRules::embedded();
        let tgs = r.extract(&det(json!({
            "EventID": 4769, "TargetUserName": "svc_draftsweb@PDO.EXAMPLE",
            "ServiceName": "svc_sqlrpt", "TicketEncryptionType": "0x17",
            "IpAddress": "::ffff:172.16.10.21"
        })));
        // The ticket's service is shown but not joined on: Kerberoasting asks for every SPN.
        assert!(
            tgs.weak
                .iter()
                .any(|e| e.kind == EntityKind::Account && e.value == "svc_sqlrpt")
        );
        assert!(has(&tgs, EntityKind::Account, "svc_draftsweb"));
        let svc = r.extract(&det(json!({
            "EventID": 7045, "ServiceName": "WiaDbgSvc", "AccountName": "LocalSystem"
        })));
        assert!(!svc.entities.iter().any(|e| e.kind == EntityKind::Account));
    }
}
