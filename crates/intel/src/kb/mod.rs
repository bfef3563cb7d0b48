//! The threat knowledge base: intrusion sets, campaigns, techniques, software, mitigations and
//! the relationships between them, built from STIX 2.1 objects (MITRE ATT&CK or any feed that
//! speaks STIX).
//!
//! # Why it looks like this
//!
//! Attribution needs three things from intelligence, and this model keeps exactly those:
//!
//! * **who did what** — `uses` edges from intrusion sets and campaigns to techniques and
//!   software, and `attributed-to` edges from campaigns to intrusion sets;
//! * **on whose word** — every relationship keeps its citations (the `source_name`s of its
//!   external references plus the `(Citation: …)` markers of its description). Without them an
//!   evaluation cannot tell a group's independent knowledge from a copy of the very report it is
//!   being tested on (see the leakage filter in [`profile`]);
//! * **what a name means** — analysts, vendors and governments use different names for one actor
//!   (APT40 = Leviathan = Gingham Typhoon = G0065). [`KnowledgeBase::resolve`] maps any of them to
//!   one intrusion set, from ATT&CK's own aliases and the MISP threat-actor galaxy.
//!
//! Objects are stored once in a vector and addressed by a small [`ObjId`]; citation strings are
//! interned as [`CiteId`]s so that the citation-overlap tests the evaluation runs thousands of
//! times are merges of short sorted integer lists. Revoked and deprecated objects stay in the
//! store (an old report may name them) but are left out of every active list; a revoked object
//! resolves to its replacement through `revoked-by`.
//!
//! The builder takes objects as `serde_json::Value`s one at a time, so any reader (a bundle file,
//! a TAXII page, a MISP export converted to STIX) can feed it.

pub mod alias;
mod build;
pub(crate) use build::str_list;
pub mod profile;

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

pub use alias::{AliasSource, MispJoinStats, Resolution};
pub use build::KbBuilder;
pub use profile::{DropMode, ProfileFilter, TokenKind, TokenMode, Vocab};

use crate::error::{IntelError, Result};

/// Index of an object inside one [`KnowledgeBase`]. Only meaningful for the base that issued it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ObjId(pub(crate) u32);

impl ObjId {
    /// The position of the object in [`KnowledgeBase::objects`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Index of an interned citation (a report's `source_name`) inside one [`KnowledgeBase`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct CiteId(pub(crate) u32);

/// The kinds of STIX object the knowledge base keeps. Other types (identities, marking
/// definitions, data sources, analytics…) are counted and skipped.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ObjectKind {
    /// `intrusion-set`: a threat group (ATT&CK G-id).
    IntrusionSet,
    /// `campaign`: one operation (ATT&CK C-id).
    Campaign,
    /// `attack-pattern`: a technique or sub-technique (ATT&CK T-id).
    AttackPattern,
    /// `malware` (ATT&CK S-id).
    Malware,
    /// `tool` (ATT&CK S-id).
    Tool,
    /// `course-of-action`: a mitigation (ATT&CK M-id).
    Mitigation,
    /// `indicator`: a STIX pattern that `indicates` a group, campaign or piece of malware.
    Indicator,
}

impl ObjectKind {
    /// The kind for a STIX `type`, if the knowledge base keeps that type.
    pub fn from_stix_type(t: &str) -> Option<Self> {
        Some(match t {
            "intrusion-set" => Self::IntrusionSet,
            "campaign" => Self::Campaign,
            "attack-pattern" => Self::AttackPattern,
            "malware" => Self::Malware,
            "tool" => Self::Tool,
            "course-of-action" => Self::Mitigation,
            "indicator" => Self::Indicator,
            _ => return None,
        })
    }

    /// Malware or tool.
    pub fn is_software(self) -> bool {
        matches!(self, Self::Malware | Self::Tool)
    }
}

/// One STIX object as the knowledge base keeps it.
#[derive(Clone, Debug, Serialize)]
pub struct KbObject {
    /// The STIX id (`intrusion-set--…`).
    pub stix_id: String,
    /// What it is.
    pub kind: ObjectKind,
    /// The ATT&CK external id (`G0065`, `C0049`, `T1059.001`, `S0154`, `M1036`), if any.
    pub external_id: Option<String>,
    /// The object's name.
    pub name: String,
    /// Other names: `aliases` of intrusion sets and campaigns, `x_mitre_aliases` of software.
    pub aliases: Vec<String>,
    /// The description, as published (Markdown with `(Citation: …)` markers in ATT&CK).
    pub description: String,
    /// `revoked: true`.
    pub revoked: bool,
    /// `x_mitre_deprecated: true`.
    pub deprecated: bool,
    /// Tactic short names from `kill_chain_phases` (`initial-access`, …), for techniques.
    pub tactics: Vec<String>,
    /// `x_mitre_is_subtechnique` (or an external id with a dot) for techniques.
    pub is_subtechnique: bool,
    /// The STIX pattern of an indicator.
    pub pattern: Option<String>,
    /// The `modified` timestamp, as published.
    pub modified: Option<String>,
    /// Sorted, deduplicated citations of the object itself.
    pub citations: Vec<CiteId>,
}

impl KbObject {
    /// Neither revoked nor deprecated.
    pub fn is_active(&self) -> bool {
        !self.revoked && !self.deprecated
    }
}

/// The relationship types the knowledge base keeps.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RelKind {
    /// `uses`: group/campaign/software → technique or software.
    Uses,
    /// `attributed-to`: campaign → intrusion set.
    AttributedTo,
    /// `mitigates`: mitigation → technique.
    Mitigates,
    /// `subtechnique-of`: sub-technique → technique.
    SubtechniqueOf,
    /// `revoked-by`: revoked object → its replacement.
    RevokedBy,
    /// `indicates`: indicator → group, campaign, malware…
    Indicates,
}

impl RelKind {
    /// The kind for a STIX `relationship_type`, if the knowledge base keeps that type.
    pub fn from_stix(t: &str) -> Option<Self> {
        Some(match t {
            "uses" => Self::Uses,
            "attributed-to" => Self::AttributedTo,
            "mitigates" => Self::Mitigates,
            "subtechnique-of" => Self::SubtechniqueOf,
            "revoked-by" => Self::RevokedBy,
            "indicates" => Self::Indicates,
            _ => return None,
        })
    }
}

/// One relationship between two objects of the knowledge base.
#[derive(Clone, Debug, Serialize)]
pub struct Relationship {
    /// The STIX id (`relationship--…`).
    pub stix_id: String,
    /// Its type.
    pub kind: RelKind,
    /// `source_ref`.
    pub source: ObjId,
    /// `target_ref`.
    pub target: ObjId,
    /// The description (in ATT&CK: the procedure example, with citations).
    pub description: String,
    /// Sorted, deduplicated citations: external reference `source_name`s and `(Citation: …)`
    /// markers of the description.
    pub citations: Vec<CiteId>,
    /// Neither revoked nor deprecated.
    pub active: bool,
}

/// Counts of what went into a knowledge base and what was left out.
#[derive(Clone, Debug, Default, Serialize)]
pub struct KbStats {
    /// Objects kept, by STIX type.
    pub objects: std::collections::BTreeMap<String, usize>,
    /// Objects of other types, skipped, by STIX type.
    pub skipped_types: std::collections::BTreeMap<String, usize>,
    /// Relationships kept, by type.
    pub relationships: std::collections::BTreeMap<String, usize>,
    /// Relationships of other types (e.g. `detects`), skipped.
    pub skipped_relationships: usize,
    /// Relationships whose source or target is not in the knowledge base.
    pub dangling_relationships: usize,
    /// Objects given more than once; the most recently `modified` version was kept.
    pub superseded_versions: usize,
    /// The ATT&CK version, from an `x-mitre-collection` object.
    pub attack_version: Option<String>,
}

/// Active counts, the way the benchmark note reports them.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ActiveCounts {
    /// Active intrusion sets.
    pub groups: usize,
    /// Active campaigns.
    pub campaigns: usize,
    /// Active campaigns with at least one `attributed-to` edge to an active group.
    pub attributed_campaigns: usize,
    /// Active techniques (without sub-techniques).
    pub techniques: usize,
    /// Active sub-techniques.
    pub subtechniques: usize,
    /// Active malware and tools.
    pub software: usize,
    /// Active mitigations.
    pub mitigations: usize,
}

/// The knowledge base. Build it with [`KbBuilder`] (or [`KnowledgeBase::from_bundle_file`]).
#[derive(Debug, Clone)]
pub struct KnowledgeBase {
    pub(crate) objects: Vec<KbObject>,
    pub(crate) relationships: Vec<Relationship>,
    pub(crate) citations: Vec<String>,
    pub(crate) by_stix: HashMap<String, ObjId>,
    pub(crate) by_external: HashMap<String, Vec<ObjId>>,
    pub(crate) rels_from: Vec<Vec<u32>>,
    pub(crate) rels_to: Vec<Vec<u32>>,
    /// Active `uses` edges whose target is an active technique or software, per source:
    /// (target, relationship index), in input order.
    pub(crate) uses: Vec<Vec<(ObjId, u32)>>,
    pub(crate) revoked_by: HashMap<ObjId, ObjId>,
    pub(crate) parent: HashMap<ObjId, ObjId>,
    pub(crate) attributed: HashMap<ObjId, Vec<ObjId>>,
    pub(crate) attributed_cites: HashMap<ObjId, Vec<CiteId>>,
    pub(crate) group_campaigns: HashMap<ObjId, Vec<ObjId>>,
    pub(crate) groups: Vec<ObjId>,
    pub(crate) campaigns: Vec<ObjId>,
    pub(crate) techniques: Vec<ObjId>,
    pub(crate) software: Vec<ObjId>,
    pub(crate) mitigations: Vec<ObjId>,
    pub(crate) aliases: alias::AliasIndex,
    pub(crate) stats: KbStats,
}

impl KnowledgeBase {
    /// A builder to feed STIX objects into.
    pub fn builder() -> KbBuilder {
        KbBuilder::new()
    }

    /// Builds a knowledge base from a parsed STIX bundle (`{"type": "bundle", "objects": […]}`).
    pub fn from_bundle_value(bundle: &serde_json::Value) -> Result<Self> {
        let objects = bundle
            .get("objects")
            .and_then(|o| o.as_array())
            .ok_or_else(|| IntelError::BadDocument {
                what: "STIX bundle".into(),
                reason: "no `objects` array".into(),
            })?;
        let mut b = KbBuilder::new();
        for o in objects {
            b.add_object(o)?;
        }
        Ok(b.finish())
    }

    /// Reads and parses a STIX bundle file (e.g. ATT&CK's `enterprise-attack.json`).
    pub fn from_bundle_file(path: impl AsRef<Path>) -> Result<Self> {
        let v = read_json(path.as_ref())?;
        Self::from_bundle_value(&v)
    }

    /// Every object, active or not, in input order. [`ObjId::index`] indexes this slice.
    pub fn objects(&self) -> &[KbObject] {
        &self.objects
    }

    /// One object.
    pub fn object(&self, id: ObjId) -> &KbObject {
        &self.objects[id.index()]
    }

    /// Every relationship kept, active or not.
    pub fn relationships(&self) -> &[Relationship] {
        &self.relationships
    }

    /// Relationships whose source is `id`.
    pub fn relationships_from(&self, id: ObjId) -> impl Iterator<Item = &Relationship> + '_ {
        self.rels_from[id.index()]
            .iter()
            .map(|&r| &self.relationships[r as usize])
    }

    /// Relationships whose target is `id`.
    pub fn relationships_to(&self, id: ObjId) -> impl Iterator<Item = &Relationship> + '_ {
        self.rels_to[id.index()]
            .iter()
            .map(|&r| &self.relationships[r as usize])
    }

    /// The text of an interned citation.
    pub fn citation(&self, id: CiteId) -> &str {
        &self.citations[id.0 as usize]
    }

    /// The interned id of a citation text, if any object or relationship cites it.
    pub fn citation_id(&self, text: &str) -> Option<CiteId> {
        // Citations are few (~10k) and this is not on a hot path.
        self.citations
            .iter()
            .position(|c| c == text)
            .map(|i| CiteId(i as u32))
    }

    /// The object with this STIX id, active or not.
    pub fn by_stix_id(&self, stix_id: &str) -> Option<ObjId> {
        self.by_stix.get(stix_id).copied()
    }

    /// The object with this ATT&CK external id (case-insensitive), preferring an active one
    /// when several objects share the id, and following `revoked-by` otherwise.
    pub fn by_external_id(&self, external_id: &str) -> Option<ObjId> {
        let ids = self
            .by_external
            .get(&external_id.trim().to_ascii_uppercase())?;
        ids.iter()
            .copied()
            .find(|&i| self.object(i).is_active())
            .or_else(|| ids.first().map(|&i| self.current(i)))
    }

    /// The object that currently stands for `id`: `id` itself, or the end of its `revoked-by`
    /// chain. Deprecated objects have no replacement and stand for themselves.
    pub fn current(&self, id: ObjId) -> ObjId {
        let mut cur = id;
        // Chains are short; the bound guards against a malformed cycle.
        for _ in 0..16 {
            match self.revoked_by.get(&cur) {
                Some(&next) if next != cur => cur = next,
                _ => break,
            }
        }
        cur
    }

    /// Neither revoked nor deprecated.
    pub fn is_active(&self, id: ObjId) -> bool {
        self.object(id).is_active()
    }

    /// Active intrusion sets, sorted by ATT&CK id (then STIX id).
    pub fn groups(&self) -> &[ObjId] {
        &self.groups
    }

    /// Active campaigns, sorted by ATT&CK id (then STIX id).
    pub fn campaigns(&self) -> &[ObjId] {
        &self.campaigns
    }

    /// Active attack-patterns (techniques and sub-techniques), sorted by ATT&CK id.
    pub fn techniques(&self) -> &[ObjId] {
        &self.techniques
    }

    /// Active malware and tools, sorted by ATT&CK id.
    pub fn software(&self) -> &[ObjId] {
        &self.software
    }

    /// Active mitigations, sorted by ATT&CK id.
    pub fn mitigations(&self) -> &[ObjId] {
        &self.mitigations
    }

    /// Active `uses` relationships of `source` whose target is an active technique or piece of
    /// software, as (target, relationship), in input order. Duplicated edges (the same target
    /// cited from different reports) are all listed.
    pub fn uses(&self, source: ObjId) -> impl Iterator<Item = (ObjId, &Relationship)> + '_ {
        self.uses[source.index()]
            .iter()
            .map(|&(t, r)| (t, &self.relationships[r as usize]))
    }

    /// The active intrusion sets an active campaign is attributed to (sorted by ATT&CK id).
    pub fn attributed_groups(&self, campaign: ObjId) -> &[ObjId] {
        self.attributed
            .get(&campaign)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Citations of the active `attributed-to` edges of a campaign.
    pub fn attribution_citations(&self, campaign: ObjId) -> &[CiteId] {
        self.attributed_cites
            .get(&campaign)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The active campaigns attributed to a group (sorted by ATT&CK id).
    pub fn campaigns_of(&self, group: ObjId) -> &[ObjId] {
        self.group_campaigns
            .get(&group)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Active campaigns that are attributed to at least one active group, sorted by ATT&CK id.
    pub fn attributed_campaigns(&self) -> Vec<ObjId> {
        self.campaigns
            .iter()
            .copied()
            .filter(|c| !self.attributed_groups(*c).is_empty())
            .collect()
    }

    /// The parent technique of a sub-technique (from `subtechnique-of`).
    pub fn parent_technique(&self, technique: ObjId) -> Option<ObjId> {
        self.parent.get(&technique).copied()
    }

    /// The active sub-techniques of a technique.
    pub fn subtechniques(&self, technique: ObjId) -> Vec<ObjId> {
        self.relationships_to(technique)
            .filter(|r| r.kind == RelKind::SubtechniqueOf && r.active)
            .map(|r| r.source)
            .filter(|&s| self.is_active(s))
            .collect()
    }

    /// The active mitigations of a technique (from active `mitigates` edges).
    pub fn mitigations_of(&self, technique: ObjId) -> Vec<ObjId> {
        self.relationships_to(technique)
            .filter(|r| r.kind == RelKind::Mitigates && r.active)
            .map(|r| r.source)
            .filter(|&s| self.is_active(s))
            .collect()
    }

    /// Active indicators that `indicates` the object.
    pub fn indicators_of(&self, id: ObjId) -> Vec<ObjId> {
        self.relationships_to(id)
            .filter(|r| r.kind == RelKind::Indicates && r.active)
            .map(|r| r.source)
            .filter(|&s| self.is_active(s))
            .collect()
    }

    /// The ATT&CK id of an object, or its STIX id when it has none.
    pub fn label(&self, id: ObjId) -> &str {
        let o = self.object(id);
        o.external_id.as_deref().unwrap_or(&o.stix_id)
    }

    /// What went in and what was left out.
    pub fn stats(&self) -> &KbStats {
        &self.stats
    }

    /// Active counts of the main object types.
    pub fn active_counts(&self) -> ActiveCounts {
        let subs = self
            .techniques
            .iter()
            .filter(|&&t| self.object(t).is_subtechnique)
            .count();
        ActiveCounts {
            groups: self.groups.len(),
            campaigns: self.campaigns.len(),
            attributed_campaigns: self.attributed_campaigns().len(),
            techniques: self.techniques.len() - subs,
            subtechniques: subs,
            software: self.software.len(),
            mitigations: self.mitigations.len(),
        }
    }
}

/// Reads a JSON file into a `serde_json::Value`.
pub(crate) fn read_json(path: &Path) -> Result<serde_json::Value> {
    let bytes = std::fs::read(path).map_err(|source| IntelError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| IntelError::Json {
        path: path.to_path_buf(),
        source,
    })
}
