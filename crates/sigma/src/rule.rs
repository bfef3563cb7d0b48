//! Sigma documents: detection rules, filters, and their metadata.
//!
//! This module turns a YAML document into a typed rule: metadata, log source
//! and a detection whose items have already passed through the modifier
//! pipeline. Everything a rule can get wrong is found here, at load time,
//! with the line it is on.

use std::fmt;

use crate::condition::{Condition, parse_condition};
use crate::error::{PResult, Problem};
use crate::modifier::{Modifier, PlaceholderSource, ProcessedValues, process};
use crate::yaml::{Node, NodeKind, Pos, Scalar};

/// A rule's `logsource`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LogSource {
    /// `product`, e.g. `windows`.
    pub product: Option<String>,
    /// `category`, e.g. `process_creation`.
    pub category: Option<String>,
    /// `service`, e.g. `security`.
    pub service: Option<String>,
}

impl LogSource {
    /// True if every key set in `self` is set to the same value in `other`
    /// (so a filter's log source covers a rule's).
    pub fn covers(&self, other: &LogSource) -> bool {
        fn ok(a: &Option<String>, b: &Option<String>) -> bool {
            match a {
                None => true,
                Some(a) => b.as_deref().is_some_and(|b| b.eq_ignore_ascii_case(a)),
            }
        }
        ok(&self.product, &other.product)
            && ok(&self.category, &other.category)
            && ok(&self.service, &other.service)
    }
}

impl fmt::Display for LogSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = [&self.product, &self.category, &self.service];
        let text: Vec<&str> = parts.iter().map(|p| p.as_deref().unwrap_or("*")).collect();
        write!(f, "{}", text.join("/"))
    }
}

/// A rule's severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// `informational`.
    Informational,
    /// `low`.
    Low,
    /// `medium`.
    Medium,
    /// `high`.
    High,
    /// `critical`.
    Critical,
}

impl Level {
    /// Parses a level name.
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s.to_ascii_lowercase().as_str() {
            "informational" | "info" => Level::Informational,
            "low" => Level::Low,
            "medium" => Level::Medium,
            "high" => Level::High,
            "critical" => Level::Critical,
            _ => return None,
        })
    }

    /// The level's name as Sigma writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Descriptive metadata of a rule (no matching semantics).
#[derive(Debug, Clone, Default)]
pub struct RuleMeta {
    /// `title`.
    pub title: String,
    /// `id` (a UUID in SigmaHQ).
    pub id: Option<String>,
    /// `name`, usable instead of the id in correlations.
    pub name: Option<String>,
    /// `status`.
    pub status: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `author`.
    pub author: Option<String>,
    /// `date`.
    pub date: Option<String>,
    /// `modified`.
    pub modified: Option<String>,
    /// `level`.
    pub level: Option<Level>,
    /// `tags`.
    pub tags: Vec<String>,
    /// `references`.
    pub references: Vec<String>,
    /// `falsepositives`.
    pub falsepositives: Vec<String>,
    /// `fields`.
    pub fields: Vec<String>,
    /// `logsource`.
    pub logsource: LogSource,
    /// The file (or other origin) the rule came from.
    pub origin: String,
    /// The line where the rule's document starts.
    pub line: usize,
}

impl RuleMeta {
    /// ATT&CK technique ids from the tags (`attack.t1059.001` -> `T1059.001`).
    pub fn attack_techniques(&self) -> Vec<String> {
        self.tags
            .iter()
            .filter_map(|t| t.strip_prefix("attack."))
            .filter(|t| {
                let b = t.as_bytes();
                b.len() >= 5
                    && (b[0] == b't' || b[0] == b'T')
                    && b[1..5].iter().all(u8::is_ascii_digit)
            })
            .map(|t| t.to_ascii_uppercase())
            .collect()
    }
}

/// A search identifier's content.
#[derive(Debug, Clone)]
pub(crate) enum Search {
    /// All must match (a map).
    And(Vec<Search>),
    /// Any must match (a list).
    Or(Vec<Search>),
    /// One detection item.
    Item(Item),
}

/// One `field|modifiers: values` item (field `None` for keywords).
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub field: Option<String>,
    pub values: ProcessedValues,
}

/// A parsed detection section.
#[derive(Debug, Clone)]
pub(crate) struct Detection {
    pub searches: Vec<(String, Search)>,
    /// OR-linked conditions.
    pub conditions: Vec<Condition>,
}

pub(crate) fn text_of(node: &Node) -> Option<String> {
    match &node.kind {
        NodeKind::Scalar(Scalar::Null) => None,
        NodeKind::Scalar(s) => Some(s.to_text()),
        _ => None,
    }
}

pub(crate) fn string_list(node: Option<&Node>, what: &str) -> PResult<Vec<String>> {
    match node.map(|n| &n.kind) {
        None | Some(NodeKind::Scalar(Scalar::Null)) => Ok(Vec::new()),
        Some(NodeKind::Scalar(s)) => Ok(vec![s.to_text()]),
        Some(NodeKind::Seq(items)) => items
            .iter()
            .map(|i| {
                i.as_scalar().map(Scalar::to_text).ok_or_else(|| {
                    Problem::new(Some(i.pos), format!("'{what}' must be a list of strings"))
                })
            })
            .collect(),
        Some(NodeKind::Map(_)) => Err(Problem::new(
            node.map(|n| n.pos),
            format!("'{what}' must be a list of strings"),
        )),
    }
}

pub(crate) fn parse_logsource(node: Option<&Node>, required: bool, pos: Pos) -> PResult<LogSource> {
    let Some(node) = node else {
        return if required {
            Err(Problem::new(Some(pos), "missing 'logsource'"))
        } else {
            Ok(LogSource::default())
        };
    };
    if node.as_map().is_none() {
        return Err(Problem::new(
            Some(node.pos),
            "'logsource' must be a mapping",
        ));
    }
    let get = |k: &str| node.get(k).and_then(text_of).map(|s| s.to_lowercase());
    Ok(LogSource {
        product: get("product"),
        category: get("category"),
        service: get("service"),
    })
}

/// Reads the metadata common to all documents.
pub(crate) fn parse_meta(root: &Node, origin: &str, line: usize) -> PResult<RuleMeta> {
    let title = match root.get("title") {
        Some(n) => {
            text_of(n).ok_or_else(|| Problem::new(Some(n.pos), "'title' must be a string"))?
        }
        None => return Err(Problem::new(Some(root.pos), "missing 'title'")),
    };
    let level = match root.get("level") {
        None => None,
        Some(n) => match text_of(n) {
            None => None,
            Some(t) => Some(Level::parse(&t).ok_or_else(|| {
                Problem::new(
                    Some(n.pos),
                    format!("unknown level '{t}' (informational, low, medium, high, critical)"),
                )
            })?),
        },
    };
    let text = |k: &str| root.get(k).and_then(text_of);
    Ok(RuleMeta {
        title,
        id: text("id"),
        name: text("name"),
        status: text("status"),
        description: text("description"),
        author: text("author"),
        date: text("date"),
        modified: text("modified"),
        level,
        tags: string_list(root.get("tags"), "tags")?,
        references: string_list(root.get("references"), "references")?,
        falsepositives: string_list(root.get("falsepositives"), "falsepositives")?,
        fields: string_list(root.get("fields"), "fields")?,
        logsource: LogSource::default(),
        origin: origin.to_string(),
        line,
    })
}

fn parse_item(key: &Node, value: &Node, placeholders: &dyn PlaceholderSource) -> PResult<Item> {
    let key_text = key.key_text().unwrap_or_default();
    let mut parts = key_text.split('|');
    let field = parts.next().unwrap_or("").to_string();
    let mut mods = Vec::new();
    for name in parts {
        match Modifier::parse(name) {
            Some(m) => mods.push(m),
            None => {
                return Err(Problem::new(
                    Some(key.pos),
                    format!("unknown modifier '{name}' in '{key_text}'"),
                ));
            }
        }
    }
    let values: Vec<(Scalar, Pos)> = match &value.kind {
        NodeKind::Scalar(s) => vec![(s.clone(), value.pos)],
        NodeKind::Seq(items) => {
            let mut out = Vec::new();
            for i in items {
                match &i.kind {
                    NodeKind::Scalar(s) => out.push((s.clone(), i.pos)),
                    _ => {
                        return Err(Problem::new(
                            Some(i.pos),
                            format!(
                                "values of '{key_text}' must be scalars, not a {}",
                                i.type_name()
                            ),
                        ));
                    }
                }
            }
            if out.is_empty() {
                // An empty list is treated as null (pySigma).
                out.push((Scalar::Null, value.pos));
            }
            out
        }
        NodeKind::Map(_) => {
            return Err(Problem::new(
                Some(value.pos),
                format!("value of '{key_text}' must be a scalar or a list, not a mapping"),
            ));
        }
    };
    let keyword = field.is_empty();
    let processed = process(&mods, &values, keyword, placeholders, Some(key.pos))?;
    Ok(Item {
        field: (!keyword).then_some(field),
        values: processed,
    })
}

fn keyword_item(
    values: Vec<(Scalar, Pos)>,
    pos: Pos,
    placeholders: &dyn PlaceholderSource,
) -> PResult<Item> {
    let processed = process(&[], &values, true, placeholders, Some(pos))?;
    Ok(Item {
        field: None,
        values: processed,
    })
}

fn parse_search(node: &Node, placeholders: &dyn PlaceholderSource) -> PResult<Search> {
    match &node.kind {
        NodeKind::Map(entries) => {
            if entries.is_empty() {
                return Err(Problem::new(Some(node.pos), "empty search identifier"));
            }
            let items = entries
                .iter()
                .map(|(k, v)| parse_item(k, v, placeholders).map(Search::Item))
                .collect::<PResult<Vec<_>>>()?;
            Ok(Search::And(items))
        }
        NodeKind::Seq(items) => {
            if items.is_empty() {
                return Err(Problem::new(Some(node.pos), "empty search identifier"));
            }
            let mut alts = Vec::new();
            let mut keywords = Vec::new();
            for i in items {
                match &i.kind {
                    NodeKind::Scalar(s) => keywords.push((s.clone(), i.pos)),
                    NodeKind::Map(_) => alts.push(parse_search(i, placeholders)?),
                    NodeKind::Seq(_) => {
                        return Err(Problem::new(
                            Some(i.pos),
                            "a search identifier list cannot contain a nested list",
                        ));
                    }
                }
            }
            if !keywords.is_empty() {
                if keywords.iter().any(|(s, _)| *s == Scalar::Null) {
                    return Err(Problem::new(Some(node.pos), "a keyword cannot be null"));
                }
                alts.push(Search::Item(keyword_item(
                    keywords,
                    node.pos,
                    placeholders,
                )?));
            }
            Ok(if alts.len() == 1 {
                alts.pop().unwrap_or(Search::Or(Vec::new()))
            } else {
                Search::Or(alts)
            })
        }
        NodeKind::Scalar(Scalar::Null) => {
            Err(Problem::new(Some(node.pos), "empty search identifier"))
        }
        NodeKind::Scalar(s) => Ok(Search::Item(keyword_item(
            vec![(s.clone(), node.pos)],
            node.pos,
            placeholders,
        )?)),
    }
}

/// Collects the identifiers a condition refers to, to check them.
fn check_condition(cond: &Condition, names: &[String], pos: Pos) -> PResult<()> {
    match cond {
        Condition::And(c) | Condition::Or(c) => {
            c.iter().try_for_each(|c| check_condition(c, names, pos))
        }
        Condition::Not(c) => check_condition(c, names, pos),
        Condition::Ident(id) => {
            if names.iter().any(|n| n == id) {
                Ok(())
            } else {
                Err(Problem::new(
                    Some(pos),
                    format!("condition refers to '{id}', which is not a search identifier"),
                ))
            }
        }
        Condition::OneOf(p) | Condition::AllOf(p) => {
            if names.iter().any(|n| p.covers(n)) {
                Ok(())
            } else {
                Err(Problem::new(
                    Some(pos),
                    format!(
                        "'of {}' matches no search identifier",
                        match p {
                            crate::condition::Pattern::Them => "them".to_string(),
                            crate::condition::Pattern::Glob(g) => g.clone(),
                        }
                    ),
                ))
            }
        }
    }
}

/// Parses a detection (or filter) section.
pub(crate) fn parse_detection(
    node: &Node,
    placeholders: &dyn PlaceholderSource,
    extra_keys: &[&str],
) -> PResult<Detection> {
    let Some(entries) = node.as_map() else {
        return Err(Problem::new(
            Some(node.pos),
            "'detection' must be a mapping",
        ));
    };
    let mut searches = Vec::new();
    let mut cond_node = None;
    for (k, v) in entries {
        let key = k.key_text().unwrap_or_default();
        match key.as_str() {
            "condition" => cond_node = Some(v),
            "timeframe" => {
                return Err(Problem::new(
                    Some(k.pos),
                    "'timeframe' was removed in Sigma 2.0; write a correlation rule instead",
                ));
            }
            k2 if extra_keys.contains(&k2) => {}
            _ => searches.push((key, parse_search(v, placeholders)?)),
        }
    }
    let Some(cond_node) = cond_node else {
        return Err(Problem::new(Some(node.pos), "missing 'condition'"));
    };
    let texts: Vec<(String, Pos)> = match &cond_node.kind {
        NodeKind::Scalar(Scalar::Str(s)) => vec![(s.clone(), cond_node.pos)],
        NodeKind::Seq(items) if !items.is_empty() => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(|s| (s.to_string(), i.pos))
                    .ok_or_else(|| Problem::new(Some(i.pos), "a condition must be a string"))
            })
            .collect::<PResult<_>>()?,
        _ => {
            return Err(Problem::new(
                Some(cond_node.pos),
                "'condition' must be a string or a list of strings",
            ));
        }
    };
    let names: Vec<String> = searches.iter().map(|(n, _)| n.clone()).collect();
    let mut conditions = Vec::new();
    for (text, pos) in texts {
        let cond = parse_condition(&text)
            .map_err(|e| Problem::new(Some(pos), format!("condition '{text}': {e}")))?;
        check_condition(&cond, &names, pos)?;
        conditions.push(cond);
    }
    Ok(Detection {
        searches,
        conditions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attack_ids_from_tags() {
        let meta = RuleMeta {
            tags: vec![
                "attack.execution".into(),
                "attack.t1059.001".into(),
                "attack.t1003".into(),
                "cve.2021-1234".into(),
            ],
            ..Default::default()
        };
        assert_eq!(meta.attack_techniques(), vec!["T1059.001", "T1003"]);
    }

    #[test]
    fn logsource_cover() {
        let filter = LogSource {
            product: Some("windows".into()),
            ..Default::default()
        };
        let rule = LogSource {
            product: Some("windows".into()),
            category: Some("process_creation".into()),
            service: None,
        };
        assert!(filter.covers(&rule));
        assert!(!rule.covers(&filter));
    }
}
