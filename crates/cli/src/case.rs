//! Cases: `tiaki hunt --case NAME` records a hunt into the case store, and `tiaki case …`
//! lists, shows, annotates and exports cases.
//!
//! What a hunt into a case does, in order: the case is created (or its title, organisation and
//! TLP updated); every evidence file given is hashed (SHA-256) before and after the hunt, the
//! two compared and recorded with the run (see [`crate::integrity`]), and entered in the
//! custody log with who added it and when; the run records every file's account (records
//! hunted, left out by the time window, skipped per reason); the detections are added (the store keys each by its content,
//! so re-running the same hunt adds nothing); the run is recorded; then the *whole case* — every
//! detection from every hunt into it — is correlated into incidents, attributed and planned
//! again, and that analysis replaces the previous one. The report, the console and the STIX
//! export all read that analysis.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand, ValueEnum};
use tiaki::{Detection, DetectionSink, HuntError, Summary};
use tiaki_report::EvidenceSummary;
use tiaki_store::CaseStore;
use tiaki_store::cases::{NewEvidence, NoteTarget, RunFile, RunRecord, Verdict};

use crate::integrity::{Hashed, compare, hash_all};

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

/// Opens the case store named by `--store` (or the default location).
pub fn open_store(store: Option<&Path>) -> Result<CaseStore> {
    let path = store_path(store)?;
    CaseStore::open(&path).with_context(|| format!("cannot open the case store {}", path.display()))
}

/// Records a finished hunt in its case and re-analyses the case. `before` holds the evidence
/// hashes taken before the hunt; the files are hashed again now and compared. Returns `false`
/// if any evidence file changed, appeared or vanished during the hunt.
#[allow(clippy::too_many_arguments)]
pub fn record_hunt(
    store: Option<&Path>,
    args: &HuntCaseArgs,
    paths: &[PathBuf],
    before: &[Hashed],
    summary: &Summary,
    detections: &[Detection],
    rules_loaded: u64,
    started: &str,
) -> Result<bool> {
    let Some(name) = args.case.as_deref() else {
        return Ok(true);
    };
    let after = hash_all(paths);
    let integrity = compare(before, &after);
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

    let mut new_files = 0;
    for h in &after {
        match &h.digest {
            Ok((sha256, size)) => {
                if cs.add_evidence(
                    name,
                    &NewEvidence {
                        path: h.path.display().to_string(),
                        sha256: sha256.clone(),
                        size: *size,
                        added_by: analyst.clone(),
                        tlp: None,
                    },
                )? {
                    new_files += 1;
                }
            }
            Err(e) => eprintln!("tiaki: case {name}: evidence not hashed: {e}"),
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
            files: summary
                .file_accounts
                .iter()
                .map(|f| RunFile {
                    path: f.path.clone(),
                    format: f.format.clone(),
                    events: f.events,
                    hunted: f.hunted,
                    outside_window: f.outside_time_window,
                    without_timestamp: f.without_timestamp,
                    skipped: f.skipped.clone(),
                    complete: f.complete,
                })
                .collect(),
            integrity: integrity.clone(),
        },
    )?;
    eprintln!(
        "case {name}: {} evidence files ({new_files} new), {} detections added, {} already in the case",
        after.len(),
        added.added,
        added.already
    );
    let changed: Vec<_> = integrity.iter().filter(|c| !c.intact).collect();
    if changed.is_empty() {
        eprintln!(
            "case {name}: evidence intact: {} files hashed before and after the hunt, all unchanged",
            integrity.len()
        );
    } else {
        eprintln!(
            "case {name}: WARNING: {} of {} evidence files not intact (recorded in the case):",
            changed.len(),
            integrity.len()
        );
        for c in &changed {
            eprintln!("  {}: {}", c.path, c.problem.as_deref().unwrap_or_default());
        }
    }
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
    Ok(changed.is_empty())
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
        let files = arr(&r["files"]);
        if !files.is_empty() {
            let n = |f: &serde_json::Value, k: &str| f[k].as_u64().unwrap_or(0);
            let sum = |k: &str| files.iter().map(|f| n(f, k)).sum::<u64>();
            let skipped: u64 = files
                .iter()
                .filter_map(|f| f["skipped"].as_object())
                .flat_map(|m| m.values().filter_map(serde_json::Value::as_u64))
                .sum();
            println!(
                "    records of {} files: {} hunted, {} left out by the time window, {} skipped",
                files.len(),
                sum("hunted"),
                sum("outside_window") + sum("without_timestamp"),
                skipped
            );
            for f in files.iter().filter(|f| {
                f["complete"] == false || f["skipped"].as_object().is_some_and(|m| !m.is_empty())
            }) {
                println!(
                    "      {}: {} events, skipped {}{}",
                    s(&f["path"]),
                    n(f, "events"),
                    f["skipped"],
                    if f["complete"] == false {
                        ", INCOMPLETE"
                    } else {
                        ""
                    }
                );
            }
        }
        let checks = arr(&r["integrity"]);
        if !checks.is_empty() {
            let bad: Vec<&serde_json::Value> =
                checks.iter().filter(|c| c["intact"] != true).collect();
            if bad.is_empty() {
                println!(
                    "    evidence intact: {} files, same SHA-256 before and after",
                    checks.len()
                );
            } else {
                println!(
                    "    EVIDENCE NOT INTACT: {} of {} files",
                    bad.len(),
                    checks.len()
                );
                for c in bad {
                    println!("      {}: {}", s(&c["path"]), s(&c["problem"]));
                }
            }
        }
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
