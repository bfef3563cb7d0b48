//! `tiaki`: the command-line front end.
//!
//! This crate only parses flags and wires the library crates together; the
//! work itself lives in `tiaki-sigma` (rules) and the other crates.

mod alloc;
mod attribute;
mod demo;
mod dump;
mod eval;
mod hunt;
mod intel;
mod investigate;
mod rules;
mod stix;
mod sweeps;
mod timeline;

/// mimalloc: loading thousands of rules and matching events allocate many
/// small strings; the system allocator spent a quarter of the time there.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// tiaki: intrusion investigation and attribution.
#[derive(Parser)]
#[command(name = "tiaki", version, about)]
struct Cli {
    /// The knowledge-base store (default: $TIAKI_HOME/tiaki.db, else
    /// $XDG_DATA_HOME/tiaki/tiaki.db, else ~/.local/share/tiaki/tiaki.db).
    #[arg(long, global = true, value_name = "PATH")]
    store: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work with Sigma rules: check them, run test vectors.
    #[command(subcommand)]
    Rules(rules::RulesCommand),
    /// Hunt evidence with Sigma rules, indicator feeds (STIX, MISP, lists) and YARA:
    /// detections as a table, CSV, JSON Lines or JSON.
    Hunt(hunt::HuntArgs),
    /// Write the events as the hunt sees them (fields, origin, time, log
    /// source) as JSON Lines, without rules.
    Dump(dump::DumpArgs),
    /// Every event in time order with its detections, for Timesketch (CSV or
    /// JSON Lines).
    Timeline(timeline::TimelineArgs),
    /// The knowledge base: import STIX bundles and the MISP galaxy, update
    /// ATT&CK, list groups, show a group, technique or software.
    #[command(subcommand)]
    Intel(intel::IntelCommand),
    /// Attribute an intrusion: rank the known intrusion sets on the evidence (flags and hunt
    /// detections) with calibrated probabilities, an unknown outcome, the evidence for and
    /// against, and a verdict that abstains when the evidence is insufficient.
    Attribute(attribute::AttributeArgs),
    /// Measure attribution on the benchmark protocols.
    #[command(subcommand)]
    Eval(eval::EvalCommand),
    /// STIX patterns and test vectors: run the shared vectors, parse a pattern, match a
    /// pattern against a bundle's observed-data.
    #[command(subcommand)]
    Stix(stix::StixCommand),
    /// The whole job on evidence: hunt, group detections into incidents, attribute the most
    /// severe, plan containment, write the reports (HTML, Markdown, JSON, ATT&CK Navigator
    /// layer), detections and blocklists.
    Investigate(investigate::InvestigateArgs),
    /// Generate the parliamentary intrusion scenario (or a contrast) and investigate it end to
    /// end, graded against its ground truth.
    Demo(demo::DemoArgs),
    /// Generated scenarios: evidence of a fictional parliamentary network with ground truth.
    #[command(subcommand)]
    Scenario(demo::ScenarioCommand),
}

fn main() -> ExitCode {
    alloc::tune();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Rules(cmd) => rules::run(cmd),
        Command::Hunt(args) => hunt::run(args),
        Command::Dump(args) => dump::run(args),
        Command::Timeline(args) => timeline::run(args),
        Command::Intel(cmd) => intel::run(cmd, cli.store.as_deref()),
        Command::Attribute(args) => attribute::run(args, cli.store.as_deref()),
        Command::Eval(cmd) => eval::run(cmd, cli.store.as_deref()),
        Command::Stix(cmd) => stix::run(cmd),
        Command::Investigate(args) => investigate::run(args, cli.store.as_deref()),
        Command::Demo(args) => demo::run(args, cli.store.as_deref()),
        Command::Scenario(cmd) => demo::run_scenario(cmd),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tiaki: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
