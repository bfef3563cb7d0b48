//! Detections: adding them without duplicates, and reading them back (paged and filtered, one
//! by key, or all of them).

use rusqlite::types::Value as SqlValue;
use rusqlite::{OptionalExtension, Row, params, params_from_iter};
use tiaki::Detection;

use super::columns::{level_rank, search_text, sortable_time, time_bound};
use super::{
    AddedCount, DEFAULT_PAGE, DetectionPage, DetectionQuery, MAX_PAGE, StoredDetection, Verdict,
    VerdictFilter, VerdictRow, canonical_tlp, get_u64, stricter, to_i64,
};
use crate::{CaseStore, Result, StoreError, now, sha256_hex};

/// The key of a detection: SHA-256 of its JSON (and the JSON itself).
fn detection_key(d: &Detection) -> Result<(String, String)> {
    let json = serde_json::to_string(d)?;
    Ok((sha256_hex(json.as_bytes()), json))
}

/// The key [`CaseStore::add_detections`] gives `d`.
pub fn key_of(d: &Detection) -> Result<String> {
    detection_key(d).map(|(k, _)| k)
}

pub(super) const DET_COLS: &str = "key, tlp, json, verdict, verdict_by, verdict_reason, verdict_at";

/// The raw columns of [`DET_COLS`], decoded outside the row callback (JSON errors are ours).
type DetRaw = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn det_raw(r: &Row<'_>) -> rusqlite::Result<DetRaw> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn det_from_raw(raw: DetRaw) -> Result<StoredDetection> {
    let (key, tlp, json, verdict, by, reason, at) = raw;
    let verdict = match verdict {
        Some(v) => Some(VerdictRow {
            key: key.clone(),
            verdict: Verdict::parse(&v)?,
            analyst: by.unwrap_or_default(),
            reason: reason.unwrap_or_default(),
            at: at.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(StoredDetection {
        detection: serde_json::from_str(&json)?,
        key,
        tlp,
        verdict,
    })
}

impl CaseStore {
    /// Adds detections to the case in one transaction; those it already has (same key) are
    /// counted, not added. `tlp` (default: the case's) labels them, except that an indicator
    /// hit whose indicator's TLP is stricter keeps that.
    pub fn add_detections(
        &mut self,
        case: &str,
        detections: &[Detection],
        tlp: Option<&str>,
    ) -> Result<AddedCount> {
        let c = self.case_required(case)?;
        let base = match tlp {
            Some(t) => canonical_tlp(t)?.to_string(),
            None => c.tlp.clone(),
        };
        let path = &self.path;
        let sq = |e| StoreError::sqlite(path, e);
        let tx = self.conn.transaction().map_err(sq)?;
        let mut count = AddedCount::default();
        let t = now();
        {
            let mut st = tx
                .prepare(
                    "INSERT INTO case_detections (case_id, key, ts, level, host, rule_id,
                        rule_title, kind, attack, path, record_id, line, search, tlp, json, added_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
                     ON CONFLICT(case_id, key) DO NOTHING",
                )
                .map_err(sq)?;
            for d in detections {
                let (key, json) = detection_key(d)?;
                let item_tlp = match d.indicator.as_ref().and_then(|i| i.tlp.as_deref()) {
                    Some(it) => stricter(&base, it),
                    None => base.clone(),
                };
                let attack = d
                    .attack
                    .iter()
                    .map(|a| a.trim().to_ascii_uppercase())
                    .collect::<Vec<_>>()
                    .join(" ");
                let n = st
                    .execute(params![
                        c.id,
                        key,
                        d.timestamp.as_deref().map(sortable_time),
                        d.level.and_then(|l| level_rank(l.as_str())),
                        d.host,
                        d.rule_id,
                        d.rule_title,
                        d.kind.as_str(),
                        attack,
                        d.source.path,
                        d.source.record_id.map(to_i64),
                        d.source.line.map(to_i64),
                        search_text(d),
                        item_tlp,
                        json,
                        t
                    ])
                    .map_err(sq)?;
                if n == 1 {
                    count.added += 1;
                } else {
                    count.already += 1;
                }
            }
        }
        if count.added > 0 {
            tx.execute(
                "UPDATE case_cases SET updated = ?2 WHERE id = ?1",
                params![c.id, t],
            )
            .map_err(sq)?;
        }
        tx.commit().map_err(sq)?;
        Ok(count)
    }

    /// One page of the case's detections that match `q`, in time order, with the total.
    pub fn detections(&self, case: &str, q: &DetectionQuery) -> Result<DetectionPage> {
        let id = self.case_id(case)?;
        let mut conds = vec!["case_id = ?".to_string()];
        let mut args: Vec<SqlValue> = vec![SqlValue::Integer(id)];
        if let Some(text) = &q.text {
            for word in text.split_whitespace() {
                conds.push("instr(search, ?) > 0".into());
                args.push(SqlValue::Text(word.to_lowercase()));
            }
        }
        if let Some(l) = q.min_level.as_deref().filter(|s| !s.trim().is_empty()) {
            let rank = level_rank(l.trim()).ok_or_else(|| {
                StoreError::Invalid(format!(
                    "min_level '{l}' is not a level (informational, low, medium, high, critical)"
                ))
            })?;
            conds.push("level >= ?".into());
            args.push(SqlValue::Integer(rank));
        }
        if let Some(h) = q.host.as_deref().filter(|s| !s.trim().is_empty()) {
            conds.push("host = ?".into());
            args.push(SqlValue::Text(h.trim().to_string()));
        }
        if let Some(r) = q.rule.as_deref().filter(|s| !s.trim().is_empty()) {
            conds.push("(rule_id = ? OR instr(lower(rule_title), ?) > 0)".into());
            args.push(SqlValue::Text(r.trim().to_string()));
            args.push(SqlValue::Text(r.trim().to_ascii_lowercase()));
        }
        if let Some(k) = q.kind.as_deref().filter(|s| !s.trim().is_empty()) {
            let k = k.trim().to_ascii_lowercase();
            if !["detection", "correlation", "indicator", "yara"].contains(&k.as_str()) {
                return Err(StoreError::Invalid(format!(
                    "kind '{k}' is not detection, correlation, indicator or yara"
                )));
            }
            conds.push("kind = ?".into());
            args.push(SqlValue::Text(k));
        }
        if let Some(t) = q.technique.as_deref().filter(|s| !s.trim().is_empty()) {
            let t = t.trim().to_ascii_uppercase();
            if t.contains(char::is_whitespace) {
                return Err(StoreError::Invalid(format!(
                    "technique '{t}' is not a technique id"
                )));
            }
            // A prefix of one of the space-separated ids.
            conds.push("instr(' ' || attack, ?) > 0".into());
            args.push(SqlValue::Text(format!(" {t}")));
        }
        match q.verdict {
            Some(VerdictFilter::Tp) => conds.push("verdict = 'true-positive'".into()),
            Some(VerdictFilter::Fp) => conds.push("verdict = 'false-positive'".into()),
            Some(VerdictFilter::None) => {
                conds.push("(verdict IS NULL OR verdict = 'undetermined')".into())
            }
            Some(VerdictFilter::Any) => {
                conds.push("verdict IN ('true-positive', 'false-positive')".into())
            }
            None => {}
        }
        if let Some(s) = q.since.as_deref().filter(|s| !s.trim().is_empty()) {
            conds.push("ts >= ?".into());
            args.push(SqlValue::Text(time_bound("since", s, false)?));
        }
        if let Some(s) = q.until.as_deref().filter(|s| !s.trim().is_empty()) {
            conds.push("ts <= ?".into());
            args.push(SqlValue::Text(time_bound("until", s, true)?));
        }
        let filter = conds.join(" AND ");
        let total = self
            .conn
            .query_row(
                &format!("SELECT COUNT(*) FROM case_detections WHERE {filter}"),
                params_from_iter(args.iter()),
                |r| get_u64(r, 0),
            )
            .map_err(|e| self.err(e))?;
        let limit = q.limit.unwrap_or(DEFAULT_PAGE).min(MAX_PAGE);
        let dir = if q.newest_first { "DESC" } else { "ASC" };
        let sql = format!(
            "SELECT {DET_COLS} FROM case_detections WHERE {filter}
             ORDER BY ts {dir}, path {dir}, record_id {dir}, line {dir}, id {dir}
             LIMIT ? OFFSET ?"
        );
        args.push(SqlValue::Integer(to_i64(limit)));
        args.push(SqlValue::Integer(to_i64(q.offset)));
        let mut st = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let raws = st
            .query_map(params_from_iter(args.iter()), det_raw)
            .map_err(|e| self.err(e))?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        let rows = raws
            .into_iter()
            .map(det_from_raw)
            .collect::<Result<Vec<_>>>()?;
        Ok(DetectionPage { total, rows })
    }

    /// One detection of the case, by key.
    pub fn detection(&self, case: &str, key: &str) -> Result<Option<StoredDetection>> {
        let id = self.case_id(case)?;
        let raw = self
            .conn
            .query_row(
                &format!("SELECT {DET_COLS} FROM case_detections WHERE case_id = ?1 AND key = ?2"),
                params![id, key],
                det_raw,
            )
            .optional()
            .map_err(|e| self.err(e))?;
        raw.map(det_from_raw).transpose()
    }

    pub(super) fn stored_detections(&self, case_id: i64) -> Result<Vec<StoredDetection>> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {DET_COLS} FROM case_detections WHERE case_id = ?1
                 ORDER BY ts, path, record_id, line, id"
            ))
            .map_err(|e| self.err(e))?;
        let raws = st
            .query_map([case_id], det_raw)
            .map_err(|e| self.err(e))?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        raws.into_iter().map(det_from_raw).collect()
    }

    /// Every detection of the case, ordered by (time, path, record id, line): what the case
    /// is re-correlated from after each hunt.
    pub fn all_detections(&self, case: &str) -> Result<Vec<Detection>> {
        let id = self.case_id(case)?;
        let mut st = self
            .conn
            .prepare(
                "SELECT json FROM case_detections WHERE case_id = ?1
                 ORDER BY ts, path, record_id, line, id",
            )
            .map_err(|e| self.err(e))?;
        let jsons = st
            .query_map([id], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        jsons
            .iter()
            .map(|j| serde_json::from_str(j).map_err(StoreError::from))
            .collect()
    }
}
