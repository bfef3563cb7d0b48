//! HTTP for TAXII: media types, authentication, timeouts, and error resources turned into
//! [`ShareError`]s that name the URL, the status and the server's explanation.

use std::time::Duration;

use base64::Engine;
use serde_json::Value;

use super::Auth;
use crate::ShareError;

/// The TAXII 2.1 media type, sent as `Accept` and `Content-Type`.
pub const TAXII_MEDIA_TYPE: &str = "application/taxii+json;version=2.1";

/// Largest response body read (a page of objects).
const MAX_BODY: u64 = 256 * 1024 * 1024;

/// A successful TAXII response.
pub(crate) struct Page {
    pub body: Value,
    pub date_added_last: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Http {
    agent: ureq::Agent,
    auth: Option<String>,
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .into()
}

/// Whether a Content-Type is TAXII 2.1 (`application/taxii+json` with `version=2.1`; other
/// parameters such as `charset` are allowed), as taxii2-client requires.
pub(crate) fn is_taxii_media_type(ct: &str) -> bool {
    let mut parts = ct.split(';').map(|p| p.trim().to_ascii_lowercase());
    parts.next().as_deref() == Some("application/taxii+json")
        && parts.any(|p| p.replace(' ', "") == "version=2.1")
}

impl Http {
    pub(crate) fn new(auth: Auth, timeout: Duration) -> Http {
        let auth = match auth {
            Auth::None => None,
            Auth::Basic(u, p) => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )),
            Auth::Bearer(t) => Some(format!("Bearer {t}")),
        };
        Http {
            agent: agent(timeout),
            auth,
        }
    }

    pub(crate) fn with_timeout(self, timeout: Duration) -> Http {
        Http {
            agent: agent(timeout),
            auth: self.auth,
        }
    }

    pub(crate) fn get(&self, url: &str, query: &[(&str, String)]) -> Result<Page, ShareError> {
        let mut req = self.agent.get(url).header("Accept", TAXII_MEDIA_TYPE);
        if let Some(a) = &self.auth {
            req = req.header("Authorization", a);
        }
        for (k, v) in query {
            req = req.query(*k, v);
        }
        let shown = shown_url(url, query);
        let resp = req.call().map_err(|e| transport("GET", &shown, e))?;
        finish("GET", &shown, resp)
    }

    pub(crate) fn post(&self, url: &str, body: Vec<u8>) -> Result<Page, ShareError> {
        let mut req = self
            .agent
            .post(url)
            .header("Accept", TAXII_MEDIA_TYPE)
            .header("Content-Type", TAXII_MEDIA_TYPE);
        if let Some(a) = &self.auth {
            req = req.header("Authorization", a);
        }
        let resp = req.send(&body[..]).map_err(|e| transport("POST", url, e))?;
        finish("POST", url, resp)
    }
}

fn shown_url(url: &str, query: &[(&str, String)]) -> String {
    if query.is_empty() {
        return url.to_string();
    }
    let q: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{url}?{}", q.join("&"))
}

fn transport(method: &'static str, url: &str, e: ureq::Error) -> ShareError {
    ShareError::Transport {
        method,
        url: url.to_string(),
        reason: e.to_string(),
    }
}

fn finish(
    method: &'static str,
    url: &str,
    mut resp: ureq::http::Response<ureq::Body>,
) -> Result<Page, ShareError> {
    let status = resp.status();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header("content-type").unwrap_or_default();
    let date_added_last = header("x-taxii-date-added-last");
    let text = resp
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_string()
        .map_err(|e| transport(method, url, e))?;
    if !status.is_success() {
        let err: Option<Value> = serde_json::from_str(&text).ok();
        let field = |k: &str| {
            err.as_ref()
                .and_then(|v| v.get(k))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let snippet: String = text.chars().take(300).collect();
        return Err(ShareError::Http {
            method,
            url: url.to_string(),
            status: status.as_u16(),
            title: field("title")
                .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string()),
            description: field("description")
                .or_else(|| (!snippet.trim().is_empty() && err.is_none()).then_some(snippet)),
        });
    }
    if !is_taxii_media_type(&content_type) {
        return Err(ShareError::Protocol {
            url: url.to_string(),
            reason: format!("Content-Type {content_type:?} is not {TAXII_MEDIA_TYPE}"),
        });
    }
    let body = serde_json::from_str(&text).map_err(|e| ShareError::Protocol {
        url: url.to_string(),
        reason: format!("invalid JSON: {e}"),
    })?;
    Ok(Page {
        body,
        date_added_last,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types() {
        assert!(is_taxii_media_type("application/taxii+json;version=2.1"));
        assert!(is_taxii_media_type(
            "application/taxii+json; charset=utf-8; version=2.1"
        ));
        assert!(!is_taxii_media_type("application/taxii+json"));
        assert!(!is_taxii_media_type("application/json;version=2.1"));
        assert!(!is_taxii_media_type("application/taxii+json;version=2.0"));
    }
}
