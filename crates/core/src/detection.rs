//! The [`Detection`]: one rule hit on one record, the stable output contract
//! (DESIGN.md, "Contracts other tools rely on").
//!
//! Every detection names the rule (`rule_id`, `rule_title`, `level`,
//! `attack`), the time (`timestamp`, RFC 3339 UTC), the `host`, the exact
//! record (`source`: path plus record id or line) and carries the matched
//! event's fields. Correlation alerts are detections too, with `kind:
//! "correlation"` and a `correlation` object naming the group, the window
//! and the contributing records. Indicator hits (`kind: "indicator"`) carry an `indicator`
//! object (the indicator, its feed, TLP and intrusion sets, the value and field that matched);
//! YARA hits (`kind: "yara"`) a `yara` object (rule, metadata, matched strings). Fields may be
//! added; none may be renamed.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use tiaki_evidence::{Event, Origin};
use tiaki_sigma::{Level, RuleMeta};

/// Fields that name the host an event was recorded on, most specific first:
/// Windows `Computer` (EVTX, XML, `evtx_dump`, Winlogbeat after mapping),
/// the syslog header's `host`, ECS `host.name`/`host.hostname`, IIS
/// `s-computername`, and the CSV/Timesketch spellings.
pub const HOST_FIELDS: &[&str] = &[
    "Computer",
    "host.name",
    "host.hostname",
    "host",
    "hostname",
    "Hostname",
    "ComputerName",
    "s-computername",
];

/// The host of an event, from the first of [`HOST_FIELDS`] it has as text.
///
/// Zeek logs are the exception: their `host` is the HTTP `Host` header (or the SMB/SSL server
/// name), a remote server, not the sensor that wrote the record, so for Zeek only the
/// cluster node name (`_node_name`, written by Zeek clusters) names the host.
pub fn host_of(event: &Event) -> Option<String> {
    let fields: &[&str] = if event.format == tiaki_evidence::Format::Zeek {
        &["_node_name"]
    } else {
        HOST_FIELDS
    };
    fields.iter().find_map(|f| match event.get(f) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    })
}

/// A time as the contract writes it: RFC 3339, UTC, `Z`, with as many
/// fractional digits as the evidence had (0, 3, 6 or 9).
pub fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Where a detection's record is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRef {
    /// The evidence file (`archive.zip!member` inside archives).
    pub path: String,
    /// The record number (EVTX, `evtx_dump` JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_id: Option<u64>,
    /// The 1-based line (text formats).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// True for an EVTX record carved from unallocated space.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recovered: bool,
}

impl From<&Origin> for SourceRef {
    fn from(o: &Origin) -> Self {
        SourceRef {
            path: o.path.to_string(),
            record_id: o.record_id,
            line: o.line,
            recovered: o.recovered,
        }
    }
}

impl std::fmt::Display for SourceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.path)?;
        if let Some(r) = self.record_id {
            write!(f, "#{r}")?;
        } else if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if self.recovered {
            f.write_str(" (recovered)")?;
        }
        Ok(())
    }
}

/// What a correlation alert adds to a detection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrelationInfo {
    /// `event_count`, `value_count`, `temporal`...
    #[serde(rename = "type")]
    pub kind: String,
    /// The `group-by` fields and their values in this alert.
    pub group: Map<String, Value>,
    /// The correlation's `timespan` as written (`5m`).
    pub timespan: String,
    /// Time of the earliest contributing match.
    pub first: String,
    /// Time of the match that completed the condition.
    pub last: String,
    /// The aggregated value that met the condition (count, sum...).
    pub value: f64,
    /// Titles of the referenced rules that matched in the window.
    pub rules: Vec<String>,
    /// How many records contributed.
    pub events_total: usize,
    /// The contributing records (at most 256 are listed).
    pub sources: Vec<SourceRef>,
}

/// What an indicator detection adds: which indicator, from which feed, under which TLP,
/// linked to which intrusion sets, and what in the event matched it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndicatorInfo {
    /// The indicator's id (`indicator--…`).
    pub id: String,
    /// The indicator's name, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The observable kind that matched (`ipv4`, `sha256`…), or `pattern` for a STIX pattern
    /// evaluated by the full matcher.
    #[serde(rename = "type")]
    pub kind: String,
    /// The event's value that matched (normalised).
    pub value: String,
    /// The event field it was found in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The STIX pattern, for indicators that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// The feed the indicator came from (file, MISP event).
    pub source: String,
    /// The indicator's TLP (`TLP:AMBER`), most restrictive of its own and its containers'.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tlp: Option<String>,
    /// The first intrusion set the indicator indicates (what `tiaki attribute` reads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intrusion_set: Option<String>,
    /// Every intrusion set it indicates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intrusion_sets: Vec<String>,
    /// The feed's confidence in the indicator (0–100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<u8>,
    /// Indicator types, MISP categories.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

/// One string of a YARA rule found in a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct YaraString {
    /// The string's identifier in the rule (`$eval`).
    pub identifier: String,
    /// Byte offset in the file.
    pub offset: u64,
    /// The matched bytes, printable ASCII kept and the rest escaped, at most 64 bytes.
    pub data: String,
}

/// What a YARA detection adds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct YaraInfo {
    /// The rule's identifier.
    pub rule: String,
    /// The rule's namespace (its file).
    pub namespace: String,
    /// The rule's tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The rule's metadata, as text.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub meta: Map<String, Value>,
    /// The strings that matched (the first few of each).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub strings: Vec<YaraString>,
    /// The scanned file's size in bytes.
    pub file_size: u64,
}

/// What produced a [`Detection`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DetectionKind {
    /// A detection rule matched a record.
    Detection,
    /// A correlation rule's condition was met.
    Correlation,
    /// An indicator (STIX, MISP, IOC list) matched a record.
    Indicator,
    /// A YARA rule matched a file in the evidence.
    Yara,
}

impl DetectionKind {
    /// The contract's spelling: `detection`, `correlation`, `indicator` or `yara`.
    pub fn as_str(self) -> &'static str {
        match self {
            DetectionKind::Detection => "detection",
            DetectionKind::Correlation => "correlation",
            DetectionKind::Indicator => "indicator",
            DetectionKind::Yara => "yara",
        }
    }
}

/// Compares with the contract's spelling (`kind == "correlation"`).
impl PartialEq<&str> for DetectionKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One rule hit (or one correlation alert). It reads back from its own JSON (the `jsonl`
/// contract), which is how sorted output is replayed from disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// The rule's `id` (`null` if the rule has none).
    pub rule_id: Option<String>,
    /// The rule's `title`.
    pub rule_title: String,
    /// The rule's `level` (`null` if the rule has none).
    #[serde(serialize_with = "level_name", deserialize_with = "level_from_name")]
    pub level: Option<Level>,
    /// The record's time, RFC 3339 UTC (`null` if the record has none).
    pub timestamp: Option<String>,
    /// The host the record was written on, if the record says.
    pub host: Option<String>,
    /// ATT&CK technique ids from the rule's tags (`T1059.001`).
    pub attack: Vec<String>,
    /// The record (for a correlation: the one that completed it).
    pub source: SourceRef,
    /// The matched event's fields (for a correlation: the group values).
    pub event: Map<String, Value>,
    /// `detection`, `correlation`, `indicator` or `yara`.
    pub kind: DetectionKind,
    /// The rule file (for indicators: the feed; for YARA: the rule file).
    pub rule_path: String,
    /// The event's Sigma log source, `product/category/service`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logsource: Option<String>,
    /// Present for correlation alerts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation: Option<CorrelationInfo>,
    /// Present for indicator hits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indicator: Option<IndicatorInfo>,
    /// Present for YARA hits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yara: Option<YaraInfo>,
}

fn level_name<S: Serializer>(l: &Option<Level>, s: S) -> Result<S::Ok, S::Error> {
    match l {
        Some(l) => s.serialize_str(l.as_str()),
        None => s.serialize_none(),
    }
}

fn level_from_name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Level>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) => Level::parse(&s)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown level {s:?}"))),
    }
}

/// `product/category/service` with `*` for an unset part.
pub fn logsource_text(ls: &tiaki_evidence::LogSource) -> String {
    let p = |v: &Option<std::sync::Arc<str>>| v.as_deref().unwrap_or("*").to_string();
    format!("{}/{}/{}", p(&ls.product), p(&ls.category), p(&ls.service))
}

impl Detection {
    /// The detection of `rule` on `event`.
    pub fn new(rule: &RuleMeta, event: &Event) -> Detection {
        Detection {
            rule_id: rule.id.clone(),
            rule_title: rule.title.clone(),
            level: rule.level,
            timestamp: event.timestamp.as_ref().map(rfc3339),
            host: host_of(event),
            attack: rule.attack_techniques(),
            source: SourceRef::from(&event.origin),
            event: event.fields.clone(),
            kind: DetectionKind::Detection,
            rule_path: rule.origin.clone(),
            logsource: Some(logsource_text(&event.logsource)),
            correlation: None,
            indicator: None,
            yara: None,
        }
    }

    /// True if the detection is at or above `min` (a rule without a level
    /// counts as `informational`).
    pub fn at_least(&self, min: Level) -> bool {
        self.level.unwrap_or(Level::Informational) >= min
    }
}
