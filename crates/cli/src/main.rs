//! `tiaki`: the command-line front end.
//!
//! This crate only parses flags and wires the library crates together; the
//! work itself lives in `tiaki-sigma` (rules) and the other crates.

mod alloc;
mod attribute;
mod case;
mod demo;
mod distributed;
mod dump;
mod eval;
mod follow;
mod hunt;
mod integrity;
mod intel;
mod investigate;
mod limits;
mod rules;
mod serve;
mod share;
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
    /// Set a limit against hostile input, KEY=VALUE (repeatable; sizes take K, M or G):
    /// line, field and JSON-depth bounds, decompression bombs, links out of the evidence
    /// directory, YAML alias bombs, regex size, correlation state, STIX pattern search.
    /// `--limit help` or `tiaki limits` lists the keys and defaults.
    #[arg(long = "limit", global = true, value_name = "KEY=VALUE")]
    limit: Vec<String>,
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
    /// Cases in the case store (`--store`): list, show, export, notes, verdicts. Hunts go into
    /// a case with `tiaki hunt --case NAME`.
    #[command(subcommand)]
    Case(case::CaseCommand),
    /// Serve the web console, its JSON API and a TAXII 2.1 server over the case store.
    Serve(serve::ServeArgs),
    /// Users and API tokens of `tiaki serve`: add, list, token, revoke, grant.
    #[command(subcommand)]
    User(serve::UserCommand),
    /// TAXII collections served by `tiaki serve`: add, list.
    #[command(subcommand)]
    Collection(serve::CollectionCommand),
    /// Share with partners: export a case as a STIX 2.1 bundle under TLP 2.0 rules, push it to
    /// a TAXII 2.1 collection, pull a partner's collection into the knowledge base.
    #[command(subcommand)]
    Share(share::ShareCommand),
    /// Publish evidence events to a NATS JetStream stream, partitioned by host, for
    /// `tiaki worker`s to hunt (`--follow` keeps publishing lines appended to text logs).
    Ingest(distributed::IngestArgs),
    /// Make a rule pack (the hunt's --rules/--intel/--min-level… flags and the files they
    /// name) the one every `tiaki worker` runs; workers switch without stopping.
    Rollout(distributed::RolloutArgs),
    /// Hunt partitions of the events stream with the rolled-out pack and publish detections;
    /// run as many as needed, on as many machines.
    Worker(distributed::WorkerArgs),
    /// Store the detections stream in a case (each detection once), re-analysing the case
    /// (incidents, attribution) as they arrive.
    Collect(distributed::CollectArgs),
    /// Hunt the events the stream already holds with new rules or indicators (a partner's new
    /// feed), publishing detections as workers do; `tiaki collect` adds the new ones.
    Retrohunt(distributed::RetrohuntArgs),
    /// Every limit against hostile input (`--limit KEY=VALUE`): key, default and what
    /// happens when it is exceeded.
    Limits {
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: rules::TableFormat,
    },
}

/// Restores the default action for SIGPIPE (the Rust runtime ignores it), so `tiaki … | head`
/// ends quietly when the reader goes away, like every other Unix filter, instead of panicking
/// on the next write to standard output.
fn default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any other thread exists; setting a signal
    // disposition to SIG_DFL has no other precondition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    default_sigpipe();
    alloc::tune();
    let cli = Cli::parse();
    if cli.limit.iter().any(|l| l.eq_ignore_ascii_case("help")) {
        print!("{}", limits::describe(false));
        return ExitCode::SUCCESS;
    }
    match limits::Limits::parse(&cli.limit) {
        Ok(l) => limits::install(l),
        Err(e) => {
            eprintln!("tiaki: error: {e:#}");
            return ExitCode::from(2);
        }
    }
    let result = match cli.command {
        Command::Rules(cmd) => rules::run(cmd),
        Command::Hunt(args) => hunt::run(args, cli.store.as_deref()),
        Command::Dump(args) => dump::run(args),
        Command::Timeline(args) => timeline::run(args),
        Command::Intel(cmd) => intel::run(cmd, cli.store.as_deref()),
        Command::Attribute(args) => attribute::run(args, cli.store.as_deref()),
        Command::Eval(cmd) => eval::run(cmd, cli.store.as_deref()),
        Command::Stix(cmd) => stix::run(cmd),
        Command::Investigate(args) => investigate::run(args, cli.store.as_deref()),
        Command::Demo(args) => demo::run(args, cli.store.as_deref()),
        Command::Scenario(cmd) => demo::run_scenario(cmd),
        Command::Case(cmd) => case::run(cmd, cli.store.as_deref()),
        Command::Serve(args) => serve::run(args, cli.store.as_deref()),
        Command::User(cmd) => serve::run_user(cmd, cli.store.as_deref()),
        Command::Collection(cmd) => serve::run_collection(cmd, cli.store.as_deref()),
        Command::Share(cmd) => share::run(cmd, cli.store.as_deref()),
        Command::Ingest(args) => distributed::run_ingest(args),
        Command::Rollout(args) => distributed::run_rollout(args),
        Command::Worker(args) => distributed::run_worker(args),
        Command::Collect(args) => distributed::run_collect(args, cli.store.as_deref()),
        Command::Retrohunt(args) => distributed::run_retrohunt(args),
        Command::Limits { format } => {
            print!("{}", limits::describe(format == rules::TableFormat::Json));
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tiaki: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
