//! Loading Sigma files: documents, legacy collections, and error gathering.
//!
//! A [`Collection`] takes rule files one by one, sorts each YAML document
//! into a detection rule, a filter or a correlation rule, and keeps every
//! problem as a [`RuleError`] naming the file and line. Nothing is dropped
//! silently: a document is either loaded or reported. [`Collection::compile`]
//! then builds the [`RuleSet`](crate::RuleSet) that matches events.

use std::collections::HashMap;

use crate::correlation::{CorrelationRule, parse_correlation};
use crate::error::{Problem, RuleError};
use crate::modifier::PlaceholderSource;
use crate::rule::{
    Detection, LogSource, RuleMeta, parse_detection, parse_logsource, parse_meta, text_of,
};
use crate::yaml::{Node, NodeKind, Scalar, YamlLimits, parse_documents_limited};

/// What to do with `%placeholders%` of `expand` items.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Values for each placeholder name (each value may use wildcards).
    pub placeholders: HashMap<String, Vec<String>>,
    /// If true, a placeholder without values expands to nothing (its item
    /// matches nothing) and the rule is loaded with a warning; if false (the
    /// specification's rule) the rule is rejected.
    pub unresolved_placeholders_match_nothing: bool,
    /// Bounds on each YAML document (aliases, nodes after expansion): a file past one is
    /// refused with an error naming the limit, and the other files load.
    pub yaml_limits: YamlLimits,
    /// Largest compiled size of one `|re` regular expression, in bytes (default
    /// [`crate::matchers::DEFAULT_REGEX_SIZE_LIMIT`], 16 MiB). A larger one refuses its rule
    /// ("regular expression … cannot be compiled: … size limit", see
    /// [`crate::RuleSet::compile_regexes`]).
    pub regex_size_limit: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            placeholders: HashMap::new(),
            unresolved_placeholders_match_nothing: false,
            yaml_limits: YamlLimits::default(),
            regex_size_limit: crate::matchers::DEFAULT_REGEX_SIZE_LIMIT,
        }
    }
}

impl PlaceholderSource for LoadOptions {
    fn resolve(&self, name: &str) -> Option<Vec<String>> {
        self.placeholders.get(name).cloned()
    }

    fn unresolved_is_empty(&self) -> bool {
        self.unresolved_placeholders_match_nothing
    }

    fn regex_size_limit(&self) -> usize {
        self.regex_size_limit
    }
}

/// A detection rule as loaded, before compilation.
#[derive(Debug, Clone)]
pub(crate) struct ParsedRule {
    pub meta: RuleMeta,
    pub detection: Detection,
}

/// A filter document (meta filter) as loaded.
#[derive(Debug, Clone)]
pub(crate) struct ParsedFilter {
    pub meta: RuleMeta,
    pub logsource: LogSource,
    /// Rule ids or names; `None` means every rule of the log source.
    pub rules: Option<Vec<String>>,
    pub detection: Detection,
}

/// A warning about a rule that was loaded anyway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleWarning {
    /// The file the rule came from.
    pub origin: String,
    /// The line where the rule starts.
    pub line: usize,
    /// The rule's title.
    pub title: String,
    /// What the analyst should know.
    pub message: String,
}

impl std::fmt::Display for RuleWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: rule '{}': {}",
            self.origin, self.line, self.title, self.message
        )
    }
}

/// A set of loaded Sigma documents and the errors met while loading them.
#[derive(Debug, Default)]
pub struct Collection {
    pub(crate) options: LoadOptions,
    pub(crate) rules: Vec<ParsedRule>,
    pub(crate) filters: Vec<ParsedFilter>,
    pub(crate) correlations: Vec<CorrelationRule>,
    errors: Vec<RuleError>,
    warnings: Vec<RuleWarning>,
}

fn deep_merge(base: &Node, over: &Node) -> Node {
    match (&base.kind, &over.kind) {
        (NodeKind::Map(b), NodeKind::Map(o)) => {
            let mut out: Vec<(Node, Node)> = b.clone();
            for (k, v) in o {
                let key = k.key_text();
                if let Some(slot) = out.iter_mut().find(|(bk, _)| bk.key_text() == key) {
                    slot.1 = deep_merge(&slot.1, v);
                } else {
                    out.push((k.clone(), v.clone()));
                }
            }
            Node {
                kind: NodeKind::Map(out),
                pos: over.pos,
            }
        }
        _ => over.clone(),
    }
}

fn without_action(node: &Node) -> Node {
    match &node.kind {
        NodeKind::Map(m) => Node {
            kind: NodeKind::Map(
                m.iter()
                    .filter(|(k, _)| k.key_text().as_deref() != Some("action"))
                    .cloned()
                    .collect(),
            ),
            pos: node.pos,
        },
        _ => node.clone(),
    }
}

impl Collection {
    /// An empty collection with the given options.
    pub fn new(options: LoadOptions) -> Self {
        Collection {
            options,
            ..Default::default()
        }
    }

    /// Loads every document of one Sigma file. `origin` names the file in
    /// errors. Returns the number of documents loaded without error.
    pub fn add_source(&mut self, origin: &str, text: &str) -> usize {
        let docs = match parse_documents_limited(text, &self.options.yaml_limits) {
            Ok(d) => d,
            Err(e) => {
                let what = if e.limit {
                    "YAML refused"
                } else {
                    "YAML syntax error"
                };
                self.errors.push(RuleError::at(
                    origin,
                    Some(e.pos),
                    format!("{what}: {}", e.message),
                ));
                return 0;
            }
        };
        let mut loaded = 0;
        let mut global: Option<Node> = None;
        let mut previous: Option<Node> = None;
        for doc in docs {
            if matches!(doc.root.kind, NodeKind::Scalar(Scalar::Null)) {
                continue; // an empty document, e.g. after a trailing '---'
            }
            let action = doc.root.get("action").and_then(text_of);
            let root = match action.as_deref() {
                Some("global") => {
                    global = Some(without_action(&doc.root));
                    continue;
                }
                Some("reset") => {
                    global = None;
                    continue;
                }
                Some("repeat") => match &previous {
                    Some(prev) => deep_merge(prev, &without_action(&doc.root)),
                    None => {
                        self.errors.push(RuleError::at(
                            origin,
                            Some(doc.root.pos),
                            "'action: repeat' without a previous document",
                        ));
                        continue;
                    }
                },
                Some(other) => {
                    self.errors.push(RuleError::at(
                        origin,
                        Some(doc.root.pos),
                        format!("unknown collection action '{other}'"),
                    ));
                    continue;
                }
                None => match &global {
                    Some(g) => deep_merge(g, &doc.root),
                    None => doc.root.clone(),
                },
            };
            previous = Some(root.clone());
            if self.add_document(origin, &root, doc.line.max(1)) {
                loaded += 1;
            }
        }
        loaded
    }

    fn add_document(&mut self, origin: &str, root: &Node, line: usize) -> bool {
        if root.as_map().is_none() {
            self.errors.push(RuleError::at(
                origin,
                Some(root.pos),
                format!(
                    "a Sigma document must be a mapping, not a {}",
                    root.type_name()
                ),
            ));
            return false;
        }
        let title = root.get("title").and_then(text_of);
        let fail = |p: Problem| RuleError::at(origin, p.pos, p.reason).with_title(title.as_deref());
        let result = if root.get("correlation").is_some() {
            parse_correlation(root, origin, line).map(|c| self.correlations.push(c))
        } else if let Some(filter) = root.get("filter") {
            self.parse_filter(root, filter, origin, line)
        } else if let Some(detection) = root.get("detection") {
            self.parse_rule(root, detection, origin, line)
        } else {
            Err(Problem::new(
                Some(root.pos),
                "not a Sigma rule: no 'detection', 'correlation' or 'filter' section",
            ))
        };
        match result {
            Ok(()) => true,
            Err(p) => {
                self.errors.push(fail(p));
                false
            }
        }
    }

    fn parse_rule(
        &mut self,
        root: &Node,
        detection: &Node,
        origin: &str,
        line: usize,
    ) -> Result<(), Problem> {
        let mut meta = parse_meta(root, origin, line)?;
        meta.logsource = parse_logsource(root.get("logsource"), true, root.pos)?;
        let detection = parse_detection(detection, &self.options, &[])?;
        let unresolved = unresolved_placeholders(root, &self.options);
        if !unresolved.is_empty() {
            self.warnings.push(RuleWarning {
                origin: origin.to_string(),
                line,
                title: meta.title.clone(),
                message: format!(
                    "placeholder{} {} ha{} no values: {} nothing",
                    if unresolved.len() > 1 { "s" } else { "" },
                    unresolved
                        .iter()
                        .map(|p| format!("%{p}%"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if unresolved.len() > 1 { "ve" } else { "s" },
                    if unresolved.len() > 1 {
                        "they match"
                    } else {
                        "it matches"
                    },
                ),
            });
        }
        self.rules.push(ParsedRule { meta, detection });
        Ok(())
    }

    fn parse_filter(
        &mut self,
        root: &Node,
        filter: &Node,
        origin: &str,
        line: usize,
    ) -> Result<(), Problem> {
        let meta = parse_meta(root, origin, line)?;
        let logsource = parse_logsource(root.get("logsource"), true, root.pos)?;
        let rules = match filter.get("rules") {
            None => None,
            Some(n) => match &n.kind {
                NodeKind::Scalar(Scalar::Str(s)) if s == "any" => None,
                NodeKind::Scalar(Scalar::Null) => None,
                NodeKind::Seq(items) if items.is_empty() => None,
                _ => Some(crate::rule::string_list(Some(n), "rules")?),
            },
        };
        let detection = parse_detection(filter, &self.options, &["rules"])?;
        self.filters.push(ParsedFilter {
            meta,
            logsource,
            rules,
            detection,
        });
        Ok(())
    }

    /// Moves everything loaded into `other` into this collection (after what
    /// is already here), so files can be loaded on several threads and joined
    /// in a fixed order.
    pub fn append(&mut self, other: Collection) {
        self.rules.extend(other.rules);
        self.filters.extend(other.filters);
        self.correlations.extend(other.correlations);
        self.errors.extend(other.errors);
        self.warnings.extend(other.warnings);
    }

    /// Records a rule file that could not be read at all.
    pub fn add_unreadable(&mut self, origin: &str, reason: &str) {
        self.errors.push(RuleError::at(origin, None, reason));
    }

    /// The load options of this collection.
    pub fn options(&self) -> &LoadOptions {
        &self.options
    }

    /// The errors met so far, one per refused document.
    pub fn errors(&self) -> &[RuleError] {
        &self.errors
    }

    /// Warnings about rules that were loaded anyway.
    pub fn warnings(&self) -> &[RuleWarning] {
        &self.warnings
    }

    /// Number of detection rules loaded.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Number of filter documents loaded.
    pub fn filter_count(&self) -> usize {
        self.filters.len()
    }

    /// Number of correlation rules loaded.
    pub fn correlation_count(&self) -> usize {
        self.correlations.len()
    }

    pub(crate) fn push_error(&mut self, e: RuleError) {
        self.errors.push(e);
    }
}

fn unresolved_placeholders(root: &Node, opts: &LoadOptions) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(node: &Node, in_expand: bool, opts: &LoadOptions, out: &mut Vec<String>) {
        match &node.kind {
            NodeKind::Map(m) => {
                for (k, v) in m {
                    let expand = k
                        .key_text()
                        .is_some_and(|t| t.split('|').skip(1).any(|m| m == "expand"));
                    walk(v, expand, opts, out);
                }
            }
            NodeKind::Seq(items) => items.iter().for_each(|i| walk(i, in_expand, opts, out)),
            NodeKind::Scalar(Scalar::Str(s)) if in_expand => {
                for p in crate::string::SigmaString::parse_with_placeholders(s).placeholders() {
                    if !opts.placeholders.contains_key(p) && !out.iter().any(|o| o == p) {
                        out.push(p.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(d) = root.get("detection") {
        walk(d, false, opts, &mut out);
    }
    out
}

#[cfg(test)]
mod limit_tests {
    use super::*;

    const RULE: &str = "title: ok\nlogsource: {product: windows}\ndetection:\n  sel:\n    CommandLine|re: '\\w{50}x'\n  condition: sel\n";

    #[test]
    fn alias_bomb_refuses_its_file_only() {
        let mut bomb = crate::yaml::tests::billion_laughs();
        bomb.push_str("title: bomb\n");
        let mut col = Collection::new(LoadOptions::default());
        assert_eq!(col.add_source("bomb.yml", &bomb), 0);
        assert_eq!(col.add_source("ok.yml", RULE), 1);
        assert_eq!(col.errors().len(), 1);
        let e = &col.errors()[0];
        assert_eq!(e.origin, "bomb.yml");
        assert!(
            e.reason.starts_with("YAML refused:") && e.reason.contains("max_yaml_nodes"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn regex_size_limit_is_configurable() {
        let mut col = Collection::new(LoadOptions::default());
        col.add_source("ok.yml", RULE);
        assert!(col.compile().ruleset.compile_regexes().is_empty());
        let mut col = Collection::new(LoadOptions {
            regex_size_limit: 100,
            ..LoadOptions::default()
        });
        col.add_source("ok.yml", RULE);
        let errors = col.compile().ruleset.compile_regexes();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].reason.contains("size limit"),
            "{}",
            errors[0].reason
        );
    }
}
