//! The Markdown report: the HTML report's content for tickets, wikis and e-mail.
//!
//! Charts become tables (per-host timeline summary, candidate probabilities with a text bar,
//! the graph's links, techniques by tactic). Every value from evidence goes through
//! [`crate::text::markdown`], which escapes pipes (so a `|` in a command line cannot split a
//! table cell), emphasis, link and code-span characters, and `<`/`>`/`&` (so raw HTML in
//! evidence stays text in renderers that pass HTML through).

use crate::investigation::{Investigation, percent, yardstick};
use crate::text::markdown as md;
use crate::time;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use tiaki_incident::{Action, Incident};
use tiaki_intel::attribution::{Direction, Verdict};

macro_rules! w {
    ($dst:expr, $($arg:tt)*) => {{
        let _ = write!($dst, $($arg)*);
    }};
}

/// Renders the investigation as GitHub-flavoured Markdown.
pub fn render_markdown(inv: &Investigation) -> String {
    let mut m = String::with_capacity(16 * 1024 + inv.incident_events() * 200);
    let title = if inv.title.is_empty() {
        "Investigation report"
    } else {
        inv.title.as_str()
    };
    if !inv.tlp.trim().is_empty() {
        w!(m, "**{}**\n\n", md(inv.tlp.trim()));
    }
    w!(m, "# {}\n\n", md(title));
    let mut meta = Vec::new();
    if !inv.organisation.is_empty() {
        meta.push(md(&inv.organisation));
    }
    if !inv.generated.is_empty() {
        meta.push(format!("generated {} UTC", md(&time::show(&inv.generated))));
    }
    if let Some((a, b)) = inv.window() {
        meta.push(format!(
            "activity {} – {} UTC",
            md(&time::show_minutes(&a)),
            md(&time::show_minutes(&b))
        ));
    }
    if !inv.kb_label.is_empty() {
        meta.push(format!("knowledge base: {}", md(&inv.kb_label)));
    }
    if !meta.is_empty() {
        w!(m, "{}\n\n", meta.join(" · "));
    }

    m.push_str("## Key judgements\n\n");
    match inv.key_judgement() {
        Some((head, detail)) => w!(m, "- **Attribution:** {}. {}\n", md(&head), md(&detail)),
        None => m.push_str("- **Attribution:** not assessed.\n"),
    }
    match inv.worst_severity() {
        Some(s) => w!(
            m,
            "- **Incidents:** {} (worst severity {}), {} detections.\n",
            inv.incidents.len(),
            s.as_str(),
            inv.incident_events()
        ),
        None => w!(
            m,
            "- **Incidents:** none ({} detections in the hunt).\n",
            inv.hunt.detections
        ),
    }
    let c = &inv.containment;
    w!(
        m,
        "- **Containment:** isolate {} host(s), reset {} account(s), remove {} file(s), revert {} change(s), block {} indicator(s).\n\n",
        c.isolate_hosts.len(),
        c.reset_accounts.len(),
        c.remove_files.len(),
        c.revert_changes.len(),
        c.block.len()
    );

    timeline(&mut m, inv);
    attribution(&mut m, inv);
    graph(&mut m, inv);
    techniques(&mut m, inv);
    incidents(&mut m, inv);
    containment(&mut m, inv);
    recall(&mut m, inv);
    appendix(&mut m, inv);
    if !inv.tlp.trim().is_empty() {
        w!(m, "\n**{}**\n", md(inv.tlp.trim()));
    }
    m
}

/// A table; cells must already be escaped.
fn table(m: &mut String, headers: &[&str], rows: &[Vec<String>]) {
    w!(m, "| {} |\n", headers.join(" | "));
    w!(
        m,
        "|{}\n",
        headers.iter().map(|_| "---|").collect::<String>()
    );
    for r in rows {
        w!(m, "| {} |\n", r.join(" | "));
    }
    m.push('\n');
}

/// A host's first and last detection, detections and tactics.
type HostRow = (String, String, usize, BTreeSet<String>);

fn timeline(m: &mut String, inv: &Investigation) {
    m.push_str("## Timeline\n\n");
    // host -> (first, last, count, tactics)
    let mut hosts: BTreeMap<&str, HostRow> = BTreeMap::new();
    let mut by_hour = [0usize; 24];
    let mut weekend = 0;
    let mut total = 0;
    for i in &inv.incidents {
        for e in &i.events {
            let Some(t) = e.timestamp.as_deref().and_then(time::parse) else {
                continue;
            };
            total += 1;
            use chrono::{Datelike, Timelike};
            by_hour[t.hour() as usize] += 1;
            if t.weekday().number_from_monday() >= 6 {
                weekend += 1;
            }
            let ts = t.format("%Y-%m-%d %H:%M").to_string();
            let h = hosts
                .entry(e.host.as_deref().unwrap_or("(no host)"))
                .or_insert((ts.clone(), ts.clone(), 0, BTreeSet::new()));
            if ts < h.0 {
                h.0 = ts.clone();
            }
            if ts > h.1 {
                h.1 = ts;
            }
            h.2 += 1;
            if let Some(tac) = &e.tactic {
                h.3.insert(tac.clone());
            }
        }
    }
    if total == 0 {
        m.push_str("No timestamped detections.\n\n");
        return;
    }
    let mut rows: Vec<(&str, HostRow)> = hosts.into_iter().collect();
    rows.sort_by(|a, b| a.1.0.cmp(&b.1.0).then(a.0.cmp(b.0)));
    let order = inv.tactic_order();
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|(host, (first, last, n, tactics))| {
            let names: Vec<String> = order
                .iter()
                .filter(|t| tactics.contains(&t.0))
                .map(|t| t.1.clone())
                .chain(
                    tactics
                        .iter()
                        .filter(|t| !order.iter().any(|o| &o.0 == *t))
                        .cloned(),
                )
                .collect();
            vec![md(host), first, last, n.to_string(), md(&names.join(", "))]
        })
        .collect();
    w!(
        m,
        "{total} timestamped detections, by host in order of first activity (UTC).\n\n"
    );
    table(
        m,
        &["Host", "First", "Last", "Detections", "Tactics"],
        &rows,
    );
    let mut busiest: Vec<(usize, usize)> = by_hour
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(h, n)| (h, *n))
        .collect();
    busiest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    w!(
        m,
        "Activity by hour of day (UTC), busiest first: {}. {weekend} of {total} detections on a Saturday or Sunday.\n\n",
        busiest
            .iter()
            .take(12)
            .map(|(h, n)| format!("{h:02}h {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

fn bar(p: f64) -> String {
    let n = (p.clamp(0.0, 1.0) * 20.0).round() as usize;
    format!("`{}{}`", "█".repeat(n), "·".repeat(20 - n))
}

fn attribution(m: &mut String, inv: &Investigation) {
    m.push_str("## Attribution\n\n");
    let Some(a) = &inv.assessment else {
        m.push_str("No attribution was run.\n\n");
        return;
    };
    match &a.verdict {
        Verdict::Attributed {
            id,
            name,
            confidence,
            threshold,
        } => w!(
            m,
            "**Verdict: attributed to {} ({}).** It is {} ({}) that the activity is by this intrusion set (threshold {}).\n\n",
            md(name),
            md(id),
            yardstick(*confidence),
            percent(*confidence),
            percent(*threshold)
        ),
        Verdict::InsufficientEvidence {
            reason,
            unknown,
            hypotheses,
            threshold,
        } => w!(
            m,
            "**Verdict: not attributed — insufficient evidence.** {}. Nothing clears the {} threshold; probability of an actor outside the known sets: {}. Hypotheses: {}.\n\n",
            md(reason),
            percent(*threshold),
            percent(*unknown),
            if hypotheses.is_empty() {
                "none".to_string()
            } else {
                hypotheses
                    .iter()
                    .take(5)
                    .map(|h| format!("{} ({}) {}", md(&h.name), md(&h.id), percent(h.probability)))
                    .collect::<Vec<_>>()
                    .join("; ")
            }
        ),
    }
    let mut rows: Vec<Vec<String>> = a
        .candidates
        .iter()
        .map(|c| {
            vec![
                c.rank.to_string(),
                md(&c.name),
                md(&c.id),
                md(&c.aliases.join(", ")),
                percent(c.probability),
                bar(c.probability),
            ]
        })
        .collect();
    rows.push(vec![
        String::new(),
        format!(
            "Other known sets ({})",
            a.groups_ranked.saturating_sub(a.candidates.len())
        ),
        String::new(),
        String::new(),
        percent(a.rest),
        bar(a.rest),
    ]);
    rows.push(vec![
        String::new(),
        "None of the known sets".to_string(),
        String::new(),
        String::new(),
        percent(a.unknown),
        bar(a.unknown),
    ]);
    table(
        m,
        &[
            "Rank",
            "Intrusion set",
            "ID",
            "Also known as",
            "Probability",
            "",
        ],
        &rows,
    );
    w!(
        m,
        "{} known sets ranked; prior: {}.\n\n",
        a.groups_ranked,
        a.prior.name()
    );
    for c in &a.candidates {
        w!(
            m,
            "### Evidence: {} ({}), {}\n\n",
            md(&c.name),
            md(&c.id),
            percent(c.probability)
        );
        for (title, dir) in [("For", Direction::For), ("Against", Direction::Against)] {
            let rows: Vec<Vec<String>> = c
                .evidence
                .iter()
                .filter(|e| e.direction == dir)
                .map(|e| {
                    vec![
                        crate::html::channel_name(e.channel).to_string(),
                        md(&e.item),
                        format!("{:+.2}", e.weight),
                        if e.observed { "yes" } else { "no" }.to_string(),
                        md(e.why.as_deref().unwrap_or("")),
                    ]
                })
                .collect();
            if !rows.is_empty() {
                w!(m, "**{title}**\n\n");
                table(m, &["Channel", "Item", "Weight", "Observed", "Why"], &rows);
            }
        }
    }
    if !a.unresolved.is_empty() {
        m.push_str("**Evidence the model could not use**\n\n");
        let rows: Vec<Vec<String>> = a
            .unresolved
            .iter()
            .map(|u| {
                vec![
                    crate::html::channel_name(u.channel).to_string(),
                    md(&u.item),
                    md(&u.reason),
                ]
            })
            .collect();
        table(m, &["Channel", "Item", "Why not used"], &rows);
    }
}

fn graph(m: &mut String, inv: &Investigation) {
    m.push_str("## Incident graph\n\n");
    let mut edges: BTreeMap<(String, String), usize> = BTreeMap::new();
    for i in &inv.incidents {
        for l in &i.links {
            let a = format!("{}: {}", kind(l.from.kind), l.from.value);
            let b = format!("{}: {}", kind(l.to.kind), l.to.value);
            let key = if a <= b { (a, b) } else { (b, a) };
            *edges.entry(key).or_insert(0) += l.weight.max(1);
        }
    }
    if edges.is_empty() {
        m.push_str("No links between entities.\n\n");
        return;
    }
    let mut list: Vec<((String, String), usize)> = edges.into_iter().collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let shown = list.len().min(60);
    w!(
        m,
        "Entities seen together in a detection; {} of {} links, strongest first.\n\n",
        shown,
        list.len()
    );
    let rows: Vec<Vec<String>> = list
        .iter()
        .take(shown)
        .map(|((a, b), w)| vec![md(a), md(b), w.to_string()])
        .collect();
    table(m, &["Entity", "Entity", "Detections"], &rows);
}

fn kind(k: tiaki_incident::EntityKind) -> &'static str {
    use tiaki_incident::EntityKind::*;
    match k {
        Host => "host",
        Account => "account",
        Address => "address",
        WebShell => "web shell",
        Process => "process",
        File => "file",
        Domain => "domain",
    }
}

fn techniques(m: &mut String, inv: &Investigation) {
    m.push_str("## ATT&CK techniques\n\n");
    let seen: Vec<_> = inv.techniques.iter().filter(|t| t.count > 0).collect();
    if seen.is_empty() {
        m.push_str("No techniques tagged.\n\n");
        return;
    }
    let order = inv.tactic_order();
    let mut rows = Vec::new();
    for t in &order {
        let mut cells: Vec<_> = seen.iter().filter(|tc| tc.tactics.contains(&t.0)).collect();
        cells.sort_by(|a, b| b.count.cmp(&a.count).then(a.id.cmp(&b.id)));
        for tc in cells {
            rows.push(vec![
                md(&t.1),
                md(&tc.id),
                md(&tc.name),
                tc.count.to_string(),
            ]);
        }
    }
    for tc in seen
        .iter()
        .filter(|tc| !tc.tactics.iter().any(|x| order.iter().any(|o| &o.0 == x)))
    {
        rows.push(vec![
            "—".to_string(),
            md(&tc.id),
            md(&tc.name),
            tc.count.to_string(),
        ]);
    }
    table(m, &["Tactic", "Technique", "Name", "Detections"], &rows);
}

fn incidents(m: &mut String, inv: &Investigation) {
    m.push_str("## Incidents\n\n");
    if inv.incidents.is_empty() {
        m.push_str("No incidents.\n\n");
    }
    for i in &inv.incidents {
        incident(m, inv, i);
    }
}

fn incident(m: &mut String, inv: &Investigation, i: &Incident) {
    w!(
        m,
        "### {} — {} [{}]\n\n",
        md(&i.id),
        md(&i.title),
        i.severity.as_str().to_uppercase()
    );
    w!(
        m,
        "{} – {} UTC · {} detections · hosts: {}\n\n",
        md(&time::show_opt(i.first_seen.as_ref())),
        md(&time::show_opt(i.last_seen.as_ref())),
        i.events.len(),
        md(&i.hosts.join(", "))
    );
    if !i.narrative.is_empty() {
        w!(m, "{}\n\n", md(&i.narrative));
    }
    if !i.severity_reasons.is_empty() {
        w!(
            m,
            "*Why {}:* {}\n\n",
            i.severity.as_str(),
            md(&i.severity_reasons.join("; "))
        );
    }
    for (label, values) in [
        ("Accounts", &i.accounts),
        ("Addresses", &i.addresses),
        ("Web shells", &i.web_shells),
        ("Techniques", &i.techniques),
    ] {
        if !values.is_empty() {
            w!(m, "- **{label}:** {}\n", md(&values.join(", ")));
        }
    }
    m.push('\n');
    if !i.phases.is_empty() {
        let rows: Vec<Vec<String>> = i
            .phases
            .iter()
            .map(|p| {
                vec![
                    md(&if p.name.is_empty() {
                        inv.tactic_name(&p.tactic)
                    } else {
                        p.name.clone()
                    }),
                    md(&time::show_opt(p.first.as_ref())),
                    md(&time::show_opt(p.last.as_ref())),
                    md(&p.techniques.join(", ")),
                    p.detections.to_string(),
                ]
            })
            .collect();
        table(
            m,
            &[
                "Tactic",
                "First (UTC)",
                "Last (UTC)",
                "Techniques",
                "Detections",
            ],
            &rows,
        );
    }
    if !i.events.is_empty() {
        let rows: Vec<Vec<String>> = i
            .events
            .iter()
            .map(|e| {
                vec![
                    md(&e.timestamp.as_deref().map(time::show).unwrap_or_default()),
                    md(e.host.as_deref().unwrap_or("")),
                    md(&e.rule_title),
                    md(e.level.as_deref().unwrap_or("")),
                    md(&e.attack.join(", ")),
                    md(&e.summary),
                    md(&e.source.to_string()),
                ]
            })
            .collect();
        table(
            m,
            &[
                "Time (UTC)",
                "Host",
                "Rule",
                "Level",
                "Technique",
                "What happened",
                "Source",
            ],
            &rows,
        );
    }
}

fn actions(m: &mut String, title: &str, list: &[Action]) {
    if list.is_empty() {
        return;
    }
    let mut sorted: Vec<&Action> = list.iter().collect();
    sorted.sort_by(|a, b| a.priority.cmp(&b.priority).then(a.target.cmp(&b.target)));
    w!(m, "### {title}\n\n");
    let rows: Vec<Vec<String>> = sorted
        .iter()
        .map(|a| {
            vec![
                a.priority.to_string(),
                md(&a.target),
                md(&a.reason),
                md(&a.incidents.join(", ")),
                md(&a.evidence.join("; ")),
            ]
        })
        .collect();
    table(
        m,
        &["Priority", "Target", "Why", "Incidents", "Evidence"],
        &rows,
    );
}

fn containment(m: &mut String, inv: &Investigation) {
    m.push_str("## Containment plan\n\n");
    let c = &inv.containment;
    actions(m, "Isolate hosts", &c.isolate_hosts);
    actions(m, "Reset accounts", &c.reset_accounts);
    actions(m, "Remove files (after imaging)", &c.remove_files);
    actions(m, "Revert changes", &c.revert_changes);
    if !c.block.is_empty() {
        m.push_str("### Block\n\n");
        let rows: Vec<Vec<String>> = c
            .block
            .iter()
            .map(|b| {
                vec![
                    md(&b.kind),
                    md(&b.value),
                    md(&b.reason),
                    md(&b.incidents.join(", ")),
                ]
            })
            .collect();
        table(m, &["Kind", "Indicator", "Why", "Incidents"], &rows);
    }
    if !c.mitigations.is_empty() {
        m.push_str("### Mitigations\n\n");
        let rows: Vec<Vec<String>> = c
            .mitigations
            .iter()
            .map(|x| vec![md(&x.id), md(&x.name), md(&x.techniques.join(", "))])
            .collect();
        table(m, &["ID", "Mitigation", "Techniques"], &rows);
    }
    if c.isolate_hosts.is_empty()
        && c.reset_accounts.is_empty()
        && c.remove_files.is_empty()
        && c.revert_changes.is_empty()
        && c.block.is_empty()
        && c.mitigations.is_empty()
    {
        m.push_str("No containment actions.\n\n");
    }
}

fn recall(m: &mut String, inv: &Investigation) {
    let Some(steps) = &inv.recall else {
        return;
    };
    m.push_str("## Detection recall per storyline step\n\n");
    let rows: Vec<Vec<String>> = steps
        .iter()
        .map(|s| {
            vec![
                md(&s.id),
                md(&s.name),
                md(&s.techniques.join(", ")),
                if s.detected { "yes" } else { "**no**" }.to_string(),
                format!("{} / {}", s.records_hit, s.records_total),
            ]
        })
        .collect();
    w!(
        m,
        "{} of {} steps detected.\n\n",
        steps.iter().filter(|s| s.detected).count(),
        steps.len()
    );
    table(
        m,
        &["Step", "Name", "Techniques", "Detected", "Records hit"],
        &rows,
    );
}

fn appendix(m: &mut String, inv: &Investigation) {
    m.push_str("## Appendix\n\n### Evidence examined\n\n");
    let e = &inv.evidence;
    table(
        m,
        &[
            "Files",
            "Events",
            "Bytes",
            "Records skipped",
            "Damaged files",
        ],
        &[vec![
            e.files.to_string(),
            e.events.to_string(),
            crate::html::bytes(e.bytes),
            e.skipped.to_string(),
            e.damaged_files.to_string(),
        ]],
    );
    for p in &e.paths {
        w!(m, "- {}\n", md(p));
    }
    if !e.paths.is_empty() {
        m.push('\n');
    }
    let h = &inv.hunt;
    w!(
        m,
        "### Hunt\n\n{} detections from {} rules and indicators loaded{}.\n\n",
        h.detections,
        h.rules_loaded,
        if h.by_kind.is_empty() {
            String::new()
        } else {
            format!(
                " ({})",
                h.by_kind
                    .iter()
                    .map(|(k, v)| format!("{v} {}", md(k)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    if !h.top_rules.is_empty() {
        let rows: Vec<Vec<String>> = h
            .top_rules
            .iter()
            .map(|(title, count, level)| vec![md(title), md(level), count.to_string()])
            .collect();
        table(m, &["Rule", "Level", "Detections"], &rows);
    }
    if !inv.notes.is_empty() {
        m.push_str("### Notes\n\n");
        for n in &inv.notes {
            w!(m, "- {}\n", md(n));
        }
        m.push('\n');
    }
    m.push_str("MITRE ATT&CK® technique and tactic names: © 2025 The MITRE Corporation. This work is reproduced and distributed with the permission of The MITRE Corporation.\n");
}
