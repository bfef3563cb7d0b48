//! Group profiles: what a group is known to use, and the tokens that represent it.
//!
//! A group's profile is its own `uses` edges plus the `uses` edges of the campaigns attributed to
//! it (ATT&CK's "procedure examples" on a group page fold campaigns in the same way). For
//! evaluation that definition leaks: a campaign held out as a test query is usually described
//! by the same reports that also fed the group's own `uses`. [`ProfileFilter`] expresses the
//! constructions the benchmark uses to measure and remove that leakage:
//!
//! * drop the held-out campaign itself (`exclude_campaign`), or fold it in
//!   (`include_excluded`, the website view, an upper bound);
//! * drop relationships whose citations overlap the held-out campaign's citations
//!   (`drop_cites` with [`DropMode::Any`] — strict) or are all among them
//!   ([`DropMode::All`] — lenient). Relationships without citations are never dropped;
//! * optionally add the techniques of the group's software (`expand_software`).
//!
//! Tokens turn a set of techniques and software into the sparse binary vectors the scorers
//! compare: the ATT&CK id of each technique, the parent id of each sub-technique (so that
//! T1059.001 also matches T1059 evidence), and the ATT&CK id of each piece of software
//! ([`TokenMode`] selects the alternatives the benchmark ablates).

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::{CiteId, KnowledgeBase, ObjId, ObjectKind};

/// How a relationship's citations must relate to the held-out sources for it to be dropped.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DropMode {
    /// Drop when it shares at least one citation with them (strict).
    Any,
    /// Drop when every one of its citations is among them (lenient).
    All,
}

/// Which relationships make up a group profile. The default is the plain profile: own `uses`
/// plus every attributed campaign's `uses`, nothing dropped.
#[derive(Clone, Debug)]
pub struct ProfileFilter<'a> {
    /// A campaign left out of the fold (the held-out query).
    pub exclude_campaign: Option<ObjId>,
    /// Fold the excluded campaign in after all (the leaky website view).
    pub include_excluded: bool,
    /// Citations whose relationships are dropped (sorted, deduplicated).
    pub drop_cites: Option<&'a [CiteId]>,
    /// How `drop_cites` is applied.
    pub drop_mode: DropMode,
    /// Fold attributed campaigns in at all.
    pub fold_campaigns: bool,
    /// Add the techniques used by the group's software (citation-filtered the same way).
    pub expand_software: bool,
}

impl Default for ProfileFilter<'_> {
    fn default() -> Self {
        Self {
            exclude_campaign: None,
            include_excluded: false,
            drop_cites: None,
            drop_mode: DropMode::Any,
            fold_campaigns: true,
            expand_software: false,
        }
    }
}

/// Whether two sorted citation lists intersect.
pub(crate) fn intersects(a: &[CiteId], b: &[CiteId]) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

/// Whether sorted list `a` is a subset of sorted list `b`.
pub(crate) fn is_subset(a: &[CiteId], b: &[CiteId]) -> bool {
    let mut j = 0;
    for x in a {
        while j < b.len() && b[j] < *x {
            j += 1;
        }
        if j == b.len() || b[j] != *x {
            return false;
        }
        j += 1;
    }
    true
}

/// Is a relationship with citations `ci` derived from the held-out sources `drop`?
/// Relationships without citations, and an empty or absent `drop`, never leak.
pub fn leaks(ci: &[CiteId], drop: Option<&[CiteId]>, mode: DropMode) -> bool {
    let Some(drop) = drop else { return false };
    if drop.is_empty() || ci.is_empty() {
        return false;
    }
    match mode {
        DropMode::Any => intersects(ci, drop),
        DropMode::All => is_subset(ci, drop),
    }
}

impl KnowledgeBase {
    /// Every citation that describes a campaign: those of the campaign object, of its `uses`
    /// edges and of its `attributed-to` edges. Sorted and deduplicated.
    pub fn campaign_citations(&self, campaign: ObjId) -> Vec<CiteId> {
        let mut v: Vec<CiteId> = self.attribution_citations(campaign).to_vec();
        v.extend_from_slice(&self.object(campaign).citations);
        for (_, r) in self.uses(campaign) {
            v.extend_from_slice(&r.citations);
        }
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The techniques and software in a group's profile under `filter`.
    pub fn group_targets(&self, group: ObjId, filter: &ProfileFilter<'_>) -> BTreeSet<ObjId> {
        let drop = filter.drop_cites;
        let mode = filter.drop_mode;
        let mut out = BTreeSet::new();
        for (t, r) in self.uses(group) {
            if !leaks(&r.citations, drop, mode) {
                out.insert(t);
            }
        }
        if filter.fold_campaigns {
            for &c in self.campaigns_of(group) {
                let excluded = Some(c) == filter.exclude_campaign;
                if excluded && !filter.include_excluded {
                    continue;
                }
                for (t, r) in self.uses(c) {
                    if !excluded && leaks(&r.citations, drop, mode) {
                        continue;
                    }
                    out.insert(t);
                }
            }
        }
        if filter.expand_software {
            let software: Vec<ObjId> = out
                .iter()
                .copied()
                .filter(|&t| self.object(t).kind.is_software())
                .collect();
            for s in software {
                for (t, r) in self.uses(s) {
                    if self.object(t).kind == ObjectKind::AttackPattern
                        && !leaks(&r.citations, drop, mode)
                    {
                        out.insert(t);
                    }
                }
            }
        }
        out
    }

    /// A group's plain profile: own `uses` ∪ `uses` of its attributed campaigns.
    pub fn group_profile(&self, group: ObjId) -> BTreeSet<ObjId> {
        self.group_targets(group, &ProfileFilter::default())
    }
}

/// How techniques become tokens.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenMode {
    /// Exact id, plus the parent id for a sub-technique (the benchmark's default).
    #[default]
    Both,
    /// Exact id only.
    Exact,
    /// Sub-techniques replaced by their parent.
    Parent,
}

/// What a token stands for.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenKind {
    /// A technique id (`T1059`, `T1059.001`).
    Technique,
    /// A software id (`S0154`).
    Software,
}

/// The token vocabulary: every token any active technique or software can produce, sorted by
/// its text (so `S…` before `T…`), plus the per-object token lists.
#[derive(Clone, Debug)]
pub struct Vocab {
    mode: TokenMode,
    tokens: Vec<String>,
    kinds: Vec<TokenKind>,
    index: HashMap<String, u32>,
    /// Tokens of each knowledge-base object (empty for everything but active techniques and
    /// software), indexed by `ObjId`.
    of_object: Vec<Vec<u32>>,
}

fn technique_token_texts(aid: &str, mode: TokenMode) -> Vec<String> {
    match aid.split_once('.') {
        None => vec![aid.to_owned()],
        Some((parent, _)) => match mode {
            TokenMode::Exact => vec![aid.to_owned()],
            TokenMode::Parent => vec![parent.to_owned()],
            TokenMode::Both => vec![aid.to_owned(), parent.to_owned()],
        },
    }
}

impl Vocab {
    /// The vocabulary of a knowledge base's active techniques and software.
    pub fn new(kb: &KnowledgeBase, mode: TokenMode) -> Self {
        let mut texts: Vec<(ObjId, Vec<String>)> = Vec::new();
        for &t in kb.techniques() {
            if let Some(aid) = &kb.object(t).external_id {
                texts.push((t, technique_token_texts(aid, mode)));
            }
        }
        for &s in kb.software() {
            if let Some(aid) = &kb.object(s).external_id {
                texts.push((s, vec![aid.clone()]));
            }
        }
        let mut all: Vec<&String> = texts.iter().flat_map(|(_, t)| t.iter()).collect();
        all.sort();
        all.dedup();
        let tokens: Vec<String> = all.into_iter().cloned().collect();
        let index: HashMap<String, u32> = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        let kinds = tokens
            .iter()
            .map(|t| {
                if t.starts_with('T') {
                    TokenKind::Technique
                } else {
                    TokenKind::Software
                }
            })
            .collect();
        let mut of_object = vec![Vec::new(); kb.objects().len()];
        for (o, ts) in texts {
            let mut ids: Vec<u32> = ts.iter().map(|t| index[t]).collect();
            ids.sort_unstable();
            ids.dedup();
            of_object[o.index()] = ids;
        }
        Self {
            mode,
            tokens,
            kinds,
            index,
            of_object,
        }
    }

    /// The token mode.
    pub fn mode(&self) -> TokenMode {
        self.mode
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// No tokens at all.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The text of a token (`T1059.001`, `S0154`).
    pub fn token(&self, id: u32) -> &str {
        &self.tokens[id as usize]
    }

    /// What a token stands for.
    pub fn kind(&self, id: u32) -> TokenKind {
        self.kinds[id as usize]
    }

    /// Kinds of every token, indexed by token id.
    pub fn kinds(&self) -> &[TokenKind] {
        &self.kinds
    }

    /// The id of a token text.
    pub fn id(&self, token: &str) -> Option<u32> {
        self.index.get(token).copied()
    }

    /// The tokens of one object (empty unless it is an active technique or software).
    pub fn object_tokens(&self, id: ObjId) -> &[u32] {
        self.of_object.get(id.index()).map_or(&[], Vec::as_slice)
    }

    /// Sorted, deduplicated tokens of a set of techniques and software.
    pub fn tokens_of(&self, targets: impl IntoIterator<Item = ObjId>) -> Vec<u32> {
        let mut v: Vec<u32> = targets
            .into_iter()
            .flat_map(|t| self.object_tokens(t).iter().copied())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Sorted, deduplicated tokens of ATT&CK ids as an analyst or a detection would give them
    /// (`T1059.001`, `t1105`, `S0154`), applying the roll-up of the token mode. Unknown ids are
    /// returned separately.
    pub fn tokens_of_ids<'s>(
        &self,
        ids: impl IntoIterator<Item = &'s str>,
    ) -> (Vec<u32>, Vec<&'s str>) {
        let mut out = Vec::new();
        let mut unknown = Vec::new();
        for raw in ids {
            let id = raw.trim().to_ascii_uppercase();
            let texts = if id.starts_with('T') {
                technique_token_texts(&id, self.mode)
            } else {
                vec![id]
            };
            let mut any = false;
            for t in texts {
                if let Some(&i) = self.index.get(&t) {
                    out.push(i);
                    any = true;
                }
            }
            if !any {
                unknown.push(raw);
            }
        }
        out.sort_unstable();
        out.dedup();
        (out, unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kb::KbBuilder;
    use serde_json::{Value, json};

    fn ext(id: &str) -> Value {
        json!([{"source_name": "mitre-attack", "external_id": id}])
    }

    fn uses(id: &str, s: &str, t: &str, cites: &[&str]) -> Value {
        let refs: Vec<Value> = cites.iter().map(|c| json!({"source_name": c})).collect();
        json!({"type": "relationship", "id": id, "relationship_type": "uses",
               "source_ref": s, "target_ref": t, "external_references": refs})
    }

    /// G uses T1 (cited A), T2.001 (cited A and B), S1 (uncited); campaign C (cited A) uses T3
    /// and is attributed to G; S1 uses T4 (cited B).
    fn kb() -> KnowledgeBase {
        let mut b = KbBuilder::new();
        let objs = [
            json!({"type": "intrusion-set", "id": "intrusion-set--g", "name": "G", "external_references": ext("G0001")}),
            json!({"type": "campaign", "id": "campaign--c", "name": "C",
                   "external_references": [{"source_name": "mitre-attack", "external_id": "C0001"}, {"source_name": "Camp Report"}]}),
            json!({"type": "attack-pattern", "id": "attack-pattern--1", "name": "t1", "external_references": ext("T1001")}),
            json!({"type": "attack-pattern", "id": "attack-pattern--2", "name": "t2", "external_references": ext("T1002.001")}),
            json!({"type": "attack-pattern", "id": "attack-pattern--3", "name": "t3", "external_references": ext("T1003")}),
            json!({"type": "attack-pattern", "id": "attack-pattern--4", "name": "t4", "external_references": ext("T1004")}),
            json!({"type": "malware", "id": "malware--1", "name": "m", "external_references": ext("S0001")}),
            uses(
                "relationship--1",
                "intrusion-set--g",
                "attack-pattern--1",
                &["A"],
            ),
            uses(
                "relationship--2",
                "intrusion-set--g",
                "attack-pattern--2",
                &["A", "B"],
            ),
            uses("relationship--3", "intrusion-set--g", "malware--1", &[]),
            uses(
                "relationship--4",
                "campaign--c",
                "attack-pattern--3",
                &["A"],
            ),
            uses("relationship--5", "malware--1", "attack-pattern--4", &["B"]),
            json!({"type": "relationship", "id": "relationship--6", "relationship_type": "attributed-to",
                   "source_ref": "campaign--c", "target_ref": "intrusion-set--g"}),
        ];
        for o in &objs {
            b.add_object(o).unwrap();
        }
        b.finish()
    }

    fn labels(kb: &KnowledgeBase, s: &BTreeSet<ObjId>) -> Vec<String> {
        let mut v: Vec<String> = s.iter().map(|&i| kb.label(i).to_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn profile_folds_campaigns_and_filters_by_citation() {
        let kb = kb();
        let g = kb.resolve("G0001").unwrap();
        let c = kb.by_external_id("C0001").unwrap();
        assert_eq!(
            labels(&kb, &kb.group_profile(g)),
            ["S0001", "T1001", "T1002.001", "T1003"]
        );
        let cc = kb.campaign_citations(c);
        let names: Vec<&str> = cc.iter().map(|&i| kb.citation(i)).collect();
        assert_eq!(names.len(), 2);
        assert!(names.contains(&"A") && names.contains(&"Camp Report"));
        let strict = ProfileFilter {
            exclude_campaign: Some(c),
            drop_cites: Some(&cc),
            ..Default::default()
        };
        // Both A-cited relationships go; the uncited one stays; the campaign is held out.
        assert_eq!(labels(&kb, &kb.group_targets(g, &strict)), ["S0001"]);
        let lenient = ProfileFilter {
            drop_mode: DropMode::All,
            ..strict.clone()
        };
        // T1002.001 is also supported by B, which is not a campaign source.
        assert_eq!(
            labels(&kb, &kb.group_targets(g, &lenient)),
            ["S0001", "T1002.001"]
        );
        let folded = ProfileFilter {
            exclude_campaign: Some(c),
            include_excluded: true,
            ..Default::default()
        };
        assert_eq!(labels(&kb, &kb.group_targets(g, &folded)).len(), 4);
        let expanded = ProfileFilter {
            expand_software: true,
            ..lenient
        };
        assert_eq!(
            labels(&kb, &kb.group_targets(g, &expanded)),
            ["S0001", "T1002.001", "T1004"]
        );
    }

    #[test]
    fn leak_modes() {
        let c = |v: &[u32]| v.iter().map(|&x| CiteId(x)).collect::<Vec<_>>();
        let drop = c(&[1, 3, 5]);
        assert!(leaks(&c(&[2, 3]), Some(&drop), DropMode::Any));
        assert!(!leaks(&c(&[2, 3]), Some(&drop), DropMode::All));
        assert!(leaks(&c(&[1, 5]), Some(&drop), DropMode::All));
        assert!(!leaks(&c(&[]), Some(&drop), DropMode::Any));
        assert!(!leaks(&c(&[1]), None, DropMode::Any));
        assert!(!leaks(&c(&[1]), Some(&[]), DropMode::All));
    }

    #[test]
    fn tokens_roll_up_sub_techniques() {
        let kb = kb();
        let v = Vocab::new(&kb, TokenMode::Both);
        let toks: Vec<&str> = (0..v.len() as u32).map(|i| v.token(i)).collect();
        assert_eq!(
            toks,
            ["S0001", "T1001", "T1002", "T1002.001", "T1003", "T1004"]
        );
        assert_eq!(v.kind(0), TokenKind::Software);
        let g = kb.resolve("G0001").unwrap();
        let t: Vec<&str> = v
            .tokens_of(kb.group_profile(g))
            .into_iter()
            .map(|i| v.token(i))
            .collect();
        assert_eq!(t, ["S0001", "T1001", "T1002", "T1002.001", "T1003"]);
        let (ids, unknown) = v.tokens_of_ids(["t1002.001", "S0001", "T9999"]);
        assert_eq!(ids.len(), 3);
        assert_eq!(unknown, ["T9999"]);
        let p = Vocab::new(&kb, TokenMode::Parent);
        assert_eq!(p.len(), 5);
        assert!(p.id("T1002.001").is_none());
        let e = Vocab::new(&kb, TokenMode::Exact);
        assert!(e.id("T1002").is_none());
    }
}
