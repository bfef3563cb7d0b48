//! CSRF tokens for the console's forms.
//!
//! # Why a hash of the session cookie
//!
//! The session cookie is `HttpOnly` and `SameSite=Strict`, so another site can neither read it
//! nor (in current browsers) make the browser send it. As a second line — older browsers, a
//! sibling site on the same registrable domain — every state-changing form carries a token the
//! attacker cannot compute: SHA-256 of a fixed label and the session cookie. Without the
//! cookie the token cannot be made, and the token (which appears in pages) does not give the
//! cookie back. It needs no server-side state and dies with the session.

use subtle_eq::constant_time_eq;

const LABEL: &str = "tiaki console csrf v1\0";

/// The CSRF token for the session whose cookie is `cookie`.
pub fn token(cookie: &str) -> String {
    tiaki_store::sha256_hex(format!("{LABEL}{cookie}").as_bytes())
}

/// Whether `sent` is the token of `cookie` (compared in constant time).
pub fn check(cookie: &str, sent: &str) -> bool {
    !cookie.is_empty() && constant_time_eq(token(cookie).as_bytes(), sent.trim().as_bytes())
}

mod subtle_eq {
    /// Equality whose running time depends on the lengths only.
    pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_bound_to_the_session() {
        let t = token("tiakis_a_b");
        assert_eq!(t.len(), 64);
        assert!(check("tiakis_a_b", &t));
        assert!(!check("tiakis_a_c", &t));
        assert!(!check("tiakis_a_b", ""));
        assert!(!check("", &token("")));
    }
}
