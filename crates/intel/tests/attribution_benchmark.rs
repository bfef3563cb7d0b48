//! tiaki's attribution model on the ATT&CK Enterprise v18.1 benchmark, against the TF-IDF
//! baseline, with the leakage controls of the benchmark protocols.
//!
//! The bounds are the figures measured when the model was committed (see the crate README),
//! less a margin for the smaller number of random draws used here; a change that makes the
//! model worse than the baseline, or miscalibrated, fails. Where tiaki does **not** beat
//! TF-IDF (E1 with techniques *and* software), the test pins that it does not fall far behind,
//! and says so.
//!
//! The ATT&CK bundle is read from the shared data folder (`../shared` from the repository
//! root), never copied into the repository.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Instant;

use tiaki_intel::KnowledgeBase;
use tiaki_intel::attribution::{
    Evidence, ModelParams, Options, Prior, TiakiScorer, Verdict, attribute,
};
use tiaki_intel::eval::{
    Baseline, Benchmark, BootstrapConfig, CaseSet, Construction, E1Setting, E2Setting, E3Variant,
    Evidence as E1Evidence, FalsePositives, MethodRows, NbParams, RngKind, Scorer, calibration,
    evaluate, metrics,
};
use tiaki_intel::kb::TokenMode;

fn kb() -> &'static KnowledgeBase {
    static KB: OnceLock<KnowledgeBase> = OnceLock::new();
    KB.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/attack/enterprise-attack.json");
        KnowledgeBase::from_bundle_file(&path)
            .unwrap_or_else(|e| panic!("loading {}: {e}", path.display()))
    })
}

struct Row {
    mrr: f64,
    top10: f64,
    ece: Option<f64>,
}

/// tiaki (documentation prior), tiaki-uniform and TF-IDF on one case set.
fn run(set: &CaseSet) -> [Row; 3] {
    let params = ModelParams::default();
    let mut a = TiakiScorer::new("tiaki", &params, Prior::Documentation);
    let mut b = TiakiScorer::new("tiaki-uniform", &params, Prior::Uniform);
    let mut t = Baseline::Tfidf.scorer(NbParams::default());
    let mut all: Vec<&mut dyn Scorer> = vec![&mut a, &mut b, &mut t];
    let rows = evaluate(set, &mut all).unwrap();
    let summarize = |m: &MethodRows| {
        let s = metrics::summarize(
            &m.rows,
            None,
            BootstrapConfig {
                resamples: 0,
                ..Default::default()
            },
        );
        let ece = m.confidence.as_ref().map(|c| {
            let correct: Vec<f64> = m.rows.iter().map(|r| r.top1).collect();
            calibration::ece(c, &correct, 10)
        });
        Row {
            mrr: s.mrr,
            top10: s.top10,
            ece,
        }
    };
    [
        summarize(&rows[0]),
        summarize(&rows[1]),
        summarize(&rows[2]),
    ]
}

fn e1(evidence: E1Evidence) -> CaseSet {
    let bench = Benchmark::new(kb(), TokenMode::Both);
    bench
        .e1_cases(E1Setting {
            construction: Construction::CleanStrict,
            evidence,
            expand_software: false,
        })
        .0
}

#[test]
fn campaign_hold_out_clean_strict() {
    let [tiaki, uniform, tfidf] = run(&e1(E1Evidence::Techniques));
    eprintln!(
        "E1 clean|tech: tiaki MRR {:.3} top-10 {:.3}; uniform {:.3}; tfidf {:.3} / {:.3}",
        tiaki.mrr, tiaki.top10, uniform.mrr, tfidf.mrr, tfidf.top10
    );
    // Measured: tiaki 0.207 / 0.391, TF-IDF 0.177 / 0.304 (23 campaigns, deterministic).
    assert!(
        tiaki.mrr > tfidf.mrr + 0.02,
        "E1 tech MRR {} vs {}",
        tiaki.mrr,
        tfidf.mrr
    );
    assert!(tiaki.top10 > tfidf.top10 + 0.05);

    let [tiaki, uniform, tfidf] = run(&e1(E1Evidence::TechniquesAndSoftware));
    eprintln!(
        "E1 clean|tech+sw: tiaki MRR {:.3} top-10 {:.3}; uniform {:.3}; tfidf {:.3} / {:.3}",
        tiaki.mrr, tiaki.top10, uniform.mrr, tfidf.mrr, tfidf.top10
    );
    // Not beaten: measured tiaki 0.151 / 0.250 against TF-IDF 0.174 / 0.377. Pin the gap.
    assert!(
        tiaki.mrr > tfidf.mrr - 0.04,
        "E1 tech+sw MRR {} vs {}",
        tiaki.mrr,
        tfidf.mrr
    );
    assert!(tiaki.mrr > 0.12);
}

#[test]
fn report_hold_out_and_calibration() {
    let bench = Benchmark::new(kb(), TokenMode::Both);
    let s2 = bench
        .e3_case_sets(&[E3Variant::S2Report], 5, RngKind::ChaCha8, 20240614)
        .pop()
        .unwrap();
    let [tiaki, uniform, tfidf] = run(&s2);
    eprintln!(
        "S2 ({} cases): tiaki MRR {:.3} ECE {:.3}; uniform {:.3} ECE {:.3}; tfidf {:.3}",
        s2.cases.len(),
        tiaki.mrr,
        tiaki.ece.unwrap(),
        uniform.mrr,
        uniform.ece.unwrap(),
        tfidf.mrr
    );
    // Measured (reps 10): tiaki 0.443, tiaki-uniform 0.456, TF-IDF 0.431; ECE 0.047.
    assert!(
        tiaki.mrr > tfidf.mrr,
        "S2 MRR {} vs {}",
        tiaki.mrr,
        tfidf.mrr
    );
    assert!(
        uniform.mrr > tfidf.mrr + 0.01,
        "S2 MRR {} vs {}",
        uniform.mrr,
        tfidf.mrr
    );
    assert!(tiaki.ece.unwrap() < 0.08, "S2 ECE {}", tiaki.ece.unwrap());
    assert!(uniform.ece.unwrap() < 0.12);
}

#[test]
fn noisy_partial_evidence() {
    let bench = Benchmark::new(kb(), TokenMode::Both);
    let settings: Vec<E2Setting> = [3, 5, 10]
        .iter()
        .map(|&k| E2Setting {
            k,
            fp: 2,
            kind: FalsePositives::Uniform,
        })
        .collect();
    let sets = bench.e2_case_sets(&settings, 10, RngKind::ChaCha8, 20240613);
    for (s, set) in settings.iter().zip(&sets) {
        let [tiaki, _, tfidf] = run(set);
        eprintln!(
            "E2 k={}: tiaki MRR {:.3} top-10 {:.3} ECE {:.3}; tfidf {:.3} / {:.3}",
            s.k,
            tiaki.mrr,
            tiaki.top10,
            tiaki.ece.unwrap(),
            tfidf.mrr,
            tfidf.top10
        );
        // Measured (these draws): MRR 0.128 / 0.151 / 0.184 against 0.065 / 0.097 / 0.138;
        // ECE 0.093 / 0.073 / 0.116.
        assert!(tiaki.mrr > tfidf.mrr + 0.025, "k={}", s.k);
        assert!(tiaki.top10 > tfidf.top10 + 0.05, "k={}", s.k);
        assert!(tiaki.ece.unwrap() < 0.15, "k={}", s.k);
    }
}

#[test]
fn unique_malware_and_generic_evidence_on_attack() {
    let kb = kb();
    let two = Evidence {
        software: vec!["NanHaiShu".into(), "Orz".into()],
        ..Default::default()
    };
    let a = attribute(kb, &two, &Options::default());
    match &a.verdict {
        Verdict::Attributed { id, name, .. } => {
            assert_eq!((id.as_str(), name.as_str()), ("G0065", "Leviathan"));
        }
        v => panic!("{v:?}"),
    }
    assert!(a.unknown < 0.1);
    let one = Evidence {
        software: vec!["S0228".into()],
        ..Default::default()
    };
    let a = attribute(kb, &one, &Options::default());
    assert_eq!(a.candidates[0].id, "G0065");
    assert!(a.candidates[0].probability > 0.3);
    let generic = Evidence {
        techniques: vec!["T1059".into(), "T1105".into(), "T1082".into()],
        ..Default::default()
    };
    let g = attribute(kb, &generic, &Options::default());
    assert!(!g.verdict.is_attributed());
    assert!(g.unknown > 0.25, "{}", g.unknown);
    assert!(g.candidates[0].probability < 0.2);
    let empty = attribute(kb, &Evidence::new(), &Options::default());
    assert!((empty.unknown - 0.5).abs() < 1e-9);
    assert!(!empty.verdict.is_attributed());
}

#[test]
fn ranking_all_groups_takes_milliseconds() {
    let kb = kb();
    let c = kb.by_external_id("C0049").unwrap();
    let mut ev = Evidence::new();
    for (t, _) in kb.uses(c) {
        ev.techniques.push(kb.label(t).to_owned());
    }
    let model = tiaki_intel::attribution::Model::new(
        kb,
        tiaki_intel::attribution::Context::empty(),
        ModelParams::default(),
    );
    let t0 = Instant::now();
    let a = model.assess(&ev, &Options::default());
    let full = t0.elapsed();
    assert_eq!(a.groups_ranked, 172);
    eprintln!(
        "C0049: ranking {} µs, assessment with explanations {:?}",
        a.rank_micros, full
    );
    // Measured ≈ 0.5 ms ranking and 3 ms with explanations in release builds; the bound is
    // loose for slow CI machines.
    assert!(a.rank_micros < 50_000, "{} µs", a.rank_micros);
}

#[test]
fn technique_inference_beats_popularity() {
    use tiaki_intel::infer::{RecallConfig, TechniqueInference, evaluate_recall};
    let kb = kb();
    let cfg = RecallConfig {
        seeds: vec![20240613],
        ..RecallConfig::default()
    };
    let r = evaluate_recall(kb, &cfg);
    let get = |name: &str| {
        r.results
            .iter()
            .find(|x| x.method.name() == name)
            .unwrap()
            .recall
    };
    let (pop, knn, wals) = (get("popularity"), get("item-knn"), get("wals"));
    eprintln!("recall@20: popularity {pop:.3}, item-knn {knn:.3}, wals {wals:.3}");
    assert!(wals > pop + 0.03, "wals {wals} vs popularity {pop}");
    assert!(knn > pop + 0.01, "item-knn {knn} vs popularity {pop}");
    // Suggestions exclude what was observed and the parents of observed sub-techniques.
    let inf = TechniqueInference::new(kb);
    let s = inf.suggest(&["T1505.003", "T1190", "T1059.001"], 20);
    assert_eq!(s.len(), 20);
    assert!(s.iter().all(|x| {
        !["T1505.003", "T1190", "T1059.001", "T1059", "T1505"].contains(&x.technique.as_str())
    }));
}

/// Re-derives the default parameters from the development split (about 30 s in release, so
/// not run by default): `cargo test -p tiaki-intel --release --test attribution_benchmark --
/// --ignored`.
#[test]
#[ignore]
fn default_parameters_are_reproducible() {
    let (params, report) = tiaki_intel::attribution::train::train(kb(), &Default::default());
    assert_eq!(report.chosen, "all");
    let d = ModelParams::default();
    for (a, b) in params.weights.beta.iter().zip(&d.weights.beta) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
    for (p, q) in [
        (
            &params.calibration_documentation,
            &d.calibration_documentation,
        ),
        (&params.calibration_uniform, &d.calibration_uniform),
    ] {
        assert!((p.sharpness - q.sharpness).abs() < 1e-6);
        for (a, b) in p.unknown.iter().zip(&q.unknown) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }
}
