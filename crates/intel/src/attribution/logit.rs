//! A conditional-logit (multinomial "choose one candidate") fit by Newton's method.
//!
//! Case i offers candidates with feature vectors x_ig and a set of true candidates T_i; the
//! model gives candidate g the probability softmax_g(β·x_ig). Maximising Σ_i w_i ln Σ_{g∈T_i}
//! p_ig − λ/2‖β‖² is a smooth concave problem with a handful of parameters, so a few exact
//! Newton steps (gradient and Hessian are means and covariances under p) converge; no learning
//! rate to tune. Because it is a maximum-likelihood fit of exactly the probabilities the engine
//! reports, its probabilities are calibrated on the data it was fitted on — the weights are the
//! temperature.

/// One fitting case: `n_candidates × n_features` row-major features and the true candidates.
#[derive(Clone, Debug)]
pub struct LogitCase {
    /// Features, row-major, one row per candidate.
    pub x: Vec<f32>,
    /// Indices of the true candidates.
    pub truth: Vec<u32>,
    /// Case weight.
    pub weight: f64,
    /// A fixed per-candidate offset added to the linear score (empty = none), e.g. a declared
    /// log-prior that is not fitted.
    pub offset: Vec<f32>,
}

/// Fit result.
#[derive(Clone, Debug)]
pub struct LogitFit {
    /// Coefficients.
    pub beta: Vec<f64>,
    /// Mean negative log-likelihood per unit weight at the optimum.
    pub nll: f64,
    /// Newton iterations used.
    pub iterations: usize,
}

fn case_terms(
    c: &LogitCase,
    beta: &[f64],
    nf: usize,
    want_hess: bool,
    grad: &mut [f64],
    hess: &mut [f64],
    p: &mut Vec<f64>,
) -> f64 {
    let n = c.x.len() / nf;
    p.clear();
    p.extend((0..n).map(|g| {
        c.x[g * nf..(g + 1) * nf]
            .iter()
            .zip(beta)
            .map(|(&x, &b)| x as f64 * b)
            .sum::<f64>()
            + c.offset.get(g).map_or(0.0, |&o| o as f64)
    }));
    let m = p.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut z = 0.0;
    for v in p.iter_mut() {
        *v = (*v - m).exp();
        z += *v;
    }
    let zt: f64 = c.truth.iter().map(|&t| p[t as usize]).sum();
    for v in p.iter_mut() {
        *v /= z;
    }
    let nll = -(zt / z).ln();
    // Gradient of −ln Σ_T p = E_p[x] − E_{p|T}[x].
    let w = c.weight;
    let mut mean = vec![0.0; nf];
    let mut mean_t = vec![0.0; nf];
    let pt: f64 = c.truth.iter().map(|&t| p[t as usize]).sum();
    for (row, &pg) in c.x.chunks_exact(nf).zip(p.iter()) {
        for (m, &x) in mean.iter_mut().zip(row) {
            *m += pg * x as f64;
        }
    }
    for &t in &c.truth {
        let row = &c.x[t as usize * nf..(t as usize + 1) * nf];
        let q = p[t as usize] / pt;
        for k in 0..nf {
            mean_t[k] += q * row[k] as f64;
        }
    }
    for k in 0..nf {
        grad[k] += w * (mean[k] - mean_t[k]);
    }
    if want_hess {
        // Hessian of ln Z is Cov_p(x); the truth term's Hessian is −Cov_{p|T}(x), which is 0
        // for a single true candidate and is dropped (a positive semi-definite approximation).
        for (row, &pg) in c.x.chunks_exact(nf).zip(p.iter()) {
            for a in 0..nf {
                let da = row[a] as f64 - mean[a];
                if da == 0.0 {
                    continue;
                }
                for b in a..nf {
                    hess[a * nf + b] += w * pg * da * (row[b] as f64 - mean[b]);
                }
            }
        }
    }
    w * nll
}

/// Solves `a x = b` for a symmetric positive-definite `a` (n×n, upper triangle filled) by
/// Cholesky; returns `None` when `a` is not positive definite.
fn cholesky_solve(a: &[f64], b: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let aij = if j <= i { a[j * n + i] } else { a[i * n + j] };
            let mut s = aij;
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if s <= 0.0 {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i * n + k] * y[k];
        }
        y[i] = s / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let mut s = y[i];
        for k in i + 1..n {
            s -= l[k * n + i] * x[k];
        }
        x[i] = s / l[i * n + i];
    }
    Some(x)
}

/// Negative log-likelihood (weighted sum) plus the ridge penalty.
pub fn objective(cases: &[LogitCase], beta: &[f64], nf: usize, l2: f64) -> f64 {
    let mut g = vec![0.0; nf];
    let mut p = Vec::new();
    let nll: f64 = cases
        .iter()
        .map(|c| case_terms(c, beta, nf, false, &mut g, &mut [], &mut p))
        .sum();
    nll + 0.5 * l2 * beta.iter().map(|b| b * b).sum::<f64>()
}

/// Fits the coefficients (features `nf`, ridge `l2` on every coefficient), starting from `init`.
pub fn fit(cases: &[LogitCase], nf: usize, l2: f64, init: &[f64], max_iter: usize) -> LogitFit {
    let mut beta = init.to_vec();
    let total_w: f64 = cases.iter().map(|c| c.weight).sum::<f64>().max(1e-12);
    let mut p = Vec::new();
    let mut cur = objective(cases, &beta, nf, l2);
    let mut it = 0;
    while it < max_iter {
        it += 1;
        let mut grad = vec![0.0; nf];
        let mut hess = vec![0.0; nf * nf];
        for c in cases {
            case_terms(c, &beta, nf, true, &mut grad, &mut hess, &mut p);
        }
        for k in 0..nf {
            grad[k] += l2 * beta[k];
            hess[k * nf + k] += l2 + 1e-9 * total_w;
        }
        let Some(step) = cholesky_solve(&hess, &grad, nf) else {
            break;
        };
        let mut t = 1.0;
        let mut improved = false;
        for _ in 0..30 {
            let cand: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b - t * s).collect();
            let val = objective(cases, &cand, nf, l2);
            if val.is_finite() && val < cur {
                let gain = cur - val;
                beta = cand;
                cur = val;
                improved = true;
                if gain < 1e-9 * total_w {
                    it = max_iter;
                }
                break;
            }
            t *= 0.5;
        }
        if !improved {
            break;
        }
    }
    LogitFit {
        beta,
        nll: cur / total_w,
        iterations: it,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_known_coefficient() {
        // Two candidates; feature difference d; P(first) = σ(2·d).
        let mut cases = Vec::new();
        let mut state = 12345u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        for _ in 0..4000 {
            let d = next() * 2.0 - 1.0;
            let p1 = 1.0 / (1.0 + (-2.0 * d).exp());
            let truth = if next() < p1 { 0 } else { 1 };
            cases.push(LogitCase {
                x: vec![d as f32, 0.0],
                truth: vec![truth],
                weight: 1.0,
                offset: Vec::new(),
            });
        }
        let f = fit(&cases, 1, 0.0, &[0.0], 50);
        assert!((f.beta[0] - 2.0).abs() < 0.25, "{:?}", f.beta);
    }
}
