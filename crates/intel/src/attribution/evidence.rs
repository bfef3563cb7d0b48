//! What was observed: the input of an attribution.
//!
//! [`Evidence`] is deliberately loose — ATT&CK ids or names, in whatever case, with or without
//! Sigma's `attack.` prefix — because it is filled from analyst flags and from hunt output.
//! Resolution against the knowledge base happens in the model, which reports what it could not
//! resolve instead of failing.
//!
//! [`Evidence::from_detections_jsonl`] reads the hunt's JSONL contract (one detection per line:
//! `rule_id`, `rule_title`, `level`, `timestamp`, `host`, `attack`, optional `indicator`, …).
//! It is tolerant: unknown fields are ignored, a bad line is counted and skipped, `attack` may be
//! a list or a single string, `tags` are read as well, and indicator hits may name their
//! intrusion set.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An observed indicator: a value (address, domain, hash, URL…), a STIX indicator id, or both,
/// and — when the detection that found it says so — the intrusion set it is linked to.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IndicatorHit {
    /// The observed value, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The STIX indicator id, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The intrusion set the indicator is linked to, as the detection named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intrusion_set: Option<String>,
}

impl From<&str> for IndicatorHit {
    /// A STIX id (`indicator--…`) or a value.
    fn from(s: &str) -> Self {
        let s = s.trim();
        if s.starts_with("indicator--") {
            Self {
                id: Some(s.to_owned()),
                ..Default::default()
            }
        } else {
            Self {
                value: Some(s.to_owned()),
                ..Default::default()
            }
        }
    }
}

/// Everything observed about one intrusion.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Evidence {
    /// ATT&CK technique ids (`T1059.001`, `t1190`, `attack.t1505.003`).
    pub techniques: Vec<String>,
    /// Software: ATT&CK ids (`S0228`) or names and aliases (`NanHaiShu`, `China Chopper`).
    pub software: Vec<String>,
    /// Indicator hits.
    pub indicators: Vec<IndicatorHit>,
    /// Exploited vulnerabilities (`CVE-2021-26855`).
    pub cves: Vec<String>,
    /// Victim sectors (STIX industry-sector vocabulary: `government-national`, `defense`…).
    pub sectors: Vec<String>,
    /// Victim countries (ISO 3166-1 alpha-2 codes or names).
    pub countries: Vec<String>,
    /// Times of operator activity (RFC 3339).
    pub timestamps: Vec<String>,
    /// Intrusion sets named by detection rules (Sigma `attack.g0065` tags): the rule's author
    /// associates the behaviour with that group.
    pub group_tags: Vec<String>,
    /// Where each item came from (item → rule ids), filled by the JSONL reader.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub provenance: BTreeMap<String, Vec<String>>,
}

/// What reading detections found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetectionsRead {
    /// Non-empty lines.
    pub lines: usize,
    /// Lines parsed as detections.
    pub detections: usize,
    /// Lines skipped, with their 1-based line number and the reason (first 20).
    pub skipped: Vec<(usize, String)>,
    /// Total skipped lines.
    pub skipped_count: usize,
}

/// What an ATT&CK-ish tag denotes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttackTag {
    /// `T1059.001`.
    Technique(String),
    /// `S0020`.
    Software(String),
    /// `G0065`.
    Group(String),
    /// A tactic or anything else.
    Other,
}

/// Classifies `T1059.001`, `attack.t1059.001`, `attack.g0065`, `attack.s0020` (any case).
/// Tactic tags (`attack.execution`) and other strings are [`AttackTag::Other`].
pub fn classify_tag(tag: &str) -> AttackTag {
    let t = tag.trim();
    let t = t
        .strip_prefix("attack.")
        .or_else(|| t.strip_prefix("ATTACK."))
        .or_else(|| t.strip_prefix("Attack."))
        .unwrap_or(t);
    let u = t.to_ascii_uppercase();
    let mut chars = u.chars();
    let head = chars.next();
    let rest: String = chars.collect();
    let digits = |s: &str| s.len() == 4 && s.chars().all(|c| c.is_ascii_digit());
    match head {
        Some('T') => {
            let (main, sub) = match rest.split_once('.') {
                Some((m, s)) => (m, Some(s)),
                None => (rest.as_str(), None),
            };
            let ok = digits(main)
                && sub.is_none_or(|s| s.len() == 3 && s.chars().all(|c| c.is_ascii_digit()));
            if ok {
                AttackTag::Technique(u)
            } else {
                AttackTag::Other
            }
        }
        Some('S') if digits(&rest) => AttackTag::Software(u),
        Some('G') if digits(&rest) => AttackTag::Group(u),
        _ => AttackTag::Other,
    }
}

fn push_unique(v: &mut Vec<String>, s: String) {
    if !v.contains(&s) {
        v.push(s);
    }
}

impl Evidence {
    /// Empty evidence.
    pub fn new() -> Self {
        Self::default()
    }

    /// Nothing observed at all.
    pub fn is_empty(&self) -> bool {
        self.techniques.is_empty()
            && self.software.is_empty()
            && self.indicators.is_empty()
            && self.cves.is_empty()
            && self.sectors.is_empty()
            && self.countries.is_empty()
            && self.timestamps.is_empty()
            && self.group_tags.is_empty()
    }

    /// Adds a technique, software or group tag in any accepted form; returns whether it was one.
    pub fn add_tag(&mut self, tag: &str) -> bool {
        match classify_tag(tag) {
            AttackTag::Technique(t) => push_unique(&mut self.techniques, t),
            AttackTag::Software(s) => push_unique(&mut self.software, s),
            AttackTag::Group(g) => push_unique(&mut self.group_tags, g),
            AttackTag::Other => return false,
        }
        true
    }

    /// Merges another body of evidence into this one.
    pub fn merge(&mut self, other: Evidence) {
        for t in other.techniques {
            push_unique(&mut self.techniques, t);
        }
        for s in other.software {
            push_unique(&mut self.software, s);
        }
        for i in other.indicators {
            if !self.indicators.contains(&i) {
                self.indicators.push(i);
            }
        }
        for (dst, src) in [
            (&mut self.cves, other.cves),
            (&mut self.sectors, other.sectors),
            (&mut self.countries, other.countries),
            (&mut self.timestamps, other.timestamps),
            (&mut self.group_tags, other.group_tags),
        ] {
            for x in src {
                push_unique(dst, x);
            }
        }
        for (k, v) in other.provenance {
            let e = self.provenance.entry(k).or_default();
            for r in v {
                push_unique(e, r);
            }
        }
    }

    fn note(&mut self, item: &str, rule: Option<&str>) {
        if let Some(r) = rule {
            let e = self.provenance.entry(item.to_owned()).or_default();
            if e.len() < 8 {
                push_unique(e, r.to_owned());
            }
        }
    }

    /// Reads detections in the hunt's JSONL contract. Lines that are empty are ignored; lines
    /// that are not JSON objects are skipped and reported; every other line contributes what it
    /// has:
    ///
    /// * `attack` (a list, or one string) and `tags`: techniques (`T1059.001`,
    ///   `attack.t1059.001`), software (`attack.s0020`) and group tags (`attack.g0065`);
    /// * `timestamp`: operator activity time;
    /// * `indicator`: `{id, value, intrusion_set, …}` (or a string), an indicator hit;
    /// * `cve` / `cves`, `software` (names or ids) when a detector supplies them.
    pub fn from_detections_jsonl(text: &str) -> (Self, DetectionsRead) {
        let mut ev = Evidence::default();
        let mut rep = DetectionsRead::default();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            rep.lines += 1;
            let skip = |rep: &mut DetectionsRead, why: String| {
                rep.skipped_count += 1;
                if rep.skipped.len() < 20 {
                    rep.skipped.push((i + 1, why));
                }
            };
            let v: Value = match serde_json::from_str(line) {
                Ok(v) => v,
                Err(e) => {
                    skip(&mut rep, format!("not JSON: {e}"));
                    continue;
                }
            };
            let Some(obj) = v.as_object() else {
                skip(&mut rep, "not a JSON object".into());
                continue;
            };
            rep.detections += 1;
            let rule = obj
                .get("rule_id")
                .and_then(Value::as_str)
                .or_else(|| obj.get("rule_title").and_then(Value::as_str));
            let strings = |key: &str| -> Vec<String> {
                match obj.get(key) {
                    Some(Value::Array(a)) => a
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect(),
                    Some(Value::String(s)) => s
                        .split([',', ' '])
                        .filter(|x| !x.is_empty())
                        .map(str::to_owned)
                        .collect(),
                    _ => Vec::new(),
                }
            };
            for tag in strings("attack").into_iter().chain(strings("tags")) {
                let c = classify_tag(&tag);
                if ev.add_tag(&tag) {
                    let key = match c {
                        AttackTag::Technique(t) | AttackTag::Software(t) | AttackTag::Group(t) => t,
                        AttackTag::Other => continue,
                    };
                    ev.note(&key, rule);
                }
            }
            for s in strings("software") {
                ev.note(&s, rule);
                push_unique(&mut ev.software, s);
            }
            for c in strings("cves").into_iter().chain(strings("cve")) {
                ev.note(&c, rule);
                push_unique(&mut ev.cves, c);
            }
            if let Some(ts) = obj.get("timestamp").and_then(Value::as_str) {
                push_unique(&mut ev.timestamps, ts.to_owned());
            }
            match obj.get("indicator") {
                Some(Value::Object(ind)) => {
                    let s = |k: &str| {
                        ind.get(k)
                            .and_then(Value::as_str)
                            .filter(|v| !v.trim().is_empty())
                            .map(str::to_owned)
                    };
                    let hit = IndicatorHit {
                        value: s("value").or_else(|| s("pattern_value")),
                        id: s("id"),
                        intrusion_set: s("intrusion_set")
                            .or_else(|| s("intrusion_set_name"))
                            .or_else(|| s("group")),
                    };
                    if hit != IndicatorHit::default() && !ev.indicators.contains(&hit) {
                        let key = hit
                            .id
                            .clone()
                            .or_else(|| hit.value.clone())
                            .unwrap_or_default();
                        ev.note(&key, rule);
                        ev.indicators.push(hit);
                    }
                }
                Some(Value::String(s)) => {
                    let hit = IndicatorHit::from(s.as_str());
                    if !ev.indicators.contains(&hit) {
                        ev.note(s, rule);
                        ev.indicators.push(hit);
                    }
                }
                _ => {}
            }
        }
        (ev, rep)
    }
}

/// Seconds since the Unix epoch of an RFC 3339 / ISO 8601 timestamp
/// (`2021-03-03T02:00:00Z`, `2021-03-03 10:00:00.123+08:00`; no offset = UTC).
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 16 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.chars()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (h, mi) = (num(11..13)?, num(14..16)?);
    let mut i = 16;
    let mut sec = 0;
    if b.get(16) == Some(&b':') {
        sec = num(17..19)?;
        i = 19;
        if b.get(i) == Some(&b'.') {
            i += 1;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
    }
    let offset = match b.get(i) {
        None | Some(b'Z') | Some(b'z') => 0,
        Some(&c @ (b'+' | b'-')) => {
            let oh = num(i + 1..i + 3)?;
            let om = if b.get(i + 3) == Some(&b':') {
                num(i + 4..i + 6)?
            } else {
                num(i + 3..i + 5).unwrap_or(0)
            };
            let o = oh * 3600 + om * 60;
            if c == b'+' { o } else { -o }
        }
        _ => return None,
    };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + sec - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_in_every_form() {
        assert_eq!(
            classify_tag("attack.t1059.001"),
            AttackTag::Technique("T1059.001".into())
        );
        assert_eq!(classify_tag("T1190"), AttackTag::Technique("T1190".into()));
        assert_eq!(
            classify_tag("attack.g0065"),
            AttackTag::Group("G0065".into())
        );
        assert_eq!(
            classify_tag("attack.s0020"),
            AttackTag::Software("S0020".into())
        );
        assert_eq!(classify_tag("attack.execution"), AttackTag::Other);
        assert_eq!(classify_tag("attack.t1059.1"), AttackTag::Other);
        assert_eq!(classify_tag("cve.2021-26855"), AttackTag::Other);
    }

    #[test]
    fn detections_are_read_tolerantly() {
        let text = r#"
{"rule_id": "r1", "rule_title": "Web shell", "level": "high", "timestamp": "2021-03-03T02:00:00Z", "host": "web01", "attack": ["T1505.003", "attack.t1190"]}
not json at all
{"rule_id": "r2", "timestamp": "2021-03-03T03:00:00Z", "attack": "attack.s0020 attack.g0065", "tags": ["attack.persistence"]}
{"rule_id": "ioc", "attack": [], "indicator": {"id": "indicator--1", "intrusion_set": "APT40", "value": "203.0.113.7"}}
[1, 2]

{"rule_id": "r1", "attack": ["T1505.003"], "cve": "CVE-2021-26855"}
"#;
        let (ev, rep) = Evidence::from_detections_jsonl(text);
        assert_eq!(rep.lines, 6);
        assert_eq!(rep.detections, 4);
        assert_eq!(rep.skipped_count, 2);
        assert_eq!(rep.skipped[0].0, 3);
        assert_eq!(ev.techniques, vec!["T1505.003", "T1190"]);
        assert_eq!(ev.software, vec!["S0020"]);
        assert_eq!(ev.group_tags, vec!["G0065"]);
        assert_eq!(ev.timestamps.len(), 2);
        assert_eq!(ev.cves, vec!["CVE-2021-26855"]);
        assert_eq!(ev.indicators.len(), 1);
        assert_eq!(ev.indicators[0].intrusion_set.as_deref(), Some("APT40"));
        assert_eq!(ev.provenance["T1505.003"], vec!["r1"]);
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_timestamp("2021-03-03T02:00:00Z"), Some(1_614_736_800));
        assert_eq!(
            parse_timestamp("2021-03-03T10:00:00.250+08:00"),
            Some(1_614_736_800)
        );
        assert_eq!(parse_timestamp("2021-03-03 02:00"), Some(1_614_736_800));
        assert_eq!(parse_timestamp("2021-13-03T02:00:00Z"), None);
        assert_eq!(parse_timestamp("yesterday"), None);
    }
}
