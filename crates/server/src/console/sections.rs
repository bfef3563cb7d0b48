//! The case pages that show one of the HTML report's sections, and the attribution page.
//!
//! Incidents, the entity graph, the ATT&CK heat map and containment are the report's own
//! renderers inside the console frame, one table entry each ([`SECTIONS`]); the attribution
//! page adds the case's assessment history to the report's section, so it has a handler of its
//! own.

use std::fmt::Write;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde_json::Value;
use tiaki_report::Investigation;

use super::page::{esc, frame};
use super::{NO_ANALYSIS, data_error, html_page, load_case, session, tlp_badge};
use crate::SharedState;
use crate::api::data::{self, text};

/// One of the report's sections as a console page.
#[derive(Clone, Copy)]
pub(super) struct Section {
    /// The navigation key.
    current: &'static str,
    /// The page heading (HTML).
    title: &'static str,
    /// The report renderer.
    render: fn(&mut String, &Investigation),
    /// An id for a `div` around the section, if the console names it differently.
    wrap_id: Option<&'static str>,
}

/// A page that shows one of the report's sections for the case.
pub(super) async fn section_page(
    st: SharedState,
    headers: HeaderMap,
    uri: Uri,
    name: String,
    sec: Section,
) -> Response {
    let s = match session(&st, &headers, &uri).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let c = match load_case(&st, &s, name).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<header class=\"top\"><div class=\"org\">{}</div><h1>{}</h1></header>",
        esc(&c.title()),
        sec.title
    );
    match &c.analysis {
        Some(inv) => {
            if let Some(id) = sec.wrap_id {
                let _ = writeln!(b, "<div id=\"{id}\">");
            }
            (sec.render)(&mut b, inv);
            if sec.wrap_id.is_some() {
                b.push_str("</div>\n");
            }
        }
        None => b.push_str(NO_ANALYSIS),
    }
    let tlp = c.tlp();
    html_page(
        StatusCode::OK,
        frame(
            &st.config.title,
            &format!("{} · {}", c.name, strip_tags(sec.title)),
            Some(&s.viewer()),
            Some(&c.nav(&tlp, sec.current)),
            &b,
        ),
    )
}

fn strip_tags(s: &str) -> String {
    s.replace("&amp;", "&")
}

/// The report sections the console shows as pages of their own: `(path suffix, section)`.
pub(super) const SECTIONS: [(&str, Section); 4] = [
    (
        "incidents",
        Section {
            current: "incidents",
            title: "Incidents",
            render: tiaki_report::html::incidents,
            wrap_id: None,
        },
    ),
    (
        "graph",
        Section {
            current: "graph",
            title: "Entity graph",
            render: tiaki_report::html::graph,
            wrap_id: None,
        },
    ),
    (
        "attack",
        Section {
            current: "attack",
            title: "ATT&amp;CK heat map",
            render: tiaki_report::html::matrix,
            wrap_id: Some("heatmap"),
        },
    ),
    (
        "containment",
        Section {
            current: "containment",
            title: "Containment",
            render: tiaki_report::html::containment,
            wrap_id: None,
        },
    ),
];

pub(super) async fn attribution(
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
    let history = match st
        .pool
        .run(move |store| data::assessments(store, &name))
        .await
    {
        Ok(h) => h,
        Err(e) => return data_error(&st, &s, e),
    };
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<header class=\"top\"><div class=\"org\">{}</div><h1>Attribution</h1></header>",
        esc(&c.title())
    );
    match &c.analysis {
        Some(inv) => tiaki_report::html::attribution(&mut b, inv),
        None => b.push_str(NO_ANALYSIS),
    }
    b.push_str("<section id=\"assessments\"><h2>Assessment history</h2>\n");
    let rows = history.as_array().cloned().unwrap_or_default();
    if rows.is_empty() {
        b.push_str("<p class=\"note\">No assessment recorded.</p>\n");
    } else {
        b.push_str("<p class=\"note\">Every attribution run on this case, oldest first: how the judgement moved as evidence arrived.</p>\n");
        b.push_str("<table id=\"assessment-history\"><thead><tr><th>When</th><th>Verdict</th><th>Leading candidate</th><th class=\"n\">Probability</th><th class=\"n\">Unknown actor</th><th>TLP</th></tr></thead><tbody>\n");
        for r in &rows {
            let top = r.get("top").filter(|t| !t.is_null());
            let unknown = r
                .pointer("/assessment/unknown")
                .and_then(Value::as_f64)
                .map(tiaki_report::investigation::percent)
                .unwrap_or_default();
            let _ = writeln!(
                b,
                "<tr><td class=\"t\">{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                esc(&text(r, &["created"]).unwrap_or_default()),
                esc(&text(r, &["verdict"])
                    .unwrap_or_default()
                    .replace(['_', '-'], " ")),
                esc(&top
                    .map(|t| format!(
                        "{} ({})",
                        text(t, &["name"]).unwrap_or_default(),
                        text(t, &["id"]).unwrap_or_default()
                    ))
                    .unwrap_or_else(|| "—".into())),
                top.and_then(|t| t.get("probability"))
                    .and_then(Value::as_f64)
                    .map(tiaki_report::investigation::percent)
                    .unwrap_or_default(),
                unknown,
                tlp_badge(&text(r, &["tlp"]).unwrap_or_default()),
            );
        }
        b.push_str("</tbody></table>\n");
    }
    b.push_str("</section>\n");
    let tlp = c.tlp();
    html_page(
        StatusCode::OK,
        frame(
            &st.config.title,
            &format!("{} · Attribution", c.name),
            Some(&s.viewer()),
            Some(&c.nav(&tlp, "attribution")),
            &b,
        ),
    )
}
