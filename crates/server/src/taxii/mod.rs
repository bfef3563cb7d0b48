//! TAXII 2.1 server: discovery, API root, collections, objects, manifest, versions, status.
//!
//! # Why it is built this way
//!
//! Partner agencies pull and push STIX through stock TAXII clients (the OASIS taxii2-client
//! above all), so the wire rules are followed to the letter, and checked by
//! `shared/tools/taxii_client_check.py` in `tests/taxii_interop.rs`:
//!
//! * every response, errors included, is `application/taxii+json;version=2.1` (taxii2-client
//!   refuses anything else); errors carry a TAXII error resource;
//! * only discovery is readable without a credential; everything else answers 401 with
//!   `WWW-Authenticate: Basic realm="tiaki"` (HTTP Basic, the API token as the password);
//! * a collection the user may neither read nor write does not exist for them (404), so
//!   collection ids do not leak; one they can see but not use for this is a 403;
//! * `more` is always accompanied by `next` (taxii2-client's `as_pages` cannot resume from
//!   `X-TAXII-Date-Added-Last`), and the store makes `next` exact (see `tiaki_store::taxii`);
//! * add-objects completes synchronously (202 with a `complete` status resource); the TLP
//!   ceiling of the collection is enforced by the store, per object.
//!
//! # TLP:RED is never served
//!
//! `tiaki collection add` refuses `--max-tlp red`, so no collection should accept RED. The
//! server does not rely on it (the store's API accepts any ceiling, and an unreadable ceiling
//! reads as RED to fail closed): a collection whose ceiling is RED is left out of the
//! collections list and answers 403 to everything but its own description's visibility
//! check, and every read path (objects, one object, versions, manifest) drops any object
//! marked RED (TLP 2.0 or 1.0, object or granular marking) before answering. An object id
//! whose every version is withheld is a 404, as if it were not there.
//!
//! Every store access goes through [`crate::StorePool::run`] (blocking pool).

mod discovery;
mod objects;

use axum::Router;
use axum::http::header::{ACCEPT, CONTENT_TYPE, HOST, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tiaki_stix::tlp::Tlp;
use tiaki_store::auth::{Access, Principal};
use tiaki_store::taxii::Collection;
use tiaki_store::{CaseStore, StoreError};

use crate::SharedState;

/// The TAXII 2.1 media type, used for every response.
pub const TAXII_MEDIA_TYPE: &str = "application/taxii+json;version=2.1";

/// Where the TAXII tree is mounted (the discovery URL).
pub const DISCOVERY_PATH: &str = "/taxii2/";

/// The TAXII routes: discovery at `/taxii2/` and each API root at `/taxii2/{api_root}/`.
pub fn routes() -> Router<SharedState> {
    const COLL: &str = "/taxii2/{api_root}/collections/{collection_id}";
    Router::new()
        .route(DISCOVERY_PATH, get(discovery::discovery))
        .route("/taxii2/{api_root}/", get(discovery::api_root))
        .route(
            "/taxii2/{api_root}/status/{status_id}/",
            get(discovery::status),
        )
        .route(
            "/taxii2/{api_root}/collections/",
            get(discovery::collections),
        )
        .route(&format!("{COLL}/"), get(discovery::collection))
        .route(
            &format!("{COLL}/objects/"),
            get(objects::get_objects).post(objects::add_objects),
        )
        .route(
            &format!("{COLL}/objects/{{object_id}}/"),
            get(objects::get_object).delete(objects::delete_object),
        )
        .route(
            &format!("{COLL}/objects/{{object_id}}/versions/"),
            get(objects::versions),
        )
        .route(&format!("{COLL}/manifest/"), get(objects::manifest))
}

/// A TAXII error: the HTTP status and the error resource sent with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {title}")]
pub struct TaxiiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// Short title of the error resource.
    pub title: String,
    /// Longer description, if any.
    pub description: Option<String>,
}

impl TaxiiError {
    /// An error with a status, a title and a description.
    pub fn new(status: StatusCode, title: &str, description: impl Into<String>) -> TaxiiError {
        TaxiiError {
            status,
            title: title.to_owned(),
            description: Some(description.into()),
        }
    }

    /// 400 Bad Request.
    pub fn bad_request(description: impl Into<String>) -> TaxiiError {
        TaxiiError::new(StatusCode::BAD_REQUEST, "Bad request", description)
    }

    /// 404 Not Found.
    pub fn not_found(what: &str) -> TaxiiError {
        TaxiiError::new(
            StatusCode::NOT_FOUND,
            "Not found",
            format!("no such {what}"),
        )
    }

    /// 403 Forbidden.
    pub fn forbidden(description: &str) -> TaxiiError {
        TaxiiError::new(StatusCode::FORBIDDEN, "Forbidden", description)
    }
}

impl From<StoreError> for TaxiiError {
    fn from(e: StoreError) -> TaxiiError {
        match e {
            StoreError::NotFound { kind, .. } => TaxiiError::not_found(kind),
            StoreError::Invalid(msg) => TaxiiError::bad_request(msg),
            other => {
                eprintln!("tiaki serve: TAXII: {other}");
                TaxiiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal error",
                    "the case store failed; see the server log",
                )
            }
        }
    }
}

impl IntoResponse for TaxiiError {
    fn into_response(self) -> Response {
        let mut body =
            json!({"title": self.title, "http_status": self.status.as_u16().to_string()});
        if let Some(d) = self.description {
            body["description"] = Value::String(d);
        }
        let mut resp = taxii_json(self.status, &body);
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"tiaki\", charset=\"UTF-8\""),
            );
        }
        resp
    }
}

/// Result of a TAXII handler.
pub type TaxiiResult = Result<Response, TaxiiError>;

/// A JSON response with the TAXII media type.
pub fn taxii_json(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(TAXII_MEDIA_TYPE));
    resp
}

/// Whether one media range names TAXII 2.1 (`version` absent or `2.1`); with `wildcards`,
/// `*/*` and `application/*` count too (for `Accept`, not for `Content-Type`).
fn is_taxii(range: &str, wildcards: bool) -> bool {
    let mut parts = range.split(';').map(str::trim);
    let base = parts.next().unwrap_or("").to_ascii_lowercase();
    let mut version = None;
    for p in parts {
        if let Some((k, v)) = p.split_once('=') {
            let v = v.trim().trim_matches('"');
            match k.trim().to_ascii_lowercase().as_str() {
                "version" => version = Some(v.to_owned()),
                "q" if v.parse::<f32>().is_ok_and(|q| q <= 0.0) => return false,
                _ => {}
            }
        }
    }
    match base.as_str() {
        "*/*" | "application/*" => wildcards,
        "application/taxii+json" => version.is_none_or(|v| v == "2.1"),
        _ => false,
    }
}

/// 406 unless the request accepts TAXII 2.1 (no `Accept` header accepts anything).
pub fn check_accept(headers: &HeaderMap) -> Result<(), TaxiiError> {
    let ok = match headers.get(ACCEPT).map(|v| v.to_str()) {
        None => true,
        Some(Ok(s)) => s.trim().is_empty() || s.split(',').any(|r| is_taxii(r, true)),
        Some(Err(_)) => false,
    };
    if ok {
        Ok(())
    } else {
        Err(TaxiiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "Not acceptable",
            format!("this server answers {TAXII_MEDIA_TYPE} only"),
        ))
    }
}

/// 415 unless the request body is TAXII 2.1.
pub fn check_content_type(headers: &HeaderMap) -> Result<(), TaxiiError> {
    let ok = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|s| is_taxii(s, false));
    if ok {
        Ok(())
    } else {
        Err(TaxiiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported media type",
            format!("send {TAXII_MEDIA_TYPE}"),
        ))
    }
}

/// The authenticated user (401 otherwise), after the `Accept` check.
pub async fn authorize(state: &SharedState, headers: &HeaderMap) -> Result<Principal, TaxiiError> {
    let who = crate::auth::principal(state, headers)
        .await
        .ok_or_else(|| {
            TaxiiError::new(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "send HTTP Basic credentials: your user name and an API token as the password",
            )
        })?;
    check_accept(headers)?;
    Ok(who)
}

/// Runs `f` on a store connection, turning store errors into TAXII errors.
pub async fn with_store<R, F>(state: &SharedState, f: F) -> Result<R, TaxiiError>
where
    F: FnOnce(&mut CaseStore) -> Result<R, StoreError> + Send + 'static,
    R: Send + 'static,
{
    state.pool.run(f).await.map_err(TaxiiError::from)
}

/// 404 unless the API root exists.
pub async fn api_root_exists(state: &SharedState, api_root: &str) -> Result<(), TaxiiError> {
    let name = api_root.to_owned();
    with_store(state, move |s| s.api_root(&name).map(|_| ())).await
}

/// A collection and what `who` may do with it; 404 when it does not exist in this API root
/// or `who` may neither read nor write it.
pub async fn visible_collection(
    state: &SharedState,
    who: &Principal,
    api_root: &str,
    id: &str,
) -> Result<(Collection, Access), TaxiiError> {
    let (who, id) = (who.clone(), id.to_owned());
    let (c, access) = with_store(state, move |s| {
        let c = s.collection(&id)?;
        let a = s.access(&who, &id)?;
        Ok((c, a))
    })
    .await?;
    if c.api_root != api_root || !(access.can_read || access.can_write) {
        return Err(TaxiiError::not_found("collection"));
    }
    if c.max_tlp == Tlp::Red {
        return Err(TaxiiError::forbidden(
            "this collection's TLP ceiling is RED: TLP:RED is never shared, so it is not served",
        ));
    }
    Ok((c, access))
}

/// Whether an object is marked TLP:RED (never served, whatever the collection).
pub fn is_red(obj: &Value) -> bool {
    tiaki_store::taxii::object_tlp(obj) == Some(Tlp::Red)
}

/// The absolute URL of an API root, from the request's `Host` header (`https` when the
/// server sets secure cookies, i.e. runs behind TLS); a root-relative URL without `Host`.
pub fn api_root_url(state: &SharedState, headers: &HeaderMap, api_root: &str) -> String {
    let path = format!("{DISCOVERY_PATH}{api_root}/");
    match headers.get(HOST).and_then(|h| h.to_str().ok()) {
        Some(host) if !host.is_empty() && !host.contains(['/', ' ', '"']) => {
            let scheme = if state.config.secure_cookies {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{host}{path}")
        }
        _ => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_ranges() {
        for ok in [
            "application/taxii+json;version=2.1",
            "application/taxii+json",
            "application/taxii+json; version=2.1; charset=utf-8",
            "*/*",
            "application/*",
        ] {
            assert!(is_taxii(ok, true), "{ok}");
        }
        for bad in [
            "application/taxii+json;version=2.0",
            "application/json",
            "text/html",
            "application/taxii+json;q=0",
        ] {
            assert!(!is_taxii(bad, true), "{bad}");
        }
        assert!(!is_taxii("*/*", false));
        let mut h = HeaderMap::new();
        h.insert(
            ACCEPT,
            HeaderValue::from_static("text/html, application/taxii+json"),
        );
        assert!(check_accept(&h).is_ok());
        h.insert(
            ACCEPT,
            HeaderValue::from_static("application/taxii+json;version=2.0"),
        );
        assert_eq!(
            check_accept(&h).unwrap_err().status,
            StatusCode::NOT_ACCEPTABLE
        );
    }
}
