//! Per-candidate features of the token channels (techniques, software), computed from one
//! fold's group profiles.
//!
//! # Why these features
//!
//! Every feature is a different answer to "how well does this group explain the evidence?",
//! and each baseline of the benchmark is good at a different part of it:
//!
//! * **idf-weighted cosines** (the TF-IDF baseline's signal). For techniques it is split in two
//!   non-overlapping parts: *exact* matches (explicit ids on both sides: sub-techniques, and
//!   techniques observed or profiled without any of their sub-techniques) and *back-off*
//!   matches, where only the parent of an observed sub-technique matches (T1059.001 observed,
//!   the group known for T1059.003). Cosines divide by the profile norm, so big,
//!   well-documented groups lose;
//! * **idf-weighted coverage** (the share of the evidence's idf mass the profile explains) does
//!   not divide by the profile and so favours them;
//! * **Dirichlet-smoothed log-likelihood ratios** against the background (the multinomial naive
//!   Bayes baseline, as a ratio so it is 0 for an uninformative group), summed — they accumulate
//!   with the amount of evidence, where similarities stay in [0, 1] — and averaged per token.
//!   The smoothing mass is a multiple of the mean profile length, so the ratios mean the same in
//!   a 12-set starter pack and in ATT&CK's 172 sets;
//! * **hits by specificity band**: the share of the evidence's techniques the group matches
//!   among those 1–2, 3–8, 9–25 and 26+ groups use, a learned specificity curve instead of idf's
//!   fixed one;
//! * **software uniqueness** Σ 1/df over matched software: a family only one group is known to
//!   use is near-decisive, one that thirty groups use (Cobalt Strike) is not;
//! * **co-occurrence support**: evidence techniques the profile does not list but that the
//!   group's most similar groups use (the profile smoothed through the group × technique
//!   matrix); reports are incomplete, so an unlisted technique is weaker counter-evidence when
//!   it is typical of the group's neighbourhood;
//! * **profile size** (log) and **hubness** (mean similarity to the group's nearest groups,
//!   CSLS-style): big central groups match everything a little, and a linear model needs to see
//!   that to correct for it.
//!
//! Evidence tokens that no profile of the fold contains are left out of every feature: they
//! cannot tell known groups apart (whatever a group's size), and are counted for the unknown
//! outcome instead.
//!
//! A linear model over these ([`super::model`]) is fitted on the development split
//! ([`super::train`]), so the balance between them is learned rather than declared.
//! [`FoldIndex::group_features`] recomputes one group's features for a modified query or
//! profile; explanations are built from those exact leave-one-out differences.

use serde::{Deserialize, Serialize};

use crate::eval::{Profiles, Query};
use crate::kb::TokenKind;

/// An evidence channel that the token features see.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenChannel {
    /// ATT&CK techniques and sub-techniques.
    Technique,
    /// Malware and tools.
    Software,
}

/// Names of the features, in vector order.
pub const FEATURE_NAMES: [&str; NF] = [
    "tech_cosine_backoff",
    "tech_coverage",
    "tech_llr",
    "tech_cooc",
    "sw_cosine",
    "sw_coverage",
    "sw_llr",
    "sw_unique",
    "log_size",
    "hubness",
    "tech_llr_mean",
    "sw_llr_mean",
    "tech_cosine_exact",
    "tech_hits_df1_2",
    "tech_hits_df3_8",
    "tech_hits_df9_25",
    "tech_hits_df26_up",
];

/// Number of features.
pub const NF: usize = 17;

/// Indices into the feature vector.
pub(crate) mod fi {
    pub const TECH_COS: usize = 0;
    pub const TECH_COV: usize = 1;
    pub const TECH_LLR: usize = 2;
    pub const TECH_COOC: usize = 3;
    pub const SW_COS: usize = 4;
    pub const SW_COV: usize = 5;
    pub const SW_LLR: usize = 6;
    pub const SW_UNIQUE: usize = 7;
    pub const LOG_SIZE: usize = 8;
    pub const HUB: usize = 9;
    pub const TECH_LLR_MEAN: usize = 10;
    pub const SW_LLR_MEAN: usize = 11;
    pub const TECH_COS_EXACT: usize = 12;
    pub const TECH_HITS_DF: usize = 13;
}

/// Hyper-parameters of the feature extraction (not learned by the ranker).
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureParams {
    /// Dirichlet smoothing mass of the log-likelihood ratios, as a multiple of the channel's
    /// mean profile length (so that the ratios mean the same in a 12-group starter pack and in
    /// ATT&CK's 172 groups).
    pub mu: f64,
    /// Neighbours whose mean similarity is a group's hubness.
    pub hub_k: usize,
    /// Neighbour groups whose profiles smooth a group's technique profile.
    pub cooc_k: usize,
}

impl Default for FeatureParams {
    fn default() -> Self {
        Self {
            mu: 2.0,
            hub_k: 10,
            cooc_k: 10,
        }
    }
}

/// Statistics of one fold's candidate profiles that the features need. Built once per fold
/// (O(profile entries + groups²) — well under a millisecond for ATT&CK's 172 groups).
#[derive(Clone, Debug, Default)]
pub struct FoldIndex {
    pub(crate) params: FeatureParams,
    pub(crate) n_groups: usize,
    /// Per token: software (true) or technique.
    pub(crate) is_sw: Vec<bool>,
    pub(crate) df: Vec<u32>,
    /// Per token: its document frequency in the [`Background`] (0 without one). Specificity
    /// (idf, background probability, uniqueness, df bands) uses the larger of this and `df`.
    pub(crate) ref_df: Vec<u32>,
    pub(crate) idf: Vec<f64>,
    /// Per token: Dirichlet background probability within its channel.
    pub(crate) bg: Vec<f64>,
    /// token → groups.
    pub(crate) col_start: Vec<u32>,
    pub(crate) col_groups: Vec<u32>,
    /// group → tokens.
    pub(crate) row_start: Vec<u32>,
    pub(crate) row_tokens: Vec<u32>,
    /// Per channel per group: Σ idf², entry count.
    pub(crate) norm2: [Vec<f64>; 2],
    pub(crate) len: [Vec<f64>; 2],
    pub(crate) log_size: Vec<f64>,
    /// Dirichlet mass per channel: `params.mu` × the channel's mean profile length.
    pub(crate) mu: [f64; 2],
    pub(crate) hub: Vec<f64>,
    /// Per group: its `cooc_k` nearest groups by technique cosine and their similarity weights
    /// (normalised to sum to 1).
    pub(crate) neighbours: Vec<Vec<(u32, f64)>>,
    /// Per token: the parent technique's token of a sub-technique, `NONE` otherwise.
    pub(crate) parent_of: Vec<u32>,
    /// token → groups where it is *explicit* (not just implied by one of its sub-techniques).
    pub(crate) xcol_start: Vec<u32>,
    pub(crate) xcol_groups: Vec<u32>,
    /// Per group: Σ idf² over its explicit technique tokens.
    pub(crate) norm2_exact: Vec<f64>,
}

/// No parent.
const NONE: u32 = u32::MAX;

/// The df bucket of a technique token (1–2, 3–8, 9–25, 26+ groups).
fn df_bucket(df: usize) -> usize {
    match df {
        0..=2 => 0,
        3..=8 => 1,
        9..=25 => 2,
        _ => 3,
    }
}

/// Tokens of `row` (sorted) that are explicit: sub-techniques, software, and techniques none of
/// whose sub-techniques is in the row.
fn explicit<'a>(row: &'a [u32], parent_of: &'a [u32]) -> impl Iterator<Item = u32> + 'a {
    let implied: Vec<u32> = {
        let mut v: Vec<u32> = row
            .iter()
            .map(|&t| parent_of[t as usize])
            .filter(|&p| p != NONE)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    row.iter()
        .copied()
        .filter(move |t| implied.binary_search(t).is_err())
}

/// Accumulators of one query against every group (reused across queries).
#[derive(Clone, Debug, Default)]
pub struct Scratch {
    hit_idf2: [Vec<f64>; 2],
    hit_idf: [Vec<f64>; 2],
    llr: [Vec<f64>; 2],
    uniq: Vec<f64>,
    hit_x: Vec<f64>,
    buckets: Vec<f64>,
}

/// Query-level quantities (the same for every group).
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct QueryStats {
    /// Technique tokens.
    pub n_tech: usize,
    /// Software tokens.
    pub n_sw: usize,
    /// Σ idf over technique tokens.
    pub tech_idf: f64,
    /// Σ idf over software tokens.
    pub sw_idf: f64,
    /// √Σ idf² per channel.
    pub qnorm: [f64; 2],
    /// Evidence tokens no profile of the fold has (left out of every feature: they cannot tell
    /// known groups apart, whatever their size; they count towards the unknown outcome).
    pub n_unseen: usize,
}

fn ch(is_sw: bool) -> usize {
    usize::from(is_sw)
}

/// How many intrusion sets of a larger knowledge base use each token (ATT&CK id), so that a
/// small curated knowledge base — the 12-set starter pack — judges how *specific* a technique or
/// a piece of software is the way the world does, not the way 12 hand-picked sets do. Which
/// sets use what still comes from the knowledge base itself; only idf, the background
/// probabilities, software uniqueness and the df bands change. Built by
/// `cargo run -p tiaki-intel --example background -- enterprise-attack.json` and embedded as
/// [`crate::pack::ATTACK_BACKGROUND`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Background {
    /// Where the counts come from (e.g. `MITRE ATT&CK Enterprise v18.1`).
    pub source: String,
    /// Active intrusion sets counted.
    pub groups: usize,
    /// Σ (df + 1) over the technique tokens and over the software tokens of the whole
    /// vocabulary (the Dirichlet background's normaliser per channel).
    pub channel_mass: [f64; 2],
    /// Token (`T1059`, `T1059.001`, `S0228`) → number of sets whose profile holds it.
    pub df: std::collections::BTreeMap<String, u32>,
}

impl Background {
    /// The counts of every active intrusion set of `kb`, profiled as the attribution model
    /// profiles them (own `uses` plus attributed campaigns; sub-techniques rolled up).
    pub fn of_knowledge_base(kb: &crate::KnowledgeBase, source: &str) -> Background {
        let vocab = std::sync::Arc::new(crate::kb::Vocab::new(kb, crate::kb::TokenMode::Both));
        let rows: Vec<Vec<u32>> = kb
            .groups()
            .iter()
            .map(|&g| vocab.tokens_of(kb.group_profile(g)))
            .collect();
        Background::of(&Profiles::new(vocab, &rows), source)
    }

    /// The counts of a knowledge base's own profiles.
    pub fn of(p: &Profiles, source: &str) -> Background {
        let kinds = p.vocab().kinds();
        let mut mass = [0.0f64; 2];
        let mut df = std::collections::BTreeMap::new();
        for t in 0..p.n_tokens() as u32 {
            let d = p.groups_with(t).len() as u32;
            mass[ch(kinds[t as usize] == TokenKind::Software)] += f64::from(d) + 1.0;
            if d > 0 {
                df.insert(p.vocab().token(t).to_owned(), d);
            }
        }
        Background {
            source: source.to_owned(),
            groups: p.n_groups(),
            channel_mass: mass,
            df,
        }
    }
}

impl FoldIndex {
    /// The document frequency that measures a token's specificity: the knowledge base's own
    /// (`kb_df`, possibly adjusted by the caller) or the background's, whichever is larger.
    fn spec_df(&self, t: u32, kb_df: usize) -> usize {
        kb_df.max(self.ref_df.get(t as usize).copied().unwrap_or(0) as usize)
    }

    /// Indexes one fold's profiles.
    pub fn new(p: &Profiles, params: FeatureParams) -> Self {
        Self::with_background(p, params, None)
    }

    /// Indexes profiles whose specificity statistics come from a larger knowledge base when
    /// `background` covers more groups than `p` (see [`Background`]).
    pub fn with_background(
        p: &Profiles,
        params: FeatureParams,
        background: Option<&Background>,
    ) -> Self {
        let n = p.n_groups();
        let v = p.n_tokens();
        let background = background.filter(|b| b.groups > n);
        let nf = background.map_or(n, |b| b.groups) as f64;
        let kinds = p.vocab().kinds();
        let is_sw: Vec<bool> = kinds.iter().map(|k| *k == TokenKind::Software).collect();
        let mut col_start = Vec::with_capacity(v + 1);
        let mut col_groups = Vec::new();
        col_start.push(0u32);
        let mut df = Vec::with_capacity(v);
        for t in 0..v as u32 {
            let gs = p.groups_with(t);
            col_groups.extend_from_slice(gs);
            col_start.push(col_groups.len() as u32);
            df.push(gs.len() as u32);
        }
        let mut row_start = Vec::with_capacity(n + 1);
        let mut row_tokens = Vec::new();
        row_start.push(0u32);
        for g in 0..n {
            row_tokens.extend_from_slice(p.row(g));
            row_start.push(row_tokens.len() as u32);
        }
        let ref_df: Vec<u32> = match background {
            Some(b) => (0..v as u32)
                .map(|t| b.df.get(p.vocab().token(t)).copied().unwrap_or(0))
                .collect(),
            None => vec![0; v],
        };
        let spec: Vec<u32> = df.iter().zip(&ref_df).map(|(&a, &b)| a.max(b)).collect();
        let idf: Vec<f64> = spec
            .iter()
            .map(|&d| ((nf + 1.0) / (d as f64 + 1.0)).ln() + 1.0)
            .collect();
        // Background per channel: (df + 1) / Σ_channel (df + 1), over the larger knowledge
        // base's vocabulary when there is one.
        let mut tot = [0.0f64; 2];
        for t in 0..v {
            tot[ch(is_sw[t])] += spec[t] as f64 + 1.0;
        }
        if let Some(b) = background {
            for (t, m) in tot.iter_mut().zip(b.channel_mass) {
                *t = t.max(m);
            }
        }
        let bg: Vec<f64> = (0..v)
            .map(|t| (spec[t] as f64 + 1.0) / tot[ch(is_sw[t])])
            .collect();
        let mut norm2: [Vec<f64>; 2] = [vec![0.0; n], vec![0.0; n]];
        let mut len: [Vec<f64>; 2] = [vec![0.0; n], vec![0.0; n]];
        for g in 0..n {
            for &t in &row_tokens[row_start[g] as usize..row_start[g + 1] as usize] {
                let c = ch(is_sw[t as usize]);
                norm2[c][g] += idf[t as usize] * idf[t as usize];
                len[c][g] += 1.0;
            }
        }
        let log_size = (0..n).map(|g| (len[0][g] + len[1][g]).ln_1p()).collect();
        let mean_len = |c: usize| len[c].iter().sum::<f64>() / n.max(1) as f64;
        let mu = [
            (params.mu * mean_len(0)).max(1.0),
            (params.mu * mean_len(1)).max(1.0),
        ];
        let vocab = p.vocab();
        let parent_of: Vec<u32> = (0..v as u32)
            .map(|t| {
                let text = vocab.token(t);
                match text.split_once('.') {
                    Some((parent, _)) if !is_sw[t as usize] => vocab.id(parent).unwrap_or(NONE),
                    _ => NONE,
                }
            })
            .collect();
        let mut xcount = vec![0u32; v + 1];
        let mut xrows: Vec<Vec<u32>> = Vec::with_capacity(n);
        let mut norm2_exact = vec![0.0; n];
        for g in 0..n {
            let r = &row_tokens[row_start[g] as usize..row_start[g + 1] as usize];
            let x: Vec<u32> = explicit(r, &parent_of)
                .filter(|&t| !is_sw[t as usize])
                .collect();
            for &t in &x {
                xcount[t as usize + 1] += 1;
                norm2_exact[g] += idf[t as usize] * idf[t as usize];
            }
            xrows.push(x);
        }
        for i in 1..=v {
            xcount[i] += xcount[i - 1];
        }
        let xcol_start = xcount.clone();
        let mut xcol_groups = vec![0u32; *xcount.last().unwrap_or(&0) as usize];
        for (g, x) in xrows.iter().enumerate() {
            for &t in x {
                let slot = &mut xcount[t as usize];
                xcol_groups[*slot as usize] = g as u32;
                *slot += 1;
            }
        }
        let mut me = Self {
            params,
            n_groups: n,
            is_sw,
            df,
            ref_df,
            idf,
            bg,
            col_start,
            col_groups,
            row_start,
            row_tokens,
            norm2,
            len,
            log_size,
            mu,
            hub: vec![0.0; n],
            neighbours: vec![Vec::new(); n],
            parent_of,
            xcol_start,
            xcol_groups,
            norm2_exact,
        };
        me.group_similarities();
        me
    }

    /// Number of candidate groups.
    pub fn n_groups(&self) -> usize {
        self.n_groups
    }

    pub(crate) fn row(&self, g: usize) -> &[u32] {
        &self.row_tokens[self.row_start[g] as usize..self.row_start[g + 1] as usize]
    }

    pub(crate) fn groups_with(&self, t: u32) -> &[u32] {
        &self.col_groups
            [self.col_start[t as usize] as usize..self.col_start[t as usize + 1] as usize]
    }

    /// Technique-channel tf-idf cosine between every pair of groups: hubness (mean of the
    /// `hub_k` largest) and the smoothing neighbours.
    fn group_similarities(&mut self) {
        let n = self.n_groups;
        let mut sim = vec![0.0f64; n];
        let k_hub = self.params.hub_k.min(n.saturating_sub(1)).max(1);
        let k_nb = self.params.cooc_k.min(n.saturating_sub(1));
        let mut order: Vec<u32> = Vec::with_capacity(n);
        for g in 0..n {
            sim.fill(0.0);
            for &t in self.row(g) {
                if self.is_sw[t as usize] {
                    continue;
                }
                let w = self.idf[t as usize] * self.idf[t as usize];
                for &h in self.groups_with(t) {
                    sim[h as usize] += w;
                }
            }
            let ng = self.norm2[0][g].sqrt();
            for (h, s) in sim.iter_mut().enumerate() {
                let d = ng * self.norm2[0][h].sqrt();
                *s = if d > 0.0 && h != g { *s / d } else { 0.0 };
            }
            order.clear();
            order.extend((0..n as u32).filter(|&h| h as usize != g));
            if order.is_empty() {
                continue;
            }
            let k = k_hub.max(k_nb).min(order.len());
            order.select_nth_unstable_by(k - 1, |&a, &b| {
                sim[b as usize].total_cmp(&sim[a as usize])
            });
            order[..k].sort_unstable_by(|&a, &b| sim[b as usize].total_cmp(&sim[a as usize]));
            self.hub[g] = order[..k_hub.min(k)]
                .iter()
                .map(|&h| sim[h as usize])
                .sum::<f64>()
                / k_hub as f64;
            let nb: Vec<(u32, f64)> = order[..k_nb.min(k)]
                .iter()
                .map(|&h| (h, sim[h as usize]))
                .filter(|&(_, s)| s > 0.0)
                .collect();
            let z: f64 = nb.iter().map(|x| x.1).sum();
            self.neighbours[g] = if z > 0.0 {
                nb.into_iter().map(|(h, s)| (h, s / z)).collect()
            } else {
                Vec::new()
            };
        }
    }

    /// Query-level statistics.
    pub fn query_stats(&self, q: &[u32]) -> QueryStats {
        let mut s = QueryStats::default();
        let mut q2 = [0.0; 2];
        for &t in q {
            let i = self.idf[t as usize];
            if self.is_sw[t as usize] {
                s.n_sw += 1;
                s.sw_idf += i;
                q2[1] += i * i;
            } else {
                s.n_tech += 1;
                s.tech_idf += i;
                q2[0] += i * i;
            }
        }
        s.qnorm = [q2[0].sqrt(), q2[1].sqrt()];
        s
    }

    /// Features of every group for one query, written row-major into `out`
    /// (`out.len() == n_groups * NF`).
    pub fn features(&self, q: &Query, scratch: &mut Scratch, out: &mut [f64]) -> QueryStats {
        let n = self.n_groups;
        assert_eq!(out.len(), n * NF, "feature buffer length");
        let seen: Vec<u32> = q
            .tokens()
            .iter()
            .copied()
            .filter(|&t| self.df[t as usize] > 0)
            .collect();
        let mut qs = self.query_stats(&seen);
        qs.n_unseen = q.len() - seen.len();
        for c in 0..2 {
            for v in [
                &mut scratch.hit_idf2[c],
                &mut scratch.hit_idf[c],
                &mut scratch.llr[c],
            ] {
                v.clear();
                v.resize(n, 0.0);
            }
        }
        scratch.uniq.clear();
        scratch.uniq.resize(n, 0.0);
        let mu = self.mu;
        // LLR: every group first gets the "miss" value of every token, then hits correct it.
        // miss(t, g) = ln(μ·bg / ((n_gc + μ)·bg)) = ln μ − ln(n_gc + μ): the per-token miss only
        // depends on the group's channel size; hit − miss = ln(1 + 1/(μ·bg_t)).
        scratch.hit_x.clear();
        scratch.hit_x.resize(n, 0.0);
        scratch.buckets.clear();
        scratch.buckets.resize(n * 4, 0.0);
        let mut qx2 = 0.0;
        for t in explicit(&seen, &self.parent_of) {
            if self.is_sw[t as usize] {
                continue;
            }
            let w = self.idf[t as usize] * self.idf[t as usize];
            qx2 += w;
            let (a, b) = (
                self.xcol_start[t as usize] as usize,
                self.xcol_start[t as usize + 1] as usize,
            );
            for &g in &self.xcol_groups[a..b] {
                scratch.hit_x[g as usize] += w;
            }
        }
        let mut n_tok = [0.0f64; 2];
        for &t in &seen {
            let c = ch(self.is_sw[t as usize]);
            if c == 0 {
                let b = df_bucket(self.spec_df(t, self.groups_with(t).len()));
                for &g in self.groups_with(t) {
                    scratch.buckets[g as usize * 4 + b] += 1.0;
                }
            }
            n_tok[c] += 1.0;
            let i = self.idf[t as usize];
            let gain = (1.0 / (mu[c] * self.bg[t as usize])).ln_1p();
            let gs = self.groups_with(t);
            for &g in gs {
                let g = g as usize;
                scratch.hit_idf2[c][g] += i * i;
                scratch.hit_idf[c][g] += i;
                scratch.llr[c][g] += gain;
                if c == 1 {
                    scratch.uniq[g] += 1.0 / self.spec_df(t, gs.len()) as f64;
                }
            }
        }
        for g in 0..n {
            let f = &mut out[g * NF..(g + 1) * NF];
            let miss = |c: usize| n_tok[c] * (mu[c].ln() - (self.len[c][g] + mu[c]).ln());
            let cos = |c: usize| {
                let d = self.norm2[c][g].sqrt() * qs.qnorm[c];
                if d > 0.0 {
                    scratch.hit_idf2[c][g] / d
                } else {
                    0.0
                }
            };
            // The part of the all-token cosine that exact matches do not account for: matches
            // through a parent token (sub-technique → technique back-off).
            let d0 = self.norm2[0][g].sqrt() * qs.qnorm[0];
            f[fi::TECH_COS] = if d0 > 0.0 {
                ((scratch.hit_idf2[0][g] - scratch.hit_x[g]) / d0).max(0.0)
            } else {
                0.0
            };
            f[fi::TECH_COV] = if qs.tech_idf > 0.0 {
                scratch.hit_idf[0][g] / qs.tech_idf
            } else {
                0.0
            };
            f[fi::TECH_LLR] = scratch.llr[0][g] + miss(0);
            f[fi::SW_COS] = cos(1);
            f[fi::SW_COV] = if qs.sw_idf > 0.0 {
                scratch.hit_idf[1][g] / qs.sw_idf
            } else {
                0.0
            };
            f[fi::SW_LLR] = scratch.llr[1][g] + miss(1);
            f[fi::SW_UNIQUE] = scratch.uniq[g];
            f[fi::LOG_SIZE] = self.log_size[g];
            f[fi::HUB] = self.hub[g];
            f[fi::TECH_LLR_MEAN] = if n_tok[0] > 0.0 {
                f[fi::TECH_LLR] / n_tok[0]
            } else {
                0.0
            };
            f[fi::SW_LLR_MEAN] = if n_tok[1] > 0.0 {
                f[fi::SW_LLR] / n_tok[1]
            } else {
                0.0
            };
            let dx = self.norm2_exact[g].sqrt() * qx2.sqrt();
            f[fi::TECH_COS_EXACT] = if dx > 0.0 { scratch.hit_x[g] / dx } else { 0.0 };
            for b in 0..4 {
                f[fi::TECH_HITS_DF + b] = if n_tok[0] > 0.0 {
                    scratch.buckets[g * 4 + b] / n_tok[0]
                } else {
                    0.0
                };
            }
        }
        // Co-occurrence support: the share of the evidence's technique idf mass that is *not*
        // in g's profile but is in the profiles of g's nearest groups, weighted by similarity.
        if qs.tech_idf > 0.0 {
            for g in 0..n {
                let nb = &self.neighbours[g];
                if nb.is_empty() {
                    continue;
                }
                let mut s = 0.0;
                for &t in &seen {
                    if self.is_sw[t as usize] {
                        continue;
                    }
                    let gs = self.groups_with(t);
                    if gs.binary_search(&(g as u32)).is_ok() {
                        continue;
                    }
                    let mut support = 0.0;
                    for &(h, w) in nb {
                        if gs.binary_search(&h).is_ok() {
                            support += w;
                        }
                    }
                    s += support * self.idf[t as usize];
                }
                out[g * NF + fi::TECH_COOC] = s / qs.tech_idf;
            }
        }
        qs
    }

    /// Features of one group whose profile is `row` (sorted tokens) instead of its own — the
    /// same numbers [`FoldIndex::features`] gives for `row == self.row(g)`. The fold's
    /// statistics (idf, background, neighbours, hubness) stay those of the fold; explanations
    /// use this to ask "what if the profile lacked this item?" and "what if the evidence lacked
    /// this item?".
    pub fn group_features(&self, q: &[u32], g: usize, row: &[u32]) -> [f64; NF] {
        let mu = self.mu;
        let q: Vec<u32> = q
            .iter()
            .copied()
            .filter(|&t| self.df[t as usize] > 0 || row.binary_search(&t).is_ok())
            .collect();
        let q = q.as_slice();
        let mut f = [0.0; NF];
        let mut norm2 = [0.0f64; 2];
        let mut len = [0.0f64; 2];
        for &t in row {
            let c = ch(self.is_sw[t as usize]);
            norm2[c] += self.idf[t as usize] * self.idf[t as usize];
            len[c] += 1.0;
        }
        let mut q2 = [0.0f64; 2];
        let mut qidf = [0.0f64; 2];
        let mut n_tok = [0.0f64; 2];
        let mut hit2 = [0.0f64; 2];
        let mut hit1 = [0.0f64; 2];
        let mut llr = [0.0f64; 2];
        let mut uniq = 0.0;
        let mut cooc = 0.0;
        let mut buckets = [0.0f64; 4];
        let own_row = self.row(g);
        for &t in q {
            if !self.is_sw[t as usize] && row.binary_search(&t).is_ok() {
                // df as the fold counts it, with g's membership taken from `row`.
                let gs = self.groups_with(t);
                let own = own_row.binary_search(&t).is_ok();
                buckets[df_bucket(self.spec_df(t, gs.len() + usize::from(!own)))] += 1.0;
            }
        }
        let (mut hx, mut qx2, mut px2) = (0.0, 0.0, 0.0);
        let rx: Vec<u32> = explicit(row, &self.parent_of)
            .filter(|&t| !self.is_sw[t as usize])
            .collect();
        for &t in &rx {
            px2 += self.idf[t as usize] * self.idf[t as usize];
        }
        for t in explicit(q, &self.parent_of) {
            if self.is_sw[t as usize] {
                continue;
            }
            let w = self.idf[t as usize] * self.idf[t as usize];
            qx2 += w;
            if rx.binary_search(&t).is_ok() {
                hx += w;
            }
        }
        for &t in q {
            let tu = t as usize;
            let c = ch(self.is_sw[tu]);
            let i = self.idf[tu];
            q2[c] += i * i;
            qidf[c] += i;
            n_tok[c] += 1.0;
            let gs = self.groups_with(t);
            if row.binary_search(&t).is_ok() {
                hit2[c] += i * i;
                hit1[c] += i;
                llr[c] += (1.0 / (mu[c] * self.bg[tu])).ln_1p();
                if c == 1 {
                    // df as the fold counts it, with g's membership taken from `row`.
                    let own = gs.binary_search(&(g as u32)).is_ok();
                    let df = self.spec_df(t, gs.len() + usize::from(!own));
                    uniq += 1.0 / df as f64;
                }
            } else if c == 0 {
                let support: f64 = self.neighbours[g]
                    .iter()
                    .filter(|(h, _)| gs.binary_search(h).is_ok())
                    .map(|x| x.1)
                    .sum();
                cooc += support * i;
            }
        }
        let cos = |c: usize| {
            let d = norm2[c].sqrt() * q2[c].sqrt();
            if d > 0.0 { hit2[c] / d } else { 0.0 }
        };
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        let miss = |c: usize| n_tok[c] * (mu[c].ln() - (len[c] + mu[c]).ln());
        let d0 = norm2[0].sqrt() * q2[0].sqrt();
        f[fi::TECH_COS] = if d0 > 0.0 {
            ((hit2[0] - hx) / d0).max(0.0)
        } else {
            0.0
        };
        f[fi::TECH_COV] = ratio(hit1[0], qidf[0]);
        f[fi::TECH_LLR] = llr[0] + miss(0);
        f[fi::TECH_COOC] = ratio(cooc, qidf[0]);
        f[fi::SW_COS] = cos(1);
        f[fi::SW_COV] = ratio(hit1[1], qidf[1]);
        f[fi::SW_LLR] = llr[1] + miss(1);
        f[fi::SW_UNIQUE] = uniq;
        f[fi::LOG_SIZE] = (len[0] + len[1]).ln_1p();
        f[fi::HUB] = self.hub[g];
        f[fi::TECH_LLR_MEAN] = ratio(f[fi::TECH_LLR], n_tok[0]);
        f[fi::SW_LLR_MEAN] = ratio(f[fi::SW_LLR], n_tok[1]);
        let dx = px2.sqrt() * qx2.sqrt();
        f[fi::TECH_COS_EXACT] = if dx > 0.0 { hx / dx } else { 0.0 };
        for (b, v) in buckets.iter().enumerate() {
            f[fi::TECH_HITS_DF + b] = ratio(*v, n_tok[0]);
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kb::{KbBuilder, TokenMode, Vocab};
    use serde_json::json;
    use std::sync::Arc;

    fn vocab() -> Arc<Vocab> {
        let mut b = KbBuilder::new();
        for i in 0..6 {
            b.add_object(&json!({"type": "attack-pattern", "id": format!("attack-pattern--{i}"),
                "name": format!("t{i}"),
                "external_references": [{"source_name": "mitre-attack", "external_id": format!("T{:04}", 1000 + i)}]}))
                .unwrap();
        }
        for i in 0..3 {
            b.add_object(&json!({"type": "malware", "id": format!("malware--{i}"), "name": format!("m{i}"),
                "external_references": [{"source_name": "mitre-attack", "external_id": format!("S{i:04}")}]}))
                .unwrap();
        }
        Arc::new(Vocab::new(&b.finish(), TokenMode::Both))
    }

    #[test]
    fn single_group_features_equal_the_batch() {
        // Tokens 0..3 are software (S…), 3..9 techniques (T…).
        let v = vocab();
        let rows = vec![
            vec![0, 3, 4, 5],
            vec![1, 4, 6, 7],
            vec![3, 4],
            vec![2, 5, 6, 7, 8],
        ];
        let p = Profiles::new(v, &rows);
        let idx = FoldIndex::new(&p, FeatureParams::default());
        let q = Query::new(vec![0, 1, 4, 5, 8]);
        let mut out = vec![0.0; 4 * NF];
        idx.features(&q, &mut Scratch::default(), &mut out);
        for g in 0..4 {
            let one = idx.group_features(q.tokens(), g, &rows[g]);
            for k in 0..NF {
                assert!(
                    (one[k] - out[g * NF + k]).abs() < 1e-12,
                    "g{g} {}",
                    FEATURE_NAMES[k]
                );
            }
        }
        // A unique piece of software scores 1, a shared one 1/df.
        assert_eq!(out[fi::SW_UNIQUE], 1.0);
        assert!(out[NF + fi::SW_UNIQUE] == 1.0);
        // Removing an evidence item from the profile lowers the candidate's coverage.
        let without = idx.group_features(q.tokens(), 0, &[0, 3, 4]);
        assert!(without[fi::TECH_COV] < out[fi::TECH_COV]);
    }
}

#[cfg(test)]
mod background_tests {
    use super::*;
    use crate::kb::Vocab;
    use std::sync::Arc;

    /// A background larger than the knowledge base sets idf from its size and the larger of
    /// the two document frequencies, and leaves the profiles alone.
    #[test]
    fn a_background_changes_specificity_only() {
        let kb = crate::pack::LoadedKb::pack_only().unwrap().kb;
        let vocab = Arc::new(Vocab::new(&kb, crate::kb::TokenMode::Both));
        let rows: Vec<Vec<u32>> = kb
            .groups()
            .iter()
            .map(|&g| vocab.tokens_of(kb.group_profile(g)))
            .collect();
        let p = Profiles::new(vocab.clone(), &rows);
        let bg = crate::pack::attack_background();
        let own = FoldIndex::new(&p, FeatureParams::default());
        let world = FoldIndex::with_background(&p, FeatureParams::default(), Some(&bg));
        for id in ["S0002", "S0228", "T1059"] {
            let t = vocab.id(id).expect("a token the pack knows") as usize;
            let df = own.df[t].max(bg.df[id]) as f64;
            let want = ((bg.groups as f64 + 1.0) / (df + 1.0)).ln() + 1.0;
            assert!((world.idf[t] - want).abs() < 1e-12, "{id}");
            assert!(world.bg[t] > 0.0 && world.bg[t] < 1.0);
        }
        // NanHaiShu: unique in both, so more specific among 172 sets than among 12.
        let t = vocab.id("S0228").unwrap() as usize;
        assert!(world.idf[t] > own.idf[t]);
        assert_eq!(world.df, own.df);
        assert_eq!(world.row_tokens, own.row_tokens);
        // A background no larger than the knowledge base is ignored.
        let small = Background {
            groups: 3,
            ..bg.clone()
        };
        let same = FoldIndex::with_background(&p, FeatureParams::default(), Some(&small));
        assert_eq!(same.idf, own.idf);
    }
}
