//! `tiaki stix vectors`, `tiaki stix parse` and `tiaki stix match`: the STIX layer from
//! the command line, for checking tiaki against the shared test vectors and trying a
//! pattern by hand.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Subcommand, ValueEnum};
use serde_json::Value;
use tiaki_stix::pattern::{Observation, Pattern};
use tiaki_stix::validate::SpecVersion;
use tiaki_stix::vectors::{Outcome, VectorKind, run_vector};

/// A STIX version for patterns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Version {
    /// STIX 2.1.
    #[value(name = "2.1")]
    V21,
    /// STIX 2.0.
    #[value(name = "2.0")]
    V20,
}

impl From<Version> for SpecVersion {
    fn from(v: Version) -> SpecVersion {
        match v {
            Version::V21 => SpecVersion::V21,
            Version::V20 => SpecVersion::V20,
        }
    }
}

/// The `stix` subcommands.
#[derive(Subcommand)]
pub enum StixCommand {
    /// Run language-neutral STIX test vectors (JSON lines: matcher, pattern validity and
    /// inspector, validator, SCO ids); prints each failure and `N passed, M failed`.
    Vectors {
        /// Vector files (the kind of each line is found from the file name or its fields).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Parse a STIX pattern: print it back, whether it is valid, and what it is made of.
    Parse {
        /// The pattern, e.g. "[ipv4-addr:value = '198.51.100.7']".
        pattern: String,
        /// The STIX version of the pattern.
        #[arg(long, value_enum, default_value = "2.1")]
        stix_version: Version,
    },
    /// Match a STIX pattern against the observed-data of a bundle (or a JSON array of
    /// objects); exit code 0 on a match, 1 on none.
    Match {
        /// The pattern.
        pattern: String,
        /// A STIX bundle or JSON array with observed-data and their SCOs.
        file: PathBuf,
        /// The STIX version of the pattern.
        #[arg(long, value_enum, default_value = "2.1")]
        stix_version: Version,
    },
}

/// Runs a `stix` subcommand.
pub fn run(cmd: StixCommand) -> Result<ExitCode> {
    match cmd {
        StixCommand::Vectors { files } => vectors(&files),
        StixCommand::Parse {
            pattern,
            stix_version,
        } => parse(&pattern, stix_version.into()),
        StixCommand::Match {
            pattern,
            file,
            stix_version,
        } => matches(&pattern, &file, stix_version.into()),
    }
}

fn vectors(files: &[PathBuf]) -> Result<ExitCode> {
    let mut texts = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).with_context(|| format!("{}", f.display()))?;
        texts.push((f, text));
    }
    let (mut passed, mut failed) = (0usize, 0usize);
    for (file, text) in &texts {
        let name = file.file_name().and_then(|n| n.to_str());
        if text.lines().all(|l| l.trim().is_empty()) {
            anyhow::bail!("{}: no vectors in the file", file.display());
        }
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let id = serde_json::from_str::<Value>(line)
                .ok()
                .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_else(|| format!("line {}", n + 1));
            let outcome = match VectorKind::detect(name, line) {
                Some(kind) => run_vector(kind, line),
                None => Outcome::Fail("not a known kind of STIX vector".into()),
            };
            match outcome {
                Outcome::Pass => passed += 1,
                Outcome::Fail(why) => {
                    failed += 1;
                    println!("FAIL {}: {id}: {why}", file.display());
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn parse(text: &str, version: SpecVersion) -> Result<ExitCode> {
    let pattern = match Pattern::parse_version(text, version) {
        Ok(p) => p,
        Err(e) => {
            println!("invalid: {e}");
            if let Some(line) = text.lines().next()
                && e.offset <= line.len()
            {
                println!("  {line}");
                println!("  {}^", " ".repeat(text[..e.offset].chars().count()));
            }
            return Ok(ExitCode::from(1));
        }
    };
    println!("{pattern}");
    let issues = pattern.semantic_issues();
    if let Err(e) = pattern.check_evaluable() {
        println!("cannot be evaluated: {e}");
    }
    for i in &issues {
        println!("invalid: {i}");
    }
    let ins = pattern.inspect();
    let summary = serde_json::json!({
        "observation_ops": ins.observation_ops,
        "qualifiers": ins.qualifiers,
        "comparisons": ins.comparisons_json(),
        "brackets": pattern.brackets().len(),
        "simple": pattern.simple_comparisons().map(|groups| groups
            .iter()
            .map(|g| g.iter().map(ToString::to_string).collect::<Vec<_>>())
            .collect::<Vec<_>>()),
    });
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(if issues.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn matches(text: &str, file: &Path, version: SpecVersion) -> Result<ExitCode> {
    let pattern = Pattern::parse_version(text, version).map_err(|e| anyhow::anyhow!("{e}"))?;
    let data = std::fs::read_to_string(file).with_context(|| format!("{}", file.display()))?;
    let json: Value =
        serde_json::from_str(&data).with_context(|| format!("{}: not JSON", file.display()))?;
    let objects = match json {
        Value::Array(items) => items,
        Value::Object(_) => vec![json],
        _ => bail!("{}: expected a bundle or a JSON array", file.display()),
    };
    let observations = Observation::from_stix_objects(&objects)?;
    match pattern.find_binding(&observations)? {
        Some(binding) => {
            let ids = binding.ids(&observations);
            if ids.is_empty() {
                println!("match");
            } else {
                println!("match: {}", ids.join(", "));
            }
            Ok(ExitCode::SUCCESS)
        }
        None => {
            println!("no match ({} observations)", observations.len());
            Ok(ExitCode::from(1))
        }
    }
}
