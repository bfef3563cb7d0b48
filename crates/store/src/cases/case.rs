//! Cases themselves: creating, reading, listing, opening and closing them.

use rusqlite::{OptionalExtension, Row, params};

use super::validate::{valid_case_name, valid_text};
use super::{Case, CaseSummary, DEFAULT_TLP, SEVERITIES, TopCandidate, canonical_tlp, get_u64};
use crate::{CaseStore, Result, StoreError, now};

const CASE_COLS: &str = "id, name, title, organisation, tlp, status, created, updated";

fn case_from_row(r: &Row<'_>) -> rusqlite::Result<Case> {
    Ok(Case {
        id: r.get(0)?,
        name: r.get(1)?,
        title: r.get(2)?,
        organisation: r.get(3)?,
        tlp: r.get(4)?,
        status: r.get(5)?,
        created: r.get(6)?,
        updated: r.get(7)?,
    })
}

impl CaseStore {
    /// The row id of a case.
    pub(super) fn case_id(&self, name: &str) -> Result<i64> {
        Ok(self.case_required(name)?.id)
    }

    pub(super) fn case_required(&self, name: &str) -> Result<Case> {
        self.case(name)?.ok_or_else(|| StoreError::NotFound {
            kind: "case",
            name: name.to_owned(),
        })
    }

    pub(super) fn touch(&self, case_id: i64) -> Result<()> {
        self.conn
            .execute(
                "UPDATE case_cases SET updated = ?2 WHERE id = ?1",
                params![case_id, now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Creates the case `name`, or returns it. `Some` title, organisation or TLP set those on
    /// an existing case too; a new case defaults to its name as title and [`DEFAULT_TLP`].
    pub fn ensure_case(
        &mut self,
        name: &str,
        title: Option<&str>,
        organisation: Option<&str>,
        tlp: Option<&str>,
    ) -> Result<Case> {
        valid_case_name(name)?;
        if let Some(t) = title {
            valid_text("title", t, 1024, true)?;
        }
        if let Some(o) = organisation {
            valid_text("organisation", o, 1024, true)?;
        }
        let tlp = tlp.map(canonical_tlp).transpose()?;
        let t = now();
        self.conn
            .execute(
                "INSERT INTO case_cases (name, title, organisation, tlp, status, created, updated)
                 VALUES (?1, ?2, ?3, ?4, 'open', ?5, ?5)
                 ON CONFLICT(name) DO NOTHING",
                params![
                    name,
                    title.unwrap_or(name),
                    organisation.unwrap_or(""),
                    tlp.unwrap_or(DEFAULT_TLP),
                    t
                ],
            )
            .map_err(|e| self.err(e))?;
        let case = self.case_required(name)?;
        let changed = title.is_some_and(|v| v != case.title)
            || organisation.is_some_and(|v| v != case.organisation)
            || tlp.is_some_and(|v| v != case.tlp);
        if changed {
            self.conn
                .execute(
                    "UPDATE case_cases SET title = COALESCE(?2, title),
                        organisation = COALESCE(?3, organisation), tlp = COALESCE(?4, tlp),
                        updated = ?5 WHERE id = ?1",
                    params![case.id, title, organisation, tlp, now()],
                )
                .map_err(|e| self.err(e))?;
            return self.case_required(name);
        }
        Ok(case)
    }

    /// The case `name`, if it exists.
    pub fn case(&self, name: &str) -> Result<Option<Case>> {
        self.conn
            .query_row(
                &format!("SELECT {CASE_COLS} FROM case_cases WHERE name = ?1"),
                [name],
                case_from_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Opens or closes a case (`open` or `closed`).
    pub fn set_case_status(&mut self, name: &str, status: &str) -> Result<()> {
        let status = status.trim().to_ascii_lowercase();
        if status != "open" && status != "closed" {
            return Err(StoreError::Invalid(format!(
                "status '{status}' is not open or closed"
            )));
        }
        let id = self.case_id(name)?;
        self.conn
            .execute(
                "UPDATE case_cases SET status = ?2, updated = ?3 WHERE id = ?1",
                params![id, status, now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Every case, by name, with its counts, worst incident, top attribution and last run.
    pub fn cases(&self) -> Result<Vec<CaseSummary>> {
        let sql = "SELECT c.id, c.name, c.title, c.organisation, c.tlp, c.status, c.created, c.updated,
              (SELECT COUNT(*) FROM case_evidence e WHERE e.case_id = c.id),
              (SELECT COUNT(*) FROM case_detections d WHERE d.case_id = c.id),
              (SELECT COUNT(*) FROM case_incidents i WHERE i.case_id = c.id),
              (SELECT COUNT(*) FROM case_detections d WHERE d.case_id = c.id AND d.verdict = 'true-positive'),
              (SELECT COUNT(*) FROM case_detections d WHERE d.case_id = c.id AND d.verdict = 'false-positive'),
              (SELECT MAX(severity_rank) FROM case_incidents i WHERE i.case_id = c.id),
              a.top_id, a.top_name, a.top_probability,
              (SELECT MAX(finished) FROM case_runs r WHERE r.case_id = c.id)
            FROM case_cases c
            LEFT JOIN case_analysis an ON an.case_id = c.id
            LEFT JOIN case_assessments a ON a.id = an.assessment_id
            ORDER BY c.name";
        let mut st = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                let sev: Option<i64> = r.get(13)?;
                let top_id: Option<String> = r.get(14)?;
                let top = match top_id {
                    Some(id) => Some(TopCandidate {
                        id,
                        name: r.get::<_, Option<String>>(15)?.unwrap_or_default(),
                        probability: r.get::<_, Option<f64>>(16)?.unwrap_or_default(),
                    }),
                    None => None,
                };
                Ok(CaseSummary {
                    case: case_from_row(r)?,
                    evidence: get_u64(r, 8)?,
                    detections: get_u64(r, 9)?,
                    incidents: get_u64(r, 10)?,
                    true_positives: get_u64(r, 11)?,
                    false_positives: get_u64(r, 12)?,
                    max_severity: sev
                        .and_then(|s| SEVERITIES.get(usize::try_from(s).ok()?))
                        .map(|s| s.to_string()),
                    top_attribution: top,
                    last_run: r.get(17)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))
    }
}
