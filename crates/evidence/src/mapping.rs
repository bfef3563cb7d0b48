//! Field mapping and Sigma log-source routing, as data.
//!
//! Why data and not code: which channel and event id make a `process_creation` event, what
//! Winlogbeat calls `EventID`, what an Apache column is called in a Sigma web rule — these
//! change with every new log source an investigation meets, and an analyst must be able to
//! add one without rebuilding tiaki. So the rules live in TOML files under `data/`, built in
//! with `include_str!`, and [`Mappings::load`] adds the user's own files, which take
//! precedence over the built-in ones. `README.md` documents the schema.
//!
//! Routing works per *domain* (the family of readers an event came from: `windows`, `linux`,
//! `web`, `zeek`, `json`). Each `[[route]]` has conditions (`when`) on event fields and sets
//! `product`, `category`, `service` (or takes the service from a field), and can copy fields
//! under the names Sigma rules use (`copy`). All matching routes apply, in order: the first
//! one to name a product, category or service sets it, later ones add further categories and
//! services (`LogSource::also_*`). Routes are indexed on the field most of them test
//! (`Channel` for Windows), so an event is compared with a handful of routes, not all.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, LazyLock};

use regex::Regex;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::MappingError;
use crate::event::LogSource;

/// The built-in data files, in the order they are loaded.
pub const BUILTIN_DATA: &[(&str, &str)] = &[
    ("windows.toml", include_str!("../data/windows.toml")),
    ("ecs.toml", include_str!("../data/ecs.toml")),
    ("linux.toml", include_str!("../data/linux.toml")),
    ("web.toml", include_str!("../data/web.toml")),
    ("zeek.toml", include_str!("../data/zeek.toml")),
    ("json.toml", include_str!("../data/json.toml")),
];

/// The family of readers an event came from; routes apply to one domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Domain {
    /// EVTX, evtx_dump JSON, Winlogbeat/ECS, Windows XML, and flattened Windows events in
    /// JSON or CSV (objects with `Channel` and `EventID`).
    Windows,
    /// Syslog / auth.log.
    Linux,
    /// IIS W3C and Apache/Nginx access logs.
    Web,
    /// Zeek logs.
    Zeek,
    /// Other JSON and CSV.
    Json,
}

impl Domain {
    const ALL: [Domain; 5] = [
        Domain::Windows,
        Domain::Linux,
        Domain::Web,
        Domain::Zeek,
        Domain::Json,
    ];

    fn parse(s: &str) -> Option<Domain> {
        Some(match s {
            "windows" => Domain::Windows,
            "linux" => Domain::Linux,
            "web" => Domain::Web,
            "zeek" => Domain::Zeek,
            "json" => Domain::Json,
            _ => return None,
        })
    }
}

// ----- the file schema -----------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DataFile {
    /// Default domain for this file's routes.
    domain: Option<String>,
    #[serde(default)]
    route: Vec<RouteSpec>,
    windows: Option<WindowsSpec>,
    ecs: Option<EcsSpec>,
    w3c: Option<W3cSpec>,
    combined: Option<CombinedSpec>,
    syslog: Option<SyslogSpec>,
    timestamps: Option<TimestampSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteSpec {
    domain: Option<String>,
    #[serde(default)]
    when: toml::Table,
    product: Option<String>,
    category: Option<String>,
    service: Option<String>,
    service_from: Option<String>,
    #[serde(default)]
    copy: toml::Table,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowsSpec {
    #[serde(default)]
    integer_fields: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EcsSpec {
    #[serde(default)]
    detect: Vec<String>,
    #[serde(default)]
    fields: toml::Table,
    #[serde(default)]
    flatten: Vec<String>,
    #[serde(default)]
    timestamp: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct W3cSpec {
    #[serde(default)]
    rename: toml::Table,
    keep_original: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CombinedSpec {
    #[serde(default)]
    fields: toml::Table,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SyslogSpec {
    #[serde(default)]
    extract: Vec<ExtractSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtractSpec {
    program: Vec<String>,
    pattern: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TimestampSpec {
    #[serde(default)]
    keys: Vec<String>,
}

// ----- compiled form ----------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Match {
    Int(i64),
    /// Lower-cased.
    Str(String),
    /// Lower-cased prefix (the data value ended with `*`).
    Prefix(String),
}

#[derive(Debug, Clone)]
struct Cond {
    field: String,
    values: Vec<Match>,
}

#[derive(Debug, Clone)]
struct Route {
    conds: Vec<Cond>,
    product: Option<Arc<str>>,
    category: Option<Arc<str>>,
    service: Option<Arc<str>>,
    service_from: Option<String>,
    copy: Vec<(String, String)>,
}

#[derive(Debug, Default, Clone)]
struct DomainRoutes {
    routes: Vec<Route>,
    index: RouteIndex,
}

/// Routes indexed on the values of the field most of them test (`Channel`), and within
/// each value on the next one (`EventID`), so an event is compared with a handful of routes.
#[derive(Debug, Default, Clone)]
struct RouteIndex {
    /// The field this level is indexed on (`None`: a leaf).
    key: Option<String>,
    /// Lower-cased value → the routes that test the key for it.
    buckets: HashMap<String, RouteIndex>,
    /// Routes that do not test the key with exact values: always candidates.
    rest: Vec<u32>,
}

impl RouteIndex {
    fn build(routes: &[Route], subset: Vec<u32>, used: &[&str]) -> RouteIndex {
        let exact = |c: &Cond| c.values.iter().all(|m| !matches!(m, Match::Prefix(_)));
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for &i in &subset {
            for c in &routes[i as usize].conds {
                if exact(c) && !used.contains(&c.field.as_str()) {
                    *counts.entry(c.field.as_str()).or_default() += 1;
                }
            }
        }
        let key = counts
            .into_iter()
            .filter(|(_, n)| *n >= 2)
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
            .map(|(k, _)| k);
        let Some(key) = key.filter(|_| used.len() < 2) else {
            return RouteIndex {
                key: None,
                buckets: HashMap::new(),
                rest: subset,
            };
        };
        let mut per_value: HashMap<String, Vec<u32>> = HashMap::new();
        let mut rest = Vec::new();
        for &i in &subset {
            match routes[i as usize]
                .conds
                .iter()
                .find(|c| c.field == key && exact(c))
            {
                Some(c) => {
                    for m in &c.values {
                        let v = match m {
                            Match::Int(n) => n.to_string(),
                            Match::Str(s) => s.clone(),
                            Match::Prefix(_) => unreachable!("exact values only"),
                        };
                        let list = per_value.entry(v).or_default();
                        if list.last() != Some(&i) {
                            list.push(i);
                        }
                    }
                }
                None => rest.push(i),
            }
        }
        let mut used2 = used.to_vec();
        used2.push(key);
        let buckets = per_value
            .into_iter()
            .map(|(v, list)| (v, RouteIndex::build(routes, list, &used2)))
            .collect();
        RouteIndex {
            key: Some(key.to_string()),
            buckets,
            rest,
        }
    }

    /// Adds the candidate routes for an event to `out`.
    fn candidates(&self, fields: &Map<String, Value>, ctx: &RouteCtx<'_>, out: &mut Vec<u32>) {
        out.extend_from_slice(&self.rest);
        if let Some(key) = &self.key {
            let mut buf = [0u8; 128];
            if let Some(sub) = value_of(fields, ctx, key)
                .and_then(|v| index_key_of(v, &mut buf).and_then(|k| self.buckets.get(k)))
            {
                sub.candidates(fields, ctx, out);
            }
        }
    }
}

thread_local! {
    /// Candidate routes of the event being routed (reused, to route without allocating).
    static CANDIDATES: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Names for the columns of Apache/Nginx combined and common logs.
#[derive(Debug, Clone)]
pub(crate) struct CombinedNames {
    pub names: HashMap<String, String>,
}

impl CombinedNames {
    /// The output name for a column (`client`, `method`, …), or the column's own name.
    pub fn get<'a>(&'a self, column: &'a str) -> &'a str {
        self.names.get(column).map_or(column, String::as_str)
    }
}

/// Field mapping and log-source routing tables (see the module documentation).
#[derive(Debug, Clone)]
pub struct Mappings {
    domains: HashMap<Domain, DomainRoutes>,
    /// System fields that are integers in EVTX; text formats (XML, ECS) convert digit strings.
    pub(crate) windows_integer_fields: Vec<String>,
    /// Top-level keys that mark a Winlogbeat/ECS Windows event.
    pub(crate) ecs_detect: Vec<String>,
    /// ECS dotted path → Windows field name.
    pub(crate) ecs_fields: Vec<(String, String)>,
    /// ECS objects whose members become top-level fields.
    pub(crate) ecs_flatten: Vec<String>,
    /// ECS timestamp keys.
    pub(crate) ecs_timestamp: Vec<String>,
    /// W3C column renames (`cs(User-Agent)` → `cs-user-agent`).
    pub(crate) w3c_rename: HashMap<String, String>,
    /// Keep W3C columns under their original name too when renamed.
    pub(crate) w3c_keep_original: bool,
    /// Apache/Nginx column names.
    pub(crate) combined: CombinedNames,
    /// Syslog messages to split into fields, per program (lower-cased).
    pub(crate) syslog_extract: Vec<(Vec<String>, Regex)>,
    /// Keys holding a timestamp in generic JSON/CSV, in order of preference.
    pub(crate) timestamp_keys: Vec<String>,
}

static BUILTIN: LazyLock<Arc<Mappings>> = LazyLock::new(|| {
    Arc::new(
        Mappings::from_sources(BUILTIN_DATA.iter().copied())
            .expect("built-in mapping data is valid"),
    )
});

/// Context values routes can test with `@`-names: `@file` (the file name, lower-case, of
/// the innermost file or archive member) and `@path` (the Zeek log path: `dns`, `conn`…).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RouteCtx<'a> {
    pub file: &'a str,
    pub path: Option<&'a str>,
}

impl Mappings {
    /// The built-in tables (shared; cheap to call).
    pub fn builtin() -> Arc<Mappings> {
        BUILTIN.clone()
    }

    /// The built-in tables plus the user's files, which take precedence: their routes are
    /// tried first and their renames override built-in ones.
    pub fn load<P: AsRef<Path>>(extra_files: &[P]) -> Result<Mappings, MappingError> {
        let mut texts = Vec::new();
        for p in extra_files {
            let p = p.as_ref();
            let text = std::fs::read_to_string(p).map_err(|source| MappingError::Io {
                path: p.display().to_string(),
                source,
            })?;
            texts.push((p.display().to_string(), text));
        }
        let user = texts.iter().map(|(n, t)| (n.as_str(), t.as_str()));
        Mappings::from_sources(user.chain(BUILTIN_DATA.iter().copied()))
    }

    /// Builds tables from `(name, TOML text)` sources; earlier sources take precedence.
    pub fn from_sources<'a>(
        sources: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Mappings, MappingError> {
        let mut m = Mappings {
            domains: HashMap::new(),
            windows_integer_fields: Vec::new(),
            ecs_detect: Vec::new(),
            ecs_fields: Vec::new(),
            ecs_flatten: Vec::new(),
            ecs_timestamp: Vec::new(),
            w3c_rename: HashMap::new(),
            w3c_keep_original: true,
            combined: CombinedNames {
                names: HashMap::new(),
            },
            syslog_extract: Vec::new(),
            timestamp_keys: Vec::new(),
        };
        let mut keep_original_set = false;
        for (name, text) in sources {
            let invalid = |message: String| MappingError::Invalid {
                name: name.to_string(),
                message,
            };
            let file: DataFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
            for (i, spec) in file.route.into_iter().enumerate() {
                let dom_name = spec
                    .domain
                    .as_deref()
                    .or(file.domain.as_deref())
                    .ok_or_else(|| invalid(format!("route {} has no domain", i + 1)))?;
                let dom = Domain::parse(dom_name).ok_or_else(|| {
                    invalid(format!("route {}: unknown domain `{dom_name}`", i + 1))
                })?;
                let route =
                    compile_route(spec).map_err(|e| invalid(format!("route {}: {e}", i + 1)))?;
                m.domains.entry(dom).or_default().routes.push(route);
            }
            if let Some(w) = file.windows {
                extend_unique(&mut m.windows_integer_fields, w.integer_fields);
            }
            if let Some(e) = file.ecs {
                extend_unique(&mut m.ecs_detect, e.detect);
                for (k, v) in e.fields {
                    let v = table_str(&v)
                        .ok_or_else(|| invalid(format!("ecs.fields.{k} must be a string")))?;
                    if !m.ecs_fields.iter().any(|(s, _)| *s == k) {
                        m.ecs_fields.push((k, v));
                    }
                }
                extend_unique(&mut m.ecs_flatten, e.flatten);
                extend_unique(&mut m.ecs_timestamp, e.timestamp);
            }
            if let Some(w) = file.w3c {
                for (k, v) in w.rename {
                    let v = table_str(&v)
                        .ok_or_else(|| invalid(format!("w3c.rename.{k} must be a string")))?;
                    m.w3c_rename.entry(k).or_insert(v);
                }
                if let Some(b) = w.keep_original
                    && !keep_original_set
                {
                    m.w3c_keep_original = b;
                    keep_original_set = true;
                }
            }
            if let Some(c) = file.combined {
                for (k, v) in c.fields {
                    let v = table_str(&v)
                        .ok_or_else(|| invalid(format!("combined.fields.{k} must be a string")))?;
                    m.combined.names.entry(k).or_insert(v);
                }
            }
            if let Some(s) = file.syslog {
                for x in s.extract {
                    let re = Regex::new(&x.pattern)
                        .map_err(|e| invalid(format!("syslog.extract pattern: {e}")))?;
                    let programs = x.program.iter().map(|p| p.to_ascii_lowercase()).collect();
                    m.syslog_extract.push((programs, re));
                }
            }
            if let Some(t) = file.timestamps {
                extend_unique(&mut m.timestamp_keys, t.keys);
            }
        }
        for dom in Domain::ALL {
            m.domains.entry(dom).or_default().build_index();
        }
        Ok(m)
    }

    /// Routes an event of `domain`: returns its log source and adds the fields the matching
    /// routes copy (never overwriting a field the event already has).
    pub(crate) fn route(
        &self,
        domain: Domain,
        fields: &mut Map<String, Value>,
        ctx: &RouteCtx<'_>,
    ) -> LogSource {
        let Some(d) = self.domains.get(&domain) else {
            return LogSource::default();
        };
        let mut ls = LogSource::default();
        let mut also_cat: Vec<Arc<str>> = Vec::new();
        let mut also_svc: Vec<Arc<str>> = Vec::new();
        CANDIDATES.with_borrow_mut(|cands| {
            cands.clear();
            d.index.candidates(fields, ctx, cands);
            cands.sort_unstable();
            for &next in cands.iter() {
                self.apply_route(
                    &d.routes[next as usize],
                    fields,
                    ctx,
                    &mut ls,
                    &mut also_cat,
                    &mut also_svc,
                );
            }
        });
        if !also_cat.is_empty() {
            ls.also_categories = Some(also_cat.into());
        }
        if !also_svc.is_empty() {
            ls.also_services = Some(also_svc.into());
        }
        ls
    }

    #[allow(clippy::too_many_arguments)]
    fn apply_route(
        &self,
        route: &Route,
        fields: &mut Map<String, Value>,
        ctx: &RouteCtx<'_>,
        ls: &mut LogSource,
        also_cat: &mut Vec<Arc<str>>,
        also_svc: &mut Vec<Arc<str>>,
    ) {
        if !route.conds.iter().all(|c| cond_holds(c, fields, ctx)) {
            return;
        }
        if ls.product.is_none() {
            ls.product.clone_from(&route.product);
        }
        add(&mut ls.category, also_cat, route.category.clone());
        let svc = match &route.service_from {
            Some(f) => value_of(fields, ctx, f).and_then(|v| match v {
                Val::Str(s) if !s.is_empty() => Some(Arc::from(s.to_ascii_lowercase())),
                _ => None,
            }),
            None => route.service.clone(),
        };
        add(&mut ls.service, also_svc, svc);
        for (target, source) in &route.copy {
            if !fields.contains_key(target)
                && let Some(v) = fields.get(source).cloned()
            {
                fields.insert(target.clone(), v);
            }
        }
    }
}

fn add(first: &mut Option<Arc<str>>, also: &mut Vec<Arc<str>>, v: Option<Arc<str>>) {
    let Some(v) = v else { return };
    match first {
        None => *first = Some(v),
        Some(f) if **f == *v => {}
        Some(_) => {
            if !also.iter().any(|a| **a == *v) {
                also.push(v);
            }
        }
    }
}

fn extend_unique(into: &mut Vec<String>, from: Vec<String>) {
    for s in from {
        if !into.contains(&s) {
            into.push(s);
        }
    }
}

fn table_str(v: &toml::Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

fn compile_route(spec: RouteSpec) -> Result<Route, String> {
    let mut conds = Vec::new();
    for (field, v) in spec.when {
        let items: Vec<&toml::Value> = match &v {
            toml::Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        let mut values = Vec::new();
        for item in items {
            values.push(match item {
                toml::Value::Integer(i) => Match::Int(*i),
                toml::Value::String(s) => match s.strip_suffix('*') {
                    Some(p) => Match::Prefix(p.to_lowercase()),
                    None => Match::Str(s.to_lowercase()),
                },
                toml::Value::Boolean(b) => Match::Str(b.to_string()),
                other => return Err(format!("when.{field}: unsupported value {other:?}")),
            });
        }
        if values.is_empty() {
            return Err(format!("when.{field}: empty list"));
        }
        conds.push(Cond { field, values });
    }
    let mut copy = Vec::new();
    for (target, source) in spec.copy {
        let source = source
            .as_str()
            .ok_or_else(|| format!("copy.{target} must name a source field"))?;
        copy.push((target, source.to_string()));
    }
    if spec.service.is_some() && spec.service_from.is_some() {
        return Err("both service and service_from".into());
    }
    Ok(Route {
        conds,
        product: spec.product.map(Arc::from),
        category: spec.category.map(Arc::from),
        service: spec.service.map(Arc::from),
        service_from: spec.service_from,
        copy,
    })
}

impl DomainRoutes {
    fn build_index(&mut self) {
        let all = (0..self.routes.len() as u32).collect();
        self.index = RouteIndex::build(&self.routes, all, &[]);
    }
}

/// A field value as routing sees it.
enum Val<'a> {
    Str(&'a str),
    Num(&'a serde_json::Number),
    Bool(bool),
    List(&'a [Value]),
}

fn value_of<'a>(fields: &'a Map<String, Value>, ctx: &RouteCtx<'a>, key: &str) -> Option<Val<'a>> {
    match key {
        "@file" => Some(Val::Str(ctx.file)),
        "@path" => ctx.path.map(Val::Str),
        _ => match crate::event::lookup(fields, key)? {
            Value::String(s) => Some(Val::Str(s)),
            Value::Number(n) => Some(Val::Num(n)),
            Value::Bool(b) => Some(Val::Bool(*b)),
            Value::Array(a) => Some(Val::List(a)),
            _ => None,
        },
    }
}

fn index_key_of<'b>(v: Val<'_>, buf: &'b mut [u8; 128]) -> Option<&'b str> {
    let s: &str = match v {
        Val::Str(s) => s,
        Val::Num(n) => {
            let text = n.to_string();
            let len = text.len().min(buf.len());
            buf[..len].copy_from_slice(&text.as_bytes()[..len]);
            return std::str::from_utf8(&buf[..len]).ok();
        }
        Val::Bool(b) => {
            if b {
                "true"
            } else {
                "false"
            }
        }
        Val::List(_) => return None,
    };
    if s.len() > buf.len() {
        return None;
    }
    for (d, c) in buf.iter_mut().zip(s.bytes()) {
        *d = c.to_ascii_lowercase();
    }
    // Non-ASCII text is left as is byte-wise; route values are lower-cased with full Unicode
    // rules, so only ASCII case differences are folded here.
    std::str::from_utf8(&buf[..s.len()]).ok()
}

fn cond_holds(c: &Cond, fields: &Map<String, Value>, ctx: &RouteCtx<'_>) -> bool {
    match value_of(fields, ctx, &c.field) {
        Some(Val::List(items)) => items.iter().any(|item| match item {
            Value::String(s) => c.values.iter().any(|m| str_matches(m, s)),
            Value::Number(n) => c.values.iter().any(|m| num_matches(m, n)),
            _ => false,
        }),
        Some(Val::Str(s)) => c.values.iter().any(|m| str_matches(m, s)),
        Some(Val::Num(n)) => c.values.iter().any(|m| num_matches(m, n)),
        Some(Val::Bool(b)) => c
            .values
            .iter()
            .any(|m| matches!(m, Match::Str(s) if s == if b { "true" } else { "false" })),
        None => false,
    }
}

fn str_matches(m: &Match, s: &str) -> bool {
    match m {
        Match::Int(i) => s.trim().parse::<i64>().is_ok_and(|v| v == *i),
        Match::Str(want) if s.is_ascii() => s.eq_ignore_ascii_case(want),
        Match::Str(want) => s.to_lowercase() == *want,
        Match::Prefix(p) if s.is_ascii() => {
            s.len() >= p.len() && s.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
        }
        Match::Prefix(p) => s.to_lowercase().starts_with(p.as_str()),
    }
}

fn num_matches(m: &Match, n: &serde_json::Number) -> bool {
    match m {
        Match::Int(i) => n.as_i64() == Some(*i),
        Match::Str(s) => n.to_string() == *s,
        Match::Prefix(p) => n.to_string().starts_with(p.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn route(
        m: &Mappings,
        domain: Domain,
        v: Value,
        file: &str,
    ) -> (LogSource, Map<String, Value>) {
        let mut fields = v.as_object().unwrap().clone();
        let ls = m.route(domain, &mut fields, &RouteCtx { file, path: None });
        (ls, fields)
    }

    #[test]
    fn builtin_data_loads() {
        let m = Mappings::builtin();
        assert_eq!(
            m.domains[&Domain::Windows].index.key.as_deref(),
            Some("Channel")
        );
        let sysmon =
            &m.domains[&Domain::Windows].index.buckets["microsoft-windows-sysmon/operational"];
        assert_eq!(sysmon.key.as_deref(), Some("EventID"));
        assert!(m.windows_integer_fields.contains(&"EventID".to_string()));
        assert!(!m.ecs_fields.is_empty());
    }

    #[test]
    fn sysmon_process_creation() {
        let (ls, _) = route(
            &Mappings::builtin(),
            Domain::Windows,
            json!({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1}),
            "x.evtx",
        );
        assert_eq!(ls.product.as_deref(), Some("windows"));
        assert_eq!(ls.category.as_deref(), Some("process_creation"));
        assert_eq!(ls.service.as_deref(), Some("sysmon"));
    }

    #[test]
    fn sysmon_registry_events_have_two_categories() {
        let m = Mappings::builtin();
        let (ls, _) = route(
            &m,
            Domain::Windows,
            json!({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 13}),
            "",
        );
        assert_eq!(ls.category.as_deref(), Some("registry_set"));
        assert!(ls.matches(Some("windows"), Some("registry_event"), None));
        let (ls, _) = route(
            &m,
            Domain::Windows,
            json!({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 12, "EventType": "DeleteValue"}),
            "",
        );
        assert_eq!(ls.category.as_deref(), Some("registry_delete"));
        assert!(ls.matches(None, Some("registry_event"), None));
        assert!(!ls.matches(None, Some("registry_add"), None));
    }

    #[test]
    fn security_4688_copies_sigma_names_alongside() {
        let (ls, f) = route(
            &Mappings::builtin(),
            Domain::Windows,
            json!({"Channel": "Security", "EventID": "4688", "NewProcessName": "C:\\a.exe",
                   "ParentProcessName": "C:\\p.exe", "CommandLine": "a"}),
            "",
        );
        assert_eq!(ls.category.as_deref(), Some("process_creation"));
        assert_eq!(ls.service.as_deref(), Some("security"));
        assert_eq!(f["Image"], "C:\\a.exe");
        assert_eq!(f["NewProcessName"], "C:\\a.exe");
        assert_eq!(f["ParentImage"], "C:\\p.exe");
    }

    #[test]
    fn powershell_and_services() {
        let m = Mappings::builtin();
        for (chan, id, cat, svc) in [
            (
                "Microsoft-Windows-PowerShell/Operational",
                4104,
                Some("ps_script"),
                "powershell",
            ),
            (
                "Microsoft-Windows-PowerShell/Operational",
                4103,
                Some("ps_module"),
                "powershell",
            ),
            (
                "Windows PowerShell",
                400,
                Some("ps_classic_start"),
                "powershell-classic",
            ),
            (
                "Windows PowerShell",
                600,
                Some("ps_classic_provider_start"),
                "powershell-classic",
            ),
            (
                "microsoft-windows-windows defender/operational",
                1116,
                None,
                "windefend",
            ),
            ("System", 7045, None, "system"),
        ] {
            let (ls, _) = route(
                &m,
                Domain::Windows,
                json!({"Channel": chan, "EventID": id}),
                "",
            );
            assert_eq!(ls.category.as_deref(), cat, "{chan} {id}");
            assert_eq!(ls.service.as_deref(), Some(svc), "{chan} {id}");
        }
    }

    #[test]
    fn linux_file_and_program_routes() {
        let m = Mappings::builtin();
        let (ls, _) = route(&m, Domain::Linux, json!({"program": "sshd"}), "auth.log.1");
        assert_eq!(ls.product.as_deref(), Some("linux"));
        assert_eq!(ls.service.as_deref(), Some("sshd"));
        assert!(ls.matches(Some("linux"), None, Some("auth")));
        let (ls, _) = route(&m, Domain::Linux, json!({"program": "CRON"}), "syslog");
        assert_eq!(ls.service.as_deref(), Some("cron"));
        assert!(ls.matches(None, None, Some("syslog")));
    }

    #[test]
    fn user_files_take_precedence_and_errors_name_the_file() {
        let user = r#"
            domain = "windows"
            [[route]]
            when = { Channel = "Security", EventID = 4688 }
            category = "my_process_start"
        "#;
        let m = Mappings::from_sources(
            [("user.toml", user)]
                .into_iter()
                .chain(BUILTIN_DATA.iter().copied()),
        )
        .unwrap();
        let (ls, _) = route(
            &m,
            Domain::Windows,
            json!({"Channel": "Security", "EventID": 4688}),
            "",
        );
        assert_eq!(ls.category.as_deref(), Some("my_process_start"));
        assert!(ls.matches(None, Some("process_creation"), None));

        let err = Mappings::from_sources([("bad.toml", "[[route]]\nproduct = 1")]).unwrap_err();
        assert!(err.to_string().contains("bad.toml"), "{err}");
        let err =
            Mappings::from_sources([("bad.toml", "[[route]]\ndomain = \"mars\"")]).unwrap_err();
        assert!(err.to_string().contains("unknown domain"), "{err}");
    }
}
