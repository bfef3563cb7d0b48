//! Runs the attribution benchmark and writes its report as JSON and Markdown — a stand-in for
//! `tiaki eval attribution` until the CLI wires it up.
//!
//! ```text
//! cargo run -p tiaki-intel --release --example attrib_eval -- \
//!     [--bundle PATH] [--reps N | --quick] [--seed N] [--rng chacha|python] [--tune] \
//!     [--json OUT] [--md OUT]
//! ```

use std::process::ExitCode;

use tiaki_intel::KnowledgeBase;
use tiaki_intel::eval::{EvalConfig, RngKind, run_evaluation};

fn main() -> ExitCode {
    let mut bundle = "../shared/data/attack/enterprise-attack.json".to_owned();
    let mut config = EvalConfig::default();
    let (mut json, mut md) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_default();
        match a.as_str() {
            "--bundle" => bundle = value(),
            "--reps" => config.reps = value().parse().unwrap_or(config.reps),
            "--quick" => config.reps = 5,
            "--seed" => config.seed = value().parse().unwrap_or(config.seed),
            "--rng" => {
                config.rng = match value().as_str() {
                    "python" => RngKind::PythonCompat,
                    _ => RngKind::ChaCha8,
                }
            }
            "--tune" => config.tune = true,
            "--json" => json = Some(value()),
            "--md" => md = Some(value()),
            other => {
                eprintln!("unknown argument {other}");
                return ExitCode::from(2);
            }
        }
    }
    let t0 = std::time::Instant::now();
    let kb = match KnowledgeBase::from_bundle_file(&bundle) {
        Ok(kb) => kb,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    eprintln!("[{:.2}s] loaded {bundle}", t0.elapsed().as_secs_f64());
    let report = match run_evaluation(&kb, &config) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "[{:.2}s] evaluated ({:.2}s)",
        t0.elapsed().as_secs_f64(),
        report.runtime_s
    );
    let text = report.to_markdown();
    match md {
        Some(p) => std::fs::write(&p, &text).expect("write markdown"),
        None => print!("{text}"),
    }
    if let Some(p) = json {
        std::fs::write(&p, serde_json::to_string_pretty(&report).expect("json"))
            .expect("write json");
    }
    ExitCode::SUCCESS
}
