//! TAXII 2.1 resources and the client's inputs and results.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How to authenticate to the server.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// No credentials.
    None,
    /// HTTP Basic (the TAXII baseline): user and password.
    Basic(String, String),
    /// `Authorization: Bearer <token>`.
    Bearer(String),
}

/// Never prints secrets.
impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic(u, _) => write!(f, "Basic({u:?}, ***)"),
            Auth::Bearer(_) => f.write_str("Bearer(***)"),
        }
    }
}

/// The discovery resource (`GET /taxii2/`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Discovery {
    /// Server title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Contact.
    pub contact: Option<String>,
    /// The default API root (one of `api_roots`).
    pub default: Option<String>,
    /// API root URLs (possibly relative to the discovery URL).
    pub api_roots: Vec<String>,
}

/// The API root resource.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiRootInfo {
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Supported media types (must include `application/taxii+json;version=2.1`).
    pub versions: Vec<String>,
    /// The largest request body the root accepts, in bytes.
    pub max_content_length: usize,
}

/// A collection resource.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Collection {
    /// Collection id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Alias.
    pub alias: Option<String>,
    /// Whether we may read it.
    pub can_read: bool,
    /// Whether we may write it.
    pub can_write: bool,
    /// Media types of its content.
    pub media_types: Vec<String>,
}

/// Filters for [`super::TaxiiClient::get_objects`]: values within one filter are ORed,
/// filters are ANDed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only objects added after this time (exclusive; the server's `date_added`).
    pub added_after: Option<String>,
    /// `match[type]`.
    pub types: Vec<String>,
    /// `match[id]`.
    pub ids: Vec<String>,
    /// Page size asked for (the server may cap it).
    pub limit: Option<usize>,
}

/// Objects pulled from a collection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pulled {
    /// The objects, in `date_added` order, all pages.
    pub objects: Vec<Value>,
    /// `X-TAXII-Date-Added-Last` of the last page that had objects: the `added_after` for the
    /// next incremental pull.
    pub last_added: Option<String>,
}

/// One entry of a status resource's `successes`/`failures`/`pendings`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StatusDetail {
    /// Object id.
    pub id: String,
    /// Object version (`modified`, or the server's date for unversioned objects).
    pub version: String,
    /// The server's message.
    pub message: Option<String>,
}

/// The outcome of an add-objects call over all the envelopes it sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatusSummary {
    /// The status resource ids (one per envelope).
    pub status_ids: Vec<String>,
    /// Objects sent.
    pub total: u64,
    /// Objects the server stored.
    pub success: u64,
    /// Objects it refused (a duplicate id + version is a failure on most servers).
    pub failure: u64,
    /// Objects still pending when polling ended (0 unless the timeout was reached).
    pub pending: u64,
    /// Stored objects.
    pub successes: Vec<StatusDetail>,
    /// Refused objects, with the server's message.
    pub failures: Vec<StatusDetail>,
}

/// The status resource as the server sends it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct StatusResource {
    pub id: String,
    pub status: String,
    pub total_count: u64,
    pub success_count: u64,
    pub failure_count: u64,
    pub pending_count: u64,
    pub successes: Vec<StatusDetail>,
    pub failures: Vec<StatusDetail>,
}
