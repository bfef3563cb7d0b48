//! Builds the indicator index over 1,000,000 generated mixed indicators and reports build
//! time, heap memory and lookup speed:
//!
//! ```text
//! cargo run --release -p tiaki-indicators --example index_scale [-- COUNT]
//! ```
//!
//! The mix resembles a national feed: mostly digests, domains, addresses and URLs; some
//! networks, file objects (name AND hash), address-and-port pairs, substrings and STIX
//! patterns; 20 sources, 200 intrusion sets, a third with validity windows. Heap figures
//! come from a counting allocator; lookups are checked to allocate nothing.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

use chrono::{DateTime, Utc};
use tiaki_indicators::{
    Condition, IndexHit, Indicator, IndicatorIndex, Observable, ObservableKind as K, Term,
};
use tiaki_stix::Tlp;

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size(), Relaxed);
        ALLOCS.fetch_add(1, Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new, Relaxed);
        LIVE.fetch_sub(l.size(), Relaxed);
        ALLOCS.fetch_add(1, Relaxed);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn hex(&mut self, digits: usize) -> String {
        let mut s = String::with_capacity(digits);
        while s.len() < digits {
            s.push_str(&format!("{:016x}", self.next()));
        }
        s.truncate(digits);
        s
    }
    fn word(&mut self) -> String {
        const SYL: [&str; 16] = [
            "ka", "to", "ri", "mu", "ne", "za", "lo", "pi", "ve", "du", "sha", "qui", "bre", "xo",
            "fen", "gar",
        ];
        (0..2 + self.below(3))
            .map(|_| SYL[self.below(16) as usize])
            .collect()
    }
    fn domain(&mut self) -> String {
        const TLD: [&str; 6] = ["com", "net", "org", "ru", "cn", "xyz"];
        format!(
            "{}.{}.{}",
            self.word(),
            self.word(),
            TLD[self.below(6) as usize]
        )
    }
    fn ipv4(&mut self) -> String {
        let a = self.next() as u32;
        std::net::Ipv4Addr::from(a | 0x0100_0000).to_string()
    }
}

fn mb(b: usize) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

/// This thread's time on a CPU, in nanoseconds (the machine may be shared: wall time
/// overstates the cost when other work competes for the cores).
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn rss_kb() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let l = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    l.split_whitespace().nth(1)?.parse().ok()
}

fn generate(n: usize, rng: &mut Rng) -> Vec<Indicator> {
    let sources: Vec<Arc<str>> = (0..20)
        .map(|i| Arc::from(format!("/feeds/partner-{i}/indicators.json").as_str()))
        .collect();
    let actors: Vec<Arc<str>> = (0..200)
        .map(|i| Arc::from(format!("APT{i}").as_str()))
        .collect();
    let labels: Vec<Arc<str>> = ["malicious-activity", "Network activity", "Payload delivery"]
        .into_iter()
        .map(Arc::from)
        .collect();
    let base = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let r = rng.below(1000);
        let eq = |k, v: &str| Term::equals(k, v).unwrap();
        let cond = match r {
            0..350 => Condition::All(vec![eq(K::Sha256, &rng.hex(64))]),
            350..450 => Condition::All(vec![eq(K::Md5, &rng.hex(32))]),
            450..500 => Condition::All(vec![eq(K::Sha1, &rng.hex(40))]),
            500..650 => Condition::All(vec![eq(K::Domain, &rng.domain())]),
            650..770 => Condition::All(vec![eq(K::Ipv4, &rng.ipv4())]),
            770..790 => Condition::All(vec![eq(
                K::Ipv6,
                &format!("2001:db8:{:x}::{:x}", rng.below(65536), rng.below(65536)),
            )]),
            790..820 => {
                let len = 16 + rng.below(15);
                Condition::All(vec![Term::ip(&format!("{}/{len}", rng.ipv4())).unwrap()])
            }
            820..830 => {
                let len = 32 + rng.below(33);
                Condition::All(vec![
                    Term::ip(&format!("2001:db8:{:x}::/{len}", rng.below(65536))).unwrap(),
                ])
            }
            830..910 => Condition::All(vec![eq(
                K::Url,
                &format!("http://{}/{}/{}.php", rng.domain(), rng.word(), rng.word()),
            )]),
            910..950 => Condition::All(vec![
                eq(K::FileName, &format!("{}.exe", rng.word())),
                eq(K::Sha256, &rng.hex(64)),
            ]),
            950..970 => Condition::All(vec![
                eq(K::Ipv4, &rng.ipv4()),
                eq(K::Port, &(1024 + rng.below(60000)).to_string()),
            ]),
            970..990 => {
                if rng.below(2) == 0 {
                    Condition::All(vec![
                        Term::contains(
                            K::Url,
                            &format!("/{}/{}{}.php", rng.word(), rng.word(), rng.word()),
                        )
                        .unwrap(),
                    ])
                } else {
                    Condition::All(vec![
                        Term::contains(
                            K::UserAgent,
                            &format!("{}bot/{}", rng.word(), rng.below(100)),
                        )
                        .unwrap(),
                    ])
                }
            }
            _ => Condition::Pattern(format!("[domain-name:value = '{}']", rng.domain())),
        };
        let mut ind = Indicator::new(
            format!(
                "indicator--{}-{}-4{}-8{}-{}",
                rng.hex(8),
                rng.hex(4),
                rng.hex(3),
                rng.hex(3),
                rng.hex(12)
            ),
            sources[rng.below(20) as usize].clone(),
            cond,
        );
        ind.tlp = Some(Tlp::ALL[rng.below(4) as usize]);
        if rng.below(10) == 0 {
            ind.intrusion_sets
                .push(actors[rng.below(200) as usize].clone());
        }
        ind.labels.push(labels[rng.below(3) as usize].clone());
        if rng.below(3) == 0 {
            let from = base + chrono::Duration::days(rng.below(300) as i64);
            ind.valid_from = Some(from);
            ind.valid_until = Some(from + chrono::Duration::days(90));
        }
        ind.confidence = Some(rng.below(101) as u8);
        out.push(ind);
    }
    out
}

/// An event's observables; one event in `hit_every` carries a value from the feed.
fn events(n: usize, rng: &mut Rng, idx: &IndicatorIndex, hit_every: usize) -> Vec<Vec<Observable>> {
    (0..n)
        .map(|i| {
            let mut e = vec![
                Observable::new(K::Ipv4, &rng.ipv4()).unwrap(),
                Observable::new(K::Ipv4, &rng.ipv4()).unwrap(),
                Observable::new(K::Port, "443").unwrap(),
                Observable::new(K::Domain, &rng.domain()).unwrap(),
                Observable::new(
                    K::Url,
                    &format!("https://{}/{}/index.php?q=1", rng.domain(), rng.word()),
                )
                .unwrap(),
                Observable::new(
                    K::UserAgent,
                    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36",
                )
                .unwrap(),
                Observable::new(K::FileName, &format!("{}.exe", rng.word())).unwrap(),
                Observable::new(K::Sha256, &rng.hex(64)).unwrap(),
            ];
            if i % hit_every == 0 {
                let ind = idx.get(rng.below(idx.len() as u64) as u32);
                if let Some(alt) = ind.condition.alternatives().first() {
                    for t in alt {
                        if let tiaki_indicators::ValueTest::Equals(v) = &t.test {
                            e.push(Observable {
                                kind: t.kind,
                                value: v.clone(),
                            });
                        }
                    }
                }
            }
            e
        })
        .collect()
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);

    let t = Instant::now();
    let before = LIVE.load(Relaxed);
    let inds = generate(n, &mut rng);
    let feed_heap = LIVE.load(Relaxed) - before;
    println!(
        "generated {n} indicators in {:.2?}: {:.1} MiB heap ({:.0} B per indicator, Indicator is {} B inline)",
        t.elapsed(),
        mb(feed_heap),
        feed_heap as f64 / n as f64,
        std::mem::size_of::<Indicator>()
    );

    let t = Instant::now();
    let c = cpu_ns();
    let idx = IndicatorIndex::build(inds);
    let build = t.elapsed();
    let build_cpu = (cpu_ns() - c) as f64 / 1e6;
    let total = LIVE.load(Relaxed) - before;
    println!(
        "built the index in {build:.2?} ({build_cpu:.0} ms on CPU): {:.1} MiB heap in all, {:.1} MiB for the index structures ({:.0} B per indicator); RSS {:.1} MiB",
        mb(total),
        mb(total.saturating_sub(feed_heap)),
        total.saturating_sub(feed_heap) as f64 / n as f64,
        rss_kb().unwrap_or(0) as f64 / 1024.0
    );
    println!("{:?}", idx.stats());

    let evs = events(200_000, &mut rng, &idx, 100);
    let obs: usize = evs.iter().map(Vec::len).sum();
    let at = Some(DateTime::<Utc>::from_timestamp(1_710_000_000, 0).unwrap());
    let mut out: Vec<IndexHit> = Vec::with_capacity(64);
    let mut hits = 0usize;
    // Warm up, then measure.
    for e in evs.iter().take(10_000) {
        out.clear();
        idx.lookup(e, at, &mut out);
    }
    let t = Instant::now();
    let c = cpu_ns();
    let allocs = ALLOCS.load(Relaxed);
    for e in &evs {
        out.clear();
        idx.lookup(e, at, &mut out);
        hits += out.len();
    }
    let allocs = ALLOCS.load(Relaxed) - allocs;
    let cpu = cpu_ns() - c;
    let el = t.elapsed();
    println!(
        "looked up {} events ({obs} observables) in {el:.2?} wall, {:.0} ms on CPU: {:.0} ns per event, {:.0} ns per observable, {:.2} M events/s on one thread (CPU time); {hits} hits; {allocs} allocations during lookups",
        evs.len(),
        cpu as f64 / 1e6,
        cpu as f64 / evs.len() as f64,
        cpu as f64 / obs as f64,
        evs.len() as f64 / (cpu as f64 / 1e9) / 1e6,
    );

    // The cost per observable kind.
    for kind in [
        K::Ipv4,
        K::Port,
        K::Domain,
        K::Url,
        K::UserAgent,
        K::FileName,
        K::Sha256,
    ] {
        let only: Vec<Vec<Observable>> = evs
            .iter()
            .map(|e| e.iter().filter(|o| o.kind == kind).cloned().collect())
            .collect();
        let n: usize = only.iter().map(Vec::len).sum();
        let c = cpu_ns();
        for e in &only {
            out.clear();
            idx.lookup(e, at, &mut out);
        }
        println!(
            "  {:>10}: {:.0} ns per observable",
            kind.as_str(),
            (cpu_ns() - c) as f64 / n as f64
        );
    }
}
