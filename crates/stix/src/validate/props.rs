//! Property value kinds and the checks for them.
//!
//! The specification defines each property's type (string, timestamp, identifier, list of
//! …, open or closed vocabulary). tiaki writes those down once as [`Ty`] values in tables
//! (see `tables.rs`) and checks a property against its kind here, so a rule is data, not a
//! branch in code, and every message names the property path it is about.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use super::Ctx;
use crate::object::kind;
use crate::timestamp::Timestamp;

/// A regex compiled on first use.
pub(crate) struct Re(pub LazyLock<Regex>, pub &'static str);

macro_rules! re {
    ($name:ident, $pat:expr, $what:expr) => {
        pub(crate) static $name: Re = Re(LazyLock::new(|| Regex::new($pat).expect($pat)), $what);
    };
}

impl Re {
    pub(crate) fn is_match(&self, s: &str) -> bool {
        self.0.is_match(s)
    }
}

re!(
    IDENTIFIER,
    r"^[a-z][a-z0-9-]+[a-z0-9]--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$",
    "the id format ([object-type]--[UUID])"
);
re!(
    IDENTIFIER_V20,
    r"^[a-z0-9][a-z0-9-]+[a-z0-9]--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$",
    "the STIX 2.0 id format ([object-type]--[UUIDv4])"
);
re!(
    TYPE_NAME,
    r"^([a-z][a-z0-9]*)+(-[a-z0-9]+)*-?$",
    "the 'type' format (lowercase ASCII a-z, 0-9 and single hyphens)"
);
re!(
    EXT_NAME,
    r"^([a-z][a-z0-9]*)+(-[a-z0-9]+)*-ext$",
    "a predefined extension name (…-ext)"
);
re!(
    EXT_DEF_ID,
    r"^extension-definition--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$",
    "an extension-definition id"
);
re!(
    BINARY,
    r"^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)$",
    "a base64-encoded string"
);
re!(HEX, r"^([a-fA-F0-9]{2})+$", "a hex-encoded string");
re!(
    DICT_KEY,
    r"^[a-zA-Z0-9_-]{0,250}$",
    "a dictionary key (a-z, A-Z, 0-9, '_' and '-', at most 250 characters)"
);
re!(
    SELECTOR,
    r"^([a-z0-9_-]{3,249}(\.(\[\d+\]|[a-z0-9_-]{1,250}))*|id)$",
    "a granular-marking selector"
);
re!(
    URI,
    r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]*$",
    "a URI (scheme:…, no spaces)"
);
re!(
    EMAIL,
    r"^[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$",
    "an e-mail address"
);

/// The kind of value a property must have.
pub(crate) enum Ty {
    /// A string.
    Str,
    /// A boolean.
    Bool,
    /// An integer within optional bounds.
    Int(Option<i64>, Option<i64>),
    /// A number within optional bounds.
    Num(Option<f64>, Option<f64>),
    /// A STIX timestamp.
    Ts,
    /// A STIX timestamp with at least millisecond precision (`created`, `modified`).
    TsMillis,
    /// A timestamp with whole seconds only (`time_date_stamp` of a PE header).
    TsSeconds,
    /// An identifier.
    Id,
    /// An identifier of one of these types.
    IdOf(&'static [&'static str]),
    /// A reference between SCOs: a string naming an object of one of these types
    /// (`type--…`). The reference validator does not check the UUID part of SCO-to-SCO
    /// references, so neither does tiaki.
    RefOf(&'static [&'static str]),
    /// An identifier of any type but these.
    IdNot(&'static [&'static str], &'static str),
    /// A non-empty list.
    List(&'static Ty),
    /// A list that may be empty.
    ListOrEmpty(&'static Ty),
    /// A string from a closed vocabulary.
    Enum(&'static [&'static str]),
    /// A string matching a regex (searched, not anchored, unless the regex anchors).
    Re(&'static Re),
    /// A string *not* matching a regex.
    NotRe(&'static Re, &'static str),
    /// A hashes dictionary.
    Hashes,
    /// A dictionary.
    Dict,
    /// A JSON object.
    Object,
    /// A kill-chain phase.
    KillChain,
    /// An external reference.
    ExtRef,
    /// A granular marking.
    Granular,
    /// Base64 binary.
    Binary,
    /// Hex binary.
    Hex,
    /// A URI.
    Uri,
    /// An e-mail address.
    Email,
    /// An IPv6 address or CIDR block.
    Ipv6,
}

/// Checks `v` (at `path`) against `ty`, reporting into `ctx`.
pub(crate) fn check(ctx: &mut Ctx, path: &str, v: &Value, ty: &Ty) {
    match ty {
        Ty::Str => {
            if !v.is_string() {
                ctx.err(path, format!("must be a string, not {}", kind(v)));
            }
        }
        Ty::Bool => {
            if !v.is_boolean() {
                ctx.err(path, format!("must be a boolean, not {}", kind(v)));
            }
        }
        Ty::Int(min, max) => {
            let n = v.as_i64().or_else(|| {
                v.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e18)
                    .map(|f| f as i64)
            });
            match n {
                None if v.as_u64().is_some() => {
                    if max.is_some() {
                        ctx.err(path, format!("{v} is greater than the maximum"));
                    }
                }
                None => ctx.err(path, format!("must be an integer, not {}", show(v))),
                Some(n) => bounds(
                    ctx,
                    path,
                    n as f64,
                    min.map(|m| m as f64),
                    max.map(|m| m as f64),
                ),
            }
        }
        Ty::Num(min, max) => match v.as_f64() {
            None => ctx.err(path, format!("must be a number, not {}", kind(v))),
            Some(n) => bounds(ctx, path, n, *min, *max),
        },
        Ty::Ts | Ty::TsMillis | Ty::TsSeconds => {
            let Some(s) = v.as_str() else {
                ctx.err(path, format!("must be a timestamp string, not {}", kind(v)));
                return;
            };
            match Timestamp::parse(s) {
                Err(e) => ctx.err(
                    path,
                    format!("'{s}' is not a valid timestamp: {}", e.reason),
                ),
                Ok(t) => {
                    if matches!(ty, Ty::TsMillis) && t.fraction_digits() < 3 {
                        ctx.err(
                            path,
                            format!("'{s}' must be precise to the millisecond (YYYY-MM-DDTHH:mm:ss.sssZ)"),
                        );
                    }
                    if matches!(ty, Ty::TsSeconds) && t.fraction_digits() > 0 {
                        ctx.err(
                            path,
                            format!("'{s}' must have whole seconds (YYYY-MM-DDTHH:mm:ssZ)"),
                        );
                    }
                }
            }
        }
        Ty::Id => {
            if let Some(s) = string(ctx, path, v)
                && !IDENTIFIER.is_match(s)
            {
                ctx.err(path, format!("'{s}' does not match {}", IDENTIFIER.1));
            }
        }
        Ty::IdOf(types) => {
            if let Some(s) = string(ctx, path, v) {
                if !IDENTIFIER.is_match(s) {
                    ctx.err(path, format!("'{s}' does not match {}", IDENTIFIER.1));
                } else if !types.iter().any(|t| id_has_type(s, t)) {
                    ctx.err(
                        path,
                        format!(
                            "'{s}' must refer to an object of type {}",
                            types.join(" or ")
                        ),
                    );
                }
            }
        }
        Ty::RefOf(types) => {
            if let Some(s) = string(ctx, path, v)
                && !types.iter().any(|t| id_has_type(s, t))
            {
                ctx.err(
                    path,
                    format!(
                        "'{s}' must refer to an object of type {}",
                        types.join(" or ")
                    ),
                );
            }
        }
        Ty::IdNot(types, why) => {
            if let Some(s) = string(ctx, path, v) {
                if !IDENTIFIER.is_match(s) {
                    ctx.err(path, format!("'{s}' does not match {}", IDENTIFIER.1));
                } else if types.iter().any(|t| id_has_type(s, t)) {
                    ctx.err(path, format!("'{s}': {why}"));
                }
            }
        }
        Ty::List(item) | Ty::ListOrEmpty(item) => match v.as_array() {
            None => ctx.err(path, format!("must be a list, not {}", kind(v))),
            Some(a) => {
                if a.is_empty() && matches!(ty, Ty::List(_)) {
                    ctx.err(path, "empty lists are not allowed".to_string());
                }
                for (i, x) in a.iter().enumerate() {
                    check(ctx, &format!("{path}[{i}]"), x, item);
                }
            }
        },
        Ty::Enum(allowed) => {
            if let Some(s) = string(ctx, path, v)
                && !allowed.contains(&s)
            {
                ctx.err(path, format!("'{s}' is not one of {}", allowed.join(", ")));
            }
        }
        Ty::Re(re) => {
            if let Some(s) = string(ctx, path, v)
                && !re.is_match(s)
            {
                ctx.err(path, format!("'{s}' is not {}", re.1));
            }
        }
        Ty::NotRe(re, why) => {
            if let Some(s) = string(ctx, path, v)
                && re.is_match(s)
            {
                ctx.err(path, format!("'{s}': {why}"));
            }
        }
        Ty::Hashes => check_hashes(ctx, path, v, false),
        Ty::Dict => check_dict(ctx, path, v),
        Ty::Object => {
            if !v.is_object() {
                ctx.err(path, format!("must be an object, not {}", kind(v)));
            }
        }
        Ty::KillChain => match v.as_object() {
            None => ctx.err(
                path,
                format!("must be a kill-chain phase object, not {}", kind(v)),
            ),
            Some(m) => {
                for p in ["kill_chain_name", "phase_name"] {
                    match m.get(p) {
                        None => ctx.err(path, format!("'{p}' is a required property")),
                        Some(x) => check(ctx, &format!("{path}.{p}"), x, &Ty::Str),
                    }
                }
            }
        },
        Ty::ExtRef => check_external_reference(ctx, path, v),
        Ty::Granular => check_granular(ctx, path, v),
        Ty::Binary => check(ctx, path, v, &Ty::Re(&BINARY)),
        Ty::Hex => check(ctx, path, v, &Ty::Re(&HEX)),
        Ty::Uri => check(ctx, path, v, &Ty::Re(&URI)),
        Ty::Email => check(ctx, path, v, &Ty::Re(&EMAIL)),
        Ty::Ipv6 => {
            if let Some(s) = string(ctx, path, v)
                && !is_ipv6_value(s)
            {
                ctx.err(path, format!("'{s}' is not an IPv6 address or CIDR block"));
            }
        }
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    }
}

fn bounds(ctx: &mut Ctx, path: &str, n: f64, min: Option<f64>, max: Option<f64>) {
    if let Some(m) = min.filter(|m| n < *m) {
        ctx.err(path, format!("{n} is less than the minimum of {m}"));
    }
    if let Some(m) = max.filter(|m| n > *m) {
        ctx.err(path, format!("{n} is greater than the maximum of {m}"));
    }
}

fn string<'v>(ctx: &mut Ctx, path: &str, v: &'v Value) -> Option<&'v str> {
    let s = v.as_str();
    if s.is_none() {
        ctx.err(path, format!("must be a string, not {}", kind(v)));
    }
    s
}

/// Whether an identifier is of `ty` (`indicator--…` is of type `indicator`).
pub(crate) fn id_has_type(id: &str, ty: &str) -> bool {
    id.len() > ty.len() + 2 && id.starts_with(ty) && id[ty.len()..].starts_with("--")
}

/// The properties.json value rule: no null, no empty list.
pub(crate) fn check_custom_value(ctx: &mut Ctx, path: &str, v: &Value) {
    match v {
        Value::Null => ctx.err(path, "null values are not allowed".to_string()),
        Value::Array(a) if a.is_empty() => ctx.err(path, "empty lists are not allowed".to_string()),
        _ => {}
    }
}

/// A dictionary: a non-empty object with keys of a-z, A-Z, 0-9, `_`, `-` and values that
/// are not null or empty lists.
pub(crate) fn check_dict(ctx: &mut Ctx, path: &str, v: &Value) {
    let Some(m) = v.as_object() else {
        ctx.err(path, format!("must be a dictionary, not {}", kind(v)));
        return;
    };
    if m.is_empty() {
        ctx.err(path, "must not be empty".to_string());
    }
    for (k, x) in m {
        if !DICT_KEY.is_match(k) {
            ctx.err(path, format!("'{k}' is not {}", DICT_KEY.1));
        }
        check_custom_value(ctx, &format!("{path}.{k}"), x);
    }
}

const HASH_RULES: &[(&str, &str)] = &[
    ("MD5", r"^[a-fA-F0-9]{32}$"),
    ("SHA-1", r"^[a-fA-F0-9]{40}$"),
    ("SHA-256", r"^[a-fA-F0-9]{64}$"),
    ("SHA-512", r"^[a-fA-F0-9]{128}$"),
    ("SHA3-256", r"^[a-fA-F0-9]{64}$"),
    ("SHA3-512", r"^[a-fA-F0-9]{128}$"),
    ("SSDEEP", r"^[a-zA-Z0-9/+:.]{1,128}$"),
    ("TLSH", r"^[a-zA-Z0-9]{70}$"),
];

static HASH_RES: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    HASH_RULES
        .iter()
        .map(|(n, p)| (*n, Regex::new(p).expect("hash regex")))
        .collect()
});

re!(
    HASH_KEY,
    r"^[a-zA-Z0-9_-]{3,250}$",
    "a hash algorithm name (3–250 characters of a-z, A-Z, 0-9, '_', '-')"
);

/// A hashes dictionary: known algorithms must have values of the right form, other keys
/// must be 3–250 characters of a-z, A-Z, 0-9, `_`, `-`.
pub(crate) fn check_hashes(ctx: &mut Ctx, path: &str, v: &Value, external: bool) {
    check_dict(ctx, path, v);
    let Some(m) = v.as_object() else { return };
    for (k, x) in m {
        let p = format!("{path}.{k}");
        let Some(s) = x.as_str() else {
            ctx.err(
                &p,
                format!("a hash value must be a string, not {}", kind(x)),
            );
            continue;
        };
        if let Some((_, re)) = HASH_RES.iter().find(|(n, _)| *n == k) {
            if !re.is_match(s) {
                ctx.err(&p, format!("'{s}' is not a valid {k} hash"));
            }
        } else if !HASH_KEY.is_match(k) {
            ctx.err(path, format!("'{k}' is not {}", HASH_KEY.1));
        }
        if external && !HASH_RULES.iter().any(|(n, _)| k.contains(n)) {
            ctx.err(
                path,
                format!("'{k}' is not a hash algorithm from the hashing-algorithm vocabulary"),
            );
        }
    }
}

static CVE_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^CVE-\d{4}-(0\d{3}|[1-9]\d{3,})$").expect("cve"));
static CAPEC_ID: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^CAPEC-\d+$").expect("capec"));

fn check_external_reference(ctx: &mut Ctx, path: &str, v: &Value) {
    let Some(m) = v.as_object() else {
        ctx.err(
            path,
            format!("an external reference must be an object, not {}", kind(v)),
        );
        return;
    };
    if let Some(u) = m.get("url") {
        check(ctx, &format!("{path}.url"), u, &Ty::Uri);
    }
    if let Some(h) = m.get("hashes") {
        check_hashes(ctx, &format!("{path}.hashes"), h, true);
    }
    for p in ["source_name", "description", "external_id"] {
        if let Some(x) = m.get(p) {
            check(ctx, &format!("{path}.{p}"), x, &Ty::Str);
        }
    }
    let source = m.get("source_name").and_then(Value::as_str);
    let ext_id = m.get("external_id").and_then(Value::as_str);
    match source {
        None => ctx.err(path, "'source_name' is a required property".to_string()),
        Some("cve") => {
            if !ext_id.is_some_and(|e| CVE_ID.is_match(e)) {
                ctx.err(
                    path,
                    "a 'cve' reference must have an 'external_id' in the CVE format (CVE-YYYY-NNNN+)"
                        .to_string(),
                );
            }
        }
        Some("capec") => {
            if !ext_id.is_some_and(|e| CAPEC_ID.is_match(e)) {
                ctx.err(
                    path,
                    "a 'capec' reference must have an 'external_id' in the CAPEC format (CAPEC-N+)"
                        .to_string(),
                );
            }
        }
        Some(_) => {
            if ext_id.is_some_and(|e| CVE_ID.is_match(e) || CAPEC_ID.is_match(e)) {
                ctx.err(
                    path,
                    "an 'external_id' in CVE or CAPEC format needs 'source_name' 'cve' or 'capec'"
                        .to_string(),
                );
            }
            if !["external_id", "description", "url"]
                .iter()
                .any(|p| m.contains_key(*p))
            {
                ctx.err(
                    path,
                    "an external reference needs at least one of 'external_id', 'description', 'url'"
                        .to_string(),
                );
            }
        }
    }
}

static SELECTORS: Ty = Ty::List(&Ty::Re(&SELECTOR));

fn check_granular(ctx: &mut Ctx, path: &str, v: &Value) {
    let Some(m) = v.as_object() else {
        ctx.err(
            path,
            format!("a granular marking must be an object, not {}", kind(v)),
        );
        return;
    };
    match m.get("selectors") {
        None => ctx.err(path, "'selectors' is a required property".to_string()),
        Some(s) => check(ctx, &format!("{path}.selectors"), s, &SELECTORS),
    }
    if let Some(l) = m.get("lang") {
        check(ctx, &format!("{path}.lang"), l, &Ty::Str);
    }
    match m.get("marking_ref") {
        None => ctx.err(path, "'marking_ref' is a required property".to_string()),
        Some(r) => check(
            ctx,
            &format!("{path}.marking_ref"),
            r,
            &Ty::IdOf(&["marking-definition"]),
        ),
    }
}

/// Checks the known properties of an object-like map against a table, plus required ones.
pub(crate) fn check_table(
    ctx: &mut Ctx,
    path: &str,
    m: &Map<String, Value>,
    required: &[&str],
    props: &[(&str, Ty)],
) {
    for r in required {
        if !m.contains_key(*r) {
            let where_ = if path.is_empty() {
                String::new()
            } else {
                format!("{path}: ")
            };
            ctx.err("", format!("{where_}'{r}' is a required property"));
        }
    }
    for (name, ty) in props {
        if let Some(v) = m.get(*name) {
            let p = if path.is_empty() {
                name.to_string()
            } else {
                format!("{path}.{name}")
            };
            check(ctx, &p, v, ty);
        }
    }
}

/// An IPv6 address, optionally with a zone (`%eth0`) and a prefix length 0–128 written
/// without leading zeros.
fn is_ipv6_value(s: &str) -> bool {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let addr = addr.split_once('%').map_or(addr, |(a, _)| a);
    if addr.parse::<std::net::Ipv6Addr>().is_err() {
        return false;
    }
    match prefix {
        None => true,
        Some(p) => {
            !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p == "0" || !p.starts_with('0'))
                && p.parse::<u32>().is_ok_and(|n| n <= 128)
        }
    }
}
