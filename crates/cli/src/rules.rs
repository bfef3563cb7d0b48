//! `tiaki rules check` and `tiaki rules vectors`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use rayon::prelude::*;
use tiaki_sigma::{Collection, LoadOptions};

/// Output format of commands that print a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TableFormat {
    /// Human-readable text.
    Table,
    /// One JSON document.
    Json,
}

/// Options that control how rules are loaded.
#[derive(Args, Debug, Clone, Default)]
pub struct RuleOptions {
    /// YAML file mapping placeholder names to value lists, for `|expand`.
    #[arg(long, value_name = "FILE")]
    pub placeholders: Option<PathBuf>,
    /// Reject rules whose placeholders have no values (the specification's
    /// rule) instead of loading them with the placeholder matching nothing.
    #[arg(long)]
    pub strict_placeholders: bool,
}

/// The `rules` subcommands.
#[derive(Subcommand)]
pub enum RulesCommand {
    /// Load every rule under the paths and report each one that is refused.
    Check {
        /// Rule files or directories (searched for .yml/.yaml).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        options: RuleOptions,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: TableFormat,
        /// Also list rules loaded with warnings.
        #[arg(long)]
        warnings: bool,
    },
    /// Run language-neutral Sigma test vectors (JSON lines).
    Vectors {
        /// Vector files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: TableFormat,
    },
}

/// Every `.yml`/`.yaml` file under `path`, sorted.
pub fn rule_files(path: &Path) -> Result<Vec<PathBuf>> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries =
            std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
            let p = entry.path();
            let ft = entry.file_type()?;
            if ft.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Reads a placeholder map: `name: [values]` (a single value is allowed).
fn read_placeholders(path: &Path) -> Result<std::collections::HashMap<String, Vec<String>>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read placeholder file {}", path.display()))?;
    let docs = tiaki_sigma::yaml::parse_documents(&text)
        .map_err(|e| anyhow::anyhow!("{}:{}: {}", path.display(), e.pos, e.message))?;
    let mut out = std::collections::HashMap::new();
    let Some(doc) = docs.first() else {
        return Ok(out);
    };
    let Some(entries) = doc.root.as_map() else {
        bail!(
            "{}: a placeholder file must be a mapping of name to values",
            path.display()
        );
    };
    for (k, v) in entries {
        let name = k.key_text().unwrap_or_default();
        let values = match &v.kind {
            tiaki_sigma::yaml::NodeKind::Seq(items) => items
                .iter()
                .filter_map(|i| i.as_scalar().map(|s| s.to_text()))
                .collect(),
            tiaki_sigma::yaml::NodeKind::Scalar(s) => vec![s.to_text()],
            _ => bail!(
                "{}:{}: values of '{name}' must be a list",
                path.display(),
                v.pos
            ),
        };
        out.insert(name, values);
    }
    Ok(out)
}

/// Loads every rule under `paths` into a collection.
pub fn load_rules(paths: &[PathBuf], options: &RuleOptions) -> Result<(Collection, usize)> {
    let mut load = LoadOptions {
        unresolved_placeholders_match_nothing: !options.strict_placeholders,
        ..Default::default()
    };
    crate::limits::active().apply_load(&mut load);
    if let Some(p) = &options.placeholders {
        load.placeholders = read_placeholders(p)?;
    }
    // Parse files on all cores, then join the per-chunk collections in file
    // order so errors and rule ids are deterministic.
    let mut files = Vec::new();
    for path in paths {
        files.extend(rule_files(path)?);
    }
    let chunk = files
        .len()
        .div_ceil(rayon::current_num_threads().max(1) * 4)
        .max(1);
    let parts: Vec<Collection> = files
        .par_chunks(chunk)
        .map(|chunk| {
            let mut col = Collection::new(load.clone());
            for file in chunk {
                let origin = file.display().to_string();
                match std::fs::read(file) {
                    Ok(bytes) => match String::from_utf8(bytes) {
                        Ok(text) => {
                            col.add_source(&origin, &text);
                        }
                        Err(_) => col.add_unreadable(&origin, "the file is not valid UTF-8"),
                    },
                    Err(e) => col.add_unreadable(&origin, &format!("cannot read the file: {e}")),
                }
            }
            col
        })
        .collect();
    let mut col = Collection::new(load);
    for part in parts {
        col.append(part);
    }
    let files = files.len();
    Ok((col, files))
}

/// Runs a `rules` subcommand.
pub fn run(cmd: RulesCommand) -> Result<ExitCode> {
    match cmd {
        RulesCommand::Check {
            paths,
            options,
            format,
            warnings,
        } => check(&paths, &options, format, warnings),
        RulesCommand::Vectors { files, format } => vectors(&files, format),
    }
}

fn check(
    paths: &[PathBuf],
    options: &RuleOptions,
    format: TableFormat,
    show_warnings: bool,
) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    let (col, files) = load_rules(paths, options)?;
    let parsed = started.elapsed();
    let mut compiled = col.compile();
    let built = started.elapsed();
    // Regexes are compiled lazily when hunting; a check compiles them all.
    let regex_errors = compiled.ruleset.compile_regexes();
    compiled.errors.extend(regex_errors);
    // Correlations are checked against the rules they reference.
    let mut correlation_errors = 0;
    if let Err(errors) = tiaki_sigma::correlation::CorrelationEngine::new(&compiled.ruleset) {
        correlation_errors = errors.len();
        compiled.errors.extend(errors);
    }
    let set = &compiled.ruleset;
    let loaded = (set.len() + set.correlations().len()).saturating_sub(correlation_errors);
    let rejected = compiled.errors.len();
    let elapsed = started.elapsed();
    match format {
        TableFormat::Json => {
            let out = serde_json::json!({
                "files": files,
                "loaded": loaded,
                "rejected": rejected,
                "detection_rules": set.len(),
                "correlation_rules": set.correlations().len(),
                "errors": compiled.errors.iter().map(|e| serde_json::json!({
                    "file": e.origin, "line": e.line, "title": e.title, "reason": e.reason,
                })).collect::<Vec<_>>(),
                "warnings": set.warnings().iter().map(|w| serde_json::json!({
                    "file": w.origin, "line": w.line, "title": w.title, "message": w.message,
                })).collect::<Vec<_>>(),
                "seconds": elapsed.as_secs_f64(),
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        TableFormat::Table => {
            for e in &compiled.errors {
                println!("error: {e}");
            }
            if show_warnings {
                for w in set.warnings() {
                    println!("warning: {w}");
                }
            } else if !set.warnings().is_empty() {
                eprintln!(
                    "{} rules loaded with warnings (unresolved placeholders); --warnings lists them",
                    set.warnings().len()
                );
            }
            let s = set.stats();
            eprintln!(
                "{files} files, {} detection and {} correlation rules; {} fields, {} literals in {} automata, {} rules without trigger; read+parsed in {:.3} s, compiled by {:.3} s, regexes compiled by {:.3} s",
                set.len(),
                set.correlations().len(),
                s.fields,
                s.literals,
                s.automata,
                s.always_evaluated,
                parsed.as_secs_f64(),
                built.as_secs_f64(),
                elapsed.as_secs_f64()
            );
            println!("{loaded} rules loaded, {rejected} rejected");
        }
    }
    Ok(if rejected == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn vectors(files: &[PathBuf], format: TableFormat) -> Result<ExitCode> {
    let mut all = Vec::new();
    for f in files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
        all.extend(tiaki_sigma::vectors::run_jsonl(
            &f.display().to_string(),
            &text,
        ));
    }
    let failed: Vec<_> = all.iter().filter(|r| !r.passed).collect();
    match format {
        TableFormat::Json => {
            let out = serde_json::json!({
                "passed": all.len() - failed.len(),
                "failed": failed.len(),
                "failures": failed.iter().map(|r| serde_json::json!({"id": r.id, "detail": r.detail})).collect::<Vec<_>>(),
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        TableFormat::Table => {
            for r in &failed {
                println!("FAIL {}: {}", r.id, r.detail);
            }
            println!(
                "{} passed, {} failed",
                all.len() - failed.len(),
                failed.len()
            );
        }
    }
    Ok(if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
