//! Dev entry point: `cargo run --release -p tiaki-scenario --example generate --
//! <apt40|apt31|background> <out> [--seed N] [--scale X] [--gzip]`.
//!
//! Prints a short summary (events per format and host, generation time) to stderr.

use std::process::ExitCode;
use std::time::Instant;

use tiaki_scenario::{Options, Scenario, generate};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: generate <apt40|apt31|background> <out> [--seed N] [--scale X] [--gzip]";
    if args.len() < 2 {
        eprintln!("{usage}");
        return ExitCode::from(2);
    }
    let scenario: Scenario = match args[0].parse() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}\n{usage}");
            return ExitCode::from(2);
        }
    };
    let mut opts = Options::new(scenario, &args[1]);
    let mut i = 2;
    while i < args.len() {
        match args[i].as_str() {
            "--seed" if i + 1 < args.len() => {
                opts.seed = args[i + 1].parse().expect("--seed takes an integer");
                i += 1;
            }
            "--scale" if i + 1 < args.len() => {
                opts.scale = args[i + 1].parse().expect("--scale takes a number");
                i += 1;
            }
            "--gzip" => opts.gzip = true,
            other => {
                eprintln!("unexpected argument `{other}`\n{usage}");
                return ExitCode::from(2);
            }
        }
        i += 1;
    }
    let start = Instant::now();
    match generate(&opts) {
        Ok(m) => {
            eprintln!(
                "{}: {} events, {} files, {} bytes in {:.2?}",
                m.scenario,
                m.total_events,
                m.files.len(),
                m.total_bytes,
                start.elapsed()
            );
            for (f, n) in &m.events_by_format {
                eprintln!("  format {f:<10} {n:>8}");
            }
            for (h, n) in &m.events_by_host {
                eprintln!("  host   {h:<12} {n:>8}");
            }
            eprintln!(
                "  truth: {} steps, {} decoys",
                m.truth.steps.len(),
                m.truth.decoys.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
