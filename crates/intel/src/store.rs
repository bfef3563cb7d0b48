//! The local knowledge-base store: imported STIX objects and MISP galaxies in one SQLite file.
//!
//! # Why SQLite, and why this shape
//!
//! An analyst imports ATT&CK once (50 MB, 24,772 objects) and partners' bundles now and then;
//! every later command needs the knowledge base in about a second. One embedded SQLite file
//! (rusqlite with the `bundled` feature, so a fresh machine needs no system library) gives
//! atomic imports, a schema that can be migrated, and room for the case store of a later
//! issue in the same file. Every table here is prefixed `intel_` so the two never collide.
//!
//! * `intel_imports` — one row per import: source path or URL, SHA-256, time, kind
//!   (`stix-bundle` or `misp-galaxy`) and what it did (added, updated, unchanged, older,
//!   invalid).
//! * `intel_objects` — one row per STIX id: type, `modified`, `revoked`, ATT&CK id, the import
//!   that wrote it, and the object as JSON. STIX versioning decides what a re-import does: a
//!   higher `modified` replaces the stored version, the same `modified` leaves it alone
//!   (re-importing is idempotent), a lower one is counted as `older` and ignored.
//! * `intel_documents` — non-STIX sources kept whole, keyed by kind: the MISP threat-actor
//!   galaxy, so its aliases survive between runs and are joined to the groups at load time.
//!
//! Each import runs in one transaction: a file that turns out to be truncated half-way leaves
//! the store exactly as it was. The database runs in WAL mode so a reader (a running `tiaki
//! attribute`) never blocks an import. `PRAGMA user_version` holds the schema version;
//! [`Store::open`] migrates older files forward and refuses newer ones.
//!
//! Objects that break a MUST rule of STIX 2.1 (checked with [`tiaki_stix::validate()`]) are
//! reported by id with the reason and skipped; the rest of the file is imported.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tiaki_stix::{BundleError, BundleReader, StixObject, Timestamp};

use crate::error::IntelError;
use crate::pack::{self, KbAssembler, LoadSummary, LoadedKb, Origin};

/// The schema version this build writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i32 = 1;

/// Environment variable naming tiaki's data directory; the store is `$TIAKI_HOME/tiaki.db`.
pub const HOME_ENV: &str = "TIAKI_HOME";

/// The store's file name inside the data directory.
pub const STORE_FILE: &str = "tiaki.db";

/// The SQL that takes a store from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 0 → 1: the knowledge base.
    "CREATE TABLE intel_imports (
        id             INTEGER PRIMARY KEY,
        source         TEXT NOT NULL,
        sha256         TEXT NOT NULL,
        kind           TEXT NOT NULL,
        imported_at    TEXT NOT NULL,
        objects        INTEGER NOT NULL,
        added          INTEGER NOT NULL,
        updated        INTEGER NOT NULL,
        unchanged      INTEGER NOT NULL,
        older          INTEGER NOT NULL,
        invalid        INTEGER NOT NULL,
        attack_version TEXT
    );
    CREATE TABLE intel_objects (
        id        TEXT PRIMARY KEY,
        type      TEXT NOT NULL,
        modified  TEXT,
        revoked   INTEGER NOT NULL DEFAULT 0,
        attack_id TEXT,
        import_id INTEGER NOT NULL REFERENCES intel_imports(id),
        json      TEXT NOT NULL
    );
    CREATE INDEX intel_objects_type ON intel_objects(type);
    CREATE INDEX intel_objects_attack_id ON intel_objects(attack_id);
    CREATE TABLE intel_documents (
        kind      TEXT NOT NULL,
        key       TEXT NOT NULL,
        version   INTEGER,
        import_id INTEGER NOT NULL REFERENCES intel_imports(id),
        json      TEXT NOT NULL,
        PRIMARY KEY (kind, key)
    );",
];

/// The STIX types the knowledge-base loader reads from the store (the rest, such as ATT&CK's
/// analytics and detection strategies, stay stored but are not loaded).
const LOADED_TYPES: &[&str] = &[
    "intrusion-set",
    "campaign",
    "attack-pattern",
    "malware",
    "tool",
    "course-of-action",
    "indicator",
    "relationship",
    "x-mitre-collection",
    "vulnerability",
    "identity",
    "location",
    "threat-actor",
];

/// The kind of `intel_documents` row holding a MISP galaxy.
const MISP_KIND: &str = "misp-galaxy";

/// What can go wrong with the store or an import.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The database said no.
    #[error("store {path}: {source}")]
    Sqlite {
        /// The store file.
        path: PathBuf,
        /// SQLite's reason.
        source: rusqlite::Error,
    },
    /// The store was written by a newer tiaki.
    #[error(
        "store {path}: schema version {found} is newer than this tiaki understands ({supported}); upgrade tiaki or use another --store"
    )]
    TooNew {
        /// The store file.
        path: PathBuf,
        /// Its `user_version`.
        found: i32,
        /// [`SCHEMA_VERSION`].
        supported: i32,
    },
    /// An input is neither a STIX bundle nor a MISP threat-actor galaxy, or is malformed.
    #[error("{origin}: {reason}")]
    BadInput {
        /// The file or URL.
        origin: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No place for the store: none of `TIAKI_HOME`, `XDG_DATA_HOME`, `HOME` is set.
    #[error("no place for the store: set TIAKI_HOME (or XDG_DATA_HOME or HOME), or pass --store")]
    NoLocation,
    /// Building the knowledge base from the store failed.
    #[error(transparent)]
    Intel(#[from] IntelError),
}

/// Shorthand for results of the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What an input file was recognised as.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImportKind {
    /// A STIX 2.x bundle.
    StixBundle,
    /// A MISP galaxy of threat-actor clusters.
    MispGalaxy,
}

impl ImportKind {
    /// The name stored in `intel_imports.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StixBundle => "stix-bundle",
            Self::MispGalaxy => "misp-galaxy",
        }
    }
}

/// An object that was not imported, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InvalidObject {
    /// Its position in the bundle's `objects` (or the galaxy's `values`).
    pub index: Option<usize>,
    /// Its id (a MISP cluster's `uuid`), when it had one.
    pub id: Option<String>,
    /// Every reason.
    pub reason: String,
}

/// What one import did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ImportReport {
    /// The `intel_imports` row.
    pub import_id: i64,
    /// The file path or URL.
    pub source: String,
    /// What the input was.
    pub kind: ImportKind,
    /// SHA-256 of the input bytes (hex).
    pub sha256: String,
    /// Size of the input in bytes.
    pub bytes: u64,
    /// Objects (or clusters) read.
    pub objects: usize,
    /// New to the store.
    pub added: usize,
    /// A newer version replaced the stored one.
    pub updated: usize,
    /// The same version was already stored.
    pub unchanged: usize,
    /// The store already holds a newer version; the input's was ignored.
    pub older: usize,
    /// Skipped because they break a MUST rule (or, for MISP, have no name).
    pub invalid: Vec<InvalidObject>,
    /// The ATT&CK version, from an `x-mitre-collection` object.
    pub attack_version: Option<String>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// One row of `intel_imports`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ImportRecord {
    /// Row id.
    pub id: i64,
    /// The file path or URL.
    pub source: String,
    /// SHA-256 of the input (hex).
    pub sha256: String,
    /// `stix-bundle` or `misp-galaxy`.
    pub kind: String,
    /// When (RFC 3339, UTC).
    pub imported_at: String,
    /// Objects read.
    pub objects: usize,
    /// Added.
    pub added: usize,
    /// Updated.
    pub updated: usize,
    /// Unchanged.
    pub unchanged: usize,
    /// Older than the stored version.
    pub older: usize,
    /// Invalid, skipped.
    pub invalid: usize,
    /// ATT&CK version, when the input carried one.
    pub attack_version: Option<String>,
}

/// The default store location: `$TIAKI_HOME/tiaki.db`, else `$XDG_DATA_HOME/tiaki/tiaki.db`,
/// else `~/.local/share/tiaki/tiaki.db`. Empty variables count as unset.
pub fn default_path() -> Result<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(home) = var(HOME_ENV) {
        return Ok(home.join(STORE_FILE));
    }
    if let Some(xdg) = var("XDG_DATA_HOME") {
        return Ok(xdg.join("tiaki").join(STORE_FILE));
    }
    var("HOME")
        .map(|h| h.join(".local/share/tiaki").join(STORE_FILE))
        .ok_or(StoreError::NoLocation)
}

/// SHA-256 of bytes, as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest.iter() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// The local knowledge-base store. See the module documentation.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// The stored version of an object, for the versioning decision.
struct Stored {
    modified: Option<String>,
    json: Option<String>,
}

/// How an incoming object compares with the stored one.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Add,
    Replace,
    Same,
    Older,
}

fn decide(
    incoming_modified: Option<&Timestamp>,
    incoming_json: &str,
    stored: Option<Stored>,
) -> Verdict {
    let Some(stored) = stored else {
        return Verdict::Add;
    };
    let stored_ts = stored
        .modified
        .as_deref()
        .and_then(|m| Timestamp::parse(m).ok());
    match (incoming_modified, stored_ts) {
        (Some(new), Some(old)) => match new.cmp(&old) {
            std::cmp::Ordering::Greater => Verdict::Replace,
            std::cmp::Ordering::Equal => Verdict::Same,
            std::cmp::Ordering::Less => Verdict::Older,
        },
        (Some(_), None) => Verdict::Replace,
        (None, Some(_)) => Verdict::Older,
        // Unversioned objects (SCOs, marking definitions): identical content is the same object.
        (None, None) => {
            if stored.json.as_deref() == Some(incoming_json) {
                Verdict::Same
            } else {
                Verdict::Replace
            }
        }
    }
}

impl Store {
    /// Opens (creating it and its directory if needed) and migrates the store at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let conn = Connection::open(&path).map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(sql)?;
        // WAL: readers never block the importer; NORMAL is durable at each checkpoint and
        // never corrupts in WAL mode.
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))
            .map_err(sql)?;
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
            .map_err(sql)?;
        let mut store = Store { conn, path };
        store.migrate()?;
        Ok(store)
    }

    /// Opens the store at `path` only if the file exists (read commands never create one).
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Option<Store>> {
        if path.as_ref().exists() {
            Store::open(path).map(Some)
        } else {
            Ok(None)
        }
    }

    fn sql(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Brings the schema to [`SCHEMA_VERSION`], one migration per version, in one transaction.
    fn migrate(&mut self) -> Result<()> {
        let found: i32 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| self.sql(e))?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        if found == SCHEMA_VERSION {
            return Ok(());
        }
        let path = self.path.clone();
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        for step in &MIGRATIONS[found.max(0) as usize..SCHEMA_VERSION as usize] {
            tx.execute_batch(step).map_err(sql)?;
        }
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(sql)?;
        tx.commit().map_err(sql)
    }

    /// The store file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the open store.
    pub fn schema_version(&self) -> Result<i32> {
        self.conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| self.sql(e))
    }

    /// Imports a file: a STIX bundle or a MISP threat-actor galaxy, recognised by content.
    pub fn import_file(&mut self, path: impl AsRef<Path>) -> Result<ImportReport> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        self.import_bytes(&path.display().to_string(), &bytes)
    }

    /// Imports bytes read from `source` (a path or URL, recorded in `intel_imports`).
    pub fn import_bytes(&mut self, source: &str, bytes: &[u8]) -> Result<ImportReport> {
        let t0 = Instant::now();
        let sha256 = sha256_hex(bytes);
        let mut report = match self.import_bundle(source, bytes, &sha256) {
            Err(StoreError::BadInput { reason, .. }) if reason.starts_with("not a STIX bundle") => {
                self.import_galaxy(source, bytes, &sha256, &reason)?
            }
            other => other?,
        };
        report.seconds = t0.elapsed().as_secs_f64();
        Ok(report)
    }

    fn insert_import(
        tx: &rusqlite::Transaction<'_>,
        source: &str,
        sha256: &str,
        kind: ImportKind,
    ) -> rusqlite::Result<i64> {
        tx.execute(
            "INSERT INTO intel_imports (source, sha256, kind, imported_at, objects, added, updated,
                 unchanged, older, invalid)
             VALUES (?1, ?2, ?3, ?4, 0, 0, 0, 0, 0, 0)",
            params![source, sha256, kind.as_str(), Timestamp::now().to_string()],
        )?;
        Ok(tx.last_insert_rowid())
    }

    fn finish_import(tx: &rusqlite::Transaction<'_>, r: &ImportReport) -> rusqlite::Result<()> {
        tx.execute(
            "UPDATE intel_imports SET objects = ?2, added = ?3, updated = ?4, unchanged = ?5,
                 older = ?6, invalid = ?7, attack_version = ?8 WHERE id = ?1",
            params![
                r.import_id,
                r.objects as i64,
                r.added as i64,
                r.updated as i64,
                r.unchanged as i64,
                r.older as i64,
                r.invalid.len() as i64,
                r.attack_version
            ],
        )?;
        Ok(())
    }

    /// Streams a bundle into `intel_objects` inside one transaction.
    fn import_bundle(&mut self, source: &str, bytes: &[u8], sha256: &str) -> Result<ImportReport> {
        let path = self.path.clone();
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        let import_id =
            Self::insert_import(&tx, source, sha256, ImportKind::StixBundle).map_err(sql)?;
        let mut report = ImportReport {
            import_id,
            source: source.to_owned(),
            kind: ImportKind::StixBundle,
            sha256: sha256.to_owned(),
            bytes: bytes.len() as u64,
            objects: 0,
            added: 0,
            updated: 0,
            unchanged: 0,
            older: 0,
            invalid: Vec::new(),
            attack_version: None,
            seconds: 0.0,
        };
        let mut failure: Option<rusqlite::Error> = None;
        let summary = {
            let mut get = tx
                .prepare("SELECT modified, CASE WHEN modified IS NULL THEN json END FROM intel_objects WHERE id = ?1")
                .map_err(sql)?;
            let mut put = tx
                .prepare(
                    "INSERT OR REPLACE INTO intel_objects (id, type, modified, revoked, attack_id, import_id, json)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(sql)?;
            let mut index = 0usize;
            let mut on_object = |obj: StixObject| -> rusqlite::Result<()> {
                let i = index;
                index += 1;
                report.objects += 1;
                let value = obj.to_value();
                let issues = tiaki_stix::validate(&value);
                if !issues.is_empty() {
                    report.invalid.push(InvalidObject {
                        index: Some(i),
                        id: Some(obj.id.clone()),
                        reason: issues
                            .iter()
                            .map(|is| {
                                if is.property.is_empty() {
                                    is.message.clone()
                                } else {
                                    format!("{}: {}", is.property, is.message)
                                }
                            })
                            .collect::<Vec<_>>()
                            .join("; "),
                    });
                    return Ok(());
                }
                if obj.type_ == "x-mitre-collection" {
                    report.attack_version = obj.get_str("x_mitre_version").map(str::to_owned);
                }
                let json = serde_json::to_string(&value).unwrap_or_default();
                let stored = get
                    .query_row(params![obj.id], |r| {
                        Ok(Stored {
                            modified: r.get(0)?,
                            json: r.get(1)?,
                        })
                    })
                    .optional()?;
                match decide(obj.modified.as_ref(), &json, stored) {
                    Verdict::Same => report.unchanged += 1,
                    Verdict::Older => report.older += 1,
                    v => {
                        if v == Verdict::Add {
                            report.added += 1;
                        } else {
                            report.updated += 1;
                        }
                        let attack_id = obj
                            .attack_id()
                            .or_else(|| obj.external_id("mitre-mobile-attack"))
                            .or_else(|| obj.external_id("mitre-ics-attack"));
                        put.execute(params![
                            obj.id,
                            obj.type_,
                            obj.modified.as_ref().map(|m| m.to_string()),
                            obj.is_revoked(),
                            attack_id,
                            import_id,
                            json
                        ])?;
                    }
                }
                Ok(())
            };
            let read = BundleReader::new().lenient(true).read_slice(bytes, |obj| {
                if failure.is_none()
                    && let Err(e) = on_object(obj)
                {
                    failure = Some(e);
                }
            });
            if let Some(e) = failure {
                // Dropping `tx` rolls everything back.
                return Err(sql(e));
            }
            match read {
                Ok(s) => s,
                Err(e) => {
                    return Err(StoreError::BadInput {
                        origin: source.to_owned(),
                        reason: bundle_error(e),
                    });
                }
            }
        };
        if summary.header.id.is_none() && summary.objects == 0 && summary.skipped.is_empty() {
            return Err(StoreError::BadInput {
                origin: source.to_owned(),
                reason: if summary.header.extra.contains_key("values") {
                    "not a STIX bundle: it has `values`".into()
                } else {
                    "not a STIX bundle: no `type`, `id` or `objects`".into()
                },
            });
        }
        for s in summary.skipped {
            if let BundleError::Object { index, id, reason } = s {
                report.objects += 1;
                report.invalid.push(InvalidObject {
                    index: Some(index),
                    id,
                    reason,
                });
            }
        }
        report.invalid.sort_by_key(|i| i.index);
        Self::finish_import(&tx, &report).map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(report)
    }

    /// Stores a MISP galaxy whole (one row per galaxy type), replacing an older version.
    fn import_galaxy(
        &mut self,
        source: &str,
        bytes: &[u8],
        sha256: &str,
        why_not_stix: &str,
    ) -> Result<ImportReport> {
        let bad = |reason: String| StoreError::BadInput {
            origin: source.to_owned(),
            reason,
        };
        let doc: Value =
            serde_json::from_slice(bytes).map_err(|e| bad(format!("not valid JSON: {e}")))?;
        let Some(values) = doc.get("values").and_then(Value::as_array) else {
            return Err(bad(format!(
                "{why_not_stix}, and not a MISP galaxy (no `values` array)"
            )));
        };
        let galaxy_type = doc
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("threat-actor")
            .to_owned();
        if galaxy_type != "threat-actor" {
            return Err(bad(format!(
                "a MISP galaxy of type `{galaxy_type}`; only the threat-actor galaxy is supported"
            )));
        }
        let version = doc.get("version").and_then(Value::as_i64);
        let mut report = ImportReport {
            import_id: 0,
            source: source.to_owned(),
            kind: ImportKind::MispGalaxy,
            sha256: sha256.to_owned(),
            bytes: bytes.len() as u64,
            objects: values.len(),
            added: 0,
            updated: 0,
            unchanged: 0,
            older: 0,
            invalid: Vec::new(),
            attack_version: None,
            seconds: 0.0,
        };
        let mut kept: Vec<Value> = Vec::with_capacity(values.len());
        for (i, c) in values.iter().enumerate() {
            let uuid = c.get("uuid").and_then(Value::as_str).map(str::to_owned);
            let reason = if !c.is_object() {
                Some("not a JSON object")
            } else if c
                .get("value")
                .and_then(Value::as_str)
                .is_none_or(|v| v.trim().is_empty())
            {
                Some("no `value` (the actor's name)")
            } else {
                None
            };
            match reason {
                Some(r) => report.invalid.push(InvalidObject {
                    index: Some(i),
                    id: uuid,
                    reason: r.into(),
                }),
                None => kept.push(c.clone()),
            }
        }
        let path = self.path.clone();
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        let stored: Option<(Option<i64>, String)> = tx
            .query_row(
                "SELECT version, json FROM intel_documents WHERE kind = ?1 AND key = ?2",
                params![MISP_KIND, galaxy_type],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(sql)?;
        report.import_id =
            Self::insert_import(&tx, source, sha256, ImportKind::MispGalaxy).map_err(sql)?;
        let old_clusters: HashMap<String, Value> = stored
            .as_ref()
            .and_then(|(_, j)| serde_json::from_str::<Value>(j).ok())
            .and_then(|d| d.get("values").and_then(Value::as_array).cloned())
            .unwrap_or_default()
            .into_iter()
            .map(|c| (cluster_key(&c), c))
            .collect();
        let is_older =
            matches!((&stored, version), (Some((Some(old), _)), Some(new)) if new < *old);
        if is_older {
            report.older = kept.len();
        } else {
            for c in &kept {
                match old_clusters.get(&cluster_key(c)) {
                    None => report.added += 1,
                    Some(old) if old == c => report.unchanged += 1,
                    Some(_) => report.updated += 1,
                }
            }
            let mut doc = doc;
            doc["values"] = Value::Array(kept);
            let json = serde_json::to_string(&doc).unwrap_or_default();
            if report.added + report.updated > 0 || stored.is_none() {
                tx.execute(
                    "INSERT OR REPLACE INTO intel_documents (kind, key, version, import_id, json)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![MISP_KIND, galaxy_type, version, report.import_id, json],
                )
                .map_err(sql)?;
            }
        }
        Self::finish_import(&tx, &report).map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(report)
    }

    /// Every import, oldest first.
    pub fn imports(&self) -> Result<Vec<ImportRecord>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT id, source, sha256, kind, imported_at, objects, added, updated, unchanged,
                        older, invalid, attack_version FROM intel_imports ORDER BY id",
            )
            .map_err(|e| self.sql(e))?;
        let rows = st
            .query_map([], |r| {
                Ok(ImportRecord {
                    id: r.get(0)?,
                    source: r.get(1)?,
                    sha256: r.get(2)?,
                    kind: r.get(3)?,
                    imported_at: r.get(4)?,
                    objects: r.get::<_, i64>(5)? as usize,
                    added: r.get::<_, i64>(6)? as usize,
                    updated: r.get::<_, i64>(7)? as usize,
                    unchanged: r.get::<_, i64>(8)? as usize,
                    older: r.get::<_, i64>(9)? as usize,
                    invalid: r.get::<_, i64>(10)? as usize,
                    attack_version: r.get(11)?,
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.sql(e))
    }

    /// Stored objects by STIX type.
    pub fn counts(&self) -> Result<BTreeMap<String, usize>> {
        let mut st = self
            .conn
            .prepare("SELECT type, COUNT(*) FROM intel_objects GROUP BY type")
            .map_err(|e| self.sql(e))?;
        let rows = st
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as usize))
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<rusqlite::Result<BTreeMap<_, _>>>()
            .map_err(|e| self.sql(e))
    }

    /// One stored object, as JSON.
    pub fn object(&self, stix_id: &str) -> Result<Option<Value>> {
        let json: Option<String> = self
            .conn
            .query_row(
                "SELECT json FROM intel_objects WHERE id = ?1",
                params![stix_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
    }

    /// Calls `f` with every stored object of the given types (all types when `None`).
    pub fn for_each_object(
        &self,
        types: Option<&[&str]>,
        mut f: impl FnMut(Value) -> Result<()>,
    ) -> Result<()> {
        let (query, args): (String, Vec<&str>) = match types {
            Some(ts) => (
                format!(
                    "SELECT json FROM intel_objects WHERE type IN ({})",
                    vec!["?"; ts.len()].join(",")
                ),
                ts.to_vec(),
            ),
            None => ("SELECT json FROM intel_objects".into(), Vec::new()),
        };
        let mut st = self.conn.prepare(&query).map_err(|e| self.sql(e))?;
        let mut rows = st
            .query(rusqlite::params_from_iter(args))
            .map_err(|e| self.sql(e))?;
        while let Some(row) = rows.next().map_err(|e| self.sql(e))? {
            let text = row
                .get_ref(0)
                .and_then(|v| v.as_str().map_err(Into::into))
                .map_err(|e| self.sql(e))?;
            let v: Value = serde_json::from_str(text).map_err(|e| StoreError::BadInput {
                origin: self.path.display().to_string(),
                reason: format!("a stored object is not valid JSON: {e}"),
            })?;
            f(v)?;
        }
        Ok(())
    }

    /// The stored MISP galaxies.
    pub fn misp_galaxies(&self) -> Result<Vec<Value>> {
        let mut st = self
            .conn
            .prepare("SELECT json FROM intel_documents WHERE kind = ?1 ORDER BY key")
            .map_err(|e| self.sql(e))?;
        let rows = st
            .query_map(params![MISP_KIND], |r| r.get::<_, String>(0))
            .map_err(|e| self.sql(e))?;
        let mut out = Vec::new();
        for j in rows {
            let j = j.map_err(|e| self.sql(e))?;
            if let Ok(v) = serde_json::from_str(&j) {
                out.push(v);
            }
        }
        Ok(out)
    }

    /// The effective knowledge base: the starter pack overlaid by everything in the store (see
    /// [`crate::pack`] for the rule), with the stored MISP galaxies joined.
    pub fn load_kb(&self) -> Result<LoadedKb> {
        self.load_kb_with_pack(Some(pack::STARTER_PACK))
    }

    /// Like [`Store::load_kb`] with another pack, or none.
    pub fn load_kb_with_pack(&self, pack_bundle: Option<&[u8]>) -> Result<LoadedKb> {
        let t0 = Instant::now();
        let mut a = KbAssembler::new();
        self.for_each_object(Some(LOADED_TYPES), |v| Ok(a.add(&v, Origin::Store)?))?;
        if let Some(p) = pack_bundle {
            a.overlay_pack(p)?;
        }
        for g in self.misp_galaxies()? {
            a.add_misp_galaxy(g);
        }
        Ok(a.finish(LoadSummary {
            store: Some(self.path.display().to_string()),
            seconds: t0.elapsed().as_secs_f64(),
            ..Default::default()
        })?)
    }
}

/// A MISP cluster's identity for add/update counting: its `uuid`, else its `value`.
fn cluster_key(c: &Value) -> String {
    c.get("uuid")
        .or_else(|| c.get("value"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn bundle_error(e: BundleError) -> String {
    match e {
        BundleError::NotABundle(why) => format!("not a STIX bundle: {why}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn versions_compare_as_timestamps_not_text() {
        let stored = |m: &str| {
            Some(Stored {
                modified: Some(m.into()),
                json: None,
            })
        };
        // ".5Z" < "Z" as text, but 54.5 s is later than 54 s.
        assert_eq!(
            decide(
                Some(&ts("2025-02-03T21:55:54.5Z")),
                "",
                stored("2025-02-03T21:55:54Z")
            ),
            Verdict::Replace
        );
        assert_eq!(
            decide(
                Some(&ts("2025-02-03T21:55:54.000Z")),
                "",
                stored("2025-02-03T21:55:54Z")
            ),
            Verdict::Same
        );
        assert_eq!(
            decide(
                Some(&ts("2024-01-01T00:00:00Z")),
                "",
                stored("2025-01-01T00:00:00Z")
            ),
            Verdict::Older
        );
        assert_eq!(decide(None, "{}", None), Verdict::Add);
        let unversioned = |j: &str| {
            Some(Stored {
                modified: None,
                json: Some(j.into()),
            })
        };
        assert_eq!(
            decide(None, "{\"a\":1}", unversioned("{\"a\":1}")),
            Verdict::Same
        );
        assert_eq!(
            decide(None, "{\"a\":2}", unversioned("{\"a\":1}")),
            Verdict::Replace
        );
    }

    #[test]
    fn default_path_prefers_tiaki_home() {
        // Only the pure function of the environment is checked here; the CLI tests run the
        // binary with each variable.
        let p = default_path();
        assert!(p.is_ok() || std::env::var_os("HOME").is_none());
    }

    #[test]
    fn hex_digest() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn migration_sets_user_version_and_refuses_newer_stores() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/t.db");
        let s = Store::open(&p).unwrap();
        assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
        drop(s);
        let c = Connection::open(&p).unwrap();
        c.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(c);
        let e = Store::open(&p).unwrap_err();
        assert!(matches!(e, StoreError::TooNew { .. }), "{e}");
    }

    #[test]
    fn galaxies_of_other_types_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path().join("t.db")).unwrap();
        let doc = json!({"type": "tool", "values": [{"value": "x"}]});
        let e = s
            .import_bytes("g.json", doc.to_string().as_bytes())
            .unwrap_err();
        assert!(
            e.to_string().contains("only the threat-actor galaxy"),
            "{e}"
        );
        let e = s.import_bytes("x.json", b"{\"a\": 1}").unwrap_err();
        assert!(e.to_string().contains("not a STIX bundle"), "{e}");
        assert!(s.imports().unwrap().is_empty());
    }
}
