//! The scorer interface and the baseline scorers of the benchmark.
//!
//! A [`Scorer`] sees candidate groups only as [`Profiles`] — one sparse binary token row per
//! group — and a [`Query`] — the sorted tokens of the evidence. It is fitted once per fold (the
//! profiles change with every held-out campaign, so idf and background statistics are
//! recomputed each time, as the protocol requires) and then scores queries into a caller-owned
//! buffer, one value per group, higher is better. That is all the harness needs, so tiaki's own
//! attribution model plugs in next to these baselines.
//!
//! Scoring walks the inverted index (token → groups) of the query's tokens only: a query of a
//! dozen tokens touches a few hundred postings, so ranking all groups costs microseconds and
//! allocates nothing.
//!
//! The definitions follow `attrib_eval.py` exactly (the score of every group is the same number
//! up to floating-point summation order):
//!
//! | scorer | score of group g for evidence E |
//! |---|---|
//! | `jaccard` | \|P∩E\| / \|P∪E\| |
//! | `cosine` | \|P∩E\| / √(\|P\|·\|E\|) |
//! | `tfidf` | Σ_{t∈P∩E} idf_t² / (‖idf·P‖·‖idf·E‖), idf_t = ln((N+1)/(df_t+1)) + 1 |
//! | `tfidf+prior` | tfidf + 0.05·ln(1+\|P\|) |
//! | `nb_multi` | Σ_{t∈E} ln((P_t + μ·bg_t)/(\|P\|+μ)), bg_t = (df_t+1)/(Σdf + V) |
//! | `nb_bern` | Σ_{t∈E} ln p_t + Σ_{t∉E} ln(1−p_t), p_t = d if t∈P else min(d·β·(df_t+1)/(N+2), ½) |
//! | `prior` | \|P\| |
//! | `random` | 0 for every group (ties → the analytic random expectation) |

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::kb::Vocab;

/// Candidate-group profiles of one fold: a sparse binary group × token matrix, stored both by
/// row (group → tokens) and by column (token → groups).
#[derive(Clone, Debug)]
pub struct Profiles {
    vocab: Arc<Vocab>,
    row_start: Vec<u32>,
    row_tokens: Vec<u32>,
    col_start: Vec<u32>,
    col_groups: Vec<u32>,
}

impl Profiles {
    /// Builds profiles from one sorted, deduplicated token list per group.
    ///
    /// # Panics
    /// If a token id is outside the vocabulary.
    pub fn new(vocab: Arc<Vocab>, rows: &[Vec<u32>]) -> Self {
        Self::from_rows(vocab, rows.iter().map(Vec::as_slice))
    }

    fn from_rows<'a>(vocab: Arc<Vocab>, rows: impl Iterator<Item = &'a [u32]> + Clone) -> Self {
        let v = vocab.len();
        let mut row_start = vec![0u32];
        let mut row_tokens = Vec::new();
        let mut col_count = vec![0u32; v + 1];
        for r in rows.clone() {
            debug_assert!(r.windows(2).all(|w| w[0] < w[1]), "rows must be sorted");
            for &t in r {
                assert!((t as usize) < v, "token {t} outside the vocabulary");
                col_count[t as usize + 1] += 1;
            }
            row_tokens.extend_from_slice(r);
            row_start.push(row_tokens.len() as u32);
        }
        for i in 1..=v {
            col_count[i] += col_count[i - 1];
        }
        let col_start = col_count.clone();
        let mut fill = col_count;
        let mut col_groups = vec![0u32; row_tokens.len()];
        for (g, r) in rows.enumerate() {
            for &t in r {
                let slot = &mut fill[t as usize];
                col_groups[*slot as usize] = g as u32;
                *slot += 1;
            }
        }
        Self {
            vocab,
            row_start,
            row_tokens,
            col_start,
            col_groups,
        }
    }

    /// The same profiles with group `group`'s row replaced.
    pub fn with_row(&self, group: usize, tokens: &[u32]) -> Self {
        let rows = (0..self.n_groups()).map(|g| if g == group { tokens } else { self.row(g) });
        Self::from_rows(self.vocab.clone(), rows)
    }

    /// The vocabulary the token ids refer to.
    pub fn vocab(&self) -> &Arc<Vocab> {
        &self.vocab
    }

    /// Number of candidate groups.
    pub fn n_groups(&self) -> usize {
        self.row_start.len() - 1
    }

    /// Number of tokens in the vocabulary.
    pub fn n_tokens(&self) -> usize {
        self.vocab.len()
    }

    /// The sorted tokens of group `g`.
    pub fn row(&self, g: usize) -> &[u32] {
        &self.row_tokens[self.row_start[g] as usize..self.row_start[g + 1] as usize]
    }

    /// Profile size |P_g|.
    pub fn row_len(&self, g: usize) -> usize {
        (self.row_start[g + 1] - self.row_start[g]) as usize
    }

    /// The groups (ascending) whose profile contains token `t`.
    pub fn groups_with(&self, t: u32) -> &[u32] {
        &self.col_groups
            [self.col_start[t as usize] as usize..self.col_start[t as usize + 1] as usize]
    }

    /// Document frequency: how many groups have token `t`.
    pub fn df(&self, t: u32) -> usize {
        (self.col_start[t as usize + 1] - self.col_start[t as usize]) as usize
    }
}

/// The evidence of one case: sorted, deduplicated token ids.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Query {
    tokens: Vec<u32>,
}

impl Query {
    /// A query from token ids (sorted and deduplicated here).
    pub fn new(mut tokens: Vec<u32>) -> Self {
        tokens.sort_unstable();
        tokens.dedup();
        Self { tokens }
    }

    /// The sorted token ids.
    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// No evidence at all.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

/// Ranks candidate groups for a query. Implemented by the baselines here and by tiaki's own
/// attribution model, so that all of them run through the same evaluation harness.
pub trait Scorer: Send {
    /// A short stable name (`tfidf`, `nb_multi`, …) used as the method column of reports.
    fn name(&self) -> &str;

    /// Learns whatever the scorer needs from the candidate profiles of one fold.
    fn fit(&mut self, profiles: &Profiles);

    /// Writes one score per group (`out.len() == profiles.n_groups()`); higher ranks first.
    /// Must not allocate per call in the baselines; may assume `fit` ran on these profiles.
    fn score(&self, query: &Query, out: &mut [f64]);

    /// Turns scores into a probability per group (summing to 1) if the scorer has a
    /// probabilistic reading. Returns `false` (the default) when it has none; the harness then
    /// reports no calibration for it.
    fn probabilities(&self, scores: &[f64], out: &mut [f64]) -> bool {
        let _ = (scores, out);
        false
    }
}

/// Naive-Bayes hyper-parameters. The defaults are the benchmark's (tuned on its E3/S2 dev task):
/// μ = 100, d = 0.2, β = 1.
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NbParams {
    /// Dirichlet smoothing mass of `nb_multi`.
    pub mu: f64,
    /// Detection rate of `nb_bern`: probability that a technique in the profile is observed.
    pub d: f64,
    /// False-detection scale of `nb_bern`.
    pub beta: f64,
}

impl Default for NbParams {
    fn default() -> Self {
        Self {
            mu: 100.0,
            d: 0.2,
            beta: 1.0,
        }
    }
}

/// Which baseline.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Baseline {
    /// Set overlap.
    Jaccard,
    /// Binary cosine.
    Cosine,
    /// Idf-weighted cosine.
    Tfidf,
    /// Tf-idf cosine plus a weak log-size prior (an untuned probe).
    TfidfPrior,
    /// Multinomial naive Bayes / query likelihood.
    NbMulti,
    /// Bernoulli naive Bayes with a detection model.
    NbBern,
    /// Profile size: the "well-documented group" baseline.
    Prior,
    /// Constant scores: every group tied.
    Random,
}

impl Baseline {
    /// The scorers of the benchmark tables, in their order: jaccard, cosine, tfidf, nb_multi,
    /// nb_bern, prior, tfidf+prior (random is reported analytically beside them).
    pub const TABLE: [Baseline; 7] = [
        Baseline::Jaccard,
        Baseline::Cosine,
        Baseline::Tfidf,
        Baseline::NbMulti,
        Baseline::NbBern,
        Baseline::Prior,
        Baseline::TfidfPrior,
    ];

    /// The method name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Baseline::Jaccard => "jaccard",
            Baseline::Cosine => "cosine",
            Baseline::Tfidf => "tfidf",
            Baseline::TfidfPrior => "tfidf+prior",
            Baseline::NbMulti => "nb_multi",
            Baseline::NbBern => "nb_bern",
            Baseline::Prior => "prior",
            Baseline::Random => "random",
        }
    }

    /// The baseline with this report name.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Baseline::Jaccard,
            Baseline::Cosine,
            Baseline::Tfidf,
            Baseline::TfidfPrior,
            Baseline::NbMulti,
            Baseline::NbBern,
            Baseline::Prior,
            Baseline::Random,
        ]
        .into_iter()
        .find(|b| b.name() == name)
    }

    /// A fresh scorer for this baseline.
    pub fn scorer(self, params: NbParams) -> BaselineScorer {
        BaselineScorer::new(self, params)
    }
}

/// One of the baseline scorers; which one is chosen by [`Baseline`].
#[derive(Clone, Debug)]
pub struct BaselineScorer {
    kind: Baseline,
    params: NbParams,
    n_groups: usize,
    /// |P_g| as a float.
    size: Vec<f64>,
    /// Per-group constant of the score (‖idf·P_g‖ for tf-idf, −ln(|P_g|+μ) for nb_multi, the
    /// absent-evidence sum for nb_bern, 0.05·ln(1+|P_g|) for the prior probe).
    group_const: Vec<f64>,
    /// Per-token weight when the token is in the evidence but not in the profile.
    miss: Vec<f64>,
    /// Per-token increment when the token is in both.
    hit: Vec<f64>,
    postings_start: Vec<u32>,
    postings: Vec<u32>,
}

impl BaselineScorer {
    /// An unfitted scorer.
    pub fn new(kind: Baseline, params: NbParams) -> Self {
        Self {
            kind,
            params,
            n_groups: 0,
            size: Vec::new(),
            group_const: Vec::new(),
            miss: Vec::new(),
            hit: Vec::new(),
            postings_start: Vec::new(),
            postings: Vec::new(),
        }
    }

    /// Which baseline this is.
    pub fn kind(&self) -> Baseline {
        self.kind
    }

    fn groups_with(&self, t: u32) -> &[u32] {
        &self.postings
            [self.postings_start[t as usize] as usize..self.postings_start[t as usize + 1] as usize]
    }
}

/// Numerically careful sum (the exact order does not matter for ranking, but a compensated sum
/// keeps mathematically equal per-group constants equal to well under the 1e-12 tie tolerance).
fn kahan_sum(values: impl Iterator<Item = f64>) -> f64 {
    let (mut s, mut c) = (0.0f64, 0.0f64);
    for v in values {
        let y = v - c;
        let t = s + y;
        c = (t - s) - y;
        s = t;
    }
    s
}

impl Scorer for BaselineScorer {
    fn name(&self) -> &str {
        self.kind.name()
    }

    fn fit(&mut self, p: &Profiles) {
        let n = p.n_groups();
        let v = p.n_tokens();
        self.n_groups = n;
        self.size = (0..n).map(|g| p.row_len(g) as f64).collect();
        self.postings_start = p.col_start.clone();
        self.postings = p.col_groups.clone();
        let nf = n as f64;
        let df: Vec<f64> = (0..v as u32).map(|t| p.df(t) as f64).collect();
        match self.kind {
            Baseline::Tfidf | Baseline::TfidfPrior => {
                let idf2: Vec<f64> = df
                    .iter()
                    .map(|&d| {
                        let idf = ((nf + 1.0) / (d + 1.0)).ln() + 1.0;
                        idf * idf
                    })
                    .collect();
                self.group_const = (0..n)
                    .map(|g| kahan_sum(p.row(g).iter().map(|&t| idf2[t as usize])).sqrt())
                    .collect();
                self.hit = idf2;
                self.miss.clear();
            }
            Baseline::NbMulti => {
                let mu = self.params.mu;
                let total = df.iter().sum::<f64>() + v as f64;
                let mu_bg: Vec<f64> = df.iter().map(|&d| mu * ((d + 1.0) / total)).collect();
                self.miss = mu_bg.iter().map(|&m| m.ln()).collect();
                self.hit = mu_bg.iter().map(|&m| (1.0 + m).ln() - m.ln()).collect();
                self.group_const = self.size.iter().map(|&s| -(s + mu).ln()).collect();
            }
            Baseline::NbBern => {
                let NbParams { d, beta, .. } = self.params;
                let eps: Vec<f64> = df
                    .iter()
                    .map(|&x| (d * beta * (x + 1.0) / (nf + 2.0)).min(0.5))
                    .collect();
                let abs_out: Vec<f64> = eps.iter().map(|&e| (-e).ln_1p()).collect();
                let abs_in = (-d).ln_1p();
                let all_out = kahan_sum(abs_out.iter().copied());
                // Σ_t ln(1−p_gt) = Σ_all ln(1−eps_t) + Σ_{t∈P} (ln(1−d) − ln(1−eps_t))
                self.group_const = (0..n)
                    .map(|g| {
                        all_out + kahan_sum(p.row(g).iter().map(|&t| abs_in - abs_out[t as usize]))
                    })
                    .collect();
                // Evidence token t contributes ln p_t − ln(1−p_t).
                self.miss = eps
                    .iter()
                    .zip(&abs_out)
                    .map(|(&e, &a)| e.ln() - a)
                    .collect();
                let hit_val = d.ln() - abs_in;
                self.hit = self.miss.iter().map(|&m| hit_val - m).collect();
            }
            Baseline::Jaccard | Baseline::Cosine | Baseline::Prior | Baseline::Random => {
                self.group_const.clear();
                self.hit.clear();
                self.miss.clear();
            }
        }
    }

    fn score(&self, query: &Query, out: &mut [f64]) {
        assert_eq!(out.len(), self.n_groups, "score buffer length");
        out.fill(0.0);
        let q = query.tokens();
        match self.kind {
            Baseline::Random => {}
            Baseline::Prior => out.copy_from_slice(&self.size),
            Baseline::Jaccard | Baseline::Cosine => {
                for &t in q {
                    for &g in self.groups_with(t) {
                        out[g as usize] += 1.0;
                    }
                }
                let ne = q.len() as f64;
                for (g, o) in out.iter_mut().enumerate() {
                    let inter = *o;
                    let den = if self.kind == Baseline::Jaccard {
                        self.size[g] + ne - inter
                    } else {
                        (self.size[g] * ne).sqrt()
                    };
                    *o = if den > 0.0 { inter / den } else { 0.0 };
                }
            }
            Baseline::Tfidf | Baseline::TfidfPrior => {
                let mut qn2 = 0.0;
                for &t in q {
                    let w = self.hit[t as usize];
                    qn2 += w;
                    for &g in self.groups_with(t) {
                        out[g as usize] += w;
                    }
                }
                let qn = qn2.sqrt();
                for (g, o) in out.iter_mut().enumerate() {
                    let den = self.group_const[g] * qn;
                    *o = if den > 0.0 { *o / den } else { 0.0 };
                    if self.kind == Baseline::TfidfPrior {
                        *o += 0.05 * self.size[g].ln_1p();
                    }
                }
            }
            Baseline::NbMulti | Baseline::NbBern => {
                let mut common = 0.0;
                for &t in q {
                    common += self.miss[t as usize];
                    let h = self.hit[t as usize];
                    for &g in self.groups_with(t) {
                        out[g as usize] += h;
                    }
                }
                let k = q.len() as f64;
                let multi = self.kind == Baseline::NbMulti;
                for (g, o) in out.iter_mut().enumerate() {
                    *o += common
                        + if multi {
                            k * self.group_const[g]
                        } else {
                            self.group_const[g]
                        };
                }
            }
        }
    }

    /// The naive-Bayes scores are log-likelihoods, so a uniform-prior posterior is their
    /// softmax; `random` is uniform. The similarity scores have no probabilistic reading.
    fn probabilities(&self, scores: &[f64], out: &mut [f64]) -> bool {
        match self.kind {
            Baseline::NbMulti | Baseline::NbBern => {
                softmax(scores, out);
                true
            }
            Baseline::Random => {
                let u = 1.0 / scores.len().max(1) as f64;
                out.fill(u);
                true
            }
            _ => false,
        }
    }
}

/// Numerically stable softmax of `scores` into `out`.
pub fn softmax(scores: &[f64], out: &mut [f64]) {
    let m = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut z = 0.0;
    for (o, &s) in out.iter_mut().zip(scores) {
        *o = (s - m).exp();
        z += *o;
    }
    for o in out.iter_mut() {
        *o /= z;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kb::{KbBuilder, TokenMode};
    use serde_json::json;

    /// A vocabulary of `n` software tokens S0000…, for scorer arithmetic tests.
    pub(crate) fn vocab(n: usize) -> Arc<Vocab> {
        let mut b = KbBuilder::new();
        for i in 0..n {
            b.add_object(&json!({"type": "tool", "id": format!("tool--{i}"), "name": format!("t{i}"),
                "external_references": [{"source_name": "mitre-attack", "external_id": format!("S{i:04}")}]}))
                .unwrap();
        }
        Arc::new(Vocab::new(&b.finish(), TokenMode::Both))
    }

    fn profiles() -> Profiles {
        // g0 = {0,1,2}, g1 = {2,3}, g2 = {} , g3 = {0,1,2,3,4}
        Profiles::new(
            vocab(6),
            &[vec![0, 1, 2], vec![2, 3], vec![], vec![0, 1, 2, 3, 4]],
        )
    }

    fn scores(kind: Baseline, q: &[u32]) -> Vec<f64> {
        let mut s = kind.scorer(NbParams::default());
        let p = profiles();
        s.fit(&p);
        let mut out = vec![f64::NAN; p.n_groups()];
        s.score(&Query::new(q.to_vec()), &mut out);
        out
    }

    fn close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-12, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn profiles_index_both_ways() {
        let p = profiles();
        assert_eq!(p.n_groups(), 4);
        assert_eq!(p.row(3), &[0, 1, 2, 3, 4]);
        assert_eq!(p.groups_with(2), &[0, 1, 3]);
        assert_eq!(p.df(5), 0);
        let q = p.with_row(2, &[5]);
        assert_eq!(q.groups_with(5), &[2]);
        assert_eq!(q.row(0), p.row(0));
    }

    #[test]
    fn set_similarities() {
        let q = [2, 3, 5];
        close(
            &scores(Baseline::Jaccard, &q),
            &[1.0 / 5.0, 2.0 / 3.0, 0.0, 2.0 / 6.0],
        );
        close(
            &scores(Baseline::Cosine, &q),
            &[
                1.0 / (9f64).sqrt(),
                2.0 / (6f64).sqrt(),
                0.0,
                2.0 / (15f64).sqrt(),
            ],
        );
        close(&scores(Baseline::Prior, &q), &[3.0, 2.0, 0.0, 5.0]);
        close(&scores(Baseline::Random, &q), &[0.0; 4]);
        // Empty evidence scores zero everywhere rather than NaN.
        close(&scores(Baseline::Cosine, &[]), &[0.0; 4]);
    }

    #[test]
    fn tfidf_matches_its_definition() {
        let n = 4.0f64;
        let df = [2.0, 2.0, 3.0, 2.0, 1.0, 0.0];
        let idf: Vec<f64> = df
            .iter()
            .map(|d: &f64| ((n + 1.0) / (d + 1.0)).ln() + 1.0)
            .collect();
        let rows: [&[usize]; 4] = [&[0, 1, 2], &[2, 3], &[], &[0, 1, 2, 3, 4]];
        let q = [1usize, 4, 5];
        let qn = q.iter().map(|&t| idf[t] * idf[t]).sum::<f64>().sqrt();
        let want: Vec<f64> = rows
            .iter()
            .map(|r| {
                let wn = r.iter().map(|&t| idf[t] * idf[t]).sum::<f64>().sqrt();
                let dot: f64 = r
                    .iter()
                    .filter(|t| q.contains(t))
                    .map(|&t| idf[t] * idf[t])
                    .sum();
                if wn * qn > 0.0 { dot / (wn * qn) } else { 0.0 }
            })
            .collect();
        close(&scores(Baseline::Tfidf, &[1, 4, 5]), &want);
        let sizes = [3.0f64, 2.0, 0.0, 5.0];
        let with_prior: Vec<f64> = want
            .iter()
            .zip(sizes)
            .map(|(w, s)| w + 0.05 * s.ln_1p())
            .collect();
        close(&scores(Baseline::TfidfPrior, &[1, 4, 5]), &with_prior);
    }

    #[test]
    fn naive_bayes_match_their_definitions() {
        let rows: [&[usize]; 4] = [&[0, 1, 2], &[2, 3], &[], &[0, 1, 2, 3, 4]];
        let df = [2.0f64, 2.0, 3.0, 2.0, 1.0, 0.0];
        let (n, v) = (4.0f64, 6.0f64);
        let q = [0usize, 3, 5];
        let NbParams { mu, d, beta } = NbParams::default();
        let total: f64 = df.iter().sum::<f64>() + v;
        let multi: Vec<f64> = rows
            .iter()
            .map(|r| {
                q.iter()
                    .map(|t| {
                        let x = if r.contains(t) { 1.0 } else { 0.0 };
                        ((x + mu * (df[*t] + 1.0) / total) / (r.len() as f64 + mu)).ln()
                    })
                    .sum()
            })
            .collect();
        close(&scores(Baseline::NbMulti, &[0, 3, 5]), &multi);
        let bern: Vec<f64> = rows
            .iter()
            .map(|r| {
                (0..6)
                    .map(|t| {
                        let p = if r.contains(&t) {
                            d
                        } else {
                            (d * beta * (df[t] + 1.0) / (n + 2.0)).min(0.5)
                        };
                        if q.contains(&t) {
                            p.ln()
                        } else {
                            (1.0 - p).ln()
                        }
                    })
                    .sum()
            })
            .collect();
        close(&scores(Baseline::NbBern, &[0, 3, 5]), &bern);
    }

    #[test]
    fn probabilities_only_where_meaningful() {
        let p = profiles();
        let mut s = Baseline::NbMulti.scorer(NbParams::default());
        s.fit(&p);
        let mut sc = vec![0.0; 4];
        s.score(&Query::new(vec![0, 1]), &mut sc);
        let mut pr = vec![0.0; 4];
        assert!(s.probabilities(&sc, &mut pr));
        assert!((pr.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let best = (0..4).max_by(|&a, &b| sc[a].total_cmp(&sc[b])).unwrap();
        assert!(pr.iter().all(|&x| x <= pr[best]));
        let mut t = Baseline::Tfidf.scorer(NbParams::default());
        t.fit(&p);
        assert!(!t.probabilities(&sc, &mut pr));
        assert_eq!(
            Baseline::from_name("tfidf+prior"),
            Some(Baseline::TfidfPrior)
        );
    }
}
