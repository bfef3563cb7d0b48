//! Cases: `tiaki hunt --case NAME` records a hunt into the case store, and `tiaki case …`
//! lists, shows, annotates and exports cases.
//!
//! What a hunt into a case does, in order: the case is created (or its title, organisation and
//! TLP updated); every evidence file given is hashed (SHA-256) and entered in the custody log
//! with who added it and when; the detections are added (the store keys each by its content,
//! so re-running the same hunt adds nothing); the run is recorded; then the *whole case* — every
//! detection from every hunt into it — is correlated into incidents, attributed and planned
//! again, and that analysis replaces the previous one. The report, the console and the STIX
//! export all read that analysis.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand, ValueEnum};
use rayon::prelude::*;
use tiaki::{Detection, DetectionSink, HuntError, Summary};
use tiaki_report::EvidenceSummary;
use tiaki_store::CaseStore;
use tiaki_store::cases::{NewEvidence, NoteTarget, RunRecord, Verdict};

use crate::intel::{KbArgs, load_kb, store_path};
use crate::investigate::{
    CaseArgs, SeverityArg, TlpArg, analyse, hunt_summary, kb_label, sort_detections,
};

/// The `--case` flags of `tiaki hunt`.
#[derive(Args, Debug, Clone, Default)]
pub struct HuntCaseArgs {
    /// Record this hunt in the named case of the case store (the `--store` file), created if
    /// new: evidence hashes and custody, detections (never twice), then incidents, attribution
    /// and containment for the whole case.
    #[arg(long, value_name = "NAME")]
    pub case: Option<String>,
    /// The case's title (kept from earlier hunts when not given).
    #[arg(long, value_name = "TEXT", requires = "case")]
    pub title: Option<String>,
    /// The organisation investigated.
    #[arg(long, value_name = "NAME", requires = "case")]
    pub organisation: Option<String>,
    /// The case's TLP 2.0 label (default for a new case: amber).
    #[arg(long, value_enum, requires = "case")]
    pub tlp: Option<TlpArg>,
    /// The victim's sector, for attribution (repeatable; kept from earlier hunts).
    #[arg(
        long = "sector",
        value_name = "SECTOR",
        value_delimiter = ',',
        requires = "case"
    )]
    pub sectors: Vec<String>,
    /// The victim's country, for attribution (repeatable; kept from earlier hunts).
    #[arg(
        long = "country",
        value_name = "COUNTRY",
        value_delimiter = ',',
        requires = "case"
    )]
    pub countries: Vec<String>,
    /// Who runs the hunt, for the custody log (default: $USER, else $LOGNAME).
    #[arg(long, value_name = "NAME", requires = "case")]
    pub analyst: Option<String>,
    /// Attribute with exactly this STIX bundle as the knowledge base.
    #[arg(long, value_name = "FILE", requires = "case")]
    pub kb: Option<PathBuf>,
}

/// A sink that passes detections on and keeps a copy for the case store.
pub struct Tee<'a> {
    inner: &'a mut dyn DetectionSink,
    /// The detections written.
    pub kept: Vec<Detection>,
}

impl<'a> Tee<'a> {
    /// Wraps `inner`.
    pub fn new(inner: &'a mut dyn DetectionSink) -> Tee<'a> {
        Tee {
            inner,
            kept: Vec::new(),
        }
    }
}

impl DetectionSink for Tee<'_> {
    fn write(&mut self, detection: &Detection) -> Result<(), HuntError> {
        self.kept.push(detection.clone());
        self.inner.write(detection)
    }

    fn finish(&mut self, summary: &Summary) -> Result<(), HuntError> {
        self.inner.finish(summary)
    }
}

/// The analyst named by a flag, else the login name ($USER, $LOGNAME), else `unknown`.
fn who(flag: Option<String>) -> String {
    flag.or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Hashes one file (SHA-256, streamed).
fn hash_file(path: &Path) -> Result<(String, u64)> {
    use sha2::{Digest, Sha256};
    let mut f =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        h.update(&buf[..n]);
    }
    Ok((
        h.finalize().iter().map(|b| format!("{b:02x}")).collect(),
        size,
    ))
}

/// Every regular file under the paths (symbolic links not followed), sorted.
pub(crate) fn files_under(paths: &[PathBuf]) -> Vec<PathBuf> {
    fn walk(p: &Path, out: &mut Vec<PathBuf>) {
        let Ok(meta) = std::fs::symlink_metadata(p) else {
            return;
        };
        if meta.is_file() {
            out.push(p.to_path_buf());
        } else if meta.is_dir()
            && let Ok(entries) = std::fs::read_dir(p)
        {
            for e in entries.flatten() {
                walk(&e.path(), out);
            }
        }
    }
    let mut out = Vec::new();
    for p in paths {
        walk(p, &mut out);
    }
    out.sort();
    out
}

/// Opens the case store named by `--store` (or the default location).
pub fn open_store(store: Option<&Path>) -> Result<CaseStore> {
    let path = store_path(store)?;
    CaseStore::open(&path).with_context(|| format!("cannot open the case store {}", path.display()))
}

/// Records a finished hunt in its case and re-analyses the case.
pub fn record_hunt(
    store: Option<&Path>,
    args: &HuntCaseArgs,
    paths: &[PathBuf],
    summary: &Summary,
    detections: &[Detection],
    rules_loaded: u64,
    started: &str,
) -> Result<()> {
    let Some(name) = args.case.as_deref() else {
        return Ok(());
    };
    let mut cs = open_store(store)?;
    let analyst = who(args.analyst.clone());
    cs.ensure_case(
        name,
        args.title.as_deref(),
        args.organisation.as_deref(),
        args.tlp.map(|t| t.label()),
    )?;
    if !args.sectors.is_empty() {
        cs.set_case_setting(name, "sectors", &args.sectors.join(","))?;
    }
    if !args.countries.is_empty() {
        cs.set_case_setting(name, "countries", &args.countries.join(","))?;
    }

    let files = files_under(paths);
    let hashed: Vec<(PathBuf, Result<(String, u64)>)> = files
        .par_iter()
        .map(|p| (p.clone(), hash_file(p)))
        .collect();
    let mut new_files = 0;
    for (path, h) in hashed {
        match h {
            Ok((sha256, size)) => {
                let abs = std::fs::canonicalize(&path).unwrap_or(path);
                if cs.add_evidence(
                    name,
                    &NewEvidence {
                        path: abs.display().to_string(),
                        sha256,
                        size,
                        added_by: analyst.clone(),
                        tlp: None,
                    },
                )? {
                    new_files += 1;
                }
            }
            Err(e) => eprintln!("tiaki: case {name}: evidence not hashed: {e:#}"),
        }
    }
    let added = cs.add_detections(name, detections, None)?;
    cs.record_run(
        name,
        &RunRecord {
            by: analyst,
            started: started.to_owned(),
            finished: tiaki_store::now(),
            paths: paths.iter().map(|p| p.display().to_string()).collect(),
            rules: rules_loaded,
            events: summary.events_read,
            detections_added: added.added,
            detections_already: added.already,
        },
    )?;
    eprintln!(
        "case {name}: {} evidence files ({new_files} new), {} detections added, {} already in the case",
        files.len(),
        added.added,
        added.already
    );
    let inv = reanalyse(&mut cs, name, store, args.kb.clone(), rules_loaded)?;
    match &inv.assessment {
        Some(a) => match &a.verdict {
            tiaki_intel::attribution::Verdict::Attributed {
                id,
                name: group,
                confidence,
                ..
            } => eprintln!("case {name}: attributed to {id} {group} ({confidence:.3})"),
            tiaki_intel::attribution::Verdict::InsufficientEvidence { reason, .. } => {
                eprintln!("case {name}: attribution: insufficient evidence: {reason}")
            }
        },
        None => eprintln!("case {name}: no incident of high severity to attribute"),
    }
    eprintln!(
        "case {name}: {} incidents; `tiaki case show {name}` or `tiaki serve` to review",
        inv.incidents.len()
    );
    Ok(())
}

/// Correlates, attributes and plans the whole case again from every detection in it, and
/// stores the analysis.
pub fn reanalyse(
    cs: &mut CaseStore,
    name: &str,
    store: Option<&Path>,
    kb: Option<PathBuf>,
    rules_loaded: u64,
) -> Result<tiaki_report::Investigation> {
    let case = cs
        .case(name)?
        .with_context(|| format!("no case named '{name}'"))?;
    let mut detections = cs.all_detections(name)?;
    sort_detections(&mut detections);
    let list = |key: &str| -> Result<Vec<String>> {
        Ok(cs
            .case_setting(name, key)?
            .map(|v| v.split(',').map(str::to_owned).collect())
            .unwrap_or_default())
    };
    let kb_args = KbArgs { kb };
    let l = load_kb(store, &kb_args)?;
    let case_args = CaseArgs {
        out: PathBuf::new(),
        title: case.title.clone(),
        organisation: case.organisation.clone(),
        tlp: tlp_arg(&case.tlp),
        sectors: list("sectors")?,
        countries: list("countries")?,
        contain_from: SeverityArg::Medium,
    };
    let evidence = cs.evidence(name)?;
    let runs = cs.runs(name)?;
    let summary = EvidenceSummary {
        paths: runs
            .iter()
            .flat_map(|r| r.run.paths.iter().cloned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect(),
        files: evidence.len() as u64,
        events: runs.iter().map(|r| r.run.events).sum(),
        bytes: evidence.iter().map(|e| e.size).sum(),
        skipped: 0,
        damaged_files: 0,
    };
    let rules_loaded = runs
        .iter()
        .map(|r| r.run.rules)
        .max()
        .unwrap_or(rules_loaded);
    let hunt = hunt_summary(&detections, rules_loaded);
    let inv = analyse(
        &detections,
        &l,
        &kb_label(&kb_args),
        &case_args,
        summary,
        hunt,
    );
    cs.save_analysis(name, &inv)?;
    Ok(inv)
}

fn tlp_arg(label: &str) -> TlpArg {
    match label.to_ascii_uppercase().trim_start_matches("TLP:") {
        "CLEAR" | "WHITE" => TlpArg::Clear,
        "GREEN" => TlpArg::Green,
        "AMBER+STRICT" => TlpArg::AmberStrict,
        "RED" => TlpArg::Red,
        _ => TlpArg::Amber,
    }
}

/// Output format of the `case` tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CaseFormat {
    /// Aligned text.
    Table,
    /// JSON.
    Json,
}

/// `tiaki case …`.
#[derive(Subcommand)]
pub enum CaseCommand {
    /// The cases in the store, with their counts and attribution.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: CaseFormat,
    },
    /// One case: evidence and custody, hunts, incidents, attribution, verdicts, notes.
    Show {
        /// The case.
        name: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: CaseFormat,
    },
    /// Everything the store holds about a case, as one JSON document.
    Export {
        /// The case.
        name: String,
        /// Write here instead of standard output.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Add an analyst's note to a case (or to one detection or incident of it).
    Note {
        /// The case.
        name: String,
        /// The note.
        text: String,
        /// Attach the note to this detection (its key, from `case show` or the console).
        #[arg(long, value_name = "KEY", conflicts_with = "incident")]
        detection: Option<String>,
        /// Attach the note to this incident (`INC-001`).
        #[arg(long, value_name = "ID")]
        incident: Option<String>,
        /// Who writes it (default: $USER, else $LOGNAME).
        #[arg(long)]
        analyst: Option<String>,
    },
    /// Record a verdict on a detection: true or false positive.
    Verdict {
        /// The case.
        name: String,
        /// The detection's key.
        key: String,
        /// `tp` (true positive), `fp` (false positive) or `undetermined`.
        verdict: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
        /// Who decides (default: $USER, else $LOGNAME).
        #[arg(long)]
        analyst: Option<String>,
    },
}

/// Runs `tiaki case …`.
pub fn run(cmd: CaseCommand, store: Option<&Path>) -> Result<ExitCode> {
    let mut cs = open_store(store)?;
    match cmd {
        CaseCommand::List { format } => {
            let cases = cs.cases()?;
            if format == CaseFormat::Json {
                println!("{}", serde_json::to_string_pretty(&cases)?);
                return Ok(ExitCode::SUCCESS);
            }
            if cases.is_empty() {
                println!("no cases (create one with `tiaki hunt EVIDENCE --case NAME`)");
            }
            for c in &cases {
                let j = serde_json::to_value(c)?;
                println!(
                    "{:<20} {:<18} {:>6} evidence {:>7} detections {:>4} incidents  {}",
                    j["case"]["name"].as_str().unwrap_or(""),
                    j["case"]["tlp"].as_str().unwrap_or(""),
                    j["evidence"],
                    j["detections"],
                    j["incidents"],
                    j["case"]["title"].as_str().unwrap_or("")
                );
            }
        }
        CaseCommand::Show { name, format } => {
            let dump = cs.dump_case(&name)?;
            if format == CaseFormat::Json {
                println!("{}", serde_json::to_string_pretty(&dump)?);
                return Ok(ExitCode::SUCCESS);
            }
            print_case(&serde_json::to_value(&dump)?);
        }
        CaseCommand::Export { name, output } => {
            let dump = cs.dump_case(&name)?;
            let text = serde_json::to_string_pretty(&dump)?;
            match output {
                Some(p) => std::fs::write(&p, text + "\n")
                    .with_context(|| format!("cannot write {}", p.display()))?,
                None => println!("{text}"),
            }
        }
        CaseCommand::Note {
            name,
            text,
            detection,
            incident,
            analyst,
        } => {
            let target = match (detection, incident) {
                (Some(k), _) => NoteTarget::Detection(k),
                (_, Some(i)) => NoteTarget::Incident(i),
                _ => NoteTarget::Case,
            };
            let who = who(analyst);
            let id = cs.add_note(&name, target, &who, &text, None)?;
            println!("note {id} added to case {name}");
        }
        CaseCommand::Verdict {
            name,
            key,
            verdict,
            reason,
            analyst,
        } => {
            let v = Verdict::parse(&verdict)?;
            let who = who(analyst);
            cs.set_verdict(&name, &key, v, &who, &reason)?;
            println!("case {name}: detection {key} marked {verdict}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A readable summary of a case dump.
fn print_case(d: &serde_json::Value) {
    let c = &d["case"];
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
    println!("case:         {} — {}", s(&c["name"]), s(&c["title"]));
    println!("organisation: {}", s(&c["organisation"]));
    println!(
        "TLP:          {}   status: {}",
        s(&c["tlp"]),
        s(&c["status"])
    );
    println!(
        "created:      {}   updated: {}",
        s(&c["created"]),
        s(&c["updated"])
    );
    let empty = Vec::new();
    let arr = |v: &serde_json::Value| v.as_array().cloned().unwrap_or_default();
    let evidence = arr(&d["evidence"]);
    println!("\nevidence ({} files):", evidence.len());
    for e in evidence.iter().take(20) {
        println!(
            "  {}  {:>10}  {}  added by {} at {}",
            s(&e["sha256"]),
            e["size"],
            s(&e["path"]),
            s(&e["added_by"]),
            s(&e["added_at"])
        );
    }
    if evidence.len() > 20 {
        println!("  … {} more (tiaki case export)", evidence.len() - 20);
    }
    let runs = arr(&d["runs"]);
    println!("\nhunts ({}):", runs.len());
    for r in &runs {
        println!(
            "  {} by {}: {} events, {} detections added, {} already present",
            s(&r["started"]),
            s(&r["by"]),
            r["events"],
            r["detections_added"],
            r["detections_already"]
        );
    }
    let dets = arr(&d["detections"]);
    let mut by_verdict: BTreeMap<String, usize> = BTreeMap::new();
    for x in &dets {
        let v = x["verdict"]["verdict"]
            .as_str()
            .unwrap_or("none")
            .to_owned();
        *by_verdict.entry(v).or_default() += 1;
    }
    println!("\ndetections: {} ({:?})", dets.len(), by_verdict);
    let inv = &d["analysis"];
    let incidents = inv["incidents"].as_array().unwrap_or(&empty);
    println!("\nincidents ({}):", incidents.len());
    for i in incidents.iter().take(10) {
        println!(
            "  {} [{}] {} — {} events",
            s(&i["id"]),
            s(&i["severity"]),
            s(&i["title"]),
            i["events"].as_array().map(|a| a.len()).unwrap_or(0)
        );
    }
    if let Some(cands) = inv["assessment"]["candidates"].as_array() {
        println!("\nattribution:");
        for c in cands.iter().take(3) {
            println!(
                "  {} {} p={:.3}",
                s(&c["id"]),
                s(&c["name"]),
                c["probability"].as_f64().unwrap_or(0.0)
            );
        }
        println!("  verdict: {}", inv["assessment"]["verdict"]);
    }
    let notes = arr(&d["notes"]);
    if !notes.is_empty() {
        println!("\nnotes ({}):", notes.len());
        for n in &notes {
            println!(
                "  {} {}: {}",
                s(&n["created"]),
                s(&n["author"]),
                s(&n["text"])
            );
        }
    }
}
