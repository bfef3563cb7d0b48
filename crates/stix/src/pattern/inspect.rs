//! What a pattern is made of: its qualifiers, its observation operators, and its
//! comparisons grouped by object type (the OASIS pattern inspector's three views); and
//! the "simple pattern" classification an indexer uses.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::ast::*;

/// A summary of a pattern, as the OASIS pattern inspector reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inspection {
    /// Every qualifier, as written canonically (`WITHIN 5 SECONDS`, `REPEATS 2 TIMES`,
    /// `START t'…' STOP t'…'`).
    pub qualifiers: BTreeSet<String>,
    /// The observation operators used: `AND`, `OR`, `FOLLOWEDBY`.
    pub observation_ops: BTreeSet<String>,
    /// Comparisons by object type, in pattern order: (path, operator with its `NOT`,
    /// right-hand side as written).
    pub comparisons: BTreeMap<String, Vec<(Vec<PathStep>, String, String)>>,
}

impl Inspection {
    /// The comparisons as JSON: `{"file": [[["hashes","MD5"], "=", "'…'"]]}`, with list
    /// indexes as numbers and `"*"` for any index.
    pub fn comparisons_json(&self) -> Value {
        let mut map = serde_json::Map::new();
        for (ty, items) in &self.comparisons {
            let list: Vec<Value> = items
                .iter()
                .map(|(path, op, value)| {
                    let path: Vec<Value> = path
                        .iter()
                        .map(|s| match s {
                            PathStep::Key(k) => json!(k),
                            PathStep::Index(i) => json!(i),
                            PathStep::AnyIndex => json!("*"),
                        })
                        .collect();
                    json!([path, op, value])
                })
                .collect();
            map.insert(ty.clone(), Value::Array(list));
        }
        Value::Object(map)
    }
}

pub(crate) fn inspect(root: &ObservationExpr) -> Inspection {
    let mut out = Inspection::default();
    walk(root, &mut out);
    out
}

fn walk(e: &ObservationExpr, out: &mut Inspection) {
    match e {
        ObservationExpr::Bracket(c) => walk_cmp(c, out),
        ObservationExpr::And(items)
        | ObservationExpr::Or(items)
        | ObservationExpr::FollowedBy(items) => {
            let op = match e {
                ObservationExpr::And(_) => "AND",
                ObservationExpr::Or(_) => "OR",
                _ => "FOLLOWEDBY",
            };
            out.observation_ops.insert(op.to_string());
            for i in items {
                walk(i, out);
            }
        }
        ObservationExpr::Qualified(inner, q) => {
            out.qualifiers.insert(q.to_string());
            walk(inner, out);
        }
    }
}

fn walk_cmp(e: &ComparisonExpr, out: &mut Inspection) {
    match e {
        ComparisonExpr::And(items) | ComparisonExpr::Or(items) => {
            for i in items {
                walk_cmp(i, out);
            }
        }
        ComparisonExpr::Test(c) => out
            .comparisons
            .entry(c.object_type.clone())
            .or_default()
            .push((c.path.clone(), c.op_string(), c.value_string())),
    }
}

/// One comparison of a simple pattern (see [`super::Pattern::simple_comparisons`]).
pub type SimpleComparison = Comparison;

/// Most AND-groups a simple pattern may expand to.
const MAX_GROUPS: usize = 256;

/// The disjunctive normal form of a comparison expression, if it has at most
/// [`MAX_GROUPS`] groups.
pub(crate) fn dnf(e: &ComparisonExpr) -> Option<Vec<Vec<SimpleComparison>>> {
    match e {
        ComparisonExpr::Test(c) => Some(vec![vec![c.clone()]]),
        ComparisonExpr::Or(items) => {
            let mut out = Vec::new();
            for i in items {
                out.extend(dnf(i)?);
                if out.len() > MAX_GROUPS {
                    return None;
                }
            }
            Some(out)
        }
        ComparisonExpr::And(items) => {
            let mut acc: Vec<Vec<SimpleComparison>> = vec![Vec::new()];
            for i in items {
                let groups = dnf(i)?;
                if acc.len().saturating_mul(groups.len()) > MAX_GROUPS {
                    return None;
                }
                let mut next = Vec::with_capacity(acc.len() * groups.len());
                for a in &acc {
                    for g in &groups {
                        let mut merged = a.clone();
                        merged.extend(g.iter().cloned());
                        next.push(merged);
                    }
                }
                acc = next;
            }
            Some(acc)
        }
    }
}
