//! `tiaki demo` and `tiaki scenario generate`: the parliamentary intrusion, end to end.
//!
//! The demo generates (or reuses) a scenario with `tiaki_scenario`, then runs exactly what
//! `tiaki investigate` runs on it — the project's rules with the scenario organisation's site
//! placeholders (its DMZ), the partner intel bundles, the YARA pack, plus any `--rules` the
//! user adds (SigmaHQ) — and scores the result against the scenario's ground truth (recall
//! per storyline step). Nothing in the pipeline knows it is a demo: the ground truth is only
//! read after the hunt, to grade it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use tiaki::Detection;
use tiaki_report::StepRecall;
use tiaki_scenario::{Options as ScenarioOptions, Scenario, Truth};

use crate::hunt::{EvidenceArgs, RuleArgs};
use crate::intel::{KbArgs, load_kb};
use crate::investigate::{
    CaseArgs, InvestigateArgs, SeverityArg, TlpArg, investigate, kb_label, print_outcome,
};
use crate::rules::RuleOptions;
use crate::sweeps::SweepArgs;

/// The scenarios, as flags name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScenarioArg {
    /// APT40-style intrusion into the Parliamentary Drafting Office (web app exploit first).
    Apt40,
    /// APT31-style email-first intrusion into the Legislature Services Agency.
    Apt31,
    /// Benign activity and decoys only.
    Background,
}

impl From<ScenarioArg> for Scenario {
    fn from(s: ScenarioArg) -> Self {
        match s {
            ScenarioArg::Apt40 => Scenario::Apt40,
            ScenarioArg::Apt31 => Scenario::Apt31,
            ScenarioArg::Background => Scenario::Background,
        }
    }
}

impl ScenarioArg {
    fn name(self) -> &'static str {
        match self {
            ScenarioArg::Apt40 => "apt40",
            ScenarioArg::Apt31 => "apt31",
            ScenarioArg::Background => "background",
        }
    }
}

/// Flags shared by `demo` and `scenario generate`.
#[derive(Args, Clone)]
pub struct GenArgs {
    /// Which scenario.
    #[arg(long, value_enum, default_value = "apt40")]
    pub scenario: ScenarioArg,
    /// Random seed (same seed and scale: byte-identical evidence).
    #[arg(long, default_value_t = 20250303)]
    pub seed: u64,
    /// Volume of benign background activity (1.0 ≈ a few hundred thousand events).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
}

/// Flags of `tiaki demo`.
#[derive(Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub gen_args: GenArgs,
    /// Working folder: evidence under `<dir>/<scenario>-seed<N>-scale<X>/evidence`, report
    /// beside it.
    #[arg(long, value_name = "DIR", default_value = "target/tiaki-demo")]
    pub dir: PathBuf,
    /// Generate the evidence again even if it is there.
    #[arg(long)]
    pub regenerate: bool,
    /// More Sigma rules to hunt with besides the project's (e.g. a SigmaHQ checkout's
    /// `rules/`; repeatable).
    #[arg(long = "rules", short = 'r', value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    #[command(flatten)]
    pub kb: KbArgs,
}

/// `tiaki scenario` subcommands.
#[derive(Subcommand)]
pub enum ScenarioCommand {
    /// Write a scenario's evidence files and its ground truth (`truth.json`).
    Generate {
        #[command(flatten)]
        gen_args: GenArgs,
        /// Output folder.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

/// Where the project's own files are: the current directory if it is the repository,
/// else the repository this binary was built from.
fn project_file(rel: &str) -> PathBuf {
    let here = PathBuf::from(rel);
    if here.exists() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// Runs `tiaki scenario`.
pub fn run_scenario(cmd: ScenarioCommand) -> Result<ExitCode> {
    match cmd {
        ScenarioCommand::Generate { gen_args, out } => {
            let m = generate(&gen_args, &out)?;
            println!(
                "{}: {} events in {} files ({} bytes), {} storyline steps; truth in {}",
                gen_args.scenario.name(),
                m.total_events,
                m.files.len(),
                m.total_bytes,
                m.truth.steps.len(),
                out.join("truth.json").display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn generate(g: &GenArgs, out: &Path) -> Result<tiaki_scenario::Manifest> {
    if !(g.scale > 0.0 && g.scale.is_finite()) {
        bail!("--scale must be a positive number");
    }
    tiaki_scenario::generate(&ScenarioOptions {
        scenario: g.scenario.into(),
        seed: g.seed,
        scale: g.scale,
        out: out.to_path_buf(),
        gzip: false,
    })
    .with_context(|| format!("cannot generate the scenario into {}", out.display()))
}

/// Runs `tiaki demo`.
pub fn run(args: DemoArgs, store: Option<&Path>) -> Result<ExitCode> {
    let g = &args.gen_args;
    let case_dir = args.dir.join(format!(
        "{}-seed{}-scale{}",
        g.scenario.name(),
        g.seed,
        g.scale
    ));
    let evidence = case_dir.join("evidence");
    let truth_path = evidence.join("truth.json");
    let started = std::time::Instant::now();
    if args.regenerate || !truth_path.exists() {
        if evidence.exists() {
            std::fs::remove_dir_all(&evidence)
                .with_context(|| format!("cannot clear {}", evidence.display()))?;
        }
        let m = generate(g, &evidence)?;
        eprintln!(
            "generated {} scenario: {} events, {} files, {:.1} MB in {:.1} s",
            g.scenario.name(),
            m.total_events,
            m.files.len(),
            m.total_bytes as f64 / 1e6,
            started.elapsed().as_secs_f64()
        );
    } else {
        eprintln!("reusing the scenario in {}", evidence.display());
    }
    let truth = tiaki_scenario::load_truth(&truth_path)
        .with_context(|| format!("cannot read {}", truth_path.display()))?;

    let mut rules = vec![project_file("rules")];
    rules.extend(args.rules.iter().cloned());
    let (title, organisation) = match g.scenario {
        ScenarioArg::Apt31 => (
            "Legislature Services Agency: email-first intrusion (generated scenario)",
            "Legislature Services Agency (fictional)",
        ),
        _ => (
            "Parliamentary Drafting Office: intrusion investigation (generated scenario)",
            "Parliamentary Drafting Office (fictional)",
        ),
    };
    let inv_args = InvestigateArgs {
        evidence: EvidenceArgs {
            paths: vec![evidence.clone()],
            input_format: None,
            no_carve: false,
            from: None,
            to: None,
            output: None,
        },
        rules: RuleArgs {
            rules,
            options: RuleOptions {
                placeholders: Some(project_file("examples/parliament/placeholders.yml")),
                strict_placeholders: false,
            },
        },
        sweeps: SweepArgs {
            intel: vec![project_file("examples/parliament/intel")],
            yara_pack: true,
            yara_max_size: 64,
            ..SweepArgs::default()
        },
        kb: KbArgs {
            kb: args.kb.kb.clone(),
        },
        case: CaseArgs {
            out: case_dir.join("report"),
            title: title.to_owned(),
            organisation: organisation.to_owned(),
            tlp: TlpArg::Amber,
            sectors: vec!["government-national".to_owned()],
            countries: vec!["NZ".to_owned()],
            contain_from: SeverityArg::Medium,
        },
    };
    let l = load_kb(store, &inv_args.kb)?;
    let label = kb_label(&inv_args.kb);
    let grade = |d: &[Detection]| recall(&truth, d);
    let outcome = investigate(&inv_args, &l, &label, Some(&grade))?;
    print_outcome(&outcome);
    eprintln!("demo finished in {:.1} s", started.elapsed().as_secs_f64());
    Ok(ExitCode::SUCCESS)
}

/// Recall per storyline step: a step is found when a detection points at one of its records.
pub fn recall(truth: &Truth, detections: &[Detection]) -> Vec<StepRecall> {
    let hits = detections.iter().flat_map(|d| {
        let mut v = vec![(d.source.path.as_str(), d.source.record_id, d.source.line)];
        if let Some(c) = &d.correlation {
            v.extend(
                c.sources
                    .iter()
                    .map(|s| (s.path.as_str(), s.record_id, s.line)),
            );
        }
        v
    });
    truth
        .recall(hits)
        .into_iter()
        .map(|r| {
            let techniques = truth
                .steps
                .iter()
                .find(|s| s.id == r.id)
                .map(|s| s.techniques.clone())
                .unwrap_or_default();
            StepRecall {
                id: r.id,
                name: r.name,
                techniques,
                detected: r.detected,
                records_hit: r.records_hit as u64,
                records_total: r.records_total as u64,
            }
        })
        .collect()
}
