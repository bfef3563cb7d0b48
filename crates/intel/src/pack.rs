//! The embedded starter pack, and the overlay that turns the pack plus whatever was imported
//! into the *effective* knowledge base.
//!
//! # Why a pack is compiled in
//!
//! An analyst on a fresh, air-gapped laptop must still be able to ask "who does this look
//! like?". `intel/starter-pack.json` (a STIX 2.1 bundle the project writes itself from public
//! facts; see `intel/README.md`) is therefore part of the binary ([`STARTER_PACK`]), and every
//! command that needs a knowledge base starts from it.
//!
//! # The overlay rule
//!
//! The pack gives its objects their own deterministic STIX ids (STIX lets only an object's
//! creator version it), so MITRE's `intrusion-set--…` for G0065 and the pack's are different
//! objects describing the same group. Naively loading both would give the knowledge base two
//! G0065 groups. The effective knowledge base is built like this:
//!
//! 1. Everything imported (the store, or a `--kb` file) goes in as it is.
//! 2. **Same STIX id**: the version with the highest `modified` wins (the STIX versioning rule;
//!    it only happens when the pack itself, or a newer pack, was imported).
//! 3. **Shadowing**: a pack group, campaign, technique, piece of software or mitigation whose
//!    ATT&CK id (`G0065`, `T1190`, `S0154`…) is also carried by an imported object of the same
//!    class is *shadowed*: it is left out, and every pack relationship that pointed at it is
//!    re-pointed at the imported object.
//! 4. **Pack relationships between two imported objects** are dropped when they only mirror
//!    ATT&CK (their `x_tiaki_basis` has no `public-report`, e.g. the pack's copy of "Leviathan
//!    uses T1190" or "C0049 attributed-to G0065"), or when the imported data already holds the
//!    same relationship type between the same two objects. ATT&CK is then the authority for
//!    those facts, including the ones it has since withdrawn.
//! 5. Everything else the pack adds stays, re-pointed where needed: techniques and software
//!    from public reports, families ATT&CK does not know, CVEs, victimology, origin, state
//!    sponsors, the NZ campaigns and the working hours.
//! 6. The names of a shadowed pack group (its curated aliases, e.g. `FEVERDREAM` from CISA
//!    AA21-200A) stay resolvable: they join the imported group at the lowest alias tier, the
//!    same tier as the MISP galaxy, so they can never override ATT&CK's own naming.
//!
//! `--kb FILE` bypasses all of this: exactly that bundle, no pack, no store.
//!
//! # What else the loader keeps
//!
//! [`KnowledgeBase`] keeps what attribution scores on. `tiaki intel show` also wants what the
//! pack says about victims, CVEs, origin and sponsors, and where each alias came from. The
//! [`KbAssembler`] keeps those few objects and relationships beside the knowledge base, in a
//! [`LoadedKb`].

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Instant;

use serde::Serialize;
use serde_json::{Value, json};

use crate::error::{IntelError, Result};
use crate::kb::alias::normalize_name;
use crate::kb::{AliasSource, KbBuilder, KnowledgeBase, MispJoinStats, ObjId, ObjectKind};

/// The starter pack (`intel/starter-pack.json`), compiled into the binary.
pub const STARTER_PACK: &[u8] = include_bytes!("../../../intel/starter-pack.json");

/// How many ATT&CK intrusion sets use each technique and piece of software
/// (`intel/attack-background.json`, made by the `background` example from ATT&CK Enterprise
/// v18.1), compiled into the binary: what "specific" means when the knowledge base is the
/// starter pack's 12 sets rather than ATT&CK's 172.
pub const ATTACK_BACKGROUND: &[u8] = include_bytes!("../../../intel/attack-background.json");

/// [`ATTACK_BACKGROUND`], parsed.
pub fn attack_background() -> crate::attribution::features::Background {
    serde_json::from_slice(ATTACK_BACKGROUND).expect("the embedded background is valid JSON")
}

/// The identity that authors the starter pack (`created_by_ref` of its objects).
pub const TIAKI_IDENTITY: &str = "identity--70959df7-8361-5bc3-837c-5fc902fdb35f";

/// The identity that authors MITRE ATT&CK (`created_by_ref` of ATT&CK objects).
pub const MITRE_IDENTITY: &str = "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5";

/// External-reference source names that carry ATT&CK ids.
const ATTACK_SOURCES: [&str; 3] = ["mitre-attack", "mitre-mobile-attack", "mitre-ics-attack"];

/// STIX types kept beside the knowledge base for `intel show`: CVEs, victim classes, places and
/// state sponsors.
const CONTEXT_TYPES: [&str; 4] = ["vulnerability", "identity", "location", "threat-actor"];

/// Relationship types kept beside the knowledge base for `intel show`.
const CONTEXT_RELATIONSHIPS: [&str; 4] =
    ["targets", "originates-from", "attributed-to", "located-at"];

/// Where an object of the effective knowledge base was read from.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// The embedded starter pack.
    Pack,
    /// The local store (something imported with `tiaki intel import` or `update`).
    Store,
    /// The bundle named with `--kb`.
    File,
}

/// One name of a group and where it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AliasEntry {
    /// The name as published (first spelling seen).
    pub name: String,
    /// Who gives the name: `attack` (an ATT&CK object), `misp` (an imported MISP galaxy
    /// cluster joined to the group), `pack` (the starter pack), `import` (another imported
    /// STIX producer).
    pub sources: Vec<String>,
    /// For pack names: the sources the pack cites for the name (`mitre-attack`,
    /// `misp-galaxy`, `CISA AA21-200A`…), from its `x_tiaki_alias_sources`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cited: Vec<String>,
}

/// A relationship the knowledge base does not score on but `intel show` reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ContextRel {
    /// `targets`, `originates-from`, `attributed-to` or `located-at`.
    pub kind: String,
    /// `source_ref` (after the overlay's re-pointing).
    pub source: String,
    /// `target_ref` (after the overlay's re-pointing).
    pub target: String,
    /// The relationship's `confidence`, if any.
    pub confidence: Option<i64>,
    /// The relationship's citations (source names of its external references).
    pub sources: Vec<String>,
}

/// What the pack overlay did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OverlaySummary {
    /// Objects in the pack.
    pub pack_objects: usize,
    /// Pack objects left out because an imported object carries the same ATT&CK id.
    pub shadowed: usize,
    /// Pack relationships re-pointed at imported objects.
    pub relationships_repointed: usize,
    /// Pack relationships left out because imported data is the authority for them.
    pub relationships_dropped: usize,
}

/// What went into a [`LoadedKb`].
#[derive(Clone, Debug, Default, Serialize)]
pub struct LoadSummary {
    /// The `--kb` file, when one was used.
    pub file: Option<String>,
    /// The store, when one was read.
    pub store: Option<String>,
    /// Objects read from the store or the file.
    pub imported_objects: usize,
    /// The pack overlay, when the pack was used.
    pub pack: Option<OverlaySummary>,
    /// MISP galaxies joined, with what each added.
    pub misp: Vec<MispJoinStats>,
    /// Wall-clock seconds to assemble the knowledge base.
    pub seconds: f64,
}

/// The class of thing an ATT&CK id names; shadowing only happens within a class (software is
/// one class: ATT&CK has moved tools to malware and back).
fn attack_class(ty: &str) -> Option<&'static str> {
    Some(match ty {
        "intrusion-set" => "group",
        "campaign" => "campaign",
        "attack-pattern" => "technique",
        "malware" | "tool" => "software",
        "course-of-action" => "mitigation",
        _ => return None,
    })
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn bool_of(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// The ATT&CK id of a STIX object, upper-cased.
pub fn attack_id_of(v: &Value) -> Option<String> {
    v.get("external_references")?
        .as_array()?
        .iter()
        .find_map(|r| {
            let src = str_of(r, "source_name")?;
            ATTACK_SOURCES
                .contains(&src)
                .then(|| str_of(r, "external_id"))
                .flatten()
        })
        .map(|s| s.trim().to_ascii_uppercase())
}

/// Keeps the newer of two versions of one object (by `modified`, compared as STIX timestamps).
fn is_newer(new: &Value, old: &Value) -> bool {
    let ts = |v: &Value| str_of(v, "modified").and_then(|m| tiaki_stix::Timestamp::parse(m).ok());
    ts(new) >= ts(old)
}

/// A pack group that an imported group shadows: its names are kept for resolution.
#[derive(Debug)]
struct ShadowedGroup {
    attack_id: String,
    name: String,
    aliases: Vec<String>,
    cited: HashMap<String, Vec<String>>,
    /// The pack's object as read: its sources and working hours stay available to `show`.
    raw: Value,
}

/// Builds the effective knowledge base: imported objects first ([`KbAssembler::add`]), then
/// the pack under them ([`KbAssembler::overlay_pack`]), then MISP galaxies
/// ([`KbAssembler::add_misp_galaxy`]), then [`KbAssembler::finish`].
#[derive(Debug, Default)]
pub struct KbAssembler {
    builder: KbBuilder,
    imported: HashSet<String>,
    /// (class, ATT&CK id) → STIX id of the imported object (an active one when there are
    /// several).
    attack_ids: HashMap<(&'static str, String), (String, bool)>,
    /// (relationship type, source, target) of imported relationships.
    imported_rels: HashSet<(String, String, String)>,
    origin: HashMap<String, Origin>,
    publisher: HashMap<String, &'static str>,
    raw: HashMap<String, Value>,
    context_rels: HashMap<String, ContextRel>,
    shadowed_groups: HashMap<String, ShadowedGroup>,
    misp_docs: Vec<Value>,
    imported_count: usize,
    /// Pack material (the embedded pack, and any copy of a pack found among the imported
    /// objects), one version per id, in first-seen order.
    pack: Vec<(Value, Origin)>,
    pack_index: HashMap<String, usize>,
}

impl KbAssembler {
    /// An empty assembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one imported STIX object (from the store, or from a `--kb` bundle). Objects the
    /// pack's author published (an imported copy of a pack) join the pack material instead,
    /// so the overlay rule applies to them too.
    pub fn add(&mut self, v: &Value, origin: Origin) -> Result<()> {
        self.imported_count += 1;
        let (Some(ty), Some(id)) = (str_of(v, "type"), str_of(v, "id")) else {
            // The builder names the problem.
            return self.builder.add_object(v);
        };
        if str_of(v, "created_by_ref") == Some(TIAKI_IDENTITY) {
            self.buffer_pack(v.clone(), origin);
            return Ok(());
        }
        self.imported.insert(id.to_owned());
        if ty == "relationship" {
            if let (Some(rt), Some(s), Some(t)) = (
                str_of(v, "relationship_type"),
                str_of(v, "source_ref"),
                str_of(v, "target_ref"),
            ) {
                self.imported_rels
                    .insert((rt.to_owned(), s.to_owned(), t.to_owned()));
            }
        } else if let Some(class) = attack_class(ty)
            && let Some(ext) = attack_id_of(v)
        {
            let active = !bool_of(v, "revoked") && !bool_of(v, "x_mitre_deprecated");
            let slot = self.attack_ids.entry((class, ext));
            match slot {
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert((id.to_owned(), active));
                }
                std::collections::hash_map::Entry::Occupied(mut e) => {
                    if active && !e.get().1 {
                        e.insert((id.to_owned(), active));
                    }
                }
            }
        }
        self.take(v, ty, id, origin)
    }

    /// Feeds an object to the builder and keeps what `intel show` needs beside it.
    fn take(&mut self, v: &Value, ty: &str, id: &str, origin: Origin) -> Result<()> {
        if ty == "relationship" {
            let rt = str_of(v, "relationship_type").unwrap_or_default();
            if CONTEXT_RELATIONSHIPS.contains(&rt) {
                let rel = ContextRel {
                    kind: rt.to_owned(),
                    source: str_of(v, "source_ref").unwrap_or_default().to_owned(),
                    target: str_of(v, "target_ref").unwrap_or_default().to_owned(),
                    confidence: v.get("confidence").and_then(Value::as_i64),
                    sources: crate::attribution::context::ref_names(v),
                };
                self.context_rels.insert(id.to_owned(), rel);
            }
            return self.builder.add_object(v);
        }
        let keep_raw = CONTEXT_TYPES.contains(&ty) || matches!(ty, "intrusion-set" | "campaign");
        let publisher = match str_of(v, "created_by_ref") {
            Some(MITRE_IDENTITY) => "attack",
            Some(TIAKI_IDENTITY) => "pack",
            _ if origin == Origin::Pack => "pack",
            _ => "import",
        };
        if keep_raw {
            let newer = self.raw.get(id).is_none_or(|old| is_newer(v, old));
            if newer {
                self.raw.insert(id.to_owned(), v.clone());
                self.origin.insert(id.to_owned(), origin);
                self.publisher.insert(id.to_owned(), publisher);
            }
        } else if ObjectKind::from_stix_type(ty).is_some() {
            self.origin.entry(id.to_owned()).or_insert(origin);
            self.publisher.entry(id.to_owned()).or_insert(publisher);
        }
        if CONTEXT_TYPES.contains(&ty) {
            return Ok(());
        }
        self.builder.add_object(v)
    }

    /// Keeps one version of each pack object: the one with the highest `modified`.
    fn buffer_pack(&mut self, v: Value, origin: Origin) {
        let Some(id) = str_of(&v, "id").map(str::to_owned) else {
            return;
        };
        match self.pack_index.get(&id) {
            Some(&i) => {
                if is_newer(&v, &self.pack[i].0) && v != self.pack[i].0 {
                    self.pack[i] = (v, origin);
                }
            }
            None => {
                self.pack_index.insert(id, self.pack.len());
                self.pack.push((v, origin));
            }
        }
    }

    /// Lays a pack (a STIX bundle, normally [`STARTER_PACK`]) under what is imported,
    /// following the overlay rule of the module documentation; the overlay itself runs in
    /// [`KbAssembler::finish`], once every imported object is known.
    pub fn overlay_pack(&mut self, bundle: &[u8]) -> Result<()> {
        let mut objects: Vec<Value> = Vec::new();
        tiaki_stix::read_bundle_slice(bundle, |o| objects.push(o.to_value())).map_err(|e| {
            IntelError::BadDocument {
                what: "starter pack".into(),
                reason: e.to_string(),
            }
        })?;
        for v in objects {
            self.buffer_pack(v, Origin::Pack);
        }
        Ok(())
    }

    /// The overlay rule over the pack material; `None` when there is none.
    fn apply_overlay(&mut self) -> Result<Option<OverlaySummary>> {
        if self.pack.is_empty() {
            return Ok(None);
        }
        let objects = std::mem::take(&mut self.pack);
        let mut summary = OverlaySummary {
            pack_objects: objects.len(),
            ..Default::default()
        };
        // Pass 1: which pack objects are shadowed, and by what.
        let mut repoint: HashMap<String, String> = HashMap::new();
        for (v, _) in &objects {
            let (Some(ty), Some(id)) = (str_of(v, "type"), str_of(v, "id")) else {
                continue;
            };
            let Some(class) = attack_class(ty) else {
                continue;
            };
            let Some(ext) = attack_id_of(v) else {
                continue;
            };
            let Some((imported_id, _)) = self.attack_ids.get(&(class, ext.clone())) else {
                continue;
            };
            if imported_id == id {
                // The same object from another source: versioning decides.
                continue;
            }
            repoint.insert(id.to_owned(), imported_id.clone());
            if ty == "intrusion-set" {
                let mut aliases = crate::kb::str_list(v, "aliases");
                aliases.retain(|a| !a.trim().is_empty());
                self.shadowed_groups.insert(
                    imported_id.clone(),
                    ShadowedGroup {
                        attack_id: ext,
                        name: str_of(v, "name").unwrap_or_default().to_owned(),
                        aliases,
                        cited: alias_citations(v),
                        raw: v.clone(),
                    },
                );
            }
        }
        summary.shadowed = repoint.len();
        // Pass 2: everything else, re-pointed.
        for (mut v, origin) in objects {
            let (Some(ty), Some(id)) = (str_of(&v, "type"), str_of(&v, "id")) else {
                continue;
            };
            if repoint.contains_key(id) {
                continue;
            }
            let (ty, id) = (ty.to_owned(), id.to_owned());
            if ty == "relationship" {
                let s = str_of(&v, "source_ref").unwrap_or_default().to_owned();
                let t = str_of(&v, "target_ref").unwrap_or_default().to_owned();
                let s2 = repoint.get(&s).cloned().unwrap_or_else(|| s.clone());
                let t2 = repoint.get(&t).cloned().unwrap_or_else(|| t.clone());
                let both_imported = self.imported.contains(&s2) && self.imported.contains(&t2);
                if both_imported && !self.imported.contains(&id) {
                    let rt = str_of(&v, "relationship_type")
                        .unwrap_or_default()
                        .to_owned();
                    let from_report = v
                        .get("x_tiaki_basis")
                        .and_then(Value::as_array)
                        .is_some_and(|b| b.iter().any(|x| x.as_str() == Some("public-report")));
                    let duplicate = self.imported_rels.contains(&(rt, s2.clone(), t2.clone()));
                    if !from_report || duplicate {
                        summary.relationships_dropped += 1;
                        continue;
                    }
                }
                if s2 != s || t2 != t {
                    summary.relationships_repointed += 1;
                    if let Some(m) = v.as_object_mut() {
                        m.insert("source_ref".into(), Value::String(s2));
                        m.insert("target_ref".into(), Value::String(t2));
                    }
                }
            }
            self.take(&v, &ty, &id, origin)?;
        }
        Ok(Some(summary))
    }

    /// Queues a MISP threat-actor galaxy (`clusters/threat-actor.json`, parsed) to be joined to
    /// the groups once the knowledge base is built.
    pub fn add_misp_galaxy(&mut self, galaxy: Value) {
        self.misp_docs.push(galaxy);
    }

    /// Builds the knowledge base, joins the MISP galaxies and the names of shadowed pack groups.
    pub fn finish(mut self, mut summary: LoadSummary) -> Result<LoadedKb> {
        let t0 = Instant::now();
        let overlay = self.apply_overlay()?;
        let KbAssembler {
            builder,
            origin,
            publisher,
            raw,
            context_rels,
            shadowed_groups,
            misp_docs,
            imported_count,
            ..
        } = self;
        let mut kb = builder.finish();
        let mut misp_display: HashMap<String, String> = HashMap::new();
        for doc in &misp_docs {
            summary.misp.push(kb.add_misp_threat_actors(doc)?);
            collect_misp_names(doc, &mut misp_display);
        }
        // Which MISP names each group got; computed before the pack's names join the same tier.
        let mut misp_names: HashMap<ObjId, Vec<String>> = HashMap::new();
        if !misp_docs.is_empty() {
            let groups: Vec<ObjId> = kb
                .objects()
                .iter()
                .enumerate()
                .filter(|(_, o)| o.kind == ObjectKind::IntrusionSet)
                .map(|(i, _)| ObjId(i as u32))
                .collect();
            for g in groups {
                let names: Vec<String> = kb
                    .names_of(g)
                    .into_iter()
                    .filter(|(_, s)| *s == AliasSource::Misp)
                    .map(|(n, _)| n)
                    .collect();
                if !names.is_empty() {
                    misp_names.insert(g, names);
                }
            }
        }
        if !shadowed_groups.is_empty() {
            let mut values: Vec<&ShadowedGroup> = shadowed_groups.values().collect();
            values.sort_by(|a, b| a.attack_id.cmp(&b.attack_id));
            let clusters: Vec<Value> = values
                .iter()
                .map(|g| {
                    json!({"value": g.name, "meta": {"synonyms": g.aliases,
                        "refs": [format!("https://attack.mitre.org/groups/{}/", g.attack_id)]}})
                })
                .collect();
            kb.add_misp_threat_actors(&json!({ "values": clusters }))?;
        }
        summary.imported_objects = imported_count;
        summary.pack = overlay;
        summary.seconds += t0.elapsed().as_secs_f64();
        Ok(LoadedKb {
            kb,
            origin,
            publisher,
            raw,
            context_rels: {
                let mut v: Vec<ContextRel> = context_rels.into_values().collect();
                v.sort_by(|a, b| {
                    (&a.source, &a.kind, &a.target).cmp(&(&b.source, &b.kind, &b.target))
                });
                v
            },
            shadowed_groups,
            misp_names,
            misp_display,
            summary,
        })
    }
}

/// `x_tiaki_alias_sources` of a pack group, inverted: normalised alias → sources citing it.
fn alias_citations(v: &Value) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    if let Some(m) = v.get("x_tiaki_alias_sources").and_then(Value::as_object) {
        for (source, names) in m {
            for n in names
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                let e = out.entry(normalize_name(n)).or_default();
                if !e.contains(source) {
                    e.push(source.clone());
                }
            }
        }
    }
    out
}

/// Every name of a MISP galaxy, normalised → as published (first spelling wins).
fn collect_misp_names(doc: &Value, out: &mut HashMap<String, String>) {
    let Some(values) = doc.get("values").and_then(Value::as_array) else {
        return;
    };
    for c in values {
        let meta = c.get("meta");
        let list = |k: &str| -> Vec<String> {
            meta.and_then(|m| m.get(k))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut names: Vec<String> = str_of(c, "value").map(str::to_owned).into_iter().collect();
        names.extend(list("synonyms"));
        names.extend(list("name-attribution").into_iter().map(|n| {
            // `NAME:uuid` entries name a cluster of another galaxy.
            match n.rsplit_once(':') {
                Some((name, tail)) if tail.len() == 36 => name.to_owned(),
                _ => n,
            }
        }));
        for n in names {
            out.entry(normalize_name(&n)).or_insert(n);
        }
    }
}

/// The effective knowledge base with what `intel show` reports beside it.
#[derive(Debug)]
pub struct LoadedKb {
    /// The knowledge base attribution and the evaluation work on.
    pub kb: KnowledgeBase,
    origin: HashMap<String, Origin>,
    publisher: HashMap<String, &'static str>,
    raw: HashMap<String, Value>,
    context_rels: Vec<ContextRel>,
    shadowed_groups: HashMap<String, ShadowedGroup>,
    misp_names: HashMap<ObjId, Vec<String>>,
    misp_display: HashMap<String, String>,
    /// What went in.
    pub summary: LoadSummary,
}

impl LoadedKb {
    /// The starter pack alone (what a fresh machine has).
    pub fn pack_only() -> Result<LoadedKb> {
        let t0 = Instant::now();
        let mut a = KbAssembler::new();
        a.overlay_pack(STARTER_PACK)?;
        a.finish(LoadSummary {
            seconds: t0.elapsed().as_secs_f64(),
            ..Default::default()
        })
    }

    /// Exactly one STIX bundle file (`--kb FILE`): no pack, no store.
    pub fn from_bundle_file(path: &Path) -> Result<LoadedKb> {
        let t0 = Instant::now();
        let bytes = std::fs::read(path).map_err(|source| IntelError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut a = KbAssembler::new();
        let mut failed = None;
        tiaki_stix::read_bundle_slice(&bytes, |o| {
            if failed.is_none()
                && let Err(e) = a.add(&o.to_value(), Origin::File)
            {
                failed = Some(e);
            }
        })
        .map_err(|e| IntelError::BadDocument {
            what: path.display().to_string(),
            reason: e.to_string(),
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        a.finish(LoadSummary {
            file: Some(path.display().to_string()),
            seconds: t0.elapsed().as_secs_f64(),
            ..Default::default()
        })
    }

    /// Where a knowledge-base object (or context object) was read from.
    pub fn origin(&self, stix_id: &str) -> Option<Origin> {
        self.origin.get(stix_id).copied()
    }

    /// The object as read, for intrusion sets, campaigns, vulnerabilities, identities,
    /// locations and threat actors.
    pub fn raw(&self, stix_id: &str) -> Option<&Value> {
        self.raw.get(stix_id)
    }

    /// Context relationships (`targets`, `originates-from`, `attributed-to`, `located-at`)
    /// whose source is `stix_id`, each with its target object when known.
    pub fn context_of<'a>(
        &'a self,
        stix_id: &'a str,
    ) -> impl Iterator<Item = (&'a ContextRel, Option<&'a Value>)> + 'a {
        let start = self
            .context_rels
            .partition_point(|r| r.source.as_str() < stix_id);
        self.context_rels[start..]
            .iter()
            .take_while(move |r| r.source == stix_id)
            .map(|r| (r, self.raw.get(&r.target)))
    }

    /// Who publishes an object's names, from its author: `attack`, `pack` or `import`.
    pub fn publisher(&self, stix_id: &str) -> &'static str {
        self.publisher.get(stix_id).copied().unwrap_or("import")
    }

    /// Every name of a group, each with where it came from.
    pub fn aliases(&self, group: ObjId) -> Vec<AliasEntry> {
        let mut out: Vec<AliasEntry> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut push = |name: &str, source: &str, cited: &[String]| {
            let key = normalize_name(name);
            if key.is_empty() {
                return;
            }
            let i = *index.entry(key).or_insert_with(|| {
                out.push(AliasEntry {
                    name: name.trim().to_owned(),
                    sources: Vec::new(),
                    cited: Vec::new(),
                });
                out.len() - 1
            });
            let e = &mut out[i];
            if !e.sources.iter().any(|s| s == source) {
                e.sources.push(source.to_owned());
            }
            for c in cited {
                if !e.cited.contains(c) {
                    e.cited.push(c.clone());
                }
            }
        };
        let o = self.kb.object(group);
        let publisher = self.publisher(&o.stix_id);
        let own_cites = self
            .raw(&o.stix_id)
            .map(alias_citations)
            .unwrap_or_default();
        let none: Vec<String> = Vec::new();
        push(&o.name, publisher, &none);
        for a in &o.aliases {
            let cited = own_cites.get(&normalize_name(a)).unwrap_or(&none);
            push(a, publisher, cited);
        }
        if let Some(sg) = self.shadowed_groups.get(&o.stix_id) {
            push(&sg.name, "pack", &none);
            for a in &sg.aliases {
                let cited = sg.cited.get(&normalize_name(a)).unwrap_or(&none);
                push(a, "pack", cited);
            }
        }
        for n in self.misp_names.get(&group).into_iter().flatten() {
            let shown = self.misp_display.get(n).map(String::as_str).unwrap_or(n);
            push(shown, "misp", &none);
        }
        out
    }

    /// Whether the pack's version of this group was shadowed by an imported one.
    pub fn shadows_pack_group(&self, stix_id: &str) -> bool {
        self.shadowed_groups.contains_key(stix_id)
    }

    /// The pack's own object for a group that an imported group (`stix_id`) shadows: its
    /// public sources, working hours and other `x_tiaki_` properties, which ATT&CK lacks.
    pub fn shadowed_pack_object(&self, stix_id: &str) -> Option<&Value> {
        self.shadowed_groups.get(stix_id).map(|g| &g.raw)
    }

    /// The background a model of this knowledge base should judge specificity by: the embedded
    /// ATT&CK counts when the knowledge base holds fewer intrusion sets than ATT&CK (the starter
    /// pack, alone or with small imports), none when it is at least that large.
    pub fn background(&self) -> Option<crate::attribution::features::Background> {
        let b = attack_background();
        (self.kb.groups().len() < b.groups).then_some(b)
    }

    /// The attribution context of this knowledge base: CVEs, victim sectors and countries of
    /// every group and campaign (campaign facts credited to their groups) with their
    /// citations, and working hours — the pack's too when an imported group shadows the pack's
    /// own object, so that importing ATT&CK does not lose what only the pack knows.
    pub fn attribution_context(&self) -> crate::attribution::Context {
        let mut b = crate::attribution::Context::builder();
        for o in self.kb.objects() {
            if !matches!(o.kind, ObjectKind::IntrusionSet | ObjectKind::Campaign) {
                continue;
            }
            let stix = o.stix_id.as_str();
            if let Some(raw) = self.raw(stix) {
                b.add_object(raw);
            }
            if let Some(pack) = self.shadowed_pack_object(stix) {
                b.add_object(pack);
            }
            for (rel, target) in self.context_of(stix) {
                if !matches!(rel.kind.as_str(), "targets" | "attributed-to") {
                    continue;
                }
                if let Some(t) = target {
                    b.add_object(t);
                }
                b.add_relationship(&rel.kind, &rel.source, &rel.target, rel.sources.clone());
            }
        }
        b.finish(&self.kb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The context assembled from a loaded knowledge base says what the bundle itself says:
    /// every fact, with its citations, and the working hours.
    #[test]
    fn the_loaded_context_equals_the_bundle_context() {
        use crate::attribution::Context;
        use crate::attribution::context::TargetFact;
        let l = LoadedKb::pack_only().unwrap();
        let bundle: Value = serde_json::from_slice(STARTER_PACK).unwrap();
        let ours = l.attribution_context();
        let theirs = Context::from_bundle_value(&l.kb, &bundle);
        let facts = |f: &[TargetFact]| {
            let mut v: Vec<(String, Vec<String>)> = f
                .iter()
                .map(|f| {
                    let mut s = f.sources.clone();
                    s.sort();
                    s.dedup();
                    (f.key.clone(), s)
                })
                .collect();
            v.sort();
            v
        };
        let (mut n, mut cited) = (0, 0);
        for &g in l.kb.groups() {
            assert_eq!(facts(ours.cves_of(g)), facts(theirs.cves_of(g)));
            assert_eq!(facts(ours.sectors_of(g)), facts(theirs.sectors_of(g)));
            assert_eq!(facts(ours.countries_of(g)), facts(theirs.countries_of(g)));
            assert_eq!(ours.hours_of(g), theirs.hours_of(g));
            n += ours.cves_of(g).len() + ours.countries_of(g).len();
            cited += ours
                .cves_of(g)
                .iter()
                .filter(|f| !f.sources.is_empty())
                .count();
        }
        assert!(n > 50, "the pack has context: {n} facts");
        assert!(cited > 10, "facts keep their citations: {cited}");
        let g = l.kb.resolve("G0065").unwrap();
        assert!(ours.hours_of(g).is_some());
    }

    fn ext(id: &str) -> Value {
        json!([{"source_name": "mitre-attack", "external_id": id}])
    }

    #[test]
    fn the_pack_is_embedded_and_loads() {
        let l = LoadedKb::pack_only().unwrap();
        assert_eq!(l.kb.groups().len(), 12);
        let g = l.kb.resolve("APT40").unwrap();
        assert_eq!(l.kb.label(g), "G0065");
        assert_eq!(l.kb.resolve("Gingham Typhoon"), Some(g));
        let names = l.aliases(g);
        let periscope = names.iter().find(|a| a.name == "Periscope").unwrap();
        assert_eq!(periscope.sources, vec!["pack"]);
        assert_eq!(periscope.cited, vec!["CISA AA21-200A"]);
        // CVEs come through as context.
        let stix = &l.kb.object(g).stix_id;
        let cves: Vec<_> = l
            .context_of(stix)
            .filter_map(|(_, t)| t)
            .filter(|t| str_of(t, "type") == Some("vulnerability"))
            .collect();
        assert!(cves.len() >= 5, "{}", cves.len());
        assert_eq!(l.summary.pack.as_ref().unwrap().shadowed, 0);
    }

    /// A small "ATT&CK" with its own ids for G0065 and T1190, and a relationship.
    fn attack_like() -> Vec<Value> {
        vec![
            json!({"type": "intrusion-set", "id": "intrusion-set--mitre-g0065", "name": "Leviathan",
                "created_by_ref": MITRE_IDENTITY, "aliases": ["Leviathan", "APT40"],
                "modified": "2025-01-01T00:00:00.000Z", "external_references": ext("G0065")}),
            json!({"type": "attack-pattern", "id": "attack-pattern--mitre-t1190",
                "name": "Exploit Public-Facing Application", "modified": "2025-01-01T00:00:00.000Z",
                "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "initial-access"}],
                "external_references": ext("T1190")}),
            json!({"type": "relationship", "id": "relationship--mitre-1", "relationship_type": "uses",
                "source_ref": "intrusion-set--mitre-g0065", "target_ref": "attack-pattern--mitre-t1190",
                "modified": "2025-01-01T00:00:00.000Z"}),
        ]
    }

    #[test]
    fn imported_attack_ids_shadow_the_pack_without_duplicates() {
        let mut a = KbAssembler::new();
        for v in attack_like() {
            a.add(&v, Origin::Store).unwrap();
        }
        a.overlay_pack(STARTER_PACK).unwrap();
        let l = a.finish(LoadSummary::default()).unwrap();
        let ov = l.summary.pack.clone().unwrap();
        assert_eq!(ov.shadowed, 2, "{ov:?}");
        let kb = &l.kb;
        // One G0065, the imported one, still known by the pack's curated names.
        let g0065: Vec<_> = kb
            .groups()
            .iter()
            .filter(|&&g| kb.label(g) == "G0065")
            .collect();
        assert_eq!(g0065.len(), 1);
        let g = *g0065[0];
        assert_eq!(kb.object(g).stix_id, "intrusion-set--mitre-g0065");
        assert_eq!(kb.resolve("FEVERDREAM"), Some(g));
        assert_eq!(kb.resolve("apt40"), Some(g));
        // The pack's mirror of "uses T1190" is dropped (ATT&CK has it); its other techniques
        // stay, re-pointed at the imported group.
        let t1190 = kb.by_external_id("T1190").unwrap();
        assert_eq!(kb.object(t1190).stix_id, "attack-pattern--mitre-t1190");
        let uses: Vec<_> = kb.uses(g).filter(|(t, _)| *t == t1190).collect();
        assert_eq!(uses.len(), 1);
        assert!(kb.uses(g).count() > 20);
        // Context re-pointed too: the pack's CVEs now hang off the imported group.
        assert!(
            l.context_of("intrusion-set--mitre-g0065")
                .any(|(r, _)| r.kind == "targets")
        );
        let names = l.aliases(g);
        let apt40 = names.iter().find(|n| n.name == "APT40").unwrap();
        assert_eq!(apt40.sources, vec!["attack", "pack"]);
        assert!(l.shadows_pack_group("intrusion-set--mitre-g0065"));
        let pack_g = l
            .shadowed_pack_object("intrusion-set--mitre-g0065")
            .unwrap();
        assert!(pack_g.get("x_tiaki_activity_hours").is_some());
    }

    #[test]
    fn same_id_keeps_the_newest_version() {
        let pack_g = || {
            let mut g = None;
            tiaki_stix::read_bundle_slice(STARTER_PACK, |o| {
                if o.type_ == "intrusion-set" && o.attack_id() == Some("G0065") {
                    g = Some(o.to_value());
                }
            })
            .unwrap();
            g.unwrap()
        };
        // An imported copy of the pack's own G0065, older than the embedded one: ignored.
        let mut a = KbAssembler::new();
        let mut old = pack_g();
        old["modified"] = json!("2020-01-01T00:00:00.000Z");
        old["name"] = json!("Old Leviathan");
        a.add(&old, Origin::Store).unwrap();
        a.overlay_pack(STARTER_PACK).unwrap();
        let l = a.finish(LoadSummary::default()).unwrap();
        assert_eq!(l.summary.pack.as_ref().unwrap().shadowed, 0);
        let g = l.kb.by_external_id("G0065").unwrap();
        assert_eq!(l.kb.object(g).name, "Leviathan");
        assert_eq!(l.origin(&l.kb.object(g).stix_id), Some(Origin::Pack));
        assert_eq!(l.kb.groups().len(), 12);

        // A newer imported copy wins over the embedded pack, and ATT&CK still shadows it:
        // one G0065, ATT&CK's.
        let mut a = KbAssembler::new();
        let mut new = pack_g();
        new["modified"] = json!("2099-01-01T00:00:00.000Z");
        new["name"] = json!("New Leviathan");
        a.add(&new, Origin::Store).unwrap();
        a.overlay_pack(STARTER_PACK).unwrap();
        let l = a.finish(LoadSummary::default()).unwrap();
        let g = l.kb.by_external_id("G0065").unwrap();
        assert_eq!(l.kb.object(g).name, "New Leviathan");
        assert_eq!(l.origin(&l.kb.object(g).stix_id), Some(Origin::Store));
        assert_eq!(l.publisher(&l.kb.object(g).stix_id), "pack");

        let mut a = KbAssembler::new();
        a.add(&new, Origin::Store).unwrap();
        for v in attack_like() {
            a.add(&v, Origin::Store).unwrap();
        }
        a.overlay_pack(STARTER_PACK).unwrap();
        let l = a.finish(LoadSummary::default()).unwrap();
        let g0065: Vec<_> =
            l.kb.groups()
                .iter()
                .filter(|&&g| l.kb.label(g) == "G0065")
                .collect();
        assert_eq!(g0065.len(), 1);
        assert_eq!(l.kb.object(*g0065[0]).stix_id, "intrusion-set--mitre-g0065");
        // The shadowed (newer, imported) pack copy still lends its name.
        assert_eq!(l.kb.resolve("New Leviathan"), Some(*g0065[0]));
    }

    #[test]
    fn misp_names_are_attributed_to_misp() {
        let mut a = KbAssembler::new();
        a.overlay_pack(STARTER_PACK).unwrap();
        a.add_misp_galaxy(json!({"type": "threat-actor", "values": [
            {"value": "APT40", "meta": {"synonyms": ["Nightly Example"],
             "refs": ["https://attack.mitre.org/groups/G0065/"]}}]}));
        let l = a.finish(LoadSummary::default()).unwrap();
        let g = l.kb.resolve("nightly example").unwrap();
        assert_eq!(l.kb.label(g), "G0065");
        let names = l.aliases(g);
        let n = names.iter().find(|n| n.name == "Nightly Example").unwrap();
        assert_eq!(n.sources, vec!["misp"]);
        let apt40 = names.iter().find(|n| n.name == "APT40").unwrap();
        assert_eq!(apt40.sources, vec!["pack", "misp"]);
        assert_eq!(l.summary.misp.len(), 1);
    }
}
