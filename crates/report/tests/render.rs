//! The four reports of a realistic case ("Operation Quiet Draft", see `common/mod.rs`), without
//! a browser: what each must say, and that hostile evidence stays text.

mod common;

use tiaki_report::{Investigation, navigator_layer, render_html, render_json, render_markdown};

#[test]
fn html_leads_with_the_key_judgements() {
    let inv = common::quiet_draft();
    let html = render_html(&inv);
    // TLP banner at top and bottom, in FIRST's amber.
    assert_eq!(
        html.matches("class=\"tlp\" style=\"color:#FFC000\">TLP:AMBER")
            .count(),
        2
    );
    let kj = html.find("class=\"kj\"").unwrap();
    let timeline = html.find("<section id=\"timeline\">").unwrap();
    assert!(kj < timeline);
    let head = &html[..timeline];
    assert!(head.contains("Attributed to Leviathan (G0065, also reported as APT40"));
    assert!(head.contains("Highly likely (90 % probability"));
    assert!(head.contains("2 incidents"));
    assert!(head.contains("badge sev-critical"));
    // One lane per host, in order of first activity.
    let lanes: Vec<usize> = [
        "PDO-EXCH01",
        "PDO-WEB01",
        "PDO-DC01",
        "PDO-FS01",
        "PDO-SQL01",
        "PDO-JMP01",
    ]
    .iter()
    .map(|h| {
        html[timeline..]
            .find(&format!("<title>{h}</title>"))
            .unwrap()
    })
    .collect();
    assert!(lanes.windows(2).all(|w| w[0] < w[1]), "{lanes:?}");
    // A marker per detection, with its tooltip.
    let section = &html[timeline..html.find("<section id=\"attribution\">").unwrap()];
    assert_eq!(section.matches("<circle ").count(), 64);
    assert!(section.contains(
        "2025-03-12 01:59:03 UTC · PDO-FS01 · Potential LSASS Process Dump Via Procdump (critical)"
    ));
    assert!(section.contains("0 of 64 on a Saturday or Sunday"));
    // The matrix names every technique; the incidents list every event.
    for t in &inv.techniques {
        assert!(html.contains(&format!("<b>{}</b>", t.id)), "{}", t.id);
    }
    assert_eq!(html.matches("<td class=\"src\"").count(), 64);
    // MITRE's notice.
    assert!(html.contains("© 2025 The MITRE Corporation"));
}

#[test]
fn hostile_evidence_stays_text() {
    let html = render_html(&common::quiet_draft());
    assert!(!html.to_ascii_lowercase().contains("<script"));
    assert!(!html.to_ascii_lowercase().contains("<img"));
    assert!(html.contains("&lt;script&gt;alert(document.domain)&lt;/script&gt;"));
    assert!(html.contains("Suspicious URI &lt;img src=x onerror=alert(1)&gt; | pipe"));
    let md = render_markdown(&common::quiet_draft());
    assert!(md.contains("Suspicious URI &lt;img src=x onerror=alert(1)&gt; \\| pipe"));
    assert!(!md.contains("<script"));
}

#[test]
fn markdown_has_the_same_sections() {
    let md = render_markdown(&common::quiet_draft());
    let mut last = 0;
    for h in [
        "**TLP:AMBER**",
        "# Operation Quiet Draft",
        "## Key judgements",
        "## Timeline",
        "## Attribution",
        "## Incident graph",
        "## ATT&CK techniques",
        "## Incidents",
        "### INC-002",
        "## Containment plan",
        "## Detection recall per storyline step",
        "## Appendix",
    ] {
        let at = md.find(h).unwrap_or_else(|| panic!("{h} missing"));
        assert!(at >= last, "{h} out of order");
        last = at;
    }
    assert!(md.contains("| 1 | Leviathan | G0065 |"));
    assert!(md.contains("| 1 | PDO\\\\adm.tkereama |"));
    assert!(md.contains("5 of 6 steps detected"));
}

#[test]
fn json_round_trips_with_stable_names() {
    let inv = common::quiet_draft();
    let json = render_json(&inv);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    for k in [
        "title",
        "organisation",
        "generated",
        "tlp",
        "evidence",
        "hunt",
        "incidents",
        "assessment",
        "kb_label",
        "containment",
        "techniques",
        "tactics",
        "recall",
        "notes",
    ] {
        assert!(v.get(k).is_some(), "{k}");
    }
    assert_eq!(v["assessment"]["verdict"]["kind"], "attributed");
    assert_eq!(v["tactics"][0][0], "reconnaissance");
    assert_eq!(v["hunt"]["top_rules"][0][1], 6);
    let back: Investigation = serde_json::from_str(&json).unwrap();
    assert_eq!(back, inv);
}

#[test]
fn navigator_layer_scores_the_case() {
    let inv = common::quiet_draft();
    let layer = navigator_layer(&inv, "Quiet Draft");
    let techs = layer["techniques"].as_array().unwrap();
    let get = |id: &str| techs.iter().find(|t| t["techniqueID"] == id).unwrap();
    assert_eq!(get("T1505.003")["score"], 5);
    assert_eq!(get("T1505.003")["tactic"], "persistence");
    assert!(
        get("T1505.003")["comment"]
            .as_str()
            .unwrap()
            .contains("Web Shell — 5 detections (INC-002: 5)")
    );
    assert_eq!(get("T1505")["showSubtechniques"], true);
    assert!(get("T1505").get("score").is_none());
    assert_eq!(layer["gradient"]["maxValue"], 5);
    let scored = techs.iter().filter(|t| t.get("score").is_some()).count();
    assert_eq!(scored, inv.techniques.len());
    assert_eq!(layer["metadata"][0]["name"], "organisation");
}
