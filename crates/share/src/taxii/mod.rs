//! A blocking TAXII 2.1 client: push a case to a partner collection, pull theirs.
//!
//! Why our own and not a general HTTP call in the CLI: TAXII has rules a plain GET/POST gets
//! wrong and that reference servers enforce — the `application/taxii+json;version=2.1` media
//! type both ways, envelopes that must fit the API root's `max_content_length`, asynchronous
//! adds that are only done when the status resource says `complete`, and `more`/`next`
//! pagination (falling back to `X-TAXII-Date-Added-Last` when a server sends `more` without
//! `next`). Responses are checked the way taxii2-client checks them, every request has a
//! timeout, and every failure names the URL, the HTTP status and the server's own error title.

mod http;
mod types;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub use types::{
    ApiRootInfo, Auth, Collection, Discovery, Filter, Pulled, StatusDetail, StatusSummary,
};

use crate::ShareError;
use http::Http;
use types::StatusResource;

/// Pages read before [`TaxiiClient::get_objects`] gives up.
pub const MAX_PAGES: usize = 100_000;

/// A client bound to one server (discovery URL) or one API root.
#[derive(Debug)]
pub struct TaxiiClient {
    http: Http,
    url: String,
    api_root_url: OnceLock<String>,
    api_root_info: OnceLock<ApiRootInfo>,
    status_timeout: Duration,
    poll_interval: Duration,
}

/// `url` with exactly one trailing slash.
fn slash(url: &str) -> String {
    format!("{}/", url.trim_end_matches('/'))
}

/// Resolves a possibly relative API root URL against the discovery URL.
fn resolve(base: &str, rel: &str) -> String {
    if rel.starts_with("http://") || rel.starts_with("https://") {
        return slash(rel);
    }
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    if let Some(path) = rel.strip_prefix('/') {
        let host_end = base[scheme_end..]
            .find('/')
            .map_or(base.len(), |i| scheme_end + i);
        return slash(&format!("{}/{path}", &base[..host_end]));
    }
    slash(&format!("{}{rel}", slash(base)))
}

impl TaxiiClient {
    /// A client for a discovery URL (`https://host/taxii2/`) or an API root URL. Nothing is
    /// requested yet. Requests time out after 30 s; adds wait up to 60 s for completion.
    pub fn new(url: &str, auth: Auth) -> Result<TaxiiClient, ShareError> {
        let u = url.trim();
        if !(u.starts_with("http://") || u.starts_with("https://")) || u.len() < 10 {
            return Err(ShareError::Url {
                url: url.to_string(),
                reason: "expected an http:// or https:// URL".into(),
            });
        }
        Ok(TaxiiClient {
            http: Http::new(auth, Duration::from_secs(30)),
            url: slash(u),
            api_root_url: OnceLock::new(),
            api_root_info: OnceLock::new(),
            status_timeout: Duration::from_secs(60),
            poll_interval: Duration::from_millis(500),
        })
    }

    /// Sets the timeout of each request (connect, send and read together).
    pub fn with_timeout(mut self, timeout: Duration) -> TaxiiClient {
        self.http = self.http.with_timeout(timeout);
        self
    }

    /// Sets how long [`TaxiiClient::add_objects`] waits for a status to complete.
    pub fn with_status_timeout(mut self, timeout: Duration) -> TaxiiClient {
        self.status_timeout = timeout;
        self
    }

    /// The discovery resource. Fails if the client's URL is an API root.
    pub fn discovery(&self) -> Result<Discovery, ShareError> {
        let v = self.http.get(&self.url, &[])?.body;
        if v.get("versions").is_some() {
            return Err(ShareError::Protocol {
                url: self.url.clone(),
                reason: "this is an API root, not a discovery endpoint".into(),
            });
        }
        from_value(&self.url, v)
    }

    /// The API root URL: the client's URL if it is an API root, else the discovery's
    /// `default` (when it is one of `api_roots`), else its first API root.
    pub fn api_root_url(&self) -> Result<String, ShareError> {
        if let Some(u) = self.api_root_url.get() {
            return Ok(u.clone());
        }
        let v = self.http.get(&self.url, &[])?.body;
        let url = if v.get("versions").is_some() {
            let info: ApiRootInfo = from_value(&self.url, v)?;
            let _ = self.api_root_info.set(info);
            self.url.clone()
        } else {
            let d: Discovery = from_value(&self.url, v)?;
            let chosen = d
                .default
                .filter(|x| d.api_roots.contains(x))
                .or_else(|| d.api_roots.first().cloned())
                .ok_or_else(|| ShareError::Protocol {
                    url: self.url.clone(),
                    reason: "the discovery resource lists no API root".into(),
                })?;
            resolve(&self.url, &chosen)
        };
        Ok(self.api_root_url.get_or_init(|| url).clone())
    }

    /// The API root resource (title, versions, `max_content_length`).
    pub fn api_root(&self) -> Result<ApiRootInfo, ShareError> {
        let root = self.api_root_url()?;
        if let Some(i) = self.api_root_info.get() {
            return Ok(i.clone());
        }
        let info: ApiRootInfo = from_value(&root, self.http.get(&root, &[])?.body)?;
        if !info
            .versions
            .iter()
            .any(|v| v.replace(' ', "") == "application/taxii+json;version=2.1")
        {
            return Err(ShareError::Protocol {
                url: root,
                reason: format!(
                    "API root does not support TAXII 2.1 (versions {:?})",
                    info.versions
                ),
            });
        }
        Ok(self.api_root_info.get_or_init(|| info).clone())
    }

    /// The collections of the API root.
    pub fn collections(&self) -> Result<Vec<Collection>, ShareError> {
        let url = format!("{}collections/", self.api_root_url()?);
        let v = self.http.get(&url, &[])?.body;
        match v.get("collections") {
            None => Ok(Vec::new()),
            Some(c) => from_value(&url, c.clone()),
        }
    }

    fn objects_url(&self, collection_id: &str) -> Result<String, ShareError> {
        if collection_id.is_empty() || collection_id.contains(['/', '?', '#']) {
            return Err(ShareError::Url {
                url: collection_id.to_string(),
                reason: "not a collection id".into(),
            });
        }
        Ok(format!(
            "{}collections/{collection_id}/objects/",
            self.api_root_url()?
        ))
    }

    /// Every object of a collection matching `filter`, following pagination to the end.
    pub fn get_objects(&self, collection_id: &str, filter: &Filter) -> Result<Pulled, ShareError> {
        let url = self.objects_url(collection_id)?;
        let mut pulled = Pulled::default();
        let mut added_after = filter.added_after.clone();
        let mut next: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut q: Vec<(&str, String)> = Vec::new();
            if let Some(a) = &added_after {
                q.push(("added_after", a.clone()));
            }
            if let Some(l) = filter.limit {
                q.push(("limit", l.to_string()));
            }
            if !filter.types.is_empty() {
                q.push(("match[type]", filter.types.join(",")));
            }
            if !filter.ids.is_empty() {
                q.push(("match[id]", filter.ids.join(",")));
            }
            if let Some(n) = &next {
                q.push(("next", n.clone()));
            }
            let page = self.http.get(&url, &q)?;
            if let Some(objs) = page.body.get("objects") {
                let objs = objs.as_array().ok_or_else(|| ShareError::Protocol {
                    url: url.clone(),
                    reason: "`objects` is not an array".into(),
                })?;
                pulled.objects.extend(objs.iter().cloned());
            }
            if page.date_added_last.is_some() {
                pulled.last_added = page.date_added_last.clone();
            }
            if !page
                .body
                .get("more")
                .and_then(Value::as_bool)
                .unwrap_or(false)
            {
                return Ok(pulled);
            }
            if let Some(n) = page.body.get("next").and_then(Value::as_str) {
                next = Some(n.to_string());
            } else if let Some(last) = page.date_added_last {
                // `more` without `next`: resume after the last object seen (TAXII 2.1 §3.4).
                next = None;
                added_after = Some(last);
            } else {
                return Err(ShareError::Protocol {
                    url,
                    reason:
                        "`more` is true but there is neither `next` nor X-TAXII-Date-Added-Last"
                            .into(),
                });
            }
        }
        Err(ShareError::Pagination {
            url,
            pages: MAX_PAGES,
        })
    }

    /// Adds objects to a collection: split into envelopes under the API root's
    /// `max_content_length`, each POSTed and its status polled until complete.
    pub fn add_objects(
        &self,
        collection_id: &str,
        objects: &[Value],
    ) -> Result<StatusSummary, ShareError> {
        let url = self.objects_url(collection_id)?;
        let root = self.api_root_url()?;
        let max = self.api_root()?.max_content_length;
        let mut summary = StatusSummary::default();
        for body in envelopes(objects, max, &root)? {
            let resp = self.http.post(&url, body)?;
            let mut st: StatusResource = from_value(&url, resp.body)?;
            let status_url = format!("{root}status/{}/", st.id);
            let start = Instant::now();
            while st.status != "complete" {
                if start.elapsed() >= self.status_timeout {
                    return Err(ShareError::StatusTimeout {
                        url: status_url,
                        status: st.status,
                        secs: self.status_timeout.as_secs(),
                    });
                }
                std::thread::sleep(self.poll_interval);
                st = from_value(&status_url, self.http.get(&status_url, &[])?.body)?;
            }
            if st.success_count + st.failure_count + st.pending_count != st.total_count {
                return Err(ShareError::Protocol {
                    url: status_url,
                    reason: format!(
                        "status counts do not add up: {} + {} + {} != {}",
                        st.success_count, st.failure_count, st.pending_count, st.total_count
                    ),
                });
            }
            summary.status_ids.push(st.id);
            summary.total += st.total_count;
            summary.success += st.success_count;
            summary.failure += st.failure_count;
            summary.pending += st.pending_count;
            summary.successes.extend(st.successes);
            summary.failures.extend(st.failures);
        }
        Ok(summary)
    }
}

/// Splits objects into `{"objects": [...]}` bodies of at most `max` bytes (0: no limit).
fn envelopes(objects: &[Value], max: usize, root: &str) -> Result<Vec<Vec<u8>>, ShareError> {
    const FRAME: usize = r#"{"objects":[]}"#.len();
    let mut out = Vec::new();
    let mut cur: Vec<String> = Vec::new();
    let mut size = FRAME;
    for o in objects {
        let s = serde_json::to_string(o).unwrap_or_default();
        if max > 0 && FRAME + s.len() > max {
            return Err(ShareError::TooLarge {
                id: o["id"].as_str().unwrap_or("?").to_string(),
                size: FRAME + s.len(),
                max,
                url: root.to_string(),
            });
        }
        let add = s.len() + usize::from(!cur.is_empty());
        if max > 0 && size + add > max {
            out.push(std::mem::take(&mut cur));
            size = FRAME;
        }
        size += s.len() + usize::from(!cur.is_empty());
        cur.push(s);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out
        .into_iter()
        .map(|c| format!(r#"{{"objects":[{}]}}"#, c.join(",")).into_bytes())
        .collect())
}

fn from_value<T: serde::de::DeserializeOwned>(url: &str, v: Value) -> Result<T, ShareError> {
    serde_json::from_value(v).map_err(|e| ShareError::Protocol {
        url: url.to_string(),
        reason: format!("unexpected resource: {e}"),
    })
}

/// An envelope body for tests and callers that post by hand.
pub fn envelope(objects: &[Value]) -> Value {
    json!({ "objects": objects })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_api_roots() {
        let d = "https://h.example:8443/taxii2/";
        assert_eq!(resolve(d, "https://o.example/a"), "https://o.example/a/");
        assert_eq!(resolve(d, "/api1/"), "https://h.example:8443/api1/");
        assert_eq!(resolve(d, "api1"), "https://h.example:8443/taxii2/api1/");
    }

    #[test]
    fn envelopes_fit_the_limit() {
        let objs: Vec<Value> = (0..50)
            .map(|i| json!({"id": format!("x--{i}"), "pad": "y".repeat(100)}))
            .collect();
        let bodies = envelopes(&objs, 1000, "r").unwrap();
        assert!(bodies.len() > 5);
        let mut n = 0;
        for b in &bodies {
            assert!(b.len() <= 1000, "{}", b.len());
            let v: Value = serde_json::from_slice(b).unwrap();
            n += v["objects"].as_array().unwrap().len();
        }
        assert_eq!(n, 50);
        let err = envelopes(&objs, 50, "r").unwrap_err();
        assert!(matches!(err, ShareError::TooLarge { .. }), "{err}");
        assert_eq!(envelopes(&objs, 0, "r").unwrap().len(), 1);
    }
}
