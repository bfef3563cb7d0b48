//! The pattern check of indicators, on top of [`crate::pattern`].
//!
//! An indicator with `pattern_type: stix` MUST carry a pattern that parses, and the object
//! types and property names it names must be well-formed. The grammar is the pattern
//! module's (the full `STIXPattern.g4`); this adapter only reduces a parsed pattern to
//! what the validator's naming rules look at.

use crate::pattern::{PathStep, Pattern};
use crate::validate::SpecVersion;

/// A rejected pattern: the pattern module's message, which says whether it is a syntax
/// or a semantic error and at which byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PatternSyntaxError {
    pub message: String,
}

/// Checks a STIX pattern (the STIX 2.1 grammar, else the STIX 2.0 one, which allows plain
/// strings after START/STOP) and the validator's semantic rules (hash values fitting
/// their algorithm). Returns the `(object type, first property)` of every comparison,
/// e.g. `("file", "hashes")` for `[file:hashes.'SHA-256' = '…']`. A first property that
/// needs quoting (`'has-hyphen'`) is returned with a leading `'` and is not name-checked.
pub(crate) fn check_pattern(p: &str) -> Result<Vec<(String, String)>, PatternSyntaxError> {
    let pattern = match Pattern::validate(p, SpecVersion::V21) {
        Ok(pattern) => pattern,
        Err(e21) => Pattern::validate(p, SpecVersion::V20).map_err(|_| PatternSyntaxError {
            message: e21.to_string(),
        })?,
    };
    Ok(pattern
        .comparisons()
        .into_iter()
        .map(|c| {
            let first = match c.path.first() {
                Some(PathStep::Key(k)) if is_unquoted_name(k) => k.clone(),
                Some(PathStep::Key(k)) => format!("'{k}"),
                _ => String::new(),
            };
            (c.object_type.clone(), first)
        })
        .collect())
}

fn is_unquoted_name(k: &str) -> bool {
    let mut chars = k.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_spec_examples() {
        for p in [
            "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
            "[ipv4-addr:value ISSUBSET '198.51.100.0/24'] AND [domain-name:value = 'x.example']",
            "([a:b = 1] OR [c:d = 'x']) FOLLOWEDBY [e:f[*].g != true] WITHIN 300 SECONDS",
            "[network-traffic:dst_port IN (80, 443)] REPEATS 5 TIMES START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
            "[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0]",
            "[x-a:b NOT LIKE 'a%' AND NOT EXISTS x-a:c]",
            "[a:b = 1] START '2016-06-01T00:00:00Z' STOP '2016-07-01T00:00:00Z'",
        ] {
            assert!(check_pattern(p).is_ok(), "{p}: {:?}", check_pattern(p));
        }
        assert_eq!(
            check_pattern("[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f' AND file:'x-y' = 1]").unwrap(),
            vec![("file".to_string(), "hashes".to_string()), ("file".to_string(), "'x-y".to_string())]
        );
    }

    #[test]
    fn rejects_syntax_errors() {
        for p in [
            "[file:hashes.\"SHA-256\" = 'x']",
            "[file:size = ]",
            "[file:name = 'x'",
            "file:name = 'x'",
            "[file:name = 'x'] AND",
            "[file:name = 'x'] WITHIN SECONDS",
            "[file:hashes.MD5 = 'f00']",
        ] {
            assert!(check_pattern(p).is_err(), "{p}");
        }
    }
}
