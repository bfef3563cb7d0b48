//! `tiaki intel`: the knowledge base — import, update, list, show, status.
//!
//! The work is in `tiaki_intel::store` (SQLite), `tiaki_intel::pack` (the embedded starter
//! pack and the overlay rule) and `tiaki_intel::update` (download and verify). This file
//! parses flags, picks the knowledge base ([`load_kb`], shared with every command that uses
//! one) and prints.
//!
//! Exit codes: 0 success; 2 bad usage, an unknown or ambiguous name, an unreadable input, a
//! failed download or a checksum mismatch. An import that skipped invalid objects still
//! succeeds (each skipped object is named).

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use tiaki_intel::kb::alias::normalize_name;
use tiaki_intel::kb::{ObjectKind, Resolution};
use tiaki_intel::pack::LoadedKb;
use tiaki_intel::store::{self, ImportReport, Store};
use tiaki_intel::update::{self, UpdateOptions};
use tiaki_intel::{KnowledgeBase, ObjId};

use crate::rules::TableFormat;

/// `println!` that ends the process quietly when the reader has gone away (`| head`).
macro_rules! say {
    ($($arg:tt)*) => {
        write_out(&format!("{}\n", format_args!($($arg)*)))
    };
}

/// Writes to standard output; a closed pipe ends the process with success, as for `hunt`.
pub fn write_out(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("tiaki: error: cannot write to standard output: {e}");
        std::process::exit(2);
    }
}

/// The knowledge-base choice shared by every command that uses one.
#[derive(Args, Debug, Clone, Default)]
pub struct KbArgs {
    /// Use exactly this STIX bundle as the knowledge base: no starter pack, no store.
    #[arg(long, value_name = "FILE")]
    pub kb: Option<PathBuf>,
}

/// The store file: `--store`, else the default location.
pub fn store_path(store: Option<&Path>) -> Result<PathBuf> {
    match store {
        Some(p) => Ok(p.to_path_buf()),
        None => Ok(store::default_path()?),
    }
}

/// The knowledge base a command works on: the `--kb` bundle when given; otherwise the
/// starter pack overlaid by the store (the pack alone when there is no store yet).
pub fn load_kb(store: Option<&Path>, args: &KbArgs) -> Result<LoadedKb> {
    if let Some(file) = &args.kb {
        return LoadedKb::from_bundle_file(file)
            .with_context(|| format!("cannot load the knowledge base {}", file.display()));
    }
    let path = match store_path(store) {
        Ok(p) => p,
        // No HOME and no --store: a fresh, anonymous machine still has the pack.
        Err(_) => return Ok(LoadedKb::pack_only()?),
    };
    match Store::open_existing(&path)? {
        Some(s) => Ok(s.load_kb()?),
        None => Ok(LoadedKb::pack_only()?),
    }
}

/// The `intel` subcommands.
#[derive(Subcommand)]
pub enum IntelCommand {
    /// Import STIX 2.1 bundles (e.g. ATT&CK's enterprise-attack.json) and the MISP
    /// threat-actor galaxy into the store; each file is recognised by its content.
    Import {
        /// Files to import.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: TableFormat,
    },
    /// Download ATT&CK Enterprise (STIX 2.1) from MITRE, verify its SHA-256, import it.
    Update {
        /// Download from here instead of MITRE's latest release.
        #[arg(long, value_name = "URL", conflicts_with = "attack_version")]
        url: Option<String>,
        /// Download this ATT&CK release (e.g. 18.1) from MITRE instead of the latest.
        #[arg(long = "attack-version", value_name = "VERSION")]
        attack_version: Option<String>,
        /// The expected SHA-256 of the download (hex); the import is refused on mismatch.
        #[arg(long, value_name = "HEX", env = update::SHA256_ENV)]
        sha256: Option<String>,
        /// Import without a checksum to verify against (the digest is still recorded).
        #[arg(long, conflicts_with = "sha256")]
        no_verify: bool,
        /// Give up after this many seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 600)]
        timeout: u64,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: TableFormat,
    },
    /// List the groups of the knowledge base, or the imports of the store.
    #[command(subcommand)]
    List(ListCommand),
    /// Show one group (by name, alias, ATT&CK id or STIX id), technique, software or campaign.
    Show {
        /// A name, alias or id: `APT40`, `Leviathan`, `G0065`, `T1505.003`, `S0020`…
        name: String,
        #[command(flatten)]
        kb: KbArgs,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: TableFormat,
    },
    /// Where the knowledge base comes from: the store, its imports, the pack overlay.
    Status {
        #[command(flatten)]
        kb: KbArgs,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: TableFormat,
    },
}

/// The `intel list` subcommands.
#[derive(Subcommand)]
pub enum ListCommand {
    /// Intrusion sets: ATT&CK id, name, aliases, technique and software counts.
    Groups {
        /// Also list revoked and deprecated groups.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        kb: KbArgs,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: TableFormat,
    },
    /// Every import recorded in the store.
    Imports {
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: TableFormat,
    },
}

/// Runs an `intel` subcommand.
pub fn run(cmd: IntelCommand, store: Option<&Path>) -> Result<ExitCode> {
    match cmd {
        IntelCommand::Import { files, format } => import(store, &files, format),
        IntelCommand::Update {
            url,
            attack_version,
            sha256,
            no_verify,
            timeout,
            format,
        } => {
            let url = match (url, attack_version) {
                (Some(u), _) => u,
                (None, Some(v)) => update::versioned_url(&v),
                (None, None) => update::DEFAULT_URL.to_owned(),
            };
            let opts = UpdateOptions {
                url,
                sha256: sha256.filter(|s| !s.trim().is_empty()),
                allow_unverified: no_verify,
                timeout: std::time::Duration::from_secs(timeout),
                ..Default::default()
            };
            update_cmd(store, &opts, format)
        }
        IntelCommand::List(ListCommand::Groups { all, kb, format }) => {
            list_groups(&load_kb(store, &kb)?, all, format)
        }
        IntelCommand::List(ListCommand::Imports { format }) => list_imports(store, format),
        IntelCommand::Show { name, kb, format } => show(&load_kb(store, &kb)?, &name, format),
        IntelCommand::Status { kb, format } => status(store, &kb, format),
    }
}

// ---------------------------------------------------------------------------------------------
// import / update

fn print_report(r: &ImportReport) {
    let what = match r.kind {
        store::ImportKind::StixBundle => match &r.attack_version {
            Some(v) => format!("STIX bundle (ATT&CK {v})"),
            None => "STIX bundle".to_owned(),
        },
        store::ImportKind::MispGalaxy => "MISP threat-actor galaxy".to_owned(),
    };
    let unit = match r.kind {
        store::ImportKind::StixBundle => "objects",
        store::ImportKind::MispGalaxy => "clusters",
    };
    say!(
        "{}: {what}, {} {unit}: {} added, {} updated, {} unchanged, {} older, {} invalid ({:.2} s)",
        r.source,
        r.objects,
        r.added,
        r.updated,
        r.unchanged,
        r.older,
        r.invalid.len(),
        r.seconds
    );
    for i in &r.invalid {
        let at = i.index.map(|n| format!(" {n}")).unwrap_or_default();
        let id =
            i.id.as_deref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default();
        say!("  invalid{at}{id}: {}", i.reason);
    }
}

fn import(store: Option<&Path>, files: &[PathBuf], format: TableFormat) -> Result<ExitCode> {
    let path = store_path(store)?;
    let mut s = Store::open(&path)?;
    let mut reports = Vec::new();
    let mut failures = Vec::new();
    for f in files {
        match s.import_file(f) {
            Ok(r) => {
                if format == TableFormat::Table {
                    print_report(&r);
                }
                reports.push(r);
            }
            Err(e) => {
                eprintln!("tiaki: error: {e}");
                failures.push(json!({"source": f.display().to_string(), "error": e.to_string()}));
            }
        }
    }
    if format == TableFormat::Json {
        let out =
            json!({"store": path.display().to_string(), "imports": reports, "failures": failures});
        say!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn update_cmd(store: Option<&Path>, opts: &UpdateOptions, format: TableFormat) -> Result<ExitCode> {
    let path = store_path(store)?;
    if std::io::stderr().is_terminal() {
        eprintln!("downloading {} …", opts.url);
    }
    // Download and verify before the store is even opened: a refused download touches nothing.
    let d = update::download(opts)?;
    let mut s = Store::open(&path)?;
    let r = s.import_bytes(&d.url, &d.body)?;
    match format {
        TableFormat::Table => {
            say!(
                "{}: {} bytes in {:.2} s, sha256 {} ({})",
                d.url,
                d.body.len(),
                d.seconds,
                d.sha256,
                if d.verified {
                    "verified"
                } else {
                    "NOT verified: --no-verify"
                }
            );
            print_report(&r);
        }
        TableFormat::Json => {
            let out = json!({"store": path.display().to_string(), "download": d,
                "bytes": d.body.len(), "import": r});
            say!("{}", serde_json::to_string_pretty(&out)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn list_imports(store: Option<&Path>, format: TableFormat) -> Result<ExitCode> {
    let path = store_path(store)?;
    let imports = match Store::open_existing(&path)? {
        Some(s) => s.imports()?,
        None => Vec::new(),
    };
    match format {
        TableFormat::Json => {
            let out = json!({"store": path.display().to_string(), "imports": imports});
            say!("{}", serde_json::to_string_pretty(&out)?);
        }
        TableFormat::Table => {
            say!(
                "{:>4}  {:<24}  {:<11}  {:>7} {:>7} {:>7} {:>7}  SOURCE",
                "ID",
                "WHEN",
                "KIND",
                "OBJECTS",
                "ADDED",
                "UPDATED",
                "INVALID"
            );
            for i in &imports {
                say!(
                    "{:>4}  {:<24}  {:<11}  {:>7} {:>7} {:>7} {:>7}  {}",
                    i.id,
                    i.imported_at,
                    i.kind,
                    i.objects,
                    i.added,
                    i.updated,
                    i.invalid,
                    i.source
                );
            }
            if imports.is_empty() {
                eprintln!("no imports in {}", path.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn status(store: Option<&Path>, kb: &KbArgs, format: TableFormat) -> Result<ExitCode> {
    let path = store_path(store).ok();
    let stored = match (&kb.kb, &path) {
        (None, Some(p)) => Store::open_existing(p)?,
        _ => None,
    };
    let l = load_kb(store, kb)?;
    let counts = l.kb.active_counts();
    let (imports, objects) = match &stored {
        Some(s) => (s.imports()?, s.counts()?),
        None => (Vec::new(), Default::default()),
    };
    let source = if kb.kb.is_some() {
        "file"
    } else if stored.is_some() {
        "pack+store"
    } else {
        "pack"
    };
    match format {
        TableFormat::Json => {
            let out = json!({
                "source": source,
                "store": path.map(|p| p.display().to_string()),
                "store_exists": stored.is_some(),
                "stored_objects": objects,
                "imports": imports.len(),
                "attack_version": l.kb.stats().attack_version,
                "active": counts,
                "load": l.summary,
            });
            say!("{}", serde_json::to_string_pretty(&out)?);
        }
        TableFormat::Table => {
            match (&kb.kb, &path) {
                (Some(f), _) => say!("knowledge base: {} (exactly this bundle)", f.display()),
                (None, Some(p)) if stored.is_some() => say!(
                    "knowledge base: starter pack overlaid by the store {} ({} imports, {} objects)",
                    p.display(),
                    imports.len(),
                    objects.values().sum::<usize>()
                ),
                (None, Some(p)) => say!(
                    "knowledge base: starter pack only (no store at {})",
                    p.display()
                ),
                (None, None) => say!("knowledge base: starter pack only (no store location)"),
            }
            if let Some(v) = &l.kb.stats().attack_version {
                say!("ATT&CK version: {v}");
            }
            if let Some(o) = &l.summary.pack {
                say!(
                    "starter pack: {} objects, {} shadowed by imported ATT&CK ids, {} relationships re-pointed, {} dropped",
                    o.pack_objects,
                    o.shadowed,
                    o.relationships_repointed,
                    o.relationships_dropped
                );
            }
            say!(
                "active: {} groups, {} campaigns ({} attributed), {} techniques, {} sub-techniques, {} software, {} mitigations",
                counts.groups,
                counts.campaigns,
                counts.attributed_campaigns,
                counts.techniques,
                counts.subtechniques,
                counts.software,
                counts.mitigations
            );
            say!("loaded in {:.2} s", l.summary.seconds);
        }
    }
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------------
// list groups

/// Distinct active techniques and software a source uses.
fn used(kb: &KnowledgeBase, source: ObjId) -> (Vec<ObjId>, Vec<ObjId>) {
    let mut tech = BTreeSet::new();
    let mut sw = BTreeSet::new();
    for (t, _) in kb.uses(source) {
        if kb.object(t).kind == ObjectKind::AttackPattern {
            tech.insert(t);
        } else {
            sw.insert(t);
        }
    }
    let sorted = |s: BTreeSet<ObjId>| {
        let mut v: Vec<ObjId> = s.into_iter().collect();
        v.sort_by(|a, b| kb.label(*a).cmp(kb.label(*b)));
        v
    };
    (sorted(tech), sorted(sw))
}

fn status_of(kb: &KnowledgeBase, id: ObjId) -> &'static str {
    let o = kb.object(id);
    if o.revoked {
        "revoked"
    } else if o.deprecated {
        "deprecated"
    } else {
        "active"
    }
}

/// Names of a group other than its own name, as the list shows them: ATT&CK's, the pack's and
/// other producers' aliases (MISP names are many; `intel show` lists them).
fn short_aliases(l: &LoadedKb, g: ObjId) -> Vec<String> {
    let own = normalize_name(&l.kb.object(g).name);
    l.aliases(g)
        .into_iter()
        .filter(|a| a.sources.iter().any(|s| s != "misp"))
        .filter(|a| normalize_name(&a.name) != own)
        .map(|a| a.name)
        .collect()
}

fn list_groups(l: &LoadedKb, all: bool, format: TableFormat) -> Result<ExitCode> {
    let kb = &l.kb;
    let mut ids: Vec<ObjId> = if all {
        (0..kb.objects().len())
            .filter(|&i| kb.objects()[i].kind == ObjectKind::IntrusionSet)
            .filter_map(|i| kb.by_stix_id(&kb.objects()[i].stix_id))
            .collect()
    } else {
        kb.groups().to_vec()
    };
    ids.sort_by(|a, b| {
        (kb.label(*a), &kb.object(*a).stix_id).cmp(&(kb.label(*b), &kb.object(*b).stix_id))
    });
    let rows: Vec<Value> = ids
        .iter()
        .map(|&g| {
            let o = kb.object(g);
            let (tech, sw) = used(kb, g);
            json!({
                "id": o.external_id,
                "stix_id": o.stix_id,
                "name": o.name,
                "aliases": short_aliases(l, g),
                "techniques": tech.len(),
                "software": sw.len(),
                "campaigns": kb.campaigns_of(g).len(),
                "status": status_of(kb, g),
                "loaded_from": l.origin(&o.stix_id),
            })
        })
        .collect();
    match format {
        TableFormat::Json => {
            let out = json!({"knowledge_base": l.summary, "groups": rows});
            say!("{}", serde_json::to_string_pretty(&out)?);
        }
        TableFormat::Table => {
            say!(
                "{:<7}  {:<28}  {:>5}  {:>4}  {}ALIASES",
                "ID",
                "NAME",
                "TECH",
                "SW",
                if all { "STATUS      " } else { "" }
            );
            for r in &rows {
                let aliases: Vec<&str> = r["aliases"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let status = if all {
                    format!("{:<12}", r["status"].as_str().unwrap_or(""))
                } else {
                    String::new()
                };
                say!(
                    "{:<7}  {:<28}  {:>5}  {:>4}  {status}{}",
                    r["id"].as_str().unwrap_or("-"),
                    r["name"].as_str().unwrap_or(""),
                    r["techniques"].as_u64().unwrap_or(0),
                    r["software"].as_u64().unwrap_or(0),
                    aliases.join(", ")
                );
            }
            eprintln!("{} groups", rows.len());
        }
    }
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------------
// show

/// How a query matched.
enum Found {
    One(ObjId, &'static str),
    Many(Vec<ObjId>),
    None,
}

/// `G0065`, `T1505.003`, `S0020`, `C0049`, `M1036`, `TA0001`: an ATT&CK id's shape.
fn looks_like_attack_id(q: &str) -> bool {
    let q = q.trim().to_ascii_uppercase();
    let (head, rest) = match q.strip_prefix("TA") {
        Some(r) => ("TA", r),
        None => (q.get(..1).unwrap_or(""), q.get(1..).unwrap_or("")),
    };
    let (main, sub) = rest.split_once('.').unwrap_or((rest, ""));
    matches!(head, "G" | "T" | "S" | "C" | "M" | "TA")
        && main.len() == 4
        && main.bytes().all(|b| b.is_ascii_digit())
        && (sub.is_empty()
            || (head == "T" && sub.len() == 3 && sub.bytes().all(|b| b.is_ascii_digit())))
}

fn find(kb: &KnowledgeBase, query: &str) -> Found {
    let q = query.trim();
    if let Some(id) = kb.by_stix_id(q) {
        return Found::One(kb.current(id), "stix-id");
    }
    if looks_like_attack_id(q)
        && let Some(id) = kb.by_external_id(q)
    {
        return Found::One(id, "attack-id");
    }
    match kb.resolve_detailed(q) {
        Resolution::Unique { group, source } => {
            let how = match source {
                tiaki_intel::kb::AliasSource::Id => "id",
                tiaki_intel::kb::AliasSource::Name => "name",
                tiaki_intel::kb::AliasSource::Alias => "alias",
                tiaki_intel::kb::AliasSource::Misp => "misp-or-pack-alias",
            };
            return Found::One(group, how);
        }
        Resolution::Ambiguous { groups, .. } => return Found::Many(groups),
        Resolution::Unknown => {}
    }
    // Not a group name: campaigns, software, techniques by name or alias.
    let key = normalize_name(q);
    let mut hits: Vec<ObjId> = kb
        .objects()
        .iter()
        .filter(|o| o.kind != ObjectKind::IntrusionSet && o.kind != ObjectKind::Indicator)
        .filter(|o| {
            normalize_name(&o.name) == key || o.aliases.iter().any(|a| normalize_name(a) == key)
        })
        .filter_map(|o| kb.by_stix_id(&o.stix_id))
        .collect();
    if hits.len() > 1 && hits.iter().any(|&h| kb.is_active(h)) {
        hits.retain(|&h| kb.is_active(h));
    }
    match hits.as_slice() {
        [] => Found::None,
        [one] => Found::One(*one, "name"),
        _ => Found::Many(hits),
    }
}

fn brief(kb: &KnowledgeBase, id: ObjId) -> Value {
    let o = kb.object(id);
    json!({"id": o.external_id, "stix_id": o.stix_id, "name": o.name})
}

fn technique_row(kb: &KnowledgeBase, t: ObjId, citations: &[String]) -> Value {
    let o = kb.object(t);
    let mut v = json!({"id": o.external_id, "name": o.name, "tactics": o.tactics});
    if !citations.is_empty() {
        v["citations"] = json!(citations);
    }
    v
}

fn software_row(kb: &KnowledgeBase, s: ObjId) -> Value {
    let o = kb.object(s);
    let ty = if o.kind == ObjectKind::Tool {
        "tool"
    } else {
        "malware"
    };
    json!({"id": o.external_id, "name": o.name, "type": ty})
}

/// Citations of the active `uses` edges from `source` to `target`.
fn edge_citations(kb: &KnowledgeBase, source: ObjId, target: ObjId) -> Vec<String> {
    let mut c: Vec<String> = kb
        .uses(source)
        .filter(|(t, _)| *t == target)
        .flat_map(|(_, r)| r.citations.iter().map(|&c| kb.citation(c).to_owned()))
        .collect();
    c.sort();
    c.dedup();
    c
}

fn references(raw: Option<&Value>) -> Vec<Value> {
    raw.and_then(|v| v.get("external_references"))
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                // ATT&CK's own id, and its notes on aliases (no URL), are not sources.
                .filter(|r| {
                    !matches!(
                        r.get("source_name").and_then(Value::as_str),
                        Some("mitre-attack" | "mitre-mobile-attack" | "mitre-ics-attack")
                    ) && r.get("url").is_some()
                })
                .map(|r| {
                    let mut o = serde_json::Map::new();
                    for k in ["source_name", "external_id", "url", "description"] {
                        if let Some(v) = r.get(k) {
                            o.insert(k.into(), v.clone());
                        }
                    }
                    Value::Object(o)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// CVEs, victim classes, targeted places, origin and sponsors from the context relationships.
fn context(l: &LoadedKb, stix_id: &str, out: &mut serde_json::Map<String, Value>) {
    let mut cves = BTreeSet::new();
    let mut sectors = BTreeSet::new();
    let mut victims = Vec::new();
    let mut places = BTreeSet::new();
    let mut origin = BTreeSet::new();
    let mut sponsors = Vec::new();
    for (r, target) in l.context_of(stix_id) {
        let Some(t) = target else { continue };
        let ty = t.get("type").and_then(Value::as_str).unwrap_or("");
        let name = t
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        match (r.kind.as_str(), ty) {
            ("targets", "vulnerability") => {
                cves.insert(name);
            }
            ("targets", "identity") => {
                let secs: Vec<&str> = t
                    .get("sectors")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                sectors.extend(secs.iter().map(|s| s.to_string()));
                victims.push(json!({"name": name, "sectors": secs}));
            }
            ("targets", "location") => {
                places.insert(name);
            }
            ("originates-from", "location") => {
                origin.insert(name);
            }
            ("attributed-to", "threat-actor") => {
                sponsors.push(json!({"name": name, "confidence": r.confidence}));
            }
            _ => {}
        }
    }
    out.insert("cves".into(), json!(cves));
    out.insert("sectors".into(), json!(sectors));
    out.insert("victim_classes".into(), json!(victims));
    out.insert("targeted_locations".into(), json!(places));
    out.insert("origin".into(), json!(origin));
    out.insert("sponsors".into(), json!(sponsors));
}

/// The JSON view of one object, by kind.
fn describe(l: &LoadedKb, id: ObjId, matched_by: &str) -> Value {
    let kb = &l.kb;
    let o = kb.object(id);
    let mut v = serde_json::Map::new();
    let kind = serde_json::to_value(o.kind).unwrap_or(Value::Null);
    v.insert("type".into(), kind);
    v.insert("id".into(), json!(o.external_id));
    v.insert("stix_id".into(), json!(o.stix_id));
    v.insert("name".into(), json!(o.name));
    v.insert("status".into(), json!(status_of(kb, id)));
    v.insert("matched_by".into(), json!(matched_by));
    v.insert("loaded_from".into(), json!(l.origin(&o.stix_id)));
    v.insert("publisher".into(), json!(l.publisher(&o.stix_id)));
    if o.revoked {
        let cur = kb.current(id);
        if cur != id {
            v.insert("revoked_by".into(), brief(kb, cur));
        }
    }
    match o.kind {
        ObjectKind::IntrusionSet => {
            v.insert("aliases".into(), json!(l.aliases(id)));
        }
        _ => {
            v.insert("aliases".into(), json!(o.aliases));
        }
    }
    v.insert("description".into(), json!(o.description));
    match o.kind {
        ObjectKind::IntrusionSet | ObjectKind::Campaign => {
            let (tech, sw) = used(kb, id);
            let techniques: Vec<Value> = tech
                .iter()
                .map(|&t| technique_row(kb, t, &edge_citations(kb, id, t)))
                .collect();
            v.insert("techniques".into(), json!(techniques));
            let software: Vec<Value> = sw.iter().map(|&s| software_row(kb, s)).collect();
            v.insert("software".into(), json!(software));
            if o.kind == ObjectKind::IntrusionSet {
                let campaigns: Vec<Value> =
                    kb.campaigns_of(id).iter().map(|&c| brief(kb, c)).collect();
                v.insert("campaigns".into(), json!(campaigns));
            } else {
                let groups: Vec<Value> = kb
                    .attributed_groups(id)
                    .iter()
                    .map(|&g| brief(kb, g))
                    .collect();
                v.insert("attributed_to".into(), json!(groups));
            }
            context(l, &o.stix_id, &mut v);
            // A pack group shadowed by ATT&CK's still lends its sources and working hours.
            let pack_version = l.shadowed_pack_object(&o.stix_id);
            let hours = [l.raw(&o.stix_id), pack_version]
                .into_iter()
                .flatten()
                .find_map(|r| r.get("x_tiaki_activity_hours"));
            if let Some(h) = hours {
                v.insert("activity_hours".into(), h.clone());
            }
            let mut refs = references(l.raw(&o.stix_id));
            for r in references(pack_version) {
                let seen = refs
                    .iter()
                    .any(|x| x["url"] == r["url"] || x["source_name"] == r["source_name"]);
                if !seen {
                    refs.push(r);
                }
            }
            v.insert("references".into(), json!(refs));
        }
        ObjectKind::AttackPattern => {
            v.insert("tactics".into(), json!(o.tactics));
            v.insert("is_subtechnique".into(), json!(o.is_subtechnique));
            if let Some(p) = kb.parent_technique(id) {
                v.insert("parent".into(), brief(kb, p));
            }
            let mut subs: Vec<ObjId> = kb.subtechniques(id);
            subs.sort_by(|a, b| kb.label(*a).cmp(kb.label(*b)));
            v.insert(
                "subtechniques".into(),
                json!(subs.iter().map(|&s| brief(kb, s)).collect::<Vec<_>>()),
            );
            let mut users: Vec<ObjId> = kb
                .relationships_to(id)
                .filter(|r| r.active && r.kind == tiaki_intel::kb::RelKind::Uses)
                .map(|r| r.source)
                .filter(|&s| kb.is_active(s))
                .collect();
            users.sort_by(|a, b| kb.label(*a).cmp(kb.label(*b)));
            users.dedup();
            let of = |k: &dyn Fn(ObjectKind) -> bool| -> Vec<Value> {
                users
                    .iter()
                    .filter(|&&u| k(kb.object(u).kind))
                    .map(|&u| brief(kb, u))
                    .collect()
            };
            v.insert(
                "groups".into(),
                json!(of(&|k| k == ObjectKind::IntrusionSet)),
            );
            v.insert(
                "campaigns".into(),
                json!(of(&|k| k == ObjectKind::Campaign)),
            );
            v.insert("software".into(), json!(of(&|k| k.is_software())));
            let mut mits = kb.mitigations_of(id);
            mits.sort_by(|a, b| kb.label(*a).cmp(kb.label(*b)));
            v.insert(
                "mitigations".into(),
                json!(mits.iter().map(|&m| brief(kb, m)).collect::<Vec<_>>()),
            );
        }
        ObjectKind::Malware | ObjectKind::Tool => {
            let (tech, _) = used(kb, id);
            let techniques: Vec<Value> = tech.iter().map(|&t| technique_row(kb, t, &[])).collect();
            v.insert("techniques".into(), json!(techniques));
            let mut users: Vec<ObjId> = kb
                .relationships_to(id)
                .filter(|r| r.active && r.kind == tiaki_intel::kb::RelKind::Uses)
                .map(|r| r.source)
                .filter(|&s| kb.is_active(s))
                .collect();
            users.sort_by(|a, b| kb.label(*a).cmp(kb.label(*b)));
            users.dedup();
            let groups: Vec<Value> = users
                .iter()
                .filter(|&&u| kb.object(u).kind == ObjectKind::IntrusionSet)
                .map(|&u| brief(kb, u))
                .collect();
            let campaigns: Vec<Value> = users
                .iter()
                .filter(|&&u| kb.object(u).kind == ObjectKind::Campaign)
                .map(|&u| brief(kb, u))
                .collect();
            v.insert("groups".into(), json!(groups));
            v.insert("campaigns".into(), json!(campaigns));
        }
        ObjectKind::Mitigation | ObjectKind::Indicator => {
            if let Some(p) = &o.pattern {
                v.insert("pattern".into(), json!(p));
            }
        }
    }
    let cites: Vec<&str> = o.citations.iter().map(|&c| kb.citation(c)).collect();
    v.insert("citations".into(), json!(cites));
    Value::Object(v)
}

fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for w in para.split_whitespace() {
            if !line.is_empty() && line.len() + 1 + w.len() > width {
                out.push_str(indent);
                out.push_str(&line);
                out.push('\n');
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(w);
        }
        if !line.is_empty() {
            out.push_str(indent);
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| match x {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn label_of(v: &Value) -> String {
    let id = v["id"].as_str().unwrap_or("");
    let name = v["name"].as_str().unwrap_or("");
    if id.is_empty() {
        name.to_owned()
    } else {
        format!("{id} {name}")
    }
}

fn print_view(v: &Value) {
    let id = v["id"]
        .as_str()
        .unwrap_or_else(|| v["stix_id"].as_str().unwrap_or(""));
    say!(
        "{id}  {}  ({}, {}; published by {}, loaded from the {})",
        v["name"].as_str().unwrap_or(""),
        v["type"].as_str().unwrap_or(""),
        v["status"].as_str().unwrap_or(""),
        v["publisher"].as_str().unwrap_or("?"),
        v["loaded_from"].as_str().unwrap_or("?")
    );
    if let Some(r) = v.get("revoked_by") {
        say!("revoked by: {}", label_of(r));
    }
    let list = |title: &str, items: Vec<String>| {
        if !items.is_empty() {
            say!("{title}: {}", items.join(", "));
        }
    };
    if let Some(aliases) = v["aliases"].as_array() {
        if aliases.iter().any(Value::is_object) {
            say!("aliases:");
            for a in aliases {
                let cited = strs(&a["cited"]);
                let cited = if cited.is_empty() {
                    String::new()
                } else {
                    format!("  (pack cites: {})", cited.join(", "))
                };
                say!(
                    "  {:<32} {}{cited}",
                    a["name"].as_str().unwrap_or(""),
                    strs(&a["sources"]).join(", ")
                );
            }
        } else {
            list("aliases", strs(&v["aliases"]));
        }
    }
    if let Some(p) = v.get("parent") {
        say!("sub-technique of: {}", label_of(p));
    }
    list("tactics", strs(&v["tactics"]));
    if let Some(d) = v["description"].as_str().filter(|d| !d.is_empty()) {
        say!("description:");
        write_out(&wrap(d, 96, "  "));
    }
    if let Some(ts) = v["techniques"].as_array().filter(|t| !t.is_empty()) {
        say!("techniques ({}):", ts.len());
        for t in ts {
            say!(
                "  {:<10} {:<60} {}",
                t["id"].as_str().unwrap_or(""),
                t["name"].as_str().unwrap_or(""),
                strs(&t["tactics"]).join(", ")
            );
        }
    }
    for (key, title) in [
        ("subtechniques", "sub-techniques"),
        ("software", "software"),
        ("groups", "groups"),
        ("campaigns", "campaigns"),
        ("attributed_to", "attributed to"),
        ("mitigations", "mitigations"),
    ] {
        if let Some(items) = v
            .get(key)
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty())
        {
            let shown: Vec<String> = items
                .iter()
                .map(|i| match i["type"].as_str() {
                    Some(ty) => format!("{} ({ty})", label_of(i)),
                    None => label_of(i),
                })
                .collect();
            say!("{title} ({}):", shown.len());
            write_out(&wrap(&shown.join(", "), 96, "  "));
        }
    }
    list("CVEs", strs(&v["cves"]));
    list("sectors", strs(&v["sectors"]));
    list("targeted locations", strs(&v["targeted_locations"]));
    list("origin", strs(&v["origin"]));
    if let Some(sp) = v["sponsors"].as_array().filter(|a| !a.is_empty()) {
        let s: Vec<String> = sp
            .iter()
            .map(|x| match x["confidence"].as_i64() {
                Some(c) => format!("{} (confidence {c})", x["name"].as_str().unwrap_or("")),
                None => x["name"].as_str().unwrap_or("").to_owned(),
            })
            .collect();
        list("sponsors", s);
    }
    if let Some(h) = v.get("activity_hours") {
        say!("activity hours: {h}");
    }
    if let Some(refs) = v["references"].as_array().filter(|a| !a.is_empty()) {
        say!("sources ({}):", refs.len());
        for r in refs {
            say!(
                "  {}  {}",
                r["source_name"].as_str().unwrap_or(""),
                r["url"].as_str().unwrap_or("")
            );
        }
    } else {
        list("citations", strs(&v["citations"]));
    }
}

fn show(l: &LoadedKb, name: &str, format: TableFormat) -> Result<ExitCode> {
    let kb = &l.kb;
    match find(kb, name) {
        Found::One(id, how) => {
            let v = describe(l, id, how);
            match format {
                TableFormat::Json => say!("{}", serde_json::to_string_pretty(&v)?),
                TableFormat::Table => print_view(&v),
            }
            Ok(ExitCode::SUCCESS)
        }
        Found::Many(ids) => {
            let candidates: Vec<Value> = ids
                .iter()
                .map(|&i| {
                    let mut b = brief(kb, i);
                    b["type"] = serde_json::to_value(kb.object(i).kind).unwrap_or(Value::Null);
                    b
                })
                .collect();
            match format {
                TableFormat::Json => {
                    let out =
                        json!({"error": "ambiguous", "query": name, "candidates": candidates});
                    say!("{}", serde_json::to_string_pretty(&out)?);
                }
                TableFormat::Table => {
                    for c in &candidates {
                        say!("{}", label_of(c));
                    }
                }
            }
            eprintln!(
                "tiaki: error: `{name}` is ambiguous: {} candidates; name one by its id",
                candidates.len()
            );
            Ok(ExitCode::from(2))
        }
        Found::None => bail!("no group, campaign, technique or software is known as `{name}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attack_id_shapes() {
        for ok in [
            "G0065",
            "g0065",
            "T1505.003",
            "S0020",
            "C0049",
            "M1036",
            "TA0001",
            "T1190",
        ] {
            assert!(looks_like_attack_id(ok), "{ok}");
        }
        for no in ["APT40", "G65", "S0020.001", "T1505.3", "Leviathan", ""] {
            assert!(!looks_like_attack_id(no), "{no}");
        }
    }

    #[test]
    fn wrapping_keeps_words_whole() {
        let w = wrap("aaa bbb ccc", 7, "  ");
        assert_eq!(w, "  aaa bbb\n  ccc\n");
    }
}
