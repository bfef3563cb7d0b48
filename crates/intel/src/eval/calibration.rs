//! Calibration of a scorer's confidence: does "70% sure it is APT40" come true 70% of the time?
//!
//! The attribution engine must say "insufficient evidence" when that is the truth, which needs
//! confidences that mean something. These helpers measure that on evaluation cases, each given
//! as the confidence of the top-ranked group and whether it was right (a number in [0, 1]: ties
//! make correctness an expectation, e.g. 0.5 when the true group shares first place with one
//! other):
//!
//! * [`brier`] — mean squared error of confidence against correctness (top-label Brier score);
//! * [`ece`] / [`reliability`] — expected calibration error over equal-width confidence bins
//!   (10 by convention): Σ_b (n_b/N)·|accuracy_b − confidence_b|;
//! * [`abstention_curve`] — answer only when the confidence reaches a threshold: how many cases
//!   are answered (coverage) and how often the answer is right (top-1 precision).
//!
//! [`multiclass_brier`] scores a whole probability vector instead of the top label.

use serde::{Deserialize, Serialize};

/// Mean of (confidence − correct)² — the top-label Brier score. 0 is perfect.
///
/// # Panics
/// If the slices differ in length.
pub fn brier(confidence: &[f64], correct: &[f64]) -> f64 {
    assert_eq!(confidence.len(), correct.len());
    if confidence.is_empty() {
        return 0.0;
    }
    confidence
        .iter()
        .zip(correct)
        .map(|(p, y)| (p - y) * (p - y))
        .sum::<f64>()
        / confidence.len() as f64
}

/// Multi-class Brier score of one case: Σ_g (p_g − y_g)², with the target mass spread evenly
/// over the true groups (y_g = 1/|truth| for each). Ranges over [0, 2].
pub fn multiclass_brier(probs: &[f64], truth: &[u32]) -> f64 {
    let share = 1.0 / truth.len().max(1) as f64;
    probs
        .iter()
        .enumerate()
        .map(|(g, &p)| {
            let y = if truth.contains(&(g as u32)) {
                share
            } else {
                0.0
            };
            (p - y) * (p - y)
        })
        .sum()
}

/// One confidence bin of a reliability diagram.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// Lower edge (inclusive; the last bin also includes 1.0).
    pub lower: f64,
    /// Upper edge.
    pub upper: f64,
    /// Cases in the bin.
    pub count: usize,
    /// Mean confidence in the bin.
    pub confidence: f64,
    /// Mean correctness in the bin.
    pub accuracy: f64,
}

/// Equal-width reliability bins over [0, 1]. Confidence c goes to bin ⌊c·bins⌋ (1.0 to the last).
///
/// # Panics
/// If the slices differ in length or `bins` is 0.
pub fn reliability(confidence: &[f64], correct: &[f64], bins: usize) -> Vec<ReliabilityBin> {
    assert_eq!(confidence.len(), correct.len());
    assert!(bins > 0, "at least one bin");
    let mut sum_c = vec![0.0; bins];
    let mut sum_y = vec![0.0; bins];
    let mut n = vec![0usize; bins];
    for (&c, &y) in confidence.iter().zip(correct) {
        let b = ((c.clamp(0.0, 1.0) * bins as f64) as usize).min(bins - 1);
        sum_c[b] += c;
        sum_y[b] += y;
        n[b] += 1;
    }
    (0..bins)
        .map(|b| ReliabilityBin {
            lower: b as f64 / bins as f64,
            upper: (b + 1) as f64 / bins as f64,
            count: n[b],
            confidence: if n[b] > 0 {
                sum_c[b] / n[b] as f64
            } else {
                0.0
            },
            accuracy: if n[b] > 0 {
                sum_y[b] / n[b] as f64
            } else {
                0.0
            },
        })
        .collect()
}

/// Expected calibration error with `bins` equal-width bins (use 10).
pub fn ece(confidence: &[f64], correct: &[f64], bins: usize) -> f64 {
    let total = confidence.len();
    if total == 0 {
        return 0.0;
    }
    reliability(confidence, correct, bins)
        .iter()
        .map(|b| b.count as f64 / total as f64 * (b.accuracy - b.confidence).abs())
        .sum()
}

/// One point of an abstention curve.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AbstentionPoint {
    /// Answer when confidence ≥ this.
    pub threshold: f64,
    /// Share of cases answered.
    pub coverage: f64,
    /// Mean correctness of the answered cases (top-1 precision).
    pub precision: f64,
    /// Cases answered.
    pub answered: usize,
}

/// Coverage and precision when abstaining below each distinct confidence value, from the most
/// confident case down to answering everything. Cases with equal confidence enter together.
pub fn abstention_curve(confidence: &[f64], correct: &[f64]) -> Vec<AbstentionPoint> {
    assert_eq!(confidence.len(), correct.len());
    let mut order: Vec<usize> = (0..confidence.len()).collect();
    order.sort_by(|&a, &b| confidence[b].total_cmp(&confidence[a]));
    let total = confidence.len() as f64;
    let mut out = Vec::new();
    let mut hits = 0.0;
    let mut i = 0;
    while i < order.len() {
        let c = confidence[order[i]];
        while i < order.len() && confidence[order[i]] == c {
            hits += correct[order[i]];
            i += 1;
        }
        out.push(AbstentionPoint {
            threshold: c,
            coverage: i as f64 / total,
            precision: hits / i as f64,
            answered: i,
        });
    }
    out
}

/// The abstention curve at fixed thresholds (e.g. 0.0, 0.1, …, 0.9): compact enough for a
/// report.
pub fn abstention_at(
    confidence: &[f64],
    correct: &[f64],
    thresholds: &[f64],
) -> Vec<AbstentionPoint> {
    let total = confidence.len().max(1) as f64;
    thresholds
        .iter()
        .map(|&t| {
            let (n, hits) = confidence
                .iter()
                .zip(correct)
                .filter(|(c, _)| **c >= t)
                .fold((0usize, 0.0), |(n, h), (_, y)| (n + 1, h + y));
            AbstentionPoint {
                threshold: t,
                coverage: n as f64 / total,
                precision: if n > 0 { hits / n as f64 } else { 0.0 },
                answered: n,
            }
        })
        .collect()
}

/// Calibration of one scorer on one table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalibrationSummary {
    /// Top-label Brier score.
    pub brier: f64,
    /// Mean multi-class Brier score.
    pub brier_multiclass: f64,
    /// Expected calibration error, 10 equal-width bins.
    pub ece: f64,
    /// Mean top-1 confidence.
    pub mean_confidence: f64,
    /// The 10 reliability bins.
    pub reliability: Vec<ReliabilityBin>,
    /// Coverage and precision when abstaining below 0.0, 0.1, …, 0.9.
    pub abstention: Vec<AbstentionPoint>,
}

/// Calibration of cases given as (top-1 confidence, expected top-1 correctness, multi-class
/// Brier).
pub fn summarize_calibration(
    confidence: &[f64],
    correct: &[f64],
    multiclass: &[f64],
) -> CalibrationSummary {
    let n = confidence.len().max(1) as f64;
    let thresholds: Vec<f64> = (0..10).map(|i| i as f64 / 10.0).collect();
    CalibrationSummary {
        brier: brier(confidence, correct),
        brier_multiclass: multiclass.iter().sum::<f64>() / n,
        ece: ece(confidence, correct, 10),
        mean_confidence: confidence.iter().sum::<f64>() / n,
        reliability: reliability(confidence, correct, 10),
        abstention: abstention_at(confidence, correct, &thresholds),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfectly_calibrated_and_overconfident() {
        // Confidence 0.5, right half the time: calibrated, Brier 0.25.
        let c = [0.5; 4];
        let y = [1.0, 0.0, 1.0, 0.0];
        assert_eq!(brier(&c, &y), 0.25);
        assert!(ece(&c, &y, 10) < 1e-12);
        // Always 0.9 sure, right a quarter of the time.
        let c = [0.9; 4];
        let y = [1.0, 0.0, 0.0, 0.0];
        assert!((ece(&c, &y, 10) - 0.65).abs() < 1e-12);
        assert!((brier(&c, &y) - (0.01 + 3.0 * 0.81) / 4.0).abs() < 1e-12);
    }

    #[test]
    fn bins_are_equal_width_and_cover_one() {
        let bins = reliability(&[0.0, 0.05, 0.1, 0.95, 1.0], &[0.0, 0.0, 1.0, 1.0, 1.0], 10);
        assert_eq!(bins.len(), 10);
        assert_eq!(bins[0].count, 2);
        assert_eq!(bins[1].count, 1);
        assert_eq!(bins[9].count, 2);
        assert!((bins[9].confidence - 0.975).abs() < 1e-12);
    }

    #[test]
    fn abstaining_trades_coverage_for_precision() {
        let c = [0.9, 0.8, 0.8, 0.2];
        let y = [1.0, 1.0, 0.0, 0.0];
        let curve = abstention_curve(&c, &y);
        assert_eq!(curve.len(), 3);
        assert_eq!((curve[0].coverage, curve[0].precision), (0.25, 1.0));
        assert_eq!((curve[1].answered, curve[1].precision), (3, 2.0 / 3.0));
        assert_eq!((curve[2].coverage, curve[2].precision), (1.0, 0.5));
        let fixed = abstention_at(&c, &y, &[0.0, 0.85, 0.95]);
        assert_eq!(fixed[1].answered, 1);
        assert_eq!(fixed[2].answered, 0);
        assert_eq!(fixed[2].precision, 0.0);
    }

    #[test]
    fn multiclass_brier_spreads_the_target() {
        assert_eq!(multiclass_brier(&[1.0, 0.0], &[0]), 0.0);
        assert_eq!(multiclass_brier(&[0.0, 1.0], &[0]), 2.0);
        assert_eq!(multiclass_brier(&[0.5, 0.5, 0.0], &[0, 1]), 0.0);
        let s = summarize_calibration(&[0.5, 0.5], &[1.0, 0.0], &[0.5, 0.5]);
        assert_eq!(s.abstention.len(), 10);
        assert_eq!(s.brier_multiclass, 0.5);
    }
}
