//! Cyber-observable objects for incident entities and matched indicators, and STIX patterns
//! for indicators that came without one.
//!
//! Only entities that mean something to a partner become SCOs: addresses, domains, URLs,
//! files (with their directory) and accounts. Host names and process images are internal
//! details of the victim's estate and are not shared.

use std::net::IpAddr;

use serde_json::{Map, Value, json};
use tiaki_incident::{Entity, EntityKind};

use crate::ids::sco_id;

/// An SCO with its deterministic id, plus the SCOs it references (a file's directory).
#[derive(Debug, Clone)]
pub(crate) struct Sco {
    /// The main object (with `id`).
    pub obj: Map<String, Value>,
    /// Objects it references, to export alongside.
    pub extra: Vec<Map<String, Value>>,
    /// Short label for reports (`ipv4-addr 203.0.113.7`).
    pub label: String,
}

impl Sco {
    pub(crate) fn id(&self) -> &str {
        self.obj["id"].as_str().unwrap_or_default()
    }
}

fn finish(mut m: Map<String, Value>, extra: Vec<Map<String, Value>>) -> Sco {
    let id = sco_id(&m);
    let ty = m["type"].as_str().unwrap_or_default().to_string();
    let shown = ["value", "name", "account_login", "path"]
        .iter()
        .find_map(|k| m.get(*k).and_then(Value::as_str).map(str::to_string))
        .or_else(|| {
            m.get("hashes")
                .and_then(Value::as_object)
                .and_then(|h| h.values().next())
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_default();
    m.insert("id".into(), Value::String(id));
    m.insert("spec_version".into(), json!("2.1"));
    Sco {
        obj: m,
        extra,
        label: format!("{ty} {shown}"),
    }
}

fn simple(ty: &str, key: &str, value: &str) -> Sco {
    let mut m = Map::new();
    m.insert("type".into(), json!(ty));
    m.insert(key.into(), json!(value));
    finish(m, Vec::new())
}

fn address(value: &str) -> Option<Sco> {
    match value.trim().parse::<IpAddr>().ok()? {
        IpAddr::V4(a) => Some(simple("ipv4-addr", "value", &a.to_string())),
        IpAddr::V6(a) => Some(simple("ipv6-addr", "value", &a.to_string())),
    }
}

/// A file by path: `file {name, parent_directory_ref}` plus the `directory {path}`.
fn file_path(path: &str) -> Option<Sco> {
    let path = path.trim();
    let cut = path.rfind(['/', '\\']);
    let (dir, name) = match cut {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    };
    if name.is_empty() {
        return None;
    }
    let mut m = Map::new();
    m.insert("type".into(), json!("file"));
    m.insert("name".into(), json!(name));
    let mut extra = Vec::new();
    if !dir.is_empty() {
        let d = simple("directory", "path", dir);
        m.insert("parent_directory_ref".into(), json!(d.id()));
        extra.push(d.obj);
    }
    Some(finish(m, extra))
}

/// The SCO for an incident entity, if it is one that is shared.
pub(crate) fn entity_sco(e: &Entity) -> Option<Sco> {
    let v = e.value.trim();
    if v.is_empty() {
        return None;
    }
    match e.kind {
        EntityKind::Address => address(v),
        EntityKind::Domain => Some(simple("domain-name", "value", &v.to_ascii_lowercase())),
        EntityKind::Account => Some(simple("user-account", "account_login", v)),
        EntityKind::File | EntityKind::WebShell => {
            if v.contains("://") {
                Some(simple("url", "value", v))
            } else {
                file_path(v)
            }
        }
        EntityKind::Host | EntityKind::Process => None,
    }
}

fn hash_sco(algo: &str, value: &str) -> Sco {
    let mut m = Map::new();
    m.insert("type".into(), json!("file"));
    m.insert("hashes".into(), json!({ algo: value.to_ascii_lowercase() }));
    finish(m, Vec::new())
}

/// A STIX string literal: quotes and backslashes escaped.
fn lit(v: &str) -> String {
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The observable an indicator hit is about and a pattern for it, from the indicator's kind
/// (`ipv4`, `domain`, `sha256`…) and the matched value. `None` for kinds with no STIX form.
pub(crate) fn indicator_observable(kind: &str, value: &str) -> Option<(Sco, String)> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    let hash = |algo: &str, path: &str| {
        let v = value.to_ascii_lowercase();
        Some((
            hash_sco(algo, &v),
            format!("[file:hashes.{path} = {}]", lit(&v)),
        ))
    };
    match kind.to_ascii_lowercase().as_str() {
        "ipv4" | "ipv6" | "ip" | "ipv4-addr" | "ipv6-addr" | "address" => {
            let sco = address(value)?;
            let ty = sco.obj["type"].as_str().unwrap_or("ipv4-addr").to_string();
            let v = sco.obj["value"].as_str().unwrap_or(value).to_string();
            Some((sco, format!("[{ty}:value = {}]", lit(&v))))
        }
        "domain" | "domain-name" | "hostname" => {
            let v = value.to_ascii_lowercase();
            Some((
                simple("domain-name", "value", &v),
                format!("[domain-name:value = {}]", lit(&v)),
            ))
        }
        "url" | "uri" => Some((
            simple("url", "value", value),
            format!("[url:value = {}]", lit(value)),
        )),
        "email" | "email-addr" => Some((
            simple("email-addr", "value", value),
            format!("[email-addr:value = {}]", lit(value)),
        )),
        "md5" => hash("MD5", "MD5"),
        "sha1" | "sha-1" => hash("SHA-1", "'SHA-1'"),
        "sha256" | "sha-256" => hash("SHA-256", "'SHA-256'"),
        "sha512" | "sha-512" => hash("SHA-512", "'SHA-512'"),
        "file-name" | "filename" | "file" => {
            let sco = file_path(value)?;
            let name = sco.obj["name"].as_str().unwrap_or(value).to_string();
            Some((sco, format!("[file:name = {}]", lit(&name))))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_id_matches_the_specification() {
        let s = entity_sco(&Entity {
            kind: EntityKind::Address,
            value: "198.51.100.7".into(),
        })
        .unwrap();
        assert_eq!(s.id(), "ipv4-addr--12592121-be4c-5a93-a813-5a5af16e50db");
    }

    #[test]
    fn patterns_are_escaped_and_parse() {
        let (_, p) = indicator_observable("file-name", r"C:\x\it's.aspx").unwrap();
        assert_eq!(p, r"[file:name = 'it\'s.aspx']");
        for (k, v) in [
            ("ipv4", "203.0.113.9"),
            ("domain", "Evil.example"),
            ("sha256", &"A".repeat(64)),
            ("md5", &"b".repeat(32)),
            ("url", "http://x.example/a?b='c'"),
        ] {
            let (_, p) = indicator_observable(k, v).unwrap();
            tiaki_stix::Pattern::parse(&p).unwrap_or_else(|e| panic!("{p}: {e}"));
        }
        assert!(indicator_observable("yara", "x").is_none());
    }

    #[test]
    fn files_get_their_directory() {
        let s = entity_sco(&Entity {
            kind: EntityKind::WebShell,
            value: r"C:\inetpub\wwwroot\aspnet_client\help.aspx".into(),
        })
        .unwrap();
        assert_eq!(s.obj["name"], "help.aspx");
        assert_eq!(s.extra[0]["path"], r"C:\inetpub\wwwroot\aspnet_client");
        assert_eq!(s.obj["parent_directory_ref"], s.extra[0]["id"]);
    }
}
