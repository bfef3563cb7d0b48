//! Objects, a single object, its versions, the manifest, add-objects and delete.

use axum::body::{Body, to_bytes};
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_LENGTH;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tiaki_store::taxii::{MAX_PAGE_SIZE, ObjectQuery, Page, VersionSel};

use super::{
    TAXII_MEDIA_TYPE, TaxiiError, TaxiiResult, authorize, check_content_type, is_red, taxii_json,
    visible_collection, with_store,
};
use crate::SharedState;

/// The query parameters one endpoint accepts.
#[derive(Clone, Copy)]
enum Allowed {
    /// Objects and manifest: every filter.
    All,
    /// One object: no `match[id]`, no `match[type]`.
    OneObject,
    /// Versions: no `match[version]` either.
    Versions,
    /// Delete: `match[version]` and `match[spec_version]` only.
    Delete,
}

/// Parses the TAXII query parameters (comma lists, repeated keys ORed); anything malformed or
/// not allowed on this endpoint is a 400.
fn parse_query(uri: &Uri, allowed: Allowed) -> Result<ObjectQuery, TaxiiError> {
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map_err(|e| TaxiiError::bad_request(format!("query string: {e}")))?;
    let mut q = ObjectQuery::default();
    for (k, v) in pairs {
        let ok = match (k.as_str(), allowed) {
            ("match[id]" | "match[type]", Allowed::All) => true,
            ("match[version]", Allowed::All | Allowed::OneObject | Allowed::Delete) => true,
            ("match[spec_version]", _) => true,
            ("added_after" | "limit" | "next", a) => !matches!(a, Allowed::Delete),
            (other, _) => !other.starts_with("match["),
        };
        if !ok {
            return Err(TaxiiError::bad_request(format!(
                "{k} is not supported on this endpoint"
            )));
        }
        let list = || -> Result<Vec<String>, TaxiiError> {
            let items: Vec<String> = v.split(',').map(|s| s.trim().to_owned()).collect();
            if items.iter().any(String::is_empty) {
                return Err(TaxiiError::bad_request(format!("{k}: empty value")));
            }
            Ok(items)
        };
        match k.as_str() {
            "match[id]" => q.ids.extend(list()?),
            "match[type]" => q.types.extend(list()?),
            "match[spec_version]" => q.spec_versions.extend(list()?),
            "match[version]" => q.versions.0.extend(VersionSel::parse(&v)?.0),
            "added_after" => {
                if tiaki_store::taxii::ts_key(&v).is_none() {
                    return Err(TaxiiError::bad_request(format!(
                        "added_after: '{v}' is not an RFC 3339 timestamp"
                    )));
                }
                q.added_after = Some(v);
            }
            "limit" => {
                let n = v.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    TaxiiError::bad_request(format!("limit: '{v}' is not a positive integer"))
                })?;
                q.limit = Some(n.min(MAX_PAGE_SIZE));
            }
            "next" => q.next = Some(v),
            _ => {} // other parameters are not TAXII's: ignored
        }
    }
    Ok(q)
}

/// A paged response: the envelope (`more`, `next`, `key: items`) plus the
/// `X-TAXII-Date-Added-First/Last` headers.
fn paged<T: serde::Serialize>(page: Page<T>, key: &str) -> Response {
    let mut body = json!({ "more": page.more });
    if let Some(n) = &page.next {
        body["next"] = Value::String(n.clone());
    }
    if !page.items.is_empty() {
        body[key] = serde_json::to_value(&page.items).unwrap_or_default();
    }
    let mut resp = taxii_json(StatusCode::OK, &body);
    for (name, v) in [
        ("x-taxii-date-added-first", &page.first_added),
        ("x-taxii-date-added-last", &page.last_added),
    ] {
        if let Some(v) = v.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
            resp.headers_mut().insert(name, v);
        }
    }
    resp
}

/// The collection, after authentication, visibility and the read (or write) permission.
async fn open(
    state: &SharedState,
    headers: &HeaderMap,
    root: &str,
    id: &str,
    write: bool,
) -> Result<(), TaxiiError> {
    let who = authorize(state, headers).await?;
    let (_, access) = visible_collection(state, &who, root, id).await?;
    if write && !access.can_write {
        return Err(TaxiiError::forbidden(
            "you may not add objects to this collection",
        ));
    }
    if !write && !access.can_read {
        return Err(TaxiiError::forbidden("you may not read this collection"));
    }
    Ok(())
}

/// `GET …/collections/{id}/objects/`.
pub async fn get_objects(
    State(state): State<SharedState>,
    Path((root, id)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> TaxiiResult {
    open(&state, &headers, &root, &id, false).await?;
    let q = parse_query(&uri, Allowed::All)?;
    let mut page = with_store(&state, move |s| s.query_objects(&id, &q)).await?;
    page.items.retain(|o| !is_red(o));
    Ok(paged(page, "objects"))
}

/// Keeps the entries of `page` whose object (the same row of `objects`, a page of the same
/// query) is not TLP:RED; an entry whose row does not match (a concurrent write between the
/// two reads) is dropped too: failing closed.
fn without_red<T>(page: &mut Page<T>, objects: &[Value], id_of: impl Fn(&T) -> Option<&str>) {
    let mut i = 0;
    page.items.retain(|item| {
        let o = objects.get(i);
        i += 1;
        o.is_some_and(|o| {
            !is_red(o)
                && id_of(item).is_none_or(|id| o.get("id").and_then(Value::as_str) == Some(id))
        })
    });
}

/// `GET …/collections/{id}/manifest/`.
pub async fn manifest(
    State(state): State<SharedState>,
    Path((root, id)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> TaxiiResult {
    open(&state, &headers, &root, &id, false).await?;
    let q = parse_query(&uri, Allowed::All)?;
    let page = with_store(&state, move |s| {
        let mut page = s.manifest(&id, &q)?;
        let objects = s.query_objects(&id, &q)?.items;
        without_red(&mut page, &objects, |r| Some(r.id.as_str()));
        Ok(page)
    })
    .await?;
    Ok(paged(page, "objects"))
}

/// `GET …/objects/{object_id}/`: 404 when the collection holds no version of the object.
pub async fn get_object(
    State(state): State<SharedState>,
    Path((root, id, object)): Path<(String, String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> TaxiiResult {
    open(&state, &headers, &root, &id, false).await?;
    let mut q = parse_query(&uri, Allowed::OneObject)?;
    q.ids = vec![object.clone()];
    let page = with_store(&state, move |s| {
        let mut page = s.query_objects(&id, &q)?;
        let before = page.items.len();
        page.items.retain(|o| !is_red(o));
        if page.items.is_empty() {
            // Nothing there, or only RED: as if the object were not there.
            if before > 0 || !s.has_object(&id, &object)? {
                return Ok(None);
            }
            let all = ObjectQuery {
                ids: vec![object.clone()],
                versions: VersionSel::all(),
                limit: Some(MAX_PAGE_SIZE),
                ..ObjectQuery::default()
            };
            if s.query_objects(&id, &all)?.items.iter().all(is_red) {
                return Ok(None);
            }
        }
        Ok(Some(page))
    })
    .await?;
    page.map(|p| paged(p, "objects"))
        .ok_or_else(|| TaxiiError::not_found("object"))
}

/// `GET …/objects/{object_id}/versions/`.
pub async fn versions(
    State(state): State<SharedState>,
    Path((root, id, object)): Path<(String, String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> TaxiiResult {
    open(&state, &headers, &root, &id, false).await?;
    let q = parse_query(&uri, Allowed::Versions)?;
    let page = with_store(&state, move |s| {
        if !s.has_object(&id, &object)? {
            return Ok(None);
        }
        let mut page = s.versions(&id, &object, &q)?;
        // The same rows as objects (what `versions` selects), to see their markings.
        let same = ObjectQuery {
            ids: vec![object.clone()],
            types: vec![],
            versions: VersionSel::all(),
            ..q
        };
        let objects = s.query_objects(&id, &same)?.items;
        let before = page.items.len();
        without_red(&mut page, &objects, |_| None);
        if before > 0 && page.items.is_empty() {
            return Ok(None);
        }
        Ok(Some(page))
    })
    .await?;
    page.map(|p| paged(p, "versions"))
        .ok_or_else(|| TaxiiError::not_found("object"))
}

/// `DELETE …/objects/{object_id}/`: needs both read and write access.
pub async fn delete_object(
    State(state): State<SharedState>,
    Path((root, id, object)): Path<(String, String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> TaxiiResult {
    open(&state, &headers, &root, &id, false).await?;
    open(&state, &headers, &root, &id, true).await?;
    let q = parse_query(&uri, Allowed::Delete)?;
    with_store(&state, move |s| {
        s.delete_object(&id, &object, &q.versions, &q.spec_versions)
    })
    .await?;
    let mut resp = StatusCode::OK.into_response();
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static(TAXII_MEDIA_TYPE),
    );
    Ok(resp)
}

/// `POST …/collections/{id}/objects/`: an envelope `{"objects": [...]}` of at most
/// `max_content_length` bytes; answered 202 with the (complete) status resource.
pub async fn add_objects(
    State(state): State<SharedState>,
    Path((root, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> TaxiiResult {
    open(&state, &headers, &root, &id, true).await?;
    check_content_type(&headers)?;
    let max = state.config.max_body;
    let too_large = || {
        TaxiiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request too large",
            format!("the body exceeds max_content_length ({max} bytes)"),
        )
    };
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let bytes = to_bytes(body, max).await.map_err(|_| too_large())?;
    let envelope: Value = serde_json::from_slice(&bytes)
        .map_err(|e| TaxiiError::bad_request(format!("the body is not JSON: {e}")))?;
    let Some(objects) = envelope.get("objects").and_then(Value::as_array).cloned() else {
        return Err(TaxiiError::bad_request(
            "the body must be an envelope: {\"objects\": [...]}",
        ));
    };
    let status = with_store(&state, move |s| s.add_objects(&id, &objects)).await?;
    Ok(taxii_json(
        StatusCode::ACCEPTED,
        &serde_json::to_value(&status).unwrap_or_default(),
    ))
}
