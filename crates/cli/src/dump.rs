//! `tiaki dump`: the events as the hunt sees them, as JSON Lines (no rules).

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use crate::hunt::{EvidenceArgs, check_readable, finish_error, on_progress, progress_bar};

/// `tiaki dump`.
#[derive(Args, Debug)]
pub struct DumpArgs {
    #[command(flatten)]
    evidence: EvidenceArgs,
    /// Write no events, only the summary (measures reading alone).
    #[arg(long)]
    count: bool,
}

/// Runs `tiaki dump`.
pub fn run(args: DumpArgs) -> Result<ExitCode> {
    crate::alloc::streaming();
    let opts = args.evidence.options()?;
    let mut out = if args.count {
        None
    } else {
        Some(args.evidence.open_output()?)
    };
    let pb = progress_bar();
    let result = tiaki::dump(
        &args.evidence.paths,
        &opts,
        out.as_mut().map(|w| w.as_mut() as &mut dyn std::io::Write),
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
