//! Development helpers for the attribution model, ignored by default (they take from seconds
//! to a few minutes). Run one with
//! `cargo test -p tiaki-intel --release --test attribution_experiments NAME -- --ignored --nocapture`:
//!
//! * `derive_params` — re-runs training on the ATT&CK bundle and prints the constants of
//!   `ModelParams::default` (with `QUICKEVAL=1`, a quick look at the test protocols too);
//! * `full_report` — `attribution::evaluate` with `REPS` repetitions (default 10), Markdown to
//!   stderr, and JSON/Markdown files when `OUT=path` is set;
//! * `tune_hyperparameters` — the development cross-validation of the smoothing mass and ridge;
//! * `tune_inference` — the development grid of the technique-inference recommenders;
//! * `show_assessments`, `starter_pack` — example assessments on ATT&CK and on the embedded
//!   starter pack.

use std::path::PathBuf;

use tiaki_intel::KnowledgeBase;
use tiaki_intel::attribution::model::{Prior, TiakiScorer};
use tiaki_intel::attribution::train::{self, TrainConfig};
use tiaki_intel::eval::{
    Baseline, BootstrapConfig, Construction, E1Setting, E2Setting, E3Variant, Evidence,
    FalsePositives, NbParams, RngKind, Scorer, evaluate, metrics,
};
use tiaki_intel::kb::TokenMode;

fn kb() -> KnowledgeBase {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/attack/enterprise-attack.json");
    KnowledgeBase::from_bundle_file(p).unwrap()
}

/// E1 clean-strict (techniques + software, techniques only) and S2 with `reps` draws.
fn e1_and_s2(
    bench: &tiaki_intel::eval::Benchmark<'_>,
    reps: usize,
) -> Vec<(String, tiaki_intel::eval::CaseSet)> {
    let mut sets = Vec::new();
    for ev in [Evidence::TechniquesAndSoftware, Evidence::Techniques] {
        let (s, _) = bench.e1_cases(E1Setting {
            construction: Construction::CleanStrict,
            evidence: ev,
            expand_software: false,
        });
        sets.push((format!("E1 {}", ev.key()), s));
    }
    let s2 = bench
        .e3_case_sets(&[E3Variant::S2Report], reps, RngKind::ChaCha8, 20240614)
        .pop()
        .unwrap();
    sets.push(("S2".into(), s2));
    sets
}

#[test]
#[ignore]
fn derive_params() {
    let kb = kb();
    let (params, report) = train::train(&kb, &TrainConfig::default());
    eprintln!("{}", serde_json::to_string_pretty(&report).unwrap());
    eprintln!(
        "pub const DEFAULT_BETA: [f64; NF] = {:?};",
        params.weights.beta
    );
    let c = params.calibration_documentation;
    eprintln!(
        "pub const DEFAULT_CAL_DOC: (f64, [f64; NU]) = ({:?}, {:?});",
        c.sharpness, c.unknown
    );
    let c = params.calibration_uniform;
    eprintln!(
        "pub const DEFAULT_CAL_UNI: (f64, [f64; NU]) = ({:?}, {:?});",
        c.sharpness, c.unknown
    );
    if std::env::var("QUICKEVAL").is_err() {
        return;
    }
    let bench = tiaki_intel::eval::Benchmark::new(&kb, TokenMode::Both);
    let mut sets = e1_and_s2(&bench, 10);
    let e2s: Vec<E2Setting> = [3, 5, 10]
        .iter()
        .map(|&k| E2Setting {
            k,
            fp: 2,
            kind: FalsePositives::Uniform,
        })
        .collect();
    for (s, set) in e2s
        .iter()
        .zip(bench.e2_case_sets(&e2s, 10, RngKind::ChaCha8, 20240613))
    {
        sets.push((format!("E2 k={}", s.k), set));
    }
    for (sname, set) in &sets {
        let mut a = TiakiScorer::new("tiaki", &params, Prior::Documentation);
        let mut b = TiakiScorer::new("tiaki-uniform", &params, Prior::Uniform);
        let mut tf = Baseline::Tfidf.scorer(NbParams::default());
        let mut all: Vec<&mut dyn Scorer> = vec![&mut a, &mut b, &mut tf];
        let rows = evaluate(set, &mut all).unwrap();
        let boot = BootstrapConfig {
            resamples: 0,
            ..Default::default()
        };
        let mut line = format!("{sname:10}");
        for m in &rows {
            let sm = metrics::summarize(&m.rows, None, boot);
            let ece = m.confidence.as_ref().map(|conf| {
                let correct: Vec<f64> = m.rows.iter().map(|r| r.top1).collect();
                tiaki_intel::eval::calibration::ece(conf, &correct, 10)
            });
            line.push_str(&format!(
                " | {} t1 {:.3} t10 {:.3} MRR {:.3} ECE {}",
                m.method,
                sm.top1,
                sm.top10,
                sm.mrr,
                ece.map_or("-".into(), |e| format!("{e:.3}"))
            ));
        }
        eprintln!("{line}");
    }
}

#[test]
#[ignore]
fn show_assessments() {
    use tiaki_intel::attribution::{Evidence, Options, attribute};
    let kb = kb();
    let mut ev = Evidence::new();
    ev.software = vec!["NanHaiShu".into()];
    ev.techniques = vec!["T1566.001".into(), "T1059.001".into()];
    let a = attribute(&kb, &ev, &Options::default());
    eprintln!(
        "{}",
        serde_json::to_string_pretty(&a.candidates[0]).unwrap()
    );
    eprintln!(
        "NHS+2: unknown {:.3} top {} {:.3}",
        a.unknown, a.candidates[0].id, a.candidates[0].probability
    );
    for sw in [
        vec!["NanHaiShu"],
        vec!["NanHaiShu", "Orz"],
        vec!["S0228", "S0229", "S0232"],
    ] {
        let mut ev = Evidence::new();
        ev.software = sw.iter().map(|s| s.to_string()).collect();
        let a = attribute(&kb, &ev, &Options::default());
        eprintln!(
            "{:?}: unknown {:.3} top {} {:.3} second {} {:.3}",
            sw,
            a.unknown,
            a.candidates[0].id,
            a.candidates[0].probability,
            a.candidates[1].id,
            a.candidates[1].probability
        );
    }
    let a = attribute(&kb, &Evidence::new(), &Options::default());
    eprintln!("EMPTY unknown {:.3} verdict {:?}", a.unknown, a.verdict);
    let mut ev = Evidence::new();
    ev.techniques = vec!["T1059".into(), "T1105".into()];
    let a = attribute(&kb, &ev, &Options::default());
    eprintln!(
        "GENERIC unknown {:.3} top {} {:.3} verdict kind attributed={}",
        a.unknown,
        a.candidates[0].id,
        a.candidates[0].probability,
        a.verdict.is_attributed()
    );
    let c = kb.by_external_id("C0049").unwrap();
    let mut ev = Evidence::new();
    for (t, _) in kb.uses(c) {
        ev.techniques.push(kb.label(t).to_owned());
    }
    let a = attribute(&kb, &ev, &Options::default());
    eprintln!(
        "C0049 unknown {:.3} rank of G0065: {:?} time {}us",
        a.unknown,
        a.candidates.iter().position(|c| c.id == "G0065"),
        a.rank_micros
    );
    for c in a.candidates.iter().take(3) {
        eprintln!("  {} {} {:.3}", c.id, c.name, c.probability);
    }
}

#[test]
#[ignore]
fn full_report() {
    use tiaki_intel::eval::EvalConfig;
    let kb = kb();
    let reps: usize = std::env::var("REPS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(10);
    let cfg = EvalConfig {
        reps,
        details: false,
        ..EvalConfig::default()
    };
    let t0 = std::time::Instant::now();
    let r = tiaki_intel::attribution::evaluate(&kb, &cfg).unwrap();
    eprintln!("{}", r.to_markdown());
    eprintln!("total {:?}", t0.elapsed());
    if let Ok(p) = std::env::var("OUT") {
        std::fs::write(&p, serde_json::to_string_pretty(&r).unwrap()).unwrap();
        std::fs::write(format!("{p}.md"), r.to_markdown()).unwrap();
    }
}

#[test]
#[ignore]
fn tune_inference() {
    let kb = kb();
    let cfg = tiaki_intel::infer::RecallConfig::default();
    let t0 = std::time::Instant::now();
    for r in tiaki_intel::infer::tune(&kb, &cfg).iter().take(15) {
        eprintln!("{:?} recall {:.3} ndcg {:.3}", r.method, r.recall, r.ndcg);
    }
    eprintln!("{:?}", t0.elapsed());
}

#[test]
#[ignore]
fn tune_hyperparameters() {
    use tiaki_intel::attribution::features::FeatureParams;
    let kb = kb();
    for (mu, l2) in [(2.0, 1.0), (2.0, 10.0), (2.0, 30.0), (2.0, 100.0)] {
        let cfg = TrainConfig {
            params: FeatureParams {
                mu,
                ..Default::default()
            },
            l2,
            ..Default::default()
        };
        let (_, rep) = train::train(&kb, &cfg);
        let best = rep.feature_sets.iter().find(|s| s.0 == rep.chosen).unwrap();
        eprintln!(
            "mu {mu} l2 {l2}: chosen {} CV nll {:.4} mrr {:.4}",
            rep.chosen, best.1.nll, best.1.mrr
        );
    }
}

#[test]
#[ignore]
fn starter_pack() {
    use tiaki_intel::attribution::{Context, Evidence, Model, ModelParams, Options};
    let loaded = tiaki_intel::pack::LoadedKb::pack_only().unwrap();
    let kb = &loaded.kb;
    let bundle: serde_json::Value =
        serde_json::from_slice(tiaki_intel::pack::STARTER_PACK).unwrap();
    let ctx = Context::from_bundle_value(kb, &bundle);
    let model = Model::new(kb, ctx, ModelParams::default());
    let cases: Vec<(&str, Evidence)> = vec![
        ("empty", Evidence::new()),
        (
            "NanHaiShu",
            Evidence {
                software: vec!["NanHaiShu".into()],
                ..Default::default()
            },
        ),
        (
            "NanHaiShu+Orz",
            Evidence {
                software: vec!["NanHaiShu".into(), "Orz".into()],
                ..Default::default()
            },
        ),
        (
            "webshell+T1190",
            Evidence {
                techniques: vec!["T1505.003".into(), "T1190".into()],
                ..Default::default()
            },
        ),
        (
            "generic",
            Evidence {
                techniques: vec!["T1059".into(), "T1105".into()],
                ..Default::default()
            },
        ),
        (
            "NZ parliament-like",
            Evidence {
                techniques: vec![
                    "T1190".into(),
                    "T1505.003".into(),
                    "T1003.001".into(),
                    "T1021.001".into(),
                    "T1090".into(),
                ],
                countries: vec!["NZ".into()],
                sectors: vec!["government-national".into()],
                timestamps: vec![
                    "2021-03-03T02:00:00Z".into(),
                    "2021-03-03T05:10:00Z".into(),
                    "2021-03-04T01:30:00Z".into(),
                ],
                ..Default::default()
            },
        ),
    ];
    for (name, ev) in cases {
        let a = model.assess(&ev, &Options::default());
        let top: Vec<String> = a
            .candidates
            .iter()
            .take(3)
            .map(|c| format!("{} {:.3}", c.id, c.probability))
            .collect();
        eprintln!(
            "{name:20} unknown {:.3} | {} | attributed={}",
            a.unknown,
            top.join(", "),
            a.verdict.is_attributed()
        );
    }
}

/// Per-campaign expected rank of the true group on E1 clean-strict (techniques + software).
#[test]
#[ignore]
fn e1_ranks() {
    use tiaki_intel::eval::EvalConfig;
    let kb = kb();
    let cfg = EvalConfig {
        e1: vec![E1Setting {
            construction: Construction::CleanStrict,
            evidence: Evidence::TechniquesAndSoftware,
            expand_software: false,
        }],
        e2: vec![],
        e3: vec![],
        ..EvalConfig::default()
    };
    let r = tiaki_intel::attribution::evaluate(&kb, &cfg).unwrap();
    for c in &r.benchmark.e1_cases {
        eprintln!(
            "{} {:38} {:10} tiaki {:6.1} uniform {:6.1} tfidf {:6.1} prior {:6.1}",
            c.info.campaign,
            c.info.name.chars().take(38).collect::<String>(),
            c.info.groups.join(","),
            c.ranks["tiaki"],
            c.ranks["tiaki-uniform"],
            c.ranks["tfidf"],
            c.ranks["prior"]
        );
    }
}

/// How the weight on documentation volume trades E1 (campaigns) against S2 (report hold-out).
#[test]
#[ignore]
fn size_sweep() {
    use tiaki_intel::attribution::ModelParams;
    let kb = kb();
    let bench = tiaki_intel::eval::Benchmark::new(&kb, TokenMode::Both);
    let sets = e1_and_s2(&bench, 5);
    let deltas: Vec<f64> = std::env::var("DELTAS")
        .unwrap_or("0,0.5,1,1.5,2,3".into())
        .split(',')
        .map(|s| s.parse().unwrap())
        .collect();
    for &d in &deltas {
        for hub in [false, true] {
            let mut params = ModelParams::default();
            params.weights.beta[8] += d;
            if hub {
                params.weights.beta[9] = 0.0;
            }
            let mut line = format!("delta {d:4} hub0 {hub:5}");
            for (sname, set) in &sets {
                let mut a = TiakiScorer::new("tiaki", &params, Prior::Documentation);
                let mut all: Vec<&mut dyn Scorer> = vec![&mut a];
                let rows = evaluate(set, &mut all).unwrap();
                let boot = BootstrapConfig {
                    resamples: 0,
                    ..Default::default()
                };
                let sm = metrics::summarize(&rows[0].rows, None, boot);
                line.push_str(&format!(
                    " | {sname} t1 {:.3} t10 {:.3} MRR {:.3}",
                    sm.top1, sm.top10, sm.mrr
                ));
            }
            eprintln!("{line}");
        }
    }
}
