//! The case list, a case's overview page, and the form that adds a note to a case.
//!
//! The overview is the page an analyst lands on: the three key judgements, incidents in brief,
//! evidence and custody, hunts and notes. The notes form lives here because its only place is
//! the overview, and it comes back to it.

use std::fmt::Write;

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use tiaki_report::Investigation;

use super::page::{esc, frame, pct};
use super::{
    NO_ANALYSIS, data_error, form_writer, html_page, load_case, redirect, session, sev_badge,
    tlp_badge,
};
use crate::SharedState;
use crate::api::data::{self, DataError, text};

fn count(v: &Value, names: &[&str]) -> String {
    text(v, names).unwrap_or_else(|| "0".into())
}

pub(super) async fn index(State(st): State<SharedState>, headers: HeaderMap, uri: Uri) -> Response {
    let s = match session(&st, &headers, &uri).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let cases = match st.pool.run(|store| data::cases(store)).await {
        Ok(c) => c,
        Err(e) => return data_error(&st, &s, e),
    };
    let mut b = String::from("<header class=\"top\"><h1>Cases</h1></header>\n");
    if cases.is_empty() {
        b.push_str("<p class=\"note\" id=\"no-cases\">No cases yet: <code>tiaki hunt … --case NAME</code> creates one.</p>\n");
    }
    b.push_str("<table id=\"cases\"><thead><tr><th>Case</th><th>Title</th><th>TLP</th><th class=\"n\">Evidence</th><th class=\"n\">Detections</th><th class=\"n\">Incidents</th><th>Severity</th><th>Attribution</th><th>Updated</th></tr></thead><tbody>\n");
    for c in &cases {
        let case = c.get("case").unwrap_or(&Value::Null);
        let name = text(case, &["name"]).unwrap_or_default();
        let _ = writeln!(
            b,
            "<tr class=\"case\" data-case=\"{}\"><td><a href=\"/cases/{}\">{}</a></td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td class=\"t\">{}</td></tr>",
            esc(&name),
            esc(&pct(&name)),
            esc(&name),
            esc(&text(case, &["title"]).unwrap_or_default()),
            tlp_badge(&text(case, &["tlp"]).unwrap_or_default()),
            count(c, &["evidence"]),
            count(c, &["detections"]),
            count(c, &["incidents"]),
            sev_badge(&text(c, &["max_severity"]).unwrap_or_default()),
            esc(&attribution_text(c)),
            esc(&text(c, &["last_run"])
                .or_else(|| text(case, &["updated"]))
                .unwrap_or_default()),
        );
    }
    b.push_str("</tbody></table>\n");
    html_page(
        StatusCode::OK,
        frame(&st.config.title, "Cases", Some(&s.viewer()), None, &b),
    )
}

/// The attribution shown in a case summary (a string, or an object with a name and a
/// probability).
fn attribution_text(c: &Value) -> String {
    let a = c.get("top_attribution").filter(|v| !v.is_null());
    match a {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => {
            let name = text(v, &["name", "group", "id"]).unwrap_or_default();
            let id = text(v, &["id"]).filter(|i| *i != name);
            let p = v
                .get("probability")
                .or_else(|| v.get("confidence"))
                .and_then(Value::as_f64)
                .map(|p| format!(" · {}", tiaki_report::investigation::percent(p)));
            format!(
                "{name}{}{}",
                id.map(|i| format!(" ({i})")).unwrap_or_default(),
                p.unwrap_or_default()
            )
        }
    }
}

/// A generic table of JSON objects: one column per scalar field, in order of first
/// appearance; nested values as compact JSON.
fn json_table(b: &mut String, id: &str, rows: &[Value]) {
    let mut cols: Vec<String> = Vec::new();
    for r in rows {
        if let Some(o) = r.as_object() {
            for k in o.keys() {
                if !cols.contains(k) {
                    cols.push(k.clone());
                }
            }
        }
    }
    let _ = write!(b, "<table id=\"{id}\" class=\"data\"><thead><tr>");
    for c in &cols {
        let _ = write!(b, "<th>{}</th>", esc(&heading(c)));
    }
    b.push_str("</tr></thead><tbody>\n");
    for r in rows {
        b.push_str("<tr>");
        for c in &cols {
            let v = r.get(c).unwrap_or(&Value::Null);
            let cell = match v {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                Value::Number(_) | Value::Bool(_) => v.to_string(),
                other => tiaki_report::text::truncate(&other.to_string(), 300),
            };
            let class = if c.contains("sha256") || c.contains("hash") || c == "path" {
                " class=\"mono\""
            } else {
                ""
            };
            let _ = write!(b, "<td{class}>{}</td>", esc(&cell));
        }
        b.push_str("</tr>\n");
    }
    b.push_str("</tbody></table>\n");
}

/// `added_by` → `Added by`, `sha256` → `SHA-256`.
fn heading(k: &str) -> String {
    if k == "sha256" {
        return "SHA-256".into();
    }
    let s = k.replace('_', " ");
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => s,
    }
}

pub(super) async fn overview(
    State(st): State<SharedState>,
    headers: HeaderMap,
    uri: Uri,
    Path(name): Path<String>,
) -> Response {
    let s = match session(&st, &headers, &uri).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let c = match load_case(&st, &s, name.clone()).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let n = name.clone();
    let more = st
        .pool
        .run(move |store| Ok::<_, DataError>((data::case(store, &n)?, data::notes(store, &n)?)))
        .await;
    let (detail, notes) = match more {
        Ok(x) => x,
        Err(e) => return data_error(&st, &s, e),
    };
    let mut b = String::new();
    b.push_str("<header class=\"top\">");
    if let Some(org) = text(&c.case, &["organisation", "organization"]) {
        let _ = write!(b, "<div class=\"org\">{}</div>", esc(&org));
    }
    let _ = writeln!(
        b,
        "<h1>{}</h1><div class=\"meta\">Case <span class=\"mono\">{}</span>{}{}</div></header>",
        esc(&c.title()),
        esc(&c.name),
        text(&c.case, &["created", "created_at"])
            .map(|t| format!(" · opened {}", esc(&t)))
            .unwrap_or_default(),
        if c.tlp().is_empty() {
            String::new()
        } else {
            format!(" · {}", tlp_badge(&c.tlp()))
        }
    );
    judgements(&mut b, c.analysis.as_ref(), &c.name);
    // Incidents in brief.
    b.push_str("<section id=\"incidents-brief\"><h2>Incidents</h2>\n");
    match &c.analysis {
        Some(inv) if !inv.incidents.is_empty() => {
            b.push_str("<table id=\"incident-summary\"><thead><tr><th>Incident</th><th>Severity</th><th>Title</th><th>First (UTC)</th><th>Last (UTC)</th><th>Hosts</th><th class=\"n\">Detections</th></tr></thead><tbody>\n");
            for i in &inv.incidents {
                let _ = writeln!(
                    b,
                    "<tr><td><a href=\"/cases/{}/incidents#{}\">{}</a></td><td>{}</td><td>{}</td><td class=\"t\">{}</td><td class=\"t\">{}</td><td class=\"mono\">{}</td><td class=\"n\">{}</td></tr>",
                    esc(&pct(&c.name)),
                    esc(&tiaki_report::text::anchor(&i.id)),
                    esc(&i.id),
                    sev_badge(i.severity.as_str()),
                    esc(&i.title),
                    esc(i.first_seen.as_deref().unwrap_or("—")),
                    esc(i.last_seen.as_deref().unwrap_or("—")),
                    esc(&i.hosts.join(", ")),
                    i.events.len()
                );
            }
            b.push_str("</tbody></table>\n");
        }
        Some(_) => b.push_str("<p class=\"note\">No incidents.</p>\n"),
        None => b.push_str(NO_ANALYSIS),
    }
    b.push_str("</section>\n");
    // Evidence and custody.
    b.push_str("<section id=\"custody\"><h2>Evidence and chain of custody</h2>\n");
    for (key, id, what) in [
        ("evidence", "evidence", "No evidence recorded."),
        ("custody", "custody-log", "No custody events recorded."),
    ] {
        let rows = detail
            .get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if key == "custody" {
            b.push_str("<h3>Custody log</h3>\n");
        }
        if rows.is_empty() {
            let _ = writeln!(b, "<p class=\"note\">{what}</p>");
        } else {
            json_table(&mut b, id, &rows);
        }
    }
    b.push_str("</section>\n<section id=\"hunts\"><h2>Hunts</h2>\n");
    // Each run row is `{id, run: {…}}`: one level flatter for the table.
    let runs: Vec<Value> = detail
        .get("runs")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|r| match r.get("run").and_then(Value::as_object) {
            Some(run) => {
                let mut o = serde_json::Map::new();
                if let Some(id) = r.get("id") {
                    o.insert("id".into(), id.clone());
                }
                o.extend(run.clone());
                Value::Object(o)
            }
            None => r,
        })
        .collect();
    if runs.is_empty() {
        b.push_str("<p class=\"note\">No hunt recorded.</p>\n");
    } else {
        json_table(&mut b, "runs", &runs);
    }
    b.push_str("</section>\n");
    // Notes.
    b.push_str("<section id=\"notes\"><h2>Notes</h2>\n<ul id=\"note-list\" class=\"notes\">\n");
    let notes = notes.as_array().cloned().unwrap_or_default();
    for n in &notes {
        let target = n
            .get("target")
            .map(|t| {
                format!(
                    "{} {}",
                    text(t, &["kind"]).unwrap_or_default(),
                    text(t, &["id"]).unwrap_or_default()
                )
                .trim()
                .to_owned()
            })
            .unwrap_or_default();
        let _ = writeln!(
            b,
            "<li><div class=\"meta\">{} · {}{}{}</div><div class=\"note-text\">{}</div></li>",
            esc(&text(n, &["author", "analyst", "by"]).unwrap_or_default()),
            esc(&text(n, &["at", "created", "created_at"]).unwrap_or_default()),
            if target.is_empty() || target == "case" {
                String::new()
            } else {
                format!(" · on {}", esc(&target))
            },
            text(n, &["tlp"])
                .map(|t| format!(" {}", tlp_badge(&t)))
                .unwrap_or_default(),
            esc(&text(n, &["text", "body"]).unwrap_or_default())
        );
    }
    if notes.is_empty() {
        b.push_str("<li class=\"note\">No notes yet.</li>\n");
    }
    b.push_str("</ul>\n");
    if s.can_write() {
        let _ = writeln!(
            b,
            "<form id=\"note-form\" method=\"post\" action=\"/cases/{}/notes\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
<label for=\"note-text\">Add a note</label><textarea id=\"note-text\" name=\"text\" rows=\"3\" required maxlength=\"65536\"></textarea>\
<label for=\"note-tlp\">TLP</label><select id=\"note-tlp\" name=\"tlp\"><option value=\"\">(the case's)</option><option>TLP:CLEAR</option><option>TLP:GREEN</option><option>TLP:AMBER</option><option>TLP:AMBER+STRICT</option><option>TLP:RED</option></select>\
<button type=\"submit\">Add note</button></form>",
            esc(&pct(&c.name)),
            esc(s.csrf.as_deref().unwrap_or_default())
        );
    }
    b.push_str("</section>\n");
    let tlp = c.tlp();
    html_page(
        StatusCode::OK,
        frame(
            &st.config.title,
            &c.name,
            Some(&s.viewer()),
            Some(&c.nav(&tlp, "overview")),
            &b,
        ),
    )
}

/// What happened, who, what to do: the three key judgements.
fn judgements(b: &mut String, inv: Option<&Investigation>, name: &str) {
    let base = format!("/cases/{}", pct(name));
    b.push_str("<div class=\"kj\" id=\"judgements\">\n<div id=\"what\"><h3>What happened</h3>");
    match inv {
        Some(inv) => match inv.worst_severity() {
            Some(sev) => {
                let hosts: std::collections::BTreeSet<&str> = inv
                    .incidents
                    .iter()
                    .flat_map(|i| i.hosts.iter().map(String::as_str))
                    .collect();
                let _ = write!(
                    b,
                    "<div class=\"big\">{} incident{} {}</div><p>{} detection{} in incidents on {} host{}{}. <a href=\"{}/incidents\">Incidents</a> · <a href=\"{}/timeline\">timeline</a></p>",
                    inv.incidents.len(),
                    plural(inv.incidents.len()),
                    sev_badge(sev.as_str()),
                    inv.incident_events(),
                    plural(inv.incident_events()),
                    hosts.len(),
                    plural(hosts.len()),
                    inv.window()
                        .map(|(a, z)| format!(", {} – {} UTC", esc(&a), esc(&z)))
                        .unwrap_or_default(),
                    esc(&base),
                    esc(&base)
                );
            }
            None => {
                let _ = write!(
                    b,
                    "<div class=\"big\">No incidents</div><p>{} detection{} in the hunt; none grouped into an incident.</p>",
                    inv.hunt.detections,
                    plural(inv.hunt.detections as usize)
                );
            }
        },
        None => b.push_str("<div class=\"big\">Not analysed</div><p>No analysis saved yet.</p>"),
    }
    b.push_str("</div>\n<div id=\"who\"><h3>Who</h3>");
    match inv.and_then(Investigation::key_judgement) {
        Some((head, detail)) => {
            let _ = write!(
                b,
                "<div class=\"big\">{}</div><p>{} <a href=\"{}/attribution\">Evidence</a></p>",
                esc(&head),
                esc(&detail),
                esc(&base)
            );
        }
        None => b.push_str("<div class=\"big\">Not assessed</div><p>No attribution was run.</p>"),
    }
    b.push_str("</div>\n<div id=\"todo\"><h3>What to do</h3>");
    match inv {
        Some(inv) => {
            let c = &inv.containment;
            let (total, phrase) = c.action_summary();
            if total == 0 {
                b.push_str(
                    "<div class=\"big\">No actions</div><p>The containment plan is empty.</p>",
                );
            } else {
                let first = c
                    .isolate_hosts
                    .iter()
                    .chain(&c.reset_accounts)
                    .chain(&c.remove_files)
                    .chain(&c.revert_changes)
                    .min_by_key(|a| a.priority)
                    .map(|a| format!(" First: {} ({}).", esc(&a.target), esc(&a.reason)))
                    .unwrap_or_default();
                let _ = write!(
                    b,
                    "<div class=\"big\">{total} action{}</div><p>{phrase}.{first} <a href=\"{}/containment\">Plan</a></p>",
                    plural(total),
                    esc(&base)
                );
            }
        }
        None => b.push_str("<div class=\"big\">—</div><p>No containment plan yet.</p>"),
    }
    b.push_str("</div>\n</div>\n");
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

// ---------------------------------------------------------------------------------------------
// Notes

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(super) struct NoteForm {
    csrf: String,
    text: String,
    tlp: String,
}

pub(super) async fn add_note(
    State(st): State<SharedState>,
    headers: HeaderMap,
    uri: Uri,
    Path(name): Path<String>,
    f: Result<Form<NoteForm>, FormRejection>,
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
    let n = name.clone();
    let r = st
        .pool
        .run(move |store| {
            data::add_note(
                store,
                &n,
                tiaki_store::cases::NoteTarget::Case,
                &user,
                &f.text,
                Some(f.tlp.as_str()),
            )
        })
        .await;
    match r {
        Ok(_) => redirect(
            StatusCode::SEE_OTHER,
            &format!("/cases/{}#notes", pct(&name)),
        ),
        Err(e) => data_error(&st, &s, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings() {
        assert_eq!(heading("added_by"), "Added by");
        assert_eq!(heading("sha256"), "SHA-256");
    }
}
