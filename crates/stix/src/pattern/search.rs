//! Finding a binding: which observations satisfy the observation-level logic.
//!
//! Every observation is split into `number_observed` interchangeable units. A binding
//! assigns a unit to every bracket the pattern needs; the units of one binding are all
//! different, which is what makes `[a] AND [b]` need two observations and `REPEATS 5
//! TIMES` five. The search is depth-first with backtracking, in continuation-passing
//! style: each node extends the binding and calls the rest of the search for every way
//! it can. Qualifiers constrain the units added inside them and are checked as each unit
//! is added, so windows prune early (and, when the observations are in time order, a
//! leaf stops scanning once a window has passed). `REPEATS` takes its copies in
//! non-decreasing order of their first unit, which removes the n! permutations of each
//! solution.
//!
//! Time semantics, where an observation covers the interval [first, last]:
//! * `WITHIN w`: some window of length w meets every interval of the binding, that is
//!   max(first) − min(last) ≤ w.
//! * `START a STOP b`: every interval meets [a, b): first < b and last ≥ a.
//! * `A FOLLOWEDBY B`: the observations of A can all be placed no later than those of
//!   B: max(first of A) ≤ min(last of B).
//!
//! For single-instant observations these are the plain definitions.

use super::MatchError;

/// The observation-level logic with the brackets replaced by their index.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Leaf(usize),
    And(Vec<Node>),
    Or(Vec<Node>),
    /// `a FOLLOWEDBY b` (chains are nested to the left).
    FollowedBy(Box<Node>, Box<Node>),
    Within(Box<Node>, i128),
    StartStop(Box<Node>, i128, i128),
    Repeats(Box<Node>, u64),
}

impl Node {
    /// The largest `REPEATS` count in the tree, if any.
    pub(crate) fn max_repeats(&self) -> Option<u64> {
        match self {
            Node::Leaf(_) => None,
            Node::And(items) | Node::Or(items) => items.iter().filter_map(Node::max_repeats).max(),
            Node::FollowedBy(a, b) => a.max_repeats().max(b.max_repeats()),
            Node::Within(inner, _) | Node::StartStop(inner, _, _) => inner.max_repeats(),
            Node::Repeats(inner, n) => Some(inner.max_repeats().map_or(*n, |m| m.max(*n))),
        }
    }
}

#[derive(Clone, Copy)]
enum Constraint {
    Within {
        start: usize,
        nanos: i128,
    },
    StartStop {
        lo: i128,
        hi: i128,
    },
    /// The right-hand side of a FOLLOWEDBY: every unit must end no earlier than `t`.
    NotBefore {
        t: i128,
    },
}

/// Per observation: (first, last) in nanoseconds and the number of units.
pub(crate) struct Units {
    pub times: Vec<(i128, i128)>,
    pub counts: Vec<u64>,
    /// The observations are in ascending order of `first`, so a leaf can stop scanning
    /// its candidates once a time window is passed.
    pub sorted: bool,
}

impl Units {
    pub(crate) fn new(times: Vec<(i128, i128)>, counts: Vec<u64>) -> Units {
        let sorted = times.windows(2).all(|w| w[0].0 <= w[1].0);
        Units {
            times,
            counts,
            sorted,
        }
    }
}

/// What a leaf does with a candidate observation.
#[derive(PartialEq, Eq)]
enum Fit {
    Yes,
    No,
    /// No, and (the observations being sorted by time) no later candidate fits either.
    NoneAfter,
}

pub(crate) struct Search<'a> {
    units: &'a Units,
    /// Per bracket, the observations (indices, ascending) that satisfy it.
    hits: &'a [Vec<usize>],
    used: Vec<u64>,
    trail: Vec<usize>,
    constraints: Vec<Constraint>,
    min_next: Option<usize>,
    steps: u64,
    budget: u64,
    exhausted: bool,
    /// Units in all (saturating): a `REPEATS` needing more copies than units are left
    /// fails at once instead of nesting.
    total_units: u64,
}

type Cont<'k, 'a> = &'k mut dyn FnMut(&mut Search<'a>) -> bool;

impl<'a> Search<'a> {
    pub(crate) fn new(units: &'a Units, hits: &'a [Vec<usize>], budget: u64) -> Search<'a> {
        Search {
            units,
            hits,
            used: vec![0; units.counts.len()],
            trail: Vec::new(),
            constraints: Vec::new(),
            min_next: None,
            steps: 0,
            budget,
            exhausted: false,
            total_units: units
                .counts
                .iter()
                .fold(0u64, |a, &c| a.saturating_add(c.max(1))),
        }
    }

    /// The first binding found (observation index per unit, in bracket order).
    pub(crate) fn run(mut self, root: &Node) -> Result<Option<Vec<usize>>, MatchError> {
        let mut found = None;
        self.solve(root, &mut |s| {
            found = Some(s.trail.clone());
            true
        });
        if found.is_none() && self.exhausted {
            return Err(MatchError::TooComplex(self.budget));
        }
        Ok(found)
    }

    fn fits(&self, i: usize) -> Fit {
        let (first, last) = self.units.times[i];
        let mut fit = Fit::Yes;
        for c in &self.constraints {
            match *c {
                Constraint::StartStop { lo, hi } => {
                    if first >= hi && self.units.sorted {
                        return Fit::NoneAfter;
                    }
                    if !(first < hi && last >= lo) {
                        fit = Fit::No;
                    }
                }
                Constraint::NotBefore { t } => {
                    if last < t {
                        fit = Fit::No;
                    }
                }
                Constraint::Within { start, nanos } => {
                    let mut max_first = first;
                    let mut min_last = last;
                    let mut min_last_before = i128::MAX;
                    for &j in &self.trail[start..] {
                        let (f, l) = self.units.times[j];
                        max_first = max_first.max(f);
                        min_last = min_last.min(l);
                        min_last_before = min_last_before.min(l);
                    }
                    if max_first - min_last > nanos {
                        if self.units.sorted
                            && min_last_before != i128::MAX
                            && first - min_last_before > nanos
                        {
                            return Fit::NoneAfter;
                        }
                        fit = Fit::No;
                    }
                }
            }
        }
        fit
    }

    fn solve(&mut self, node: &Node, k: Cont<'_, 'a>) -> bool {
        if self.exhausted {
            return false;
        }
        match node {
            Node::Leaf(b) => {
                let min = self.min_next.take();
                let all: &'a [Vec<usize>] = self.hits;
                let hits = &all[*b];
                let from = min.map_or(0, |m| hits.partition_point(|&i| i < m));
                for &i in &hits[from..] {
                    if self.used[i] >= self.units.counts[i] {
                        continue;
                    }
                    match self.fits(i) {
                        Fit::Yes => {}
                        Fit::No => continue,
                        Fit::NoneAfter => break,
                    }
                    self.steps += 1;
                    if self.steps > self.budget {
                        self.exhausted = true;
                        break;
                    }
                    self.used[i] += 1;
                    self.trail.push(i);
                    let done = k(self);
                    self.trail.pop();
                    self.used[i] -= 1;
                    if done {
                        self.min_next = min;
                        return true;
                    }
                    if self.exhausted {
                        break;
                    }
                }
                self.min_next = min;
                false
            }
            Node::And(items) => self.solve_seq(items, k),
            Node::Or(items) => {
                for item in items {
                    if self.solve(item, k) {
                        return true;
                    }
                }
                false
            }
            Node::FollowedBy(a, b) => {
                let start_a = self.trail.len();
                self.solve(a, &mut |s: &mut Search<'a>| {
                    let start_b = s.trail.len();
                    let times = &s.units.times;
                    let t = s.trail[start_a..start_b]
                        .iter()
                        .map(|&j| times[j].0)
                        .max()
                        .unwrap_or(i128::MIN);
                    s.scoped(b, Constraint::NotBefore { t }, &mut |s2: &mut Search<
                        'a,
                    >| {
                        let times = &s2.units.times;
                        let max_first_a =
                            s2.trail[start_a..start_b].iter().map(|&j| times[j].0).max();
                        let min_last_b = s2.trail[start_b..].iter().map(|&j| times[j].1).min();
                        match (max_first_a, min_last_b) {
                            (Some(x), Some(y)) if x > y => false,
                            _ => k(s2),
                        }
                    })
                })
            }
            Node::Within(inner, nanos) => {
                let c = Constraint::Within {
                    start: self.trail.len(),
                    nanos: *nanos,
                };
                self.scoped(inner, c, k)
            }
            Node::StartStop(inner, lo, hi) => {
                self.scoped(inner, Constraint::StartStop { lo: *lo, hi: *hi }, k)
            }
            Node::Repeats(inner, n) => self.repeat(inner, *n, k),
        }
    }

    /// Solves `inner` with `c` active for the units it adds, then continues without it.
    fn scoped(&mut self, inner: &Node, c: Constraint, k: Cont<'_, 'a>) -> bool {
        self.constraints.push(c);
        let r = self.solve(inner, &mut |s: &mut Search<'a>| {
            let mine = s.constraints.pop();
            let r = k(s);
            if let Some(mine) = mine {
                s.constraints.push(mine);
            }
            r
        });
        self.constraints.pop();
        r
    }

    fn solve_seq(&mut self, items: &[Node], k: Cont<'_, 'a>) -> bool {
        match items.split_first() {
            None => k(self),
            Some((first, rest)) => {
                self.solve(first, &mut |s: &mut Search<'a>| s.solve_seq(rest, &mut *k))
            }
        }
    }

    fn repeat(&mut self, inner: &Node, remaining: u64, k: Cont<'_, 'a>) -> bool {
        if remaining == 0 {
            return k(self);
        }
        // Every copy takes at least one unit of its own.
        if remaining > self.total_units.saturating_sub(self.trail.len() as u64) {
            return false;
        }
        // The copies after the first start no earlier than the previous copy's first unit.
        let start = self.trail.len();
        self.solve(inner, &mut |s: &mut Search<'a>| {
            if remaining == 1 {
                return k(s);
            }
            let first = s.trail[start];
            let saved = s.min_next.replace(first);
            let r = s.repeat(inner, remaining - 1, &mut *k);
            s.min_next = saved;
            r
        })
    }
}
