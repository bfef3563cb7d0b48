//! The event model every reader produces.
//!
//! Why one flat shape: the hunt stage (Sigma, IOC lists, STIX patterns) wants to look fields
//! up by the names detection rules use, whatever the evidence format was. So readers do the
//! format-specific work once (flattening Windows XML, splitting web log columns…) and hand
//! over a `serde_json::Map` keyed by those names, plus where the event came from and which
//! Sigma log source it belongs to. `serde_json` is built with `preserve_order`, so fields keep
//! the order the evidence had them in, which keeps output readable and tests exact.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One event read from evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Where the event came from: file (and archive member), record id or line.
    pub origin: Origin,
    /// When the event happened, in UTC, if the reader could tell.
    pub timestamp: Option<DateTime<Utc>>,
    /// Which reader (or, for JSON, which object shape) produced the event.
    pub format: Format,
    /// The Sigma log source the event belongs to (see [`crate::Mappings`] for the routing).
    pub logsource: LogSource,
    /// Field name → value, named as Sigma rules expect them.
    pub fields: Map<String, Value>,
}

impl Event {
    /// The value of a field: an exact key first, then a dotted path into nested objects
    /// (`winlog.event_data.Image`), which is how generic JSON keeps its structure.
    pub fn get(&self, name: &str) -> Option<&Value> {
        lookup(&self.fields, name)
    }
}

/// Looks a field up by exact key, then as a dotted path through nested objects. Every split
/// point is tried, so keys that themselves contain dots (Zeek's `id.orig_h`) are found too.
pub(crate) fn lookup<'a>(fields: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(v) = fields.get(name) {
        return Some(v);
    }
    for (i, _) in name.match_indices('.') {
        if let Some(Value::Object(inner)) = fields.get(&name[..i])
            && let Some(v) = lookup(inner, &name[i + 1..])
        {
            return Some(v);
        }
    }
    None
}

/// Where an event came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Origin {
    /// The evidence path as given (directories expanded). Members of archives are written
    /// `archive.zip!inner/file.evtx`; a gzip stream keeps the `.gz` path.
    pub path: Arc<str>,
    /// The record id, where the format has one (EVTX `EventRecordID`, also taken from
    /// `evtx_dump` JSON exports).
    pub record_id: Option<u64>,
    /// The 1-based line the event starts on, for text formats.
    pub line: Option<u64>,
    /// True for EVTX records carved from unallocated chunk space (cleared or overwritten
    /// records). They are real evidence, but were not part of the log when it was copied.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recovered: bool,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path)?;
        if let Some(id) = self.record_id {
            write!(f, " record {id}")?;
        }
        if let Some(line) = self.line {
            write!(f, " line {line}")?;
        }
        if self.recovered {
            f.write_str(" (recovered)")?;
        }
        Ok(())
    }
}

/// The Sigma log source of an event: `product`, `category`, `service`.
///
/// Some events belong to more than one category or service: Sysmon event 13 is
/// `registry_set` and also `registry_event`; an sshd line in `auth.log` is service `sshd`
/// and also `auth`. The first one found is in `category`/`service`, the others in
/// `also_categories`/`also_services`. Use [`LogSource::matches`] to compare with a rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LogSource {
    /// `windows`, `linux`, `zeek`… (`None` when nothing routed the event).
    pub product: Option<Arc<str>>,
    /// `process_creation`, `webserver`… .
    pub category: Option<Arc<str>>,
    /// `security`, `sysmon`, `sshd`, `dns`… .
    pub service: Option<Arc<str>>,
    /// Further categories the event also belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub also_categories: Option<Arc<[Arc<str>]>>,
    /// Further services the event also belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub also_services: Option<Arc<[Arc<str>]>>,
}

impl LogSource {
    /// Whether a rule's `logsource` (each part optional, compared case-insensitively) selects
    /// this event: every part the rule names must be one this event has.
    pub fn matches(
        &self,
        product: Option<&str>,
        category: Option<&str>,
        service: Option<&str>,
    ) -> bool {
        fn one(
            want: Option<&str>,
            first: &Option<Arc<str>>,
            also: &Option<Arc<[Arc<str>]>>,
        ) -> bool {
            let Some(want) = want else { return true };
            first
                .as_deref()
                .is_some_and(|v| v.eq_ignore_ascii_case(want))
                || also
                    .as_deref()
                    .is_some_and(|a| a.iter().any(|v| v.eq_ignore_ascii_case(want)))
        }
        one(product, &self.product, &None)
            && one(category, &self.category, &self.also_categories)
            && one(service, &self.service, &self.also_services)
    }

    /// All categories the event belongs to, the primary one first.
    pub fn categories(&self) -> impl Iterator<Item = &str> {
        self.category.as_deref().into_iter().chain(
            self.also_categories
                .iter()
                .flat_map(|a| a.iter().map(|s| &**s)),
        )
    }

    /// All services the event belongs to, the primary one first.
    pub fn services(&self) -> impl Iterator<Item = &str> {
        self.service.as_deref().into_iter().chain(
            self.also_services
                .iter()
                .flat_map(|a| a.iter().map(|s| &**s)),
        )
    }
}

/// An evidence format: which reader reads it, and (for JSON) which object shape an event had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// Windows EVTX (binary XML event log).
    Evtx,
    /// `evtx_dump -o json/jsonl` output: `{"Event": {"System": …, "EventData": …}}`.
    EvtxJson,
    /// Winlogbeat / Elastic Common Schema: `winlog.event_data.*`, `winlog.event_id`, … .
    Ecs,
    /// Any other JSON object (or JSON Lines); kept nested.
    Json,
    /// Windows XML event export: `<Events><Event xmlns=…>`.
    WindowsXml,
    /// IIS / W3C extended log format (`#Fields:` header).
    W3c,
    /// Apache / Nginx access log, combined or common format.
    Apache,
    /// Syslog, RFC 3164 or RFC 5424 (auth.log, messages, syslog…).
    Syslog,
    /// Zeek logs: TSV with `#fields`/`#types` headers, or Zeek JSON.
    Zeek,
    /// CSV with a header row.
    Csv,
}

impl Format {
    /// Every format, in declaration order.
    pub const ALL: [Format; 10] = [
        Format::Evtx,
        Format::EvtxJson,
        Format::Ecs,
        Format::Json,
        Format::WindowsXml,
        Format::W3c,
        Format::Apache,
        Format::Syslog,
        Format::Zeek,
        Format::Csv,
    ];

    /// The short name used on command lines and in reports (`evtx`, `evtx-json`, `w3c`…).
    pub fn name(self) -> &'static str {
        match self {
            Format::Evtx => "evtx",
            Format::EvtxJson => "evtx-json",
            Format::Ecs => "ecs",
            Format::Json => "json",
            Format::WindowsXml => "xml",
            Format::W3c => "w3c",
            Format::Apache => "apache",
            Format::Syslog => "syslog",
            Format::Zeek => "zeek",
            Format::Csv => "csv",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error for an unknown format name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown input format `{0}` (expected one of: evtx, evtx-json, ecs, json, jsonl, xml, w3c, iis, apache, nginx, syslog, zeek, csv)"
)]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    /// Parses a format name as a user would type it (`--input-format`), case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "evtx" => Format::Evtx,
            "evtx-json" | "evtxjson" | "evtx_json" => Format::EvtxJson,
            "ecs" | "winlogbeat" => Format::Ecs,
            "json" | "jsonl" | "ndjson" => Format::Json,
            "xml" | "windows-xml" => Format::WindowsXml,
            "w3c" | "iis" => Format::W3c,
            "apache" | "nginx" | "combined" | "clf" => Format::Apache,
            "syslog" | "auth" | "auth.log" => Format::Syslog,
            "zeek" | "bro" => Format::Zeek,
            "csv" => Format::Csv,
            _ => return Err(UnknownFormat(s.to_string())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn logsource_matching_uses_all_categories_and_services() {
        let ls = LogSource {
            product: Some("windows".into()),
            category: Some("registry_set".into()),
            service: Some("sysmon".into()),
            also_categories: Some(vec![Arc::<str>::from("registry_event")].into()),
            also_services: None,
        };
        assert!(ls.matches(Some("windows"), Some("registry_event"), None));
        assert!(ls.matches(Some("Windows"), Some("registry_set"), Some("sysmon")));
        assert!(ls.matches(None, None, None));
        assert!(!ls.matches(Some("linux"), None, None));
        assert!(!ls.matches(Some("windows"), Some("process_creation"), None));
        assert_eq!(
            ls.categories().collect::<Vec<_>>(),
            ["registry_set", "registry_event"]
        );
    }

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>().unwrap(), f);
        }
        assert_eq!("IIS".parse::<Format>().unwrap(), Format::W3c);
        assert!("pcap".parse::<Format>().is_err());
    }

    #[test]
    fn lookup_exact_then_dotted() {
        let v = json!({"a.b": 1, "winlog": {"event_data": {"Image": "x"}}, "id": {"orig_h": "1.2.3.4"}});
        let m = v.as_object().unwrap();
        assert_eq!(lookup(m, "a.b"), Some(&json!(1)));
        assert_eq!(lookup(m, "winlog.event_data.Image"), Some(&json!("x")));
        assert_eq!(lookup(m, "id.orig_h"), Some(&json!("1.2.3.4")));
        assert_eq!(lookup(m, "winlog.nope"), None);
        assert_eq!(lookup(m, "nope"), None);
    }
}
