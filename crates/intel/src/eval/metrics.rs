//! Ranking metrics: expected top-k hits, reciprocal rank and rank of the true group under
//! uniformly random tie-breaking, their means over cases, and cluster-bootstrap intervals.
//!
//! Ties matter here: many scorers give most groups exactly the same score (no overlap with the
//! evidence), and ranking the true group first among equals would inflate every number. The
//! reference takes the *expectation over random tie orders*, which never favours the true group,
//! and so does [`rank_stats`].

use serde::{Deserialize, Serialize};

use super::npcompat::{Pcg64, mean, pairwise_sum, percentile, round3};

/// Scores closer than this are tied (the reference's tolerance).
pub const TIE_EPS: f64 = 1e-12;

/// Expected outcome of one case for one scorer.
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RankStats {
    /// Probability the (best-ranked) true group is first.
    pub top1: f64,
    /// … within the first 3.
    pub top3: f64,
    /// … within the first 10.
    pub top10: f64,
    /// Expected reciprocal rank.
    pub rr: f64,
    /// Expected rank (1 = first).
    pub rank: f64,
}

/// Expected top-1/3/10, reciprocal rank and rank of the best-ranked true group, under uniform
/// random tie-breaking (ties within [`TIE_EPS`]). With several true groups (a campaign
/// attributed to two groups) the case is a hit when any of them ranks.
///
/// Let `g` be the number of wrong groups strictly above the best true score, `t` the wrong
/// groups tied with it and `m` the true groups tied with it. In a random order of the tie
/// block the first true group sits at position J with
/// P(J = j) = Π_{i<j} (t−i+1)/(t+m−i+1) · m/(t+m−j+1), and its rank is g + J.
///
/// # Panics
/// If `truth` is empty.
pub fn rank_stats(scores: &[f64], truth: &[u32]) -> RankStats {
    assert!(!truth.is_empty(), "a case needs a true group");
    let best = truth
        .iter()
        .map(|&i| scores[i as usize])
        .fold(f64::NEG_INFINITY, f64::max);
    let (mut g, mut t, mut m) = (0usize, 0usize, 0usize);
    for (i, &s) in scores.iter().enumerate() {
        let is_true = truth.contains(&(i as u32));
        let tied = (s - best).abs() <= TIE_EPS;
        if is_true {
            if tied {
                m += 1;
            }
        } else if s > best + TIE_EPS {
            g += 1;
        } else if tied {
            t += 1;
        }
    }
    let mut out = RankStats {
        top1: 0.0,
        top3: 0.0,
        top10: 0.0,
        rr: 0.0,
        rank: g as f64,
    };
    let mut none_before = 1.0;
    for j in 1..=t + 1 {
        let remaining = (t + m - (j - 1)) as f64;
        let p = none_before * (m as f64 / remaining);
        none_before *= (remaining - m as f64) / remaining;
        let r = g + j;
        if r <= 1 {
            out.top1 += p;
        }
        if r <= 3 {
            out.top3 += p;
        }
        if r <= 10 {
            out.top10 += p;
        }
        out.rr += p / r as f64;
        out.rank += p * j as f64;
    }
    out
}

/// The analytic expectation of a random ranking of `n_candidates` groups with one true group.
pub fn random_expect(n_candidates: usize) -> RankStats {
    let n = n_candidates as f64;
    let h: f64 = (1..=n_candidates).map(|r| 1.0 / r as f64).sum();
    RankStats {
        top1: 1.0f64.min(n) / n,
        top3: 3.0f64.min(n) / n,
        top10: 10.0f64.min(n) / n,
        rr: h / n,
        rank: (n + 1.0) / 2.0,
    }
}

/// A 95% interval `[low, high]`.
pub type Interval = [f64; 2];

/// 95% percentile-bootstrap intervals (rounded to 3 decimals, as the reference prints them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BootstrapCi {
    /// Of top-1.
    pub top1: Interval,
    /// Of top-10.
    pub top10: Interval,
    /// Of MRR.
    pub mrr: Interval,
}

/// Means over cases of one scorer on one table, with intervals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of cases.
    pub cases: usize,
    /// Mean top-1.
    pub top1: f64,
    /// Mean top-3.
    pub top3: f64,
    /// Mean top-10.
    pub top10: f64,
    /// Mean reciprocal rank.
    pub mrr: f64,
    /// Mean expected rank.
    pub mean_rank: f64,
    /// Bootstrap intervals (absent for analytic rows such as `random`).
    pub ci95: Option<BootstrapCi>,
    /// Number of independent clusters the bootstrap resampled.
    pub clusters: usize,
}

/// Bootstrap settings: resamples and the seed of numpy's `default_rng`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootstrapConfig {
    /// Number of resamples (reference: 1000).
    pub resamples: usize,
    /// Seed (reference: 7, fresh for every table row).
    pub seed: u64,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        Self {
            resamples: 1000,
            seed: 7,
        }
    }
}

/// Means over `rows`, plus a 95% percentile bootstrap that resamples *clusters* (campaigns or
/// groups; `None` = every case its own cluster), because repeated draws from one campaign are
/// not independent cases. Bit-compatible with the reference's `aggregate` (same generator, same
/// summation order), so its intervals are reproduced exactly.
///
/// # Panics
/// If `clusters` is given with a length different from `rows`.
pub fn summarize(rows: &[RankStats], clusters: Option<&[usize]>, boot: BootstrapConfig) -> Summary {
    let n = rows.len();
    if n == 0 {
        return Summary {
            cases: 0,
            top1: 0.0,
            top3: 0.0,
            top10: 0.0,
            mrr: 0.0,
            mean_rank: 0.0,
            ci95: None,
            clusters: 0,
        };
    }
    let col = |f: fn(&RankStats) -> f64| rows.iter().map(f).collect::<Vec<f64>>();
    let (top1, top3, top10, rr, rank) = (
        col(|r| r.top1),
        col(|r| r.top3),
        col(|r| r.top10),
        col(|r| r.rr),
        col(|r| r.rank),
    );
    // Cluster labels, sorted; members of each in case order.
    let own: Vec<usize>;
    let clusters = match clusters {
        Some(c) => {
            assert_eq!(c.len(), n, "one cluster label per case");
            c
        }
        None => {
            own = (0..n).collect();
            &own
        }
    };
    let mut labels: Vec<usize> = clusters.to_vec();
    labels.sort_unstable();
    labels.dedup();
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); labels.len()];
    for (i, c) in clusters.iter().enumerate() {
        let li = labels.binary_search(c).expect("label present");
        members[li].push(i);
    }
    let cluster_sums = |v: &[f64]| -> Vec<f64> {
        members
            .iter()
            .map(|m| pairwise_sum(&m.iter().map(|&i| v[i]).collect::<Vec<_>>()))
            .collect()
    };
    let (s1, s10, srr) = (cluster_sums(&top1), cluster_sums(&top10), cluster_sums(&rr));
    let counts: Vec<f64> = members.iter().map(|m| m.len() as f64).collect();

    let l = labels.len();
    let mut rng = Pcg64::new(boot.seed as u128);
    let mut stats = [
        Vec::with_capacity(boot.resamples),
        Vec::with_capacity(boot.resamples),
        Vec::with_capacity(boot.resamples),
    ];
    let mut draw = vec![0usize; l];
    let mut buf = vec![0.0; l];
    for _ in 0..boot.resamples {
        for d in draw.iter_mut() {
            *d = rng.integer_below(l as u32) as usize;
        }
        let cnt: f64 = draw.iter().map(|&d| counts[d]).sum();
        for (k, sums) in [&s1, &s10, &srr].into_iter().enumerate() {
            for (b, &d) in buf.iter_mut().zip(&draw) {
                *b = sums[d];
            }
            stats[k].push(pairwise_sum(&buf) / cnt);
        }
    }
    let interval = |v: &[f64]| -> Interval {
        if v.is_empty() {
            return [f64::NAN, f64::NAN];
        }
        [round3(percentile(v, 2.5)), round3(percentile(v, 97.5))]
    };
    Summary {
        cases: n,
        top1: mean(&top1),
        top3: mean(&top3),
        top10: mean(&top10),
        mrr: mean(&rr),
        mean_rank: mean(&rank),
        ci95: (boot.resamples > 0).then(|| BootstrapCi {
            top1: interval(&stats[0]),
            top10: interval(&stats[1]),
            mrr: interval(&stats[2]),
        }),
        clusters: l,
    }
}

/// The analytic random row of a table with `cases` cases over `n_candidates` groups.
pub fn random_summary(n_candidates: usize, cases: usize) -> Summary {
    let r = random_expect(n_candidates);
    Summary {
        cases,
        top1: r.top1,
        top3: r.top3,
        top10: r.top10,
        mrr: r.rr,
        mean_rank: r.rank,
        ci95: None,
        clusters: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approx(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }

    #[test]
    fn clear_winner_and_clear_loser() {
        let r = rank_stats(&[0.9, 0.1, 0.5], &[0]);
        assert_eq!((r.top1, r.top3, r.rr, r.rank), (1.0, 1.0, 1.0, 1.0));
        let r = rank_stats(&[0.1, 0.9, 0.5], &[0]);
        assert_eq!((r.top1, r.top3, r.rank), (0.0, 1.0, 3.0));
        approx(r.rr, 1.0 / 3.0);
    }

    #[test]
    fn ties_are_expectations() {
        // True group tied with 3 others at the top: uniform position 1..4.
        let r = rank_stats(&[1.0, 1.0, 1.0, 1.0, 0.0], &[2]);
        approx(r.top1, 0.25);
        approx(r.top3, 0.75);
        approx(r.rank, 2.5);
        approx(r.rr, (1.0 + 0.5 + 1.0 / 3.0 + 0.25) / 4.0);
        // All tied = the analytic random expectation.
        let n = 172;
        let r = rank_stats(&vec![0.0; n], &[5]);
        let e = random_expect(n);
        approx(r.top1, e.top1);
        approx(r.top10, e.top10);
        approx(r.rr, e.rr);
        approx(r.rank, e.rank);
    }

    #[test]
    fn two_true_groups_count_the_better_one() {
        // Two true groups tied with one wrong group behind one better wrong group.
        let r = rank_stats(&[2.0, 1.0, 1.0, 1.0], &[1, 2]);
        // Tie block of 3 with 2 true: P(J=1) = 2/3, P(J=2) = 1/3.
        approx(r.top1, 0.0);
        approx(r.top3, 1.0);
        approx(r.rank, 1.0 + 2.0 / 3.0 + 2.0 / 3.0);
        approx(r.rr, (2.0 / 3.0) / 2.0 + (1.0 / 3.0) / 3.0);
        // Within the tolerance counts as tied.
        let r = rank_stats(&[1.0 + 1e-13, 1.0], &[1]);
        approx(r.top1, 0.5);
    }

    #[test]
    fn summary_means_and_interval_bounds() {
        let rows: Vec<RankStats> = (0..24)
            .map(|i| rank_stats(&[if i % 4 == 0 { 2.0 } else { 0.0 }, 1.0], &[0]))
            .collect();
        let s = summarize(&rows, None, BootstrapConfig::default());
        assert_eq!(s.cases, 24);
        assert_eq!(s.clusters, 24);
        approx(s.top1, 0.25);
        approx(s.mrr, 0.25 + 0.75 * 0.5);
        let ci = s.ci95.unwrap();
        assert!(ci.top1[0] < 0.25 && 0.25 < ci.top1[1], "{ci:?}");
        // Clustered: two clusters of identical cases give a degenerate interval.
        let labels: Vec<usize> = (0..24).map(|i| i % 2).collect();
        let rows: Vec<RankStats> = (0..24).map(|_| rank_stats(&[1.0, 0.0], &[0])).collect();
        let s = summarize(&rows, Some(&labels), BootstrapConfig::default());
        assert_eq!(s.clusters, 2);
        assert_eq!(s.ci95.unwrap().top1, [1.0, 1.0]);
        let r = random_summary(172, 24);
        approx(r.top10, 10.0 / 172.0);
        approx(r.mean_rank, 86.5);
    }
}
