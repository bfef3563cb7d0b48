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
//! * Every response carries a Content-Security-Policy of `default-src 'self'` (scripts and
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

pub mod csrf;
pub mod page;

use std::fmt::Write;

use axum::Form;
use axum::Router;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, REFERRER_POLICY, SET_COOKIE,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::Value;
use tiaki_report::Investigation;
use tiaki_store::auth::{Principal, Role};

use crate::SharedState;
use crate::api::data::{self, DataError, Filter, text};
use crate::auth::{SESSION_COOKIE, session_cookie};
use page::{CaseNav, Viewer, esc, frame, pct, severity_class, tlp_class};

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
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/", get(index))
        .route("/cases/{name}", get(overview))
        .route("/cases/{name}/timeline", get(timeline))
        .route("/cases/{name}/attribution", get(attribution))
        .route("/cases/{name}/notes", post(add_note))
        .route("/cases/{name}/detections/{key}/verdict", post(verdict))
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
        .layer(axum::middleware::map_response(security_headers))
}

async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if !h.contains_key(CACHE_CONTROL) {
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    r
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
// Log in and out

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct NextQuery {
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

async fn login_form(
    State(st): State<SharedState>,
    q: Result<Query<NextQuery>, QueryRejection>,
) -> Response {
    let next = safe_next(q.as_ref().ok().and_then(|q| q.next.as_deref()));
    html_page(StatusCode::OK, login_page(&st, &next, None))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct LoginForm {
    user: String,
    token: String,
    next: Option<String>,
}

async fn login(
    State(st): State<SharedState>,
    f: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let Ok(Form(f)) = f else {
        return html_page(
            StatusCode::BAD_REQUEST,
            login_page(&st, "/", Some("The log-in form was malformed.")),
        );
    };
    let next = safe_next(f.next.as_deref());
    let (user, token) = (f.user.trim().to_owned(), f.token.trim().to_owned());
    let result = st
        .pool
        .run(move |s| -> tiaki_store::Result<Option<String>> {
            match s.authenticate_basic(&user, &token)? {
                Some(p) => s.create_session(&p.user).map(Some),
                None => Ok(None),
            }
        })
        .await;
    match result {
        Ok(Some(cookie)) => {
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
        Ok(None) => html_page(
            StatusCode::UNAUTHORIZED,
            login_page(
                &st,
                &next,
                Some("Unknown user, wrong or revoked token, or disabled user."),
            ),
        ),
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
struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(st): State<SharedState>,
    headers: HeaderMap,
    f: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let Some(cookie) = session_cookie(&headers) else {
        return redirect(StatusCode::SEE_OTHER, "/login");
    };
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

// ---------------------------------------------------------------------------------------------
// Pages

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

fn count(v: &Value, names: &[&str]) -> String {
    text(v, names).unwrap_or_else(|| "0".into())
}

async fn index(State(st): State<SharedState>, headers: HeaderMap, uri: Uri) -> Response {
    let s = match session(&st, &headers, &uri).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let cases = match st.pool.run(|store| data::cases(store)).await {
        Ok(c) => c,
        Err(e) => return data_error(&st, &s, e),
    };
    let mut b = String::from("<header class=\"top\"><h1>Cases</h1></header>\n");
    if cases.is_empty() {
        b.push_str("<p class=\"note\" id=\"no-cases\">No cases yet: <code>tiaki hunt … --case NAME</code> creates one.</p>\n");
    }
    b.push_str("<table id=\"cases\"><thead><tr><th>Case</th><th>Title</th><th>TLP</th><th class=\"n\">Evidence</th><th class=\"n\">Detections</th><th class=\"n\">Incidents</th><th>Severity</th><th>Attribution</th><th>Updated</th></tr></thead><tbody>\n");
    for c in &cases {
        let case = c.get("case").unwrap_or(&Value::Null);
        let name = text(case, &["name"]).unwrap_or_default();
        let _ = writeln!(
            b,
            "<tr class=\"case\" data-case=\"{}\"><td><a href=\"/cases/{}\">{}</a></td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td class=\"t\">{}</td></tr>",
            esc(&name),
            esc(&pct(&name)),
            esc(&name),
            esc(&text(case, &["title"]).unwrap_or_default()),
            tlp_badge(&text(case, &["tlp"]).unwrap_or_default()),
            count(c, &["evidence"]),
            count(c, &["detections"]),
            count(c, &["incidents"]),
            sev_badge(&text(c, &["max_severity"]).unwrap_or_default()),
            esc(&attribution_text(c)),
            esc(&text(c, &["last_run"])
                .or_else(|| text(case, &["updated"]))
                .unwrap_or_default()),
        );
    }
    b.push_str("</tbody></table>\n");
    html_page(
        StatusCode::OK,
        frame(&st.config.title, "Cases", Some(&s.viewer()), None, &b),
    )
}

/// The attribution shown in a case summary (a string, or an object with a name and a
/// probability).
fn attribution_text(c: &Value) -> String {
    let a = c.get("top_attribution").filter(|v| !v.is_null());
    match a {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => {
            let name = text(v, &["name", "group", "id"]).unwrap_or_default();
            let id = text(v, &["id"]).filter(|i| *i != name);
            let p = v
                .get("probability")
                .or_else(|| v.get("confidence"))
                .and_then(Value::as_f64)
                .map(|p| format!(" · {}", tiaki_report::investigation::percent(p)));
            format!(
                "{name}{}{}",
                id.map(|i| format!(" ({i})")).unwrap_or_default(),
                p.unwrap_or_default()
            )
        }
    }
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

/// One of the report's sections as a console page.
#[derive(Clone, Copy)]
struct Section {
    /// The navigation key.
    current: &'static str,
    /// The page heading (HTML).
    title: &'static str,
    /// The report renderer.
    render: fn(&mut String, &Investigation),
    /// An id for a `div` around the section, if the console names it differently.
    wrap_id: Option<&'static str>,
}

/// A page that shows one of the report's sections for the case.
async fn section_page(
    st: SharedState,
    headers: HeaderMap,
    uri: Uri,
    name: String,
    sec: Section,
) -> Response {
    let s = match session(&st, &headers, &uri).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let c = match load_case(&st, &s, name).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<header class=\"top\"><div class=\"org\">{}</div><h1>{}</h1></header>",
        esc(&c.title()),
        sec.title
    );
    match &c.analysis {
        Some(inv) => {
            if let Some(id) = sec.wrap_id {
                let _ = writeln!(b, "<div id=\"{id}\">");
            }
            (sec.render)(&mut b, inv);
            if sec.wrap_id.is_some() {
                b.push_str("</div>\n");
            }
        }
        None => b.push_str(NO_ANALYSIS),
    }
    let tlp = c.tlp();
    html_page(
        StatusCode::OK,
        frame(
            &st.config.title,
            &format!("{} · {}", c.name, strip_tags(sec.title)),
            Some(&s.viewer()),
            Some(&c.nav(&tlp, sec.current)),
            &b,
        ),
    )
}

const NO_ANALYSIS: &str = "<p class=\"note\" id=\"no-analysis\">No analysis has been saved for this case yet: hunt into it (<code>tiaki hunt … --case NAME</code>) to build incidents, an attribution and a containment plan.</p>\n";

fn strip_tags(s: &str) -> String {
    s.replace("&amp;", "&")
}

/// The report sections the console shows as pages of their own: `(path suffix, section)`.
const SECTIONS: [(&str, Section); 4] = [
    (
        "incidents",
        Section {
            current: "incidents",
            title: "Incidents",
            render: tiaki_report::html::incidents,
            wrap_id: None,
        },
    ),
    (
        "graph",
        Section {
            current: "graph",
            title: "Entity graph",
            render: tiaki_report::html::graph,
            wrap_id: None,
        },
    ),
    (
        "attack",
        Section {
            current: "attack",
            title: "ATT&amp;CK heat map",
            render: tiaki_report::html::matrix,
            wrap_id: Some("heatmap"),
        },
    ),
    (
        "containment",
        Section {
            current: "containment",
            title: "Containment",
            render: tiaki_report::html::containment,
            wrap_id: None,
        },
    ),
];

async fn attribution(
    State(st): State<SharedState>,
    headers: HeaderMap,
    uri: Uri,
    Path(name): Path<String>,
) -> Response {
    let s = match session(&st, &headers, &uri).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let c = match load_case(&st, &s, name.clone()).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let history = match st
        .pool
        .run(move |store| data::assessments(store, &name))
        .await
    {
        Ok(h) => h,
        Err(e) => return data_error(&st, &s, e),
    };
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<header class=\"top\"><div class=\"org\">{}</div><h1>Attribution</h1></header>",
        esc(&c.title())
    );
    match &c.analysis {
        Some(inv) => tiaki_report::html::attribution(&mut b, inv),
        None => b.push_str(NO_ANALYSIS),
    }
    b.push_str("<section id=\"assessments\"><h2>Assessment history</h2>\n");
    let rows = history.as_array().cloned().unwrap_or_default();
    if rows.is_empty() {
        b.push_str("<p class=\"note\">No assessment recorded.</p>\n");
    } else {
        b.push_str("<p class=\"note\">Every attribution run on this case, oldest first: how the judgement moved as evidence arrived.</p>\n");
        b.push_str("<table id=\"assessment-history\"><thead><tr><th>When</th><th>Verdict</th><th>Leading candidate</th><th class=\"n\">Probability</th><th class=\"n\">Unknown actor</th><th>TLP</th></tr></thead><tbody>\n");
        for r in &rows {
            let top = r.get("top").filter(|t| !t.is_null());
            let unknown = r
                .pointer("/assessment/unknown")
                .and_then(Value::as_f64)
                .map(tiaki_report::investigation::percent)
                .unwrap_or_default();
            let _ = writeln!(
                b,
                "<tr><td class=\"t\">{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                esc(&text(r, &["created"]).unwrap_or_default()),
                esc(&text(r, &["verdict"])
                    .unwrap_or_default()
                    .replace(['_', '-'], " ")),
                esc(&top
                    .map(|t| format!(
                        "{} ({})",
                        text(t, &["name"]).unwrap_or_default(),
                        text(t, &["id"]).unwrap_or_default()
                    ))
                    .unwrap_or_else(|| "—".into())),
                top.and_then(|t| t.get("probability"))
                    .and_then(Value::as_f64)
                    .map(tiaki_report::investigation::percent)
                    .unwrap_or_default(),
                unknown,
                tlp_badge(&text(r, &["tlp"]).unwrap_or_default()),
            );
        }
        b.push_str("</tbody></table>\n");
    }
    b.push_str("</section>\n");
    let tlp = c.tlp();
    html_page(
        StatusCode::OK,
        frame(
            &st.config.title,
            &format!("{} · Attribution", c.name),
            Some(&s.viewer()),
            Some(&c.nav(&tlp, "attribution")),
            &b,
        ),
    )
}

/// A generic table of JSON objects: one column per scalar field, in order of first
/// appearance; nested values as compact JSON.
fn json_table(b: &mut String, id: &str, rows: &[Value]) {
    let mut cols: Vec<String> = Vec::new();
    for r in rows {
        if let Some(o) = r.as_object() {
            for k in o.keys() {
                if !cols.contains(k) {
                    cols.push(k.clone());
                }
            }
        }
    }
    let _ = write!(b, "<table id=\"{id}\" class=\"data\"><thead><tr>");
    for c in &cols {
        let _ = write!(b, "<th>{}</th>", esc(&heading(c)));
    }
    b.push_str("</tr></thead><tbody>\n");
    for r in rows {
        b.push_str("<tr>");
        for c in &cols {
            let v = r.get(c).unwrap_or(&Value::Null);
            let cell = match v {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                Value::Number(_) | Value::Bool(_) => v.to_string(),
                other => tiaki_report::text::truncate(&other.to_string(), 300),
            };
            let class = if c.contains("sha256") || c.contains("hash") || c == "path" {
                " class=\"mono\""
            } else {
                ""
            };
            let _ = write!(b, "<td{class}>{}</td>", esc(&cell));
        }
        b.push_str("</tr>\n");
    }
    b.push_str("</tbody></table>\n");
}

/// `added_by` → `Added by`, `sha256` → `SHA-256`.
fn heading(k: &str) -> String {
    if k == "sha256" {
        return "SHA-256".into();
    }
    let s = k.replace('_', " ");
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => s,
    }
}

async fn overview(
    State(st): State<SharedState>,
    headers: HeaderMap,
    uri: Uri,
    Path(name): Path<String>,
) -> Response {
    let s = match session(&st, &headers, &uri).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let c = match load_case(&st, &s, name.clone()).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let n = name.clone();
    let more = st
        .pool
        .run(move |store| Ok::<_, DataError>((data::case(store, &n)?, data::notes(store, &n)?)))
        .await;
    let (detail, notes) = match more {
        Ok(x) => x,
        Err(e) => return data_error(&st, &s, e),
    };
    let mut b = String::new();
    b.push_str("<header class=\"top\">");
    if let Some(org) = text(&c.case, &["organisation", "organization"]) {
        let _ = write!(b, "<div class=\"org\">{}</div>", esc(&org));
    }
    let _ = writeln!(
        b,
        "<h1>{}</h1><div class=\"meta\">Case <span class=\"mono\">{}</span>{}{}</div></header>",
        esc(&c.title()),
        esc(&c.name),
        text(&c.case, &["created", "created_at"])
            .map(|t| format!(" · opened {}", esc(&t)))
            .unwrap_or_default(),
        if c.tlp().is_empty() {
            String::new()
        } else {
            format!(" · {}", tlp_badge(&c.tlp()))
        }
    );
    judgements(&mut b, c.analysis.as_ref(), &c.name);
    // Incidents in brief.
    b.push_str("<section id=\"incidents-brief\"><h2>Incidents</h2>\n");
    match &c.analysis {
        Some(inv) if !inv.incidents.is_empty() => {
            b.push_str("<table id=\"incident-summary\"><thead><tr><th>Incident</th><th>Severity</th><th>Title</th><th>First (UTC)</th><th>Last (UTC)</th><th>Hosts</th><th class=\"n\">Detections</th></tr></thead><tbody>\n");
            for i in &inv.incidents {
                let _ = writeln!(
                    b,
                    "<tr><td><a href=\"/cases/{}/incidents#{}\">{}</a></td><td>{}</td><td>{}</td><td class=\"t\">{}</td><td class=\"t\">{}</td><td class=\"mono\">{}</td><td class=\"n\">{}</td></tr>",
                    esc(&pct(&c.name)),
                    esc(&tiaki_report::text::anchor(&i.id)),
                    esc(&i.id),
                    sev_badge(i.severity.as_str()),
                    esc(&i.title),
                    esc(i.first_seen.as_deref().unwrap_or("—")),
                    esc(i.last_seen.as_deref().unwrap_or("—")),
                    esc(&i.hosts.join(", ")),
                    i.events.len()
                );
            }
            b.push_str("</tbody></table>\n");
        }
        Some(_) => b.push_str("<p class=\"note\">No incidents.</p>\n"),
        None => b.push_str(NO_ANALYSIS),
    }
    b.push_str("</section>\n");
    // Evidence and custody.
    b.push_str("<section id=\"custody\"><h2>Evidence and chain of custody</h2>\n");
    for (key, id, what) in [
        ("evidence", "evidence", "No evidence recorded."),
        ("custody", "custody-log", "No custody events recorded."),
    ] {
        let rows = detail
            .get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if key == "custody" {
            b.push_str("<h3>Custody log</h3>\n");
        }
        if rows.is_empty() {
            let _ = writeln!(b, "<p class=\"note\">{what}</p>");
        } else {
            json_table(&mut b, id, &rows);
        }
    }
    b.push_str("</section>\n<section id=\"hunts\"><h2>Hunts</h2>\n");
    // Each run row is `{id, run: {…}}`: one level flatter for the table.
    let runs: Vec<Value> = detail
        .get("runs")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|r| match r.get("run").and_then(Value::as_object) {
            Some(run) => {
                let mut o = serde_json::Map::new();
                if let Some(id) = r.get("id") {
                    o.insert("id".into(), id.clone());
                }
                o.extend(run.clone());
                Value::Object(o)
            }
            None => r,
        })
        .collect();
    if runs.is_empty() {
        b.push_str("<p class=\"note\">No hunt recorded.</p>\n");
    } else {
        json_table(&mut b, "runs", &runs);
    }
    b.push_str("</section>\n");
    // Notes.
    b.push_str("<section id=\"notes\"><h2>Notes</h2>\n<ul id=\"note-list\" class=\"notes\">\n");
    let notes = notes.as_array().cloned().unwrap_or_default();
    for n in &notes {
        let target = n
            .get("target")
            .map(|t| {
                format!(
                    "{} {}",
                    text(t, &["kind"]).unwrap_or_default(),
                    text(t, &["id"]).unwrap_or_default()
                )
                .trim()
                .to_owned()
            })
            .unwrap_or_default();
        let _ = writeln!(
            b,
            "<li><div class=\"meta\">{} · {}{}{}</div><div class=\"note-text\">{}</div></li>",
            esc(&text(n, &["author", "analyst", "by"]).unwrap_or_default()),
            esc(&text(n, &["at", "created", "created_at"]).unwrap_or_default()),
            if target.is_empty() || target == "case" {
                String::new()
            } else {
                format!(" · on {}", esc(&target))
            },
            text(n, &["tlp"])
                .map(|t| format!(" {}", tlp_badge(&t)))
                .unwrap_or_default(),
            esc(&text(n, &["text", "body"]).unwrap_or_default())
        );
    }
    if notes.is_empty() {
        b.push_str("<li class=\"note\">No notes yet.</li>\n");
    }
    b.push_str("</ul>\n");
    if s.can_write() {
        let _ = writeln!(
            b,
            "<form id=\"note-form\" method=\"post\" action=\"/cases/{}/notes\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
<label for=\"note-text\">Add a note</label><textarea id=\"note-text\" name=\"text\" rows=\"3\" required maxlength=\"65536\"></textarea>\
<label for=\"note-tlp\">TLP</label><select id=\"note-tlp\" name=\"tlp\"><option value=\"\">(the case's)</option><option>TLP:CLEAR</option><option>TLP:GREEN</option><option>TLP:AMBER</option><option>TLP:AMBER+STRICT</option><option>TLP:RED</option></select>\
<button type=\"submit\">Add note</button></form>",
            esc(&pct(&c.name)),
            esc(s.csrf.as_deref().unwrap_or_default())
        );
    }
    b.push_str("</section>\n");
    let tlp = c.tlp();
    html_page(
        StatusCode::OK,
        frame(
            &st.config.title,
            &c.name,
            Some(&s.viewer()),
            Some(&c.nav(&tlp, "overview")),
            &b,
        ),
    )
}

/// What happened, who, what to do: the three key judgements.
fn judgements(b: &mut String, inv: Option<&Investigation>, name: &str) {
    let base = format!("/cases/{}", pct(name));
    b.push_str("<div class=\"kj\" id=\"judgements\">\n<div id=\"what\"><h3>What happened</h3>");
    match inv {
        Some(inv) => match inv.worst_severity() {
            Some(sev) => {
                let hosts: std::collections::BTreeSet<&str> = inv
                    .incidents
                    .iter()
                    .flat_map(|i| i.hosts.iter().map(String::as_str))
                    .collect();
                let _ = write!(
                    b,
                    "<div class=\"big\">{} incident{} {}</div><p>{} detection{} in incidents on {} host{}{}. <a href=\"{}/incidents\">Incidents</a> · <a href=\"{}/timeline\">timeline</a></p>",
                    inv.incidents.len(),
                    plural(inv.incidents.len()),
                    sev_badge(sev.as_str()),
                    inv.incident_events(),
                    plural(inv.incident_events()),
                    hosts.len(),
                    plural(hosts.len()),
                    inv.window()
                        .map(|(a, z)| format!(", {} – {} UTC", esc(&a), esc(&z)))
                        .unwrap_or_default(),
                    esc(&base),
                    esc(&base)
                );
            }
            None => {
                let _ = write!(
                    b,
                    "<div class=\"big\">No incidents</div><p>{} detection{} in the hunt; none grouped into an incident.</p>",
                    inv.hunt.detections,
                    plural(inv.hunt.detections as usize)
                );
            }
        },
        None => b.push_str("<div class=\"big\">Not analysed</div><p>No analysis saved yet.</p>"),
    }
    b.push_str("</div>\n<div id=\"who\"><h3>Who</h3>");
    match inv.and_then(Investigation::key_judgement) {
        Some((head, detail)) => {
            let _ = write!(
                b,
                "<div class=\"big\">{}</div><p>{} <a href=\"{}/attribution\">Evidence</a></p>",
                esc(&head),
                esc(&detail),
                esc(&base)
            );
        }
        None => b.push_str("<div class=\"big\">Not assessed</div><p>No attribution was run.</p>"),
    }
    b.push_str("</div>\n<div id=\"todo\"><h3>What to do</h3>");
    match inv {
        Some(inv) => {
            let c = &inv.containment;
            let parts = [
                (c.isolate_hosts.len(), "host", "to isolate"),
                (c.reset_accounts.len(), "account", "to reset"),
                (c.remove_files.len(), "file", "to remove"),
                (c.revert_changes.len(), "change", "to revert"),
                (c.block.len(), "indicator", "to block"),
            ];
            let total: usize = parts.iter().map(|p| p.0).sum();
            if total == 0 {
                b.push_str(
                    "<div class=\"big\">No actions</div><p>The containment plan is empty.</p>",
                );
            } else {
                let first = c
                    .isolate_hosts
                    .iter()
                    .chain(&c.reset_accounts)
                    .chain(&c.remove_files)
                    .chain(&c.revert_changes)
                    .min_by_key(|a| a.priority)
                    .map(|a| format!(" First: {} ({}).", esc(&a.target), esc(&a.reason)))
                    .unwrap_or_default();
                let _ = write!(
                    b,
                    "<div class=\"big\">{total} action{}</div><p>{}.{first} <a href=\"{}/containment\">Plan</a></p>",
                    plural(total),
                    parts
                        .iter()
                        .filter(|p| p.0 > 0)
                        .map(|(n, what, verb)| format!("{n} {what}{} {verb}", plural(*n)))
                        .collect::<Vec<_>>()
                        .join(", "),
                    esc(&base)
                );
            }
        }
        None => b.push_str("<div class=\"big\">—</div><p>No containment plan yet.</p>"),
    }
    b.push_str("</div>\n</div>\n");
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

// ---------------------------------------------------------------------------------------------
// Timeline

const LEVELS: [&str; 5] = ["informational", "low", "medium", "high", "critical"];
const KINDS: [&str; 4] = ["detection", "correlation", "indicator", "yara"];
/// The verdict filter's options (the store's `VerdictFilter`).
const VERDICTS: [(&str, &str); 4] = [
    ("none", "not decided"),
    ("tp", "true positive"),
    ("fp", "false positive"),
    ("any", "decided (TP or FP)"),
];

fn query_string(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", pct(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn select(
    b: &mut String,
    name: &str,
    label: &str,
    current: Option<&str>,
    options: &[(&str, &str)],
) {
    let _ = write!(
        b,
        "<label>{label}<select name=\"{name}\" id=\"f-{name}\"><option value=\"\">any</option>"
    );
    for (v, l) in options {
        let _ = write!(
            b,
            "<option value=\"{v}\"{}>{l}</option>",
            if current == Some(*v) { " selected" } else { "" }
        );
    }
    b.push_str("</select></label>");
}

fn input(b: &mut String, name: &str, label: &str, current: Option<&str>, kind: &str, hint: &str) {
    let _ = write!(
        b,
        "<label>{label}<input type=\"{kind}\" name=\"{name}\" id=\"f-{name}\" value=\"{}\" placeholder=\"{hint}\"></label>",
        esc(current.unwrap_or_default())
    );
}

/// The normalised verdict of a stored detection row (`true-positive`…), if any.
fn row_verdict(row: &Value) -> Option<(String, String)> {
    let v = row.get("verdict").filter(|v| !v.is_null())?;
    let raw = match v {
        Value::String(s) => s.clone(),
        _ => text(v, &["verdict", "value"])?,
    };
    let name = data::parse_verdict(&raw)
        .map(|v| data::verdict_name(v).to_owned())
        .unwrap_or(raw);
    let by = text(v, &["analyst", "by", "author"]).unwrap_or_default();
    Some((name, by))
}

/// A short summary of a detection's event: a few telling fields.
fn event_summary(d: &Value) -> String {
    const FIELDS: [&str; 12] = [
        "CommandLine",
        "Image",
        "TargetFilename",
        "cs-uri-stem",
        "c-uri",
        "TargetUserName",
        "SubjectUserName",
        "IpAddress",
        "DestinationIp",
        "ServiceName",
        "ScriptBlockText",
        "QueryName",
    ];
    let Some(ev) = d.get("event").and_then(Value::as_object) else {
        return String::new();
    };
    let mut parts = Vec::new();
    for f in FIELDS {
        if let Some(v) = ev.get(f) {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            parts.push(format!("{f}={v}"));
        }
        if parts.len() == 3 {
            break;
        }
    }
    if parts.is_empty() {
        for (k, v) in ev.iter().take(3) {
            parts.push(format!(
                "{k}={}",
                v.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string())
            ));
        }
    }
    tiaki_report::text::truncate(&parts.join(" · "), 240)
}

async fn timeline(
    State(st): State<SharedState>,
    headers: HeaderMap,
    uri: Uri,
    Path(name): Path<String>,
    q: Result<Query<Filter>, QueryRejection>,
) -> Response {
    let s = match session(&st, &headers, &uri).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let c = match load_case(&st, &s, name.clone()).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (filter, mut error) = match q {
        Ok(Query(f)) => (f, None),
        Err(e) => (Filter::default(), Some(e.body_text())),
    };
    let page = if error.is_none() {
        let f = filter.clone();
        match st
            .pool
            .run(move |store| data::detections(store, &name, &f))
            .await
        {
            Ok(p) => Some(p),
            Err(DataError::Invalid(m)) => {
                error = Some(m);
                None
            }
            Err(e) => return data_error(&st, &s, e),
        }
    } else {
        None
    };
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<header class=\"top\"><div class=\"org\">{}</div><h1>Timeline</h1></header>",
        esc(&c.title())
    );
    if let Some(inv) = &c.analysis {
        let mut chart = String::new();
        tiaki_report::html::timeline(&mut chart, inv);
        // The detections table below is `#timeline`; the report's chart gets its own id.
        b.push_str(&chart.replacen(
            "<section id=\"timeline\">\n<h2>Timeline</h2>",
            "<section id=\"timeline-chart\">\n<h2>Incident activity</h2>",
            1,
        ));
    }
    // The filter form.
    let base = format!("/cases/{}/timeline", pct(&c.name));
    let _ = write!(
        b,
        "<section id=\"detections\"><h2>Detections</h2>\n<form id=\"filters\" method=\"get\" action=\"{}\">",
        esc(&base)
    );
    input(
        &mut b,
        "text",
        "Search",
        filter.text.as_deref(),
        "search",
        "rule, host, command line…",
    );
    let levels: Vec<(&str, &str)> = LEVELS.iter().map(|l| (*l, *l)).collect();
    select(
        &mut b,
        "min_level",
        "Level at least",
        filter.min_level.as_deref(),
        &levels,
    );
    input(
        &mut b,
        "host",
        "Host",
        filter.host.as_deref(),
        "text",
        "PDO-WEB01",
    );
    input(
        &mut b,
        "technique",
        "Technique",
        filter.technique.as_deref(),
        "text",
        "T1505.003",
    );
    let kinds: Vec<(&str, &str)> = KINDS.iter().map(|k| (*k, *k)).collect();
    select(&mut b, "kind", "Kind", filter.kind.as_deref(), &kinds);
    select(
        &mut b,
        "verdict",
        "Verdict",
        filter.verdict.as_deref(),
        &VERDICTS,
    );
    input(
        &mut b,
        "since",
        "Since",
        filter.since.as_deref(),
        "text",
        "2025-03-03T00:00:00Z",
    );
    input(
        &mut b,
        "until",
        "Until",
        filter.until.as_deref(),
        "text",
        "2025-03-20",
    );
    select(
        &mut b,
        "limit",
        "Per page",
        filter.limit.as_deref(),
        &[("25", "25"), ("50", "50"), ("100", "100"), ("250", "250")],
    );
    let _ = write!(
        b,
        "<label class=\"check\"><input type=\"checkbox\" name=\"newest_first\" value=\"true\"{}> newest first</label>",
        if filter.newest_first.as_deref() == Some("true") {
            " checked"
        } else {
            ""
        }
    );
    let _ = writeln!(
        b,
        "<button type=\"submit\" id=\"apply-filters\">Filter</button> <a href=\"{}\" id=\"clear-filters\">Clear</a></form>",
        esc(&base)
    );
    let status = if let Some(e) = &error {
        let _ = writeln!(b, "<p class=\"error\" id=\"filter-error\">{}</p>", esc(e));
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = page.unwrap_or(Value::Null);
    let rows = page
        .get("rows")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let total = page.get("total").and_then(Value::as_u64).unwrap_or(0);
    let offset = page.get("offset").and_then(Value::as_u64).unwrap_or(0);
    let limit = page
        .get("limit")
        .and_then(Value::as_u64)
        .unwrap_or(data::DEFAULT_LIMIT as u64);
    let _ = writeln!(
        b,
        "<p class=\"note\" id=\"timeline-count\" data-total=\"{total}\">{}</p>",
        if rows.is_empty() {
            format!("No detections match ({total} in all).")
        } else {
            format!(
                "Detections {}–{} of {total}.",
                offset + 1,
                offset + rows.len() as u64
            )
        }
    );
    // What to come back to after a verdict: this page, same filter.
    let back = query_string(&filter.pairs());
    let write = s.can_write();
    b.push_str("<table id=\"timeline\" class=\"ev\"><colgroup><col style=\"width:150px\"><col style=\"width:110px\"><col style=\"width:80px\"><col style=\"width:20%\"><col style=\"width:90px\"><col><col style=\"width:170px\"></colgroup><thead><tr><th>Time (UTC)</th><th>Host</th><th>Level</th><th>Rule</th><th>Technique</th><th>What happened</th><th>Verdict</th></tr></thead><tbody>\n");
    for r in &rows {
        let key = text(r, &["key"]).unwrap_or_default();
        let d = r.get("detection").unwrap_or(&Value::Null);
        let level = text(d, &["level"]).unwrap_or_default();
        let attack = d
            .get("attack")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        let source = d.get("source").map(|s| {
            let path = text(s, &["path"]).unwrap_or_default();
            match (text(s, &["record_id"]), text(s, &["line"])) {
                (Some(rec), _) => format!("{path}#{rec}"),
                (None, Some(l)) => format!("{path}:{l}"),
                _ => path,
            }
        });
        let verdict = row_verdict(r);
        let _ = write!(
            b,
            "<tr class=\"det{}\" data-key=\"{}\"><td class=\"t\">{}</td><td>{}</td><td class=\"lvl {}\">{}</td><td>{}<div class=\"kind\">{}</div></td><td class=\"mono\">{}</td><td class=\"sum\">{}<div class=\"src\" title=\"{}\">{}</div></td><td class=\"verdict-cell\">",
            verdict
                .as_ref()
                .map(|(v, _)| format!(
                    " v-{}",
                    match v.as_str() {
                        "true-positive" => "tp",
                        "false-positive" => "fp",
                        "undetermined" => "un",
                        _ => "other",
                    }
                ))
                .unwrap_or_default(),
            esc(&key),
            esc(&text(d, &["timestamp"]).unwrap_or_else(|| "—".into())),
            esc(&text(d, &["host"]).unwrap_or_else(|| "—".into())),
            match level.as_str() {
                "critical" => "lvl-critical",
                "high" => "lvl-high",
                "medium" => "lvl-medium",
                _ => "",
            },
            esc(&level),
            esc(&text(d, &["rule_title"]).unwrap_or_default()),
            esc(&text(d, &["kind"]).unwrap_or_default()),
            esc(&attack),
            esc(&event_summary(d)),
            esc(source.as_deref().unwrap_or_default()),
            esc(&tiaki_report::text::truncate_start(
                source.as_deref().unwrap_or_default(),
                60
            )),
        );
        match &verdict {
            Some((v, by)) => {
                let _ = write!(
                    b,
                    "<span class=\"verdict-label\">{}</span>{}",
                    esc(v),
                    if by.is_empty() {
                        String::new()
                    } else {
                        format!(" <span class=\"note\">{}</span>", esc(by))
                    }
                );
            }
            None => b.push_str("<span class=\"verdict-label none\">—</span>"),
        }
        if write && !key.is_empty() {
            let _ = write!(
                b,
                "<form class=\"vform\" method=\"post\" action=\"/cases/{}/detections/{}/verdict\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"back\" value=\"{}\"><input type=\"text\" name=\"reason\" placeholder=\"reason\" aria-label=\"reason\"><button type=\"submit\" name=\"verdict\" value=\"true-positive\" class=\"tp\" title=\"True positive\">TP</button><button type=\"submit\" name=\"verdict\" value=\"false-positive\" class=\"fp\" title=\"False positive\">FP</button></form>",
                esc(&pct(&c.name)),
                esc(&pct(&key)),
                esc(s.csrf.as_deref().unwrap_or_default()),
                esc(&back)
            );
        }
        b.push_str("</td></tr>\n");
    }
    b.push_str("</tbody></table>\n<nav id=\"paging\">");
    let mut pairs: Vec<(&str, String)> = filter
        .pairs()
        .into_iter()
        .filter(|(k, _)| *k != "offset")
        .map(|(k, v)| (k, v.to_owned()))
        .collect();
    let link = |pairs: &mut Vec<(&str, String)>, off: u64| {
        pairs.retain(|(k, _)| *k != "offset");
        pairs.push(("offset", off.to_string()));
        let p: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        format!("{base}?{}", query_string(&p))
    };
    if offset > 0 {
        let prev = link(&mut pairs, offset.saturating_sub(limit));
        let _ = write!(
            b,
            "<a rel=\"prev\" id=\"prev-page\" href=\"{}\">← Previous</a> ",
            esc(&prev)
        );
    }
    if offset + (rows.len() as u64) < total {
        let next = link(&mut pairs, offset + limit);
        let _ = write!(
            b,
            "<a rel=\"next\" id=\"next-page\" href=\"{}\">Next →</a>",
            esc(&next)
        );
    }
    b.push_str("</nav>\n</section>\n");
    let tlp = c.tlp();
    html_page(
        status,
        frame(
            &st.config.title,
            &format!("{} · Timeline", c.name),
            Some(&s.viewer()),
            Some(&c.nav(&tlp, "timeline")),
            &b,
        ),
    )
}

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

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct VerdictForm {
    csrf: String,
    verdict: String,
    reason: String,
    back: String,
}

async fn verdict(
    State(st): State<SharedState>,
    headers: HeaderMap,
    uri: Uri,
    Path((name, key)): Path<(String, String)>,
    f: Result<Form<VerdictForm>, FormRejection>,
) -> Response {
    let f = f.map(|Form(f)| f).unwrap_or_default();
    let s = match form_writer(&st, &headers, &uri, &f.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let user = s.who.user.clone();
    let (n, k) = (name.clone(), key.clone());
    let r = st
        .pool
        .run(move |store| {
            data::set_verdict(store, &n, &k, &f.verdict, &user, &f.reason).map(|_| f.back)
        })
        .await;
    match r {
        Ok(back) => {
            // Only a query string (the filter) comes back from the form, on a fixed path.
            let back = if back
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~%&=+".contains(&b))
            {
                back
            } else {
                String::new()
            };
            let to = format!(
                "/cases/{}/timeline{}{}#timeline",
                pct(&name),
                if back.is_empty() { "" } else { "?" },
                back
            );
            redirect(StatusCode::SEE_OTHER, &to)
        }
        Err(e) => data_error(&st, &s, e),
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct NoteForm {
    csrf: String,
    text: String,
    tlp: String,
}

async fn add_note(
    State(st): State<SharedState>,
    headers: HeaderMap,
    uri: Uri,
    Path(name): Path<String>,
    f: Result<Form<NoteForm>, FormRejection>,
) -> Response {
    let f = f.map(|Form(f)| f).unwrap_or_default();
    let s = match form_writer(&st, &headers, &uri, &f.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let user = s.who.user.clone();
    let n = name.clone();
    let r = st
        .pool
        .run(move |store| {
            data::add_note(
                store,
                &n,
                tiaki_store::cases::NoteTarget::Case,
                &user,
                &f.text,
                Some(f.tlp.as_str()),
            )
        })
        .await;
    match r {
        Ok(_) => redirect(
            StatusCode::SEE_OTHER,
            &format!("/cases/{}#notes", pct(&name)),
        ),
        Err(e) => data_error(&st, &s, e),
    }
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

    #[test]
    fn headings() {
        assert_eq!(heading("added_by"), "Added by");
        assert_eq!(heading("sha256"), "SHA-256");
    }
}
