//! Validation of the names, texts and hashes a caller gives the case store.

use crate::{Result, StoreError};

pub(super) fn valid_case_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "case name '{name}' is not valid (1-64 of A-Z a-z 0-9 . _ -)"
        )))
    }
}

pub(super) fn valid_text(field: &str, value: &str, max: usize, allow_empty: bool) -> Result<()> {
    if !allow_empty && value.trim().is_empty() {
        return Err(StoreError::Invalid(format!("{field} must not be empty")));
    }
    if value.len() > max {
        return Err(StoreError::Invalid(format!(
            "{field} is {} bytes, more than the {max} allowed",
            value.len()
        )));
    }
    Ok(())
}

pub(super) fn valid_sha256(s: &str) -> Result<String> {
    if s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(StoreError::Invalid(format!(
            "sha256 '{s}' is not 64 hexadecimal digits"
        )))
    }
}
