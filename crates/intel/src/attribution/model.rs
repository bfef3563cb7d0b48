//! The ranker's parameters, the prior, the calibration, and the ranker as a benchmark
//! [`Scorer`].
//!
//! A candidate group g gets the logit
//!
//! ```text
//! z_g = κ · β·f_g  +  ln prior(g)  +  Σ_channels LLR_channel(g)
//! ```
//!
//! where f_g are the token-channel features ([`super::features`]), β their fitted coefficients,
//! κ the calibrated sharpness, and the last term the declared likelihood ratios of the channels
//! ATT&CK cannot train (infrastructure, CVEs, victimology, working hours; [`super::channels`]).
//! The unknown outcome ("none of the known sets") is a calibrated logistic model of how much
//! the leading candidate stands out and how well it fits ([`Calibration`]); the known sets share
//! the rest in proportion to e^{z_g}.

use std::cell::RefCell;

use serde::{Deserialize, Serialize};

use super::features::{FEATURE_NAMES, FeatureParams, FoldIndex, NF, QueryStats, Scratch, fi};
use crate::eval::{Profiles, Query, Scorer};

/// Coefficients of the token-channel ranker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RankWeights {
    /// One coefficient per feature, in [`FEATURE_NAMES`] order.
    pub beta: [f64; NF],
    /// Feature hyper-parameters.
    pub params: FeatureParams,
}

impl RankWeights {
    /// Coefficients by feature name.
    pub fn named(&self) -> Vec<(&'static str, f64)> {
        FEATURE_NAMES.iter().copied().zip(self.beta).collect()
    }

    /// The ranker's score β·f for a feature row.
    pub fn score(&self, f: &[f64]) -> f64 {
        f.iter().zip(&self.beta).map(|(a, b)| a * b).sum()
    }
}

/// The prior probability of each known group, before any evidence.
///
/// There is no deployment population to estimate it from, so it is declared, and both choices
/// are reported side by side by the evaluation:
///
/// * [`Prior::Documentation`] (the default): P(g) ∝ 1 + |profile of g|, i.e. "a new intrusion is
///   by a group in proportion to how much public reporting there is about it" — documentation
///   volume as a proxy for activity. It helps when the evidence is thin (most real cases and the
///   benchmark's E1/E2, whose true groups are the best documented), and costs a little when the
///   truth is a sparsely documented group (the benchmark's S2).
/// * [`Prior::Uniform`]: every known group equally likely.
///
/// A CERT with its own case history should replace either with its observed base rates.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Prior {
    /// P(g) ∝ 1 + profile size.
    #[default]
    Documentation,
    /// P(g) uniform.
    Uniform,
}

impl Prior {
    /// Short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Prior::Documentation => "documentation",
            Prior::Uniform => "uniform",
        }
    }

    /// ln prior(g) (up to a constant) from ln(1 + profile size).
    pub fn log_prior(self, log_size: f64) -> f64 {
        match self {
            Prior::Documentation => log_size,
            Prior::Uniform => 0.0,
        }
    }

    /// prior(g) up to a constant.
    pub fn weight(self, log_size: f64) -> f64 {
        self.log_prior(log_size).exp()
    }
}

/// The calibration fitted on the development split for one prior.
///
/// Probabilities factor as P(g | E) = (1 − P(unknown | E)) · softmax_g(z), where z_g is the
/// candidate's calibrated logit (κ times the ranker's score, plus the log-prior and the declared
/// channels), and P(unknown | E) = σ(γ·h) with h = (1, the logit gap between the two leading
/// candidates (at most 10), the leading candidate's idf-weighted coverage of the technique
/// evidence and of the software evidence, its software uniqueness Σ 1/df (at most 3),
/// ln(1 + #technique tokens), ln(1 + #software tokens), ln(1 + #tokens no known set has)).
/// The unknown outcome wins when no candidate stands out, when even the best one explains
/// little of the evidence, or when much of the evidence is new to every known set. The inputs
/// are chosen to mean the same whatever the number of known sets (a 12-group starter pack or
/// ATT&CK's 172).
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// κ: multiplies the ranker's score (an inverse temperature).
    pub sharpness: f64,
    /// γ, fitted with a 50% prior that the actor is not in the knowledge base.
    pub unknown: [f64; NU],
}

/// Number of inputs of the unknown outcome.
pub const NU: usize = 8;

/// ln Σ e^{x}.
pub(crate) fn log_sum_exp(x: impl Iterator<Item = f64> + Clone) -> f64 {
    let m = x.clone().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + x.map(|v| (v - m).exp()).sum::<f64>().ln()
}

/// The inputs h of the unknown outcome, from the logits and the leading candidate's features.
pub(crate) fn unknown_inputs(z: &[f64], top: &[f64], q: &QueryStats) -> [f64; NU] {
    let (mut a, mut b) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    for &v in z {
        if v > a {
            b = a;
            a = v;
        } else if v > b {
            b = v;
        }
    }
    let gap = if b.is_finite() {
        (a - b).min(10.0)
    } else {
        10.0
    };
    [
        1.0,
        gap,
        top[fi::TECH_COV],
        top[fi::SW_COV],
        top[fi::SW_UNIQUE].min(3.0),
        (q.n_tech as f64).ln_1p(),
        (q.n_sw as f64).ln_1p(),
        (q.n_unseen as f64).ln_1p(),
    ]
}

impl Calibration {
    /// P(unknown | E) given the candidates' calibrated logits `z`, the feature row of the
    /// leading candidate, the evidence counts `q`, and the prior probability `p_unknown` that the
    /// actor is not in the knowledge base (the fit assumed 0.5; the intercept moves by the change
    /// in log-odds).
    pub fn p_unknown(&self, z: &[f64], top: &[f64], q: &QueryStats, p_unknown: f64) -> f64 {
        let h = unknown_inputs(z, top, q);
        let p = p_unknown.clamp(1e-6, 1.0 - 1e-6);
        let u = self.unknown.iter().zip(h).map(|(g, x)| g * x).sum::<f64>() + (p / (1.0 - p)).ln();
        1.0 / (1.0 + (-u).exp())
    }
}

/// Index of the largest value (first on ties).
pub(crate) fn argmax(z: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in z.iter().enumerate() {
        if v > z[best] {
            best = i;
        }
    }
    best
}

/// Everything the model needs besides the knowledge base.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelParams {
    /// Token-channel ranker.
    pub weights: RankWeights,
    /// Calibration under [`Prior::Documentation`].
    pub calibration_documentation: Calibration,
    /// Calibration under [`Prior::Uniform`].
    pub calibration_uniform: Calibration,
}

impl ModelParams {
    /// The calibration for a prior.
    pub fn calibration(&self, prior: Prior) -> &Calibration {
        match prior {
            Prior::Documentation => &self.calibration_documentation,
            Prior::Uniform => &self.calibration_uniform,
        }
    }
}

impl Default for ModelParams {
    /// The parameters [`super::train::train`] derives from MITRE ATT&CK Enterprise v18.1 with
    /// the default configuration (a test re-derives and compares them).
    fn default() -> Self {
        Self {
            weights: RankWeights {
                beta: DEFAULT_BETA,
                params: FeatureParams::default(),
            },
            calibration_documentation: Calibration {
                sharpness: DEFAULT_CAL_DOC.0,
                unknown: DEFAULT_CAL_DOC.1,
            },
            calibration_uniform: Calibration {
                sharpness: DEFAULT_CAL_UNI.0,
                unknown: DEFAULT_CAL_UNI.1,
            },
        }
    }
}

/// Fitted ranker coefficients (ATT&CK v18.1 development split), in [`FEATURE_NAMES`] order.
pub const DEFAULT_BETA: [f64; NF] = [
    -6.816660901585556,
    -0.6396619146168604,
    0.29524776094968536,
    4.603910625959471,
    1.9243229226861938,
    -6.108757710264141,
    0.3731116930676286,
    3.139192335140925,
    -0.34455257411382606,
    -1.1023861194631561,
    0.43218965822799726,
    1.8969682139780386,
    6.349615064507875,
    0.43066050657873933,
    1.8504215472208485,
    1.5349715916513071,
    2.452763472518205,
];
/// Fitted calibration under the documentation prior: (κ, γ).
pub const DEFAULT_CAL_DOC: (f64, [f64; NU]) = (
    1.0535244818588272,
    [
        0.28968628897816084,
        -0.2564646364883746,
        -0.08329667205778087,
        -0.5904244619847332,
        -1.2578573326107252,
        -0.014347801619525443,
        0.9229937963888798,
        -0.03370126904809422,
    ],
);
/// Fitted calibration under the uniform prior: (κ, γ).
pub const DEFAULT_CAL_UNI: (f64, [f64; NU]) = (
    1.0219612845290766,
    [
        0.4499633967108543,
        -0.28597137974789294,
        -0.2837778519760268,
        -0.5825898006807427,
        -1.3739762620963933,
        -0.03977271287169362,
        0.9430927457100592,
        -0.034406651453167035,
    ],
);

/// tiaki's ranker behind the benchmark's [`Scorer`] interface: `fit` indexes the fold, `score`
/// gives the calibrated closed-world logit κ·β·f + ln prior, and `probabilities` their softmax —
/// P(group | evidence, the actor is one of these groups). The channels the benchmark has no
/// data for (CVEs, victimology, hours, infrastructure) do not take part.
#[derive(Debug)]
pub struct TiakiScorer {
    name: String,
    weights: RankWeights,
    prior: Prior,
    calibration: Calibration,
    index: FoldIndex,
    scratch: RefCell<(Scratch, Vec<f64>)>,
}

impl TiakiScorer {
    /// The scorer for `params` under `prior`, reported under `name`.
    pub fn new(name: impl Into<String>, params: &ModelParams, prior: Prior) -> Self {
        Self {
            name: name.into(),
            weights: params.weights.clone(),
            prior,
            calibration: *params.calibration(prior),
            index: FoldIndex::default(),
            scratch: RefCell::new((Scratch::default(), Vec::new())),
        }
    }
}

impl Scorer for TiakiScorer {
    fn name(&self) -> &str {
        &self.name
    }

    fn fit(&mut self, profiles: &Profiles) {
        self.index = FoldIndex::new(profiles, self.weights.params);
    }

    fn score(&self, query: &Query, out: &mut [f64]) {
        let mut s = self.scratch.borrow_mut();
        let (scratch, feats) = &mut *s;
        feats.resize(out.len() * NF, 0.0);
        self.index.features(query, scratch, feats);
        for (g, o) in out.iter_mut().enumerate() {
            let f = &feats[g * NF..(g + 1) * NF];
            *o = self.calibration.sharpness * self.weights.score(f)
                + self.prior.log_prior(f[fi::LOG_SIZE]);
        }
    }

    fn probabilities(&self, scores: &[f64], out: &mut [f64]) -> bool {
        crate::eval::scorer::softmax(scores, out);
        true
    }
}
