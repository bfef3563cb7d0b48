//! `tiaki investigate`: the whole job on a pile of evidence, in one command.
//!
//! Hunt (Sigma rules, indicator feeds, YARA) → group the detections into incidents → attribute
//! the most severe incident → write the containment plan → write the reports. Each step is a
//! library call (`tiaki::hunt_with`, `tiaki_incident`, `tiaki_intel::attribution`,
//! `tiaki_report`); this file only gathers the flags and wires them, so `tiaki demo` can run
//! exactly the same path on a generated scenario.
//!
//! Why attribute one incident and not every detection: background noise (a vulnerability
//! scanner, an administrator's enumeration) also fires rules, and its techniques would be
//! weighed as if the intruder had used them. The incident is the unit an analyst attributes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Args, ValueEnum};
use tiaki::{Detection, DetectionKind, DetectionSink, HuntError, Summary};
use tiaki_incident::{
    ContainmentOptions, Incident, IncidentOptions, Severity, build_incidents, containment_plan,
};
use tiaki_intel::attribution::{Assessment, Evidence, Model, ModelParams, Options, Verdict};
use tiaki_intel::pack::LoadedKb;
use tiaki_report::{
    EvidenceSummary, HuntSummary, Investigation, ReportFiles, StepRecall, TechniqueCount,
};

use crate::hunt::{EvidenceArgs, RuleArgs, check_readable, on_progress, progress_bar};
use crate::intel::{KbArgs, load_kb};
use crate::sweeps::SweepArgs;

/// Flags of `tiaki investigate`.
#[derive(Args)]
pub struct InvestigateArgs {
    #[command(flatten)]
    pub evidence: EvidenceArgs,
    #[command(flatten)]
    pub rules: RuleArgs,
    #[command(flatten)]
    pub sweeps: SweepArgs,
    #[command(flatten)]
    pub kb: KbArgs,
    #[command(flatten)]
    pub case: CaseArgs,
}

/// What the report says about the case, and the victimology attribution weighs.
#[derive(Args, Clone)]
pub struct CaseArgs {
    /// Folder the reports, detections and blocklists are written to.
    #[arg(long, value_name = "DIR", default_value = "tiaki-report")]
    pub out: PathBuf,
    /// The report's title.
    #[arg(long, value_name = "TEXT", default_value = "Intrusion investigation")]
    pub title: String,
    /// The organisation investigated.
    #[arg(long, value_name = "NAME", default_value = "")]
    pub organisation: String,
    /// TLP 2.0 label of the report.
    #[arg(long, value_enum, default_value = "amber")]
    pub tlp: TlpArg,
    /// The victim's sector (STIX industry-sector vocabulary), for attribution (repeatable).
    #[arg(long = "sector", value_name = "SECTOR", value_delimiter = ',')]
    pub sectors: Vec<String>,
    /// The victim's country (ISO code or name), for attribution (repeatable).
    #[arg(long = "country", value_name = "COUNTRY", value_delimiter = ',')]
    pub countries: Vec<String>,
    /// Incidents at or above this severity get containment actions.
    #[arg(long, value_enum, default_value = "medium")]
    pub contain_from: SeverityArg,
}

/// TLP 2.0 labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TlpArg {
    /// TLP:CLEAR.
    Clear,
    /// TLP:GREEN.
    Green,
    /// TLP:AMBER.
    Amber,
    /// TLP:AMBER+STRICT.
    AmberStrict,
    /// TLP:RED.
    Red,
}

impl TlpArg {
    /// The label as TLP 2.0 spells it.
    pub fn label(self) -> &'static str {
        match self {
            TlpArg::Clear => "TLP:CLEAR",
            TlpArg::Green => "TLP:GREEN",
            TlpArg::Amber => "TLP:AMBER",
            TlpArg::AmberStrict => "TLP:AMBER+STRICT",
            TlpArg::Red => "TLP:RED",
        }
    }
}

/// `--contain-from` choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SeverityArg {
    /// Every incident.
    Low,
    /// Medium and above.
    Medium,
    /// High and above.
    High,
    /// Critical only.
    Critical,
}

impl From<SeverityArg> for Severity {
    fn from(s: SeverityArg) -> Self {
        match s {
            SeverityArg::Low => Severity::Low,
            SeverityArg::Medium => Severity::Medium,
            SeverityArg::High => Severity::High,
            SeverityArg::Critical => Severity::Critical,
        }
    }
}

/// A sink that keeps every detection (an investigation needs them all in memory to group).
#[derive(Default)]
pub struct Collect {
    /// The detections, in the order the hunt wrote them.
    pub detections: Vec<Detection>,
}

impl DetectionSink for Collect {
    fn write(&mut self, detection: &Detection) -> Result<(), HuntError> {
        self.detections.push(detection.clone());
        Ok(())
    }

    fn finish(&mut self, _summary: &Summary) -> Result<(), HuntError> {
        Ok(())
    }
}

/// What an investigation produced, for the caller to print or check.
pub struct Outcome {
    /// The report's content.
    pub investigation: Investigation,
    /// Where the files are.
    pub files: ReportFiles,
    /// Every detection, time-ordered.
    pub detections: Vec<Detection>,
}

/// Runs `tiaki investigate`.
pub fn run(args: InvestigateArgs, store: Option<&Path>) -> Result<ExitCode> {
    let l = load_kb(store, &args.kb)?;
    let kb_label = kb_label(&args.kb);
    let outcome = investigate(&args, &l, &kb_label, None)?;
    print_outcome(&outcome);
    Ok(ExitCode::SUCCESS)
}

/// How the report names the knowledge base.
pub fn kb_label(kb: &KbArgs) -> String {
    match &kb.kb {
        Some(p) => format!("STIX bundle {}", p.display()),
        None => "embedded starter pack (overlaid by the local store, if any)".to_owned(),
    }
}

/// Grades the detections against a ground truth: recall per storyline step.
pub type Grader<'a> = dyn Fn(&[Detection]) -> Vec<StepRecall> + 'a;

/// Hunts, correlates, attributes, plans and reports. `recall` is the ground truth's verdict
/// per step when the evidence was generated (the demo).
pub fn investigate(
    args: &InvestigateArgs,
    l: &LoadedKb,
    kb_label: &str,
    recall: Option<&Grader<'_>>,
) -> Result<Outcome> {
    let opts = args.evidence.options()?;
    crate::integrity::refuse_inside_evidence(
        &args.case.out,
        &args.evidence.paths,
        "the report folder",
    )?;
    let rules = match args.rules.paths() {
        Some(p) => args.rules.load(&p)?,
        None => tiaki::Rules::empty(),
    };
    let loaded = args.sweeps.load()?;
    let sweeps = loaded.sweeps();
    let mut sink = Collect::default();
    let pb = progress_bar();
    let summary = tiaki::hunt_with(
        &args.evidence.paths,
        &rules,
        &sweeps,
        &opts,
        &mut sink,
        &mut on_progress(&pb),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    pb.finish_and_clear();
    eprint!("{summary}");
    check_readable(&summary)?;
    let mut detections = sink.detections;
    sort_detections(&mut detections);
    let mut notes = skipped_note(&summary);
    let evidence = evidence_summary(&args.evidence.paths, &summary);
    let hunt = hunt_summary(&detections, rules_loaded(&rules));
    let mut investigation = analyse(&detections, l, kb_label, &args.case, evidence, hunt);
    investigation.recall = recall.map(|f| f(&detections));
    notes.append(&mut investigation.notes);
    investigation.notes = notes;
    std::fs::create_dir_all(&args.case.out)
        .with_context(|| format!("cannot create {}", args.case.out.display()))?;
    let files = tiaki_report::write_all(&investigation, &args.case.out)
        .with_context(|| format!("cannot write the report to {}", args.case.out.display()))?;
    write_detections(&args.case.out.join("detections.jsonl"), &detections)?;
    write_blocklists(&args.case.out.join("blocklists"), &investigation)?;
    Ok(Outcome {
        investigation,
        files,
        detections,
    })
}

/// Detections in the order reports and the case store use: time, then file, record, line.
pub fn sort_detections(detections: &mut [Detection]) {
    detections.sort_by(|a, b| {
        (
            a.timestamp.as_deref(),
            &a.source.path,
            a.source.record_id,
            a.source.line,
        )
            .cmp(&(
                b.timestamp.as_deref(),
                &b.source.path,
                b.source.record_id,
                b.source.line,
            ))
    });
}

/// Rules (Sigma detections and correlations) in a compiled set.
pub fn rules_loaded(rules: &tiaki::Rules) -> u64 {
    (rules.set.len() + rules.set.correlations().len()) as u64
}

/// Everything after the hunt: incidents, attribution of the primary incident, containment,
/// technique counts, in one [`Investigation`] (no recall, no files written). `detections`
/// must be in [`sort_detections`] order. `tiaki investigate` and the case store (which
/// re-analyses a whole case after every hunt into it) share this.
pub fn analyse(
    detections: &[Detection],
    l: &LoadedKb,
    kb_label: &str,
    case: &CaseArgs,
    evidence: EvidenceSummary,
    hunt: HuntSummary,
) -> Investigation {
    let incidents = build_incidents(detections, &l.kb, &IncidentOptions::default());
    let assessment = attribute_primary(&incidents, detections, l, case);
    let containment = containment_plan(
        &incidents,
        detections,
        &l.kb,
        &ContainmentOptions {
            min_severity: case.contain_from.into(),
            ..ContainmentOptions::default()
        },
    );
    Investigation {
        title: case.title.clone(),
        organisation: case.organisation.clone(),
        generated: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        tlp: case.tlp.label().to_owned(),
        evidence,
        hunt,
        techniques: technique_counts(detections, l),
        tactics: tiaki_incident::correlate::TACTICS
            .iter()
            .map(|(s, n)| (s.to_string(), n.to_string()))
            .collect(),
        kb_label: kb_label.to_owned(),
        recall: None,
        notes: notes(&incidents),
        incidents,
        assessment,
        containment,
    }
}

/// Attribution of the most severe incident (ties: the one with most detections), with the
/// case's victimology. `None` when no incident is of high severity or more: medium and low
/// incidents are suspicious activity, not an intrusion to put a name to.
fn attribute_primary(
    incidents: &[Incident],
    detections: &[Detection],
    l: &LoadedKb,
    case: &CaseArgs,
) -> Option<Assessment> {
    let primary = incidents
        .iter()
        .filter(|i| i.severity >= Severity::High)
        .max_by_key(|i| (i.severity, i.events.len()))?;
    let mut text = String::new();
    for e in &primary.events {
        if let Some(d) = detections.get(e.index)
            && let Ok(line) = serde_json::to_string(d)
        {
            text.push_str(&line);
            text.push('\n');
        }
    }
    let (mut evidence, _) = Evidence::from_detections_jsonl(&text);
    evidence.sectors.extend(case.sectors.iter().cloned());
    evidence.countries.extend(case.countries.iter().cloned());
    if evidence.is_empty() {
        return None;
    }
    let options = Options::default();
    Some(
        Model::with_background(
            &l.kb,
            l.attribution_context(),
            ModelParams::default(),
            l.background().as_ref(),
        )
        .assess(&evidence, &options),
    )
}

/// What was read, for the report.
pub fn evidence_summary(paths: &[PathBuf], s: &Summary) -> EvidenceSummary {
    EvidenceSummary {
        paths: paths.iter().map(|p| p.display().to_string()).collect(),
        files: s.files as u64,
        events: s.events_read,
        bytes: paths.iter().map(|p| bytes_under(p)).sum(),
        skipped: s.records_skipped.values().sum(),
        damaged_files: s.files_with_problems.len() as u64,
    }
}

/// Total size of the files under `path` (symbolic links not followed).
fn bytes_under(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if meta.is_file() {
        return meta.len();
    }
    if !meta.is_dir() {
        return 0;
    }
    std::fs::read_dir(path)
        .map(|entries| entries.flatten().map(|e| bytes_under(&e.path())).sum())
        .unwrap_or(0)
}

/// Detections by kind and the rules that fired most.
pub fn hunt_summary(detections: &[Detection], rules_loaded: u64) -> HuntSummary {
    let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_rule: BTreeMap<(String, String), u64> = BTreeMap::new();
    for d in detections {
        *by_kind.entry(d.kind.as_str().to_owned()).or_default() += 1;
        let level = d.level.map(|l| l.as_str().to_owned()).unwrap_or_default();
        *by_rule.entry((d.rule_title.clone(), level)).or_default() += 1;
    }
    let mut top: Vec<(String, u64, String)> = by_rule
        .into_iter()
        .map(|((title, level), n)| (title, n, level))
        .collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    top.truncate(25);
    HuntSummary {
        detections: detections.len() as u64,
        by_kind,
        rules_loaded,
        top_rules: top,
    }
}

fn technique_counts(detections: &[Detection], l: &LoadedKb) -> Vec<TechniqueCount> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for d in detections {
        if d.kind == DetectionKind::Yara && d.attack.is_empty() {
            continue;
        }
        for t in &d.attack {
            *counts.entry(t.to_uppercase()).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .map(|(id, count)| {
            let (name, tactics) = match l.kb.by_external_id(&id) {
                Some(o) => {
                    let obj = l.kb.object(o);
                    (obj.name.clone(), obj.tactics.clone())
                }
                None => (String::new(), Vec::new()),
            };
            TechniqueCount {
                id,
                name,
                tactics,
                count,
            }
        })
        .collect()
}

/// The report note about unreadable records, if any were skipped.
pub fn skipped_note(summary: &Summary) -> Vec<String> {
    let skipped: u64 = summary.records_skipped.values().sum();
    if skipped > 0 {
        vec![format!(
            "{skipped} records could not be read and were skipped (see the hunt summary)."
        )]
    } else {
        Vec::new()
    }
}

fn notes(incidents: &[Incident]) -> Vec<String> {
    let mut out = Vec::new();
    if !incidents.iter().any(|i| i.severity >= Severity::High) {
        out.push(
            "No incident reached high severity, so no attribution was run: tiaki attributes \
             intrusions (incidents of high severity or more), not isolated suspicious activity."
                .to_owned(),
        );
    }
    let low = incidents
        .iter()
        .filter(|i| i.severity <= Severity::Low)
        .count();
    if low > 0 {
        out.push(format!(
            "{low} incidents of low or informational severity are listed for completeness; \
             they are not contained or attributed."
        ));
    }
    out
}

fn write_detections(path: &Path, detections: &[Detection]) -> Result<()> {
    let mut text = String::new();
    for d in detections {
        text.push_str(&serde_json::to_string(d)?);
        text.push('\n');
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

fn write_blocklists(dir: &Path, inv: &Investigation) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let plan = &inv.containment;
    // One plain list per kind of value (ipv4.txt, domain.txt, sha256.txt…), then the formats
    // firewalls and resolvers load.
    let kinds: std::collections::BTreeSet<&str> =
        plan.block.iter().map(|b| b.kind.as_str()).collect();
    let mut files: Vec<(String, String)> = kinds
        .into_iter()
        .map(|k| (format!("{k}.txt"), plan.blocklist_plain(k)))
        .collect();
    files.extend([
        ("blocklist.nft".to_owned(), plan.blocklist_nftables()),
        ("blocklist.rpz".to_owned(), plan.blocklist_rpz()),
        ("hosts".to_owned(), plan.blocklist_hosts()),
        ("blocklist.csv".to_owned(), plan.blocklist_csv()),
    ]);
    for (name, text) in files {
        let p = dir.join(name);
        std::fs::write(&p, text).with_context(|| format!("cannot write {}", p.display()))?;
    }
    Ok(())
}

/// Prints where the report is and the key judgements.
pub fn print_outcome(o: &Outcome) {
    let inv = &o.investigation;
    println!("report:     {}", o.files.html.display());
    println!("markdown:   {}", o.files.markdown.display());
    println!("navigator:  {}", o.files.navigator.display());
    println!(
        "detections: {} ({} incidents)",
        o.detections.len(),
        inv.incidents.len()
    );
    for i in inv.incidents.iter().take(5) {
        println!(
            "  {} [{}] {} — {} detections, {} hosts",
            i.id,
            i.severity.as_str(),
            i.title,
            i.events.len(),
            i.hosts.len()
        );
    }
    match &inv.assessment {
        Some(a) => {
            for c in a.candidates.iter().take(3) {
                println!("  attribution: {} {} p={:.3}", c.id, c.name, c.probability);
            }
            match &a.verdict {
                Verdict::Attributed {
                    id,
                    name,
                    confidence,
                    threshold,
                } => println!(
                    "  verdict: attributed to {id} {name} ({confidence:.3} ≥ threshold {threshold:.2})"
                ),
                Verdict::InsufficientEvidence { reason, .. } => {
                    println!("  verdict: insufficient evidence: {reason}")
                }
            }
        }
        None => println!("  attribution: none (no incident of high severity or more to attribute)"),
    }
    if let Some(r) = inv.recall.as_ref().filter(|r| !r.is_empty()) {
        let found = r.iter().filter(|s| s.detected).count();
        println!("storyline steps detected: {found}/{}", r.len());
        for s in r.iter().filter(|s| !s.detected) {
            println!("  missed: {} {}", s.id, s.name);
        }
    }
}
