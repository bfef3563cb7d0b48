//! The analysts' web console: server-rendered HTML over the case store.
//!
//! # Why server-rendered, with the report's own renderers
//!
//! An investigation host is often air-gapped and audited; a console that needs a Node build, a
//! CDN or a single-page framework is one more thing to vet. Pages are rendered in Rust, the
//! style sheets and a few lines of script are compiled into the binary and served from
//! `/static/`, and the charts (timeline, attribution, entity graph, ATT&CK heat map, incidents,
//! containment) are the HTML report's section renderers ([`tiaki_report::html`]), so the console
//! and the report a minister's office receives show the same picture.
//!
//! # Security
//!
//! * Every page but `/login` needs a credential; without one a `GET` is redirected (302) to
//!   `/login?next=…`. Logging in checks a user name and an API token, then sets the session
//!   cookie `tiaki_session` (`HttpOnly`, `SameSite=Strict`, `Path=/`, `Secure` when
//!   configured).
//! * Every response (added around the whole server by [`crate::security_headers`], so errors,
//!   redirects and static files too) carries a Content-Security-Policy of `default-src 'self'` (scripts and
//!   style sheets only from `/static/`; no inline script, no `<style>` element, no framing).
//!   `style-src-attr 'unsafe-inline'` allows `style="…"` attributes only: the report renderers
//!   set computed colours and widths (heat-map cells, bars) that way, from fixed palettes and
//!   numbers, never from data.
//! * Every state-changing form (`POST`) carries the session's CSRF token ([`csrf`]) and is
//!   refused (403) without it; verdicts and notes also need the `write` role (403), and read
//!   users are not shown the buttons.
//! * Every interpolated string is HTML-escaped ([`page::esc`]); URLs are percent-encoded.
//!
//! # Element ids (stable, used by the tests and the browser check)
//!
//! * `/login`: `form#login`, `input#user`, `input#token`, `button#login-submit`,
//!   `p#login-error`.
//! * every page: `nav#case-nav`, `span#who-am-i`, `button#logout`, `div.tlp.tlp-<level>`.
//! * `/`: `table#cases`, one `tr.case[data-case]` per case, `span.tlpbadge`.
//! * `/cases/{name}`: `div#judgements` with `#what`, `#who`, `#todo`; `table#incident-summary`,
//!   `table#evidence`, `table#custody-log`, `table#runs`, `ul#note-list`, `form#note-form`.
//! * `…/timeline`: `form#filters`, `p#timeline-count`, `table#timeline` (one
//!   `tr.det[data-key]` per detection, `form.vform` with `button.tp` / `button.fp` for writers),
//!   `nav#paging`, `p#filter-error`, and the report's chart as `section#timeline-chart`.
//! * `…/incidents`: the report's `section#incidents`; `…/graph`: `section#graph` (SVG);
//!   `…/attack`: `div#heatmap` around the report's `section#matrix` (`.mx .cell` per technique);
//!   `…/attribution`: the report's `section#attribution` and `section#assessments`;
//!   `…/containment`: the report's `section#containment`.
//!
//! # Files
//!
//! * `mod.rs` (this file): the routes, the security headers, static files, and what every page
//!   shares (the session, errors, loading a case, the write-form check).
//! * `login.rs`: the log-in page, logging in and out.
//! * `cases.rs`: the case list, a case's overview page and its notes form.
//! * `timeline.rs`: the timeline page with its filters, and the verdict form.
//! * `sections.rs`: the pages that show one of the report's sections, and the attribution page.
//! * [`page`]: the page frame and escaping; [`csrf`]: the forms' CSRF tokens.

pub mod csrf;
pub mod page;

mod cases;
mod login;
mod sections;
mod timeline;

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tiaki_report::Investigation;
use tiaki_store::auth::{Principal, Role};

use crate::SharedState;
use crate::api::data::{self, DataError, text};
use crate::auth::session_cookie;
use page::{CaseNav, Viewer, esc, frame, pct, severity_class, tlp_class};
use sections::{SECTIONS, section_page};

/// The console's style sheet (served at `/static/console.css`).
pub const CONSOLE_CSS: &str = include_str!("../../assets/console.css");
/// The console's script (served at `/static/console.js`).
pub const CONSOLE_JS: &str = include_str!("../../assets/console.js");

/// The Content-Security-Policy of every console response.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The console's icon (served at `/static/favicon.svg` and `/favicon.ico`).
const FAVICON: &str = include_str!("../../assets/favicon.svg");

/// The console's routes (pages, forms, log-in, static files).
pub fn routes() -> Router<SharedState> {
    let mut router = Router::new();
    for (suffix, sec) in SECTIONS {
        router = router.route(
            &format!("/cases/{{name}}/{suffix}"),
            get(
                move |State(st): State<SharedState>,
                      headers: HeaderMap,
                      uri: Uri,
                      Path(name): Path<String>| {
                    section_page(st, headers, uri, name, sec)
                },
            ),
        );
    }
    router
        .route("/login", get(login::login_form).post(login::login))
        .route("/logout", post(login::logout))
        .route("/", get(cases::index))
        .route("/cases/{name}", get(cases::overview))
        .route("/cases/{name}/timeline", get(timeline::timeline))
        .route("/cases/{name}/attribution", get(sections::attribution))
        .route("/cases/{name}/notes", post(cases::add_note))
        .route(
            "/cases/{name}/detections/{key}/verdict",
            post(timeline::verdict),
        )
        .route(
            "/static/console.css",
            get(|| file("text/css; charset=utf-8", CONSOLE_CSS)),
        )
        .route(
            "/static/report.css",
            get(|| file("text/css; charset=utf-8", tiaki_report::html::CSS)),
        )
        .route(
            "/static/console.js",
            get(|| file("text/javascript; charset=utf-8", CONSOLE_JS)),
        )
        // Browsers ask for /favicon.ico whatever the page says; the same icon answers both.
        .route(
            "/static/favicon.svg",
            get(|| file("image/svg+xml", FAVICON)),
        )
        .route("/favicon.ico", get(|| file("image/svg+xml", FAVICON)))
}

/// Every console route as `(method, path)`, with `{param}` templates: what the tests walk.
pub fn route_list() -> Vec<(&'static str, String)> {
    let mut v: Vec<(&'static str, String)> = vec![
        ("GET", "/login".into()),
        ("POST", "/login".into()),
        ("POST", "/logout".into()),
        ("GET", "/".into()),
        ("GET", "/cases/{name}".into()),
        ("GET", "/cases/{name}/timeline".into()),
        ("GET", "/cases/{name}/attribution".into()),
        ("POST", "/cases/{name}/notes".into()),
        ("POST", "/cases/{name}/detections/{key}/verdict".into()),
    ];
    v.extend(
        SECTIONS
            .iter()
            .map(|(suffix, _)| ("GET", format!("/cases/{{name}}/{suffix}"))),
    );
    v.extend(
        [
            "/static/console.css",
            "/static/report.css",
            "/static/console.js",
            "/static/favicon.svg",
            "/favicon.ico",
        ]
        .map(|p| ("GET", p.to_owned())),
    );
    v
}

/// A console error page without a session (404 of unknown paths, 429 of the rate limits).
pub fn plain_error(st: &SharedState, status: StatusCode, message: &str) -> Response {
    error_page(st, None, status, message)
}

/// The 413 page when a form was refused for its size; `None` for other rejections (the
/// handlers treat those as an empty form).
fn too_large(st: &SharedState, rejection: &FormRejection) -> Option<Response> {
    (rejection.status() == StatusCode::PAYLOAD_TOO_LARGE).then(|| {
        error_page(
            st,
            None,
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!(
                "The form is larger than this server accepts ({} bytes).",
                st.config.max_body
            ),
        )
    })
}

async fn file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------
// Sessions

/// The logged-in user of a console request, with the session's CSRF token.
struct Session {
    who: Principal,
    /// Present when the request carries the session cookie (forms need it).
    csrf: Option<String>,
}

impl Session {
    fn viewer(&self) -> Viewer<'_> {
        Viewer {
            user: &self.who.user,
            role: self.who.role.as_str(),
            csrf: self.csrf.as_deref(),
        }
    }

    /// Whether to show write forms: the role allows it and there is a token to put in them.
    fn can_write(&self) -> bool {
        self.who.has(Role::Write) && self.csrf.is_some()
    }
}

fn redirect(status: StatusCode, to: &str) -> Response {
    let mut r = status.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(LOCATION, v);
    }
    r
}

/// The user, or a redirect to the log-in page that comes back to `uri`.
async fn session(st: &SharedState, headers: &HeaderMap, uri: &Uri) -> Result<Session, Response> {
    match crate::auth::principal(st, headers).await {
        Some(who) if who.partner => Err(error_page(
            st,
            None,
            StatusCode::FORBIDDEN,
            "This is a partner account: it reads and writes TAXII collections only, not the console.",
        )),
        Some(who) => Ok(Session {
            who,
            csrf: session_cookie(headers).map(|c| csrf::token(&c)),
        }),
        None => {
            let back = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
            Err(redirect(
                StatusCode::FOUND,
                &format!("/login?next={}", pct(back)),
            ))
        }
    }
}

fn html_page(status: StatusCode, body: String) -> Response {
    (status, Html(body)).into_response()
}

fn error_page(
    st: &SharedState,
    s: Option<&Session>,
    status: StatusCode,
    message: &str,
) -> Response {
    let body = format!(
        "<section class=\"error-page\"><h1>{} {}</h1><p class=\"error\" id=\"error\">{}</p><p><a href=\"/\">All cases</a></p></section>",
        status.as_u16(),
        esc(status.canonical_reason().unwrap_or("")),
        esc(message)
    );
    let viewer = s.map(Session::viewer);
    html_page(
        status,
        frame(&st.config.title, "Error", viewer.as_ref(), None, &body),
    )
}

fn data_error(st: &SharedState, s: &Session, e: DataError) -> Response {
    match e {
        DataError::NotFound(m) => error_page(st, Some(s), StatusCode::NOT_FOUND, &m),
        DataError::Invalid(m) => error_page(st, Some(s), StatusCode::BAD_REQUEST, &m),
        DataError::Store(e) => {
            eprintln!("tiaki serve: console: {e}");
            error_page(
                st,
                Some(s),
                StatusCode::INTERNAL_SERVER_ERROR,
                "The case store failed; the server log has the details.",
            )
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Shared by the case pages

fn tlp_badge(tlp: &str) -> String {
    if tlp.trim().is_empty() {
        return String::new();
    }
    format!(
        "<span class=\"tlpbadge {}\">{}</span>",
        tlp_class(tlp),
        esc(tlp.trim())
    )
}

fn sev_badge(s: &str) -> String {
    if s.trim().is_empty() {
        return "—".into();
    }
    format!(
        "<span class=\"badge {}\">{}</span>",
        severity_class(s),
        esc(s.trim())
    )
}

/// A case page's common data: the case (JSON) and its analysis.
struct CaseData {
    name: String,
    case: Value,
    analysis: Option<Investigation>,
}

impl CaseData {
    fn tlp(&self) -> String {
        text(&self.case, &["tlp"]).unwrap_or_default()
    }
    fn title(&self) -> String {
        text(&self.case, &["title"]).unwrap_or_else(|| self.name.clone())
    }
    fn nav<'a>(&'a self, tlp: &'a str, current: &'a str) -> CaseNav<'a> {
        CaseNav {
            name: &self.name,
            tlp,
            current,
        }
    }
}

async fn load_case(st: &SharedState, s: &Session, name: String) -> Result<CaseData, Response> {
    let n = name.clone();
    let r = st
        .pool
        .run(
            move |store| -> data::DataResult<(Value, Option<Investigation>)> {
                let case = store
                    .case(&n)
                    .map_err(DataError::from)?
                    .ok_or_else(|| DataError::NotFound(format!("no case named '{n}'")))?;
                let case = serde_json::to_value(case)
                    .map_err(|e| DataError::Store(tiaki_store::StoreError::Json(e)))?;
                Ok((case, data::analysis(store, &n)?))
            },
        )
        .await;
    match r {
        Ok((case, analysis)) => Ok(CaseData {
            name,
            case,
            analysis,
        }),
        Err(e) => Err(data_error(st, s, e)),
    }
}

/// Shown in place of a report section when the case has no saved analysis yet.
const NO_ANALYSIS: &str = "<p class=\"note\" id=\"no-analysis\">No analysis has been saved for this case yet: hunt into it (<code>tiaki hunt … --case NAME</code>) to build incidents, an attribution and a containment plan.</p>\n";

// ---------------------------------------------------------------------------------------------
// Forms that change the case

/// A console `POST`: the session user, after the CSRF check and the role check.
async fn form_writer(
    st: &SharedState,
    headers: &HeaderMap,
    uri: &Uri,
    sent_csrf: &str,
) -> Result<Session, Response> {
    let s = session(st, headers, uri).await?;
    let Some(cookie) = session_cookie(headers) else {
        return Err(error_page(
            st,
            Some(&s),
            StatusCode::FORBIDDEN,
            "Console forms need a console session (log in).",
        ));
    };
    if !csrf::check(&cookie, sent_csrf) {
        return Err(error_page(
            st,
            Some(&s),
            StatusCode::FORBIDDEN,
            "The form's CSRF token is missing or wrong: reload the page and try again.",
        ));
    }
    if !s.who.has(Role::Write) {
        return Err(error_page(
            st,
            Some(&s),
            StatusCode::FORBIDDEN,
            &format!(
                "User '{}' has the {} role; recording verdicts and notes needs write.",
                s.who.user,
                s.who.role.as_str()
            ),
        ));
    }
    Ok(s)
}
