//! A case's timeline page and the verdict form on its rows.
//!
//! The page shows the report's timeline chart over a filtered, paged table of the case's
//! detections; writers get a true/false-positive form on each row, whose `POST` records the
//! verdict and comes back to the same page with the same filter.

use std::fmt::Write;

use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;

use super::page::{esc, frame, pct};
use super::{data_error, form_writer, html_page, load_case, redirect, session};
use crate::SharedState;
use crate::api::data::{self, DataError, Filter, text};

const LEVELS: [&str; 5] = ["informational", "low", "medium", "high", "critical"];
const KINDS: [&str; 4] = ["detection", "correlation", "indicator", "yara"];
/// The verdict filter's options (the store's `VerdictFilter`).
const VERDICTS: [(&str, &str); 4] = [
    ("none", "not decided"),
    ("tp", "true positive"),
    ("fp", "false positive"),
    ("any", "decided (TP or FP)"),
];

fn query_string(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", pct(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn select(
    b: &mut String,
    name: &str,
    label: &str,
    current: Option<&str>,
    options: &[(&str, &str)],
) {
    let _ = write!(
        b,
        "<label>{label}<select name=\"{name}\" id=\"f-{name}\"><option value=\"\">any</option>"
    );
    for (v, l) in options {
        let _ = write!(
            b,
            "<option value=\"{v}\"{}>{l}</option>",
            if current == Some(*v) { " selected" } else { "" }
        );
    }
    b.push_str("</select></label>");
}

fn input(b: &mut String, name: &str, label: &str, current: Option<&str>, kind: &str, hint: &str) {
    let _ = write!(
        b,
        "<label>{label}<input type=\"{kind}\" name=\"{name}\" id=\"f-{name}\" value=\"{}\" placeholder=\"{hint}\"></label>",
        esc(current.unwrap_or_default())
    );
}

/// The normalised verdict of a stored detection row (`true-positive`…), if any.
fn row_verdict(row: &Value) -> Option<(String, String)> {
    let v = row.get("verdict").filter(|v| !v.is_null())?;
    let raw = match v {
        Value::String(s) => s.clone(),
        _ => text(v, &["verdict", "value"])?,
    };
    let name = data::parse_verdict(&raw)
        .map(|v| data::verdict_name(v).to_owned())
        .unwrap_or(raw);
    let by = text(v, &["analyst", "by", "author"]).unwrap_or_default();
    Some((name, by))
}

/// A short summary of a detection's event: a few telling fields.
fn event_summary(d: &Value) -> String {
    const FIELDS: [&str; 12] = [
        "CommandLine",
        "Image",
        "TargetFilename",
        "cs-uri-stem",
        "c-uri",
        "TargetUserName",
        "SubjectUserName",
        "IpAddress",
        "DestinationIp",
        "ServiceName",
        "ScriptBlockText",
        "QueryName",
    ];
    let Some(ev) = d.get("event").and_then(Value::as_object) else {
        return String::new();
    };
    let mut parts = Vec::new();
    for f in FIELDS {
        if let Some(v) = ev.get(f) {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            parts.push(format!("{f}={v}"));
        }
        if parts.len() == 3 {
            break;
        }
    }
    if parts.is_empty() {
        for (k, v) in ev.iter().take(3) {
            parts.push(format!(
                "{k}={}",
                v.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string())
            ));
        }
    }
    tiaki_report::text::truncate(&parts.join(" · "), 240)
}

pub(super) async fn timeline(
    State(st): State<SharedState>,
    headers: HeaderMap,
    uri: Uri,
    Path(name): Path<String>,
    q: Result<Query<Filter>, QueryRejection>,
) -> Response {
    let s = match session(&st, &headers, &uri).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let c = match load_case(&st, &s, name.clone()).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (filter, mut error) = match q {
        Ok(Query(f)) => (f, None),
        Err(e) => (Filter::default(), Some(e.body_text())),
    };
    let page = if error.is_none() {
        let f = filter.clone();
        match st
            .pool
            .run(move |store| data::detections(store, &name, &f))
            .await
        {
            Ok(p) => Some(p),
            Err(DataError::Invalid(m)) => {
                error = Some(m);
                None
            }
            Err(e) => return data_error(&st, &s, e),
        }
    } else {
        None
    };
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<header class=\"top\"><div class=\"org\">{}</div><h1>Timeline</h1></header>",
        esc(&c.title())
    );
    if let Some(inv) = &c.analysis {
        let mut chart = String::new();
        tiaki_report::html::timeline(&mut chart, inv);
        // The detections table below is `#timeline`; the report's chart gets its own id.
        b.push_str(&chart.replacen(
            "<section id=\"timeline\">\n<h2>Timeline</h2>",
            "<section id=\"timeline-chart\">\n<h2>Incident activity</h2>",
            1,
        ));
    }
    // The filter form.
    let base = format!("/cases/{}/timeline", pct(&c.name));
    let _ = write!(
        b,
        "<section id=\"detections\"><h2>Detections</h2>\n<form id=\"filters\" method=\"get\" action=\"{}\">",
        esc(&base)
    );
    input(
        &mut b,
        "text",
        "Search",
        filter.text.as_deref(),
        "search",
        "rule, host, command line…",
    );
    let levels: Vec<(&str, &str)> = LEVELS.iter().map(|l| (*l, *l)).collect();
    select(
        &mut b,
        "min_level",
        "Level at least",
        filter.min_level.as_deref(),
        &levels,
    );
    input(
        &mut b,
        "host",
        "Host",
        filter.host.as_deref(),
        "text",
        "PDO-WEB01",
    );
    input(
        &mut b,
        "technique",
        "Technique",
        filter.technique.as_deref(),
        "text",
        "T1505.003",
    );
    let kinds: Vec<(&str, &str)> = KINDS.iter().map(|k| (*k, *k)).collect();
    select(&mut b, "kind", "Kind", filter.kind.as_deref(), &kinds);
    select(
        &mut b,
        "verdict",
        "Verdict",
        filter.verdict.as_deref(),
        &VERDICTS,
    );
    input(
        &mut b,
        "since",
        "Since",
        filter.since.as_deref(),
        "text",
        "2025-03-03T00:00:00Z",
    );
    input(
        &mut b,
        "until",
        "Until",
        filter.until.as_deref(),
        "text",
        "2025-03-20",
    );
    select(
        &mut b,
        "limit",
        "Per page",
        filter.limit.as_deref(),
        &[("25", "25"), ("50", "50"), ("100", "100"), ("250", "250")],
    );
    let _ = write!(
        b,
        "<label class=\"check\"><input type=\"checkbox\" name=\"newest_first\" value=\"true\"{}> newest first</label>",
        if filter.newest_first.as_deref() == Some("true") {
            " checked"
        } else {
            ""
        }
    );
    let _ = writeln!(
        b,
        "<button type=\"submit\" id=\"apply-filters\">Filter</button> <a href=\"{}\" id=\"clear-filters\">Clear</a></form>",
        esc(&base)
    );
    let status = if let Some(e) = &error {
        let _ = writeln!(b, "<p class=\"error\" id=\"filter-error\">{}</p>", esc(e));
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = page.unwrap_or(Value::Null);
    let rows = page
        .get("rows")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let total = page.get("total").and_then(Value::as_u64).unwrap_or(0);
    let offset = page.get("offset").and_then(Value::as_u64).unwrap_or(0);
    let limit = page
        .get("limit")
        .and_then(Value::as_u64)
        .unwrap_or(data::DEFAULT_LIMIT as u64);
    let _ = writeln!(
        b,
        "<p class=\"note\" id=\"timeline-count\" data-total=\"{total}\">{}</p>",
        if rows.is_empty() {
            format!("No detections match ({total} in all).")
        } else {
            format!(
                "Detections {}–{} of {total}.",
                offset + 1,
                offset + rows.len() as u64
            )
        }
    );
    // What to come back to after a verdict: this page, same filter.
    let back = query_string(&filter.pairs());
    let write = s.can_write();
    b.push_str("<table id=\"timeline\" class=\"ev\"><colgroup><col style=\"width:150px\"><col style=\"width:110px\"><col style=\"width:80px\"><col style=\"width:20%\"><col style=\"width:90px\"><col><col style=\"width:170px\"></colgroup><thead><tr><th>Time (UTC)</th><th>Host</th><th>Level</th><th>Rule</th><th>Technique</th><th>What happened</th><th>Verdict</th></tr></thead><tbody>\n");
    for r in &rows {
        let key = text(r, &["key"]).unwrap_or_default();
        let d = r.get("detection").unwrap_or(&Value::Null);
        let level = text(d, &["level"]).unwrap_or_default();
        let attack = d
            .get("attack")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        let source = d.get("source").map(|s| {
            let path = text(s, &["path"]).unwrap_or_default();
            match (text(s, &["record_id"]), text(s, &["line"])) {
                (Some(rec), _) => format!("{path}#{rec}"),
                (None, Some(l)) => format!("{path}:{l}"),
                _ => path,
            }
        });
        let verdict = row_verdict(r);
        let _ = write!(
            b,
            "<tr class=\"det{}\" data-key=\"{}\"><td class=\"t\">{}</td><td>{}</td><td class=\"lvl {}\">{}</td><td>{}<div class=\"kind\">{}</div></td><td class=\"mono\">{}</td><td class=\"sum\">{}<div class=\"src\" title=\"{}\">{}</div></td><td class=\"verdict-cell\">",
            verdict
                .as_ref()
                .map(|(v, _)| format!(
                    " v-{}",
                    match v.as_str() {
                        "true-positive" => "tp",
                        "false-positive" => "fp",
                        "undetermined" => "un",
                        _ => "other",
                    }
                ))
                .unwrap_or_default(),
            esc(&key),
            esc(&text(d, &["timestamp"]).unwrap_or_else(|| "—".into())),
            esc(&text(d, &["host"]).unwrap_or_else(|| "—".into())),
            match level.as_str() {
                "critical" => "lvl-critical",
                "high" => "lvl-high",
                "medium" => "lvl-medium",
                _ => "",
            },
            esc(&level),
            esc(&text(d, &["rule_title"]).unwrap_or_default()),
            esc(&text(d, &["kind"]).unwrap_or_default()),
            esc(&attack),
            esc(&event_summary(d)),
            esc(source.as_deref().unwrap_or_default()),
            esc(&tiaki_report::text::truncate_start(
                source.as_deref().unwrap_or_default(),
                60
            )),
        );
        match &verdict {
            Some((v, by)) => {
                let _ = write!(
                    b,
                    "<span class=\"verdict-label\">{}</span>{}",
                    esc(v),
                    if by.is_empty() {
                        String::new()
                    } else {
                        format!(" <span class=\"note\">{}</span>", esc(by))
                    }
                );
            }
            None => b.push_str("<span class=\"verdict-label none\">—</span>"),
        }
        if write && !key.is_empty() {
            let _ = write!(
                b,
                "<form class=\"vform\" method=\"post\" action=\"/cases/{}/detections/{}/verdict\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"back\" value=\"{}\"><input type=\"text\" name=\"reason\" placeholder=\"reason\" aria-label=\"reason\"><button type=\"submit\" name=\"verdict\" value=\"true-positive\" class=\"tp\" title=\"True positive\">TP</button><button type=\"submit\" name=\"verdict\" value=\"false-positive\" class=\"fp\" title=\"False positive\">FP</button></form>",
                esc(&pct(&c.name)),
                esc(&pct(&key)),
                esc(s.csrf.as_deref().unwrap_or_default()),
                esc(&back)
            );
        }
        b.push_str("</td></tr>\n");
    }
    b.push_str("</tbody></table>\n<nav id=\"paging\">");
    let mut pairs: Vec<(&str, String)> = filter
        .pairs()
        .into_iter()
        .filter(|(k, _)| *k != "offset")
        .map(|(k, v)| (k, v.to_owned()))
        .collect();
    let link = |pairs: &mut Vec<(&str, String)>, off: u64| {
        pairs.retain(|(k, _)| *k != "offset");
        pairs.push(("offset", off.to_string()));
        let p: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        format!("{base}?{}", query_string(&p))
    };
    if offset > 0 {
        let prev = link(&mut pairs, offset.saturating_sub(limit));
        let _ = write!(
            b,
            "<a rel=\"prev\" id=\"prev-page\" href=\"{}\">← Previous</a> ",
            esc(&prev)
        );
    }
    if offset + (rows.len() as u64) < total {
        let next = link(&mut pairs, offset + limit);
        let _ = write!(
            b,
            "<a rel=\"next\" id=\"next-page\" href=\"{}\">Next →</a>",
            esc(&next)
        );
    }
    b.push_str("</nav>\n</section>\n");
    let tlp = c.tlp();
    html_page(
        status,
        frame(
            &st.config.title,
            &format!("{} · Timeline", c.name),
            Some(&s.viewer()),
            Some(&c.nav(&tlp, "timeline")),
            &b,
        ),
    )
}

// ---------------------------------------------------------------------------------------------
// Verdicts

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(super) struct VerdictForm {
    csrf: String,
    verdict: String,
    reason: String,
    back: String,
}

pub(super) async fn verdict(
    State(st): State<SharedState>,
    headers: HeaderMap,
    uri: Uri,
    Path((name, key)): Path<(String, String)>,
    f: Result<Form<VerdictForm>, FormRejection>,
) -> Response {
    if let Err(e) = &f
        && let Some(r) = super::too_large(&st, e)
    {
        return r;
    }
    let f = f.map(|Form(f)| f).unwrap_or_default();
    let s = match form_writer(&st, &headers, &uri, &f.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let user = s.who.user.clone();
    let (n, k) = (name.clone(), key.clone());
    let r = st
        .pool
        .run(move |store| {
            data::set_verdict(store, &n, &k, &f.verdict, &user, &f.reason).map(|_| f.back)
        })
        .await;
    match r {
        Ok(back) => {
            // Only a query string (the filter) comes back from the form, on a fixed path.
            let back = if back
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~%&=+".contains(&b))
            {
                back
            } else {
                String::new()
            };
            let to = format!(
                "/cases/{}/timeline{}{}#timeline",
                pct(&name),
                if back.is_empty() { "" } else { "?" },
                back
            );
            redirect(StatusCode::SEE_OTHER, &to)
        }
        Err(e) => data_error(&st, &s, e),
    }
}
