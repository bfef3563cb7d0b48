//! `tiaki`: the command-line front end.
//!
//! This crate only parses flags and wires the library crates together; the
//! work itself lives in `tiaki-sigma` (rules) and the other crates.

mod rules;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// tiaki: intrusion investigation and attribution.
#[derive(Parser)]
#[command(name = "tiaki", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work with Sigma rules: check them, run test vectors.
    #[command(subcommand)]
    Rules(rules::RulesCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Rules(cmd) => rules::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tiaki: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
