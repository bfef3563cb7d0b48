//! Attribution context: what intelligence says about a group beyond techniques and software —
//! the CVEs it exploits, the sectors and countries it targets, and when its operators work.
//!
//! The [`KnowledgeBase`] keeps what the benchmark scores on (`uses`, `attributed-to`,
//! `indicates`…). The STIX that carries victimology and vulnerabilities — `targets` edges to
//! `vulnerability`, `identity` (victim classes with `sectors`) and `location` objects, and the
//! starter pack's `x_tiaki_activity_hours` on intrusion sets — is collected here, from the same
//! STIX objects, by a [`ContextBuilder`] fed one object at a time (a bundle file, the embedded
//! pack, the case store). Campaign targets are credited to the groups the campaign is
//! attributed to.
//!
//! Groups are matched to the knowledge base by STIX id, failing that by ATT&CK id, so that the
//! starter pack's facts attach to MITRE's objects when both are loaded (the pack gives its
//! intrusion sets their own STIX ids; see `intel/README.md`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::kb::{KnowledgeBase, ObjId, ObjectKind};

/// A group's operator working hours (`x_tiaki_activity_hours`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActivityHours {
    /// IANA time zone name, as published (informational).
    pub tz: Option<String>,
    /// Offset of local time from UTC, in minutes.
    pub utc_offset_minutes: i32,
    /// Working days, 0 = Monday … 6 = Sunday.
    pub weekdays: Vec<u8>,
    /// Local working hours `[start, end)`.
    pub hours: (u8, u8),
    /// Confidence in the profile, 0–1 (STIX confidence / 100).
    pub confidence: f64,
    /// What the profile rests on.
    pub basis: Option<String>,
    /// Its sources.
    pub sources: Vec<String>,
}

impl ActivityHours {
    /// Parses `x_tiaki_activity_hours`. `None` when the offset or the hours are missing.
    pub fn from_value(v: &Value) -> Option<Self> {
        let offset = v
            .get("utc_offset_minutes")
            .and_then(Value::as_f64)
            .or_else(|| {
                v.get("utc_offset_hours")
                    .and_then(Value::as_f64)
                    .map(|h| h * 60.0)
            })?;
        let h = v.get("weekday_hours_local")?.as_array()?;
        let (start, end) = (h.first()?.as_u64()?, h.get(1)?.as_u64()?);
        if start > 24 || end > 24 {
            return None;
        }
        let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let weekdays: Vec<u8> = match v.get("weekdays").and_then(Value::as_array) {
            Some(a) => a
                .iter()
                .filter_map(Value::as_str)
                .filter_map(|d| {
                    let d = d.to_ascii_lowercase();
                    days.iter().position(|x| d.starts_with(x)).map(|i| i as u8)
                })
                .collect(),
            None => vec![0, 1, 2, 3, 4],
        };
        let confidence = v
            .get("confidence")
            .and_then(Value::as_f64)
            .map_or(0.5, |c| (c / 100.0).clamp(0.0, 1.0));
        Some(Self {
            tz: v.get("tz").and_then(Value::as_str).map(str::to_owned),
            utc_offset_minutes: offset.round() as i32,
            weekdays,
            hours: (start as u8, end as u8),
            confidence,
            basis: v.get("basis").and_then(Value::as_str).map(str::to_owned),
            sources: crate::kb::str_list(v, "sources"),
        })
    }

    /// Whether a UTC instant (seconds since the epoch) falls in the working window.
    pub fn contains(&self, unix_seconds: i64) -> bool {
        let local = unix_seconds + i64::from(self.utc_offset_minutes) * 60;
        let days = local.div_euclid(86_400);
        // 1970-01-01 was a Thursday (Monday = 0 → Thursday = 3).
        let weekday = (days + 3).rem_euclid(7) as u8;
        let hour = (local.rem_euclid(86_400) / 3600) as u8;
        let (s, e) = self.hours;
        let in_hours = if s <= e {
            hour >= s && hour < e
        } else {
            hour >= s || hour < e
        };
        self.weekdays.contains(&weekday) && in_hours
    }

    /// Share of a week the window covers.
    pub fn week_share(&self) -> f64 {
        let (s, e) = self.hours;
        let h = if s <= e { e - s } else { 24 - s + e };
        (self.weekdays.len() as f64 * f64::from(h) / 168.0).clamp(0.0, 1.0)
    }
}

/// One fact "group targets X", with the sources behind it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TargetFact {
    /// Normalised key: a CVE id (`CVE-2021-26855`), a STIX industry sector (`government-national`)
    /// or an ISO 3166-1 alpha-2 country code (`NZ`).
    pub key: String,
    /// Human label (the victim class or country name, the CVE's product line).
    pub label: String,
    /// Source names.
    pub sources: Vec<String>,
}

/// Victimology, CVEs and working hours per group.
#[derive(Clone, Debug, Default)]
pub struct Context {
    pub(crate) cves: HashMap<ObjId, Vec<TargetFact>>,
    pub(crate) sectors: HashMap<ObjId, Vec<TargetFact>>,
    pub(crate) countries: HashMap<ObjId, Vec<TargetFact>>,
    pub(crate) hours: HashMap<ObjId, ActivityHours>,
    /// Country name (normalised) → code, from the location objects seen.
    pub(crate) country_names: HashMap<String, String>,
}

impl Context {
    /// No context: only the token channels and indicators take part.
    pub fn empty() -> Self {
        Self::default()
    }

    /// A builder to feed STIX objects into.
    pub fn builder() -> ContextBuilder {
        ContextBuilder::default()
    }

    /// The context of a parsed STIX bundle, for the groups of `kb`.
    pub fn from_bundle_value(kb: &KnowledgeBase, bundle: &Value) -> Self {
        let mut b = ContextBuilder::default();
        for o in bundle
            .get("objects")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            b.add_object(o);
        }
        b.finish(kb)
    }

    /// CVEs a group is known to exploit.
    pub fn cves_of(&self, g: ObjId) -> &[TargetFact] {
        self.cves.get(&g).map_or(&[], Vec::as_slice)
    }

    /// Sectors a group is known to target.
    pub fn sectors_of(&self, g: ObjId) -> &[TargetFact] {
        self.sectors.get(&g).map_or(&[], Vec::as_slice)
    }

    /// Countries a group is known to target.
    pub fn countries_of(&self, g: ObjId) -> &[TargetFact] {
        self.countries.get(&g).map_or(&[], Vec::as_slice)
    }

    /// A group's working hours, if known.
    pub fn hours_of(&self, g: ObjId) -> Option<&ActivityHours> {
        self.hours.get(&g)
    }

    /// Groups with any victimology (sector or country) — the only ones a victimology mismatch
    /// can count against.
    pub fn has_victimology(&self, g: ObjId) -> bool {
        self.sectors.contains_key(&g) || self.countries.contains_key(&g)
    }

    /// The ISO code of a country given by code or name, if the context knows it (codes are
    /// accepted as given).
    pub fn country_code(&self, name: &str) -> String {
        let n = name.trim();
        if n.len() == 2 && n.chars().all(|c| c.is_ascii_alphabetic()) {
            return n.to_ascii_uppercase();
        }
        self.country_names
            .get(&n.to_lowercase())
            .cloned()
            .unwrap_or_else(|| n.to_uppercase())
    }

    /// Whether the context holds anything at all.
    pub fn is_empty(&self) -> bool {
        self.cves.is_empty()
            && self.sectors.is_empty()
            && self.countries.is_empty()
            && self.hours.is_empty()
    }
}

#[derive(Clone, Debug)]
enum Target {
    Cve(String, String),
    Sectors(Vec<String>, String),
    Country(String, String),
}

/// Collects context from STIX objects in any order; [`ContextBuilder::finish`] resolves them
/// against a knowledge base.
#[derive(Clone, Debug, Default)]
pub struct ContextBuilder {
    targets: HashMap<String, Target>,
    /// intrusion-set / campaign STIX id → ATT&CK id.
    attack_ids: HashMap<String, String>,
    hours: HashMap<String, ActivityHours>,
    /// (source, target, sources) of `targets` edges.
    target_rels: Vec<(String, String, Vec<String>)>,
    /// campaign → intrusion sets, from `attributed-to` edges seen.
    attributed: HashMap<String, Vec<String>>,
    country_names: HashMap<String, String>,
}

fn attack_id(v: &Value) -> Option<String> {
    v.get("external_references")?
        .as_array()?
        .iter()
        .find(|r| {
            r.get("source_name")
                .and_then(Value::as_str)
                .is_some_and(|s| s.starts_with("mitre-"))
        })
        .and_then(|r| r.get("external_id"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The citations of a STIX object: its `external_references`' source names, ATT&CK's own
/// (`mitre-…`) left out.
pub fn ref_names(v: &Value) -> Vec<String> {
    v.get("external_references")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|r| r.get("source_name").and_then(Value::as_str))
                .filter(|s| !s.starts_with("mitre-"))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// `CVE-2021-26855` in upper case, if `s` is a CVE id.
pub fn normalize_cve(s: &str) -> Option<String> {
    let u = s.trim().to_ascii_uppercase();
    let rest = u.strip_prefix("CVE-")?;
    let (year, num) = rest.split_once('-')?;
    (year.len() == 4
        && year.chars().all(|c| c.is_ascii_digit())
        && num.len() >= 4
        && num.chars().all(|c| c.is_ascii_digit()))
    .then_some(u)
}

/// A sector name in the STIX industry-sector vocabulary's spelling (`Government National` →
/// `government-national`).
pub fn normalize_sector(s: &str) -> String {
    s.trim()
        .to_lowercase()
        .split(|c: char| c.is_whitespace() || c == '_' || c == '-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

impl ContextBuilder {
    /// Adds one STIX object; types that carry no context are ignored.
    pub fn add_object(&mut self, v: &Value) {
        let (Some(ty), Some(id)) = (
            v.get("type").and_then(Value::as_str),
            v.get("id").and_then(Value::as_str),
        ) else {
            return;
        };
        let name = v.get("name").and_then(Value::as_str).unwrap_or_default();
        match ty {
            "vulnerability" => {
                let cve = normalize_cve(name).or_else(|| {
                    v.get("external_references")
                        .and_then(Value::as_array)?
                        .iter()
                        .filter(|r| r.get("source_name").and_then(Value::as_str) == Some("cve"))
                        .find_map(|r| r.get("external_id").and_then(Value::as_str))
                        .and_then(normalize_cve)
                });
                if let Some(c) = cve {
                    let label = v
                        .get("description")
                        .and_then(Value::as_str)
                        .and_then(|d| d.split(':').next())
                        .unwrap_or(name)
                        .to_owned();
                    self.targets.insert(id.to_owned(), Target::Cve(c, label));
                }
            }
            "identity" => {
                let sectors: Vec<String> = v
                    .get("sectors")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(normalize_sector)
                            .collect()
                    })
                    .unwrap_or_default();
                if !sectors.is_empty() {
                    self.targets
                        .insert(id.to_owned(), Target::Sectors(sectors, name.to_owned()));
                }
            }
            "location" => {
                if let Some(c) = v.get("country").and_then(Value::as_str) {
                    let code = c.trim().to_ascii_uppercase();
                    if !name.is_empty() {
                        self.country_names.insert(name.to_lowercase(), code.clone());
                    }
                    self.targets
                        .insert(id.to_owned(), Target::Country(code, name.to_owned()));
                }
            }
            "intrusion-set" | "campaign" => {
                if let Some(a) = attack_id(v) {
                    self.attack_ids.insert(id.to_owned(), a);
                }
                if let Some(h) = v
                    .get("x_tiaki_activity_hours")
                    .and_then(ActivityHours::from_value)
                {
                    self.hours.insert(id.to_owned(), h);
                }
            }
            "relationship" => {
                let rt = v.get("relationship_type").and_then(Value::as_str);
                let (Some(s), Some(t)) = (
                    v.get("source_ref").and_then(Value::as_str),
                    v.get("target_ref").and_then(Value::as_str),
                ) else {
                    return;
                };
                if v.get("revoked").and_then(Value::as_bool) == Some(true) {
                    return;
                }
                match rt {
                    Some("targets") => {
                        self.target_rels
                            .push((s.to_owned(), t.to_owned(), ref_names(v)));
                    }
                    Some("attributed-to") if s.starts_with("campaign--") => {
                        self.attributed
                            .entry(s.to_owned())
                            .or_default()
                            .push(t.to_owned());
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }

    /// Adds one relationship given by its parts (for loaders that keep relationships in their
    /// own form): `kind` is `targets` or `attributed-to`; `sources` are the citations' source
    /// names. Other kinds are ignored.
    pub fn add_relationship(
        &mut self,
        kind: &str,
        source: &str,
        target: &str,
        sources: Vec<String>,
    ) {
        match kind {
            "targets" => self
                .target_rels
                .push((source.to_owned(), target.to_owned(), sources)),
            "attributed-to" if source.starts_with("campaign--") => self
                .attributed
                .entry(source.to_owned())
                .or_default()
                .push(target.to_owned()),
            _ => {}
        }
    }

    /// The groups of `kb` a STIX source (intrusion set or campaign) stands for.
    fn groups_of(&self, kb: &KnowledgeBase, stix: &str) -> Vec<ObjId> {
        let one = |id: &str| -> Option<ObjId> {
            let o = kb
                .by_stix_id(id)
                .filter(|&o| kb.object(o).kind == ObjectKind::IntrusionSet)
                .or_else(|| {
                    let a = self.attack_ids.get(id)?;
                    kb.by_external_id(a)
                        .filter(|&o| kb.object(o).kind == ObjectKind::IntrusionSet)
                })?;
            let cur = kb.current(o);
            kb.is_active(cur).then_some(cur)
        };
        if stix.starts_with("intrusion-set--") {
            return one(stix).into_iter().collect();
        }
        if stix.starts_with("campaign--") {
            let mut out: Vec<ObjId> = self
                .attributed
                .get(stix)
                .into_iter()
                .flatten()
                .filter_map(|g| one(g))
                .collect();
            let c = kb
                .by_stix_id(stix)
                .or_else(|| self.attack_ids.get(stix).and_then(|a| kb.by_external_id(a)));
            if let Some(c) = c {
                out.extend_from_slice(kb.attributed_groups(c));
            }
            out.sort_unstable();
            out.dedup();
            return out;
        }
        Vec::new()
    }

    /// Resolves everything against `kb`. Facts about groups the knowledge base lacks are
    /// dropped.
    pub fn finish(self, kb: &KnowledgeBase) -> Context {
        let mut cves: BTreeMap<ObjId, BTreeMap<String, TargetFact>> = BTreeMap::new();
        let mut sectors: BTreeMap<ObjId, BTreeMap<String, TargetFact>> = BTreeMap::new();
        let mut countries: BTreeMap<ObjId, BTreeMap<String, TargetFact>> = BTreeMap::new();
        let add = |map: &mut BTreeMap<ObjId, BTreeMap<String, TargetFact>>,
                   g: ObjId,
                   key: &str,
                   label: &str,
                   src: &[String]| {
            let e = map
                .entry(g)
                .or_default()
                .entry(key.to_owned())
                .or_insert_with(|| TargetFact {
                    key: key.to_owned(),
                    label: label.to_owned(),
                    sources: Vec::new(),
                });
            for s in src {
                if !e.sources.contains(s) {
                    e.sources.push(s.clone());
                }
            }
        };
        for (s, t, src) in &self.target_rels {
            let Some(target) = self.targets.get(t) else {
                continue;
            };
            for g in self.groups_of(kb, s) {
                match target {
                    Target::Cve(c, label) => add(&mut cves, g, c, label, src),
                    Target::Sectors(list, label) => {
                        for sec in list {
                            add(&mut sectors, g, sec, label, src);
                        }
                    }
                    Target::Country(c, label) => add(&mut countries, g, c, label, src),
                }
            }
        }
        let mut hours = HashMap::new();
        for (s, h) in &self.hours {
            for g in self.groups_of(kb, s) {
                hours.insert(g, h.clone());
            }
        }
        let flat = |m: BTreeMap<ObjId, BTreeMap<String, TargetFact>>| {
            m.into_iter()
                .map(|(g, v)| (g, v.into_values().collect()))
                .collect()
        };
        Context {
            cves: flat(cves),
            sectors: flat(sectors),
            countries: flat(countries),
            hours,
            country_names: self.country_names,
        }
    }
}

/// How many groups know each key, for specificity weights.
pub(crate) fn document_frequency(map: &HashMap<ObjId, Vec<TargetFact>>) -> HashMap<String, usize> {
    let mut df: HashMap<String, usize> = HashMap::new();
    for facts in map.values() {
        let keys: BTreeSet<&str> = facts.iter().map(|f| f.key.as_str()).collect();
        for k in keys {
            *df.entry(k.to_owned()).or_default() += 1;
        }
    }
    df
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kb::KbBuilder;
    use serde_json::json;

    fn ext(id: &str) -> Value {
        json!([{"source_name": "mitre-attack", "external_id": id}])
    }

    #[test]
    fn pack_style_context_attaches_by_attack_id() {
        // The knowledge base has MITRE's G0065; the context names the pack's own object.
        let mut kb = KbBuilder::new();
        kb.add_object(
            &json!({"type": "intrusion-set", "id": "intrusion-set--mitre",
            "name": "Leviathan", "external_references": ext("G0065")}),
        )
        .unwrap();
        let kb = kb.finish();
        let objs = [
            json!({"type": "intrusion-set", "id": "intrusion-set--pack", "name": "Leviathan",
                "external_references": ext("G0065"),
                "x_tiaki_activity_hours": {"utc_offset_hours": 8, "weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri"],
                    "weekday_hours_local": [9, 18], "confidence": 30}}),
            json!({"type": "vulnerability", "id": "vulnerability--1", "name": "CVE-2021-26855"}),
            json!({"type": "identity", "id": "identity--1", "name": "Legislatures",
                "identity_class": "class", "sectors": ["government-national"]}),
            json!({"type": "location", "id": "location--1", "name": "New Zealand", "country": "NZ"}),
            json!({"type": "relationship", "id": "relationship--1", "relationship_type": "targets",
                "source_ref": "intrusion-set--pack", "target_ref": "vulnerability--1",
                "external_references": [{"source_name": "CISA AA24-190A"}]}),
            json!({"type": "relationship", "id": "relationship--2", "relationship_type": "targets",
                "source_ref": "intrusion-set--pack", "target_ref": "identity--1"}),
            json!({"type": "relationship", "id": "relationship--3", "relationship_type": "targets",
                "source_ref": "campaign--nz", "target_ref": "location--1"}),
            json!({"type": "relationship", "id": "relationship--4", "relationship_type": "attributed-to",
                "source_ref": "campaign--nz", "target_ref": "intrusion-set--pack"}),
        ];
        let mut b = Context::builder();
        for o in &objs {
            b.add_object(o);
        }
        let ctx = b.finish(&kb);
        let g = kb.resolve("G0065").unwrap();
        assert_eq!(ctx.cves_of(g)[0].key, "CVE-2021-26855");
        assert_eq!(ctx.cves_of(g)[0].sources, vec!["CISA AA24-190A"]);
        assert_eq!(ctx.sectors_of(g)[0].key, "government-national");
        assert_eq!(ctx.countries_of(g)[0].key, "NZ");
        assert_eq!(ctx.country_code("new zealand"), "NZ");
        let h = ctx.hours_of(g).unwrap();
        assert_eq!(h.utc_offset_minutes, 480);
        assert!((h.confidence - 0.3).abs() < 1e-12);
        // 2021-03-03 (Wednesday) 02:00 UTC = 10:00 in UTC+8: inside; 12:00 UTC = 20:00: outside.
        assert!(h.contains(1_614_736_800));
        assert!(!h.contains(1_614_736_800 + 10 * 3600));
        // Saturday 2021-03-06 02:00 UTC: outside.
        assert!(!h.contains(1_614_736_800 + 3 * 86_400));
        assert!((h.week_share() - 45.0 / 168.0).abs() < 1e-12);
    }

    #[test]
    fn normalisers() {
        assert_eq!(
            normalize_cve(" cve-2019-0604 ").as_deref(),
            Some("CVE-2019-0604")
        );
        assert_eq!(normalize_cve("CVE-19-1"), None);
        assert_eq!(
            normalize_sector("Government National"),
            "government-national"
        );
    }
}
