//! Ranking one query against every ATT&CK group with the TF-IDF baseline.
//!
//! Needs the shared ATT&CK bundle (`../shared/data/attack/enterprise-attack.json` from the
//! repository root). Run with `cargo bench -p tiaki-intel --bench rank`.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use tiaki_intel::KnowledgeBase;
use tiaki_intel::eval::{Baseline, Benchmark, NbParams, Query, Scorer, rank_stats};
use tiaki_intel::kb::TokenMode;

fn rank(c: &mut Criterion) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/attack/enterprise-attack.json");
    let kb = KnowledgeBase::from_bundle_file(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let bench = Benchmark::new(&kb, TokenMode::Both);
    let profiles = bench.plain_profiles();
    // The query: campaign C0049 (Leviathan Australian Intrusions), 26 techniques → 33 tokens.
    let c0049 = kb.by_external_id("C0049").expect("C0049");
    let query = Query::new(bench.vocab().tokens_of(kb.uses(c0049).map(|(t, _)| t)));
    let truth = [bench.group_index(kb.resolve("G0065").unwrap()).unwrap()];
    let mut tfidf = Baseline::Tfidf.scorer(NbParams::default());
    tfidf.fit(&profiles);
    let mut scores = vec![0.0; profiles.n_groups()];

    c.bench_function("tfidf score 172 groups (C0049, 33 tokens)", |b| {
        b.iter(|| {
            tfidf.score(black_box(&query), &mut scores);
            black_box(&scores);
        })
    });
    c.bench_function("tfidf score + rank of true group", |b| {
        b.iter(|| {
            tfidf.score(black_box(&query), &mut scores);
            black_box(rank_stats(&scores, &truth))
        })
    });
    let mut order: Vec<u32> = (0..profiles.n_groups() as u32).collect();
    c.bench_function("tfidf score + top-10 list", |b| {
        b.iter(|| {
            tfidf.score(black_box(&query), &mut scores);
            order.select_nth_unstable_by(9, |&a, &b| {
                scores[b as usize].total_cmp(&scores[a as usize])
            });
            order[..10]
                .sort_unstable_by(|&a, &b| scores[b as usize].total_cmp(&scores[a as usize]));
            black_box(&order[..10]);
        })
    });
    c.bench_function("tfidf fit (one fold)", |b| {
        b.iter(|| tfidf.fit(black_box(&profiles)))
    });
}

criterion_group!(benches, rank);
criterion_main!(benches);
