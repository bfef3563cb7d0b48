//! Evidence sources and their chain of custody, and the hunt runs recorded into a case.

use rusqlite::params;

use super::validate::{valid_sha256, valid_text};
use super::{
    CustodyEntry, EvidenceRow, IntegrityCheck, NewEvidence, RunFile, RunRecord, RunRow,
    canonical_tlp, get_u64, to_i64,
};
use crate::{CaseStore, Result, StoreError, now};

impl CaseStore {
    /// Adds an evidence source to the case's custody. Returns `true` if it is new; otherwise
    /// the original `added_by`/`added_at` are kept and a `re-hunted` custody entry records who
    /// brought it again and when.
    pub fn add_evidence(&mut self, case: &str, ev: &NewEvidence) -> Result<bool> {
        valid_text("evidence path", &ev.path, 4096, false)?;
        valid_text("added_by", &ev.added_by, 256, false)?;
        let sha = valid_sha256(&ev.sha256)?;
        let c = self.case_required(case)?;
        let tlp = match &ev.tlp {
            Some(t) => canonical_tlp(t)?.to_string(),
            None => c.tlp.clone(),
        };
        let path = &self.path;
        let tx = self
            .conn
            .transaction()
            .map_err(|e| StoreError::sqlite(path, e))?;
        let t = now();
        let new = tx
            .execute(
                "INSERT INTO case_evidence (case_id, path, sha256, size, added_by, added_at, tlp)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
                params![c.id, ev.path, sha, to_i64(ev.size), ev.added_by, t, tlp],
            )
            .map_err(|e| StoreError::sqlite(path, e))?
            == 1;
        tx.execute(
            "INSERT INTO case_custody (case_id, sha256, path, action, actor, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                c.id,
                sha,
                ev.path,
                if new { "added" } else { "re-hunted" },
                ev.added_by,
                t
            ],
        )
        .map_err(|e| StoreError::sqlite(path, e))?;
        tx.execute(
            "UPDATE case_cases SET updated = ?2 WHERE id = ?1",
            params![c.id, t],
        )
        .map_err(|e| StoreError::sqlite(path, e))?;
        tx.commit().map_err(|e| StoreError::sqlite(path, e))?;
        Ok(new)
    }

    /// The case's evidence sources, in the order they were added.
    pub fn evidence(&self, case: &str) -> Result<Vec<EvidenceRow>> {
        let id = self.case_id(case)?;
        let mut st = self
            .conn
            .prepare(
                "SELECT id, path, sha256, size, added_by, added_at, tlp FROM case_evidence
                 WHERE case_id = ?1 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([id], |r| {
                Ok(EvidenceRow {
                    id: r.get(0)?,
                    path: r.get(1)?,
                    sha256: r.get(2)?,
                    size: get_u64(r, 3)?,
                    added_by: r.get(4)?,
                    added_at: r.get(5)?,
                    tlp: r.get(6)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))
    }

    /// The case's chain of custody, oldest first.
    pub fn custody(&self, case: &str) -> Result<Vec<CustodyEntry>> {
        let id = self.case_id(case)?;
        let mut st = self
            .conn
            .prepare(
                "SELECT sha256, path, action, actor, at FROM case_custody
                 WHERE case_id = ?1 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([id], |r| {
                Ok(CustodyEntry {
                    sha256: r.get(0)?,
                    path: r.get(1)?,
                    action: r.get(2)?,
                    by: r.get(3)?,
                    at: r.get(4)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))
    }

    // -- Runs ----------------------------------------------------------------------------------

    /// Records a hunt run into the case, with its per-file accounts and integrity checks, in
    /// one transaction; returns its id.
    pub fn record_run(&mut self, case: &str, run: &RunRecord) -> Result<i64> {
        valid_text("run by", &run.by, 256, false)?;
        for c in &run.integrity {
            for h in [&c.sha256_before, &c.sha256_after].into_iter().flatten() {
                valid_sha256(h)?;
            }
        }
        let id = self.case_id(case)?;
        let path = &self.path;
        let tx = self
            .conn
            .transaction()
            .map_err(|e| StoreError::sqlite(path, e))?;
        tx.execute(
            "INSERT INTO case_runs (case_id, actor, started, finished, paths, rules, events,
                detections_added, detections_already)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                id,
                run.by,
                run.started,
                run.finished,
                serde_json::to_string(&run.paths)?,
                to_i64(run.rules),
                to_i64(run.events),
                to_i64(run.detections_added),
                to_i64(run.detections_already)
            ],
        )
        .map_err(|e| StoreError::sqlite(path, e))?;
        let run_id = tx.last_insert_rowid();
        {
            let mut st = tx
                .prepare(
                    "INSERT INTO case_run_files (run_id, path, format, events, hunted,
                        outside_window, without_timestamp, skipped, complete)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .map_err(|e| StoreError::sqlite(path, e))?;
            for f in &run.files {
                st.execute(params![
                    run_id,
                    f.path,
                    f.format,
                    to_i64(f.events),
                    to_i64(f.hunted),
                    to_i64(f.outside_window),
                    to_i64(f.without_timestamp),
                    serde_json::to_string(&f.skipped)?,
                    f.complete
                ])
                .map_err(|e| StoreError::sqlite(path, e))?;
            }
            let mut st = tx
                .prepare(
                    "INSERT INTO case_run_integrity (run_id, path, sha256_before, sha256_after,
                        size_before, size_after, intact, problem)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(|e| StoreError::sqlite(path, e))?;
            for c in &run.integrity {
                st.execute(params![
                    run_id,
                    c.path,
                    c.sha256_before.as_deref().map(str::to_ascii_lowercase),
                    c.sha256_after.as_deref().map(str::to_ascii_lowercase),
                    c.size_before.map(to_i64),
                    c.size_after.map(to_i64),
                    c.intact,
                    c.problem
                ])
                .map_err(|e| StoreError::sqlite(path, e))?;
            }
        }
        tx.commit().map_err(|e| StoreError::sqlite(path, e))?;
        self.touch(id)?;
        Ok(run_id)
    }

    /// The case's hunt runs, oldest first, with their per-file accounts and integrity checks.
    pub fn runs(&self, case: &str) -> Result<Vec<RunRow>> {
        let id = self.case_id(case)?;
        let mut st = self
            .conn
            .prepare(
                "SELECT id, actor, started, finished, paths, rules, events, detections_added,
                    detections_already FROM case_runs WHERE case_id = ?1 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    RunRecord {
                        by: r.get(1)?,
                        started: r.get(2)?,
                        finished: r.get(3)?,
                        paths: Vec::new(),
                        rules: get_u64(r, 5)?,
                        events: get_u64(r, 6)?,
                        detections_added: get_u64(r, 7)?,
                        detections_already: get_u64(r, 8)?,
                        files: Vec::new(),
                        integrity: Vec::new(),
                    },
                    r.get::<_, String>(4)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, mut run, paths) = row.map_err(|e| self.err(e))?;
            run.paths = serde_json::from_str(&paths)?;
            run.files = self.run_files(id)?;
            run.integrity = self.run_integrity(id)?;
            out.push(RunRow { id, run });
        }
        Ok(out)
    }

    fn run_files(&self, run: i64) -> Result<Vec<RunFile>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT path, format, events, hunted, outside_window, without_timestamp, skipped,
                    complete FROM case_run_files WHERE run_id = ?1 ORDER BY rowid",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([run], |r| {
                Ok((
                    RunFile {
                        path: r.get(0)?,
                        format: r.get(1)?,
                        events: get_u64(r, 2)?,
                        hunted: get_u64(r, 3)?,
                        outside_window: get_u64(r, 4)?,
                        without_timestamp: get_u64(r, 5)?,
                        skipped: Default::default(),
                        complete: r.get(7)?,
                    },
                    r.get::<_, String>(6)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (mut f, skipped) = row.map_err(|e| self.err(e))?;
            f.skipped = serde_json::from_str(&skipped)?;
            out.push(f);
        }
        Ok(out)
    }

    fn run_integrity(&self, run: i64) -> Result<Vec<IntegrityCheck>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT path, sha256_before, sha256_after, size_before, size_after, intact, problem
                 FROM case_run_integrity WHERE run_id = ?1 ORDER BY rowid",
            )
            .map_err(|e| self.err(e))?;
        let size = |r: &rusqlite::Row<'_>, i| -> rusqlite::Result<Option<u64>> {
            Ok(r.get::<_, Option<i64>>(i)?.map(|n| n.max(0) as u64))
        };
        let rows = st
            .query_map([run], |r| {
                Ok(IntegrityCheck {
                    path: r.get(0)?,
                    sha256_before: r.get(1)?,
                    sha256_after: r.get(2)?,
                    size_before: size(r, 3)?,
                    size_after: size(r, 4)?,
                    intact: r.get(5)?,
                    problem: r.get(6)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))
    }
}
