//! Discovery, API root information, collections and status resources.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use tiaki_stix::tlp::Tlp;
use tiaki_store::auth::Access;
use tiaki_store::taxii::{Collection, STIX_MEDIA_TYPE};

use super::{
    TAXII_MEDIA_TYPE, TaxiiError, TaxiiResult, api_root_exists, api_root_url, authorize,
    check_accept, taxii_json, visible_collection, with_store,
};
use crate::SharedState;

/// `GET /taxii2/`: the one resource readable without a credential. `default` and
/// `api_roots` hold the very same absolute URL (taxii2-client drops a `default` that is not
/// listed).
pub async fn discovery(State(state): State<SharedState>, headers: HeaderMap) -> TaxiiResult {
    check_accept(&headers)?;
    let roots = with_store(&state, |s| s.api_roots()).await?;
    let urls: Vec<String> = roots
        .iter()
        .map(|r| api_root_url(&state, &headers, &r.name))
        .collect();
    let mut body = json!({
        "title": state.config.title,
        "description": "TAXII 2.1 server of tiaki: findings shared with partner agencies under TLP.",
        "api_roots": urls,
    });
    if let Some(first) = urls.first() {
        body["default"] = Value::String(first.clone());
    }
    Ok(taxii_json(StatusCode::OK, &body))
}

/// `GET /taxii2/{api_root}/`.
pub async fn api_root(
    State(state): State<SharedState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> TaxiiResult {
    authorize(&state, &headers).await?;
    let root = with_store(&state, move |s| s.api_root(&name)).await?;
    Ok(taxii_json(
        StatusCode::OK,
        &json!({
            "title": root.title,
            "description": root.description,
            "versions": [TAXII_MEDIA_TYPE],
            "max_content_length": state.config.max_body,
        }),
    ))
}

/// `GET /taxii2/{api_root}/status/{status_id}/`: visible to users who can read or write the
/// collection the objects were posted to.
pub async fn status(
    State(state): State<SharedState>,
    Path((root, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> TaxiiResult {
    let who = authorize(&state, &headers).await?;
    let status = with_store(&state, move |s| s.status(&id)).await?;
    if status.api_root != root {
        return Err(TaxiiError::not_found("status"));
    }
    visible_collection(&state, &who, &root, &status.collection_id)
        .await
        .map_err(|_| TaxiiError::not_found("status"))?;
    Ok(taxii_json(
        StatusCode::OK,
        &serde_json::to_value(&status).unwrap_or_default(),
    ))
}

/// `GET /taxii2/{api_root}/collections/`: the collections the user may read or write.
pub async fn collections(
    State(state): State<SharedState>,
    Path(root): Path<String>,
    headers: HeaderMap,
) -> TaxiiResult {
    let who = authorize(&state, &headers).await?;
    api_root_exists(&state, &root).await?;
    let list = with_store(&state, move |s| {
        let mut out = vec![];
        for c in s.collections()? {
            let a = s.access(&who, &c.id)?;
            // A RED ceiling is never served (see the module documentation).
            if c.api_root == root && (a.can_read || a.can_write) && c.max_tlp != Tlp::Red {
                out.push(resource(&c, a));
            }
        }
        Ok(out)
    })
    .await?;
    Ok(taxii_json(StatusCode::OK, &json!({ "collections": list })))
}

/// `GET /taxii2/{api_root}/collections/{id}/`.
pub async fn collection(
    State(state): State<SharedState>,
    Path((root, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> TaxiiResult {
    let who = authorize(&state, &headers).await?;
    let (c, a) = visible_collection(&state, &who, &root, &id).await?;
    Ok(taxii_json(StatusCode::OK, &resource(&c, a)))
}

/// The TAXII collection resource as `access` sees it.
fn resource(c: &Collection, access: Access) -> Value {
    let mut v = json!({
        "id": c.id,
        "title": c.title,
        "description": format!("{} (max {})", c.description, c.max_tlp.label()).trim_start().to_owned(),
        "can_read": access.can_read,
        "can_write": access.can_write,
        "media_types": [STIX_MEDIA_TYPE],
    });
    if let Some(alias) = &c.alias {
        v["alias"] = Value::String(alias.clone());
    }
    v
}
