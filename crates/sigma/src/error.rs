//! Errors that name the file, the line and the reason.
//!
//! An analyst loading thousands of rules needs to know exactly which rule
//! was refused and why, so every error carries its origin. The [`Display`]
//! form is `file:line: rule 'title': reason`, like a compiler diagnostic.
//!
//! [`Display`]: std::fmt::Display

use std::fmt;

use crate::yaml::Pos;

/// Why a rule (or filter, or correlation) could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RuleError {
    /// The file (or other origin) the rule came from.
    pub origin: String,
    /// The 1-based line, when known.
    pub line: Option<usize>,
    /// The rule's title, when it got that far.
    pub title: Option<String>,
    /// What is wrong, in words.
    pub reason: String,
}

impl RuleError {
    /// An error at a position in a rule file.
    pub fn at(origin: &str, pos: Option<Pos>, reason: impl Into<String>) -> Self {
        RuleError {
            origin: origin.to_string(),
            line: pos.map(|p| p.line),
            title: None,
            reason: reason.into(),
        }
    }

    /// Adds the rule title if none was set.
    pub fn with_title(mut self, title: Option<&str>) -> Self {
        if self.title.is_none() {
            self.title = title.map(str::to_string);
        }
        self
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(title) = &self.title {
            write!(f, ": rule '{title}'")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// A problem found inside a rule, before the origin is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub pos: Option<Pos>,
    pub reason: String,
}

impl Problem {
    pub fn new(pos: Option<Pos>, reason: impl Into<String>) -> Self {
        Problem {
            pos,
            reason: reason.into(),
        }
    }
}

pub(crate) type PResult<T> = Result<T, Problem>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_line_title_reason() {
        let e = RuleError::at(
            "rules/x.yml",
            Some(Pos { line: 7, col: 3 }),
            "unknown modifier 'foo'",
        )
        .with_title(Some("Evil"));
        assert_eq!(
            e.to_string(),
            "rules/x.yml:7: rule 'Evil': unknown modifier 'foo'"
        );
    }
}
