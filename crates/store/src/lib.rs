//! The case store: everything an investigation accumulates over weeks, in one SQLite file.
//!
//! # Why one embedded file
//!
//! A case lasts weeks and passes between analysts; the store must survive restarts, be copied
//! as one file into an evidence locker, and need no database server on an air-gapped
//! investigation laptop. SQLite (through rusqlite, `bundled`, so a fresh machine needs no
//! system library) in WAL mode lets the web console read while a hunt writes.
//!
//! # Layout
//!
//! * [`cases`] — cases, evidence sources with their SHA-256 and custody (who added what when),
//!   detections (deduplicated, so re-running a hunt adds nothing twice), the analysis
//!   (incidents, attribution assessments, the report snapshot), analyst notes and verdicts.
//! * [`auth`] — users with roles, API tokens (stored as SHA-256 hashes, compared in constant
//!   time), console sessions, per-collection grants.
//! * [`taxii`] — TAXII 2.1 collections, their objects and versions, and add-objects status
//!   resources.
//!
//! Every table is prefixed (`case_`, `auth_`, `taxii_`) so the store can share a file with the
//! knowledge base (`intel_` tables, which keep their own `user_version` schema number). The
//! case store's schema is versioned by the migrations it has applied, recorded by name in
//! `store_migrations`: [`CaseStore::open`] applies the missing ones, each in its own
//! transaction, and refuses a file that has migrations this build does not know.

pub mod auth;
pub mod cases;
mod error;
mod settings;
pub mod taxii;

pub use error::{Result, StoreError};

use std::path::{Path, PathBuf};

use rusqlite::Connection;

/// The schema migrations, in order: `(name, SQL)`. Names are recorded in `store_migrations`;
/// never edit or reorder a released migration, add a new one.
const MIGRATIONS: &[(&str, &str)] = &[
    ("001_cases", include_str!("../migrations/001_cases.sql")),
    ("002_auth", include_str!("../migrations/002_auth.sql")),
    ("003_taxii", include_str!("../migrations/003_taxii.sql")),
    (
        "004_settings",
        include_str!("../migrations/004_settings.sql"),
    ),
    (
        "005_run_accounts",
        include_str!("../migrations/005_run_accounts.sql"),
    ),
    (
        "006_partner_users",
        include_str!("../migrations/006_partner_users.sql"),
    ),
];

/// An open case store.
///
/// One `CaseStore` is one SQLite connection: not shared between threads at once. A server
/// opens several (WAL mode lets them read in parallel while one writes).
pub struct CaseStore {
    pub(crate) conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for CaseStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaseStore")
            .field("path", &self.path)
            .finish()
    }
}

impl CaseStore {
    /// Opens (creating it and its directory if needed) and migrates the store at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<CaseStore> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open(&path).map_err(|e| StoreError::sqlite(&path, e))?;
        let mut store = CaseStore { conn, path };
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    /// An in-memory store (tests, dry runs): same schema, nothing written to disk.
    pub fn in_memory() -> Result<CaseStore> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|e| StoreError::sqlite(&path, e))?;
        let mut store = CaseStore { conn, path };
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    fn configure(&mut self) -> Result<()> {
        self.conn
            .busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| self.err(e))?;
        // WAL: the console reads while a hunt writes. NORMAL is durable at each checkpoint and
        // never corrupts in WAL mode.
        self.conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))
            .map_err(|e| self.err(e))?;
        self.conn
            .execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
            .map_err(|e| self.err(e))
    }

    /// The store file (`:memory:` for [`CaseStore::in_memory`]).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Wraps a SQLite error with the store's path.
    pub(crate) fn err(&self, e: rusqlite::Error) -> StoreError {
        StoreError::sqlite(&self.path, e)
    }

    /// The names of the migrations applied to this file, in order.
    pub fn applied_migrations(&self) -> Result<Vec<String>> {
        let mut st = self
            .conn
            .prepare("SELECT name FROM store_migrations ORDER BY name")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))
    }

    /// Applies every migration not yet recorded, each in one transaction.
    fn migrate(&mut self) -> Result<()> {
        self.conn
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS store_migrations (
                    name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)",
            )
            .map_err(|e| self.err(e))?;
        let applied = self.applied_migrations()?;
        if let Some(unknown) = applied
            .iter()
            .find(|a| !MIGRATIONS.iter().any(|(n, _)| n == a))
        {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                migration: unknown.clone(),
            });
        }
        for (name, sql) in MIGRATIONS {
            if applied.iter().any(|a| a == name) {
                continue;
            }
            let path = self.path.clone();
            let tx = self
                .conn
                .transaction()
                .map_err(|e| StoreError::sqlite(&path, e))?;
            tx.execute_batch(sql).map_err(|e| StoreError::Migration {
                path: path.clone(),
                migration: name.to_string(),
                source: e,
            })?;
            tx.execute(
                "INSERT INTO store_migrations (name, applied_at) VALUES (?1, ?2)",
                rusqlite::params![name, now()],
            )
            .map_err(|e| StoreError::sqlite(&path, e))?;
            tx.commit().map_err(|e| StoreError::sqlite(&path, e))?;
        }
        Ok(())
    }
}

/// The current time, RFC 3339 UTC with microseconds (`2026-11-29T13:45:01.123456Z`): the one
/// timestamp format the store writes, which sorts as text.
pub fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in d.iter() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once_and_are_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("case.db");
        let s = CaseStore::open(&p).unwrap();
        let names: Vec<String> = MIGRATIONS.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(s.applied_migrations().unwrap(), names);
        drop(s);
        let s = CaseStore::open(&p).unwrap();
        assert_eq!(s.applied_migrations().unwrap(), names);
    }

    #[test]
    fn a_file_from_a_newer_build_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("case.db");
        let s = CaseStore::open(&p).unwrap();
        s.conn
            .execute(
                "INSERT INTO store_migrations VALUES ('999_future', '2030-01-01T00:00:00Z')",
                [],
            )
            .unwrap();
        drop(s);
        let e = CaseStore::open(&p).unwrap_err().to_string();
        assert!(e.contains("999_future"), "{e}");
    }

    #[test]
    fn sha256_of_empty() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
