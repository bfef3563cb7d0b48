//! `--limit KEY=VALUE` and `tiaki limits`: every bound against hostile input in one table.
//!
//! Why one table: the limits live in the options structs of the crates that enforce them
//! (evidence readers, rule loading, correlations, STIX patterns). An analyst facing a
//! collection that trips one needs one way to see and raise them all, whichever crate it
//! is. Each key reads and writes its field, so the defaults printed are the crates' own.
//!
//! `--limit` is accepted by every command (a global flag) and applies to those that read
//! evidence or rules (`hunt`, `dump`, `timeline`, `investigate`, `demo`, `rules check`,
//! `ingest`...). It is parsed once in `main` and kept for the process ([`install`]).

use std::fmt::Write as _;
use std::sync::OnceLock;

use anyhow::{Result, bail};
use tiaki::HuntOptions;
use tiaki_evidence::ReadOptions;
use tiaki_sigma::LoadOptions;

/// How a key's value is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Bytes: a number with an optional K, M or G suffix (powers of 1024).
    Size,
    /// A plain number.
    Count,
    /// true/false (also yes/no, 1/0).
    Bool,
}

/// One configurable limit.
struct Key {
    name: &'static str,
    kind: Kind,
    /// Smallest and largest value accepted.
    range: (u64, u64),
    /// What it bounds and what happens past it.
    meaning: &'static str,
    get: fn(&Limits) -> u64,
    set: fn(&mut Limits, u64),
}

/// Every limit, as the options of the crates that enforce them.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    /// Evidence reading, correlations and STIX patterns (only the limit fields are used).
    pub hunt: HuntOptions,
    /// Rule loading (only the limit fields are used).
    pub load: LoadOptions,
}

fn usize_of(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// The table of keys, in the order `tiaki limits` prints them.
const KEYS: &[Key] = &[
    Key {
        name: "max_line_bytes",
        kind: Kind::Size,
        range: (1, u64::MAX),
        meaning: "longest line of a text log; a longer line is skipped and counted as `line too long` in its file's report",
        get: |l| l.hunt.read.max_line_bytes as u64,
        set: |l, v| l.hunt.read.max_line_bytes = usize_of(v),
    },
    Key {
        name: "max_field_bytes",
        kind: Kind::Size,
        range: (1, u64::MAX),
        meaning: "longest value of one event field; the event is skipped and counted as `field too long` (field name and length)",
        get: |l| l.hunt.read.max_field_bytes as u64,
        set: |l, v| l.hunt.read.max_field_bytes = usize_of(v),
    },
    Key {
        name: "max_json_depth",
        kind: Kind::Count,
        range: (1, tiaki_evidence::MAX_JSON_DEPTH as u64),
        meaning: "deepest nesting of a JSON record (at most 128, the parser's own bound); the record is skipped as `JSON nested too deep`",
        get: |l| l.hunt.read.max_json_depth as u64,
        set: |l, v| l.hunt.read.max_json_depth = usize_of(v),
    },
    Key {
        name: "max_object_bytes",
        kind: Kind::Size,
        range: (1, u64::MAX),
        meaning: "largest object of a pretty-printed JSON document or array; past it the rest of that file is not read (`JSON object too large`)",
        get: |l| l.hunt.read.max_object_bytes as u64,
        set: |l, v| l.hunt.read.max_object_bytes = usize_of(v),
    },
    Key {
        name: "follow_links_outside_root",
        kind: Kind::Bool,
        range: (0, 1),
        meaning: "read files reached through symbolic links pointing outside the evidence directory walked; if false they are reported (with the target) and not read",
        get: |l| u64::from(l.hunt.read.follow_links_outside_root),
        set: |l, v| l.hunt.read.follow_links_outside_root = v != 0,
    },
    Key {
        name: "max_member_bytes",
        kind: Kind::Size,
        range: (1, u64::MAX),
        meaning: "bytes one archive member or gzip stream may decompress to; that member stops with `decompression limit exceeded`",
        get: |l| l.hunt.read.limits.max_member_bytes,
        set: |l, v| l.hunt.read.limits.max_member_bytes = v,
    },
    Key {
        name: "max_total_bytes",
        kind: Kind::Size,
        range: (1, u64::MAX),
        meaning: "bytes all members of one evidence file may decompress to; the rest of that file stops with `decompression limit exceeded`",
        get: |l| l.hunt.read.limits.max_total_bytes,
        set: |l, v| l.hunt.read.limits.max_total_bytes = v,
    },
    Key {
        name: "max_ratio",
        kind: Kind::Count,
        range: (0, u64::MAX),
        meaning: "largest decompressed:compressed ratio of a stream (0: none); the member stops with `decompression limit exceeded`",
        get: |l| l.hunt.read.limits.max_ratio,
        set: |l, v| l.hunt.read.limits.max_ratio = v,
    },
    Key {
        name: "ratio_grace_bytes",
        kind: Kind::Size,
        range: (0, u64::MAX),
        meaning: "output a stream may produce before max_ratio is checked",
        get: |l| l.hunt.read.limits.ratio_grace_bytes,
        set: |l, v| l.hunt.read.limits.ratio_grace_bytes = v,
    },
    Key {
        name: "max_archive_depth",
        kind: Kind::Count,
        range: (1, u32::MAX as u64),
        meaning: "how deep archives may nest (a zip in a zip is 2); deeper ones are reported, not opened",
        get: |l| u64::from(l.hunt.read.limits.max_depth),
        set: |l, v| l.hunt.read.limits.max_depth = u32::try_from(v).unwrap_or(u32::MAX),
    },
    Key {
        name: "max_yaml_aliases",
        kind: Kind::Count,
        range: (0, u64::MAX),
        meaning: "YAML aliases (*name) one rule document may use; the rule file is refused (`YAML refused`), other files load",
        get: |l| l.load.yaml_limits.max_aliases,
        set: |l, v| l.load.yaml_limits.max_aliases = v,
    },
    Key {
        name: "max_yaml_nodes",
        kind: Kind::Count,
        range: (1, u64::MAX),
        meaning: "nodes of one rule document once aliases are expanded (alias bombs); the rule file is refused, other files load",
        get: |l| l.load.yaml_limits.max_nodes,
        set: |l, v| l.load.yaml_limits.max_nodes = v,
    },
    Key {
        name: "max_regex_bytes",
        kind: Kind::Size,
        range: (1, u64::MAX),
        meaning: "compiled size of one |re regular expression; a larger one matches nothing and `rules check` refuses its rule",
        get: |l| l.load.regex_size_limit as u64,
        set: |l, v| l.load.regex_size_limit = usize_of(v),
    },
    Key {
        name: "correlation_max_groups",
        kind: Kind::Count,
        range: (1, u64::MAX),
        meaning: "live groups (group-by values) per correlation rule; the least recently active is evicted and counted",
        get: |l| l.hunt.correlation.max_groups as u64,
        set: |l, v| l.hunt.correlation.max_groups = usize_of(v),
    },
    Key {
        name: "correlation_max_entries",
        kind: Kind::Count,
        range: (1, u64::MAX),
        meaning: "rule matches kept per correlation group and window; the oldest is evicted and counted",
        get: |l| l.hunt.correlation.max_entries_per_group as u64,
        set: |l, v| l.hunt.correlation.max_entries_per_group = usize_of(v),
    },
    Key {
        name: "correlation_max_evidence",
        kind: Kind::Count,
        range: (1, u64::MAX),
        meaning: "contributing events listed per correlation alert (the total is still given)",
        get: |l| l.hunt.correlation.max_evidence as u64,
        set: |l, v| l.hunt.correlation.max_evidence = usize_of(v),
    },
    Key {
        name: "pattern_search_steps",
        kind: Kind::Count,
        range: (1, u64::MAX),
        meaning: "search steps for one STIX multi-observation pattern's binding; the pattern gives up undecided and is named in the summary",
        get: |l| l.hunt.pattern_limits.max_steps,
        set: |l, v| l.hunt.pattern_limits.max_steps = v,
    },
    Key {
        name: "pattern_max_repeats",
        kind: Kind::Count,
        range: (1, u64::MAX),
        meaning: "largest REPEATS n TIMES evaluated; a larger count is not searched and is named in the summary",
        get: |l| l.hunt.pattern_limits.max_repeats,
        set: |l, v| l.hunt.pattern_limits.max_repeats = v,
    },
    Key {
        name: "pattern_max_kept",
        kind: Kind::Count,
        range: (1, u64::MAX),
        meaning: "events kept per STIX multi-observation pattern (FOLLOWEDBY, WITHIN, REPEATS); further candidates are counted, not kept",
        get: |l| l.hunt.pattern_max_kept as u64,
        set: |l, v| l.hunt.pattern_max_kept = usize_of(v),
    },
];

/// Parses a size: digits with an optional K, M or G suffix (powers of 1024; `KiB`, `MB`
/// and the like are read the same).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, suffix) = t.split_at(digits);
    if num.is_empty() {
        return Err(format!("`{s}` is not a size (a number with K, M or G)"));
    }
    let n: u64 = num.parse().map_err(|_| format!("`{s}` is too large"))?;
    let shift = match suffix.to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        _ => return Err(format!("`{s}`: unknown size suffix (K, M or G)")),
    };
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| format!("`{s}` is too large"))
}

fn parse_value(key: &Key, v: &str) -> Result<u64, String> {
    let n = match key.kind {
        Kind::Size => parse_size(v)?,
        Kind::Count => v
            .trim()
            .parse::<u64>()
            .map_err(|_| format!("`{v}` is not a whole number"))?,
        Kind::Bool => match v.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" | "on" => 1,
            "false" | "no" | "0" | "off" => 0,
            _ => return Err(format!("`{v}` is not true or false")),
        },
    };
    let (lo, hi) = key.range;
    if n < lo || n > hi {
        return Err(if hi == u64::MAX {
            format!("{n} is less than {lo}")
        } else {
            format!("{n} is outside {lo}..={hi}")
        });
    }
    Ok(n)
}

fn key_names() -> String {
    KEYS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
}

impl Limits {
    /// The defaults with `settings` (`KEY=VALUE` each) applied in order. An unknown key, a
    /// missing `=` or a bad value is an error naming the valid keys or the expected form.
    pub fn parse<S: AsRef<str>>(settings: &[S]) -> Result<Limits> {
        let mut limits = Limits::default();
        for s in settings {
            let s = s.as_ref();
            let Some((name, value)) = s.split_once('=') else {
                bail!(
                    "--limit {s}: expected KEY=VALUE (`tiaki limits` lists the keys: {})",
                    key_names()
                );
            };
            let name = name.trim();
            let Some(key) = KEYS.iter().find(|k| k.name.eq_ignore_ascii_case(name)) else {
                bail!(
                    "--limit {s}: unknown limit `{name}`; valid keys: {}",
                    key_names()
                );
            };
            match parse_value(key, value) {
                Ok(v) => (key.set)(&mut limits, v),
                Err(e) => bail!("--limit {s}: {e}"),
            }
        }
        Ok(limits)
    }

    /// Copies the evidence-reading limits into `read`.
    pub fn apply_read(&self, read: &mut ReadOptions) {
        let l = &self.hunt.read;
        read.limits = l.limits;
        read.max_line_bytes = l.max_line_bytes;
        read.max_field_bytes = l.max_field_bytes;
        read.max_json_depth = l.max_json_depth;
        read.max_object_bytes = l.max_object_bytes;
        read.follow_links_outside_root = l.follow_links_outside_root;
    }

    /// Copies the reading, correlation and pattern limits into `hunt`.
    pub fn apply_hunt(&self, hunt: &mut HuntOptions) {
        self.apply_read(&mut hunt.read);
        hunt.correlation = self.hunt.correlation.clone();
        hunt.pattern_limits = self.hunt.pattern_limits;
        hunt.pattern_max_kept = self.hunt.pattern_max_kept;
    }

    /// Copies the rule-loading limits into `load`.
    pub fn apply_load(&self, load: &mut LoadOptions) {
        load.yaml_limits = self.load.yaml_limits;
        load.regex_size_limit = self.load.regex_size_limit;
    }
}

static ACTIVE: OnceLock<Limits> = OnceLock::new();

/// Makes `limits` the ones of this process (first call wins; `main` calls it once).
pub fn install(limits: Limits) {
    let _ = ACTIVE.set(limits);
}

/// The limits of this process: the `--limit` settings, else the defaults.
pub fn active() -> &'static Limits {
    ACTIVE.get_or_init(Limits::default)
}

fn show(kind: Kind, v: u64) -> String {
    match kind {
        Kind::Bool => (v != 0).to_string(),
        Kind::Count => v.to_string(),
        Kind::Size => {
            for (shift, suffix) in [(30, "G"), (20, "M"), (10, "K")] {
                if v >= 1 << shift && v.is_multiple_of(1 << shift) {
                    return format!("{}{suffix}", v >> shift);
                }
            }
            v.to_string()
        }
    }
}

/// Every key with its default, kind and meaning: a table, or JSON (`[{key, default,
/// value, kind, meaning}]`, `value` the number a size or count stands for).
pub fn describe(json: bool) -> String {
    let defaults = Limits::default();
    if json {
        let rows: Vec<serde_json::Value> = KEYS
            .iter()
            .map(|k| {
                let v = (k.get)(&defaults);
                serde_json::json!({
                    "key": k.name,
                    "default": show(k.kind, v),
                    "value": v,
                    "kind": match k.kind { Kind::Size => "size", Kind::Count => "count", Kind::Bool => "bool" },
                    "meaning": k.meaning,
                })
            })
            .collect();
        return serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n";
    }
    let width = KEYS.iter().map(|k| k.name.len()).max().unwrap_or(0);
    let mut out = format!("{:width$}  {:>8}  MEANING\n", "KEY", "DEFAULT");
    for k in KEYS {
        let _ = writeln!(
            out,
            "{:width$}  {:>8}  {}",
            k.name,
            show(k.kind, (k.get)(&defaults)),
            k.meaning
        );
    }
    out.push_str(
        "\nSet with --limit KEY=VALUE (repeatable) on any command that reads evidence or \
         rules. Sizes take K, M or G (powers of 1024).\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_counts_and_bools_parse() {
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("16M").unwrap(), 16 << 20);
        assert_eq!(parse_size("2k").unwrap(), 2048);
        assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
        assert!(parse_size("12Q").is_err());
        assert!(parse_size("M").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
        let l = Limits::parse(&[
            "max_line_bytes=1K",
            "max_yaml_nodes=500",
            "follow_links_outside_root=yes",
            "max_archive_depth=2",
            "correlation_max_entries=10",
            "pattern_max_repeats=7",
            "max_regex_bytes=64K",
        ])
        .unwrap();
        assert_eq!(l.hunt.read.max_line_bytes, 1024);
        assert_eq!(l.load.yaml_limits.max_nodes, 500);
        assert!(l.hunt.read.follow_links_outside_root);
        let mut hunt = HuntOptions::default();
        l.apply_hunt(&mut hunt);
        assert_eq!(hunt.read.max_line_bytes, 1024);
        assert_eq!(hunt.read.limits.max_depth, 2);
        assert_eq!(hunt.correlation.max_entries_per_group, 10);
        assert_eq!(hunt.pattern_limits.max_repeats, 7);
        let mut load = LoadOptions::default();
        l.apply_load(&mut load);
        assert_eq!(load.regex_size_limit, 64 << 10);
        assert_eq!(load.yaml_limits.max_nodes, 500);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_clear_errors() {
        let e = Limits::parse(&["max_lines=3"]).unwrap_err().to_string();
        assert!(e.contains("unknown limit `max_lines`"), "{e}");
        for k in KEYS {
            assert!(e.contains(k.name), "{e} does not list {}", k.name);
        }
        let e = Limits::parse(&["max_line_bytes"]).unwrap_err().to_string();
        assert!(e.contains("expected KEY=VALUE"), "{e}");
        let e = Limits::parse(&["max_json_depth=1000"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("outside 1..=128"), "{e}");
        let e = Limits::parse(&["max_line_bytes=0"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("less than 1"), "{e}");
        let e = Limits::parse(&["follow_links_outside_root=maybe"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("true or false"), "{e}");
    }

    #[test]
    fn the_table_lists_every_key_with_the_crates_defaults() {
        let t = describe(false);
        for k in KEYS {
            assert!(t.contains(k.name), "{}", k.name);
        }
        assert!(t.contains("max_line_bytes") && t.contains("16M"));
        let j: serde_json::Value = serde_json::from_str(&describe(true)).unwrap();
        assert_eq!(j.as_array().unwrap().len(), KEYS.len());
        // Keys are unique.
        let mut names: Vec<_> = KEYS.iter().map(|k| k.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), KEYS.len());
    }
}
