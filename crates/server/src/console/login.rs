//! Logging in and out of the console.
//!
//! The log-in form trades a user name and an API token for a session cookie; logging out (a
//! CSRF-checked `POST`) ends the session in the store and clears the cookie. Kept apart from the
//! case pages because it is the one part of the console reachable without a session.

use std::fmt::Write;

use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::page::{esc, frame};
use super::{csrf, error_page, html_page, redirect};
use crate::SharedState;
use crate::auth::{SESSION_COOKIE, session_cookie};

/// A local path to return to after logging in, or `/` (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.starts_with("/login")
                && n.bytes().all(|b| (0x21..0x7f).contains(&b)) =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(super) struct NextQuery {
    next: Option<String>,
}

fn login_page(st: &SharedState, next: &str, error: Option<&str>) -> String {
    let mut b = String::new();
    b.push_str("<section class=\"login\"><h1>Log in</h1>\n");
    if let Some(e) = error {
        let _ = writeln!(b, "<p class=\"error\" id=\"login-error\">{}</p>", esc(e));
    }
    let _ = write!(
        b,
        "<form id=\"login\" method=\"post\" action=\"/login\">\
<input type=\"hidden\" name=\"next\" value=\"{}\">\
<label for=\"user\">User name</label><input id=\"user\" name=\"user\" autocomplete=\"username\" required autofocus>\
<label for=\"token\">API token</label><input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required>\
<button type=\"submit\" id=\"login-submit\">Log in</button></form>\
<p class=\"note\">Use the token from <code>tiaki user token NAME</code>. The session lasts {} hours.</p></section>",
        esc(next),
        tiaki_store::auth::SESSION_HOURS
    );
    frame(&st.config.title, "Log in", None, None, &b)
}

pub(super) async fn login_form(
    State(st): State<SharedState>,
    q: Result<Query<NextQuery>, QueryRejection>,
) -> Response {
    let next = safe_next(q.as_ref().ok().and_then(|q| q.next.as_deref()));
    html_page(StatusCode::OK, login_page(&st, &next, None))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(super) struct LoginForm {
    user: String,
    token: String,
    next: Option<String>,
}

pub(super) async fn login(
    State(st): State<SharedState>,
    f: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    if let Err(e) = &f
        && let Some(r) = super::too_large(&st, e)
    {
        return r;
    }
    let Ok(Form(f)) = f else {
        return html_page(
            StatusCode::BAD_REQUEST,
            login_page(&st, "/", Some("The log-in form was malformed.")),
        );
    };
    let next = safe_next(f.next.as_deref());
    let (user, token) = (f.user.trim().to_owned(), f.token.trim().to_owned());
    let client = crate::limit::current_client();
    if let Some(wait) = st
        .limits
        .auth_blocked(client, Some(&user), std::time::Instant::now())
    {
        return crate::limit::too_many(&st, "/login", wait, "too many failed log-ins");
    }
    let name = user.clone();
    let result = st
        .pool
        .run(move |s| -> tiaki_store::Result<Option<Option<String>>> {
            match s.authenticate_basic(&user, &token)? {
                // A partner account is for TAXII only: no console session.
                Some(p) if p.partner => Ok(Some(None)),
                Some(p) => s.create_session(&p.user).map(|c| Some(Some(c))),
                None => Ok(None),
            }
        })
        .await;
    match result {
        Ok(Some(None)) => html_page(
            StatusCode::FORBIDDEN,
            login_page(
                &st,
                &next,
                Some(
                    "This is a partner account: it reads and writes TAXII collections only, \
                     not the console.",
                ),
            ),
        ),
        Ok(Some(Some(cookie))) => {
            let mut r = redirect(StatusCode::SEE_OTHER, &next);
            let value = format!(
                "{SESSION_COOKIE}={cookie}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
                tiaki_store::auth::SESSION_HOURS * 3600,
                if st.config.secure_cookies {
                    "; Secure"
                } else {
                    ""
                }
            );
            if let Ok(v) = HeaderValue::from_str(&value) {
                r.headers_mut().insert(SET_COOKIE, v);
            }
            r
        }
        Ok(None) => {
            crate::auth::failed(&st, Some(&name));
            html_page(
                StatusCode::UNAUTHORIZED,
                login_page(
                    &st,
                    &next,
                    Some("Unknown user, wrong or revoked token, or disabled user."),
                ),
            )
        }
        Err(e) => {
            eprintln!("tiaki serve: login: {e}");
            html_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                login_page(&st, &next, Some("The case store failed; try again.")),
            )
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(super) struct CsrfForm {
    csrf: String,
}

pub(super) async fn logout(
    State(st): State<SharedState>,
    headers: HeaderMap,
    f: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let Some(cookie) = session_cookie(&headers) else {
        return redirect(StatusCode::SEE_OTHER, "/login");
    };
    if let Err(e) = &f
        && let Some(r) = super::too_large(&st, e)
    {
        return r;
    }
    let sent = f.map(|Form(f)| f.csrf).unwrap_or_default();
    if !csrf::check(&cookie, &sent) {
        return error_page(
            &st,
            None,
            StatusCode::FORBIDDEN,
            "The form's CSRF token is missing or wrong.",
        );
    }
    if let Err(e) = st.pool.run(move |s| s.end_session(&cookie)).await {
        eprintln!("tiaki serve: logout: {e}");
    }
    let mut r = redirect(StatusCode::SEE_OTHER, "/login");
    let clear = format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if st.config.secure_cookies {
            "; Secure"
        } else {
            ""
        }
    );
    if let Ok(v) = HeaderValue::from_str(&clear) {
        r.headers_mut().insert(SET_COOKIE, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_always_local() {
        assert_eq!(safe_next(Some("/cases/pdo?x=1")), "/cases/pdo?x=1");
        for bad in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil",
            "/login",
            "/a b",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
