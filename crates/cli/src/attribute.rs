//! `tiaki attribute`: who is behind an intrusion, how sure, and why.
//!
//! The model is `tiaki_intel::attribution`; this file gathers the evidence (flags, and the
//! detections `tiaki hunt --format jsonl` wrote), picks the knowledge base the way every command
//! does ([`load_kb`]), takes the attribution context (CVEs, victimology, working hours) from
//! that same knowledge base, and prints the assessment for an analyst or as JSON.
//!
//! The context comes from [`tiaki_intel::pack::LoadedKb::attribution_context`]: the effective knowledge base is the
//! starter pack overlaid by the store (or one `--kb` file), and only the loaded knowledge base
//! knows which pack facts survived the overlay and where they were re-pointed.
//!
//! Exit codes: 0 when an assessment was made (attributed or not); 2 for bad usage, an unreadable
//! detections file or knowledge base, and no evidence at all. Inputs the knowledge base does not
//! know (a technique id, a software name) are warnings.

use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::{Args, ValueEnum};
use tiaki_intel::attribution::{
    Assessment, Candidate, Channel, Direction, Evidence, IndicatorHit, Model, ModelParams, Options,
    Prior, Verdict,
};

use crate::intel::{KbArgs, load_kb, write_out};
use crate::rules::TableFormat;

/// Flags of `tiaki attribute`.
#[derive(Args)]
pub struct AttributeArgs {
    /// An observed ATT&CK technique: `T1059.001`, `t1059`, `attack.t1059.001` (repeatable,
    /// or comma-separated).
    #[arg(
        long = "technique",
        short = 't',
        value_name = "ID",
        value_delimiter = ','
    )]
    techniques: Vec<String>,
    /// Observed software, by ATT&CK id or by name or alias: `S0228`, `NanHaiShu`,
    /// `"China Chopper"` (repeatable).
    #[arg(long = "software", short = 's', value_name = "NAME|ID")]
    software: Vec<String>,
    /// An observed indicator: an IP address, domain, hash, URL… or a STIX indicator id
    /// (repeatable).
    #[arg(long = "indicator", short = 'i', value_name = "VALUE")]
    indicators: Vec<String>,
    /// An exploited vulnerability: `CVE-2021-26855` (repeatable, or comma-separated).
    #[arg(long = "cve", value_name = "CVE", value_delimiter = ',')]
    cves: Vec<String>,
    /// The victim's sector, STIX industry-sector vocabulary: `government-national`, `defense`…
    /// (repeatable, or comma-separated).
    #[arg(long = "sector", value_name = "SECTOR", value_delimiter = ',')]
    sectors: Vec<String>,
    /// The victim's country: an ISO 3166-1 alpha-2 code or a name (repeatable, or
    /// comma-separated).
    #[arg(long = "country", value_name = "COUNTRY", value_delimiter = ',')]
    countries: Vec<String>,
    /// A time of operator activity, RFC 3339 (`2021-03-03T02:15:00Z`), for the working-hours
    /// channel (repeatable, or comma-separated).
    #[arg(long = "time", value_name = "RFC3339", value_delimiter = ',')]
    times: Vec<String>,
    /// A Sigma-style ATT&CK tag: `attack.t1505.003`, `attack.s0020`, or a group tag
    /// `attack.g0065` (a rule's author ties the behaviour to that group) (repeatable, or
    /// comma-separated).
    #[arg(long = "tag", value_name = "TAG", value_delimiter = ',')]
    tags: Vec<String>,
    /// Detections in the JSON Lines of `tiaki hunt --format jsonl` (`-` for standard input;
    /// repeatable). Their ATT&CK tags, timestamps, indicators and CVEs join the flags.
    #[arg(long = "detections", short = 'd', value_name = "FILE")]
    detections: Vec<PathBuf>,
    #[command(flatten)]
    kb: KbArgs,
    /// Candidates listed (and explained in the JSON).
    #[arg(long, value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..))]
    top: u64,
    /// Candidates whose evidence the table details.
    #[arg(long, value_name = "N", default_value_t = 3)]
    explain: usize,
    /// Attribute only when the leading set's probability reaches this (0–1).
    #[arg(long, value_name = "P", default_value_t = tiaki_intel::attribution::DEFAULT_THRESHOLD,
          value_parser = probability)]
    threshold: f64,
    /// The prior over known sets: `documentation` (∝ 1 + profile size) or `uniform`.
    #[arg(long, value_enum, default_value = "documentation")]
    prior: PriorArg,
    /// Prior probability that the actor is none of the known sets (strictly between 0 and 1).
    #[arg(long, value_name = "P", default_value_t = 0.5, value_parser = open_probability)]
    unknown_prior: f64,
    /// Do not list a candidate's distinctive techniques and software that were not observed.
    #[arg(long)]
    no_counter_evidence: bool,
    /// Output format: a report for the analyst, or the assessment as JSON.
    #[arg(long, value_enum, default_value = "table")]
    format: TableFormat,
    /// Write to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
}

/// The `--prior` choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum PriorArg {
    /// P(set) ∝ 1 + the size of its documented profile.
    Documentation,
    /// Every known set equally likely.
    Uniform,
}

fn probability(s: &str) -> Result<f64, String> {
    let p: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(format!("{p} is not a probability (0–1)"))
    }
}

fn open_probability(s: &str) -> Result<f64, String> {
    let p = probability(s)?;
    if p > 0.0 && p < 1.0 {
        Ok(p)
    } else {
        Err(format!("{p} must be strictly between 0 and 1"))
    }
}

/// Runs `tiaki attribute`.
pub fn run(args: AttributeArgs, store: Option<&Path>) -> Result<ExitCode> {
    let evidence = gather(&args)?;
    let l = load_kb(store, &args.kb)?;
    let context = l.attribution_context();
    let options = Options {
        top: args.top as usize,
        threshold: args.threshold,
        prior: match args.prior {
            PriorArg::Documentation => Prior::Documentation,
            PriorArg::Uniform => Prior::Uniform,
        },
        unknown_prior: args.unknown_prior,
        counter_evidence: !args.no_counter_evidence,
        ..Options::default()
    };
    let assessment = Model::with_background(
        &l.kb,
        context,
        ModelParams::default(),
        l.background().as_ref(),
    )
    .assess(&evidence, &options);
    let text = match args.format {
        TableFormat::Json => format!("{}\n", serde_json::to_string_pretty(&assessment)?),
        TableFormat::Table => render(&assessment, args.explain),
    };
    // The table lists what could not be used; elsewhere (JSON, or a file) say it on stderr too.
    if args.format == TableFormat::Json || args.output.is_some() {
        for u in &assessment.unresolved {
            eprintln!(
                "tiaki: warning: {} '{}' not used: {}",
                channel_name(&u.channel),
                u.item,
                u.reason
            );
        }
    }
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => write_out(&text),
    }
    Ok(ExitCode::SUCCESS)
}

/// The evidence of the flags merged with every detections file; an error when there is none.
fn gather(args: &AttributeArgs) -> Result<Evidence> {
    let clean = |v: &[String]| -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for s in v.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
            if !out.iter().any(|o| o == s) {
                out.push(s.to_owned());
            }
        }
        out
    };
    let mut ev = Evidence {
        techniques: clean(&args.techniques),
        software: clean(&args.software),
        indicators: clean(&args.indicators)
            .iter()
            .map(|s| IndicatorHit::from(s.as_str()))
            .collect(),
        cves: clean(&args.cves),
        sectors: clean(&args.sectors),
        countries: clean(&args.countries),
        timestamps: clean(&args.times),
        ..Evidence::default()
    };
    for tag in clean(&args.tags) {
        if !ev.add_tag(&tag) {
            eprintln!(
                "tiaki: warning: tag '{tag}' is not an ATT&CK technique, software or group tag; ignored"
            );
        }
    }
    let mut files_read: Vec<(String, usize)> = Vec::new();
    for path in &args.detections {
        let (name, bytes) = if path.as_os_str() == "-" {
            let mut b = Vec::new();
            std::io::stdin()
                .read_to_end(&mut b)
                .context("cannot read detections from standard input")?;
            ("standard input".to_owned(), b)
        } else {
            let b = std::fs::read(path)
                .with_context(|| format!("cannot read detections {}", path.display()))?;
            (path.display().to_string(), b)
        };
        let text = String::from_utf8_lossy(&bytes);
        let (found, rep) = Evidence::from_detections_jsonl(&text);
        for (line, why) in &rep.skipped {
            eprintln!("tiaki: warning: {name}:{line}: line skipped: {why}");
        }
        if rep.skipped_count > rep.skipped.len() {
            eprintln!(
                "tiaki: warning: {name}: {} more lines skipped",
                rep.skipped_count - rep.skipped.len()
            );
        }
        eprintln!(
            "{name}: {} detections read, {} lines skipped",
            rep.detections, rep.skipped_count
        );
        files_read.push((name, rep.detections));
        ev.merge(found);
    }
    if ev.is_empty() {
        if files_read.is_empty() {
            bail!(
                "no evidence: give at least one of --technique, --software, --indicator, --cve, \
                 --sector, --country, --time, --tag, or --detections FILE"
            );
        }
        let files: Vec<String> = files_read
            .iter()
            .map(|(n, d)| format!("{n} ({d} detections)"))
            .collect();
        bail!(
            "no evidence: the detections in {} carry no ATT&CK tags, timestamps, indicators or \
             CVEs, and no evidence flags were given",
            files.join(", ")
        );
    }
    Ok(ev)
}

// ---------------------------------------------------------------------------------------------
// the analyst's report

fn channel_name<T: serde::Serialize>(c: &T) -> String {
    serde_json::to_value(c)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// At most `max` characters, cut at a word boundary with an ellipsis.
fn shorten(text: &str, max: usize) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= max {
        return text;
    }
    let cut: String = text.chars().take(max).collect();
    let cut = match cut.rfind(' ') {
        Some(i) if i > max / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end_matches([',', ';', ':', ' ']))
}

/// A probability to three places; a small non-zero one as `<0.001`, so that it does not read
/// as impossible.
fn pct(p: f64) -> String {
    if p > 0.0 && p < 0.0005 {
        "<0.001".to_owned()
    } else {
        format!("{p:.3}")
    }
}

/// Text without the bare URLs ATT&CK's Markdown links leave behind (`Leviathan(https://…)`).
fn without_link_targets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("(http") {
        out.push_str(&rest[..i]);
        match rest[i..].find(')') {
            Some(j) => rest = &rest[i + j + 1..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The assessment as an analyst reads it: the verdict first, P(unknown), the ranking, the
/// evidence for and against the leading candidates, then what could not be used.
fn render(a: &Assessment, explain: usize) -> String {
    let mut s = String::new();
    match &a.verdict {
        Verdict::Attributed {
            id,
            name,
            confidence,
            threshold,
        } => {
            let aka = a
                .candidate(id)
                .map(|c| aka(c, 2))
                .filter(|x| !x.is_empty())
                .map(|x| format!(" ({x})"))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "Verdict: attributed to {id} {name}{aka}, confidence {} (threshold {threshold:.2})",
                pct(*confidence)
            );
        }
        Verdict::InsufficientEvidence {
            reason,
            hypotheses,
            threshold,
            ..
        } => {
            let threshold = if reason.contains("threshold") {
                String::new()
            } else {
                format!(" (threshold {threshold:.2})")
            };
            let _ = writeln!(s, "Verdict: insufficient evidence: {reason}{threshold}");
            if let Some(h) = hypotheses.first() {
                let _ = writeln!(
                    s,
                    "  leading hypothesis, not an attribution: {} {} at {}",
                    h.id,
                    h.name,
                    pct(h.probability)
                );
            }
        }
    }
    let _ = writeln!(
        s,
        "P(unknown: an actor not in the knowledge base) = {}",
        pct(a.unknown)
    );
    let m = &a.summary;
    let _ = writeln!(
        s,
        "Evidence used: {} techniques, {} software, {}/{} indicators matched, {} CVEs, {} sectors, {} countries, {} activity hours, {} group tags; {} sets ranked, {} prior",
        m.techniques,
        m.software,
        m.indicators_matched,
        m.indicators,
        m.cves,
        m.sectors,
        m.countries,
        m.activity_hours,
        m.group_tags,
        a.groups_ranked,
        a.prior.name()
    );
    s.push('\n');
    let name_w = a
        .candidates
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 32);
    let _ = writeln!(
        s,
        "{:>4}  {:<7}  {:<name_w$}  {:>11}  ALIASES",
        "RANK", "ID", "NAME", "PROBABILITY"
    );
    for c in &a.candidates {
        let _ = writeln!(
            s,
            "{:>4}  {:<7}  {:<name_w$}  {:>11}  {}",
            c.rank,
            c.id,
            shorten(&c.name, name_w),
            pct(c.probability),
            aka(c, 4)
        );
    }
    let others = a.groups_ranked.saturating_sub(a.candidates.len());
    if others > 0 {
        let _ = writeln!(
            s,
            "{:>4}  {:<7}  {:<name_w$}  {:>11}",
            "",
            "",
            format!("({others} other sets)"),
            pct(a.rest)
        );
    }
    let _ = writeln!(
        s,
        "{:>4}  {:<7}  {:<name_w$}  {:>11}",
        "",
        "",
        "(unknown actor)",
        pct(a.unknown)
    );
    for c in a.candidates.iter().take(explain) {
        explain_candidate(&mut s, c);
    }
    if !a.unresolved.is_empty() {
        let _ = writeln!(s, "\nWarnings: inputs not used");
        for u in &a.unresolved {
            let _ = writeln!(
                s,
                "  {} '{}': {}",
                channel_name(&u.channel),
                u.item,
                u.reason
            );
        }
    }
    s
}

/// The first `n` of a candidate's other names, `APT<n>` names first: the numbering most
/// reports can be searched by.
fn aka(c: &Candidate, n: usize) -> String {
    let is_apt = |a: &str| {
        a.strip_prefix("APT")
            .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
    };
    let mut names: Vec<&str> = c.aliases.iter().map(String::as_str).collect();
    names.sort_by_key(|a| !is_apt(a));
    names.truncate(n);
    names.join(", ")
}

fn explain_candidate(s: &mut String, c: &Candidate) {
    let _ = writeln!(
        s,
        "\n{} {} ({}): evidence, weight in log-odds",
        c.id,
        c.name,
        pct(c.probability)
    );
    for (dir, label) in [(Direction::For, "for"), (Direction::Against, "against")] {
        let items: Vec<_> = c.evidence.iter().filter(|i| i.direction == dir).collect();
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(s, "  {label}:");
        for i in items {
            let seen = if i.observed || i.channel == Channel::Profile {
                ""
            } else {
                " (not observed)"
            };
            let _ = writeln!(
                s,
                "    {:+6.2}  {:<13} {}{seen}",
                i.weight,
                channel_name(&i.channel),
                shorten(&i.item, 70)
            );
            if let Some(why) = &i.why {
                let _ = writeln!(s, "{:26}{}", "", shorten(&without_link_targets(why), 100));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_cuts_at_words() {
        assert_eq!(shorten("a  b\n c", 10), "a b c");
        let s = shorten(
            "Leviathan has used NanHaiShu in spearphishing campaigns",
            30,
        );
        assert!(s.ends_with('…') && s.chars().count() <= 31, "{s}");
        assert!(s.starts_with("Leviathan has used NanHaiShu"));
    }

    #[test]
    fn link_targets_go() {
        assert_eq!(
            without_link_targets(
                "Leviathan(https://attack.mitre.org/groups/G0065) used it (twice)."
            ),
            "Leviathan used it (twice)."
        );
        assert_eq!(pct(0.0001), "<0.001");
        assert_eq!(pct(0.0), "0.000");
        assert_eq!(pct(0.9876), "0.988");
    }

    #[test]
    fn probabilities_are_checked() {
        assert!(probability("0.7").is_ok());
        assert!(probability("1.5").is_err());
        assert!(open_probability("0").is_err());
        assert!(open_probability("0.5").is_ok());
    }
}
