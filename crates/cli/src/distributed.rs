//! `tiaki ingest`, `rollout`, `worker`, `collect` and `retrohunt`: hunting on NATS
//! JetStream (the `tiaki-stream` crate does the work; this file parses flags, loads rule
//! packs with the hunt's own loaders, and writes to the case store).

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser};
use tiaki::Rules;
use tiaki_evidence::{Event, ReadOptions};
use tiaki_sigma::Level;
use tiaki_stream::worker::{Engine, Loader, WorkerConfig};
use tiaki_stream::{Resources, Topology};

use crate::case::{HuntCaseArgs, open_store, reanalyse};
use crate::hunt::{EvidenceArgs, RuleArgs, parse_level};
use crate::sweeps::SweepArgs;

/// Flags that name files a rule pack must carry.
const PACK_PATH_FLAGS: &[&str] = &[
    "--rules",
    "-r",
    "--intel",
    "--observables",
    "--placeholders",
];

/// Where NATS is, and how the streams are laid out when this process creates them.
#[derive(Args, Debug, Clone)]
pub struct NatsArgs {
    /// NATS server URL, or several comma-separated (the servers of a cluster).
    #[arg(long, env = "TIAKI_NATS", value_name = "URL")]
    pub nats: String,
    /// Partitions of the events stream (only when the streams are first created).
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub partitions: u32,
    /// JetStream replicas of the streams and buckets (only when first created; 3 on a
    /// three-node cluster).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub replicas: usize,
    /// Seconds a worker's partition lease lasts without renewal (only when first created).
    #[arg(long, value_name = "SECS", default_value_t = 6)]
    pub lease_secs: u64,
}

impl NatsArgs {
    fn topology(&self) -> Topology {
        Topology {
            partitions: self.partitions.max(1),
            replicas: self.replicas.max(1),
            lease: Duration::from_secs(self.lease_secs.max(2)),
            ..Topology::default()
        }
    }

    async fn open(&self) -> Result<Resources> {
        let js = tiaki_stream::connect(&self.nats).await?;
        Ok(tiaki_stream::ensure(&js, &self.topology()).await?)
    }
}

/// What a rule pack holds: the hunt's rule and sweep flags.
#[derive(Parser, Debug)]
#[command(no_binary_name = true, name = "pack")]
pub struct PackArgs {
    #[command(flatten)]
    rules: RuleArgs,
    #[command(flatten)]
    sweeps: SweepArgs,
    /// Only report detections at or above this level.
    #[arg(long, value_name = "LEVEL", value_parser = parse_level)]
    min_level: Option<Level>,
    /// Also publish matches of rules that only feed correlation rules.
    #[arg(long)]
    all_matches: bool,
    /// Only events at or after this time.
    #[arg(long, value_name = "TIME")]
    from: Option<String>,
    /// Only events at or before this time.
    #[arg(long, value_name = "TIME")]
    to: Option<String>,
}

/// Loads an engine from pack arguments, as `tiaki hunt` loads its rules and feeds.
pub fn load_engine(args: &[String], digest: &str) -> Result<Engine> {
    let p = PackArgs::try_parse_from(args).map_err(|e| anyhow::anyhow!("{e}"))?;
    if !p.sweeps.yara.is_empty() || p.sweeps.yara_pack {
        bail!("YARA reads files, not events: run it with `tiaki hunt --yara` where the files are");
    }
    let rules = match p.rules.paths() {
        Some(paths) => p.rules.load(&paths)?,
        None if p.sweeps.any() => Rules::empty(),
        None => bail!("a rule pack needs --rules DIR or --intel FEED"),
    };
    let indicators = p.sweeps.load_indicators()?;
    let evidence = EvidenceArgs {
        paths: vec![PathBuf::from(".")],
        input_format: None,
        no_carve: false,
        from: p.from.clone(),
        to: p.to.clone(),
        output: None,
    };
    let mut opts = evidence.options()?;
    opts.min_level = p.min_level;
    opts.all_matches = p.all_matches;
    Ok(Engine {
        digest: digest.to_owned(),
        rules,
        indicators,
        opts,
    })
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// A watch that turns true on SIGINT or SIGTERM.
fn shutdown_signal() -> tokio::sync::watch::Receiver<bool> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let t = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = t => {}
        }
        let _ = tx.send(true);
    });
    rx
}

/// `tiaki ingest`.
#[derive(Args, Debug)]
pub struct IngestArgs {
    /// Evidence files or directories (walked recursively; .gz and .zip are read in place).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    nats: NatsArgs,
    /// Read every file as this format instead of recognising it.
    #[arg(long, value_name = "FMT", value_parser = |s: &str| s.parse::<tiaki_evidence::Format>().map_err(|e| e.to_string()))]
    input_format: Option<tiaki_evidence::Format>,
    /// Do not return EVTX records carved from unallocated chunk space.
    #[arg(long)]
    no_carve: bool,
    /// Publishes awaiting acknowledgement at most (back-pressure window).
    #[arg(long, value_name = "N", default_value_t = tiaki_stream::ingest::DEFAULT_WINDOW)]
    window: usize,
    /// After reading, keep watching the files and publish lines appended to them (text
    /// formats: JSON Lines, syslog, web server logs, Zeek, CSV). Stops on Ctrl-C.
    #[arg(long)]
    follow: bool,
    /// How often --follow looks for new lines, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 500, requires = "follow")]
    poll_ms: u64,
}

/// Runs `tiaki ingest`.
pub fn run_ingest(args: IngestArgs) -> Result<ExitCode> {
    for p in &args.paths {
        std::fs::metadata(p).with_context(|| format!("cannot read evidence {}", p.display()))?;
    }
    let mut read = ReadOptions {
        format: args.input_format,
        evtx_recover_records: !args.no_carve,
        ..ReadOptions::default()
    };
    crate::limits::active().apply_read(&mut read);
    let rt = runtime()?;
    let started = std::time::Instant::now();
    let run_id = format!(
        "{}-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.f"),
        std::process::id()
    );
    let snapshot = args
        .follow
        .then(|| crate::follow::Snapshot::take(&args.paths));
    let (stats, report) = rt.block_on(async {
        let res = args.nats.open().await?;
        let (tx, rx) = tokio::sync::mpsc::channel::<Vec<Event>>(4);
        let paths = args.paths.clone();
        let read2 = read.clone();
        let reader = std::thread::spawn(move || {
            tiaki_evidence::read_paths(&paths, &read2, |batch| {
                let _ = tx.blocking_send(batch);
            })
        });
        let stats = tiaki_stream::ingest::publish_all(res.clone(), rx, args.window, &run_id).await;
        let report = reader
            .join()
            .map_err(|_| anyhow::anyhow!("the evidence reader panicked"))?;
        let mut stats = stats?;
        if let Some(snapshot) = snapshot {
            let shutdown = shutdown_signal();
            let more =
                crate::follow::follow(res, snapshot, &read, args.window, args.poll_ms, shutdown)
                    .await?;
            stats.events += more.events;
            stats.duplicates += more.duplicates;
            stats.retries += more.retries;
        }
        anyhow::Ok((stats, report))
    })?;
    let problems: Vec<_> = report
        .files
        .iter()
        .filter(|f| !f.errors.is_empty())
        .collect();
    for f in &problems {
        let errs: Vec<String> = f.errors.iter().map(|e| e.to_string()).collect();
        eprintln!("tiaki ingest: {}: {}", f.path, errs.join("; "));
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "tiaki ingest: {} events from {} files published ({} already in the stream, {} retries), \
         end markers on {} partitions, {:.1} s ({:.0} events/s){}",
        stats.events,
        report.files.len(),
        stats.duplicates,
        stats.retries,
        stats.markers,
        secs,
        stats.events as f64 / secs.max(1e-9),
        if problems.is_empty() {
            String::new()
        } else {
            format!("; {} files with problems", problems.len())
        }
    );
    println!("{}", serde_json::to_string(&stats)?);
    Ok(ExitCode::SUCCESS)
}

/// `tiaki rollout`.
#[derive(Args, Debug)]
pub struct RolloutArgs {
    #[command(flatten)]
    nats: NatsArgs,
    /// The hunt's rule and feed flags, as for `tiaki hunt`: --rules DIR, --intel FEED,
    /// --observables FILE, --placeholders FILE, --min-level LEVEL, --all-matches, --from,
    /// --to.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "HUNT FLAGS"
    )]
    args: Vec<String>,
}

/// Runs `tiaki rollout`: checks the pack loads here, then publishes it.
pub fn run_rollout(args: RolloutArgs) -> Result<ExitCode> {
    let engine = load_engine(&args.args, "local").context("the rule pack does not load")?;
    let pack = tiaki_stream::pack::Pack::build(&args.args, PACK_PATH_FLAGS)?;
    let rt = runtime()?;
    let digest = rt.block_on(async {
        let res = args.nats.open().await?;
        anyhow::Ok(tiaki_stream::pack::publish(&res, &pack).await?)
    })?;
    eprintln!(
        "tiaki rollout: pack {digest}: {} files, {} rules, {} correlations, {} indicators; workers switch to it after their current batch",
        pack.files.len(),
        engine.rules.set.len(),
        engine.rules.set.correlations().len(),
        engine
            .indicators
            .as_ref()
            .map(|(s, _)| s.len())
            .unwrap_or(0),
    );
    println!("{digest}");
    Ok(ExitCode::SUCCESS)
}

/// `tiaki worker`.
#[derive(Args, Debug)]
pub struct WorkerArgs {
    #[command(flatten)]
    nats: NatsArgs,
    /// This worker's id (default: host name and process id).
    #[arg(long, value_name = "ID")]
    id: Option<String>,
    /// Events fetched per batch.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    batch: usize,
    /// Seconds a delivered batch may stay unacknowledged before it is delivered again.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    ack_wait: u64,
    /// Exit when there has been nothing to do for this many seconds (benchmarks, tests).
    #[arg(long, value_name = "SECS")]
    exit_when_idle: Option<u64>,
}

/// Runs `tiaki worker` until Ctrl-C / SIGTERM.
pub fn run_worker(args: WorkerArgs) -> Result<ExitCode> {
    let id = args.id.clone().unwrap_or_else(|| {
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| "worker".into());
        format!("{host}-{}", std::process::id())
    });
    // Pack paths are relative to the pack directory, kept as given to `tiaki rollout`, so the
    // rule paths in detections are the same on every worker; the worker does nothing else
    // with relative paths, so its working directory can be the pack's.
    let loader: Loader = std::sync::Arc::new(|dir: &Path, a: &[String], digest: &str| {
        std::env::set_current_dir(dir)
            .with_context(|| format!("cannot enter the rule pack directory {}", dir.display()))?;
        load_engine(a, digest)
    });
    let cfg = WorkerConfig {
        id: id.clone(),
        batch: args.batch.max(1),
        ack_wait: Duration::from_secs(args.ack_wait.max(1)),
        exit_when_idle: args.exit_when_idle.map(Duration::from_secs),
    };
    let rt = runtime()?;
    let started = std::time::Instant::now();
    let stats = rt.block_on(async {
        let res = args.nats.open().await?;
        let shutdown = shutdown_signal();
        anyhow::Ok(tiaki_stream::worker::run(res, loader, cfg, shutdown).await?)
    })?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "tiaki worker {id}: {} events, {} detections published, {} end markers, {} partitions taken, {} undecodable messages dropped, {:.1} s",
        stats.events,
        stats.detections,
        stats.markers,
        stats.partitions_taken,
        stats.undecodable,
        secs
    );
    println!("{}", serde_json::to_string(&stats)?);
    Ok(ExitCode::SUCCESS)
}

/// `tiaki collect`.
#[derive(Args, Debug)]
pub struct CollectArgs {
    #[command(flatten)]
    nats: NatsArgs,
    #[command(flatten)]
    case: HuntCaseArgs,
    /// Detections per store transaction.
    #[arg(long, value_name = "N", default_value_t = 2000)]
    batch: usize,
    /// Re-analyse the case (incidents, attribution) at most this often while detections
    /// arrive, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    analyse_every: u64,
    /// Exit once every published event has been hunted and every detection stored (without
    /// it, collect runs until Ctrl-C).
    #[arg(long)]
    until_drained: bool,
}

/// Runs `tiaki collect`.
pub fn run_collect(args: CollectArgs, store: Option<&Path>) -> Result<ExitCode> {
    let Some(name) = args.case.case.clone() else {
        bail!("tiaki collect needs --case NAME");
    };
    let mut cs = open_store(store)?;
    cs.ensure_case(
        &name,
        args.case.title.as_deref(),
        args.case.organisation.as_deref(),
        args.case.tlp.map(|t| t.label()),
    )?;
    if !args.case.sectors.is_empty() {
        cs.set_case_setting(&name, "sectors", &args.case.sectors.join(","))?;
    }
    if !args.case.countries.is_empty() {
        cs.set_case_setting(&name, "countries", &args.case.countries.join(","))?;
    }
    let cs = RefCell::new(cs);
    let durable = format!(
        "collect-{}",
        name.chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            })
            .collect::<String>()
    );
    let cfg = tiaki_stream::collect::CollectConfig {
        durable,
        batch: args.batch.max(1),
        analyse_every: Duration::from_secs(args.analyse_every),
        until_drained: args.until_drained,
    };
    let kb = args.case.kb.clone();
    let rt = runtime()?;
    let stats = rt.block_on(async {
        let res = args.nats.open().await?;
        let shutdown = shutdown_signal();
        let store_batch = |batch: Vec<tiaki::Detection>| -> Result<u64> {
            Ok(cs.borrow_mut().add_detections(&name, &batch, None)?.added as u64)
        };
        let analyse = || -> Result<()> {
            let inv = reanalyse(&mut cs.borrow_mut(), &name, store, kb.clone(), 0)?;
            eprintln!(
                "case {name}: {} incidents{}",
                inv.incidents.len(),
                match inv.assessment.as_ref().map(|a| &a.verdict) {
                    Some(tiaki_intel::attribution::Verdict::Attributed {
                        id,
                        name: g,
                        confidence,
                        ..
                    }) => format!("; attributed to {id} {g} ({confidence:.3})"),
                    Some(_) => "; attribution: insufficient evidence".into(),
                    None => String::new(),
                }
            );
            Ok(())
        };
        anyhow::Ok(tiaki_stream::collect::run(res, cfg, store_batch, analyse, shutdown).await?)
    })?;
    eprintln!(
        "case {name}: {} detections received, {} new, {} undecodable dropped, {} analyses",
        stats.received, stats.added, stats.undecodable, stats.analyses
    );
    println!("{}", serde_json::to_string(&stats)?);
    Ok(ExitCode::SUCCESS)
}

/// `tiaki retrohunt`.
#[derive(Args, Debug)]
pub struct RetrohuntArgs {
    #[command(flatten)]
    nats: NatsArgs,
    /// Only events stored in the stream at or after this time (RFC 3339, or a date); the
    /// pack's --from/--to select by the events' own time.
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// The rule and feed flags, as for `tiaki rollout` (typically --intel NEW-FEED).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "HUNT FLAGS"
    )]
    args: Vec<String>,
}

/// Runs `tiaki retrohunt`.
pub fn run_retrohunt(args: RetrohuntArgs) -> Result<ExitCode> {
    let engine = std::sync::Arc::new(load_engine(&args.args, "retrohunt")?);
    let since = args
        .since
        .as_deref()
        .map(|t| tiaki::parse_time_bound(t, tiaki::TimeBound::From))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let rt = runtime()?;
    let started = std::time::Instant::now();
    let stats = rt.block_on(async {
        let res = args.nats.open().await?;
        anyhow::Ok(tiaki_stream::retro::run(&res, engine, since).await?)
    })?;
    eprintln!(
        "tiaki retrohunt: {} stored events hunted (up to sequence {}), {} detections published, {} undecodable, {:.1} s; `tiaki collect` stores the new ones",
        stats.events,
        stats.last_sequence,
        stats.detections,
        stats.undecodable,
        started.elapsed().as_secs_f64()
    );
    println!("{}", serde_json::to_string(&stats)?);
    Ok(ExitCode::SUCCESS)
}
