//! `--intel` and `--yara` for `tiaki hunt`: loading indicator feeds and YARA rules, and
//! saying on stderr what was loaded and what was not.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use tiaki::{IndicatorSummary, IndicatorSweep, Sweeps};
use tiaki_indicators::extract::Extractor;
use tiaki_indicators::{FeedReport, load_path};
use tiaki_yara::{ScanOptions, YaraRules};

/// Skipped feed entries and refused patterns listed in full on stderr; the rest are counted.
const SHOW: usize = 10;

/// Indicator and YARA arguments of `hunt`.
#[derive(Args, Debug, Clone, Default)]
pub struct SweepArgs {
    /// Indicator feeds (repeatable): STIX 2.1 bundles, MISP feed folders or event files, CSV
    /// files with a header, plain lists one value per line; directories are read
    /// recursively. Every event is tested against every indicator.
    #[arg(long = "intel", value_name = "FILE_OR_DIR")]
    pub intel: Vec<PathBuf>,
    /// Extra field map for finding observables in events (TOML, `[roles] src-ip =
    /// ["Field", …]`; see crates/indicators/data/observables.toml).
    #[arg(long = "observables", value_name = "FILE")]
    pub observables: Option<PathBuf>,
    /// YARA rule files or directories (repeatable), run with tiaki's own web-shell pack over
    /// every file under the evidence paths.
    #[arg(long = "yara", value_name = "DIR")]
    pub yara: Vec<PathBuf>,
    /// Scan the evidence files with tiaki's YARA pack alone (no --yara needed).
    #[arg(long)]
    pub yara_pack: bool,
    /// With --yara: leave tiaki's own YARA pack out.
    #[arg(long)]
    pub no_yara_pack: bool,
    /// Files larger than this (MiB) are not YARA-scanned, and are counted.
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    pub yara_max_size: u64,
}

impl SweepArgs {
    /// True when some sweep besides the Sigma rules was asked for.
    pub fn any(&self) -> bool {
        !self.intel.is_empty() || !self.yara.is_empty() || self.yara_pack
    }

    /// Loads the feeds into a sweep; `None` without `--intel`. A feed path that does not
    /// exist or cannot be read is an error; bad entries inside feeds are skipped and reported.
    pub fn load_indicators(&self) -> Result<Option<(IndicatorSweep, IndicatorSummary)>> {
        if self.intel.is_empty() {
            return Ok(None);
        }
        let started = Instant::now();
        let extractor = match &self.observables {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read field map {}", p.display()))?;
                Extractor::with_extra(&p.display().to_string(), &text)?
            }
            None => Extractor::default(),
        };
        let mut indicators = Vec::new();
        let mut report = FeedReport::default();
        for p in &self.intel {
            let (found, rep) = load_path(p)
                .with_context(|| format!("cannot load indicators from {}", p.display()))?;
            indicators.extend(found);
            report.merge(rep);
        }
        let (sweep, refused) = IndicatorSweep::new(indicators, extractor);
        let mut summary = IndicatorSummary {
            by_source: report.by_source.clone(),
            by_kind: report.by_kind.clone(),
            skipped_by_reason: report
                .skipped_by_reason
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            ..IndicatorSummary::default()
        };
        sweep.fill_summary(&mut summary);
        summary.load_seconds = started.elapsed().as_secs_f64();
        eprintln!(
            "tiaki: {} indicators from {} feed files in {:.2} s ({} indexed, {} STIX patterns for the full matcher)",
            sweep.len(),
            report.files,
            summary.load_seconds,
            summary.indexed,
            summary.patterns_per_event + summary.patterns_multi_observation
        );
        if report.skipped_total() > 0 {
            eprintln!(
                "tiaki: {} feed entries skipped: {}",
                report.skipped_total(),
                report
                    .skipped_by_reason
                    .iter()
                    .map(|(r, n)| format!("{n} {r}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            for s in report.skipped.iter().take(SHOW) {
                eprintln!("  {s}");
            }
        }
        if !refused.is_empty() {
            eprintln!("tiaki: {} STIX patterns refused:", refused.len());
            for r in refused.iter().take(SHOW) {
                eprintln!("  {r}");
            }
        }
        if sweep.patterns().unanchored() > 0 {
            eprintln!(
                "tiaki: {} STIX pattern brackets require no indexable value and are tested on every event",
                sweep.patterns().unanchored()
            );
        }
        Ok(Some((sweep, summary)))
    }

    /// Compiles the YARA rules; `None` without `--yara`/`--yara-pack`. Rule files that do
    /// not compile are reported and left out.
    pub fn load_yara(&self) -> Result<Option<(YaraRules, ScanOptions)>> {
        if self.yara.is_empty() && !self.yara_pack {
            return Ok(None);
        }
        for p in &self.yara {
            std::fs::metadata(p)
                .with_context(|| format!("cannot read YARA rules {}", p.display()))?;
        }
        let mut b = YaraRules::builder().project_pack(!self.no_yara_pack || self.yara.is_empty());
        for p in &self.yara {
            b = b.add_path(p);
        }
        let rules = b.build();
        for p in rules.problems() {
            eprintln!("tiaki: YARA: {p}");
        }
        if rules.rule_count() == 0 {
            anyhow::bail!("no YARA rules compiled");
        }
        let options = ScanOptions {
            max_file_size: self.yara_max_size.saturating_mul(1024 * 1024),
            ..ScanOptions::default()
        };
        Ok(Some((rules, options)))
    }
}

/// The sweeps as loaded by [`SweepArgs::load`]; [`Loaded::sweeps`] lends them to a hunt.
pub struct Loaded {
    indicators: Option<(IndicatorSweep, IndicatorSummary)>,
    yara: Option<(YaraRules, ScanOptions)>,
}

impl SweepArgs {
    /// Loads the indicator feeds and the YARA rules the flags ask for.
    pub fn load(&self) -> Result<Loaded> {
        Ok(Loaded {
            indicators: self.load_indicators()?,
            yara: self.load_yara()?,
        })
    }
}

impl Loaded {
    /// What `tiaki::hunt_with` takes.
    pub fn sweeps(&self) -> Sweeps<'_> {
        let mut sweeps = Sweeps::default();
        if let Some((sweep, summary)) = &self.indicators {
            sweeps.indicators = Some(sweep);
            sweeps.indicator_summary = summary.clone();
        }
        if let Some((rules, options)) = &self.yara {
            sweeps.yara = Some(rules);
            sweeps.yara_options = options.clone();
        }
        sweeps
    }
}
