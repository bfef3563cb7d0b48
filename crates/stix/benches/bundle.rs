//! Loading the ATT&CK enterprise bundle (50 MB, 24,772 objects) with the streaming reader.
//!
//! The file is read once outside the measurement; the benchmarks measure parsing from
//! memory (`read_bundle_slice`) and through `impl Read` (`read_bundle` over a byte slice,
//! which exercises the reader path without disk I/O).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tiaki_stix::{read_bundle, read_bundle_slice};

const ATTACK: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/attack/enterprise-attack.json"
);

fn bench(c: &mut Criterion) {
    let Ok(bytes) = std::fs::read(ATTACK) else {
        eprintln!("skipping: {ATTACK} not found");
        return;
    };
    let mut g = c.benchmark_group("attack_enterprise_bundle");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("read_bundle_slice", |b| {
        b.iter(|| {
            let mut n = 0usize;
            read_bundle_slice(black_box(&bytes), |o| {
                n += 1;
                black_box(o);
            })
            .expect("ATT&CK bundle reads");
            assert_eq!(n, 24_772);
        })
    });
    g.bench_function("read_bundle_reader", |b| {
        b.iter(|| {
            let mut n = 0usize;
            read_bundle(std::io::BufReader::new(black_box(&bytes[..])), |o| {
                n += 1;
                black_box(o);
            })
            .expect("ATT&CK bundle reads");
            assert_eq!(n, 24_772);
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
