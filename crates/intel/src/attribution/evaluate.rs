//! `tiaki eval attribution`: the benchmark with tiaki next to every baseline, plus what the
//! benchmark's closed-world tables cannot show — the unknown outcome and the verdict in an open
//! world — technique-inference recall, and ranking time.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::features::{FoldIndex, NF, QueryStats, Scratch, fi};
use super::model::{Calibration, ModelParams, Prior, TiakiScorer};
use super::train::TrainingReport;
use super::{Evidence, Model, Options};
use crate::error::Result;
use crate::eval::{
    Benchmark, CaseSet, Construction, E1Setting, E3Variant, EvalConfig, EvalReport,
    Evidence as E1Evidence, Scorer, run_evaluation_with,
};
use crate::infer::{InferenceReport, RecallConfig, evaluate_recall};
use crate::kb::{KnowledgeBase, TokenMode};

/// Verdict quality at one threshold, in the open world.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerdictPoint {
    /// Attribute when the leading set's probability is at least this (and above unknown).
    pub threshold: f64,
    /// Actor known: share of cases attributed.
    pub coverage: f64,
    /// Actor known: share of attributions that name a true set.
    pub precision: f64,
    /// Actor removed from the knowledge base: share of cases (wrongly) attributed.
    pub false_attribution: f64,
}

/// The unknown outcome on one protocol: each case asked with its actor known, and again with
/// the actor removed from the candidates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpenWorldRow {
    /// Protocol key.
    pub protocol: String,
    /// The prior.
    pub prior: Prior,
    /// Cases.
    pub cases: usize,
    /// Mean P(unknown) with the actor known.
    pub unknown_when_known: f64,
    /// Mean P(unknown) with the actor removed.
    pub unknown_when_removed: f64,
    /// Probability that a removed-actor case gets a higher P(unknown) than a known-actor case.
    pub auroc: f64,
    /// Verdicts at several thresholds.
    pub verdicts: Vec<VerdictPoint>,
}

/// Ranking time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Candidate sets.
    pub groups: usize,
    /// Mean microseconds to score every set for one query (features + logits), over the E1
    /// campaign queries.
    pub score_micros: f64,
    /// Microseconds for a full assessment of campaign C0049's evidence (ranking, probabilities,
    /// verdict and explanations of the top 10), when the knowledge base has it.
    pub assess_micros: Option<f64>,
    /// Milliseconds to prepare the model (index every profile).
    pub prepare_millis: f64,
}

/// Everything `tiaki eval attribution` reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttributionEvalReport {
    /// Every benchmark table with `tiaki` (documentation prior) and `tiaki-uniform` rows next
    /// to the baselines, with calibration for the scorers that give probabilities.
    pub benchmark: EvalReport,
    /// The unknown outcome and the verdict, open world.
    pub open_world: Vec<OpenWorldRow>,
    /// Technique inference: recall@20 against popularity.
    pub inference: InferenceReport,
    /// The parameters evaluated.
    pub params: ModelParams,
    /// Training, when it was re-run.
    pub training: Option<TrainingReport>,
    /// Ranking time.
    pub timing: Timing,
}

/// The report with the default parameters: the benchmark tables of `config`, the open-world
/// analysis of E1 clean-strict (techniques + software) and E3/S2, technique inference with
/// [`RecallConfig::default`], and timings.
pub fn evaluate(kb: &KnowledgeBase, config: &EvalConfig) -> Result<AttributionEvalReport> {
    evaluate_with(
        kb,
        config,
        &ModelParams::default(),
        None,
        &RecallConfig::default(),
    )
}

/// [`evaluate`] with explicit parameters (e.g. from [`super::train::train`]).
pub fn evaluate_with(
    kb: &KnowledgeBase,
    config: &EvalConfig,
    params: &ModelParams,
    training: Option<TrainingReport>,
    recall: &RecallConfig,
) -> Result<AttributionEvalReport> {
    let mut extra: Vec<Box<dyn Scorer>> = vec![
        Box::new(TiakiScorer::new("tiaki", params, Prior::Documentation)),
        Box::new(TiakiScorer::new("tiaki-uniform", params, Prior::Uniform)),
    ];
    let benchmark = run_evaluation_with(kb, config, &mut extra)?;
    let bench = Benchmark::new(kb, TokenMode::Both);
    let (e1, _) = bench.e1_cases(E1Setting {
        construction: Construction::CleanStrict,
        evidence: E1Evidence::TechniquesAndSoftware,
        expand_software: false,
    });
    let s2 = bench
        .e3_case_sets(
            &[E3Variant::S2Report],
            config.reps,
            config.rng,
            config.seed + 1,
        )
        .pop()
        .unwrap_or_default();
    let mut open_world = Vec::new();
    for prior in [Prior::Documentation, Prior::Uniform] {
        open_world.push(open_world_row("E1 clean tech+sw", &e1, params, prior));
        open_world.push(open_world_row("E3 S2_report", &s2, params, prior));
    }
    let inference = evaluate_recall(kb, recall);
    let timing = timing(kb, &bench, &e1, params);
    Ok(AttributionEvalReport {
        benchmark,
        open_world,
        inference,
        params: params.clone(),
        training,
        timing,
    })
}

/// Calls `f(z, features, stats, truth)` for every case of a set: the calibrated group logits
/// (closed world) and the feature matrix (candidates × NF).
fn for_each_case(
    set: &CaseSet,
    params: &ModelParams,
    prior: Prior,
    mut f: impl FnMut(&[f64], &[f64], &QueryStats, &[u32]),
) {
    let cal = params.calibration(prior);
    let mut scratch = Scratch::default();
    let mut cur: Option<(usize, Option<usize>)> = None;
    let mut idx = FoldIndex::default();
    let mut feats = Vec::new();
    let mut z = Vec::new();
    for (ci, c) in set.cases.iter().enumerate() {
        let key = (c.base, c.row_override.as_ref().map(|_| ci));
        if cur != Some(key) {
            let base = &set.bases[c.base];
            idx = match &c.row_override {
                Some((g, row)) => {
                    FoldIndex::new(&base.with_row(*g as usize, row), params.weights.params)
                }
                None => FoldIndex::new(base, params.weights.params),
            };
            cur = Some(key);
        }
        let n = idx.n_groups();
        feats.resize(n * NF, 0.0);
        let qs = idx.features(&c.query, &mut scratch, &mut feats);
        z.clear();
        z.extend((0..n).map(|g| {
            let row = &feats[g * NF..(g + 1) * NF];
            cal.sharpness * params.weights.score(row) + prior.log_prior(row[fi::LOG_SIZE])
        }));
        f(&z, &feats, &qs, &c.truth);
    }
}

/// (leading group's probability, the leading group, P(unknown)) over the groups not in
/// `removed`.
fn open_probs(
    z: &[f64],
    feats: &[f64],
    qs: &QueryStats,
    cal: &Calibration,
    removed: &[u32],
) -> (f64, usize, f64) {
    let keep: Vec<usize> = (0..z.len())
        .filter(|g| !removed.contains(&(*g as u32)))
        .collect();
    let zk: Vec<f64> = keep.iter().map(|&g| z[g]).collect();
    let top = keep[super::model::argmax(&zk)];
    let pu = cal.p_unknown(&zk, &feats[top * NF..(top + 1) * NF], qs, 0.5);
    let lse = super::model::log_sum_exp(zk.iter().copied());
    ((1.0 - pu) * (z[top] - lse).exp(), top, pu)
}

fn open_world_row(
    protocol: &str,
    set: &CaseSet,
    params: &ModelParams,
    prior: Prior,
) -> OpenWorldRow {
    let cal = params.calibration(prior);
    let thresholds = [0.3, 0.5, 0.7, 0.9];
    let mut known_u = Vec::new();
    let mut removed_u = Vec::new();
    let mut verdicts: Vec<(usize, f64, usize)> = vec![(0, 0.0, 0); thresholds.len()];
    for_each_case(set, params, prior, |z, feats, qs, truth| {
        let (pk, gk, uk) = open_probs(z, feats, qs, cal, &[]);
        let (po, _, uo) = open_probs(z, feats, qs, cal, truth);
        known_u.push(uk);
        removed_u.push(uo);
        for (i, &t) in thresholds.iter().enumerate() {
            if pk >= t && pk > uk {
                verdicts[i].0 += 1;
                if truth.contains(&(gk as u32)) {
                    verdicts[i].1 += 1.0;
                }
            }
            if po >= t && po > uo {
                verdicts[i].2 += 1;
            }
        }
    });
    let cases = known_u.len();
    let n = cases.max(1) as f64;
    // AUROC by pairwise comparison (Mann–Whitney), ties counting one half.
    let mut sorted_known = known_u.clone();
    sorted_known.sort_by(f64::total_cmp);
    let mut auc = 0.0;
    for &r in &removed_u {
        let below = sorted_known.partition_point(|&k| k < r);
        let equal = sorted_known.partition_point(|&k| k <= r) - below;
        auc += below as f64 + 0.5 * equal as f64;
    }
    let pairs = (known_u.len() * removed_u.len()).max(1) as f64;
    OpenWorldRow {
        protocol: protocol.to_owned(),
        prior,
        cases,
        unknown_when_known: known_u.iter().sum::<f64>() / n,
        unknown_when_removed: removed_u.iter().sum::<f64>() / n,
        auroc: auc / pairs,
        verdicts: thresholds
            .iter()
            .zip(verdicts)
            .map(|(&t, (a, hits, fa))| VerdictPoint {
                threshold: t,
                coverage: a as f64 / n,
                precision: if a > 0 { hits / a as f64 } else { 0.0 },
                false_attribution: fa as f64 / n,
            })
            .collect(),
    }
}

fn timing(kb: &KnowledgeBase, bench: &Benchmark<'_>, e1: &CaseSet, params: &ModelParams) -> Timing {
    let t0 = Instant::now();
    let model = Model::new(kb, super::Context::empty(), params.clone());
    let prepare_millis = t0.elapsed().as_secs_f64() * 1e3;
    let mut scorer = TiakiScorer::new("tiaki", params, Prior::Documentation);
    let plain = bench.plain_profiles();
    scorer.fit(&plain);
    let mut out = vec![0.0; plain.n_groups()];
    let reps = 20;
    let t1 = Instant::now();
    let mut n = 0;
    for _ in 0..reps {
        for c in &e1.cases {
            scorer.score(&c.query, &mut out);
            n += 1;
        }
    }
    let score_micros = t1.elapsed().as_secs_f64() * 1e6 / n.max(1) as f64;
    let assess_micros = kb.by_external_id("C0049").map(|c| {
        let mut ev = Evidence::new();
        for (t, _) in kb.uses(c) {
            if let Some(id) = &kb.object(t).external_id {
                if kb.object(t).kind.is_software() {
                    ev.software.push(id.clone());
                } else {
                    ev.techniques.push(id.clone());
                }
            }
        }
        let t2 = Instant::now();
        for _ in 0..5 {
            std::hint::black_box(model.assess(&ev, &Options::default()));
        }
        t2.elapsed().as_secs_f64() * 1e6 / 5.0
    });
    Timing {
        groups: plain.n_groups(),
        score_micros,
        assess_micros,
        prepare_millis,
    }
}

impl AttributionEvalReport {
    /// The benchmark tables, then the open-world, inference and timing tables, as Markdown.
    pub fn to_markdown(&self) -> String {
        use std::fmt::Write as _;
        let mut md = self.benchmark.to_markdown();
        md.push_str("\n## Open world: the unknown outcome and the verdict\n\n");
        md.push_str("Each case is asked twice: with its actor among the candidates, and with the actor removed (\"not in the knowledge base\"). An attribution is made when the leading set's probability reaches the threshold and exceeds P(unknown).\n\n");
        md.push_str("| protocol | prior | cases | mean P(unknown), actor known | mean P(unknown), actor removed | AUROC | threshold | coverage (known) | precision (known) | false attributions (removed) |\n");
        md.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for r in &self.open_world {
            for v in &r.verdicts {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {:.3} | {:.3} | {:.3} | {:.1} | {:.3} | {:.3} | {:.3} |",
                    r.protocol,
                    r.prior.name(),
                    r.cases,
                    r.unknown_when_known,
                    r.unknown_when_removed,
                    r.auroc,
                    v.threshold,
                    v.coverage,
                    v.precision,
                    v.false_attribution
                );
            }
        }
        let _ = writeln!(
            md,
            "\n## Technique inference (recall@{}, {:.0}% of each row held out, {} seeds; {} rows × {} techniques)\n",
            self.inference.config.k,
            self.inference.config.holdout * 100.0,
            self.inference.config.seeds.len(),
            self.inference.matrix_rows,
            self.inference.matrix_items
        );
        md.push_str("| method | recall@k | NDCG@k | rows evaluated |\n|---|---:|---:|---:|\n");
        for r in &self.inference.results {
            let _ = writeln!(
                md,
                "| {} | {:.3} | {:.3} | {} |",
                r.method.name(),
                r.recall,
                r.ndcg,
                r.rows
            );
        }
        let _ = writeln!(md, "\nAnchor: {}", self.inference.anchor);
        let _ = writeln!(
            md,
            "\n## Ranking time\n\n{} sets; scoring all of them for one query: {:.1} µs (mean over the E1 queries); full assessment of C0049 with explanations: {}; model preparation: {:.1} ms.",
            self.timing.groups,
            self.timing.score_micros,
            self.timing
                .assess_micros
                .map_or("n/a".into(), |m| format!("{:.0} µs", m)),
            self.timing.prepare_millis
        );
        let _ = writeln!(
            md,
            "\n## Model\n\nRanker coefficients (feature → weight):\n"
        );
        for (n, b) in self.params.weights.named() {
            let _ = writeln!(md, "- `{n}`: {b:.3}");
        }
        for (name, c) in [
            ("documentation", &self.params.calibration_documentation),
            ("uniform", &self.params.calibration_uniform),
        ] {
            let _ = writeln!(
                md,
                "\nCalibration ({name} prior): sharpness κ = {:.3}; P(unknown) = σ(γ·h), γ = {:.3?} for h = (1, logit gap of the two leading sets, leader's technique coverage, leader's software coverage, leader's software uniqueness, ln(1+#technique tokens), ln(1+#software tokens), ln(1+#tokens no set has))",
                c.sharpness, c.unknown
            );
        }
        md
    }
}
