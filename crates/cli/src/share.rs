//! `tiaki share …`: a case leaves as a STIX 2.1 bundle under the TLP 2.0 export rules (to a
//! file, or pushed to a partner's TAXII 2.1 collection), and a partner's collection comes in
//! through TAXII into the knowledge base.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use tiaki_share::export::{ExportInput, ExportOptions, SharedDetection, export_case};
use tiaki_share::taxii::{Auth, Filter, TaxiiClient};
use tiaki_stix::Tlp;
use tiaki_store::cases::{DetectionQuery, Verdict};

use crate::case::open_store;
use crate::intel::store_path;

/// Which case, and under which ceiling.
#[derive(Args, Clone)]
pub struct ExportArgs {
    /// The case to share.
    #[arg(long, value_name = "NAME")]
    pub case: String,
    /// The most restrictive TLP the recipient may get (`clear`, `green`, `amber`,
    /// `amber+strict`); anything marked above it is withheld, with every reference to it.
    #[arg(long, value_name = "LEVEL", default_value = "amber")]
    pub tlp: String,
    /// The producer identity named in the bundle.
    #[arg(long, value_name = "NAME", default_value = "tiaki")]
    pub producer: String,
}

/// How to reach a TAXII server.
#[derive(Args, Clone)]
pub struct TaxiiArgs {
    /// The TAXII 2.1 discovery URL (`https://taxii.partner.example/taxii2/`) or an API root.
    #[arg(long, value_name = "URL")]
    pub taxii: String,
    /// The collection id.
    #[arg(long, value_name = "ID")]
    pub collection: String,
    /// User name for HTTP Basic (with --password, or the token as the password).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// Password for HTTP Basic (prefer the environment variable).
    #[arg(long, env = "TIAKI_TAXII_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// API token: sent as a bearer token, or as the Basic password when --user is given.
    #[arg(long, env = "TIAKI_TAXII_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

impl TaxiiArgs {
    fn client(&self) -> Result<TaxiiClient> {
        let auth = match (&self.user, &self.password, &self.token) {
            (Some(u), Some(p), _) => Auth::Basic(u.clone(), p.clone()),
            (Some(u), None, Some(t)) => Auth::Basic(u.clone(), t.clone()),
            (None, _, Some(t)) => Auth::Bearer(t.clone()),
            _ => Auth::None,
        };
        Ok(TaxiiClient::new(&self.taxii, auth)?)
    }
}

/// `tiaki share …`.
#[derive(Subcommand)]
pub enum ShareCommand {
    /// Write a case as a STIX 2.1 bundle.
    Export {
        #[command(flatten)]
        export: ExportArgs,
        /// Allow TLP:RED items into the file (person-to-person sharing, on the analyst's
        /// explicit decision; never for a push).
        #[arg(long)]
        allow_red: bool,
        /// Write here instead of standard output.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Export a case and add it to a partner's TAXII 2.1 collection.
    Push {
        #[command(flatten)]
        export: ExportArgs,
        #[command(flatten)]
        taxii: TaxiiArgs,
    },
    /// Fetch a TAXII 2.1 collection and import it into the knowledge base.
    Pull {
        #[command(flatten)]
        taxii: TaxiiArgs,
        /// Only objects added after this time (RFC 3339).
        #[arg(long, value_name = "TIME")]
        added_after: Option<String>,
        /// Also write what was pulled as a bundle.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
        /// Do not import into the knowledge base.
        #[arg(long)]
        no_import: bool,
    },
}

/// Runs `tiaki share …`.
pub fn run(cmd: ShareCommand, store: Option<&Path>) -> Result<ExitCode> {
    match cmd {
        ShareCommand::Export {
            export,
            allow_red,
            output,
        } => {
            let bundle = build(store, &export, allow_red)?;
            let text = serde_json::to_string_pretty(&bundle)?;
            match output {
                Some(p) => std::fs::write(&p, text + "\n")
                    .with_context(|| format!("cannot write {}", p.display()))?,
                None => println!("{text}"),
            }
        }
        ShareCommand::Push { export, taxii } => {
            let bundle = build(store, &export, false)?;
            let objects = bundle["objects"].as_array().cloned().unwrap_or_default();
            let client = taxii.client()?;
            let status = client.add_objects(&taxii.collection, &objects)?;
            println!(
                "pushed {} objects to {} collection {}: {} succeeded, {} failed, {} pending",
                objects.len(),
                taxii.taxii,
                taxii.collection,
                status.success,
                status.failure,
                status.pending
            );
            for f in &status.failures {
                eprintln!("  failed: {} {}", f.id, f.message.as_deref().unwrap_or(""));
            }
            if status.failure > 0 || status.pending > 0 {
                return Ok(ExitCode::from(1));
            }
        }
        ShareCommand::Pull {
            taxii,
            added_after,
            output,
            no_import,
        } => {
            let client = taxii.client()?;
            let pulled = client.get_objects(
                &taxii.collection,
                &Filter {
                    added_after,
                    ..Filter::default()
                },
            )?;
            let bundle = serde_json::json!({
                "type": "bundle",
                "id": format!("bundle--{}", uuid::Uuid::new_v4()),
                "objects": pulled.objects,
            });
            let bytes = serde_json::to_vec_pretty(&bundle)?;
            if let Some(p) = &output {
                std::fs::write(p, &bytes)
                    .with_context(|| format!("cannot write {}", p.display()))?;
            }
            println!(
                "pulled {} objects from {} collection {} (last added {})",
                pulled.objects.len(),
                taxii.taxii,
                taxii.collection,
                pulled.last_added.as_deref().unwrap_or("-")
            );
            if !no_import && !pulled.objects.is_empty() {
                let path = store_path(store)?;
                let mut kb = tiaki_intel::store::Store::open(&path)
                    .with_context(|| format!("cannot open the store {}", path.display()))?;
                let source = format!("taxii:{}#{}", taxii.taxii, taxii.collection);
                let report = kb.import_bytes(&source, &bytes)?;
                println!(
                    "imported into the knowledge base {}: {} objects, {} added, {} updated, {} unchanged, {} older, {} invalid",
                    path.display(),
                    report.objects,
                    report.added,
                    report.updated,
                    report.unchanged,
                    report.older,
                    report.invalid.len()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The case as a STIX bundle under the export rules; prints what was withheld.
fn build(store: Option<&Path>, args: &ExportArgs, allow_red: bool) -> Result<serde_json::Value> {
    let cs = open_store(store)?;
    let case = cs
        .case(&args.case)?
        .with_context(|| format!("no case named '{}'", args.case))?;
    let inv = cs.analysis(&args.case)?.with_context(|| {
        format!(
            "case {} has no analysis yet (hunt into it with --case)",
            args.case
        )
    })?;
    let max_tlp: Tlp = args
        .tlp
        .parse()
        .with_context(|| format!("--tlp {}", args.tlp))?;
    let case_tlp: Tlp = case.tlp.parse().unwrap_or(Tlp::Amber);
    let mut detections = Vec::new();
    let mut offset = 0;
    loop {
        let page = cs.detections(
            &args.case,
            &DetectionQuery {
                offset,
                limit: Some(1000),
                ..DetectionQuery::default()
            },
        )?;
        let n = page.rows.len();
        for row in page.rows {
            detections.push(SharedDetection {
                key: row.key,
                tlp: row.tlp.parse().unwrap_or(case_tlp),
                false_positive: row
                    .verdict
                    .as_ref()
                    .is_some_and(|v| v.verdict == Verdict::FalsePositive),
                detection: row.detection,
            });
        }
        offset += n as u64;
        if n == 0 || offset >= page.total {
            break;
        }
    }
    let export = export_case(
        &ExportInput {
            case_name: case.name.clone(),
            title: case.title.clone(),
            organisation: case.organisation.clone(),
            producer: args.producer.clone(),
            case_tlp,
            investigation: &inv,
            detections: &detections,
            now: tiaki_store::now(),
        },
        &ExportOptions {
            allow_red,
            ..ExportOptions::new(max_tlp)
        },
    )?;
    let by_type: Vec<String> = export
        .report
        .objects_by_type
        .iter()
        .map(|(t, n)| format!("{n} {t}"))
        .collect();
    eprintln!(
        "case {}: exported {} under {}",
        case.name,
        by_type.join(", "),
        max_tlp
    );
    if !export.report.withheld.is_empty() {
        eprintln!(
            "withheld {} items above {} or TLP:RED:",
            export.report.withheld.len(),
            max_tlp
        );
        for w in export.report.withheld.iter().take(20) {
            eprintln!("  {} ({}): {}", w.id_or_item, w.tlp, w.reason);
        }
    }
    Ok(export.bundle)
}
