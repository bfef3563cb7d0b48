//! The SQL behind the TAXII store: storing one object, the filter condition, the clock that
//! makes `date_added` strictly increasing, and the pagination cursor.

use rusqlite::types::Value as Sql;
use rusqlite::{OptionalExtension, params};
use serde_json::Value;

use super::{
    Collection, ObjectQuery, StatusDetail, TS_FORMAT, VersionMatch, hex, object_tlp, ts_key,
};
use crate::{Result, StoreError, now};

/// Stores one object, or says why not. The outer error is SQLite's; the inner one a refusal.
pub(super) fn add_one(
    tx: &rusqlite::Transaction<'_>,
    coll: &Collection,
    obj: &Value,
    last: &mut String,
) -> rusqlite::Result<std::result::Result<StatusDetail, StatusDetail>> {
    let id = obj
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let modified = obj.get("modified").and_then(Value::as_str);
    let detail = |version: &str, msg: &str| StatusDetail {
        id: id.clone(),
        version: version.to_owned(),
        message: (!msg.is_empty()).then(|| msg.to_owned()),
    };
    let fail = |msg: String| Ok(Err(detail(modified.unwrap_or(""), &msg)));
    let Some(ty) = obj
        .get("type")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    else {
        return fail("the object has no type".into());
    };
    if !valid_stix_id(&id, ty) {
        return fail(format!("id '{id}' is not of the form {ty}--<UUID>"));
    }
    match obj.get("spec_version") {
        None => {}
        Some(Value::String(s)) if s == "2.1" => {}
        Some(v) => return fail(format!("spec_version {v} is not supported (only 2.1)")),
    }
    let tlp = object_tlp(obj).unwrap_or(coll.max_tlp);
    if tlp > coll.max_tlp {
        return fail(format!(
            "{} is above the collection's TLP ceiling ({})",
            tlp.label(),
            coll.max_tlp.label()
        ));
    }
    let key = match modified.map(ts_key) {
        Some(None) => return fail("modified is not an RFC 3339 timestamp".into()),
        Some(Some(k)) => Some(k),
        None => None,
    };
    let existing: Option<(String, String)> = tx
        .query_row(
            "SELECT json, version FROM taxii_objects WHERE collection_id = ?1 AND stix_id = ?2
               AND (?3 IS NULL OR version_key = ?3) ORDER BY seq LIMIT 1",
            params![coll.id, id, key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((json, version)) = existing {
        let same = serde_json::from_str::<Value>(&json).is_ok_and(|old| old == *obj);
        return Ok(if same {
            Ok(detail(&version, "already in the collection, identical"))
        } else {
            Err(detail(
                &version,
                "a different object with this id and version is already in the collection",
            ))
        });
    }
    let date_added = next_date_added(last);
    last.clone_from(&date_added);
    let version = modified.unwrap_or(&date_added).to_owned();
    tx.execute(
        "INSERT INTO taxii_objects (collection_id, stix_id, type, spec_version, version,
           version_key, date_added, tlp, json) VALUES (?1, ?2, ?3, '2.1', ?4, ?5, ?6, ?7, ?8)",
        params![
            coll.id,
            id,
            ty,
            version,
            key.unwrap_or_else(|| date_added.clone()),
            date_added,
            tlp as i64,
            serde_json::to_string(obj).unwrap_or_default(),
        ],
    )?;
    Ok(Ok(detail(&version, "")))
}

/// The SQL condition (on alias `o`) and its arguments for the filters of `q`, without paging.
pub(super) fn filter_sql(collection_id: &str, q: &ObjectQuery) -> Result<(String, Vec<Sql>)> {
    let mut cond = String::from("o.collection_id = ?");
    let mut args = vec![Sql::Text(collection_id.to_owned())];
    let in_list = |cond: &mut String, args: &mut Vec<Sql>, col: &str, vals: &[String]| {
        if !vals.is_empty() {
            let marks = vec!["?"; vals.len()].join(", ");
            cond.push_str(&format!(" AND {col} IN ({marks})"));
            args.extend(vals.iter().map(|v| Sql::Text(v.clone())));
        }
    };
    in_list(&mut cond, &mut args, "o.stix_id", &q.ids);
    in_list(&mut cond, &mut args, "o.type", &q.types);
    in_list(&mut cond, &mut args, "o.spec_version", &q.spec_versions);
    let terms = if q.versions.0.is_empty() {
        &[VersionMatch::Last][..]
    } else {
        &q.versions.0[..]
    };
    if !terms.contains(&VersionMatch::All) {
        let mut ors = vec![];
        for t in terms {
            let agg = match t {
                VersionMatch::At(k) => {
                    ors.push("o.version_key = ?".to_owned());
                    args.push(Sql::Text(k.clone()));
                    continue;
                }
                VersionMatch::First => "MIN",
                _ => "MAX",
            };
            let mut sub = format!(
                "o.version_key = (SELECT {agg}(v.version_key) FROM taxii_objects v
                 WHERE v.collection_id = o.collection_id AND v.stix_id = o.stix_id"
            );
            in_list(&mut sub, &mut args, "v.spec_version", &q.spec_versions);
            sub.push(')');
            ors.push(sub);
        }
        cond.push_str(&format!(" AND ({})", ors.join(" OR ")));
    }
    if let Some(a) = &q.added_after {
        let key = ts_key(a).ok_or_else(|| {
            StoreError::Invalid(format!("added_after: '{a}' is not an RFC 3339 timestamp"))
        })?;
        cond.push_str(" AND o.date_added > ?");
        args.push(Sql::Text(key));
    }
    Ok((cond, args))
}

/// The next `date_added`: now, or one microsecond after the last one if the clock has not
/// moved on (or went back).
pub(super) fn next_date_added(last: &str) -> String {
    let n = now();
    if n.as_str() > last {
        return n;
    }
    chrono::DateTime::parse_from_rfc3339(last)
        .map(|d| {
            (d.with_timezone(&chrono::Utc) + chrono::Duration::microseconds(1))
                .format(TS_FORMAT)
                .to_string()
        })
        .unwrap_or(n)
}

pub(super) fn valid_stix_id(id: &str, ty: &str) -> bool {
    let Some(uuid) = id.strip_prefix(ty).and_then(|r| r.strip_prefix("--")) else {
        return false;
    };
    let groups: Vec<&str> = uuid.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// FNV-1a of the filters (not the paging) of a query: ties a cursor to its filters.
pub(super) fn fingerprint(q: &ObjectQuery) -> u64 {
    let text = format!(
        "{:?}|{:?}|{:?}|{:?}|{:?}",
        q.ids, q.types, q.versions, q.spec_versions, q.added_after
    );
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

pub(super) fn encode_cursor(date_added: &str, seq: i64, fp: u64) -> String {
    hex(format!("{date_added}|{seq}|{fp:016x}").as_bytes())
}

pub(super) fn decode_cursor(c: &str, fp: u64) -> Result<(String, i64)> {
    let bad =
        || StoreError::Invalid("next: not a cursor this server issued for these filters".into());
    if !c.len().is_multiple_of(2) || !c.is_ascii() {
        return Err(bad());
    }
    let bytes = (0..c.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&c[i..i + 2], 16))
        .collect::<std::result::Result<Vec<u8>, _>>()
        .map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let mut parts = text.split('|');
    let (Some(date), Some(seq), Some(f), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let seq = seq.parse().map_err(|_| bad())?;
    if f != format!("{fp:016x}") || ts_key(date).is_none() {
        return Err(bad());
    }
    Ok((date.to_owned(), seq))
}
