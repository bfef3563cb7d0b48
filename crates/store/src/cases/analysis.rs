//! The analysis of a case: the report snapshot, its incidents and the attribution history.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};
use serde_json::Value;
use tiaki_report::Investigation;

use super::{AssessmentRow, IncidentRow, SEVERITIES, TopCandidate, get_u64, stricter, to_i64};
use crate::{CaseStore, Result, StoreError, now, sha256_hex};

impl CaseStore {
    /// Stores the case's analysis: the report snapshot (replacing the previous one), its
    /// incidents (replacing the previous ones), and its attribution assessment, appended to the
    /// history only if it differs from the latest one (timings aside).
    pub fn save_analysis(&mut self, case: &str, inv: &Investigation) -> Result<()> {
        let c = self.case_required(case)?;
        let path = &self.path;
        let sq = |e| StoreError::sqlite(path, e);
        let tx = self.conn.transaction().map_err(sq)?;
        let t = now();

        // The strictest TLP among the detections: what the assessment and snapshot derive from.
        let mut all_tlp = c.tlp.clone();
        {
            let mut st = tx
                .prepare("SELECT DISTINCT tlp FROM case_detections WHERE case_id = ?1")
                .map_err(sq)?;
            let labels = st
                .query_map([c.id], |r| r.get::<_, String>(0))
                .map_err(sq)?
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(sq)?;
            for l in labels {
                all_tlp = stricter(&all_tlp, &l);
            }
        }

        // Incidents: replaced; an incident keeps the strictest of the case's TLP, its
        // detections' TLP and the TLP its id had before (a re-analysis never loosens it).
        let previous: HashMap<String, String> = {
            let mut st = tx
                .prepare("SELECT id, tlp FROM case_incidents WHERE case_id = ?1")
                .map_err(sq)?;
            st.query_map([c.id], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(sq)?
                .collect::<std::result::Result<_, _>>()
                .map_err(sq)?
        };
        tx.execute("DELETE FROM case_incidents WHERE case_id = ?1", [c.id])
            .map_err(sq)?;
        {
            let mut find = tx
                .prepare(
                    "SELECT tlp FROM case_detections WHERE case_id = ?1 AND path = ?2
                       AND record_id IS ?3 AND line IS ?4 AND rule_title = ?5",
                )
                .map_err(sq)?;
            let mut ins = tx
                .prepare(
                    "INSERT INTO case_incidents (case_id, id, title, severity, severity_rank,
                        first_seen, last_seen, detections, tlp, json)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .map_err(sq)?;
            for inc in &inv.incidents {
                let mut tlp = c.tlp.clone();
                if let Some(p) = previous.get(&inc.id) {
                    tlp = stricter(&tlp, p);
                }
                for ev in &inc.events {
                    let labels = find
                        .query_map(
                            params![
                                c.id,
                                ev.source.path,
                                ev.source.record_id.map(to_i64),
                                ev.source.line.map(to_i64),
                                ev.rule_title
                            ],
                            |r| r.get::<_, String>(0),
                        )
                        .map_err(sq)?
                        .collect::<std::result::Result<Vec<_>, _>>()
                        .map_err(sq)?;
                    for l in labels {
                        tlp = stricter(&tlp, &l);
                    }
                }
                let sev = inc.severity.as_str();
                let rank = SEVERITIES.iter().position(|s| *s == sev).unwrap_or(0) as i64;
                ins.execute(params![
                    c.id,
                    inc.id,
                    inc.title,
                    sev,
                    rank,
                    inc.first_seen,
                    inc.last_seen,
                    inc.events.len() as i64,
                    tlp,
                    serde_json::to_string(inc)?
                ])
                .map_err(sq)?;
            }
        }

        // Assessment history.
        let mut assessment_id: Option<i64> = None;
        if let Some(a) = &inv.assessment {
            let mut timeless = a.clone();
            timeless.rank_micros = 0;
            let fingerprint = sha256_hex(&serde_json::to_vec(&timeless)?);
            let latest: Option<(i64, String)> = tx
                .query_row(
                    "SELECT id, fingerprint FROM case_assessments WHERE case_id = ?1
                     ORDER BY id DESC LIMIT 1",
                    [c.id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(sq)?;
            match latest {
                Some((id, f)) if f == fingerprint => assessment_id = Some(id),
                _ => {
                    let top = a.candidates.first();
                    let verdict = if a.verdict.is_attributed() {
                        "attributed"
                    } else {
                        "insufficient-evidence"
                    };
                    tx.execute(
                        "INSERT INTO case_assessments (case_id, created, top_id, top_name,
                            top_probability, verdict, fingerprint, tlp, json)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                        params![
                            c.id,
                            t,
                            top.map(|x| x.id.as_str()),
                            top.map(|x| x.name.as_str()),
                            top.map(|x| x.probability),
                            verdict,
                            fingerprint,
                            all_tlp,
                            serde_json::to_string(a)?
                        ],
                    )
                    .map_err(sq)?;
                    assessment_id = Some(tx.last_insert_rowid());
                }
            }
        }

        tx.execute(
            "INSERT INTO case_analysis (case_id, saved, assessment_id, tlp, json)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(case_id) DO UPDATE SET saved = excluded.saved,
               assessment_id = excluded.assessment_id, tlp = excluded.tlp, json = excluded.json",
            params![c.id, t, assessment_id, all_tlp, serde_json::to_string(inv)?],
        )
        .map_err(sq)?;
        tx.execute(
            "UPDATE case_cases SET updated = ?2 WHERE id = ?1",
            params![c.id, t],
        )
        .map_err(sq)?;
        tx.commit().map_err(sq)?;
        Ok(())
    }

    /// The case's current analysis (the report snapshot), if one was saved.
    pub fn analysis(&self, case: &str) -> Result<Option<Investigation>> {
        let id = self.case_id(case)?;
        let json: Option<String> = self
            .conn
            .query_row(
                "SELECT json FROM case_analysis WHERE case_id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        match json {
            Some(j) => Ok(Some(serde_json::from_str(&j)?)),
            None => Ok(None),
        }
    }

    /// The incidents of the case's current analysis, by id.
    pub fn incidents(&self, case: &str) -> Result<Vec<IncidentRow>> {
        let id = self.case_id(case)?;
        let mut st = self
            .conn
            .prepare(
                "SELECT id, title, severity, first_seen, last_seen, detections, tlp, json
                 FROM case_incidents WHERE case_id = ?1 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([id], |r| {
                Ok((
                    IncidentRow {
                        id: r.get(0)?,
                        title: r.get(1)?,
                        severity: r.get(2)?,
                        first_seen: r.get(3)?,
                        last_seen: r.get(4)?,
                        detections: get_u64(r, 5)?,
                        tlp: r.get(6)?,
                        incident: Value::Null,
                    },
                    r.get::<_, String>(7)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (mut inc, json) = row.map_err(|e| self.err(e))?;
            inc.incident = serde_json::from_str(&json)?;
            out.push(inc);
        }
        Ok(out)
    }

    /// The case's attribution history, oldest first.
    pub fn assessments(&self, case: &str) -> Result<Vec<AssessmentRow>> {
        let id = self.case_id(case)?;
        let mut st = self
            .conn
            .prepare(
                "SELECT id, created, top_id, top_name, top_probability, verdict, tlp, json
                 FROM case_assessments WHERE case_id = ?1 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([id], |r| {
                let top_id: Option<String> = r.get(2)?;
                let top = match top_id {
                    Some(id) => Some(TopCandidate {
                        id,
                        name: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                        probability: r.get::<_, Option<f64>>(4)?.unwrap_or_default(),
                    }),
                    None => None,
                };
                Ok((
                    AssessmentRow {
                        id: r.get(0)?,
                        created: r.get(1)?,
                        top,
                        verdict: r.get(5)?,
                        tlp: r.get(6)?,
                        assessment: Value::Null,
                    },
                    r.get::<_, String>(7)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (mut a, json) = row.map_err(|e| self.err(e))?;
            a.assessment = serde_json::from_str(&json)?;
            out.push(a);
        }
        Ok(out)
    }
}
