//! `tiaki eval attribution`: the attribution benchmark on a knowledge base.
//!
//! The report is `tiaki_intel::attribution::evaluate`: tiaki's model next to every baseline of
//! the protocols in `tiaki_intel::eval`, then what the closed-world tables cannot show (the
//! unknown outcome and the verdict, open world), technique-inference recall and timings. This
//! file picks the knowledge base (the same way every command does: `--kb FILE`, else the starter
//! pack overlaid by the store), sets the repetitions and prints the report as Markdown tables or
//! JSON. `--baselines-only` keeps the harness alone (`tiaki_intel::eval::run_evaluation`): the
//! reference comparison, without the model's rows.
//!
//! The figures the targets and `attrib_eval.py` refer to are measured on ATT&CK
//! itself: `--kb enterprise-attack.json`. Without `--kb` the effective knowledge base also
//! carries the starter pack's own additions (its NZ campaigns, public-report techniques),
//! which changes the case set.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;
use tiaki_intel::attribution::evaluate;
use tiaki_intel::eval::{EvalConfig, RngKind, run_evaluation};

use crate::intel::{KbArgs, load_kb, write_out};
use crate::rules::TableFormat;

/// The `eval` subcommands.
#[derive(Subcommand)]
pub enum EvalCommand {
    /// Campaign hold-out, report hold-out and noisy-evidence protocols: top-1/3/10, MRR,
    /// calibration and abstention for tiaki and every baseline; then the unknown outcome in an
    /// open world, technique-inference recall and timings.
    Attribution(AttributionArgs),
}

/// Flags of `eval attribution`.
#[derive(Args)]
pub struct AttributionArgs {
    #[command(flatten)]
    kb: KbArgs,
    /// The reference's quick run: 5 repetitions of the randomised protocols.
    #[arg(long, conflicts_with = "reps")]
    quick: bool,
    /// Repetitions of the randomised protocols (default 50).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    reps: Option<u64>,
    /// Seed of the randomised protocols.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Generator of the randomised protocols: `chacha` (tiaki's own draws) or `python`
    /// (replays the draws of the reference `attrib_eval.py`, for figure-for-figure agreement).
    #[arg(long, value_enum, default_value = "chacha")]
    rng: Rng,
    /// Re-tune the naive-Bayes baselines on the report hold-out dev task first, as the
    /// reference does.
    #[arg(long)]
    tune: bool,
    /// Only the benchmark harness and its baselines (the reference's tables): no tiaki rows,
    /// open-world, inference or timing sections.
    #[arg(long)]
    baselines_only: bool,
    /// Output format: the Markdown tables, or the whole report as JSON.
    #[arg(long, value_enum, default_value = "table")]
    format: TableFormat,
}

/// The `--rng` choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Rng {
    /// ChaCha8, seeded with `--seed`.
    Chacha,
    /// CPython's `random.Random(seed)`, as the reference script draws.
    Python,
}

/// Runs an `eval` subcommand.
pub fn run(cmd: EvalCommand, store: Option<&Path>) -> Result<ExitCode> {
    match cmd {
        EvalCommand::Attribution(args) => attribution(args, store),
    }
}

fn attribution(args: AttributionArgs, store: Option<&Path>) -> Result<ExitCode> {
    let l = load_kb(store, &args.kb)?;
    let mut config = if args.quick {
        EvalConfig::quick()
    } else {
        EvalConfig::default()
    };
    if let Some(n) = args.reps {
        config.reps = n as usize;
    }
    if let Some(s) = args.seed {
        config.seed = s;
    }
    config.rng = match args.rng {
        Rng::Chacha => RngKind::ChaCha8,
        Rng::Python => RngKind::PythonCompat,
    };
    config.tune = args.tune;
    let t0 = std::time::Instant::now();
    if args.baselines_only {
        let report = run_evaluation(&l.kb, &config).context("the evaluation could not run")?;
        match args.format {
            TableFormat::Json => {
                let v = json!({ "benchmark": report });
                write_out(&format!("{}\n", serde_json::to_string_pretty(&v)?));
            }
            TableFormat::Table => {
                eprintln!(
                    "knowledge base: {} groups, {} attributed campaigns; {} repetitions; {:.1} s",
                    report.n_groups, report.n_attributed_campaigns, report.reps, report.runtime_s
                );
                write_out(&report.to_markdown());
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let report = evaluate(&l.kb, &config).context("the evaluation could not run")?;
    match args.format {
        TableFormat::Json => write_out(&format!("{}\n", serde_json::to_string_pretty(&report)?)),
        TableFormat::Table => {
            let b = &report.benchmark;
            eprintln!(
                "knowledge base: {} groups, {} attributed campaigns; {} repetitions; benchmark {:.1} s, all {:.1} s",
                b.n_groups,
                b.n_attributed_campaigns,
                b.reps,
                b.runtime_s,
                t0.elapsed().as_secs_f64()
            );
            write_out(&report.to_markdown());
        }
    }
    Ok(ExitCode::SUCCESS)
}
