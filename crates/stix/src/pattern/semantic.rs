//! Checks beyond the grammar that a pattern validator applies.
//!
//! The OASIS pattern validator rejects a hash literal that cannot be a value of its
//! algorithm (`file:hashes.'SHA-256' = 'f00'`). That is the one semantic rule its test
//! suite exercises. Repeated qualifiers (`REPEATS 2 TIMES REPEATS 2 TIMES`, `WITHIN 5
//! SECONDS WITHIN 6 SECONDS`) are accepted by the same validator and by the matcher, so
//! they are not flagged here.

use super::ast::*;

/// The expected shape of a hash value for a known algorithm, or None for an unknown one.
fn hash_ok(algorithm: &str, value: &str) -> Option<bool> {
    let norm: String = algorithm
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .collect::<String>()
        .to_ascii_uppercase();
    let hex_len = |lens: &[usize]| {
        lens.contains(&value.len()) && value.bytes().all(|b| b.is_ascii_hexdigit())
    };
    Some(match norm.as_str() {
        "MD5" => hex_len(&[32]),
        "MD6" => hex_len(&[32, 40, 56, 64, 96, 128]),
        "SHA1" | "RIPEMD160" => hex_len(&[40]),
        "SHA224" | "SHA3224" => hex_len(&[56]),
        "SHA256" | "SHA3256" => hex_len(&[64]),
        "SHA384" | "SHA3384" => hex_len(&[96]),
        "SHA512" | "SHA3512" | "WHIRLPOOL" => hex_len(&[128]),
        "TLSH" => {
            let v = value.strip_prefix("T1").unwrap_or(value);
            v.len() == 70 && v.bytes().all(|b| b.is_ascii_hexdigit())
        }
        "SSDEEP" => {
            let parts: Vec<&str> = value.split(':').collect();
            parts.len() == 3
                && !parts[0].is_empty()
                && parts[0].bytes().all(|b| b.is_ascii_digit())
                && parts[1..].iter().all(|p| {
                    p.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+')
                })
        }
        _ => return None,
    })
}

/// A problem found by [`check`]: a message and the comparison it is about.
pub(crate) fn check(root: &ObservationExpr) -> Vec<String> {
    let mut out = Vec::new();
    super::for_each_comparison(root, &mut |c| {
        let Some(alg) = hash_algorithm(&c.path) else {
            return;
        };
        let values: Vec<&Literal> = match &c.value {
            Operand::Literal(l) if matches!(c.op, CmpOp::Eq | CmpOp::Ne) => vec![l],
            Operand::Set(items) => items.iter().collect(),
            _ => Vec::new(),
        };
        for v in values {
            if let Literal::Str(s) = v
                && hash_ok(alg, s) == Some(false)
            {
                out.push(format!(
                    "'{s}' is not a valid {alg} hash (in {})",
                    c.path_string()
                ));
            }
        }
    });
    out
}

/// The algorithm name when the path ends in `hashes.<algorithm>`.
fn hash_algorithm(path: &[PathStep]) -> Option<&str> {
    match path {
        [.., PathStep::Key(h), PathStep::Key(alg)] if h == "hashes" => Some(alg),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_shapes() {
        assert_eq!(hash_ok("SHA-256", "f00"), Some(false));
        assert_eq!(
            hash_ok("MD5", "cead3f77f6cda6ec00f57d76c9a6879f"),
            Some(true)
        );
        assert_eq!(hash_ok("x-custom", "f00"), None);
        assert_eq!(
            hash_ok("SSDEEP", "3:AXGBicFlgVNhBGcL6wCrFQEv:AXGHsNhxLsr2C"),
            Some(true)
        );
    }
}
