//! # Technique inference: what to hunt for next
//!
//! From the techniques observed in an intrusion, rank the techniques most likely present but
//! not yet seen — the idea of MITRE CTID's Technique Inference Engine (TIE), which reports
//! recall@20 = 0.42 for its WALS model against 0.19 for popularity on its own corpus of 6,236
//! CTI reports.
//!
//! The training matrix here is ATT&CK itself: one row per intrusion set (its own `uses`) and
//! per campaign, one column per technique or sub-technique (exact ids, as ATT&CK records them).
//! Three recommenders are implemented and measured the TIE way ([`evaluate_recall`]: hold out
//! 20% of every row's techniques, train on everything else, rank the unseen techniques of each
//! row, recall@20 over the held-out ones):
//!
//! * **popularity** — how many rows use the technique (TIE's "top items" baseline);
//! * **item-item co-occurrence** ([`Method::ItemKnn`]) — cosine similarity between technique
//!   columns with a shrinkage term that distrusts similarities resting on few rows, summed over
//!   the observed techniques, plus a small popularity prior; explainable ("because you saw
//!   T1505.003 and T1190");
//! * **implicit-feedback matrix factorisation** ([`Method::Wals`]) — weighted alternating least
//!   squares (Hu, Koren & Volinsky 2008, TIE's best model), folding the observed techniques in
//!   as a new row.
//!
//! Hyper-parameters are chosen on a development split with its own seed ([`tune`]); the test
//! split's seed is different. Inferred techniques are **suggestions only**: nothing here feeds
//! attribution, which must only ever see what was observed.

use std::collections::{BTreeSet, HashMap};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::attribution::evidence::{AttackTag, classify_tag};
use crate::kb::{KnowledgeBase, ObjId};

/// Which recommender.
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "method")]
pub enum Method {
    /// Rank by the number of rows using the technique.
    Popularity,
    /// Item-item cosine co-occurrence with shrinkage, plus `pop` × normalised popularity.
    ItemKnn {
        /// Shrinkage added to the cosine denominator.
        shrink: f64,
        /// Weight of the popularity prior.
        pop: f64,
    },
    /// Implicit-feedback weighted ALS.
    Wals {
        /// Latent factors.
        factors: usize,
        /// Ridge strength.
        lambda: f64,
        /// Confidence of an observed entry (1 + alpha).
        alpha: f64,
        /// ALS sweeps.
        iterations: usize,
    },
}

impl Method {
    /// Short name for reports.
    pub fn name(&self) -> &'static str {
        match self {
            Method::Popularity => "popularity",
            Method::ItemKnn { .. } => "item-knn",
            Method::Wals { .. } => "wals",
        }
    }
}

/// The best WALS configuration on the development split (recall@20 0.474 there; see [`tune`]).
pub const DEFAULT_WALS: Method = Method::Wals {
    factors: 32,
    lambda: 10.0,
    alpha: 0.5,
    iterations: 15,
};

/// The best item-item configuration on the development split (recall@20 0.442 there).
pub const DEFAULT_ITEM_KNN: Method = Method::ItemKnn {
    shrink: 0.0,
    pop: 0.0,
};

/// The default method: the best on the development split, WALS.
pub const DEFAULT_METHOD: Method = DEFAULT_WALS;

/// A binary rows × techniques matrix.
#[derive(Clone, Debug, Default)]
pub struct Matrix {
    /// Technique objects, column order.
    pub items: Vec<ObjId>,
    /// Sorted column indices per row.
    pub rows: Vec<Vec<u32>>,
    /// Row labels (G-/C-ids).
    pub labels: Vec<String>,
}

impl Matrix {
    /// Rows: every active intrusion set (own `uses`) and every active campaign; columns: the
    /// active techniques and sub-techniques. Rows without techniques are dropped.
    pub fn from_kb(kb: &KnowledgeBase) -> Self {
        let items: Vec<ObjId> = kb.techniques().to_vec();
        let col: HashMap<ObjId, u32> = items
            .iter()
            .enumerate()
            .map(|(i, &t)| (t, i as u32))
            .collect();
        let mut rows = Vec::new();
        let mut labels = Vec::new();
        for &src in kb.groups().iter().chain(kb.campaigns()) {
            let r: BTreeSet<u32> = kb
                .uses(src)
                .filter_map(|(t, _)| col.get(&t).copied())
                .collect();
            if !r.is_empty() {
                rows.push(r.into_iter().collect());
                labels.push(kb.label(src).to_owned());
            }
        }
        Self {
            items,
            rows,
            labels,
        }
    }

    /// Number of columns.
    pub fn n_items(&self) -> usize {
        self.items.len()
    }
}

/// A fitted recommender.
#[derive(Clone, Debug)]
pub struct Recommender {
    method: Method,
    n_items: usize,
    popularity: Vec<f64>,
    /// Item-item similarities, sparse per item: (other, sim).
    sims: Vec<Vec<(u32, f64)>>,
    /// WALS item factors, row-major n_items × k.
    factors: Vec<f64>,
    k: usize,
    /// WALS: YᵀY.
    yty: Vec<f64>,
}

fn cholesky_solve(a: &mut [f64], b: &mut [f64], n: usize) -> bool {
    // In-place Cholesky of a (n×n, full), then solve; b becomes x.
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if d <= 0.0 {
            return false;
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
    }
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= a[i * n + k] * b[k];
        }
        b[i] = s / a[i * n + i];
    }
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= a[k * n + i] * b[k];
        }
        b[i] = s / a[i * n + i];
    }
    true
}

/// One ALS half-step: solves the vectors of `rows` (each a list of observed columns of `other`)
/// given the fixed factors `other` (n_other × k).
fn als_solve(rows: &[Vec<u32>], other: &[f64], k: usize, lambda: f64, alpha: f64) -> Vec<f64> {
    let n_other = other.len() / k;
    let mut yty = vec![0.0; k * k];
    for i in 0..n_other {
        let y = &other[i * k..(i + 1) * k];
        for a in 0..k {
            for b in 0..k {
                yty[a * k + b] += y[a] * y[b];
            }
        }
    }
    let mut out = vec![0.0; rows.len() * k];
    let mut a = vec![0.0; k * k];
    let mut b = vec![0.0; k];
    for (u, r) in rows.iter().enumerate() {
        fold_in(r, other, &yty, k, lambda, alpha, &mut a, &mut b);
        out[u * k..(u + 1) * k].copy_from_slice(&b);
    }
    out
}

/// x = (YᵀY + α Σ_{i∈r} y_i y_iᵀ + λI)⁻¹ (1+α) Σ_{i∈r} y_i, into `b`.
#[allow(clippy::too_many_arguments)]
fn fold_in(
    r: &[u32],
    y: &[f64],
    yty: &[f64],
    k: usize,
    lambda: f64,
    alpha: f64,
    a: &mut [f64],
    b: &mut [f64],
) {
    a.copy_from_slice(yty);
    b.fill(0.0);
    for d in 0..k {
        a[d * k + d] += lambda;
    }
    for &i in r {
        let v = &y[i as usize * k..(i as usize + 1) * k];
        for p in 0..k {
            b[p] += (1.0 + alpha) * v[p];
            for q in 0..k {
                a[p * k + q] += alpha * v[p] * v[q];
            }
        }
    }
    if !cholesky_solve(a, b, k) {
        b.fill(0.0);
    }
}

impl Recommender {
    /// Fits `method` on the rows of a matrix with `n_items` columns.
    pub fn fit(method: Method, rows: &[Vec<u32>], n_items: usize, seed: u64) -> Self {
        let mut popularity = vec![0.0; n_items];
        for r in rows {
            for &i in r {
                popularity[i as usize] += 1.0;
            }
        }
        let mut me = Self {
            method,
            n_items,
            popularity,
            sims: Vec::new(),
            factors: Vec::new(),
            k: 0,
            yty: Vec::new(),
        };
        match method {
            Method::Popularity => {}
            Method::ItemKnn { shrink, .. } => {
                let mut co: Vec<HashMap<u32, f64>> = vec![HashMap::new(); n_items];
                for r in rows {
                    for &i in r {
                        for &j in r {
                            if i != j {
                                *co[i as usize].entry(j).or_default() += 1.0;
                            }
                        }
                    }
                }
                me.sims = co
                    .into_iter()
                    .enumerate()
                    .map(|(i, m)| {
                        let mut v: Vec<(u32, f64)> = m
                            .into_iter()
                            .map(|(j, c)| {
                                let d =
                                    (me.popularity[i] * me.popularity[j as usize]).sqrt() + shrink;
                                (j, c / d)
                            })
                            .collect();
                        v.sort_unstable_by_key(|x| x.0);
                        v
                    })
                    .collect();
            }
            Method::Wals {
                factors,
                lambda,
                alpha,
                iterations,
            } => {
                let k = factors.max(1);
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let mut y: Vec<f64> = (0..n_items * k)
                    .map(|_| (rand::Rng::random::<f64>(&mut rng) - 0.5) * 0.1)
                    .collect();
                let mut cols: Vec<Vec<u32>> = vec![Vec::new(); n_items];
                for (u, r) in rows.iter().enumerate() {
                    for &i in r {
                        cols[i as usize].push(u as u32);
                    }
                }
                for _ in 0..iterations {
                    let x = als_solve(rows, &y, k, lambda, alpha);
                    y = als_solve(&cols, &x, k, lambda, alpha);
                }
                let mut yty = vec![0.0; k * k];
                for i in 0..n_items {
                    let v = &y[i * k..(i + 1) * k];
                    for a in 0..k {
                        for b in 0..k {
                            yty[a * k + b] += v[a] * v[b];
                        }
                    }
                }
                me.factors = y;
                me.k = k;
                me.yty = yty;
            }
        }
        me
    }

    /// A score per column for a row that has the `observed` columns (sorted or not).
    pub fn scores(&self, observed: &[u32]) -> Vec<f64> {
        let n = self.n_items;
        let maxpop = self.popularity.iter().copied().fold(1.0, f64::max);
        match self.method {
            Method::Popularity => self.popularity.clone(),
            Method::ItemKnn { pop, .. } => {
                let mut s: Vec<f64> = self.popularity.iter().map(|p| pop * p / maxpop).collect();
                for &i in observed {
                    for &(j, w) in &self.sims[i as usize] {
                        s[j as usize] += w;
                    }
                }
                s
            }
            Method::Wals { lambda, alpha, .. } => {
                let k = self.k;
                let mut a = vec![0.0; k * k];
                let mut x = vec![0.0; k];
                fold_in(
                    observed,
                    &self.factors,
                    &self.yty,
                    k,
                    lambda,
                    alpha,
                    &mut a,
                    &mut x,
                );
                (0..n)
                    .map(|i| {
                        self.factors[i * k..(i + 1) * k]
                            .iter()
                            .zip(&x)
                            .map(|(a, b)| a * b)
                            .sum::<f64>()
                            // Popularity breaks ties among unrelated items.
                            + 1e-9 * self.popularity[i]
                    })
                    .collect()
            }
        }
    }

    /// The observed columns that contribute most to column `j`'s item-item score.
    fn because(&self, observed: &[u32], j: u32, n: usize) -> Vec<(u32, f64)> {
        if self.sims.is_empty() {
            return Vec::new();
        }
        let mut v: Vec<(u32, f64)> = observed
            .iter()
            .filter_map(|&i| {
                let s = &self.sims[i as usize];
                s.binary_search_by_key(&j, |x| x.0)
                    .ok()
                    .map(|p| (i, s[p].1))
            })
            .collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1));
        v.truncate(n);
        v
    }
}

/// Indices of the `k` best-scoring columns, excluding `exclude` (sorted).
fn top_k(scores: &[f64], exclude: &[u32], k: usize) -> Vec<u32> {
    let mut idx: Vec<u32> = (0..scores.len() as u32)
        .filter(|i| exclude.binary_search(i).is_err())
        .collect();
    idx.sort_by(|&a, &b| {
        scores[b as usize]
            .total_cmp(&scores[a as usize])
            .then(a.cmp(&b))
    });
    idx.truncate(k);
    idx
}

/// One suggestion.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    /// ATT&CK id.
    pub technique: String,
    /// Name.
    pub name: String,
    /// Tactics.
    pub tactics: Vec<String>,
    /// The recommender's score (comparable within one list only).
    pub score: f64,
    /// Observed techniques that co-occur with it most (item-item similarity).
    pub because: Vec<String>,
}

/// Technique inference over a knowledge base.
#[derive(Clone, Debug)]
pub struct TechniqueInference<'kb> {
    kb: &'kb KnowledgeBase,
    matrix: Matrix,
    model: Recommender,
    /// Item-item similarities, for the "because" of each suggestion.
    explainer: Recommender,
    col: HashMap<ObjId, u32>,
}

impl<'kb> TechniqueInference<'kb> {
    /// Fits [`DEFAULT_METHOD`] on every intrusion set and campaign of `kb`.
    pub fn new(kb: &'kb KnowledgeBase) -> Self {
        Self::with_method(kb, DEFAULT_METHOD)
    }

    /// Fits `method`.
    pub fn with_method(kb: &'kb KnowledgeBase, method: Method) -> Self {
        let matrix = Matrix::from_kb(kb);
        let model = Recommender::fit(method, &matrix.rows, matrix.n_items(), 1);
        let explainer = Recommender::fit(DEFAULT_ITEM_KNN, &matrix.rows, matrix.n_items(), 1);
        let col = matrix
            .items
            .iter()
            .enumerate()
            .map(|(i, &t)| (t, i as u32))
            .collect();
        Self {
            kb,
            matrix,
            model,
            explainer,
            col,
        }
    }

    /// The `k` techniques most likely present but not among `observed` (ATT&CK ids in any
    /// accepted form; unknown ones are ignored). Parents of observed sub-techniques are not
    /// suggested. These are hunting leads, never evidence.
    pub fn suggest<S: AsRef<str>>(&self, observed: &[S], k: usize) -> Vec<Suggestion> {
        let kb = self.kb;
        let mut obs: Vec<u32> = Vec::new();
        let mut exclude: Vec<u32> = Vec::new();
        for o in observed {
            if let AttackTag::Technique(id) = classify_tag(o.as_ref())
                && let Some(t) = kb.by_external_id(&id)
                && let Some(&c) = self.col.get(&kb.current(t))
            {
                obs.push(c);
                exclude.push(c);
                if let Some(p) = kb.parent_technique(t).and_then(|p| self.col.get(&p)) {
                    exclude.push(*p);
                }
            }
        }
        obs.sort_unstable();
        obs.dedup();
        exclude.sort_unstable();
        exclude.dedup();
        let scores = self.model.scores(&obs);
        top_k(&scores, &exclude, k)
            .into_iter()
            .map(|j| {
                let o = kb.object(self.matrix.items[j as usize]);
                Suggestion {
                    technique: o.external_id.clone().unwrap_or_default(),
                    name: o.name.clone(),
                    tactics: o.tactics.clone(),
                    score: scores[j as usize],
                    because: self
                        .explainer
                        .because(&obs, j, 3)
                        .into_iter()
                        .map(|(i, _)| kb.label(self.matrix.items[i as usize]).to_owned())
                        .collect(),
                }
            })
            .collect()
    }

    /// The method in use.
    pub fn method(&self) -> Method {
        self.model.method
    }
}

/// How the hold-out is drawn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecallConfig {
    /// Share of each row's techniques held out.
    pub holdout: f64,
    /// Rows need at least this many techniques to be evaluated.
    pub min_items: usize,
    /// List length.
    pub k: usize,
    /// Seeds (one split each; results are averaged).
    pub seeds: Vec<u64>,
}

impl Default for RecallConfig {
    /// The test split: 20% held out, recall@20, three seeds (not the development seeds).
    fn default() -> Self {
        Self {
            holdout: 0.2,
            min_items: 5,
            k: 20,
            seeds: vec![20240613, 20240614, 20240615],
        }
    }
}

/// Seeds of the development split [`tune`] uses.
pub const DEV_SEEDS: [u64; 2] = [7_000_001, 7_000_002];

/// Recall@k and NDCG@k of one method.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecallResult {
    /// The method.
    pub method: Method,
    /// Mean over evaluated rows (and seeds) of |top-k ∩ held-out| / |held-out|.
    pub recall: f64,
    /// Mean NDCG@k.
    pub ndcg: f64,
    /// Rows evaluated per seed.
    pub rows: usize,
}

/// What [`evaluate_recall`] measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InferenceReport {
    /// The protocol.
    pub config: RecallConfig,
    /// Matrix rows (groups + campaigns with techniques) and columns.
    pub matrix_rows: usize,
    /// Columns.
    pub matrix_items: usize,
    /// One result per method, popularity first.
    pub results: Vec<RecallResult>,
    /// The anchor: TIE's published figures on its own data.
    pub anchor: String,
}

/// One random split: (train rows, held-out per row; rows below `min_items` keep everything).
fn split(m: &Matrix, cfg: &RecallConfig, seed: u64) -> (Vec<Vec<u32>>, Vec<Vec<u32>>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut train = Vec::with_capacity(m.rows.len());
    let mut held = Vec::with_capacity(m.rows.len());
    for r in &m.rows {
        if r.len() < cfg.min_items {
            train.push(r.clone());
            held.push(Vec::new());
            continue;
        }
        let h = ((cfg.holdout * r.len() as f64).round() as usize).max(1);
        let idx: BTreeSet<usize> = rand::seq::index::sample(&mut rng, r.len(), h)
            .into_iter()
            .collect();
        let mut tr = Vec::new();
        let mut he = Vec::new();
        for (i, &c) in r.iter().enumerate() {
            if idx.contains(&i) {
                he.push(c);
            } else {
                tr.push(c);
            }
        }
        train.push(tr);
        held.push(he);
    }
    (train, held)
}

fn measure(m: &Matrix, cfg: &RecallConfig, seeds: &[u64], method: Method) -> RecallResult {
    let (mut recall, mut ndcg, mut n) = (0.0, 0.0, 0usize);
    let mut rows = 0;
    for &seed in seeds {
        let (train, held) = split(m, cfg, seed);
        let model = Recommender::fit(method, &train, m.n_items(), seed);
        rows = 0;
        for (tr, he) in train.iter().zip(&held) {
            if he.is_empty() {
                continue;
            }
            rows += 1;
            let scores = model.scores(tr);
            let top = top_k(&scores, tr, cfg.k);
            let hits: Vec<bool> = top.iter().map(|j| he.binary_search(j).is_ok()).collect();
            recall += hits.iter().filter(|&&h| h).count() as f64 / he.len() as f64;
            let dcg: f64 = hits
                .iter()
                .enumerate()
                .filter(|x| *x.1)
                .map(|(i, _)| 1.0 / ((i + 2) as f64).log2())
                .sum();
            let idcg: f64 = (0..he.len().min(cfg.k))
                .map(|i| 1.0 / ((i + 2) as f64).log2())
                .sum();
            ndcg += dcg / idcg;
            n += 1;
        }
    }
    RecallResult {
        method,
        recall: recall / n.max(1) as f64,
        ndcg: ndcg / n.max(1) as f64,
        rows,
    }
}

/// Recall@k of popularity, the default item-item model and WALS on the test split.
pub fn evaluate_recall(kb: &KnowledgeBase, cfg: &RecallConfig) -> InferenceReport {
    let m = Matrix::from_kb(kb);
    let results = [Method::Popularity, DEFAULT_ITEM_KNN, DEFAULT_WALS]
        .into_iter()
        .map(|me| measure(&m, cfg, &cfg.seeds, me))
        .collect();
    InferenceReport {
        config: cfg.clone(),
        matrix_rows: m.rows.len(),
        matrix_items: m.n_items(),
        results,
        anchor: "MITRE CTID TIE (own corpus of 6,236 reports, 20% test split): WALS recall@20 0.420, popularity 0.191".into(),
    }
}

/// The development grid: every configuration's recall@k on the development seeds
/// ([`DEV_SEEDS`]), best first. [`DEFAULT_WALS`] and [`DEFAULT_ITEM_KNN`] were chosen with it.
pub fn tune(kb: &KnowledgeBase, cfg: &RecallConfig) -> Vec<RecallResult> {
    let m = Matrix::from_kb(kb);
    let mut grid = vec![Method::Popularity];
    for shrink in [0.0, 3.0, 10.0, 30.0] {
        for pop in [0.0, 0.05, 0.2] {
            grid.push(Method::ItemKnn { shrink, pop });
        }
    }
    for factors in [4, 8, 16, 32, 64] {
        for lambda in [3.0, 10.0, 30.0, 100.0] {
            for alpha in [0.5, 1.0, 2.0, 5.0, 20.0] {
                grid.push(Method::Wals {
                    factors,
                    lambda,
                    alpha,
                    iterations: 15,
                });
            }
        }
    }
    let mut out: Vec<RecallResult> = grid
        .into_iter()
        .map(|me| measure(&m, cfg, &DEV_SEEDS, me))
        .collect();
    out.sort_by(|a, b| b.recall.total_cmp(&a.recall));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two clusters of items: {0,1,2,3} and {4,5,6,7}; item 8 is in every row.
    fn rows() -> Vec<Vec<u32>> {
        let mut v = Vec::new();
        for i in 0..12 {
            if i % 2 == 0 {
                v.push(vec![0, 1, 2, 3, 8]);
            } else {
                v.push(vec![4, 5, 6, 7, 8]);
            }
        }
        v
    }

    #[test]
    fn co_occurrence_completes_the_cluster() {
        let r = Recommender::fit(
            Method::ItemKnn {
                shrink: 1.0,
                pop: 0.0,
            },
            &rows(),
            9,
            1,
        );
        let s = r.scores(&[0, 1]);
        let top = top_k(&s, &[0, 1], 3);
        let set: BTreeSet<u32> = top.into_iter().collect();
        assert_eq!(set, [2, 3, 8].into());
        assert_eq!(r.because(&[0, 1], 2, 2).len(), 2);
        // Popularity alone cannot tell the clusters apart.
        let p = Recommender::fit(Method::Popularity, &rows(), 9, 1);
        assert_eq!(top_k(&p.scores(&[0, 1]), &[0, 1], 1), vec![8]);
    }

    #[test]
    fn wals_completes_the_cluster() {
        let r = Recommender::fit(
            Method::Wals {
                factors: 4,
                lambda: 0.1,
                alpha: 10.0,
                iterations: 10,
            },
            &rows(),
            9,
            3,
        );
        let s = r.scores(&[4, 5]);
        let top: BTreeSet<u32> = top_k(&s, &[4, 5], 3).into_iter().collect();
        assert_eq!(top, [6, 7, 8].into());
    }
}
