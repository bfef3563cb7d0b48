//! The benchmark protocols: which queries are asked and against which candidate profiles.
//!
//! * **E1 — attributed-campaign hold-out.** Every ATT&CK campaign attributed to a group is a
//!   query; its own `uses` are the evidence; the true group's profile never contains the
//!   campaign. [`Construction`] selects how much of the campaign's reporting may still reach the
//!   group profile (the leakage ladder).
//! * **E2 — noisy partial detection.** k of a campaign's techniques plus f false positives
//!   (uniform, or weighted by how many groups use the technique), clean-strict profiles.
//! * **E3 — groups without campaigns.** S2 holds out 30% of a group's cited *reports*: the
//!   evidence is what those reports support, the profile what the other reports support. S1
//!   (hold out 30% of techniques and delete them from the profile) and S0 (leave the profile
//!   whole) are kept to show why they are the wrong protocols.
//!
//! Each protocol produces a [`CaseSet`]: candidate profiles per fold plus the queries, in the
//! reference's order, so that the harness can fit every scorer once per fold.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::sampling::{RngKind, Sampler, sampler};
use super::scorer::{Profiles, Query};
use crate::kb::{
    CiteId, DropMode, KnowledgeBase, ObjId, ObjectKind, ProfileFilter, TokenMode, Vocab,
};

/// How the true group's profile is built when one of its campaigns is the query.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Construction {
    /// Drop every group relationship sharing *any* citation with the campaign; fold in the
    /// group's other campaigns, filtered the same way (the main setting).
    CleanStrict,
    /// Drop only relationships whose citations are *all* campaign citations.
    CleanLenient,
    /// The group's own `uses` as published, plus its other campaigns, unfiltered.
    AsPublished,
    /// The campaign folded into the group, as on the ATT&CK website (an upper bound).
    Folded,
}

impl Construction {
    /// The reference's key (`clean`, `lenient`, `citeleak`, `fullleak`).
    pub fn key(self) -> &'static str {
        match self {
            Construction::CleanStrict => "clean",
            Construction::CleanLenient => "lenient",
            Construction::AsPublished => "citeleak",
            Construction::Folded => "fullleak",
        }
    }

    /// A one-line description for reports.
    pub fn describe(self) -> &'static str {
        match self {
            Construction::CleanStrict => {
                "clean-strict (drop group rels sharing ANY citation with the campaign)"
            }
            Construction::CleanLenient => {
                "clean-lenient (drop only rels whose citations are ALL campaign citations)"
            }
            Construction::AsPublished => {
                "as published (group own uses + other campaigns, no filtering)"
            }
            Construction::Folded => "campaign folded into group (website view)",
        }
    }
}

/// What counts as evidence in E1.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Evidence {
    /// Techniques and software.
    TechniquesAndSoftware,
    /// Techniques only.
    Techniques,
}

impl Evidence {
    /// The reference's key (`tech+sw`, `tech`).
    pub fn key(self) -> &'static str {
        match self {
            Evidence::TechniquesAndSoftware => "tech+sw",
            Evidence::Techniques => "tech",
        }
    }
}

/// One E1 table.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct E1Setting {
    /// Profile construction.
    pub construction: Construction,
    /// Evidence.
    pub evidence: Evidence,
    /// Add each group's software's techniques to its profile.
    pub expand_software: bool,
}

impl E1Setting {
    /// The reference's key, e.g. `clean|tech+sw` or `clean|tech|sw-expanded-profiles`.
    pub fn key(&self) -> String {
        let mut k = format!("{}|{}", self.construction.key(), self.evidence.key());
        if self.expand_software {
            k.push_str("|sw-expanded-profiles");
        }
        k
    }

    /// The reference's settings, in its order: every construction × both evidence variants,
    /// then clean-strict with software-expanded profiles.
    pub fn reference() -> Vec<E1Setting> {
        let mut v = Vec::new();
        for construction in [
            Construction::CleanStrict,
            Construction::CleanLenient,
            Construction::AsPublished,
            Construction::Folded,
        ] {
            for evidence in [Evidence::TechniquesAndSoftware, Evidence::Techniques] {
                v.push(E1Setting {
                    construction,
                    evidence,
                    expand_software: false,
                });
            }
        }
        for evidence in [Evidence::TechniquesAndSoftware, Evidence::Techniques] {
            v.push(E1Setting {
                construction: Construction::CleanStrict,
                evidence,
                expand_software: true,
            });
        }
        v
    }
}

/// How E2 false positives are drawn.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FalsePositives {
    /// Uniformly among techniques the campaign does not use.
    Uniform,
    /// Weighted by 1 + the number of groups using the technique ("looks like a common
    /// detection").
    Popular,
}

/// One E2 table.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct E2Setting {
    /// True techniques drawn per case.
    pub k: usize,
    /// False-positive techniques added.
    pub fp: usize,
    /// How they are drawn.
    pub kind: FalsePositives,
}

impl E2Setting {
    /// The reference's key, e.g. `k=3|fp=2:uniform`.
    pub fn key(&self) -> String {
        let kind = match self.kind {
            FalsePositives::Uniform => "uniform",
            FalsePositives::Popular => "popular",
        };
        format!("k={}|fp={}:{}", self.k, self.fp, kind)
    }

    /// The reference's settings, in its draw order: for (2 uniform, 0, 2 popular, 5 uniform),
    /// k = 3, 5, 10.
    pub fn reference() -> Vec<E2Setting> {
        let mut v = Vec::new();
        for (kind, fp) in [
            (FalsePositives::Uniform, 2),
            (FalsePositives::Uniform, 0),
            (FalsePositives::Popular, 2),
            (FalsePositives::Uniform, 5),
        ] {
            for k in [3, 5, 10] {
                v.push(E2Setting { k, fp, kind });
            }
        }
        v
    }
}

/// The E3 variants.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum E3Variant {
    /// Hold out 30% of techniques and remove them from the profile (degenerate).
    S1Disjoint,
    /// Hold out 30% of cited reports (the defensible one).
    S2Report,
    /// 30% of techniques as evidence, profile left whole (leaky).
    S0Leaky,
}

impl E3Variant {
    /// The reference's key (`S1_disjoint`, `S2_report`, `S0_leaky`).
    pub fn key(self) -> &'static str {
        match self {
            E3Variant::S1Disjoint => "S1_disjoint",
            E3Variant::S2Report => "S2_report",
            E3Variant::S0Leaky => "S0_leaky",
        }
    }
}

/// One query of a protocol.
#[derive(Clone, Debug)]
pub struct Case {
    /// Index of the candidate profiles in [`CaseSet::bases`].
    pub base: usize,
    /// A replacement profile row for this case only (group index, sorted tokens), as in E3
    /// where the true group's profile changes with every draw.
    pub row_override: Option<(u32, Vec<u32>)>,
    /// The evidence.
    pub query: Query,
    /// Indices of the true groups among the candidates.
    pub truth: Vec<u32>,
    /// Bootstrap cluster (campaign or group index); cases of one cluster are resampled together.
    pub cluster: usize,
}

/// Queries of one protocol setting with their candidate profiles.
#[derive(Clone, Debug, Default)]
pub struct CaseSet {
    /// Candidate profiles, shared by the cases that name them.
    pub bases: Vec<Profiles>,
    /// The cases, in evaluation order.
    pub cases: Vec<Case>,
    /// Extra counts for the report (campaigns used, groups eligible…).
    pub info: BTreeMap<String, usize>,
    /// Whether every case is its own bootstrap cluster (E1) rather than `Case::cluster`.
    pub per_case_clusters: bool,
}

/// Details of one E1 query, for the per-campaign table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct E1CaseInfo {
    /// Campaign ATT&CK id.
    pub campaign: String,
    /// Campaign name.
    pub name: String,
    /// True groups' ATT&CK ids.
    pub groups: Vec<String>,
    /// Techniques in the evidence.
    pub n_tech: usize,
    /// Software in the evidence.
    pub n_sw: usize,
    /// Evidence tokens.
    pub n_tokens: usize,
    /// Profile size of each true group after the construction.
    pub true_profile_tokens: Vec<usize>,
    /// Relationship targets the citation filter removed from each true group.
    pub removed_by_filter: BTreeMap<String, usize>,
}

/// The candidate groups, vocabulary and indexes every protocol draws from.
#[derive(Debug)]
pub struct Benchmark<'kb> {
    kb: &'kb KnowledgeBase,
    vocab: Arc<Vocab>,
    group_index: HashMap<ObjId, u32>,
    /// Plain profile rows (own uses + all campaigns), without and with software expansion.
    plain_rows: Vec<Vec<u32>>,
    expanded_rows: Vec<Vec<u32>>,
    /// Active techniques sorted by STIX id (the reference's false-positive pool order).
    techniques_by_stix: Vec<ObjId>,
}

impl<'kb> Benchmark<'kb> {
    /// Prepares the benchmark over a knowledge base's active groups.
    pub fn new(kb: &'kb KnowledgeBase, mode: TokenMode) -> Self {
        let vocab = Arc::new(Vocab::new(kb, mode));
        let group_index = kb
            .groups()
            .iter()
            .enumerate()
            .map(|(i, &g)| (g, i as u32))
            .collect();
        let rows = |expand: bool| -> Vec<Vec<u32>> {
            kb.groups()
                .iter()
                .map(|&g| {
                    let f = ProfileFilter {
                        expand_software: expand,
                        ..Default::default()
                    };
                    vocab.tokens_of(kb.group_targets(g, &f))
                })
                .collect()
        };
        let plain_rows = rows(false);
        let expanded_rows = rows(true);
        let mut techniques_by_stix = kb.techniques().to_vec();
        techniques_by_stix.sort_by(|a, b| kb.object(*a).stix_id.cmp(&kb.object(*b).stix_id));
        Self {
            kb,
            vocab,
            group_index,
            plain_rows,
            expanded_rows,
            techniques_by_stix,
        }
    }

    /// The knowledge base.
    pub fn kb(&self) -> &'kb KnowledgeBase {
        self.kb
    }

    /// The token vocabulary.
    pub fn vocab(&self) -> &Arc<Vocab> {
        &self.vocab
    }

    /// Number of candidate groups.
    pub fn n_groups(&self) -> usize {
        self.plain_rows.len()
    }

    /// Candidate index of a group.
    pub fn group_index(&self, g: ObjId) -> Option<u32> {
        self.group_index.get(&g).copied()
    }

    /// Profiles of every group as published (own uses + all attributed campaigns).
    pub fn plain_profiles(&self) -> Profiles {
        Profiles::new(self.vocab.clone(), &self.plain_rows)
    }

    fn sorted_by_stix(&self, set: impl IntoIterator<Item = ObjId>) -> Vec<ObjId> {
        let mut v: Vec<ObjId> = set.into_iter().collect();
        v.sort_by(|a, b| self.kb.object(*a).stix_id.cmp(&self.kb.object(*b).stix_id));
        v.dedup();
        v
    }

    /// The candidate profile rows when campaign `c` is held out under `construction`, and the
    /// number of targets the citation filter removed from each true group.
    fn campaign_rows(
        &self,
        c: ObjId,
        construction: Construction,
        expand_software: bool,
    ) -> (Vec<Vec<u32>>, BTreeMap<String, usize>) {
        let kb = self.kb;
        let truth = kb.attributed_groups(c);
        let cites: Vec<CiteId> = kb.campaign_citations(c);
        let mut rows = if expand_software {
            self.expanded_rows.clone()
        } else {
            self.plain_rows.clone()
        };
        let mut removed = BTreeMap::new();
        for &g in truth {
            let gi = self.group_index[&g] as usize;
            let base = ProfileFilter {
                exclude_campaign: Some(c),
                expand_software,
                ..Default::default()
            };
            let f = match construction {
                Construction::CleanStrict | Construction::CleanLenient => {
                    let mode = if construction == Construction::CleanStrict {
                        DropMode::Any
                    } else {
                        DropMode::All
                    };
                    let unexpanded = ProfileFilter {
                        exclude_campaign: Some(c),
                        ..Default::default()
                    };
                    let full = kb.group_targets(g, &unexpanded);
                    let filtered = kb.group_targets(
                        g,
                        &ProfileFilter {
                            drop_cites: Some(&cites),
                            drop_mode: mode,
                            ..unexpanded.clone()
                        },
                    );
                    removed.insert(kb.label(g).to_owned(), full.difference(&filtered).count());
                    ProfileFilter {
                        drop_cites: Some(&cites),
                        drop_mode: mode,
                        ..base
                    }
                }
                Construction::AsPublished => base,
                Construction::Folded => ProfileFilter {
                    include_excluded: true,
                    ..base
                },
            };
            rows[gi] = self.vocab.tokens_of(kb.group_targets(g, &f));
        }
        (rows, removed)
    }

    fn truth_of(&self, c: ObjId) -> Vec<u32> {
        self.kb
            .attributed_groups(c)
            .iter()
            .map(|g| self.group_index[g])
            .collect()
    }

    /// E1 cases for one setting, with per-campaign details. Campaigns whose evidence is empty
    /// (no techniques in a techniques-only setting) are skipped.
    pub fn e1_cases(&self, setting: E1Setting) -> (CaseSet, Vec<E1CaseInfo>) {
        let kb = self.kb;
        let mut set = CaseSet {
            per_case_clusters: true,
            ..Default::default()
        };
        let mut infos = Vec::new();
        for c in kb.attributed_campaigns() {
            let targets: Vec<ObjId> = kb
                .uses(c)
                .map(|(t, _)| t)
                .filter(|&t| {
                    setting.evidence == Evidence::TechniquesAndSoftware
                        || kb.object(t).kind == ObjectKind::AttackPattern
                })
                .collect();
            let tokens = self.vocab.tokens_of(targets.iter().copied());
            if tokens.is_empty() {
                continue;
            }
            let (rows, removed) =
                self.campaign_rows(c, setting.construction, setting.expand_software);
            let truth = self.truth_of(c);
            let n_tech = targets
                .iter()
                .filter(|&&t| kb.object(t).kind == ObjectKind::AttackPattern)
                .count();
            infos.push(E1CaseInfo {
                campaign: kb.label(c).to_owned(),
                name: kb.object(c).name.clone(),
                groups: kb
                    .attributed_groups(c)
                    .iter()
                    .map(|&g| kb.label(g).to_owned())
                    .collect(),
                n_tech,
                n_sw: targets.len() - n_tech,
                n_tokens: tokens.len(),
                true_profile_tokens: truth.iter().map(|&i| rows[i as usize].len()).collect(),
                removed_by_filter: removed,
            });
            let cluster = set.cases.len();
            set.bases.push(Profiles::new(self.vocab.clone(), &rows));
            set.cases.push(Case {
                base: set.bases.len() - 1,
                row_override: None,
                query: Query::new(tokens),
                truth,
                cluster,
            });
        }
        set.info.insert("campaigns".into(), set.cases.len());
        (set, infos)
    }

    /// Technique usage counts over the plain group profiles (for popularity-weighted false
    /// positives).
    fn technique_popularity(&self) -> HashMap<ObjId, usize> {
        let mut pop = HashMap::new();
        for &g in self.kb.groups() {
            for t in self.kb.group_profile(g) {
                if self.kb.object(t).kind == ObjectKind::AttackPattern {
                    *pop.entry(t).or_default() += 1;
                }
            }
        }
        pop
    }

    /// E2 cases for several settings drawn from one generator, in order (the reference draws
    /// all its E2 settings from one stream).
    fn e2_cases(&self, settings: &[E2Setting], reps: usize, rng: &mut dyn Sampler) -> Vec<CaseSet> {
        let kb = self.kb;
        let pop = self.technique_popularity();
        struct Prepared {
            profiles: Profiles,
            techs: Vec<ObjId>,
            truth: Vec<u32>,
        }
        let prepared: Vec<Prepared> = kb
            .attributed_campaigns()
            .into_iter()
            .map(|c| {
                let (rows, _) = self.campaign_rows(c, Construction::CleanStrict, false);
                let techs = self.sorted_by_stix(
                    kb.uses(c)
                        .map(|(t, _)| t)
                        .filter(|&t| kb.object(t).kind == ObjectKind::AttackPattern),
                );
                Prepared {
                    profiles: Profiles::new(self.vocab.clone(), &rows),
                    techs,
                    truth: self.truth_of(c),
                }
            })
            .collect();
        let mut out = Vec::new();
        for s in settings {
            let mut set = CaseSet::default();
            let mut n_campaigns = 0;
            for (ci, p) in prepared.iter().enumerate() {
                if p.techs.len() < s.k {
                    continue;
                }
                n_campaigns += 1;
                set.bases.push(p.profiles.clone());
                let base = set.bases.len() - 1;
                let tset: BTreeSet<ObjId> = p.techs.iter().copied().collect();
                let cand: Vec<ObjId> = self
                    .techniques_by_stix
                    .iter()
                    .copied()
                    .filter(|t| !tset.contains(t))
                    .collect();
                let cum: Vec<f64> = cand
                    .iter()
                    .scan(0.0, |acc, t| {
                        *acc += (pop.get(t).copied().unwrap_or(0) + 1) as f64;
                        Some(*acc)
                    })
                    .collect();
                for _ in 0..reps {
                    let mut obs: Vec<ObjId> = rng
                        .sample(p.techs.len(), s.k)
                        .into_iter()
                        .map(|i| p.techs[i])
                        .collect();
                    if s.fp > 0 {
                        match s.kind {
                            FalsePositives::Uniform => {
                                obs.extend(
                                    rng.sample(cand.len(), s.fp).into_iter().map(|i| cand[i]),
                                );
                            }
                            FalsePositives::Popular => {
                                let mut fps = BTreeSet::new();
                                while fps.len() < s.fp {
                                    fps.insert(cand[rng.weighted(&cum)]);
                                }
                                obs.extend(fps);
                            }
                        }
                    }
                    set.cases.push(Case {
                        base,
                        row_override: None,
                        query: Query::new(self.vocab.tokens_of(obs)),
                        truth: p.truth.clone(),
                        cluster: ci,
                    });
                }
            }
            set.info.insert("n_campaigns".into(), n_campaigns);
            out.push(set);
        }
        out
    }

    /// E2 case sets for `settings`, drawn in order from one generator of kind `rng` seeded with
    /// `seed` (the full run uses the run seed).
    pub fn e2_case_sets(
        &self,
        settings: &[E2Setting],
        reps: usize,
        rng: RngKind,
        seed: u64,
    ) -> Vec<CaseSet> {
        self.e2_cases(settings, reps, sampler(rng, seed).as_mut())
    }

    /// E3 case sets for `variants`, drawn in order from one generator of kind `rng` seeded with
    /// `seed` (the full run uses the run seed + 1).
    pub fn e3_case_sets(
        &self,
        variants: &[E3Variant],
        reps: usize,
        rng: RngKind,
        seed: u64,
    ) -> Vec<CaseSet> {
        self.e3_cases(variants, reps, sampler(rng, seed).as_mut())
    }

    /// Groups eligible for E3: no attributed campaign and at least `min_tech` distinct
    /// techniques in their own `uses`.
    pub fn e3_eligible(&self, min_tech: usize) -> Vec<ObjId> {
        let kb = self.kb;
        kb.groups()
            .iter()
            .copied()
            .filter(|&g| kb.campaigns_of(g).is_empty())
            .filter(|&g| {
                let techs: BTreeSet<ObjId> = kb
                    .uses(g)
                    .map(|(t, _)| t)
                    .filter(|&t| kb.object(t).kind == ObjectKind::AttackPattern)
                    .collect();
                techs.len() >= min_tech
            })
            .collect()
    }

    /// E3 cases for several variants drawn from one generator, in order.
    fn e3_cases(&self, variants: &[E3Variant], reps: usize, rng: &mut dyn Sampler) -> Vec<CaseSet> {
        const FRAC: f64 = 0.3;
        let kb = self.kb;
        let eligible = self.e3_eligible(10);
        let held_count = |n: usize| ((FRAC * n as f64).round_ties_even() as usize).max(1);
        let mut out = Vec::new();
        for &variant in variants {
            let mut set = CaseSet::default();
            set.bases.push(self.plain_profiles());
            let mut used = BTreeSet::new();
            let mut skipped = 0;
            for &g in &eligible {
                let gi = self.group_index[&g];
                let rels: Vec<(ObjId, &[CiteId])> = kb
                    .uses(g)
                    .map(|(t, r)| (t, r.citations.as_slice()))
                    .collect();
                let is_tech = |t: ObjId| kb.object(t).kind == ObjectKind::AttackPattern;
                let techs = self.sorted_by_stix(rels.iter().map(|r| r.0).filter(|&t| is_tech(t)));
                let mut cites: Vec<CiteId> =
                    rels.iter().flat_map(|r| r.1.iter().copied()).collect();
                cites.sort_unstable();
                cites.dedup();
                cites.sort_by(|a, b| kb.citation(*a).cmp(kb.citation(*b)));
                if variant == E3Variant::S2Report && cites.len() < 2 {
                    skipped += 1;
                    continue;
                }
                for _ in 0..reps {
                    let (evidence, profile): (BTreeSet<ObjId>, BTreeSet<ObjId>) = match variant {
                        E3Variant::S1Disjoint | E3Variant::S0Leaky => {
                            let held: BTreeSet<ObjId> = rng
                                .sample(techs.len(), held_count(techs.len()))
                                .into_iter()
                                .map(|i| techs[i])
                                .collect();
                            let all: BTreeSet<ObjId> = rels.iter().map(|r| r.0).collect();
                            let prof = if variant == E3Variant::S1Disjoint {
                                all.difference(&held).copied().collect()
                            } else {
                                all
                            };
                            (held, prof)
                        }
                        E3Variant::S2Report => {
                            let mut held: Vec<CiteId> = rng
                                .sample(cites.len(), held_count(cites.len()))
                                .into_iter()
                                .map(|i| cites[i])
                                .collect();
                            held.sort_unstable();
                            let ev: BTreeSet<ObjId> = rels
                                .iter()
                                .filter(|(t, ci)| {
                                    is_tech(*t) && crate::kb::profile::intersects(ci, &held)
                                })
                                .map(|r| r.0)
                                .collect();
                            let prof: BTreeSet<ObjId> = rels
                                .iter()
                                .filter(|(_, ci)| {
                                    ci.is_empty() || !crate::kb::profile::is_subset(ci, &held)
                                })
                                .map(|r| r.0)
                                .collect();
                            (ev, prof)
                        }
                    };
                    if evidence.is_empty() {
                        continue;
                    }
                    set.cases.push(Case {
                        base: 0,
                        row_override: Some((gi, self.vocab.tokens_of(profile))),
                        query: Query::new(self.vocab.tokens_of(evidence)),
                        truth: vec![gi],
                        cluster: gi as usize,
                    });
                    used.insert(g);
                }
            }
            set.info.insert("eligible_groups".into(), eligible.len());
            set.info.insert("groups_used".into(), used.len());
            set.info.insert("skipped_lt2_citations".into(), skipped);
            out.push(set);
        }
        out
    }
}

/// One row of the leakage audit: how much of a held-out campaign the true group's own `uses`
/// duplicate, and under whose citations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeakageRow {
    /// Campaign ATT&CK id.
    pub campaign: String,
    /// Group ATT&CK id.
    pub group: String,
    /// Distinct targets of the campaign.
    pub campaign_targets: usize,
    /// Distinct targets of the group's own uses.
    pub group_own_targets: usize,
    /// Targets in both.
    pub duplicated_targets: usize,
    /// … of which a group relationship shares a citation with the campaign.
    pub duplicated_with_shared_citation: usize,
    /// Group relationships sharing at least one campaign citation.
    pub group_rels_sharing_citation: usize,
    /// Group relationships citing only campaign sources.
    pub group_rels_only_campaign_citations: usize,
    /// Group relationships.
    pub group_rels_total: usize,
    /// The group's other attributed campaigns.
    pub other_campaigns_of_group: usize,
}

impl Benchmark<'_> {
    /// The leakage audit of every attributed campaign (appendix G of the benchmark note).
    pub fn leakage_audit(&self) -> Vec<LeakageRow> {
        use crate::kb::profile::leaks;
        let kb = self.kb;
        let mut out = Vec::new();
        for c in kb.attributed_campaigns() {
            let ct: BTreeSet<ObjId> = kb.uses(c).map(|(t, _)| t).collect();
            let cc = kb.campaign_citations(c);
            let mut groups = kb.attributed_groups(c).to_vec();
            groups.sort_by(|a, b| kb.label(*a).cmp(kb.label(*b)));
            for g in groups {
                let own: Vec<(ObjId, &[CiteId])> = kb
                    .uses(g)
                    .map(|(t, r)| (t, r.citations.as_slice()))
                    .collect();
                let gt: BTreeSet<ObjId> = own.iter().map(|r| r.0).collect();
                let dup_cited: BTreeSet<ObjId> = own
                    .iter()
                    .filter(|(t, ci)| ct.contains(t) && crate::kb::profile::intersects(ci, &cc))
                    .map(|r| r.0)
                    .collect();
                out.push(LeakageRow {
                    campaign: kb.label(c).to_owned(),
                    group: kb.label(g).to_owned(),
                    campaign_targets: ct.len(),
                    group_own_targets: gt.len(),
                    duplicated_targets: ct.intersection(&gt).count(),
                    duplicated_with_shared_citation: dup_cited.len(),
                    group_rels_sharing_citation: own
                        .iter()
                        .filter(|(_, ci)| leaks(ci, Some(&cc), DropMode::Any))
                        .count(),
                    group_rels_only_campaign_citations: own
                        .iter()
                        .filter(|(_, ci)| leaks(ci, Some(&cc), DropMode::All))
                        .count(),
                    group_rels_total: own.len(),
                    other_campaigns_of_group: kb.campaigns_of(g).len().saturating_sub(1),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kb::KbBuilder;
    use serde_json::{Value, json};

    fn obj(ty: &str, n: &str, ext: &str) -> Value {
        json!({"type": ty, "id": format!("{ty}--{n}"), "name": n,
               "external_references": [{"source_name": "mitre-attack", "external_id": ext}]})
    }

    fn rel(i: usize, ty: &str, s: &str, t: &str, cites: &[&str]) -> Value {
        let refs: Vec<Value> = cites.iter().map(|c| json!({"source_name": c})).collect();
        json!({"type": "relationship", "id": format!("relationship--{i}"), "relationship_type": ty,
               "source_ref": s, "target_ref": t, "external_references": refs})
    }

    /// Alpha (G0001): T1001..T1010, each cited by report R(i % 4); no campaign.
    /// Beta (G0002): T1001, T1002, S0002.
    /// Gamma (G0003): T1003 [CampRep], T1004 [Other], T1005 [CampRep, Other]; campaign C0001
    /// (T1006, T1007, T1008 [CampRep]) attributed to it [CampRep].
    fn kb() -> KnowledgeBase {
        let mut objs = vec![
            obj("intrusion-set", "alpha", "G0001"),
            obj("intrusion-set", "beta", "G0002"),
            obj("intrusion-set", "gamma", "G0003"),
            obj("campaign", "c1", "C0001"),
            obj("malware", "m1", "S0001"),
            obj("tool", "t2", "S0002"),
        ];
        for i in 1..=12 {
            objs.push(obj(
                "attack-pattern",
                &format!("t{i}"),
                &format!("T{:04}", 1000 + i),
            ));
        }
        let mut i = 0;
        let mut r = |ty: &str, s: &str, t: &str, c: &[&str]| {
            i += 1;
            rel(i, ty, s, t, c)
        };
        for t in 1..=10 {
            let cite = format!("R{}", t % 4);
            objs.push(r(
                "uses",
                "intrusion-set--alpha",
                &format!("attack-pattern--t{t}"),
                &[&cite],
            ));
        }
        objs.push(r("uses", "intrusion-set--beta", "attack-pattern--t1", &[]));
        objs.push(r("uses", "intrusion-set--beta", "attack-pattern--t2", &[]));
        objs.push(r("uses", "intrusion-set--beta", "tool--t2", &[]));
        objs.push(r(
            "uses",
            "intrusion-set--gamma",
            "attack-pattern--t3",
            &["CampRep"],
        ));
        objs.push(r(
            "uses",
            "intrusion-set--gamma",
            "attack-pattern--t4",
            &["Other"],
        ));
        objs.push(r(
            "uses",
            "intrusion-set--gamma",
            "attack-pattern--t5",
            &["CampRep", "Other"],
        ));
        for t in 6..=8 {
            objs.push(r(
                "uses",
                "campaign--c1",
                &format!("attack-pattern--t{t}"),
                &["CampRep"],
            ));
        }
        objs.push(r(
            "attributed-to",
            "campaign--c1",
            "intrusion-set--gamma",
            &["CampRep"],
        ));
        let mut b = KbBuilder::new();
        for o in &objs {
            b.add_object(o).unwrap();
        }
        b.finish()
    }

    fn row_labels(bench: &Benchmark<'_>, p: &Profiles, g: usize) -> Vec<String> {
        p.row(g)
            .iter()
            .map(|&t| bench.vocab().token(t).to_owned())
            .collect()
    }

    #[test]
    fn e1_ladder_controls_what_reaches_the_true_group() {
        let kb = kb();
        let bench = Benchmark::new(&kb, TokenMode::Both);
        let gamma = bench.group_index(kb.resolve("G0003").unwrap()).unwrap() as usize;
        let expect = [
            (Construction::CleanStrict, vec!["T1004"], 2),
            (Construction::CleanLenient, vec!["T1004", "T1005"], 1),
            (
                Construction::AsPublished,
                vec!["T1003", "T1004", "T1005"],
                0,
            ),
            (
                Construction::Folded,
                vec!["T1003", "T1004", "T1005", "T1006", "T1007", "T1008"],
                0,
            ),
        ];
        for (construction, row, removed) in expect {
            let (set, info) = bench.e1_cases(E1Setting {
                construction,
                evidence: Evidence::TechniquesAndSoftware,
                expand_software: false,
            });
            assert_eq!(set.cases.len(), 1, "{construction:?}");
            let case = &set.cases[0];
            assert_eq!(case.truth, vec![gamma as u32]);
            assert_eq!(case.query.len(), 3);
            assert_eq!(
                row_labels(&bench, &set.bases[case.base], gamma),
                row,
                "{construction:?}"
            );
            assert_eq!(
                info[0].removed_by_filter.get("G0003").copied().unwrap_or(0),
                removed
            );
            // Other groups keep their plain profiles.
            assert_eq!(set.bases[0].row(1).len(), 3);
        }
    }

    #[test]
    fn e2_draws_k_true_and_f_false_techniques() {
        let kb = kb();
        let bench = Benchmark::new(&kb, TokenMode::Both);
        let settings = [
            E2Setting {
                k: 3,
                fp: 2,
                kind: FalsePositives::Uniform,
            },
            E2Setting {
                k: 2,
                fp: 2,
                kind: FalsePositives::Popular,
            },
            E2Setting {
                k: 5,
                fp: 0,
                kind: FalsePositives::Uniform,
            },
        ];
        let sets = bench.e2_case_sets(&settings, 20, RngKind::ChaCha8, 1);
        let campaign: BTreeSet<&str> = ["T1006", "T1007", "T1008"].into();
        for (s, set) in settings.iter().zip(&sets) {
            if s.k > 3 {
                assert!(set.cases.is_empty());
                assert_eq!(set.info["n_campaigns"], 0);
                continue;
            }
            assert_eq!(set.cases.len(), 20);
            for c in &set.cases {
                let toks: Vec<&str> = c
                    .query
                    .tokens()
                    .iter()
                    .map(|&t| bench.vocab().token(t))
                    .collect();
                assert_eq!(toks.len(), s.k + s.fp);
                assert_eq!(toks.iter().filter(|t| campaign.contains(*t)).count(), s.k);
            }
        }
    }

    #[test]
    fn e3_variants_split_evidence_and_profile() {
        let kb = kb();
        let bench = Benchmark::new(&kb, TokenMode::Both);
        assert_eq!(bench.e3_eligible(10), vec![kb.resolve("G0001").unwrap()]);
        let variants = [
            E3Variant::S1Disjoint,
            E3Variant::S2Report,
            E3Variant::S0Leaky,
        ];
        let sets = bench.e3_case_sets(&variants, 10, RngKind::PythonCompat, 7);
        let full: BTreeSet<u32> = bench.plain_profiles().row(0).iter().copied().collect();
        for (v, set) in variants.iter().zip(&sets) {
            assert_eq!(set.cases.len(), 10, "{v:?}");
            for c in &set.cases {
                let (g, prof) = c.row_override.as_ref().unwrap();
                assert_eq!(*g, 0);
                let ev: BTreeSet<u32> = c.query.tokens().iter().copied().collect();
                let prof: BTreeSet<u32> = prof.iter().copied().collect();
                assert!(ev.is_subset(&full));
                match v {
                    E3Variant::S1Disjoint => {
                        assert_eq!(ev.len(), 3);
                        assert!(ev.is_disjoint(&prof));
                        assert_eq!(ev.len() + prof.len(), full.len());
                    }
                    // One technique per report: held-out reports' techniques leave the profile.
                    E3Variant::S2Report => {
                        assert!(ev.is_disjoint(&prof));
                        assert_eq!(&ev | &prof, full);
                    }
                    E3Variant::S0Leaky => assert_eq!(prof, full),
                }
            }
        }
    }

    #[test]
    fn leakage_audit_counts_shared_citations() {
        let kb = kb();
        let bench = Benchmark::new(&kb, TokenMode::Both);
        let audit = bench.leakage_audit();
        assert_eq!(audit.len(), 1);
        let a = &audit[0];
        assert_eq!((a.campaign.as_str(), a.group.as_str()), ("C0001", "G0003"));
        assert_eq!(
            (
                a.campaign_targets,
                a.group_own_targets,
                a.duplicated_targets
            ),
            (3, 3, 0)
        );
        assert_eq!(
            (
                a.group_rels_sharing_citation,
                a.group_rels_only_campaign_citations
            ),
            (2, 1)
        );
    }
}
