//! Correlation rules (being written).

use crate::error::{PResult, Problem};
use crate::rule::{RuleMeta, parse_meta};
use crate::yaml::Node;

/// A parsed correlation rule.
#[derive(Debug, Clone)]
pub struct CorrelationRule {
    /// Metadata.
    pub meta: RuleMeta,
}

pub(crate) fn parse_correlation(
    root: &Node,
    origin: &str,
    line: usize,
) -> PResult<CorrelationRule> {
    let meta = parse_meta(root, origin, line)?;
    let _ = Problem::new(None, "");
    Ok(CorrelationRule { meta })
}

/// A correlation alert.
#[derive(Debug, Clone)]
pub struct Alert {
    /// Index of the correlation rule.
    pub correlation: usize,
    /// Group-by values.
    pub group: Vec<String>,
}

/// Correlation engine (being written).
#[derive(Debug)]
pub struct CorrelationEngine {
    rules: Vec<CorrelationRule>,
}

impl CorrelationEngine {
    /// Builds the engine.
    pub fn new(set: &crate::RuleSet) -> Result<Self, Vec<crate::RuleError>> {
        Ok(CorrelationEngine {
            rules: set.correlations().to_vec(),
        })
    }
    /// Feeds one event.
    pub fn process(
        &mut self,
        _set: &crate::RuleSet,
        _event: &dyn crate::Event,
        _ts_ms: i64,
        _hits: &[crate::RuleId],
    ) -> Vec<Alert> {
        Vec::new()
    }
    /// A correlation rule.
    pub fn rule(&self, i: usize) -> &CorrelationRule {
        &self.rules[i]
    }
}
