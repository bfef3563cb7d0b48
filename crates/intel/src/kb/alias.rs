//! Actor-name resolution: any name, alias, ATT&CK id or STIX id → one intrusion set.
//!
//! Names come from two sources of different authority, and the index keeps them apart:
//!
//! 1. ATT&CK itself — the STIX id, the G-id, the group's `name`, its `aliases`;
//! 2. the MISP threat-actor galaxy — a cluster's `value`, `meta.synonyms` and the names in
//!    `meta.name-attribution`, joined to an ATT&CK group through the attack.mitre.org group
//!    page the cluster links in `meta.refs`.
//!
//! A lookup answers from the most authoritative tier that knows the name (ids, then names, then
//! aliases, then MISP), so a vendor synonym can never override ATT&CK's own naming. Names that
//! honestly map to several groups (MISP clusters that link two ATT&CK pages, synonyms shared by
//! two clusters) are reported as ambiguous rather than guessed.

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::{KnowledgeBase, ObjId, ObjectKind};
use crate::error::{IntelError, Result};

/// Where a name was learnt, most authoritative first.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AliasSource {
    /// A STIX id or an ATT&CK external id.
    Id,
    /// The intrusion set's ATT&CK `name`.
    Name,
    /// One of the intrusion set's ATT&CK `aliases`.
    Alias,
    /// A MISP threat-actor cluster joined to the group.
    Misp,
}

/// The outcome of resolving a name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "outcome")]
pub enum Resolution {
    /// Exactly one intrusion set.
    Unique {
        /// The intrusion set.
        group: ObjId,
        /// The tier that answered.
        source: AliasSource,
    },
    /// Several intrusion sets carry the name at the most authoritative tier that knows it.
    Ambiguous {
        /// The candidates, sorted.
        groups: Vec<ObjId>,
        /// The tier that answered.
        source: AliasSource,
    },
    /// No intrusion set is known by this name.
    Unknown,
}

/// What joining a MISP galaxy added.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct MispJoinStats {
    /// Clusters in the galaxy.
    pub clusters: usize,
    /// Clusters joined to exactly one ATT&CK group.
    pub joined: usize,
    /// Clusters that link several ATT&CK groups none of which it could be narrowed to.
    pub ambiguous: usize,
    /// Clusters that link an attack.mitre.org group page the knowledge base does not know.
    pub unknown_group: usize,
    /// Clusters with no attack.mitre.org group link (not joined).
    pub unlinked: usize,
    /// Names added to the index (value, synonyms, name-attribution), counted per cluster.
    pub names_added: usize,
}

/// Normalises a name for lookup: trimmed, lower-cased, inner whitespace collapsed to one space.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, w) in name.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.extend(w.chars().flat_map(char::to_lowercase));
    }
    out
}

/// The lookup table behind [`KnowledgeBase::resolve`].
#[derive(Clone, Debug, Default)]
pub(crate) struct AliasIndex {
    map: HashMap<String, Vec<(ObjId, AliasSource)>>,
}

impl AliasIndex {
    fn add(&mut self, name: &str, group: ObjId, source: AliasSource) -> bool {
        let key = normalize_name(name);
        if key.is_empty() {
            return false;
        }
        let e = self.map.entry(key).or_default();
        if e.contains(&(group, source)) {
            return false;
        }
        e.push((group, source));
        true
    }

    /// ATT&CK names of every intrusion set, active or not; revoked sets point at their
    /// replacement.
    pub(crate) fn from_attack(kb: &KnowledgeBase) -> Self {
        let mut idx = Self::default();
        for (i, o) in kb.objects.iter().enumerate() {
            if o.kind != ObjectKind::IntrusionSet {
                continue;
            }
            let target = kb.current(ObjId(i as u32));
            if kb.object(target).kind != ObjectKind::IntrusionSet {
                continue;
            }
            idx.add(&o.stix_id, target, AliasSource::Id);
            if let Some(e) = &o.external_id {
                idx.add(e, target, AliasSource::Id);
            }
            idx.add(&o.name, target, AliasSource::Name);
            for a in &o.aliases {
                idx.add(a, target, AliasSource::Alias);
            }
        }
        idx
    }

    fn lookup(&self, kb: &KnowledgeBase, name: &str) -> Resolution {
        let Some(entries) = self.map.get(&normalize_name(name)) else {
            return Resolution::Unknown;
        };
        let Some(best) = entries.iter().map(|e| e.1).min() else {
            return Resolution::Unknown;
        };
        let mut groups: Vec<ObjId> = entries
            .iter()
            .filter(|e| e.1 == best)
            .map(|e| e.0)
            .collect();
        groups.sort_unstable();
        groups.dedup();
        if groups.len() > 1 && groups.iter().any(|&g| kb.is_active(g)) {
            groups.retain(|&g| kb.is_active(g));
        }
        match groups.as_slice() {
            [] => Resolution::Unknown,
            [g] => Resolution::Unique {
                group: *g,
                source: best,
            },
            _ => Resolution::Ambiguous {
                groups,
                source: best,
            },
        }
    }
}

/// `G` followed by four digits right after a `/` in an attack.mitre.org group URL.
fn attack_group_id(url: &str) -> Option<String> {
    if !url.contains("attack.mitre.org") {
        return None;
    }
    let b = url.as_bytes();
    (1..b.len()).find_map(|i| {
        let ok = b[i - 1] == b'/'
            && b[i] == b'G'
            && b.len() >= i + 5
            && b[i + 1..i + 5].iter().all(u8::is_ascii_digit)
            && b.get(i + 5).is_none_or(|c| !c.is_ascii_alphanumeric());
        ok.then(|| url[i..i + 5].to_owned())
    })
}

/// The name part of a MISP `name-attribution` entry (`"APT40:da5cdcd1-…"` → `"APT40"`).
fn attribution_name(entry: &str) -> &str {
    match entry.rsplit_once(':') {
        Some((name, tail))
            if tail.len() == 36 && tail.chars().filter(|&c| c == '-').count() == 4 =>
        {
            name
        }
        _ => entry,
    }
}

impl KnowledgeBase {
    /// The intrusion set known by `name` — a STIX id, an ATT&CK id (`G0065`), an ATT&CK name or
    /// alias, or (once joined) a MISP threat-actor name — case-insensitively. `None` when the
    /// name is unknown or ambiguous (see [`KnowledgeBase::resolve_detailed`]). Revoked groups
    /// resolve to their replacement; deprecated ones to themselves.
    pub fn resolve(&self, name: &str) -> Option<ObjId> {
        match self.resolve_detailed(name) {
            Resolution::Unique { group, .. } => Some(group),
            _ => None,
        }
    }

    /// Like [`KnowledgeBase::resolve`], saying which tier answered and listing the candidates
    /// of an ambiguous name.
    pub fn resolve_detailed(&self, name: &str) -> Resolution {
        self.aliases.lookup(self, name)
    }

    /// Every name the index knows for a group, normalised, with its source.
    pub fn names_of(&self, group: ObjId) -> Vec<(String, AliasSource)> {
        let mut v: Vec<(String, AliasSource)> = self
            .aliases
            .map
            .iter()
            .flat_map(|(k, es)| {
                es.iter()
                    .filter(|e| e.0 == group)
                    .map(move |e| (k.clone(), e.1))
            })
            .collect();
        v.sort();
        v
    }

    /// Joins a MISP threat-actor galaxy (`clusters/threat-actor.json`, parsed) to the ATT&CK
    /// groups: each cluster that links an attack.mitre.org group page in `meta.refs` lends its
    /// `value`, `meta.synonyms` and `meta.name-attribution` names to that group.
    ///
    /// A cluster linking several group pages is joined to the one ATT&CK knows by the
    /// cluster's `value`, failing that to the one whose ATT&CK names share any name with the
    /// cluster; when neither singles one out, its names stay ambiguous.
    pub fn add_misp_threat_actors(&mut self, galaxy: &Value) -> Result<MispJoinStats> {
        let values = galaxy
            .get("values")
            .and_then(Value::as_array)
            .ok_or_else(|| IntelError::BadDocument {
                what: "MISP galaxy".into(),
                reason: "no `values` array".into(),
            })?;
        let mut stats = MispJoinStats {
            clusters: values.len(),
            ..Default::default()
        };
        let mut additions: Vec<(String, ObjId)> = Vec::new();
        for cluster in values {
            let meta = cluster.get("meta");
            let list = |key: &str| -> Vec<&str> {
                meta.and_then(|m| m.get(key))
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default()
            };
            let mut names: Vec<&str> = Vec::new();
            if let Some(v) = cluster.get("value").and_then(Value::as_str) {
                names.push(v);
            }
            names.extend(list("synonyms"));
            names.extend(list("name-attribution").into_iter().map(attribution_name));

            let mut linked: Vec<String> = list("refs")
                .into_iter()
                .filter_map(attack_group_id)
                .collect();
            linked.sort();
            linked.dedup();
            if linked.is_empty() {
                stats.unlinked += 1;
                continue;
            }
            let mut groups: Vec<ObjId> = linked
                .iter()
                .filter_map(|gid| self.by_external_id(gid))
                .map(|g| self.current(g))
                .filter(|&g| self.object(g).kind == ObjectKind::IntrusionSet)
                .collect();
            groups.sort_unstable();
            groups.dedup();
            if groups.is_empty() {
                stats.unknown_group += 1;
                continue;
            }
            if groups.len() > 1 {
                // MISP lumps groups ATT&CK keeps apart (APT41 + Winnti Group, Lazarus + APT38):
                // join to the linked group ATT&CK knows by the cluster's own value, else by any
                // of its names, else leave the names ambiguous.
                let value: Vec<String> = names.iter().take(1).map(|n| normalize_name(n)).collect();
                let all: Vec<String> = names.iter().map(|n| normalize_name(n)).collect();
                let known_as = |wanted: &[String]| -> Vec<ObjId> {
                    groups
                        .iter()
                        .copied()
                        .filter(|&g| {
                            self.names_of(g)
                                .iter()
                                .any(|(n, src)| *src != AliasSource::Misp && wanted.contains(n))
                        })
                        .collect()
                };
                let by_value = known_as(&value);
                let matching = if by_value.len() == 1 {
                    by_value
                } else {
                    known_as(&all)
                };
                if matching.len() == 1 {
                    groups = matching;
                } else {
                    stats.ambiguous += 1;
                }
            }
            if groups.len() == 1 {
                stats.joined += 1;
            }
            for n in &names {
                for &g in &groups {
                    additions.push(((*n).to_owned(), g));
                }
            }
            stats.names_added += names.len();
        }
        for (n, g) in additions {
            self.aliases.add(&n, g, AliasSource::Misp);
        }
        Ok(stats)
    }

    /// Reads a MISP threat-actor galaxy file and joins it (see
    /// [`KnowledgeBase::add_misp_threat_actors`]).
    pub fn add_misp_threat_actors_file(&mut self, path: impl AsRef<Path>) -> Result<MispJoinStats> {
        let v = super::read_json(path.as_ref())?;
        self.add_misp_threat_actors(&v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kb::KbBuilder;
    use serde_json::json;

    fn group(id: &str, gid: &str, name: &str, aliases: &[&str]) -> Value {
        json!({"type": "intrusion-set", "id": id, "name": name, "aliases": aliases,
               "external_references": [{"source_name": "mitre-attack", "external_id": gid}]})
    }

    fn kb() -> KnowledgeBase {
        let mut b = KbBuilder::new();
        for g in [
            group(
                "intrusion-set--a",
                "G0065",
                "Leviathan",
                &["APT40", "TEMP.Periscope"],
            ),
            group("intrusion-set--b", "G0096", "APT41", &["Wicked Panda"]),
            group("intrusion-set--c", "G0044", "Winnti Group", &["Blackfly"]),
            group("intrusion-set--d", "G0001", "Axiom", &["Group 72"]),
            group("intrusion-set--e", "G0002", "Shared", &["Common"]),
            group("intrusion-set--f", "G0003", "Other", &["Common"]),
        ] {
            b.add_object(&g).unwrap();
        }
        b.finish()
    }

    #[test]
    fn names_normalise() {
        assert_eq!(normalize_name("  Gingham \t Typhoon "), "gingham typhoon");
        assert_eq!(normalize_name("TEMP.Periscope"), "temp.periscope");
    }

    #[test]
    fn attack_tiers_resolve_case_insensitively() {
        let kb = kb();
        let g = kb.by_external_id("G0065").unwrap();
        for n in [
            "APT40",
            "leviathan",
            "g0065",
            "intrusion-set--a",
            " temp.periscope ",
        ] {
            assert_eq!(kb.resolve(n), Some(g), "{n}");
        }
        assert_eq!(kb.resolve("nobody"), None);
        assert!(matches!(
            kb.resolve_detailed("common"),
            Resolution::Ambiguous { ref groups, source: AliasSource::Alias } if groups.len() == 2
        ));
    }

    #[test]
    fn misp_clusters_join_through_group_pages() {
        let mut kb = kb();
        let galaxy = json!({"values": [
            {"value": "APT40", "meta": {"synonyms": ["Gingham Typhoon", "Leviathan"],
                "name-attribution": ["BRONZE MOHAWK:a7119872-bc6b-494b-9f7a-8c50faaf53a9"],
                "refs": ["https://attack.mitre.org/groups/G0065/"]}},
            {"value": "APT41", "meta": {"synonyms": ["BARIUM"],
                "refs": ["https://attack.mitre.org/groups/G0044/", "https://attack.mitre.org/groups/G0096"]}},
            {"value": "Winnti Group", "meta": {"synonyms": ["APT41", "Winnti"],
                "refs": ["https://attack.mitre.org/groups/G0044/", "https://attack.mitre.org/groups/G0096"]}},
            {"value": "Mystery", "meta": {"synonyms": ["Unclear"],
                "refs": ["https://attack.mitre.org/groups/G0044/", "https://attack.mitre.org/wiki/Group/G0001"]}},
            {"value": "Nobody", "meta": {"refs": ["https://example.org/"]}},
            {"value": "Ghost", "meta": {"refs": ["https://attack.mitre.org/groups/G9999/"]}}
        ]});
        let st = kb.add_misp_threat_actors(&galaxy).unwrap();
        assert_eq!(
            st,
            MispJoinStats {
                clusters: 6,
                joined: 3,
                ambiguous: 1,
                unknown_group: 1,
                unlinked: 1,
                names_added: 4 + 2 + 3 + 2
            }
        );
        let lev = kb.by_external_id("G0065").unwrap();
        assert_eq!(kb.resolve("gingham typhoon"), Some(lev));
        assert_eq!(kb.resolve("Bronze Mohawk"), Some(lev));
        assert!(matches!(
            kb.resolve_detailed("Gingham Typhoon"),
            Resolution::Unique {
                source: AliasSource::Misp,
                ..
            }
        ));
        // ATT&CK's own name still answers from its own tier.
        assert!(matches!(
            kb.resolve_detailed("Leviathan"),
            Resolution::Unique {
                source: AliasSource::Name,
                ..
            }
        ));
        // The APT41 cluster links G0044 and G0096; its value names G0096.
        assert_eq!(kb.resolve("barium"), kb.by_external_id("G0096"));
        // A lumped cluster whose synonyms name both groups joins by its value.
        assert_eq!(kb.resolve("winnti"), kb.by_external_id("G0044"));
        assert!(matches!(
            kb.resolve_detailed("Unclear"),
            Resolution::Ambiguous { .. }
        ));
        assert!(kb.add_misp_threat_actors(&json!({})).is_err());
    }

    #[test]
    fn group_links_parse() {
        assert_eq!(
            attack_group_id("https://attack.mitre.org/groups/G0065/").as_deref(),
            Some("G0065")
        );
        assert_eq!(
            attack_group_id("https://attack.mitre.org/wiki/Group/G0001").as_deref(),
            Some("G0001")
        );
        assert_eq!(
            attack_group_id("https://attack.mitre.org/wiki/Groups"),
            None
        );
        assert_eq!(attack_group_id("https://example.org/groups/G0065/"), None);
        assert_eq!(
            attribution_name("TA423:cae79680-67a6-4411-903c-f824dbcc813f"),
            "TA423"
        );
        assert_eq!(attribution_name("odd:name"), "odd:name");
    }
}
