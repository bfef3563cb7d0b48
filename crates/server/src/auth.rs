//! Who is asking: a bearer token, HTTP Basic with a token as the password, or the console's
//! session cookie. Each tree of the server decides what to answer when nobody is (TAXII: 401
//! with `WWW-Authenticate` and a TAXII error body; API: 401 JSON; console: a redirect to the
//! login page).

use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE};
use base64::Engine as _;
use tiaki_store::auth::Principal;

use crate::SharedState;

/// The name of the console's session cookie.
pub const SESSION_COOKIE: &str = "tiaki_session";

/// The credential a request carries, not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// `Authorization: Basic base64(user:token)`.
    Basic(String, String),
    /// The session cookie.
    Session(String),
}

/// Reads the credential from the headers (the `Authorization` header wins over the cookie).
pub fn credential(headers: &HeaderMap) -> Option<Credential> {
    if let Some(v) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if let Some(t) = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
        {
            return Some(Credential::Bearer(t.trim().to_owned()));
        }
        if let Some(b) = v
            .strip_prefix("Basic ")
            .or_else(|| v.strip_prefix("basic "))
        {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()?;
            let text = String::from_utf8(raw).ok()?;
            let (u, p) = text.split_once(':')?;
            return Some(Credential::Basic(u.to_owned(), p.to_owned()));
        }
        return None;
    }
    session_cookie(headers).map(Credential::Session)
}

/// The session cookie's value, if present.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    for v in headers.get_all(COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for part in s.split(';') {
            if let Some((k, val)) = part.trim().split_once('=')
                && k == SESSION_COOKIE
            {
                return Some(val.to_owned());
            }
        }
    }
    None
}

/// The authenticated user, or `None` when the request carries no valid credential. Store
/// errors count as "not authenticated" and are logged (never the credential): failing
/// closed. A credential that is present but wrong (or an `Authorization` header that cannot
/// be read) counts as a failed authentication of the client, and of the user name for HTTP
/// Basic ([`crate::limit`]).
pub async fn principal(state: &SharedState, headers: &HeaderMap) -> Option<Principal> {
    let Some(cred) = credential(headers) else {
        if headers.contains_key(AUTHORIZATION) {
            failed(state, None);
        }
        return None;
    };
    let user = match &cred {
        Credential::Basic(u, _) => Some(u.clone()),
        _ => None,
    };
    let result = state
        .pool
        .run(move |s| match cred {
            Credential::Bearer(t) => s.authenticate_token(&t),
            Credential::Basic(u, p) => s.authenticate_basic(&u, &p),
            Credential::Session(c) => s.authenticate_session(&c),
        })
        .await;
    match result {
        Ok(Some(p)) => Some(p),
        Ok(None) => {
            failed(state, user.as_deref());
            None
        }
        Err(e) => {
            eprintln!("tiaki serve: authentication: {e}");
            None
        }
    }
}

/// Counts a failed authentication of the current client (and `user`).
pub fn failed(state: &SharedState, user: Option<&str>) {
    state.limits.auth_failed(
        crate::limit::current_client(),
        user,
        std::time::Instant::now(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn reads_each_kind_of_credential() {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer tiaki_a_b"));
        assert_eq!(credential(&h), Some(Credential::Bearer("tiaki_a_b".into())));
        let mut h = HeaderMap::new();
        // "ana:tiaki_a_b"
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_static("Basic YW5hOnRpYWtpX2FfYg=="),
        );
        assert_eq!(
            credential(&h),
            Some(Credential::Basic("ana".into(), "tiaki_a_b".into()))
        );
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            HeaderValue::from_static("x=1; tiaki_session=tiakis_q_r"),
        );
        assert_eq!(
            credential(&h),
            Some(Credential::Session("tiakis_q_r".into()))
        );
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        assert_eq!(credential(&h), None);
    }
}
