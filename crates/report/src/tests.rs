//! Unit tests over whole reports: empty input, hostile input, self-containment, Markdown tables.

use super::*;
use tiaki_incident::{
    Action, BlockItem, ContainmentPlan, Entity, EntityKind, Incident, IncidentEvent, Link, Phase,
    Severity,
};

const XSS: &str = "<script>alert('x')</script>";

fn hostile_event(i: usize) -> IncidentEvent {
    IncidentEvent {
        index: i,
        kind: "detection".into(),
        rule_id: Some("r1".into()),
        rule_title: format!("Rule {XSS} | with pipe"),
        level: Some("high\"><script>".into()),
        timestamp: Some(format!("2025-03-0{}T02:3{i}:00Z", 3 + i % 3)),
        host: Some(format!("HOST{i}{XSS}")),
        attack: vec!["T1505.003".into()],
        tactic: Some("persistence\"><script>".into()),
        source: serde_json::from_value(serde_json::json!({
            "path": format!("evidence/<b>x</b>|{i}.evtx"), "record_id": 7
        }))
        .unwrap(),
        entities: vec![Entity {
            kind: EntityKind::WebShell,
            value: format!("C:\\inetpub\\{XSS}.aspx"),
        }],
        summary: format!("cmd /c echo {XSS} | findstr x & <img src=http://evil.example/a.png>"),
    }
}

fn hostile() -> Investigation {
    let events: Vec<IncidentEvent> = (0..4).map(hostile_event).collect();
    let e1 = Entity {
        kind: EntityKind::Host,
        value: format!("HOST0{XSS}"),
    };
    let e2 = Entity {
        kind: EntityKind::Address,
        value: "203.0.113.45\"/><script>".into(),
    };
    Investigation {
        title: format!("Case {XSS}"),
        organisation: format!("Org {XSS}"),
        generated: "2025-03-21T04:30:00Z".into(),
        tlp: format!("TLP:AMBER{XSS}"),
        incidents: vec![Incident {
            id: "INC-001\"><script>".into(),
            title: format!("Title {XSS}"),
            severity: Severity::High,
            severity_reasons: vec![XSS.into()],
            first_seen: Some("2025-03-03T02:30:00Z".into()),
            last_seen: Some("2025-03-05T02:33:00Z".into()),
            hosts: vec![format!("HOST0{XSS}")],
            accounts: vec![XSS.into()],
            addresses: vec!["203.0.113.45\"/><script>".into()],
            web_shells: vec![],
            techniques: vec!["T1505.003".into()],
            phases: vec![Phase {
                tactic: "persistence".into(),
                name: format!("Persistence {XSS}"),
                first: None,
                last: None,
                techniques: vec![XSS.into()],
                detections: 4,
            }],
            events,
            links: vec![Link {
                from: e1,
                to: e2,
                weight: 3,
            }],
            narrative: format!("Narrative {XSS}"),
        }],
        techniques: vec![TechniqueCount {
            id: format!("T1505.003{XSS}"),
            name: XSS.into(),
            tactics: vec!["persistence".into()],
            count: 4,
        }],
        containment: ContainmentPlan {
            isolate_hosts: vec![Action {
                target: XSS.into(),
                reason: XSS.into(),
                incidents: vec![XSS.into()],
                evidence: vec![XSS.into()],
                priority: 1,
            }],
            block: vec![BlockItem {
                kind: "url".into(),
                value: "https://evil.example/<script>".into(),
                reason: XSS.into(),
                incidents: vec![],
            }],
            ..Default::default()
        },
        hunt: HuntSummary {
            top_rules: vec![(XSS.into(), 1, XSS.into())],
            by_kind: [(XSS.to_string(), 1)].into_iter().collect(),
            ..Default::default()
        },
        evidence: EvidenceSummary {
            paths: vec![XSS.into()],
            ..Default::default()
        },
        recall: Some(vec![StepRecall {
            id: XSS.into(),
            name: XSS.into(),
            techniques: vec![],
            detected: false,
            records_hit: 0,
            records_total: 3,
        }]),
        notes: vec![XSS.into()],
        kb_label: XSS.into(),
        ..Default::default()
    }
}

/// Every tag in the document, lower-cased, as `<name`.
fn tags(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    lower
        .match_indices('<')
        .map(|(i, _)| {
            lower[i..]
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '>')
                .collect::<String>()
        })
        .collect()
}

/// The values of every attribute named `name` (double-quoted, as the renderer writes them).
fn attr_values(html: &str, name: &str) -> Vec<String> {
    let pat = format!(" {name}=\"");
    html.match_indices(&pat)
        .map(|(i, _)| {
            html[i + pat.len()..]
                .chars()
                .take_while(|c| *c != '"')
                .collect()
        })
        .collect()
}

/// Asserts the document loads nothing: no element or CSS that fetches, no script.
fn assert_self_contained(html: &str) {
    let lower = html.to_ascii_lowercase();
    let tags = tags(html);
    for bad in [
        "<script",
        "<link",
        "<iframe",
        "<object",
        "<embed",
        "<img",
        "<image",
        "<use",
        "<base",
        "<audio",
        "<video",
        "<source",
        "<frame",
        "<meta http-equiv=\"refresh\"",
    ] {
        assert!(!tags.iter().any(|t| t == bad), "found {bad}");
    }
    // CSS that fetches.
    assert!(!lower.contains("@import") && !lower.contains("url("));
    for attr in [
        "src",
        "srcset",
        "xlink:href",
        "action",
        "formaction",
        "poster",
        "data",
    ] {
        assert!(
            attr_values(html, attr).is_empty(),
            "found a {attr} attribute"
        );
    }
    // Links only to fragments of the same document.
    for v in attr_values(html, "href") {
        assert!(v.starts_with('#'), "href to {v}");
    }
    // Event handlers never appear as attributes (escaped text may contain "onerror=").
    assert!(!lower.contains(" onerror=\"") && !lower.contains(" onload=\""));
}

#[test]
fn empty_investigation_renders() {
    let inv = Investigation::default();
    let html = render_html(&inv);
    for id in [
        "timeline",
        "attribution",
        "graph",
        "matrix",
        "incidents",
        "containment",
        "appendix",
    ] {
        assert!(html.contains(&format!("<section id=\"{id}\">")), "{id}");
    }
    assert!(!html.contains("id=\"recall\""));
    assert!(html.contains("No timestamped detections"));
    assert!(html.contains("Not assessed"));
    assert!(!html.contains("class=\"tlp\""), "no TLP, no banner");
    assert_self_contained(&html);
    let md = render_markdown(&inv);
    assert!(md.starts_with("# Investigation report"));
    assert!(md.contains("## Containment plan"));
    let json: Investigation = serde_json::from_str(&render_json(&inv)).unwrap();
    assert_eq!(json, inv);
    let layer = navigator_layer(&inv, "x");
    assert_eq!(layer["techniques"].as_array().unwrap().len(), 0);
}

#[test]
fn hostile_text_is_escaped_in_html() {
    let html = render_html(&hostile());
    assert_self_contained(&html);
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "a script element got through");
    assert!(!lower.contains("<img"), "an img element got through");
    assert!(!lower.contains("<b>x</b>"));
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    // Attribute-breaking quotes are escaped too: the id attribute stays one token.
    assert!(html.contains("id=\"inc-001---script-\""));
    assert!(!html.contains("\"/><script>"));
    // The hostile tactic falls back to the "other" colour; it never reaches markup.
    assert!(html.contains(html::palette::TACTIC_OTHER));
}

#[test]
fn the_html_has_a_content_security_policy_and_no_network_reference() {
    let html = render_html(&hostile());
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none'"));
    // URLs from evidence appear only as escaped text.
    assert!(html.contains("https://evil.example/&lt;script&gt;"));
    for v in attr_values(&html, "href")
        .into_iter()
        .chain(attr_values(&html, "src"))
    {
        assert!(!v.contains("http:") && !v.contains("https:"), "{v}");
    }
}

#[test]
fn markdown_tables_keep_their_columns() {
    let md = render_markdown(&hostile());
    assert!(!md.to_ascii_lowercase().contains("<script"));
    assert!(!md.to_ascii_lowercase().contains("<img"));
    // Every row of every table has as many unescaped pipes as its header.
    let unescaped = |l: &str| {
        let b = l.as_bytes();
        (0..b.len())
            .filter(|&i| {
                b[i] == b'|' && {
                    // Count the backslashes before the pipe: odd means escaped.
                    let n = b[..i].iter().rev().take_while(|c| **c == b'\\').count();
                    n % 2 == 0
                }
            })
            .count()
    };
    let mut header: Option<usize> = None;
    let mut rows = 0;
    for line in md.lines() {
        if line.starts_with('|') {
            match header {
                None => header = Some(unescaped(line)),
                Some(n) => {
                    assert_eq!(unescaped(line), n, "row splits: {line}");
                    rows += 1;
                }
            }
        } else {
            header = None;
        }
    }
    assert!(rows > 10, "{rows} table rows checked");
    assert!(md.contains("Rule &lt;script&gt;alert('x')&lt;/script&gt; \\| with pipe"));
}

#[test]
fn write_all_writes_four_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("case");
    let files = write_all(&hostile(), &out).unwrap();
    for p in files.all() {
        assert!(p.starts_with(&out));
        assert!(std::fs::metadata(p).unwrap().len() > 0, "{}", p.display());
    }
    assert_eq!(files.html.file_name().unwrap(), "report.html");
    assert_eq!(files.navigator.file_name().unwrap(), "navigator-layer.json");
    let layer: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&files.navigator).unwrap()).unwrap();
    assert_eq!(layer["name"], format!("Case {XSS}"));
    let back: Investigation =
        serde_json::from_str(&std::fs::read_to_string(&files.json).unwrap()).unwrap();
    assert_eq!(back, hostile());
}

#[test]
fn write_all_reports_the_failing_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let err = write_all(&Investigation::default(), &file).unwrap_err();
    assert!(err.to_string().contains("not-a-dir"), "{err}");
}

#[test]
fn thousands_of_detections_are_aggregated_per_host_hour() {
    // 3 hosts × 40 hours × 50 detections = 6000 detections in one incident.
    let mut events = Vec::new();
    for hour in 0..40u32 {
        for host in 0..3 {
            for k in 0..50 {
                let mut e = hostile_event(events.len());
                e.timestamp = Some(format!(
                    "2025-03-{:02}T{:02}:{:02}:00Z",
                    3 + hour / 24,
                    hour % 24,
                    k
                ));
                e.host = Some(format!("HOST{host}"));
                e.tactic = Some(if k % 2 == 0 { "discovery" } else { "execution" }.into());
                events.push(e);
            }
        }
    }
    let mut inv = hostile();
    inv.incidents[0].events = events;
    let html = render_html(&inv);
    let timeline = &html[html.find("<section id=\"timeline\">").unwrap()
        ..html.find("<section id=\"attribution\">").unwrap()];
    assert_eq!(timeline.matches("<circle ").count(), 3 * 40);
    assert!(timeline.contains("50 detections (Discovery 25, Execution 25)"));
    // The events table is capped; the rest is in report.json.
    let rows = html.matches("<td class=\"src\"").count();
    assert_eq!(rows, 1000);
    assert!(html.contains("5000 events not listed here (see report.json)"));
    assert!(html.len() < 3_000_000, "{} bytes", html.len());
}

#[test]
fn an_abstaining_verdict_names_hypotheses_not_an_actor() {
    use tiaki_intel::attribution::{Assessment, Hypothesis, Prior, Verdict};
    let mut inv = hostile();
    inv.assessment = Some(Assessment {
        candidates: vec![],
        unknown: 0.55,
        rest: 0.2,
        verdict: Verdict::InsufficientEvidence {
            reason: "the unknown outcome is the most probable".into(),
            unknown: 0.55,
            hypotheses: vec![Hypothesis {
                id: "G0128".into(),
                name: format!("ZIRCONIUM {XSS}"),
                probability: 0.25,
            }],
            threshold: 0.7,
        },
        summary: Default::default(),
        unresolved: vec![],
        groups_ranked: 172,
        prior: Prior::Uniform,
        rank_micros: 1,
    });
    let html = render_html(&inv);
    assert!(html.contains("Not attributed: insufficient evidence"));
    assert!(html.contains("Leading hypothesis: ZIRCONIUM &lt;script&gt;"));
    assert!(html.contains("verdict abstain"));
    assert!(html.contains("None of the known sets"));
    assert!(!html.to_ascii_lowercase().contains("<script"));
    let md = render_markdown(&inv);
    assert!(md.contains("**Verdict: not attributed — insufficient evidence.**"));
    let layer = navigator_layer(&inv, "x");
    assert!(
        layer["metadata"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["value"].as_str().unwrap().starts_with("Not attributed"))
    );
}

#[test]
fn many_hosts_share_the_last_lane() {
    let mut inv = hostile();
    inv.incidents[0].events = (0..30)
        .map(|i| {
            let mut e = hostile_event(i);
            e.host = Some(format!("WS{i:03}"));
            e.timestamp = Some(format!("2025-03-03T{:02}:00:00Z", i % 24));
            e
        })
        .collect();
    let html = render_html(&inv);
    assert!(html.contains(">7 other hosts</text>"));
    assert_eq!(html.matches("<circle ").count(), 30);
}
