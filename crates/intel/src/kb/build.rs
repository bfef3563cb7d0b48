//! Building a [`KnowledgeBase`] from STIX objects.

use std::collections::HashMap;

use serde_json::Value;

use super::alias::AliasIndex;
use super::{CiteId, KbObject, KbStats, KnowledgeBase, ObjId, ObjectKind, RelKind, Relationship};
use crate::error::{IntelError, Result};

/// External-reference source names that carry ATT&CK ids rather than citations.
const ATTACK_SOURCES: [&str; 3] = ["mitre-attack", "mitre-mobile-attack", "mitre-ics-attack"];

/// A relationship whose endpoints are resolved in [`KbBuilder::finish`] (objects may come in
/// any order).
#[derive(Debug)]
struct PendingRel {
    stix_id: String,
    kind: RelKind,
    source: String,
    target: String,
    description: String,
    citations: Vec<CiteId>,
    active: bool,
    modified: Option<String>,
}

/// Feeds STIX 2.1 objects, one at a time, into a [`KnowledgeBase`].
///
/// ```
/// use serde_json::json;
/// use tiaki_intel::kb::KbBuilder;
///
/// let mut b = KbBuilder::new();
/// b.add_object(&json!({"type": "intrusion-set", "id": "intrusion-set--1", "name": "Leviathan",
///     "aliases": ["APT40"],
///     "external_references": [{"source_name": "mitre-attack", "external_id": "G0065"}]})).unwrap();
/// let kb = b.finish();
/// assert_eq!(kb.label(kb.resolve("apt40").unwrap()), "G0065");
/// ```
#[derive(Debug, Default)]
pub struct KbBuilder {
    objects: Vec<KbObject>,
    by_stix: HashMap<String, ObjId>,
    rels: Vec<PendingRel>,
    rel_by_stix: HashMap<String, usize>,
    cite_ids: HashMap<String, CiteId>,
    cites: Vec<String>,
    stats: KbStats,
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn bool_field(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// The strings of a JSON list property (`aliases`, `sources`…); other items are skipped.
pub(crate) fn str_list(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The `(Citation: X)` markers of an ATT&CK description, in order. Equivalent to the regular
/// expression `\(Citation: ([^)]+)\)` applied with find-all semantics.
pub(crate) fn description_citations(text: &str) -> Vec<&str> {
    const OPEN: &str = "(Citation: ";
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(OPEN) {
        let after = &rest[i + OPEN.len()..];
        match after.find(')') {
            Some(0) => rest = &rest[i + 1..],
            Some(j) => {
                out.push(&after[..j]);
                rest = &after[j + 1..];
            }
            None => break,
        }
    }
    out
}

impl KbBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    fn intern(&mut self, c: &str) -> CiteId {
        if let Some(&id) = self.cite_ids.get(c) {
            return id;
        }
        let id = CiteId(self.cites.len() as u32);
        self.cites.push(c.to_owned());
        self.cite_ids.insert(c.to_owned(), id);
        id
    }

    /// The citations of an object or relationship: the `source_name` of every external
    /// reference that is not an ATT&CK id, plus the `(Citation: …)` markers of the description
    /// (the same definition as the reference benchmark). Sorted and deduplicated.
    fn citations_of(&mut self, v: &Value) -> Vec<CiteId> {
        let mut ids = Vec::new();
        if let Some(d) = str_field(v, "description") {
            for c in description_citations(d) {
                ids.push(self.intern(c));
            }
        }
        if let Some(refs) = v.get("external_references").and_then(Value::as_array) {
            for r in refs {
                if let Some(s) = str_field(r, "source_name")
                    && !s.is_empty()
                    && !ATTACK_SOURCES.contains(&s)
                {
                    ids.push(self.intern(s));
                }
            }
        }
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Adds one STIX object. Objects of types the knowledge base does not keep are counted and
    /// skipped; so are relationships of other types. A second version of an object (same `id`)
    /// replaces the first when its `modified` is later.
    ///
    /// Fails when the value is not a JSON object or lacks `type` or `id`.
    pub fn add_object(&mut self, v: &Value) -> Result<()> {
        let position = self.objects.len() + self.rels.len();
        let bad = |reason: &str| IntelError::BadObject {
            id: str_field(v, "id")
                .map(str::to_owned)
                .unwrap_or_else(|| format!("#{position}")),
            reason: reason.to_owned(),
        };
        if !v.is_object() {
            return Err(bad("not a JSON object"));
        }
        let ty = str_field(v, "type").ok_or_else(|| bad("no `type`"))?;
        let id = str_field(v, "id").ok_or_else(|| bad("no `id`"))?;
        if ty == "relationship" {
            return self.add_relationship(v, id);
        }
        if ty == "x-mitre-collection" {
            self.stats.attack_version = str_field(v, "x_mitre_version").map(str::to_owned);
        }
        let Some(kind) = ObjectKind::from_stix_type(ty) else {
            *self.stats.skipped_types.entry(ty.to_owned()).or_default() += 1;
            return Ok(());
        };
        let modified = str_field(v, "modified").map(str::to_owned);
        let existing = self.by_stix.get(id).copied();
        if let Some(old) = existing {
            self.stats.superseded_versions += 1;
            if modified <= self.objects[old.index()].modified {
                return Ok(());
            }
        }
        let external_id = v
            .get("external_references")
            .and_then(Value::as_array)
            .and_then(|refs| {
                refs.iter().find_map(|r| {
                    let src = str_field(r, "source_name")?;
                    if ATTACK_SOURCES.contains(&src) {
                        str_field(r, "external_id").map(str::to_owned)
                    } else {
                        None
                    }
                })
            });
        let mut aliases = str_list(v, "aliases");
        aliases.extend(str_list(v, "x_mitre_aliases"));
        let tactics = v
            .get("kill_chain_phases")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|p| str_field(p, "phase_name").map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let is_subtechnique = kind == ObjectKind::AttackPattern
            && (bool_field(v, "x_mitre_is_subtechnique")
                || external_id.as_deref().is_some_and(|e| e.contains('.')));
        let citations = self.citations_of(v);
        let obj = KbObject {
            stix_id: id.to_owned(),
            kind,
            external_id,
            name: str_field(v, "name").unwrap_or_default().to_owned(),
            aliases,
            description: str_field(v, "description").unwrap_or_default().to_owned(),
            revoked: bool_field(v, "revoked"),
            deprecated: bool_field(v, "x_mitre_deprecated"),
            tactics,
            is_subtechnique,
            pattern: str_field(v, "pattern").map(str::to_owned),
            modified,
            citations,
        };
        match existing {
            Some(old) => {
                let prev = std::mem::replace(&mut self.objects[old.index()], obj);
                let c = self.stats.objects.entry(type_name(prev.kind).into());
                *c.or_default() -= 1;
                *self
                    .stats
                    .objects
                    .entry(type_name(kind).into())
                    .or_default() += 1;
            }
            None => {
                let oid = ObjId(self.objects.len() as u32);
                self.by_stix.insert(id.to_owned(), oid);
                self.objects.push(obj);
                *self
                    .stats
                    .objects
                    .entry(type_name(kind).into())
                    .or_default() += 1;
            }
        }
        Ok(())
    }

    fn add_relationship(&mut self, v: &Value, id: &str) -> Result<()> {
        let rt = str_field(v, "relationship_type").unwrap_or_default();
        let Some(kind) = RelKind::from_stix(rt) else {
            self.stats.skipped_relationships += 1;
            return Ok(());
        };
        let (Some(source), Some(target)) = (str_field(v, "source_ref"), str_field(v, "target_ref"))
        else {
            return Err(IntelError::BadObject {
                id: id.to_owned(),
                reason: "relationship without `source_ref` or `target_ref`".into(),
            });
        };
        let modified = str_field(v, "modified").map(str::to_owned);
        let existing = self.rel_by_stix.get(id).copied();
        if let Some(old) = existing {
            self.stats.superseded_versions += 1;
            if modified <= self.rels[old].modified {
                return Ok(());
            }
        }
        let citations = self.citations_of(v);
        let rel = PendingRel {
            stix_id: id.to_owned(),
            kind,
            source: source.to_owned(),
            target: target.to_owned(),
            description: str_field(v, "description").unwrap_or_default().to_owned(),
            citations,
            active: !bool_field(v, "revoked") && !bool_field(v, "x_mitre_deprecated"),
            modified,
        };
        match existing {
            Some(old) => self.rels[old] = rel,
            None => {
                self.rel_by_stix.insert(id.to_owned(), self.rels.len());
                self.rels.push(rel);
            }
        }
        Ok(())
    }

    /// Resolves relationships, builds the indexes and the ATT&CK alias table.
    pub fn finish(self) -> KnowledgeBase {
        let KbBuilder {
            objects,
            by_stix,
            rels: pending,
            cites,
            mut stats,
            ..
        } = self;
        let n = objects.len();
        let mut relationships = Vec::with_capacity(pending.len());
        for p in pending {
            let (Some(&s), Some(&t)) = (by_stix.get(&p.source), by_stix.get(&p.target)) else {
                stats.dangling_relationships += 1;
                continue;
            };
            *stats
                .relationships
                .entry(rel_name(p.kind).into())
                .or_default() += 1;
            relationships.push(Relationship {
                stix_id: p.stix_id,
                kind: p.kind,
                source: s,
                target: t,
                description: p.description,
                citations: p.citations,
                active: p.active,
            });
        }

        let mut by_external: HashMap<String, Vec<ObjId>> = HashMap::new();
        for (i, o) in objects.iter().enumerate() {
            if let Some(e) = &o.external_id {
                by_external
                    .entry(e.to_ascii_uppercase())
                    .or_default()
                    .push(ObjId(i as u32));
            }
        }

        let mut rels_from = vec![Vec::new(); n];
        let mut rels_to = vec![Vec::new(); n];
        let mut uses = vec![Vec::new(); n];
        let mut revoked_by = HashMap::new();
        let mut parent = HashMap::new();
        let mut attributed: HashMap<ObjId, Vec<ObjId>> = HashMap::new();
        let mut attributed_cites: HashMap<ObjId, Vec<CiteId>> = HashMap::new();
        let active = |i: ObjId| objects[i.index()].is_active();
        for (ri, r) in relationships.iter().enumerate() {
            rels_from[r.source.index()].push(ri as u32);
            rels_to[r.target.index()].push(ri as u32);
            match r.kind {
                RelKind::RevokedBy => {
                    revoked_by.insert(r.source, r.target);
                }
                RelKind::SubtechniqueOf if r.active => {
                    parent.insert(r.source, r.target);
                }
                RelKind::Uses if r.active => {
                    let tk = objects[r.target.index()].kind;
                    let target_ok =
                        active(r.target) && (tk == ObjectKind::AttackPattern || tk.is_software());
                    if target_ok {
                        uses[r.source.index()].push((r.target, ri as u32));
                    }
                }
                RelKind::AttributedTo if r.active => {
                    let ok = objects[r.source.index()].kind == ObjectKind::Campaign
                        && objects[r.target.index()].kind == ObjectKind::IntrusionSet
                        && active(r.source)
                        && active(r.target);
                    if ok {
                        let gs = attributed.entry(r.source).or_default();
                        if !gs.contains(&r.target) {
                            gs.push(r.target);
                        }
                        attributed_cites
                            .entry(r.source)
                            .or_default()
                            .extend_from_slice(&r.citations);
                    }
                }
                _ => {}
            }
        }
        for c in attributed_cites.values_mut() {
            c.sort_unstable();
            c.dedup();
        }

        let sort_key = |i: &ObjId| {
            let o = &objects[i.index()];
            (o.external_id.clone().unwrap_or_default(), o.stix_id.clone())
        };
        let active_of = |pred: &dyn Fn(ObjectKind) -> bool| {
            let mut v: Vec<ObjId> = (0..n as u32)
                .map(ObjId)
                .filter(|&i| pred(objects[i.index()].kind) && active(i))
                .collect();
            v.sort_by_cached_key(sort_key);
            v
        };
        let groups = active_of(&|k| k == ObjectKind::IntrusionSet);
        let campaigns = active_of(&|k| k == ObjectKind::Campaign);
        let techniques = active_of(&|k| k == ObjectKind::AttackPattern);
        let software = active_of(&|k| k.is_software());
        let mitigations = active_of(&|k| k == ObjectKind::Mitigation);

        for gs in attributed.values_mut() {
            gs.sort_by_cached_key(sort_key);
        }
        let mut group_campaigns: HashMap<ObjId, Vec<ObjId>> = HashMap::new();
        for &c in &campaigns {
            if let Some(gs) = attributed.get(&c) {
                for &g in gs {
                    group_campaigns.entry(g).or_default().push(c);
                }
            }
        }

        let mut kb = KnowledgeBase {
            objects,
            relationships,
            citations: cites,
            by_stix,
            by_external,
            rels_from,
            rels_to,
            uses,
            revoked_by,
            parent,
            attributed,
            attributed_cites,
            group_campaigns,
            groups,
            campaigns,
            techniques,
            software,
            mitigations,
            aliases: AliasIndex::default(),
            stats,
        };
        kb.aliases = AliasIndex::from_attack(&kb);
        kb
    }
}

fn type_name(k: ObjectKind) -> &'static str {
    match k {
        ObjectKind::IntrusionSet => "intrusion-set",
        ObjectKind::Campaign => "campaign",
        ObjectKind::AttackPattern => "attack-pattern",
        ObjectKind::Malware => "malware",
        ObjectKind::Tool => "tool",
        ObjectKind::Mitigation => "course-of-action",
        ObjectKind::Indicator => "indicator",
    }
}

fn rel_name(k: RelKind) -> &'static str {
    match k {
        RelKind::Uses => "uses",
        RelKind::AttributedTo => "attributed-to",
        RelKind::Mitigates => "mitigates",
        RelKind::SubtechniqueOf => "subtechnique-of",
        RelKind::RevokedBy => "revoked-by",
        RelKind::Indicates => "indicates",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ext(id: &str) -> Value {
        json!([{"source_name": "mitre-attack", "external_id": id}])
    }

    #[test]
    fn citation_markers_follow_the_regex() {
        let d = "a (Citation: One) b (Citation: Two Words)(Citation: ) (Citation: x";
        assert_eq!(description_citations(d), vec!["One", "Two Words"]);
        assert!(description_citations("no markers").is_empty());
        // `[^)]+` spans newlines.
        assert_eq!(description_citations("(Citation: a\nb)"), vec!["a\nb"]);
    }

    #[test]
    fn relationships_resolve_in_any_order_and_keep_citations() {
        let mut b = KbBuilder::new();
        b.add_object(&json!({"type": "relationship", "id": "relationship--1",
            "relationship_type": "uses", "source_ref": "intrusion-set--g", "target_ref": "attack-pattern--t",
            "description": "did it (Citation: Report B)",
            "external_references": [{"source_name": "Report A"}, {"source_name": "Report B"}]}))
            .unwrap();
        b.add_object(
            &json!({"type": "attack-pattern", "id": "attack-pattern--t", "name": "PowerShell",
            "external_references": ext("T1059.001"),
            "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "execution"}]}),
        )
        .unwrap();
        b.add_object(
            &json!({"type": "intrusion-set", "id": "intrusion-set--g", "name": "G",
            "external_references": ext("G0001")}),
        )
        .unwrap();
        b.add_object(&json!({"type": "relationship", "id": "relationship--2",
            "relationship_type": "detects", "source_ref": "x", "target_ref": "y"}))
            .unwrap();
        b.add_object(&json!({"type": "relationship", "id": "relationship--3",
            "relationship_type": "uses", "source_ref": "intrusion-set--g", "target_ref": "malware--missing"}))
            .unwrap();
        let kb = b.finish();
        let g = kb.by_external_id("g0001").unwrap();
        let uses: Vec<_> = kb.uses(g).collect();
        assert_eq!(uses.len(), 1);
        let (t, rel) = uses[0];
        assert_eq!(kb.label(t), "T1059.001");
        assert!(kb.object(t).is_subtechnique);
        assert_eq!(kb.object(t).tactics, vec!["execution"]);
        let cites: Vec<_> = rel.citations.iter().map(|&c| kb.citation(c)).collect();
        assert_eq!(cites.len(), 2);
        assert!(cites.contains(&"Report A") && cites.contains(&"Report B"));
        assert_eq!(kb.stats().skipped_relationships, 1);
        assert_eq!(kb.stats().dangling_relationships, 1);
    }

    #[test]
    fn revoked_and_deprecated_objects_are_inactive_but_resolvable() {
        let mut b = KbBuilder::new();
        b.add_object(
            &json!({"type": "intrusion-set", "id": "intrusion-set--old", "name": "Old Name",
            "revoked": true, "external_references": ext("G0002")}),
        )
        .unwrap();
        b.add_object(
            &json!({"type": "intrusion-set", "id": "intrusion-set--new", "name": "New Name",
            "external_references": ext("G0003")}),
        )
        .unwrap();
        b.add_object(
            &json!({"type": "intrusion-set", "id": "intrusion-set--dep", "name": "Gone",
            "x_mitre_deprecated": true, "external_references": ext("G0004")}),
        )
        .unwrap();
        b.add_object(&json!({"type": "relationship", "id": "relationship--r",
            "relationship_type": "revoked-by", "source_ref": "intrusion-set--old",
            "target_ref": "intrusion-set--new"}))
            .unwrap();
        let kb = b.finish();
        assert_eq!(kb.groups().len(), 1);
        let new = kb.by_stix_id("intrusion-set--new").unwrap();
        let old = kb.by_stix_id("intrusion-set--old").unwrap();
        assert_eq!(kb.current(old), new);
        assert_eq!(kb.by_external_id("G0002"), Some(new));
        assert_eq!(kb.resolve("Old Name"), Some(new));
        let dep = kb.by_external_id("G0004").unwrap();
        assert!(!kb.is_active(dep));
        assert_eq!(kb.resolve("gone"), Some(dep));
    }

    #[test]
    fn later_versions_replace_earlier_ones() {
        let mut b = KbBuilder::new();
        b.add_object(&json!({"type": "tool", "id": "tool--1", "name": "v2",
            "modified": "2024-01-01T00:00:00.000Z"}))
            .unwrap();
        b.add_object(&json!({"type": "tool", "id": "tool--1", "name": "v1",
            "modified": "2023-01-01T00:00:00.000Z"}))
            .unwrap();
        let kb = b.finish();
        assert_eq!(kb.objects().len(), 1);
        assert_eq!(kb.objects()[0].name, "v2");
        assert_eq!(kb.stats().superseded_versions, 1);
    }

    #[test]
    fn malformed_objects_are_errors() {
        let mut b = KbBuilder::new();
        assert!(b.add_object(&json!([1, 2])).is_err());
        let e = b.add_object(&json!({"id": "x--1"})).unwrap_err();
        assert!(e.to_string().contains("x--1"), "{e}");
        assert!(
            b.add_object(&json!({"type": "relationship", "id": "relationship--9",
                "relationship_type": "uses"}))
                .is_err()
        );
    }
}
