//! The JSON API under `/api/v1/`: what the console shows, for scripts and other tools.
//!
//! # Why this shape
//!
//! * **Same credentials as everything else** ([`crate::auth`]): a bearer token, HTTP Basic with
//!   a token as the password, or the console's session cookie. Without one: `401` with a JSON
//!   `{"error": …}` body and `WWW-Authenticate: Bearer`.
//! * **Writes need the `write` role** (`403` otherwise). A write authenticated by the session
//!   cookie must also carry the console's CSRF token in `X-CSRF-Token`: a cookie is sent by the
//!   browser on its own, a header is not.
//! * **Errors are JSON with the status that says what happened**: `400` malformed parameters,
//!   `401` no credential, `403` role or CSRF, `404` unknown case, detection or route, `500` the
//!   store failed (the message is logged, not returned).
//! * **One table of routes** ([`ROUTES`]) builds the router, so a test can check that each is
//!   described in the hand-written OpenAPI 3.1 document (`assets/openapi.json`, served at
//!   `/api/v1/openapi.json` to any authenticated caller: nothing but TAXII discovery and the
//!   console's log-in page and static files is readable without a credential).

pub mod data;

use axum::Json;
use axum::Router;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tiaki_store::auth::{Principal, Role};

use crate::SharedState;
use crate::auth::{Credential, credential};
use data::{DataError, DataResult, Filter};

/// The OpenAPI 3.1 description of this API.
pub const OPENAPI: &str = include_str!("../../assets/openapi.json");

/// The header carrying the CSRF token on API writes authenticated by the session cookie.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// An API error: a status and a message, sent as `{"error": message}`.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong, for the client.
    pub message: String,
}

impl ApiError {
    /// An error with this status and message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

impl From<DataError> for ApiError {
    fn from(e: DataError) -> Self {
        match e {
            DataError::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, m),
            DataError::Invalid(m) => ApiError::new(StatusCode::BAD_REQUEST, m),
            DataError::Store(e) => {
                eprintln!("tiaki serve: api: {e}");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "the case store failed")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, Json(json!({ "error": self.message }))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"tiaki\""),
            );
        }
        r
    }
}

type ApiResult = Result<Response, ApiError>;

fn ok(v: Value) -> ApiResult {
    let mut r = Json(v).into_response();
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// The caller, or `401`.
async fn caller(state: &SharedState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let who = crate::auth::principal(state, headers).await.ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "authentication required: a bearer token, HTTP Basic (user name and token) or a console session",
        )
    })?;
    if who.partner {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "user '{}' is a partner account: TAXII collections only, not the cases",
                who.user
            ),
        ));
    }
    Ok(who)
}

/// The caller, who must hold `write`; a session-cookie caller must also send the CSRF header.
async fn writer(state: &SharedState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let who = caller(state, headers).await?;
    if !who.has(Role::Write) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "user '{}' has role {}; this needs write",
                who.user,
                who.role.as_str()
            ),
        ));
    }
    if let Some(Credential::Session(cookie)) = credential(headers) {
        let sent = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !crate::console::csrf::check(&cookie, sent) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "a write with the session cookie needs the X-CSRF-Token header",
            ));
        }
    }
    Ok(who)
}

/// Runs `f` on the store's blocking pool.
async fn with_store<T, F>(state: &SharedState, f: F) -> DataResult<T>
where
    F: FnOnce(&mut tiaki_store::CaseStore) -> DataResult<T> + Send + 'static,
    T: Send + 'static,
{
    state.pool.run(f).await
}

macro_rules! api_routes {
    ($( $method:ident $path:literal => $handler:path ),* $(,)?) => {
        /// Every route of the API, `(method, path)` with axum's (and OpenAPI's) `{param}`
        /// templates: the router is built from this table.
        pub const ROUTES: &[(&str, &str)] = &[ $( (stringify!($method), $path) ),* ];

        /// The API's routes.
        pub fn routes() -> Router<SharedState> {
            Router::new()
                $( .route($path, axum::routing::$method($handler)) )*
                .route("/api/v1/{*rest}", axum::routing::any(no_route))
                .route("/api/v1", axum::routing::any(no_route))
                .route("/api/v1/", axum::routing::any(no_route))
        }
    };
}

api_routes! {
    get "/api/v1/openapi.json" => openapi,
    get "/api/v1/cases" => list_cases,
    get "/api/v1/cases/{name}" => get_case,
    get "/api/v1/cases/{name}/timeline" => timeline,
    get "/api/v1/cases/{name}/incidents" => incidents,
    get "/api/v1/cases/{name}/attribution" => attribution,
    get "/api/v1/cases/{name}/containment" => containment,
    get "/api/v1/cases/{name}/notes" => list_notes,
    post "/api/v1/cases/{name}/notes" => add_note,
    post "/api/v1/cases/{name}/detections/{key}/verdict" => set_verdict,
    get "/api/v1/cases/{name}/export" => export,
}

async fn no_route() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no such API route (see /api/v1/openapi.json)",
    )
}

async fn openapi(State(st): State<SharedState>, headers: HeaderMap) -> ApiResult {
    caller(&st, &headers).await?;
    Ok((
        [
            (CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        OPENAPI,
    )
        .into_response())
}

async fn list_cases(State(st): State<SharedState>, headers: HeaderMap) -> ApiResult {
    caller(&st, &headers).await?;
    let cases = with_store(&st, |s| data::cases(s)).await?;
    ok(json!({ "cases": cases }))
}

async fn get_case(
    State(st): State<SharedState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> ApiResult {
    caller(&st, &headers).await?;
    ok(with_store(&st, move |s| data::case(s, &name)).await?)
}

async fn timeline(
    State(st): State<SharedState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    q: Result<Query<Filter>, QueryRejection>,
) -> ApiResult {
    caller(&st, &headers).await?;
    let Query(filter) = q.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    ok(with_store(&st, move |s| data::detections(s, &name, &filter)).await?)
}

async fn incidents(
    State(st): State<SharedState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> ApiResult {
    caller(&st, &headers).await?;
    let incidents = with_store(&st, move |s| data::incidents(s, &name)).await?;
    ok(json!({ "incidents": incidents }))
}

async fn attribution(
    State(st): State<SharedState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> ApiResult {
    caller(&st, &headers).await?;
    let (inv, history) = with_store(&st, move |s| {
        Ok((data::analysis(s, &name)?, data::assessments(s, &name)?))
    })
    .await?;
    let judgement = inv
        .as_ref()
        .and_then(|i| i.key_judgement())
        .map(|(headline, detail)| json!({ "headline": headline, "detail": detail }));
    ok(json!({
        "analysed": inv.is_some(),
        "key_judgement": judgement,
        "assessment": inv.and_then(|i| i.assessment),
        "history": history,
    }))
}

async fn containment(
    State(st): State<SharedState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> ApiResult {
    caller(&st, &headers).await?;
    let inv = with_store(&st, move |s| data::analysis(s, &name)).await?;
    ok(json!({
        "analysed": inv.is_some(),
        "containment": inv.map(|i| i.containment).unwrap_or_default(),
    }))
}

async fn list_notes(
    State(st): State<SharedState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> ApiResult {
    caller(&st, &headers).await?;
    let notes = with_store(&st, move |s| data::notes(s, &name)).await?;
    ok(json!({ "notes": notes }))
}

/// `POST …/notes` body.
#[derive(Debug, Deserialize)]
struct NoteBody {
    text: String,
    #[serde(default)]
    tlp: Option<String>,
    /// `case` (default), `detection` or `incident`.
    #[serde(default)]
    target: Option<String>,
    /// The detection key or incident id.
    #[serde(default)]
    id: Option<String>,
}

fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    // 415 without a JSON content type, 413 over the body limit, 400 for anything else.
    b.map(|Json(v)| v).map_err(|e| {
        let status = match e.status() {
            s @ (StatusCode::UNSUPPORTED_MEDIA_TYPE | StatusCode::PAYLOAD_TOO_LARGE) => s,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, e.body_text())
    })
}

async fn add_note(
    State(st): State<SharedState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    b: Result<Json<NoteBody>, JsonRejection>,
) -> ApiResult {
    let who = writer(&st, &headers).await?;
    let b = body(b)?;
    let target = data::note_target(b.target.as_deref(), b.id.as_deref())?;
    let note = with_store(&st, move |s| {
        data::add_note(s, &name, target, &who.user, &b.text, b.tlp.as_deref())
    })
    .await?;
    let mut r = ok(json!({ "note": note }))?;
    *r.status_mut() = StatusCode::CREATED;
    Ok(r)
}

/// `POST …/verdict` body.
#[derive(Debug, Deserialize)]
struct VerdictBody {
    verdict: String,
    #[serde(default)]
    reason: String,
}

async fn set_verdict(
    State(st): State<SharedState>,
    headers: HeaderMap,
    Path((name, key)): Path<(String, String)>,
    b: Result<Json<VerdictBody>, JsonRejection>,
) -> ApiResult {
    let who = writer(&st, &headers).await?;
    let b = body(b)?;
    let v = with_store(&st, move |s| {
        data::set_verdict(s, &name, &key, &b.verdict, &who.user, &b.reason)
    })
    .await?;
    ok(v)
}

async fn export(
    State(st): State<SharedState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> ApiResult {
    caller(&st, &headers).await?;
    ok(with_store(&st, move |s| data::export(s, &name)).await?)
}
