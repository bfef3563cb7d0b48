//! An analyst's triage: verdicts on detections, notes, and the TLP label of each item.

use rusqlite::types::Value as SqlValue;
use rusqlite::{OptionalExtension, params};

use super::validate::valid_text;
use super::{ItemRef, MAX_TEXT, Note, NoteTarget, Verdict, VerdictRow, canonical_tlp};
use crate::{CaseStore, Result, StoreError, now};

impl CaseStore {
    /// Records an analyst's verdict on a detection of the case (it becomes the current one;
    /// every verdict is kept in the history). `NotFound` if the case has no such detection.
    pub fn set_verdict(
        &mut self,
        case: &str,
        detection_key: &str,
        verdict: Verdict,
        analyst: &str,
        reason: &str,
    ) -> Result<()> {
        valid_text("analyst", analyst, 256, false)?;
        valid_text("reason", reason, MAX_TEXT, true)?;
        let id = self.case_id(case)?;
        let path = &self.path;
        let sq = |e| StoreError::sqlite(path, e);
        let tx = self.conn.transaction().map_err(sq)?;
        let t = now();
        let n = tx
            .execute(
                "UPDATE case_detections SET verdict = ?3, verdict_by = ?4, verdict_reason = ?5,
                    verdict_at = ?6 WHERE case_id = ?1 AND key = ?2",
                params![id, detection_key, verdict.as_str(), analyst, reason, t],
            )
            .map_err(sq)?;
        if n == 0 {
            return Err(StoreError::NotFound {
                kind: "detection",
                name: detection_key.to_owned(),
            });
        }
        tx.execute(
            "INSERT INTO case_verdicts (case_id, key, verdict, analyst, reason, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id, detection_key, verdict.as_str(), analyst, reason, t],
        )
        .map_err(sq)?;
        tx.execute(
            "UPDATE case_cases SET updated = ?2 WHERE id = ?1",
            params![id, t],
        )
        .map_err(sq)?;
        tx.commit().map_err(sq)
    }

    /// Every verdict given in the case, oldest first.
    pub fn verdicts(&self, case: &str) -> Result<Vec<VerdictRow>> {
        let id = self.case_id(case)?;
        let mut st = self
            .conn
            .prepare(
                "SELECT key, verdict, analyst, reason, at FROM case_verdicts
                 WHERE case_id = ?1 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (key, v, analyst, reason, at) = row.map_err(|e| self.err(e))?;
            out.push(VerdictRow {
                key,
                verdict: Verdict::parse(&v)?,
                analyst,
                reason,
                at,
            });
        }
        Ok(out)
    }

    /// Adds a note to the case, one of its detections or one of its incidents; returns its id.
    /// The note's TLP defaults to the case's.
    pub fn add_note(
        &mut self,
        case: &str,
        target: NoteTarget,
        author: &str,
        text: &str,
        tlp: Option<&str>,
    ) -> Result<i64> {
        valid_text("author", author, 256, false)?;
        valid_text("note text", text, MAX_TEXT, false)?;
        let c = self.case_required(case)?;
        let tlp = match tlp {
            Some(t) => canonical_tlp(t)?.to_string(),
            None => c.tlp.clone(),
        };
        let (kind, target_id) = match &target {
            NoteTarget::Case => ("case", String::new()),
            NoteTarget::Detection(k) => {
                self.require_item(
                    "SELECT 1 FROM case_detections WHERE case_id = ?1 AND key = ?2",
                    c.id,
                    k,
                    "detection",
                )?;
                ("detection", k.clone())
            }
            NoteTarget::Incident(i) => {
                self.require_item(
                    "SELECT 1 FROM case_incidents WHERE case_id = ?1 AND id = ?2",
                    c.id,
                    i,
                    "incident",
                )?;
                ("incident", i.clone())
            }
        };
        let t = now();
        self.conn
            .execute(
                "INSERT INTO case_notes (case_id, target_kind, target_id, author, text, tlp, created)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![c.id, kind, target_id, author, text, tlp, t],
            )
            .map_err(|e| self.err(e))?;
        let id = self.conn.last_insert_rowid();
        self.touch(c.id)?;
        Ok(id)
    }

    fn require_item(&self, sql: &str, case_id: i64, id: &str, kind: &'static str) -> Result<()> {
        let found: Option<i64> = self
            .conn
            .query_row(sql, params![case_id, id], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?;
        match found {
            Some(_) => Ok(()),
            None => Err(StoreError::NotFound {
                kind,
                name: id.to_owned(),
            }),
        }
    }

    /// The case's notes, oldest first.
    pub fn notes(&self, case: &str) -> Result<Vec<Note>> {
        let id = self.case_id(case)?;
        let mut st = self
            .conn
            .prepare(
                "SELECT id, target_kind, target_id, author, text, tlp, created FROM case_notes
                 WHERE case_id = ?1 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([id], |r| {
                let kind: String = r.get(1)?;
                let tid: String = r.get(2)?;
                let target = match kind.as_str() {
                    "detection" => NoteTarget::Detection(tid),
                    "incident" => NoteTarget::Incident(tid),
                    _ => NoteTarget::Case,
                };
                Ok(Note {
                    id: r.get(0)?,
                    target,
                    author: r.get(3)?,
                    text: r.get(4)?,
                    tlp: r.get(5)?,
                    created: r.get(6)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))
    }

    // -- TLP -----------------------------------------------------------------------------------

    /// Sets the TLP label of one item of the case (of the case itself: the default for items
    /// added from now on). Items keep their own label when the case's changes.
    pub fn set_tlp(&mut self, case: &str, item: ItemRef, tlp: &str) -> Result<()> {
        let tlp = canonical_tlp(tlp)?;
        let id = self.case_id(case)?;
        let (sql, arg, kind): (&str, SqlValue, &'static str) = match &item {
            ItemRef::Case => (
                "UPDATE case_cases SET tlp = ?3 WHERE id = ?1 AND ?2 IS NULL",
                SqlValue::Null,
                "case",
            ),
            ItemRef::Evidence(e) => (
                "UPDATE case_evidence SET tlp = ?3 WHERE case_id = ?1 AND id = ?2",
                SqlValue::Integer(*e),
                "evidence",
            ),
            ItemRef::Detection(k) => (
                "UPDATE case_detections SET tlp = ?3 WHERE case_id = ?1 AND key = ?2",
                SqlValue::Text(k.clone()),
                "detection",
            ),
            ItemRef::Incident(i) => (
                "UPDATE case_incidents SET tlp = ?3 WHERE case_id = ?1 AND id = ?2",
                SqlValue::Text(i.clone()),
                "incident",
            ),
            ItemRef::Assessment(a) => (
                "UPDATE case_assessments SET tlp = ?3 WHERE case_id = ?1 AND id = ?2",
                SqlValue::Integer(*a),
                "assessment",
            ),
            ItemRef::Note(n) => (
                "UPDATE case_notes SET tlp = ?3 WHERE case_id = ?1 AND id = ?2",
                SqlValue::Integer(*n),
                "note",
            ),
        };
        let name = match &arg {
            SqlValue::Integer(i) => i.to_string(),
            SqlValue::Text(s) => s.clone(),
            _ => case.to_owned(),
        };
        let n = self
            .conn
            .execute(sql, params![id, arg, tlp])
            .map_err(|e| self.err(e))?;
        if n == 0 {
            return Err(StoreError::NotFound { kind, name });
        }
        self.touch(id)
    }
}
