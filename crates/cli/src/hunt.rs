//! `tiaki hunt`: evidence + Sigma rules → detections.
//!
//! Also the pieces `dump` and `timeline` share: evidence arguments, the
//! output file, the progress bar and the time filter. The work itself is
//! `tiaki::hunt`; this file parses flags and decides exit codes.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use tiaki::{
    EventFilter, HuntError, HuntOptions, OutputFormat, Progress, Rules, SortOrder, SortedSink,
    Summary,
};
use tiaki_evidence::{Format, ReadOptions};
use tiaki_sigma::Level;

use crate::rules::{RuleOptions, load_rules};
use crate::sweeps::SweepArgs;

/// Environment variable naming the default rule directory.
pub const RULES_ENV: &str = "TIAKI_RULES";

/// Evidence arguments shared by `hunt`, `dump` and `timeline`.
#[derive(Args, Debug, Clone)]
pub struct EvidenceArgs {
    /// Evidence files or directories (walked recursively; .gz and .zip are
    /// read in place).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Read every file as this format instead of recognising it (evtx,
    /// evtx-json, ecs, json, xml, w3c, apache, syslog, zeek, csv).
    #[arg(long, value_name = "FMT", value_parser = parse_format)]
    pub input_format: Option<Format>,
    /// Do not return EVTX records carved from unallocated chunk space.
    #[arg(long)]
    pub no_carve: bool,
    /// Only events at or after this time (RFC 3339, or a date: its start).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Only events at or before this time (RFC 3339, or a date: its end).
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// Write to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse::<Format>().map_err(|e| e.to_string())
}

/// Parses a Sigma level name for `--min-level`/`--fail-on`.
pub fn parse_level(s: &str) -> Result<Level, String> {
    Level::parse(s).ok_or_else(|| {
        format!("unknown level `{s}` (expected informational, low, medium, high or critical)")
    })
}

impl EvidenceArgs {
    /// Checks the paths and builds the hunt options.
    pub fn options(&self) -> Result<HuntOptions> {
        for p in &self.paths {
            std::fs::metadata(p)
                .with_context(|| format!("cannot read evidence {}", p.display()))?;
        }
        let bound = |v: &Option<String>, b| -> Result<_> {
            v.as_deref()
                .map(|t| tiaki::parse_time_bound(t, b))
                .transpose()
                .map_err(anyhow::Error::msg)
        };
        let filter = EventFilter {
            from: bound(&self.from, tiaki::TimeBound::From)?,
            to: bound(&self.to, tiaki::TimeBound::To)?,
        };
        if let (Some(f), Some(t)) = (filter.from, filter.to)
            && f > t
        {
            bail!("--from is after --to");
        }
        let mut opts = HuntOptions {
            read: ReadOptions {
                format: self.input_format,
                evtx_recover_records: !self.no_carve,
                ..ReadOptions::default()
            },
            filter,
            ..HuntOptions::default()
        };
        crate::limits::active().apply_hunt(&mut opts);
        Ok(opts)
    }

    /// The output: the file named by `--output`, or standard output. An output inside the
    /// evidence is refused.
    pub fn open_output(&self) -> Result<Box<dyn Write>> {
        if let Some(p) = &self.output {
            crate::integrity::refuse_inside_evidence(p, &self.paths, "the output")?;
        }
        Ok(match &self.output {
            Some(p) => Box::new(QuitOnClosedPipe(BufWriter::with_capacity(
                1 << 16,
                File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
            ))),
            None => Box::new(QuitOnClosedPipe(BufWriter::with_capacity(
                1 << 16,
                std::io::stdout().lock(),
            ))),
        })
    }
}

/// Ends the process quietly when the reader of the output goes away
/// (`tiaki hunt ... | head`): there is nobody left to write for, and the
/// evidence reader has no way to be stopped early.
struct QuitOnClosedPipe<W: Write>(W);

impl<W: Write> Write for QuitOnClosedPipe<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        quit_if_closed(self.0.write(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        quit_if_closed(self.0.flush())
    }
}

fn quit_if_closed<T>(r: std::io::Result<T>) -> std::io::Result<T> {
    if let Err(e) = &r
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
    r
}

/// A progress spinner on stderr if it is a terminal; hidden otherwise.
pub fn progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {elapsed} {human_pos} events {msg}")
            .expect("valid template"),
    );
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

/// Reports progress to the bar.
pub fn on_progress(pb: &ProgressBar) -> impl FnMut(&Progress) + '_ {
    move |p: &Progress| {
        pb.set_position(p.events);
        let secs = pb.elapsed().as_secs_f64().max(1e-3);
        let mut msg = format!("({:.0}/s)", p.events as f64 / secs);
        if p.detections > 0 {
            msg.push_str(&format!(", {} detections", p.detections));
        }
        pb.set_message(msg);
    }
}

/// Rule arguments shared by `hunt` and `timeline`.
#[derive(Args, Debug, Clone)]
pub struct RuleArgs {
    /// Sigma rule files or directories (repeatable). Default: the directory
    /// in $TIAKI_RULES.
    #[arg(long = "rules", short = 'r', value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    #[command(flatten)]
    pub options: RuleOptions,
}

impl RuleArgs {
    /// The rule paths: `--rules`, else `$TIAKI_RULES`, else `None`.
    pub fn paths(&self) -> Option<Vec<PathBuf>> {
        if !self.rules.is_empty() {
            return Some(self.rules.clone());
        }
        std::env::var_os(RULES_ENV)
            .filter(|v| !v.is_empty())
            .map(|v| std::env::split_paths(&v).collect())
    }

    /// Loads and compiles the rules, warning on stderr about refused ones.
    pub fn load(&self, paths: &[PathBuf]) -> Result<Rules> {
        let (col, files) = load_rules(paths, &self.options)?;
        let rules = Rules::compile(col);
        crate::alloc::streaming();
        let loaded = rules.set.len() + rules.set.correlations().len();
        if !rules.errors.is_empty() {
            eprintln!(
                "tiaki: {} rule documents refused (`tiaki rules check {}` lists them)",
                rules.errors.len(),
                paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            if !rules.correlations_usable {
                eprintln!("tiaki: correlation rules could not be resolved; hunting without them");
            }
        }
        if loaded == 0 {
            bail!(
                "no rules loaded from {} ({files} rule files)",
                paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        Ok(rules)
    }
}

/// `--format` of `hunt`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HuntFormat {
    /// Aligned text for a person.
    Table,
    /// CSV with a header row.
    Csv,
    /// One JSON object per detection per line (the stable contract).
    Jsonl,
    /// One JSON document: detections and the summary.
    Json,
}

impl From<HuntFormat> for OutputFormat {
    fn from(f: HuntFormat) -> Self {
        match f {
            HuntFormat::Table => OutputFormat::Table,
            HuntFormat::Csv => OutputFormat::Csv,
            HuntFormat::Jsonl => OutputFormat::Jsonl,
            HuntFormat::Json => OutputFormat::Json,
        }
    }
}

/// `tiaki hunt`.
#[derive(Args, Debug)]
pub struct HuntArgs {
    #[command(flatten)]
    evidence: EvidenceArgs,
    #[command(flatten)]
    rules: RuleArgs,
    #[command(flatten)]
    sweeps: SweepArgs,
    /// Only report detections at or above this level.
    #[arg(long, value_name = "LEVEL", value_parser = parse_level)]
    min_level: Option<Level>,
    /// Exit with status 1 if any detection is at or above this level.
    #[arg(long, value_name = "LEVEL", value_parser = parse_level)]
    fail_on: Option<Level>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: HuntFormat,
    /// Also list matches of rules that only feed correlation rules
    /// (`generate: false`, hidden by default as the Sigma specification says).
    #[arg(long)]
    all_matches: bool,
    /// Write the detections in a reproducible order, after the hunt: `time` (record time, then
    /// file, record and rule) or `source` (file, record, rule). Without it detections stream
    /// as they are found, in an order that depends on which file's batch finished first.
    #[arg(long, value_enum, value_name = "ORDER")]
    sort: Option<SortArg>,
    #[command(flatten)]
    case: crate::case::HuntCaseArgs,
}

/// The `--sort` choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SortArg {
    /// By record time; detections without a time come last.
    Time,
    /// By evidence file, then record number or line.
    Source,
}

/// Detections at or above `level` in a summary.
pub fn detections_at_least(summary: &Summary, level: Level) -> u64 {
    summary
        .detections_by_level
        .iter()
        .filter(|(name, _)| Level::parse(name).unwrap_or(Level::Informational) >= level)
        .map(|(_, n)| n)
        .sum()
}

/// Exit status 2 if nothing at all could be read.
pub fn check_readable(summary: &Summary) -> Result<()> {
    if summary.events_read == 0
        && !summary.files_with_problems.is_empty()
        && summary.files_with_problems.len() == summary.files
        && summary.files_with_problems.iter().all(|f| !f.complete)
    {
        let first = &summary.files_with_problems[0];
        bail!(
            "no evidence could be read: {}",
            first
                .errors
                .first()
                .cloned()
                .unwrap_or_else(|| first.path.clone())
        );
    }
    Ok(())
}

/// Reports a library error, treating a closed pipe as a normal end.
pub fn finish_error(e: HuntError) -> Result<ExitCode> {
    if e.is_broken_pipe() {
        return Ok(ExitCode::SUCCESS);
    }
    Err(e.into())
}

/// Runs `tiaki hunt`; with `--case`, records it in the case store at `store`.
pub fn run(args: HuntArgs, store: Option<&Path>) -> Result<ExitCode> {
    let started = tiaki_store::now();
    let mut opts = args.evidence.options()?;
    let before = if args.case.case.is_some() {
        let db = crate::intel::store_path(store)?;
        crate::integrity::refuse_inside_evidence(&db, &args.evidence.paths, "the case store")?;
        crate::integrity::hash_all(&args.evidence.paths)
    } else {
        Vec::new()
    };
    opts.min_level = args.min_level;
    opts.all_matches = args.all_matches;
    let rules = match args.rules.paths() {
        Some(rule_paths) => args.rules.load(&rule_paths)?,
        None if args.sweeps.any() => {
            crate::alloc::streaming();
            Rules::empty()
        }
        None => bail!(
            "no rules: give --rules DIR (Sigma rule files or directories, e.g. a SigmaHQ \
             checkout's rules/) or set {RULES_ENV}, or sweep with --intel FEED / --yara DIR"
        ),
    };
    let loaded = args.sweeps.load()?;
    let sweeps = loaded.sweeps();
    let format = OutputFormat::from(args.format);
    let out = args.evidence.open_output()?;
    let mut sink = format.writer(out);
    if let Some(order) = args.sort {
        let order = match order {
            SortArg::Time => SortOrder::Time,
            SortArg::Source => SortOrder::Source,
        };
        sink = Box::new(SortedSink::new(
            sink,
            order,
            opts.spill_dir.as_deref(),
            opts.sort_budget,
        ));
    }
    let pb = progress_bar();
    let mut kept = Vec::new();
    let result = if args.case.case.is_some() {
        let mut tee = crate::case::Tee::new(sink.as_mut());
        let r = tiaki::hunt_with(
            &args.evidence.paths,
            &rules,
            &sweeps,
            &opts,
            &mut tee,
            &mut on_progress(&pb),
        );
        kept = tee.kept;
        r
    } else {
        tiaki::hunt_with(
            &args.evidence.paths,
            &rules,
            &sweeps,
            &opts,
            sink.as_mut(),
            &mut on_progress(&pb),
        )
    };
    pb.finish_and_clear();
    let summary = match result {
        Ok(s) => s,
        Err(e) => return finish_error(e),
    };
    drop(sink);
    if !format.embeds_summary() {
        eprint!("{summary}");
    }
    check_readable(&summary)?;
    let intact = crate::case::record_hunt(
        store,
        &args.case,
        &args.evidence.paths,
        &before,
        &summary,
        &kept,
        crate::investigate::rules_loaded(&rules),
        &started,
    )?;
    if !intact {
        return Ok(ExitCode::from(crate::integrity::EXIT_EVIDENCE_CHANGED));
    }
    if let Some(level) = args.fail_on
        && detections_at_least(&summary, level) > 0
    {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
