//! Bit-compatible re-implementations of the few numpy routines behind the reference benchmark's
//! bootstrap confidence intervals: `SeedSequence` → `PCG64` → `Generator.integers` (Lemire's
//! bounded method), numpy's pairwise float summation, and `percentile` with linear
//! interpolation.
//!
//! Why bother: the reference reports its E1 intervals from `default_rng(7)`, and an interval
//! bound sits on a grid of ratios where a different resampling stream moves it by a whole
//! grid step. Drawing the same stream makes the Rust intervals equal to the printed ones, so
//! the port can be checked to the last printed digit rather than "roughly".

/// numpy's `SeedSequence(entropy).generate_state(n_words, uint32)` for a non-negative integer
/// seed (no spawn key, pool size 4).
pub fn seed_sequence_state(seed: u128, n_words: usize) -> Vec<u32> {
    const INIT_A: u32 = 0x43b0_d7e5;
    const MULT_A: u32 = 0x931e_8875;
    const INIT_B: u32 = 0x8b51_f9dd;
    const MULT_B: u32 = 0x58f3_8ded;
    const MIX_MULT_L: u32 = 0xca01_f9dd;
    const MIX_MULT_R: u32 = 0x4973_f715;
    const POOL: usize = 4;

    // The seed as little-endian 32-bit words (at least one word).
    let mut entropy = Vec::new();
    let mut s = seed;
    loop {
        entropy.push(s as u32);
        s >>= 32;
        if s == 0 {
            break;
        }
    }
    let mut hash_const = INIT_A;
    let mut hashmix = |value: u32| -> u32 {
        let mut v = value ^ hash_const;
        hash_const = hash_const.wrapping_mul(MULT_A);
        v = v.wrapping_mul(hash_const);
        v ^ (v >> 16)
    };
    let mix = |x: u32, y: u32| -> u32 {
        let r = MIX_MULT_L
            .wrapping_mul(x)
            .wrapping_sub(MIX_MULT_R.wrapping_mul(y));
        r ^ (r >> 16)
    };
    let mut pool = [0u32; POOL];
    for (i, p) in pool.iter_mut().enumerate() {
        *p = hashmix(entropy.get(i).copied().unwrap_or(0));
    }
    for src in 0..POOL {
        for dst in 0..POOL {
            if src != dst {
                let h = hashmix(pool[src]);
                pool[dst] = mix(pool[dst], h);
            }
        }
    }
    for &e in entropy.iter().skip(POOL) {
        for p in pool.iter_mut() {
            let h = hashmix(e);
            *p = mix(*p, h);
        }
    }
    let mut hc = INIT_B;
    (0..n_words)
        .map(|i| {
            let mut v = pool[i % POOL] ^ hc;
            hc = hc.wrapping_mul(MULT_B);
            v = v.wrapping_mul(hc);
            v ^ (v >> 16)
        })
        .collect()
}

/// numpy's `PCG64` bit generator (XSL-RR output, 128-bit LCG), seeded like
/// `numpy.random.default_rng(seed)`.
#[derive(Clone, Debug)]
pub struct Pcg64 {
    state: u128,
    inc: u128,
    spare: Option<u32>,
}

const PCG_MULT: u128 = 0x2360_ed05_1fc6_5da4_4385_df64_9fcc_f645;

impl Pcg64 {
    /// The generator `numpy.random.default_rng(seed)` uses.
    pub fn new(seed: u128) -> Self {
        let w = seed_sequence_state(seed, 8);
        let word = |i: usize| (w[2 * i] as u64) | ((w[2 * i + 1] as u64) << 32);
        let initstate = ((word(0) as u128) << 64) | word(1) as u128;
        let initseq = ((word(2) as u128) << 64) | word(3) as u128;
        let mut g = Self {
            state: 0,
            inc: (initseq << 1) | 1,
            spare: None,
        };
        g.step();
        g.state = g.state.wrapping_add(initstate);
        g.step();
        g
    }

    fn step(&mut self) {
        self.state = self.state.wrapping_mul(PCG_MULT).wrapping_add(self.inc);
    }

    /// The next 64-bit output.
    pub fn next_u64(&mut self) -> u64 {
        self.step();
        let hi = (self.state >> 64) as u64;
        let lo = self.state as u64;
        (hi ^ lo).rotate_right((self.state >> 122) as u32)
    }

    /// The next 32-bit output: the low half of a 64-bit output, then its high half.
    pub fn next_u32(&mut self) -> u32 {
        if let Some(s) = self.spare.take() {
            return s;
        }
        let x = self.next_u64();
        self.spare = Some((x >> 32) as u32);
        x as u32
    }

    /// `Generator.integers(0, n)` for `1 <= n <= 2^32 - 1`: Lemire's bounded method on 32-bit
    /// draws, as numpy does for ranges that fit in 32 bits.
    pub fn integer_below(&mut self, n: u32) -> u32 {
        assert!(n >= 1, "empty range");
        let rng = n - 1;
        if rng == 0 {
            return 0;
        }
        let excl = n;
        let mut m = (self.next_u32() as u64) * excl as u64;
        let mut leftover = m as u32;
        if leftover < excl {
            let threshold = (u32::MAX - rng) % excl;
            while leftover < threshold {
                m = (self.next_u32() as u64) * excl as u64;
                leftover = m as u32;
            }
        }
        (m >> 32) as u32
    }
}

/// numpy's pairwise summation (`np.sum` over a contiguous axis), bit for bit.
pub fn pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut r = 0.0;
        for &x in a {
            r += x;
        }
        r
    } else if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - (n % 8) {
            for j in 0..8 {
                r[j] += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += a[i];
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

/// numpy's mean: pairwise sum divided by the count.
pub fn mean(a: &[f64]) -> f64 {
    pairwise_sum(a) / a.len() as f64
}

/// `np.percentile(a, q)` with the default linear method. `a` need not be sorted.
pub fn percentile(a: &[f64], q: f64) -> f64 {
    assert!(!a.is_empty(), "percentile of nothing");
    let mut s = a.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len() as f64;
    let quantile = q / 100.0;
    // numpy's _compute_virtual_index: n*q + (alpha + q*(1 - alpha - beta)) - 1, alpha = beta = 1,
    // evaluated in the same order.
    let (alpha, beta) = (1.0f64, 1.0f64);
    let virtual_index = n * quantile + (alpha + quantile * (1.0 - alpha - beta)) - 1.0;
    let prev = virtual_index.floor();
    let gamma = virtual_index - prev;
    let last = s.len() - 1;
    let lo = (prev.max(0.0) as usize).min(last);
    let hi = ((prev + 1.0).max(0.0) as usize).min(last);
    let (a, b) = (s[lo], s[hi]);
    let diff = b - a;
    if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    }
}

/// Python's `round(x, 3)`: correctly rounded to three decimals, ties to even on the exact
/// binary value (Rust's fixed-precision formatting rounds the same way).
pub fn round3(x: f64) -> f64 {
    format!("{x:.3}").parse().unwrap_or(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_sequence_matches_numpy() {
        // np.random.SeedSequence(7).generate_state(4, np.uint64)
        let w = seed_sequence_state(7, 8);
        let words: Vec<u64> = (0..4)
            .map(|i| (w[2 * i] as u64) | ((w[2 * i + 1] as u64) << 32))
            .collect();
        assert_eq!(
            words,
            [
                16920295385781661272,
                610735763742393210,
                7078124019849193311,
                12917519645081627820
            ]
        );
    }

    #[test]
    fn integers_match_numpy() {
        // np.random.default_rng(7).integers(0, 24, size=(2, 24)).ravel()[:24]
        let mut g = Pcg64::new(7);
        let got: Vec<u32> = (0..24).map(|_| g.integer_below(24)).collect();
        assert_eq!(
            got,
            [
                22, 15, 16, 21, 13, 18, 20, 5, 1, 7, 6, 20, 21, 0, 11, 19, 3, 19, 2, 11, 19, 7, 8,
                6
            ]
        );
        // np.random.default_rng(7).integers(0, 91, size=12)
        let mut g = Pcg64::new(7);
        let got: Vec<u32> = (0..12).map(|_| g.integer_below(91)).collect();
        assert_eq!(got, [85, 56, 62, 81, 52, 70, 75, 20, 5, 27, 25, 79]);
    }

    #[test]
    fn pairwise_sum_groups_like_numpy() {
        // 0.1 summed 10 times: numpy gives 1.0 (8 accumulators, then 2 sequential adds),
        // a left-to-right loop gives 0.9999999999999999.
        let a = [0.1; 10];
        assert_eq!(pairwise_sum(&a), 1.0);
        assert_eq!(a.iter().sum::<f64>(), 0.9999999999999999);
        assert_eq!(pairwise_sum(&[]), 0.0);
    }

    #[test]
    fn percentile_interpolates_linearly() {
        let a: Vec<f64> = (0..1000).map(|i| i as f64).collect();
        assert!((percentile(&a, 2.5) - 24.975).abs() < 1e-9);
        assert!((percentile(&a, 97.5) - 974.025).abs() < 1e-9);
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 50.0), 2.0);
        assert_eq!(percentile(&[5.0], 2.5), 5.0);
        assert_eq!(round3(0.0625), 0.062);
        assert_eq!(round3(0.0125), 0.013);
    }
}
