//! `tiaki timeline`: every event in time order with its detections, for
//! Timesketch.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, ValueEnum};
use tiaki::TimelineFormat;

use crate::hunt::{
    EvidenceArgs, RuleArgs, check_readable, finish_error, on_progress, progress_bar,
};

/// `--format` of `timeline`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TimelineFormatArg {
    /// Timesketch CSV.
    Csv,
    /// Timesketch JSON Lines.
    Jsonl,
}

/// `tiaki timeline`.
#[derive(Args, Debug)]
pub struct TimelineArgs {
    #[command(flatten)]
    evidence: EvidenceArgs,
    #[command(flatten)]
    rules: RuleArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "jsonl")]
    format: TimelineFormatArg,
    /// Memory for sorting, in MiB, before spilling to temporary files.
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    sort_memory: usize,
    /// Directory for the sort's temporary files (default: the system's).
    #[arg(long, value_name = "DIR")]
    temp_dir: Option<PathBuf>,
}

/// Runs `tiaki timeline`.
pub fn run(args: TimelineArgs) -> Result<ExitCode> {
    let mut opts = args.evidence.options()?;
    opts.sort_budget = args.sort_memory.max(1) << 20;
    opts.spill_dir = args.temp_dir.clone();
    let rules = match args.rules.paths() {
        Some(p) => Some(args.rules.load(&p)?),
        None => {
            crate::alloc::streaming();
            None
        }
    };
    let format = match args.format {
        TimelineFormatArg::Csv => TimelineFormat::Csv,
        TimelineFormatArg::Jsonl => TimelineFormat::Jsonl,
    };
    let mut out = args.evidence.open_output()?;
    let pb = progress_bar();
    let result = tiaki::timeline(
        &args.evidence.paths,
        rules.as_ref(),
        &opts,
        format,
        out.as_mut(),
        &mut on_progress(&pb),
    );
    pb.finish_and_clear();
    let summary = match result {
        Ok(s) => s,
        Err(e) => return finish_error(e),
    };
    eprint!("{summary}");
    check_readable(&summary)?;
    Ok(ExitCode::SUCCESS)
}
