//! MISP events and MISP feed folders, read directly (no MISP server, no STIX conversion).
//!
//! Only `to_ids` attributes are detection indicators; the rest is context. Attribute types
//! map to observable kinds as MISP's own STIX converter does (research note §4.2), with two
//! departures that make detection better: `ip-dst|port` compares the port as a number (the
//! converter's pattern compares it as a string and never matches), and the hashes of one
//! file object are alternatives (any of them identifies the file) rather than all required.
//! TLP follows MISP: an attribute's own `tlp:*` tag overrides the event's.
//!
//! MISP writes numbers and booleans as strings in feed files (`"to_ids": "1"`,
//! `"timestamp": "1714560000"`) and as native values elsewhere; both are accepted.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
use tiaki_stix::Tlp;

use super::{FeedError, FeedReport, Interner, Position, io_error, parse_time};
use crate::indicator::{Condition, Indicator, Term, synthetic_id};
use crate::observable::ObservableKind;

/// Upper bound on the alternatives one MISP object expands to.
const MAX_ALTERNATIVES: usize = 64;

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn flag(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_i64().is_some_and(|n| n != 0),
        Some(Value::String(s)) => {
            matches!(s.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes")
        }
        _ => false,
    }
}

fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// What an entity's tags say.
#[derive(Default, Clone)]
struct Tags {
    tlp: Option<Tlp>,
    actors: Vec<String>,
    labels: Vec<String>,
}

impl Tags {
    /// From `Tag[]` (objects with a `name`, or plain strings) and `Galaxy[]`.
    fn of(entity: &Value) -> Tags {
        let mut t = Tags::default();
        for tag in array(entity, "Tag") {
            let name = match tag {
                Value::String(s) => s.as_str(),
                _ => match tag.get("name").and_then(Value::as_str) {
                    Some(n) => n,
                    None => continue,
                },
            };
            t.add_tag(name);
        }
        for g in array(entity, "Galaxy") {
            let ty = g.get("type").and_then(Value::as_str).unwrap_or("");
            if is_actor_galaxy(ty) {
                for c in array(g, "GalaxyCluster") {
                    if let Some(v) = c.get("value").and_then(Value::as_str) {
                        t.add_actor(v);
                    }
                }
            }
        }
        t
    }

    fn add_tag(&mut self, name: &str) {
        let n = name.trim();
        if n.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("tlp:")) {
            if let Ok(l) = n.parse::<Tlp>() {
                self.tlp = self.tlp.max(Some(l));
            }
            return;
        }
        if let Some(rest) = n.strip_prefix("misp-galaxy:")
            && let Some((galaxy, value)) = rest.split_once('=')
            && is_actor_galaxy(galaxy)
        {
            self.add_actor(value.trim().trim_matches('"'));
            return;
        }
        if !self.labels.iter().any(|l| l == n) {
            self.labels.push(n.to_string());
        }
    }

    fn add_actor(&mut self, value: &str) {
        // `mitre-intrusion-set` values carry the ATT&CK id: `APT40 - G0065`.
        let v = match value.rsplit_once(" - ") {
            Some((n, id)) if id.starts_with('G') && id[1..].bytes().all(|b| b.is_ascii_digit()) => {
                n
            }
            _ => value,
        }
        .trim();
        if !v.is_empty() && !self.actors.iter().any(|a| a == v) {
            self.actors.push(v.to_string());
        }
    }
}

fn is_actor_galaxy(g: &str) -> bool {
    g == "threat-actor" || g.ends_with("intrusion-set")
}

/// Why an attribute gives no term.
enum Unmapped {
    /// A type tiaki does not index (`AS`, `text`, `yara`…).
    Type,
    /// The value is not what the type says.
    Value(String),
}

/// The terms (all required) of one attribute.
fn attribute_terms(ty: &str, value: &str) -> Result<Vec<Term>, Unmapped> {
    use ObservableKind as K;
    let bad = || Unmapped::Value(format!("'{value}' is not a valid {ty}"));
    let one = |k: K, v: &str| Term::equals(k, v).ok_or_else(bad);
    let ip = |v: &str| Term::ip(v).ok_or_else(bad);
    fn split(v: &str) -> Option<(&str, &str)> {
        v.split_once('|')
    }
    let hash_kind = |h: &str| match h {
        "md5" => Some(K::Md5),
        "sha1" => Some(K::Sha1),
        "sha256" => Some(K::Sha256),
        "sha512" => Some(K::Sha512),
        "imphash" => Some(K::Imphash),
        _ => None,
    };
    Ok(match ty {
        "ip-src" | "ip-dst" => vec![ip(value)?],
        "ip-src|port" | "ip-dst|port" => {
            // IPv6 addresses contain colons, never pipes; the port follows the last pipe.
            let (a, p) = value.rsplit_once('|').ok_or_else(bad)?;
            vec![ip(a)?, one(K::Port, p)?]
        }
        "domain" | "hostname" => vec![one(K::Domain, value)?],
        "domain|ip" => {
            let (d, a) = split(value).ok_or_else(bad)?;
            vec![one(K::Domain, d)?, ip(a)?]
        }
        "hostname|port" => {
            let (d, p) = split(value).ok_or_else(bad)?;
            vec![one(K::Domain, d)?, one(K::Port, p)?]
        }
        "url" | "link" => vec![one(K::Url, value)?],
        // A `uri` is usually a path (`/gate.php`): a substring of the URLs that carry it.
        "uri" => vec![
            Term::equals(K::Url, value)
                .or_else(|| Term::contains(K::Url, value))
                .ok_or_else(bad)?,
        ],
        "email"
        | "email-src"
        | "email-dst"
        | "email-reply-to"
        | "target-email"
        | "whois-registrant-email" => {
            vec![one(K::Email, value)?]
        }
        "filename" | "email-attachment" => vec![one(K::FileName, value)?],
        "mutex" => vec![one(K::Mutex, value)?],
        "regkey" => vec![one(K::RegistryKey, value)?],
        // The key only: tiaki has no registry-value observable.
        "regkey|value" => vec![one(K::RegistryKey, split(value).ok_or_else(bad)?.0)?],
        "user-agent" => vec![one(K::UserAgent, value)?],
        "malware-sample" => {
            let (f, h) = value.rsplit_once('|').ok_or_else(bad)?;
            vec![one(K::FileName, f)?, one(K::Md5, h)?]
        }
        t => {
            if let Some(k) = hash_kind(t) {
                vec![one(k, value)?]
            } else if let Some(h) = t.strip_prefix("filename|")
                && let Some(k) = hash_kind(h)
            {
                // File names cannot hold a pipe on Windows; split at the last one anyway.
                let (f, h) = value.rsplit_once('|').ok_or_else(bad)?;
                vec![one(K::FileName, f)?, one(k, h)?]
            } else {
                return Err(Unmapped::Type);
            }
        }
    })
}

/// What one attribute or object contributes to its indicator.
struct Entry {
    uuid: Option<String>,
    /// For a synthetic id when there is no uuid.
    what: String,
    comment: Option<String>,
    first_seen: Option<String>,
    last_seen: Option<String>,
    category: Option<String>,
}

/// The event's shared context, pushed down onto each indicator.
struct EventCtx<'a> {
    source: Arc<str>,
    source_str: &'a str,
    info: Option<Arc<str>>,
    tags: Tags,
    strings: Interner,
}

impl EventCtx<'_> {
    fn indicator(&mut self, e: Entry, own: &[Tags], condition: Condition) -> Indicator {
        // An own TLP overrides the event's; several own ones: the most restrictive.
        let own_tlp = own.iter().filter_map(|t| t.tlp).max();
        let tlp = own_tlp.or(self.tags.tlp);
        let mut actors: Vec<Arc<str>> = Vec::new();
        let mut labels: Vec<Arc<str>> = Vec::new();
        for t in std::iter::once(&self.tags).chain(own) {
            for a in &t.actors {
                let a = self.strings.get(a);
                if !actors.contains(&a) {
                    actors.push(a);
                }
            }
        }
        if let Some(c) = e.category.filter(|c| !c.is_empty()) {
            labels.push(self.strings.get(&c));
        }
        for t in own.iter().chain(std::iter::once(&self.tags)) {
            for l in &t.labels {
                let l = self.strings.get(l);
                if !labels.contains(&l) {
                    labels.push(l);
                }
            }
        }
        let id = match e.uuid.filter(|u| !u.trim().is_empty()) {
            Some(u) if u.starts_with("indicator--") => u,
            Some(u) => format!("indicator--{}", u.trim()),
            None => synthetic_id(self.source_str, &e.what),
        };
        let name = e
            .comment
            .filter(|c| !c.trim().is_empty())
            .map(|c| self.strings.get(c.trim()))
            .or_else(|| self.info.clone());
        Indicator {
            id,
            name,
            source: self.source.clone(),
            tlp,
            valid_from: e.first_seen.as_deref().and_then(parse_time),
            valid_until: e.last_seen.as_deref().and_then(parse_time),
            intrusion_sets: actors,
            confidence: None,
            labels,
            pattern: None,
            condition,
        }
    }
}

/// Reads one MISP event (`{"Event": {…}}`, or a MISP REST `{"response": [{"Event": …}, …]}`)
/// held in memory. See [`read_misp_feed`] for what is read from it.
pub fn read_misp_event(
    bytes: &[u8],
    source: &str,
    out: &mut Vec<Indicator>,
    report: &mut FeedReport,
) -> Result<(), FeedError> {
    read_event_with(bytes, source, None, out, report)
}

fn read_event_with(
    bytes: &[u8],
    source: &str,
    fallback_tags: Option<&Value>,
    out: &mut Vec<Indicator>,
    report: &mut FeedReport,
) -> Result<(), FeedError> {
    let malformed = |reason: String| FeedError::Malformed {
        file: source.to_string(),
        reason,
    };
    let doc: Value =
        serde_json::from_slice(bytes).map_err(|e| malformed(format!("not valid JSON: {e}")))?;
    let events: Vec<&Value> = if let Some(e) = doc.get("Event") {
        vec![e]
    } else if let Some(r) = doc.get("response").and_then(Value::as_array) {
        r.iter().filter_map(|x| x.get("Event")).collect()
    } else {
        return Err(malformed("not a MISP event: no \"Event\"".into()));
    };
    report.files += 1;
    let start = out.len();
    for event in events {
        if !event.is_object() {
            report.skip(
                source,
                Position::File,
                "malformed MISP event",
                "\"Event\" is not an object",
            );
            continue;
        }
        read_one_event(event, source, fallback_tags, out, report);
    }
    report.count(&out[start..]);
    Ok(())
}

fn read_one_event(
    event: &Value,
    source: &str,
    fallback_tags: Option<&Value>,
    out: &mut Vec<Indicator>,
    report: &mut FeedReport,
) {
    let mut tags = Tags::of(event);
    if array(event, "Tag").is_empty()
        && let Some(f) = fallback_tags
    {
        let g = tags.actors.clone();
        tags = Tags::of(f);
        for a in g {
            tags.add_actor(&a);
        }
    }
    let mut strings = Interner::default();
    let info = text(event.get("info"))
        .filter(|i| !i.trim().is_empty())
        .map(|i| strings.get(i.trim()));
    let mut ctx = EventCtx {
        source: Arc::from(source),
        source_str: source,
        info,
        tags,
        strings,
    };

    for (i, attr) in array(event, "Attribute").iter().enumerate() {
        let at = || {
            Position::Entry(match text(attr.get("uuid")) {
                Some(u) => format!("attribute {i} ({u})"),
                None => format!("attribute {i}"),
            })
        };
        if !attr.is_object() {
            report.skip(source, at(), "malformed MISP attribute", "not an object");
            continue;
        }
        if flag(attr.get("deleted")) {
            report.skip(source, at(), "deleted", "");
            continue;
        }
        if !flag(attr.get("to_ids")) {
            report.skip(source, at(), "not to_ids", "");
            continue;
        }
        let (Some(ty), Some(value)) = (text(attr.get("type")), text(attr.get("value"))) else {
            report.skip(source, at(), "malformed MISP attribute", "no type or value");
            continue;
        };
        let terms = match attribute_terms(&ty, &value) {
            Ok(t) => t,
            Err(Unmapped::Type) => {
                report.skip(source, at(), format!("misp type {ty}"), value);
                continue;
            }
            Err(Unmapped::Value(why)) => {
                report.skip(source, at(), "invalid value", why);
                continue;
            }
        };
        let own = [Tags::of(attr)];
        let entry = Entry {
            uuid: text(attr.get("uuid")),
            what: format!("{ty}:{value}"),
            comment: text(attr.get("comment")),
            first_seen: text(attr.get("first_seen")),
            last_seen: text(attr.get("last_seen")),
            category: text(attr.get("category")),
        };
        let ind = ctx.indicator(entry, &own, Condition::All(terms));
        out.push(ind);
    }

    for (i, obj) in array(event, "Object").iter().enumerate() {
        let oname = text(obj.get("name")).unwrap_or_default();
        let at = || {
            Position::Entry(match text(obj.get("uuid")) {
                Some(u) => format!("object {i} {oname} ({u})"),
                None => format!("object {i} {oname}"),
            })
        };
        if !obj.is_object() {
            report.skip(source, at(), "malformed MISP object", "not an object");
            continue;
        }
        if flag(obj.get("deleted")) {
            report.skip(source, at(), "deleted", "");
            continue;
        }
        // Terms grouped by what they describe: alternatives within a group (the file's
        // hashes, the object's addresses), every group required.
        let mut groups: Vec<(String, Vec<Vec<Term>>)> = Vec::new();
        let mut own: Vec<Tags> = vec![Tags::of(obj)];
        let mut first_seen = text(obj.get("first_seen"));
        let mut last_seen = text(obj.get("last_seen"));
        let mut comments = text(obj.get("comment"));
        let mut category = text(obj.get("meta-category"));
        let mut to_ids_any = false;
        for (j, attr) in array(obj, "Attribute").iter().enumerate() {
            if flag(attr.get("deleted")) || !flag(attr.get("to_ids")) {
                continue;
            }
            to_ids_any = true;
            let sub = || Position::Entry(format!("object {i} {oname} attribute {j}"));
            let (Some(ty), Some(value)) = (text(attr.get("type")), text(attr.get("value"))) else {
                report.skip(
                    source,
                    sub(),
                    "malformed MISP attribute",
                    "no type or value",
                );
                continue;
            };
            let terms = match attribute_terms(&ty, &value) {
                Ok(t) => t,
                Err(Unmapped::Type) => {
                    report.skip(source, sub(), format!("misp type {ty}"), value);
                    continue;
                }
                Err(Unmapped::Value(why)) => {
                    report.skip(source, sub(), "invalid value", why);
                    continue;
                }
            };
            // A composite attribute (`ip-dst|port`) is one alternative of its own group.
            let key = if terms.len() > 1 {
                ty.clone()
            } else if terms[0].kind.is_hash() {
                "hash".into()
            } else {
                terms[0].kind.as_str().to_string()
            };
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, alts)) => alts.push(terms),
                None => groups.push((key, vec![terms])),
            }
            own.push(Tags::of(attr));
            first_seen = first_seen.or_else(|| text(attr.get("first_seen")));
            last_seen = last_seen.or_else(|| text(attr.get("last_seen")));
            comments = comments
                .filter(|c| !c.trim().is_empty())
                .or_else(|| text(attr.get("comment")));
            category = category.or_else(|| text(attr.get("category")));
        }
        if groups.is_empty() {
            if to_ids_any {
                report.skip(source, at(), "object without usable to_ids attributes", "");
            } else {
                report.skip(source, at(), "not to_ids", "");
            }
            continue;
        }
        let size: usize = groups.iter().map(|(_, a)| a.len()).product();
        if size > MAX_ALTERNATIVES {
            report.skip(
                source,
                at(),
                "object too complex",
                format!("{size} alternative combinations"),
            );
            continue;
        }
        let mut alts: Vec<Vec<Term>> = vec![Vec::new()];
        for (_, choices) in &groups {
            let mut next = Vec::with_capacity(alts.len() * choices.len());
            for a in &alts {
                for c in choices {
                    let mut x = a.clone();
                    x.extend(c.iter().cloned());
                    next.push(x);
                }
            }
            alts = next;
        }
        let Some(condition) = Condition::from_alternatives(alts) else {
            continue;
        };
        let entry = Entry {
            uuid: text(obj.get("uuid")),
            what: format!("object:{oname}:{}", condition.shape()),
            comment: comments,
            first_seen,
            last_seen,
            category,
        };
        let ind = ctx.indicator(entry, &own, condition);
        out.push(ind);
    }
}

/// Reads a MISP feed folder: `manifest.json` lists the events, each in `<uuid>.json`
/// (`{"Event": …}`); an event listed but missing is skipped and reported.
///
/// From each event:
/// * attributes with `to_ids` (bool or `"1"`) that are not `deleted`, one indicator each,
///   id `indicator--<attribute uuid>`, the attribute comment or else the event `info` as
///   name, `first_seen`/`last_seen` as validity, the category and tags as labels;
/// * objects: their `to_ids` attributes as one indicator (`indicator--<object uuid>`) whose
///   condition requires every kind of value together (file name AND hash), any of several
///   values of one kind (the file's MD5 or its SHA-256);
/// * types: `ip-src`/`ip-dst` (addresses or CIDR networks), `…|port`, `domain`, `hostname`,
///   `domain|ip`, `hostname|port`, `url`, `link`, `uri` (a path: substring of URLs),
///   `md5`, `sha1`, `sha256`, `sha512`, `imphash`, `filename`, `filename|<hash>`,
///   `malware-sample`, `email*`, `mutex`, `regkey`, `regkey|value` (the key), `user-agent`;
///   every other type (`AS`, `text`, `yara`, `ssdeep`…) is skipped and counted by type;
/// * TLP: an attribute's (or object's) own `tlp:*` tag, else the event's (the manifest's
///   when the event file has no tags); `misp-galaxy:threat-actor="…"` and
///   `misp-galaxy:*intrusion-set="…"` tags and galaxies give the intrusion sets.
pub fn read_misp_feed(
    dir: &Path,
    out: &mut Vec<Indicator>,
    report: &mut FeedReport,
) -> Result<(), FeedError> {
    let manifest_path = dir.join("manifest.json");
    let bytes = fs::read(&manifest_path).map_err(|e| io_error(&manifest_path, e))?;
    let manifest_name = manifest_path.display().to_string();
    let manifest: Value =
        serde_json::from_slice(super::strip_bom(&bytes)).map_err(|e| FeedError::Malformed {
            file: manifest_name.clone(),
            reason: format!("not valid JSON: {e}"),
        })?;
    let Some(entries) = manifest.as_object() else {
        return Err(FeedError::Malformed {
            file: manifest_name,
            reason: "a MISP manifest is an object keyed by event uuid".into(),
        });
    };
    for (uuid, meta) in entries {
        let at = || Position::Entry(format!("event {uuid}"));
        if uuid.is_empty() || uuid.contains(['/', '\\']) || uuid.starts_with('.') {
            report.skip(
                &manifest_name,
                at(),
                "bad event uuid in manifest",
                uuid.clone(),
            );
            continue;
        }
        let path = dir.join(format!("{uuid}.json"));
        let source = path.display().to_string();
        match fs::read(&path) {
            Ok(b) => {
                if let Err(e) =
                    read_event_with(super::strip_bom(&b), &source, Some(meta), out, report)
                {
                    report.skip(
                        &source,
                        Position::File,
                        "unreadable MISP event",
                        e.to_string(),
                    );
                }
            }
            Err(e) => report.skip(
                &manifest_name,
                at(),
                "event file missing",
                format!("{source}: {e}"),
            ),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicator::ValueTest;

    #[test]
    fn attribute_types() {
        let t = attribute_terms("ip-dst|port", "2001:db8::1|443")
            .ok()
            .unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].kind, ObservableKind::Ipv6);
        assert_eq!(t[1].test, ValueTest::Equals("443".into()));
        let t = attribute_terms("ip-src", "198.51.100.0/24").ok().unwrap();
        assert!(matches!(t[0].test, ValueTest::Cidr(_)));
        let t = attribute_terms("uri", "/gate.php").ok().unwrap();
        assert_eq!(t[0].test, ValueTest::Contains("/gate.php".into()));
        let t = attribute_terms("filename|sha256", &format!("a|b.exe|{}", "F".repeat(64)))
            .ok()
            .unwrap();
        assert_eq!(t[0].test, ValueTest::Equals("a|b.exe".into()));
        assert!(matches!(
            attribute_terms("AS", "AS64496"),
            Err(Unmapped::Type)
        ));
        assert!(matches!(
            attribute_terms("md5", "xyz"),
            Err(Unmapped::Value(_))
        ));
        let t = attribute_terms("regkey|value", r"HKLM\Software\Run|evil.exe")
            .ok()
            .unwrap();
        assert_eq!(t[0].kind, ObservableKind::RegistryKey);
    }

    #[test]
    fn tags() {
        let v: Value = serde_json::json!({"Tag": [
            {"name": "tlp:amber+strict"}, {"name": "misp-galaxy:mitre-intrusion-set=\"APT40 - G0065\""},
            {"name": "misp-galaxy:threat-actor=\"Leviathan\""}, "kill-chain:Delivery"
        ], "Galaxy": [{"type": "threat-actor", "GalaxyCluster": [{"value": "APT40"}]}]});
        let t = Tags::of(&v);
        assert_eq!(t.tlp, Some(Tlp::AmberStrict));
        assert_eq!(t.actors, ["APT40", "Leviathan"]);
        assert_eq!(t.labels, ["kill-chain:Delivery"]);
        assert!(flag(Some(&serde_json::json!("1"))));
        assert!(!flag(Some(&serde_json::json!("0"))));
        assert!(flag(Some(&serde_json::json!(true))));
    }
}
