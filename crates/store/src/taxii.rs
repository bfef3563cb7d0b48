//! TAXII 2.1 storage: API roots, collections, every version of every object, and the status
//! resources of add-objects requests.
//!
//! # Why the store does the TAXII semantics
//!
//! Filtering (`match[id|type|version|spec_version]`), `added_after` and pagination are all
//! answered by one SQL query so that a page is consistent with the next: the server never
//! holds a collection in memory. Three choices make that exact:
//!
//! * `date_added` is the receipt time with microseconds, and **strictly increasing per
//!   insert** (a one-row clock table remembers the last one handed out), so `added_after` is
//!   an exact exclusive bound and no two objects tie.
//! * Versions are compared on a normalised key (UTC, microseconds), not on the text the
//!   producer wrote (`…:00Z` and `…:00.000Z` are the same version).
//! * The `next` cursor is the `(date_added, seq)` of the last object returned plus a
//!   fingerprint of the filters, so resuming never repeats or skips an object, and a cursor
//!   replayed with other filters is refused instead of silently giving a wrong page.
//!
//! # TLP ceiling
//!
//! Each collection has a maximum TLP. An object's TLP is the most restrictive TLP marking it
//! references (object or granular markings, recognised by marking-definition id, TLP 2.0 or
//! 1.0); an unmarked object gets the collection's ceiling. Objects above the ceiling are
//! refused, one by one, as failures in the status resource: nothing above the ceiling is ever
//! stored, so no read path can reveal it.
//!
//! # Duplicates
//!
//! Re-posting an object whose id and version are already stored is a **success** when the
//! content is identical (re-sending a bundle is idempotent) and a **failure** when it differs
//! (a version is immutable). Objects without `modified` (SCOs, marking definitions) are
//! versioned by their `date_added`; re-posting one is judged the same way against the copy
//! already held. (medallion reports every re-post as a failure.)

use rusqlite::types::Value as Sql;
use rusqlite::{OptionalExtension, TransactionBehavior, params, params_from_iter};
use serde::Serialize;
use serde_json::Value;
use tiaki_stix::tlp::Tlp;

use crate::{CaseStore, Result, StoreError, now};

mod sql;
#[cfg(test)]
mod tests;

use sql::{add_one, decode_cursor, encode_cursor, filter_sql, fingerprint};

/// The API root the migration creates; collections live in it.
pub const DEFAULT_API_ROOT: &str = "tiaki";
/// The media type of the STIX content of every collection.
pub const STIX_MEDIA_TYPE: &str = "application/stix+json;version=2.1";
/// The largest page a query returns, whatever `limit` asks for.
pub const MAX_PAGE_SIZE: usize = 1000;

const TS_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

/// A TAXII API root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiRoot {
    /// The URL segment (`/taxii2/{name}/`).
    pub name: String,
    /// Human-readable title.
    pub title: String,
    /// Description.
    pub description: String,
}

/// What is needed to create a collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCollection {
    /// Human-readable title (required).
    pub title: String,
    /// Description.
    pub description: String,
    /// Optional alias, unique in the API root.
    pub alias: Option<String>,
    /// The TLP ceiling: the most restrictive level the collection accepts.
    pub max_tlp: Tlp,
}

/// A TAXII collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    /// UUIDv4.
    pub id: String,
    /// The API root it belongs to.
    pub api_root: String,
    /// Human-readable title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Optional alias.
    pub alias: Option<String>,
    /// The TLP ceiling (also the TLP of unmarked objects).
    pub max_tlp: Tlp,
    /// When it was created.
    pub created: String,
}

/// One `match[version]` term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionMatch {
    /// The oldest version of each object.
    First,
    /// The newest version of each object (the TAXII default).
    Last,
    /// Every version.
    All,
    /// The version with this timestamp (normalised to UTC microseconds).
    At(String),
}

/// A `match[version]` filter: its terms are ORed. Empty means `last`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VersionSel(pub Vec<VersionMatch>);

impl VersionSel {
    /// Every version.
    pub fn all() -> VersionSel {
        VersionSel(vec![VersionMatch::All])
    }

    /// Parses the comma-separated value of `match[version]` (`first`, `last`, `all`, or
    /// RFC 3339 timestamps).
    pub fn parse(s: &str) -> Result<VersionSel> {
        s.split(',')
            .map(|t| match t.trim() {
                "first" => Ok(VersionMatch::First),
                "last" => Ok(VersionMatch::Last),
                "all" => Ok(VersionMatch::All),
                ts => ts_key(ts).map(VersionMatch::At).ok_or_else(|| {
                    StoreError::Invalid(format!(
                        "match[version]: '{ts}' is not first, last, all or a timestamp"
                    ))
                }),
            })
            .collect::<Result<Vec<_>>>()
            .map(VersionSel)
    }
}

/// The filters and paging of an objects, manifest or versions request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectQuery {
    /// `match[id]` (ORed; empty = any).
    pub ids: Vec<String>,
    /// `match[type]` (ORed; empty = any).
    pub types: Vec<String>,
    /// `match[version]`.
    pub versions: VersionSel,
    /// `match[spec_version]` (ORed; empty = the latest, and only, spec version: 2.1).
    pub spec_versions: Vec<String>,
    /// `added_after`: exclusive bound on `date_added` (RFC 3339).
    pub added_after: Option<String>,
    /// Page size (capped at [`MAX_PAGE_SIZE`]; `None` = the cap).
    pub limit: Option<usize>,
    /// The cursor from a previous page's `next`.
    pub next: Option<String>,
}

/// One page of results, sorted by `date_added`.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The results.
    pub items: Vec<T>,
    /// Whether more results follow.
    pub more: bool,
    /// The cursor for the next page (always set when `more`).
    pub next: Option<String>,
    /// `date_added` of the first result (`X-TAXII-Date-Added-First`).
    pub first_added: Option<String>,
    /// `date_added` of the last result (`X-TAXII-Date-Added-Last`).
    pub last_added: Option<String>,
}

/// A page of STIX objects.
pub type ObjectPage = Page<Value>;

/// A manifest record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestRecord {
    /// The object's id.
    pub id: String,
    /// When the server received it.
    pub date_added: String,
    /// Its version (`modified`, or `date_added` for unversioned objects).
    pub version: String,
    /// Always [`STIX_MEDIA_TYPE`].
    pub media_type: String,
}

/// One entry of a status resource's successes, failures or pendings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusDetail {
    /// The object's id (empty when the object had none).
    pub id: String,
    /// The object's version (empty when unknown).
    pub version: String,
    /// Why (failures) or a note (successes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The outcome of an add-objects request, serialised as the TAXII status resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusResource {
    /// UUIDv4.
    pub id: String,
    /// `complete` (requests are processed synchronously) or `pending`.
    pub status: String,
    /// When the request was received.
    pub request_timestamp: String,
    /// Objects in the request.
    pub total_count: u64,
    /// Objects stored (or already present, identical).
    pub success_count: u64,
    /// Details of the successes.
    pub successes: Vec<StatusDetail>,
    /// Objects refused.
    pub failure_count: u64,
    /// Details of the failures.
    pub failures: Vec<StatusDetail>,
    /// Objects not yet processed.
    pub pending_count: u64,
    /// Details of the pending objects.
    pub pendings: Vec<StatusDetail>,
    /// The API root of the request.
    #[serde(skip)]
    pub api_root: String,
    /// The collection the objects were posted to.
    #[serde(skip)]
    pub collection_id: String,
}

/// A stored row, before it is shaped into an object, a manifest record or a version.
struct Row {
    seq: i64,
    stix_id: String,
    version: String,
    date_added: String,
    json: String,
}

impl CaseStore {
    /// Every API root.
    pub fn api_roots(&self) -> Result<Vec<ApiRoot>> {
        let mut st = self
            .conn
            .prepare("SELECT name, title, description FROM taxii_api_roots ORDER BY name")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok(ApiRoot {
                    name: r.get(0)?,
                    title: r.get(1)?,
                    description: r.get(2)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(|e| self.err(e))
    }

    /// One API root by name.
    pub fn api_root(&self, name: &str) -> Result<ApiRoot> {
        self.api_roots()?
            .into_iter()
            .find(|r| r.name == name)
            .ok_or_else(|| not_found("API root", name))
    }

    /// Creates a collection in the default API root.
    pub fn create_collection(&mut self, new: NewCollection) -> Result<Collection> {
        if new.title.trim().is_empty() {
            return Err(StoreError::Invalid("a collection needs a title".into()));
        }
        if new.max_tlp == Tlp::Red {
            return Err(StoreError::Invalid(
                "a collection cannot serve TLP:RED (for the named recipients only, never \
                 shared by a server); the highest ceiling is TLP:AMBER+STRICT"
                    .into(),
            ));
        }
        if let Some(alias) = &new.alias
            && (alias.is_empty() || self.collections()?.iter().any(|c| c.alias == new.alias))
        {
            return Err(StoreError::Invalid(format!(
                "alias '{alias}' is empty or already used"
            )));
        }
        let c = Collection {
            id: uuid_v4()?,
            api_root: DEFAULT_API_ROOT.to_owned(),
            title: new.title,
            description: new.description,
            alias: new.alias,
            max_tlp: new.max_tlp,
            created: now(),
        };
        self.conn
            .execute(
                "INSERT INTO taxii_collections (id, api_root, title, description, alias, max_tlp, created)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![c.id, c.api_root, c.title, c.description, c.alias, c.max_tlp.label(), c.created],
            )
            .map_err(|e| self.err(e))?;
        Ok(c)
    }

    /// Every collection, oldest first.
    pub fn collections(&self) -> Result<Vec<Collection>> {
        self.collections_where("1 = 1", Sql::Null)
    }

    /// One collection by id ([`StoreError::NotFound`] if there is none).
    pub fn collection(&self, id: &str) -> Result<Collection> {
        self.collections_where("id = ?1", Sql::Text(id.to_owned()))?
            .pop()
            .ok_or_else(|| not_found("collection", id))
    }

    fn collections_where(&self, cond: &str, arg: Sql) -> Result<Vec<Collection>> {
        let sql = format!(
            "SELECT id, api_root, title, description, alias, max_tlp, created
             FROM taxii_collections WHERE {cond} ORDER BY created, id"
        );
        let mut st = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let args: Vec<Sql> = if matches!(arg, Sql::Null) {
            vec![]
        } else {
            vec![arg]
        };
        let rows = st
            .query_map(params_from_iter(args), |r| {
                let tlp: String = r.get(5)?;
                Ok(Collection {
                    id: r.get(0)?,
                    api_root: r.get(1)?,
                    title: r.get(2)?,
                    description: r.get(3)?,
                    alias: r.get(4)?,
                    // Written by this module from a Tlp; RED (fail closed) if edited by hand.
                    max_tlp: tlp.parse().unwrap_or(Tlp::Red),
                    created: r.get(6)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(|e| self.err(e))
    }

    /// Adds objects to a collection in one transaction and records the status resource.
    /// Each object is judged on its own: invalid ones, ones above the TLP ceiling and
    /// conflicting duplicates are failures; the others are stored.
    pub fn add_objects(
        &mut self,
        collection_id: &str,
        objects: &[Value],
    ) -> Result<StatusResource> {
        let coll = self.collection(collection_id)?;
        let path = self.path().to_path_buf();
        let se = |e| StoreError::sqlite(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(se)?;
        let mut last: String = tx
            .query_row("SELECT last_added FROM taxii_clock WHERE id = 1", [], |r| {
                r.get(0)
            })
            .map_err(se)?;
        let mut status = StatusResource {
            id: uuid_v4()?,
            status: "complete".into(),
            request_timestamp: now(),
            total_count: objects.len() as u64,
            success_count: 0,
            successes: vec![],
            failure_count: 0,
            failures: vec![],
            pending_count: 0,
            pendings: vec![],
            api_root: coll.api_root.clone(),
            collection_id: coll.id.clone(),
        };
        for obj in objects {
            match add_one(&tx, &coll, obj, &mut last).map_err(se)? {
                Ok(d) => status.successes.push(d),
                Err(d) => status.failures.push(d),
            }
        }
        status.success_count = status.successes.len() as u64;
        status.failure_count = status.failures.len() as u64;
        tx.execute(
            "UPDATE taxii_clock SET last_added = ?1 WHERE id = 1",
            [&last],
        )
        .map_err(se)?;
        tx.execute(
            "INSERT INTO taxii_status (id, api_root, collection_id, status, request_timestamp,
               total_count, success_count, failure_count, pending_count, successes, failures, pendings)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                status.id,
                status.api_root,
                status.collection_id,
                status.status,
                status.request_timestamp,
                status.total_count as i64,
                status.success_count as i64,
                status.failure_count as i64,
                status.pending_count as i64,
                serde_json::to_string(&status.successes)?,
                serde_json::to_string(&status.failures)?,
                serde_json::to_string(&status.pendings)?,
            ],
        )
        .map_err(se)?;
        tx.commit().map_err(se)?;
        Ok(status)
    }

    /// A status resource by id.
    pub fn status(&self, id: &str) -> Result<StatusResource> {
        let row = self
            .conn
            .query_row(
                "SELECT id, api_root, collection_id, status, request_timestamp, total_count,
                        success_count, failure_count, pending_count, successes, failures, pendings
                 FROM taxii_status WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        StatusResource {
                            id: r.get(0)?,
                            api_root: r.get(1)?,
                            collection_id: r.get(2)?,
                            status: r.get(3)?,
                            request_timestamp: r.get(4)?,
                            total_count: r.get::<_, i64>(5)? as u64,
                            success_count: r.get::<_, i64>(6)? as u64,
                            failure_count: r.get::<_, i64>(7)? as u64,
                            pending_count: r.get::<_, i64>(8)? as u64,
                            successes: vec![],
                            failures: vec![],
                            pendings: vec![],
                        },
                        [r.get::<_, String>(9)?, r.get(10)?, r.get(11)?],
                    ))
                },
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let (mut s, [ok, failed, pending]) = row.ok_or_else(|| not_found("status", id))?;
        s.successes = details(&ok)?;
        s.failures = details(&failed)?;
        s.pendings = details(&pending)?;
        Ok(s)
    }

    /// One page of objects matching `q`.
    pub fn query_objects(&self, collection_id: &str, q: &ObjectQuery) -> Result<ObjectPage> {
        let page = self.select(collection_id, q)?;
        let items = page
            .items
            .iter()
            .map(|r| serde_json::from_str(&r.json))
            .collect::<std::result::Result<_, _>>()?;
        Ok(with_items(page, items))
    }

    /// One page of manifest records matching `q`.
    pub fn manifest(&self, collection_id: &str, q: &ObjectQuery) -> Result<Page<ManifestRecord>> {
        let page = self.select(collection_id, q)?;
        let items = page
            .items
            .iter()
            .map(|r| ManifestRecord {
                id: r.stix_id.clone(),
                date_added: r.date_added.clone(),
                version: r.version.clone(),
                media_type: STIX_MEDIA_TYPE.to_owned(),
            })
            .collect();
        Ok(with_items(page, items))
    }

    /// One page of the versions of one object (its `ids` and `versions` filters are
    /// replaced by the object and `all`).
    pub fn versions(
        &self,
        collection_id: &str,
        object_id: &str,
        q: &ObjectQuery,
    ) -> Result<Page<String>> {
        let q = ObjectQuery {
            ids: vec![object_id.to_owned()],
            types: vec![],
            versions: VersionSel::all(),
            ..q.clone()
        };
        let page = self.select(collection_id, &q)?;
        let items = page.items.iter().map(|r| r.version.clone()).collect();
        Ok(with_items(page, items))
    }

    /// Whether the collection holds any version of the object.
    pub fn has_object(&self, collection_id: &str, object_id: &str) -> Result<bool> {
        self.conn
            .query_row(
                "SELECT 1 FROM taxii_objects WHERE collection_id = ?1 AND stix_id = ?2 LIMIT 1",
                [collection_id, object_id],
                |_| Ok(()),
            )
            .optional()
            .map(|o| o.is_some())
            .map_err(|e| self.err(e))
    }

    /// Deletes the versions of an object selected by `versions` (empty = every version, unlike
    /// reads whose default is `last`) and `spec_versions`; returns how many were deleted
    /// ([`StoreError::NotFound`] when none matched).
    pub fn delete_object(
        &mut self,
        collection_id: &str,
        object_id: &str,
        versions: &VersionSel,
        spec_versions: &[String],
    ) -> Result<usize> {
        self.collection(collection_id)?;
        let q = ObjectQuery {
            ids: vec![object_id.to_owned()],
            versions: if versions.0.is_empty() {
                VersionSel::all()
            } else {
                versions.clone()
            },
            spec_versions: spec_versions.to_vec(),
            ..ObjectQuery::default()
        };
        let (cond, args) = filter_sql(collection_id, &q)?;
        let n = self
            .conn
            .execute(
                &format!("DELETE FROM taxii_objects WHERE seq IN (SELECT o.seq FROM taxii_objects o WHERE {cond})"),
                params_from_iter(args),
            )
            .map_err(|e| self.err(e))?;
        if n == 0 {
            return Err(not_found("object", object_id));
        }
        Ok(n)
    }

    /// The rows of one page.
    fn select(&self, collection_id: &str, q: &ObjectQuery) -> Result<Page<Row>> {
        self.collection(collection_id)?;
        let limit = q.limit.unwrap_or(MAX_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE);
        let fp = fingerprint(q);
        let (mut cond, mut args) = filter_sql(collection_id, q)?;
        if let Some(c) = &q.next {
            let (date, seq) = decode_cursor(c, fp)?;
            cond.push_str(" AND (o.date_added, o.seq) > (?, ?)");
            args.extend([Sql::Text(date), Sql::Integer(seq)]);
        }
        args.push(Sql::Integer(limit as i64 + 1));
        let sql = format!(
            "SELECT o.seq, o.stix_id, o.version, o.date_added, o.json FROM taxii_objects o
             WHERE {cond} ORDER BY o.date_added, o.seq LIMIT ?"
        );
        let mut st = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params_from_iter(args), |r| {
                Ok(Row {
                    seq: r.get(0)?,
                    stix_id: r.get(1)?,
                    version: r.get(2)?,
                    date_added: r.get(3)?,
                    json: r.get(4)?,
                })
            })
            .map_err(|e| self.err(e))?;
        let mut items: Vec<Row> = rows
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| self.err(e))?;
        let more = items.len() > limit;
        items.truncate(limit);
        let next = match (more, items.last()) {
            (true, Some(r)) => Some(encode_cursor(&r.date_added, r.seq, fp)),
            _ => None,
        };
        Ok(Page {
            first_added: items.first().map(|r| r.date_added.clone()),
            last_added: items.last().map(|r| r.date_added.clone()),
            items,
            more,
            next,
        })
    }
}

/// The most restrictive TLP an object references (object and granular markings).
pub fn object_tlp(obj: &Value) -> Option<Tlp> {
    let granular = obj
        .get("granular_markings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|g| g.get("marking_ref").and_then(Value::as_str))
        .filter_map(Tlp::from_marking_id);
    Tlp::most_restrictive(
        tiaki_stix::tlp::tlp_of_value(obj)
            .into_iter()
            .chain(granular),
    )
}

/// Normalises an RFC 3339 timestamp to UTC with microseconds (the form `date_added` takes).
pub fn ts_key(s: &str) -> Option<String> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|d| d.with_timezone(&chrono::Utc).format(TS_FORMAT).to_string())
}

/// A random UUIDv4 from the OS random source.
pub fn uuid_v4() -> Result<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| StoreError::Random(e.to_string()))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    ))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn with_items<T, U>(page: Page<T>, items: Vec<U>) -> Page<U> {
    Page {
        items,
        more: page.more,
        next: page.next,
        first_added: page.first_added,
        last_added: page.last_added,
    }
}

fn details(json: &str) -> Result<Vec<StatusDetail>> {
    let v: Vec<Value> = serde_json::from_str(json)?;
    Ok(v.iter()
        .map(|d| StatusDetail {
            id: d["id"].as_str().unwrap_or("").to_owned(),
            version: d["version"].as_str().unwrap_or("").to_owned(),
            message: d.get("message").and_then(Value::as_str).map(str::to_owned),
        })
        .collect())
}

fn not_found(kind: &'static str, name: &str) -> StoreError {
    StoreError::NotFound {
        kind,
        name: name.to_owned(),
    }
}
