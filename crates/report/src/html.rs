//! The HTML report: one self-contained file an analyst can mail, archive or open offline.
//!
//! Why it is built this way:
//!
//! * **Self-contained.** Styles are inline (`<style>`), charts are inline SVG, fonts are the
//!   reader's system fonts. The file references no URL at all — no stylesheet, script, font,
//!   image or iframe — so it opens the same in an air-gapped room, leaks no "report opened"
//!   beacon, and renders identically years later.
//! * **No script.** Drill-down uses `<details>`; tooltips are SVG `<title>` elements. Nothing
//!   needs JavaScript, which many government mail gateways and viewers strip anyway.
//! * **Hostile text.** Every string from evidence or rules goes through [`crate::text::html`];
//!   data never reaches a tag name, an attribute name, a `style` or a class. Colours, sizes and
//!   positions come from fixed palettes and computed numbers only.
//! * **What matters first.** The header (TLP, key judgements), the timeline and the attribution
//!   come first, so the top of the page — a 1400×2200 screen — answers "what happened, when,
//!   and who". Detail follows: graph, matrix, incidents, containment, recall, appendix.
//! * **Deterministic.** Same input, same bytes: layouts are computed in Rust without randomness,
//!   so reports diff cleanly and tests can check them.

use crate::investigation::{Investigation, TechniqueCount, percent, yardstick};
use crate::text::{anchor, html as esc, truncate, truncate_start};
use crate::time;
use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc, Weekday};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write;
use tiaki_incident::{Action, Entity, EntityKind, Incident, Severity};
use tiaki_intel::attribution::{Candidate, Channel, Direction, EvidenceItem, Verdict};

/// The report's colours. Public so that tests (the Chromium screenshot check) can look for
/// pixels of the colours only one element uses.
pub mod palette {
    /// Marker colour per tactic (short name). These colours appear only in the timeline (markers
    /// and its legend).
    pub const TACTIC_COLOURS: [(&str, &str); 14] = [
        ("reconnaissance", "#8e9aab"),
        ("resource-development", "#a89878"),
        ("initial-access", "#d1495b"),
        ("execution", "#e07b39"),
        ("persistence", "#c9a227"),
        ("privilege-escalation", "#8f5aa8"),
        ("defense-evasion", "#6f7a86"),
        ("credential-access", "#b8336a"),
        ("discovery", "#3d8fb8"),
        ("lateral-movement", "#2a9d8f"),
        ("collection", "#5c946e"),
        ("command-and-control", "#4b4e9f"),
        ("exfiltration", "#7a3e1d"),
        ("impact", "#2b2b2b"),
    ];
    /// Markers whose tactic is missing or unknown.
    pub const TACTIC_OTHER: &str = "#b0b6be";
    /// The bars of the candidate intrusion sets in the attribution chart (used nowhere else).
    pub const ATTRIBUTION_BAR: &str = "#1f4e79";
    /// The track behind every attribution bar: the bar's share of it is the probability (used
    /// nowhere else).
    pub const ATTRIBUTION_TRACK: &str = "#e7ebf0";
    /// The "other known sets" (`rest`) bar.
    pub const ATTRIBUTION_REST: &str = "#a7b1bd";
    /// The "none of the known sets" (`unknown`) bar.
    pub const ATTRIBUTION_UNKNOWN: &str = "#6b7480";
    /// Entity kinds in the incident graph.
    pub const ENTITY_COLOURS: [(&str, &str); 7] = [
        ("host", "#33658a"),
        ("account", "#b7791f"),
        ("address", "#a4343a"),
        ("web-shell", "#6a4c93"),
        ("process", "#3f7f5f"),
        ("file", "#7d6b5d"),
        ("domain", "#2f7f8f"),
    ];
    /// The heat-map scale, lightest (fewest detections) to darkest.
    pub const HEAT: [&str; 5] = ["#fdf1e4", "#fbd9b5", "#f6b27d", "#e5834a", "#c4561f"];
    /// The hour-of-day activity grid scale, empty to busiest.
    pub const ACTIVITY: [&str; 6] = [
        "#f2f4f7", "#d6e2ee", "#adc7df", "#7a9fc6", "#4a72a0", "#27486f",
    ];
    /// Weekend shading on the timeline.
    pub const WEEKEND: &str = "#eef0f3";

    /// The colour of a tactic's markers.
    pub fn tactic(short_name: &str) -> &'static str {
        TACTIC_COLOURS
            .iter()
            .find(|(t, _)| *t == short_name)
            .map(|(_, c)| *c)
            .unwrap_or(TACTIC_OTHER)
    }

    /// The colour of an entity kind.
    pub fn entity(kind: &str) -> &'static str {
        ENTITY_COLOURS
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, c)| *c)
            .unwrap_or("#6b7480")
    }
}

/// Width of every chart's coordinate system: the page's content width, so charts draw 1:1.
const W: f64 = 1200.0;
/// Above this many timestamped detections the timeline draws one marker per host and hour.
const AGGREGATE_ABOVE: usize = 600;
/// Events listed per incident; the rest are in `report.json`.
const MAX_EVENT_ROWS: usize = 1000;
/// Event tables longer than this start closed.
const OPEN_EVENT_ROWS: usize = 60;
/// Timeline lanes; further hosts share one lane.
const MAX_LANES: usize = 24;
/// Graph nodes per column; the rest are counted.
const MAX_NODES_PER_COLUMN: usize = 16;

macro_rules! w {
    ($dst:expr, $($arg:tt)*) => {{
        let _ = write!($dst, $($arg)*);
    }};
}

/// The report's style sheet. Public so that the web console (`tiaki serve`) can serve it as a
/// file and render the same sections as the report.
pub const CSS: &str = r#"
:root{--ink:#1b1f24;--muted:#59626e;--line:#d5dae1;--soft:#f5f7f9;--accent:#1d3557}
*{box-sizing:border-box}
html{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{margin:0;color:var(--ink);background:#fff;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans","Liberation Sans",sans-serif}
.wrap{max-width:1200px;margin:0 auto;padding:0 32px;box-sizing:content-box}
.tlp{background:#000;text-align:center;padding:6px 0;font:700 13px/1.2 ui-monospace,"SFMono-Regular",Menlo,Consolas,"Liberation Mono",monospace;letter-spacing:.12em}
.tlp small{font-weight:400;letter-spacing:0;color:#c9ced6;margin-left:1.2em}
header.top{padding:22px 0 8px}
.org{font-size:12px;letter-spacing:.1em;text-transform:uppercase;color:var(--muted)}
h1{font-size:26px;line-height:1.25;margin:4px 0 6px;font-weight:650}
.meta{color:var(--muted);font-size:12.5px}
.kj{display:grid;grid-template-columns:1.5fr 1fr 1fr;gap:0;margin:16px 0 6px;border:1px solid var(--line);border-left:4px solid var(--accent);background:var(--soft)}
.kj>div{padding:12px 16px;border-left:1px solid var(--line)}
.kj>div:first-child{border-left:0}
.kj h3{margin:0 0 4px;font-size:11px;letter-spacing:.08em;text-transform:uppercase;color:var(--muted);font-weight:600}
.kj .big{font-size:17px;font-weight:650;line-height:1.3}
.kj p{margin:4px 0 0;font-size:13px}
nav.toc{font-size:12.5px;color:var(--muted);margin:8px 0 0;padding:6px 0;border-bottom:1px solid var(--line)}
nav.toc a{color:var(--accent);text-decoration:none;margin-right:14px}
section{margin:26px 0 8px}
h2{font-size:18px;margin:0 0 10px;padding-bottom:4px;border-bottom:2px solid var(--ink);font-weight:650}
h3{font-size:15px;margin:18px 0 6px}
h4{font-size:13px;margin:14px 0 4px;color:var(--muted);text-transform:uppercase;letter-spacing:.05em}
p.lead{margin:0 0 10px;color:#2d333b}
.note{color:var(--muted);font-size:12.5px}
figure{margin:0 0 8px}
figcaption{font-size:12px;color:var(--muted);margin-top:2px}
svg{display:block;font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,"Liberation Sans",sans-serif}
svg text{fill:#2d333b}
table{border-collapse:collapse;width:100%;font-size:12.5px;margin:4px 0 10px}
th{background:#eef1f4;text-align:left;font-weight:600;padding:5px 8px;border-bottom:1px solid #c7cdd5;vertical-align:bottom}
td{padding:4px 8px;border-bottom:1px solid #e4e7eb;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.mono,td.src,td.sum{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,"Liberation Mono",monospace;font-size:11.5px;overflow-wrap:anywhere}
table.ev{table-layout:fixed}
table.ev td{overflow-wrap:anywhere}
td.t{white-space:nowrap;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:1px 8px;border-radius:3px;font-size:11px;font-weight:700;letter-spacing:.06em;text-transform:uppercase;color:#fff;vertical-align:middle}
.sev-critical{background:#8b1a1a}.sev-high{background:#b4441a}.sev-medium{background:#94660c}.sev-low{background:#4d6b2a}.sev-informational{background:#5a6472}
.lvl{font-size:11px;font-weight:600}
.lvl-critical{color:#8b1a1a}.lvl-high{color:#b4441a}.lvl-medium{color:#94660c}
article.inc{border:1px solid var(--line);border-radius:4px;padding:12px 16px;margin:12px 0}
article.inc h3{margin:0 0 4px}
dl.ent{display:grid;grid-template-columns:120px 1fr;gap:2px 12px;font-size:12.5px;margin:8px 0}
dl.ent dt{color:var(--muted)}dl.ent dd{margin:0}
details{margin:6px 0}
summary{cursor:pointer;font-weight:600;font-size:13px;color:var(--accent)}
.verdict{border:1px solid var(--line);border-left:4px solid var(--accent);padding:8px 14px;margin:0 0 10px;background:var(--soft)}
.verdict.abstain{border-left-color:#94660c}
.wbar{display:inline-block;height:9px;vertical-align:middle;margin-right:6px}
.wfor{background:#3b7d5c}.wagainst{background:#9b3b3b}
.mx{display:grid;gap:6px;align-items:start}
.mx .col h4{margin:0 0 4px;font-size:11px;min-height:30px;color:#2d333b;text-transform:none;letter-spacing:-.01em;line-height:1.25;overflow-wrap:break-word;hyphens:auto}
.mx .cell{border-radius:3px;padding:4px 6px;margin-bottom:4px;font-size:11px;line-height:1.3;border:1px solid rgba(0,0,0,.08);overflow-wrap:break-word;hyphens:auto}
.mx .cell b{display:block;font-weight:650}
.mx .cell .c{float:right;font-weight:700}
.legend{font-size:12px;color:var(--muted);margin:4px 0}
.legend .li{white-space:nowrap;margin-right:12px;display:inline-block}
.legend span.sw{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-2px;margin:0 5px 0 0}
ul.plain{margin:4px 0;padding-left:18px}
footer{margin:30px 0 0;border-top:1px solid var(--line);padding:10px 0 0;font-size:11.5px;color:var(--muted)}
@page{margin:14mm}
@media print{
 body{font-size:10pt}
 .wrap{max-width:none;padding:0}
 nav.toc{display:none}
 h2,h3{break-after:avoid}
 figure,tr,.kj,.verdict,article.inc>header{break-inside:avoid}
 article.inc{border:0;padding:0}
 details::details-content{content-visibility:visible;display:block;height:auto}
 summary{color:var(--ink)}
 a{color:inherit;text-decoration:none}
}
"#;

/// Renders the investigation as one self-contained HTML document (UTF-8): inline CSS and SVG,
/// no script, no external resource of any kind. All text from the investigation is escaped.
pub fn render_html(inv: &Investigation) -> String {
    let mut h = String::with_capacity(64 * 1024 + inv.incident_events() * 600);
    let title = if inv.title.is_empty() {
        "Investigation report"
    } else {
        inv.title.as_str()
    };
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    // No network, no script, no plug-ins, even if a future change slipped a reference in.
    h.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n");
    h.push_str("<meta name=\"referrer\" content=\"no-referrer\">\n");
    h.push_str("<meta name=\"generator\" content=\"tiaki\">\n");
    w!(h, "<title>{}</title>\n", esc(title));
    w!(h, "<style>{CSS}</style>\n</head>\n<body>\n");
    tlp_banner(&mut h, &inv.tlp);
    h.push_str("<div class=\"wrap\">\n");
    header(&mut h, inv, title);
    h.push_str("<main>\n");
    timeline(&mut h, inv);
    attribution(&mut h, inv);
    graph(&mut h, inv);
    matrix(&mut h, inv);
    incidents(&mut h, inv);
    containment(&mut h, inv);
    recall(&mut h, inv);
    appendix(&mut h, inv);
    h.push_str("</main>\n<footer>\n");
    w!(
        h,
        "<p>Generated by tiaki{}. All times UTC. {}</p>\n",
        if inv.generated.is_empty() {
            String::new()
        } else {
            format!(" on {}", esc(&time::show(&inv.generated)))
        },
        ATTACK_NOTICE
    );
    h.push_str("</footer>\n</div>\n");
    tlp_banner(&mut h, &inv.tlp);
    h.push_str("</body>\n</html>\n");
    h
}

/// MITRE's notice, required wherever ATT&CK content is reproduced.
pub(crate) const ATTACK_NOTICE: &str = "MITRE ATT&amp;CK® technique and tactic names: © 2025 The MITRE Corporation. This work is reproduced and distributed with the permission of The MITRE Corporation.";

/// The TLP 2.0 label colours (FIRST): text colour on black.
fn tlp_colour(tlp: &str) -> &'static str {
    let t = tlp.trim().to_ascii_uppercase();
    let level = t.strip_prefix("TLP:").unwrap_or(&t);
    match level {
        "RED" => "#FF2B2B",
        "AMBER" | "AMBER+STRICT" => "#FFC000",
        "GREEN" => "#33FF00",
        _ => "#FFFFFF",
    }
}

/// What the label allows, in one line (FIRST TLP 2.0).
fn tlp_meaning(tlp: &str) -> &'static str {
    let t = tlp.trim().to_ascii_uppercase();
    match t.strip_prefix("TLP:").unwrap_or(&t) {
        "RED" => "For the eyes and ears of individual recipients only.",
        "AMBER+STRICT" => "Limited disclosure: recipient organisation only.",
        "AMBER" => "Limited disclosure: recipient organisation and its clients, need-to-know.",
        "GREEN" => "Limited disclosure: the recipient's community.",
        "CLEAR" | "WHITE" => "Disclosure is not limited.",
        _ => "",
    }
}

fn tlp_banner(h: &mut String, tlp: &str) {
    if tlp.trim().is_empty() {
        return;
    }
    w!(
        h,
        "<div class=\"tlp\" style=\"color:{}\">{}<small>{}</small></div>\n",
        tlp_colour(tlp),
        esc(tlp.trim()),
        tlp_meaning(tlp)
    );
}

fn header(h: &mut String, inv: &Investigation, title: &str) {
    h.push_str("<header class=\"top\">\n");
    if !inv.organisation.is_empty() {
        w!(
            h,
            "<div class=\"org\">{} · Incident investigation report</div>\n",
            esc(&inv.organisation)
        );
    }
    w!(h, "<h1>{}</h1>\n", esc(title));
    let mut meta = Vec::new();
    if !inv.generated.is_empty() {
        meta.push(format!(
            "Generated {} UTC",
            esc(&time::show(&inv.generated))
        ));
    }
    if let Some((a, b)) = inv.window() {
        meta.push(format!(
            "Activity {} – {} UTC",
            esc(&time::show_minutes(&a)),
            esc(&time::show_minutes(&b))
        ));
    }
    if !inv.kb_label.is_empty() {
        meta.push(format!("Knowledge base: {}", esc(&inv.kb_label)));
    }
    w!(h, "<div class=\"meta\">{}</div>\n", meta.join(" · "));

    // Key judgements.
    h.push_str("<div class=\"kj\">\n<div><h3>Attribution</h3>");
    match inv.key_judgement() {
        Some((head, detail)) => {
            w!(
                h,
                "<div class=\"big\">{}</div><p>{}</p>",
                esc(&head),
                esc(&detail)
            );
        }
        None => h.push_str("<div class=\"big\">Not assessed</div><p>No attribution was run for this investigation.</p>"),
    }
    h.push_str("</div>\n<div><h3>Incidents</h3>");
    let hosts: BTreeSet<&str> = inv
        .incidents
        .iter()
        .flat_map(|i| i.hosts.iter().map(String::as_str))
        .collect();
    match inv.worst_severity() {
        Some(s) => {
            w!(
                h,
                "<div class=\"big\">{} incident{} <span class=\"badge sev-{}\">{}</span></div><p>Worst severity {}; {} detection{} on {} host{}.</p>",
                inv.incidents.len(),
                plural(inv.incidents.len()),
                s.as_str(),
                s.as_str(),
                s.as_str(),
                inv.incident_events(),
                plural(inv.incident_events()),
                hosts.len(),
                plural(hosts.len())
            );
        }
        None => w!(
            h,
            "<div class=\"big\">No incidents</div><p>{} detection{} in the hunt; none grouped into an incident.</p>",
            inv.hunt.detections,
            plural(inv.hunt.detections as usize)
        ),
    }
    h.push_str("</div>\n<div><h3>Containment</h3>");
    let (total, phrase) = inv.containment.action_summary();
    if total == 0 {
        h.push_str("<div class=\"big\">No actions</div><p>The plan is empty.</p>");
    } else {
        w!(
            h,
            "<div class=\"big\">{total} action{}</div><p>{phrase}.</p>",
            plural(total)
        );
    }
    h.push_str("</div>\n</div>\n");
    h.push_str("<nav class=\"toc\"><a href=\"#timeline\">Timeline</a><a href=\"#attribution\">Attribution</a><a href=\"#graph\">Incident graph</a><a href=\"#matrix\">ATT&amp;CK matrix</a><a href=\"#incidents\">Incidents</a><a href=\"#containment\">Containment</a>");
    if inv.recall.is_some() {
        h.push_str("<a href=\"#recall\">Detection recall</a>");
    }
    h.push_str("<a href=\"#appendix\">Appendix</a></nav>\n</header>\n");
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

// ---------------------------------------------------------------------------------------------
// Timeline

struct Mark<'a> {
    t: DateTime<Utc>,
    lane: usize,
    tactic: &'a str,
    level: Level,
    tip: String,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Low,
    Medium,
    High,
    Critical,
}

impl Level {
    fn of(s: Option<&str>) -> Level {
        match s.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            Some("critical") => Level::Critical,
            Some("high") => Level::High,
            Some("medium") => Level::Medium,
            _ => Level::Low,
        }
    }
    fn radius(self) -> f64 {
        match self {
            Level::Critical => 6.5,
            Level::High => 5.5,
            Level::Medium => 4.5,
            Level::Low => 3.5,
        }
    }
    /// Outline: critical and high markers get a dark ring, the others a thin white one that
    /// separates overlapping markers.
    fn stroke(self) -> (&'static str, f64) {
        match self {
            Level::Critical => ("#1b1f24", 2.0),
            Level::High => ("#1b1f24", 1.0),
            _ => ("#ffffff", 0.8),
        }
    }
}

/// One host-hour of the aggregated timeline: detections, detections per tactic, worst level.
type Bucket<'a> = (usize, BTreeMap<&'a str, usize>, Level);

/// Appends the timeline section (`<section id="timeline">`: lanes per host, the hour-of-day
/// grid) to `h`.
pub fn timeline(h: &mut String, inv: &Investigation) {
    h.push_str("<section id=\"timeline\">\n<h2>Timeline</h2>\n");
    // Lanes: hosts in order of first activity.
    let mut first_by_host: HashMap<&str, DateTime<Utc>> = HashMap::new();
    let mut events = Vec::new();
    for inc in &inv.incidents {
        for e in &inc.events {
            let Some(t) = e.timestamp.as_deref().and_then(time::parse) else {
                continue;
            };
            let host = e.host.as_deref().unwrap_or("(no host)");
            let f = first_by_host.entry(host).or_insert(t);
            if t < *f {
                *f = t;
            }
            events.push((t, host, inc, e));
        }
    }
    if events.is_empty() {
        h.push_str(
            "<p class=\"note\">No timestamped detections to place on a timeline.</p>\n</section>\n",
        );
        return;
    }
    let mut hosts: Vec<(&str, DateTime<Utc>)> = first_by_host.into_iter().collect();
    hosts.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(b.0)));
    let overflow = hosts.len() > MAX_LANES;
    let lane_of: HashMap<&str, usize> = hosts
        .iter()
        .enumerate()
        .map(|(i, (host, _))| (*host, i.min(MAX_LANES - 1)))
        .collect();
    let mut lane_names: Vec<String> = hosts
        .iter()
        .take(MAX_LANES)
        .map(|(n, _)| n.to_string())
        .collect();
    if overflow {
        lane_names[MAX_LANES - 1] = format!("{} other hosts", hosts.len() - (MAX_LANES - 1));
    }
    let lanes = lane_names.len();

    let tmin = events.iter().map(|e| e.0).min().unwrap_or_default();
    let tmax = events.iter().map(|e| e.0).max().unwrap_or_default();
    let start = day_floor(tmin);
    let mut end = day_floor(tmax) + Duration::days(1);
    if end <= start {
        end = start + Duration::days(1);
    }
    let days = (end - start).num_days().max(1);

    let (lx, x0, x1) = (0.0, 150.0, W - 8.0);
    let top = 36.0;
    let lane_h = 34.0;
    let plot_h = lanes as f64 * lane_h;
    let height = top + plot_h + 8.0;
    let span = (end - start).num_seconds() as f64;
    let xof = |t: DateTime<Utc>| x0 + (t - start).num_seconds() as f64 / span * (x1 - x0);
    let day_w = (x1 - x0) / days as f64;

    let marks: Vec<Mark> = events
        .iter()
        .map(|(t, host, inc, e)| Mark {
            t: *t,
            lane: lane_of[host],
            tactic: e.tactic.as_deref().unwrap_or(""),
            level: Level::of(e.level.as_deref()),
            tip: format!(
                "{} UTC · {} · {}{} · {}{}",
                t.format("%Y-%m-%d %H:%M:%S"),
                host,
                e.rule_title,
                e.level
                    .as_deref()
                    .map(|l| format!(" ({l})"))
                    .unwrap_or_default(),
                inc.id,
                if e.attack.is_empty() {
                    String::new()
                } else {
                    format!(" · {}", e.attack.join(", "))
                }
            ),
        })
        .collect();

    let aggregate = marks.len() > AGGREGATE_ABOVE;
    w!(
        h,
        "<p class=\"lead\">{} timestamped detection{} on {} host{} between {} and {} UTC. One lane per host, in order of first activity; each marker is a detection, coloured by ATT&amp;CK tactic and sized by rule level; weekends (UTC) are shaded.{}</p>\n",
        marks.len(),
        plural(marks.len()),
        hosts.len(),
        plural(hosts.len()),
        tmin.format("%Y-%m-%d %H:%M"),
        tmax.format("%Y-%m-%d %H:%M"),
        if aggregate {
            " There are too many to draw singly: each marker is one host-hour, sized by its number of detections and coloured by its most frequent tactic."
        } else {
            ""
        }
    );
    h.push_str("<figure>\n");
    w!(
        h,
        "<svg viewBox=\"0 0 {W} {height:.0}\" width=\"100%\" role=\"img\" aria-label=\"Timeline of detections per host\">\n"
    );
    // Weekend shading and day grid.
    let label_step = [1i64, 2, 7, 14, 28, 56, 112, 364]
        .into_iter()
        .find(|k| *k as f64 * day_w >= 44.0)
        .unwrap_or(364);
    for d in 0..days {
        let day = start + Duration::days(d);
        let x = x0 + d as f64 * day_w;
        if matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            w!(
                h,
                "<rect x=\"{x:.1}\" y=\"{top}\" width=\"{day_w:.1}\" height=\"{plot_h}\" fill=\"{}\"/>",
                palette::WEEKEND
            );
        }
        let labelled = if label_step >= 7 {
            day.weekday() == Weekday::Mon
                && i64::from(day.iso_week().week()) % (label_step / 7) == 0
        } else {
            d % label_step == 0
        };
        let major = day.weekday() == Weekday::Mon;
        w!(
            h,
            "<line x1=\"{x:.1}\" y1=\"{}\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"1\"/>",
            top - if labelled { 6.0 } else { 0.0 },
            top + plot_h,
            if major { "#c3c9d1" } else { "#e1e5ea" }
        );
        if labelled {
            w!(
                h,
                "<text x=\"{:.1}\" y=\"{}\" font-size=\"11\" font-weight=\"{}\">{}</text>",
                x + 3.0,
                top - 20.0,
                if major { 600 } else { 400 },
                day.format("%d %b")
            );
            if day_w * label_step as f64 >= 44.0 && label_step < 7 {
                w!(
                    h,
                    "<text x=\"{:.1}\" y=\"{}\" font-size=\"10\" fill=\"#59626e\">{}</text>",
                    x + 3.0,
                    top - 8.0,
                    day.format("%a")
                );
            }
        }
    }
    // The operator's working window on every day, as a strip under the axis.
    let window = activity_window(&marks);
    if let Some((ws, wl)) = window {
        let hour_w = day_w / 24.0;
        for d in 0..days {
            let x = x0 + d as f64 * day_w + ws as f64 * hour_w;
            // A window that wraps midnight is drawn in two parts.
            let first = wl.min(24 - ws) as f64;
            for (x, w) in [
                (x, first * hour_w),
                (x0 + d as f64 * day_w, (wl as f64 - first) * hour_w),
            ] {
                if w > 0.0 {
                    w!(
                        h,
                        "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"4\" fill=\"{}\"/>",
                        top + 1.0,
                        palette::ACTIVITY[3]
                    );
                }
            }
        }
    }
    // Lanes.
    for (i, name) in lane_names.iter().enumerate() {
        let y = top + i as f64 * lane_h;
        w!(
            h,
            "<line x1=\"{lx}\" y1=\"{:.1}\" x2=\"{x1}\" y2=\"{:.1}\" stroke=\"#d5dae1\"/>",
            y + lane_h,
            y + lane_h
        );
        w!(
            h,
            "<text x=\"{lx}\" y=\"{:.1}\" font-size=\"12\" font-weight=\"600\"><title>{}</title>{}</text>",
            y + lane_h / 2.0 + 4.0,
            esc(name),
            esc(&truncate(name, 20))
        );
    }
    w!(
        h,
        "<line x1=\"{lx}\" y1=\"{top}\" x2=\"{x1}\" y2=\"{top}\" stroke=\"#8a939e\"/>"
    );
    // Markers.
    let lane_mid = |lane: usize| top + lane as f64 * lane_h + lane_h / 2.0;
    if aggregate {
        // One marker per lane and hour.
        let mut buckets: BTreeMap<(usize, i64), Bucket> = BTreeMap::new();
        for m in &marks {
            let b = buckets
                .entry((m.lane, m.t.timestamp().div_euclid(3600)))
                .or_insert((0, BTreeMap::new(), Level::Low));
            b.0 += 1;
            *b.1.entry(m.tactic).or_insert(0) += 1;
            b.2 = b.2.max(m.level);
        }
        for ((lane, hour), (n, tactics, level)) in &buckets {
            let t = Utc.timestamp_opt(hour * 3600, 0).single().unwrap_or(start);
            let x = xof(t + Duration::minutes(30));
            let dominant = tactics
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map(|(t, _)| *t)
                .unwrap_or("");
            let r = (3.0 + 1.6 * (*n as f64).ln()).min(lane_h / 2.0 - 2.0);
            let (sc, sw) = level.stroke();
            let mix = tactics
                .iter()
                .map(|(t, c)| {
                    format!(
                        "{} {c}",
                        inv.tactic_name(if t.is_empty() { "unknown" } else { t })
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            w!(
                h,
                "<circle cx=\"{x:.1}\" cy=\"{:.1}\" r=\"{r:.1}\" fill=\"{}\" stroke=\"{sc}\" stroke-width=\"{sw}\"><title>{} · {}:00–{}:59 UTC · {n} detection{} ({})</title></circle>",
                lane_mid(*lane),
                palette::tactic(dominant),
                esc(&lane_names[*lane]),
                t.format("%Y-%m-%d %H"),
                t.format("%H"),
                plural(*n),
                esc(&mix)
            );
        }
    } else {
        // Singly; markers closer than a marker's width in one lane are stacked vertically.
        let mut order: Vec<&Mark> = marks.iter().collect();
        order.sort_by(|a, b| a.lane.cmp(&b.lane).then(a.t.cmp(&b.t)));
        let mut placed: Vec<(usize, f64)> = Vec::new();
        let offsets = [0.0, -7.0, 7.0, -12.0, 12.0];
        // Draw low levels first so that critical markers are on top.
        let mut drawn: Vec<(Level, String)> = Vec::new();
        for m in order {
            let x = xof(m.t);
            let crowd = placed
                .iter()
                .rev()
                .take_while(|(l, px)| *l == m.lane && x - *px < 6.0)
                .count();
            placed.push((m.lane, x));
            let y = lane_mid(m.lane) + offsets[crowd % offsets.len()];
            let (sc, sw) = m.level.stroke();
            drawn.push((
                m.level,
                format!(
                    "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{}\" fill=\"{}\" stroke=\"{sc}\" stroke-width=\"{sw}\"><title>{}</title></circle>",
                    m.level.radius(),
                    palette::tactic(m.tactic),
                    esc(&m.tip)
                ),
            ));
        }
        drawn.sort_by_key(|d| d.0);
        for (_, s) in drawn {
            h.push_str(&s);
        }
    }
    h.push_str("\n</svg>\n");
    // Legend: the tactics present, then the level sizes.
    let present: BTreeSet<&str> = marks.iter().map(|m| m.tactic).collect();
    h.push_str("<div class=\"legend\">");
    for (short, name) in inv.tactic_order() {
        if present.contains(short.as_str()) {
            w!(
                h,
                "<span class=\"li\"><span class=\"sw\" style=\"background:{};border-radius:50%\"></span>{}</span>",
                palette::tactic(&short),
                esc(&name)
            );
        }
    }
    let known: BTreeSet<String> = inv.tactic_order().into_iter().map(|t| t.0).collect();
    if present.iter().any(|t| !known.contains(*t)) {
        w!(
            h,
            "<span class=\"li\"><span class=\"sw\" style=\"background:{};border-radius:50%\"></span>Other / no tactic</span>",
            palette::TACTIC_OTHER
        );
    }
    w!(
        h,
        "<span class=\"li\"><span class=\"sw\" style=\"background:{}\"></span>Weekend (UTC)</span>",
        palette::WEEKEND
    );
    if let Some((ws, wl)) = window {
        w!(
            h,
            "<span class=\"li\"><span class=\"sw\" style=\"background:{};height:4px;vertical-align:2px\"></span>Operator hours {:02}:00–{:02}:59 UTC (90 % of detections)</span>",
            palette::ACTIVITY[3],
            ws,
            (ws + wl - 1) % 24
        );
    }
    h.push_str("</div>\n");
    h.push_str("<div class=\"legend\">Marker size: rule level low · medium · <b>high</b> (dark ring) · <b>critical</b> (heavy ring). Hover a marker for the detection.</div>\n");
    h.push_str("</figure>\n");
    activity_grid(h, &marks);
    h.push_str("</section>\n");
}

fn day_floor(t: DateTime<Utc>) -> DateTime<Utc> {
    t.date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|d| Utc.from_utc_datetime(&d))
        .unwrap_or(t)
}

/// The shortest run of UTC hours (wrapping midnight) holding 90 % of the detections:
/// `(first hour, hours)`, or `None` when it takes the whole day.
fn activity_window(marks: &[Mark]) -> Option<(usize, usize)> {
    let mut by_hour = [0usize; 24];
    for m in marks {
        by_hour[m.t.hour() as usize] += 1;
    }
    let need = (marks.len() as f64 * 0.9).ceil() as usize;
    (1..24).find_map(|len| {
        (0..24)
            .find(|s| (0..len).map(|k| by_hour[(s + k) % 24]).sum::<usize>() >= need)
            .map(|s| (s, len))
    })
}

/// Detections by UTC hour and weekday: the operator's working pattern.
fn activity_grid(h: &mut String, marks: &[Mark]) {
    let mut grid = [[0usize; 24]; 7];
    for m in marks {
        grid[m.t.weekday().num_days_from_monday() as usize][m.t.hour() as usize] += 1;
    }
    let total = marks.len();
    let max = grid.iter().flatten().copied().max().unwrap_or(0).max(1);
    let weekend: usize = grid[5].iter().chain(grid[6].iter()).sum();
    let window = match activity_window(marks) {
        Some((s, len)) => format!(
            "90 % of detections fall between {:02}:00 and {:02}:59 UTC",
            s,
            (s + len - 1) % 24
        ),
        _ => "Detections are spread across the day".to_string(),
    };
    let (x0, cw, ch, top) = (150.0, (W - 158.0) / 24.0, 15.0, 16.0);
    let height = top + 7.0 * ch + 4.0;
    h.push_str("<figure>\n");
    w!(
        h,
        "<svg viewBox=\"0 0 {W} {height}\" width=\"100%\" role=\"img\" aria-label=\"Detections by hour of day and weekday\">\n"
    );
    w!(
        h,
        "<text x=\"0\" y=\"{}\" font-size=\"11\" font-weight=\"600\">Hour of day (UTC)</text>",
        top - 4.0
    );
    for hr in (0..24).step_by(3) {
        w!(
            h,
            "<text x=\"{:.1}\" y=\"{}\" font-size=\"10\" fill=\"#59626e\">{hr:02}</text>",
            x0 + hr as f64 * cw + 2.0,
            top - 4.0
        );
    }
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    for (d, row) in grid.iter().enumerate() {
        let y = top + d as f64 * ch;
        w!(
            h,
            "<text x=\"{}\" y=\"{:.1}\" font-size=\"10.5\" fill=\"#59626e\" text-anchor=\"end\">{}</text>",
            x0 - 8.0,
            y + ch - 4.0,
            DAYS[d]
        );
        for (hr, n) in row.iter().enumerate() {
            let idx = if *n == 0 {
                0
            } else {
                1 + ((*n as f64 / max as f64) * 4.999).floor() as usize
            };
            w!(
                h,
                "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{} {hr:02}:00 UTC: {n}</title></rect>",
                x0 + hr as f64 * cw,
                cw - 1.0,
                ch - 1.0,
                palette::ACTIVITY[idx.min(5)],
                DAYS[d]
            );
        }
    }
    h.push_str("\n</svg>\n");
    w!(
        h,
        "<figcaption>Detections by weekday and hour (UTC), darker is more. {window}; {weekend} of {total} on a Saturday or Sunday.</figcaption>\n</figure>\n"
    );
}

// ---------------------------------------------------------------------------------------------
// Attribution

/// Appends the attribution section (`<section id="attribution">`: verdict, candidate chart,
/// evidence for and against each candidate) to `h`.
pub fn attribution(h: &mut String, inv: &Investigation) {
    h.push_str("<section id=\"attribution\">\n<h2>Attribution</h2>\n");
    let Some(a) = &inv.assessment else {
        h.push_str(
            "<p class=\"note\">No attribution was run for this investigation.</p>\n</section>\n",
        );
        return;
    };
    let threshold = match &a.verdict {
        Verdict::Attributed {
            id,
            name,
            confidence,
            threshold,
        } => {
            w!(
                h,
                "<div class=\"verdict\"><b>Verdict: attributed to {} ({}).</b> It is {} ({}) that the activity is by this intrusion set, above the {} threshold at which the engine attributes.</div>\n",
                esc(name),
                esc(id),
                yardstick(*confidence),
                percent(*confidence),
                percent(*threshold)
            );
            *threshold
        }
        Verdict::InsufficientEvidence {
            reason,
            unknown,
            hypotheses,
            threshold,
        } => {
            w!(
                h,
                "<div class=\"verdict abstain\"><b>Verdict: not attributed — insufficient evidence.</b> {}. No known set clears the {} threshold; the probability that the actor is none of the known sets is {}.{}</div>\n",
                esc(reason),
                percent(*threshold),
                percent(*unknown),
                if hypotheses.is_empty() {
                    String::new()
                } else {
                    format!(
                        " Hypotheses, not assertions: {}.",
                        hypotheses
                            .iter()
                            .take(5)
                            .map(|h| format!(
                                "{} ({}) {}",
                                esc(&h.name),
                                esc(&h.id),
                                percent(h.probability)
                            ))
                            .collect::<Vec<_>>()
                            .join("; ")
                    )
                }
            );
            *threshold
        }
    };
    // The bar chart: candidates, the other known sets together, and "unknown".
    let mut rows: Vec<(String, String, f64, &str)> = a
        .candidates
        .iter()
        .map(|c| {
            let aka = if c.aliases.is_empty() {
                String::new()
            } else {
                format!(
                    " · {}",
                    c.aliases
                        .iter()
                        .take(2)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            (
                format!("{} ({})", c.name, c.id),
                aka,
                c.probability,
                palette::ATTRIBUTION_BAR,
            )
        })
        .collect();
    rows.push((
        format!(
            "Other known sets ({})",
            a.groups_ranked.saturating_sub(a.candidates.len())
        ),
        String::new(),
        a.rest,
        palette::ATTRIBUTION_REST,
    ));
    rows.push((
        "None of the known sets".to_string(),
        String::new(),
        a.unknown,
        palette::ATTRIBUTION_UNKNOWN,
    ));
    let (tx, tw, row_h, top) = (340.0, 760.0, 28.0, 22.0);
    let height = top + rows.len() as f64 * row_h + 8.0;
    h.push_str("<figure>\n");
    w!(
        h,
        "<svg viewBox=\"0 0 {W} {height}\" width=\"100%\" role=\"img\" aria-label=\"Probability per candidate intrusion set\">\n"
    );
    w!(
        h,
        "<text x=\"0\" y=\"12\" font-size=\"11\" font-weight=\"600\">Intrusion set</text><text x=\"{tx}\" y=\"12\" font-size=\"11\" font-weight=\"600\">Probability</text>"
    );
    for (i, (label, aka, p, colour)) in rows.iter().enumerate() {
        let y = top + i as f64 * row_h;
        let p = p.clamp(0.0, 1.0);
        w!(
            h,
            "<text x=\"0\" y=\"{:.1}\" font-size=\"12.5\" font-weight=\"{}\">{}<tspan fill=\"#59626e\" font-weight=\"400\" font-size=\"11\">{}</tspan></text>",
            y + 15.0,
            if i == 0 { 650 } else { 400 },
            esc(&truncate(label, 38)),
            esc(&truncate(
                aka,
                60usize.saturating_sub(label.chars().count())
            ))
        );
        w!(
            h,
            "<rect x=\"{tx}\" y=\"{:.1}\" width=\"{tw}\" height=\"18\" fill=\"{}\"/>",
            y + 2.0,
            palette::ATTRIBUTION_TRACK
        );
        if p > 0.0 {
            w!(
                h,
                "<rect x=\"{tx}\" y=\"{:.1}\" width=\"{:.1}\" height=\"18\" fill=\"{colour}\"><title>{}: {}</title></rect>",
                y + 2.0,
                (p * tw).max(1.0),
                esc(label),
                percent(p)
            );
        }
        w!(
            h,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12.5\" font-weight=\"{}\">{}</text>",
            tx + tw + 10.0,
            y + 15.0,
            if i == 0 { 650 } else { 400 },
            percent(p)
        );
    }
    let thx = tx + threshold.clamp(0.0, 1.0) * tw;
    w!(
        h,
        "<line x1=\"{thx:.1}\" y1=\"{}\" x2=\"{thx:.1}\" y2=\"{:.1}\" stroke=\"#1b1f24\" stroke-width=\"1.5\" stroke-dasharray=\"4 3\"/><text x=\"{:.1}\" y=\"12\" font-size=\"10.5\" fill=\"#59626e\">threshold {}</text>",
        top - 2.0,
        height - 6.0,
        thx + 4.0,
        percent(threshold)
    );
    h.push_str("\n</svg>\n");
    let s = &a.summary;
    w!(
        h,
        "<figcaption>Probabilities sum to 1 over the listed sets, the {} other known sets and an unknown actor. Evidence used: {} technique{}, {} software, {} of {} indicator{} matched, {} CVE{}, {} sector{}, {} countr{}, {} activity hour{}, {} rule group tag{}. {} known sets ranked; prior: {}{}.</figcaption>\n</figure>\n",
        a.groups_ranked.saturating_sub(a.candidates.len()),
        s.techniques,
        plural(s.techniques),
        s.software,
        s.indicators_matched,
        s.indicators,
        plural(s.indicators),
        s.cves,
        plural(s.cves),
        s.sectors,
        plural(s.sectors),
        s.countries,
        if s.countries == 1 { "y" } else { "ies" },
        s.activity_hours,
        plural(s.activity_hours),
        s.group_tags,
        plural(s.group_tags),
        a.groups_ranked,
        a.prior.name(),
        if inv.kb_label.is_empty() {
            String::new()
        } else {
            format!("; knowledge base: {}", esc(&inv.kb_label))
        }
    );
    // Evidence per candidate.
    h.push_str("<h3>Evidence for and against each candidate</h3>\n<p class=\"note\">Weights are changes in the candidate's log-odds (natural log units) when the item is removed; positive supports the candidate. Items not observed are the candidate's distinctive behaviours that the evidence lacks.</p>\n");
    for (i, c) in a.candidates.iter().enumerate() {
        candidate_evidence(h, c, i == 0);
    }
    if !a.unresolved.is_empty() {
        w!(
            h,
            "<details><summary>Evidence the model could not use ({})</summary>\n<table><thead><tr><th>Channel</th><th>Item</th><th>Why not used</th></tr></thead><tbody>\n",
            a.unresolved.len()
        );
        for u in &a.unresolved {
            w!(
                h,
                "<tr><td>{}</td><td class=\"mono\">{}</td><td>{}</td></tr>\n",
                channel_name(u.channel),
                esc(&u.item),
                esc(&u.reason)
            );
        }
        h.push_str("</tbody></table>\n</details>\n");
    }
    h.push_str("</section>\n");
}

/// The display name of an evidence channel.
pub(crate) fn channel_name(c: Channel) -> &'static str {
    match c {
        Channel::Technique => "Technique",
        Channel::Software => "Software",
        Channel::Infrastructure => "Infrastructure",
        Channel::Vulnerability => "Vulnerability",
        Channel::Sector => "Sector",
        Channel::Country => "Country",
        Channel::WorkingHours => "Working hours",
        Channel::RuleTag => "Rule tag",
        Channel::Profile => "Profile",
    }
}

fn candidate_evidence(h: &mut String, c: &Candidate, open: bool) {
    let for_: Vec<&EvidenceItem> = c
        .evidence
        .iter()
        .filter(|e| e.direction == Direction::For)
        .collect();
    let against: Vec<&EvidenceItem> = c
        .evidence
        .iter()
        .filter(|e| e.direction == Direction::Against)
        .collect();
    w!(
        h,
        "<details{}><summary>{}. {} ({}) — {} · {} item{} for, {} against</summary>\n",
        if open { " open" } else { "" },
        c.rank,
        esc(&c.name),
        esc(&c.id),
        percent(c.probability),
        for_.len(),
        plural(for_.len()),
        against.len()
    );
    if !c.aliases.is_empty() {
        w!(
            h,
            "<p class=\"note\">Also reported as: {}.</p>\n",
            esc(&c.aliases.join(", "))
        );
    }
    let max = c
        .evidence
        .iter()
        .map(|e| e.weight.abs())
        .fold(0.0f64, f64::max)
        .max(1e-9);
    for (title, items) in [("For", &for_), ("Against", &against)] {
        if items.is_empty() {
            continue;
        }
        w!(
            h,
            "<h4>{title}</h4>\n<table><thead><tr><th style=\"width:110px\">Channel</th><th>Item</th><th class=\"n\" style=\"width:150px\">Weight</th><th style=\"width:70px\">Observed</th><th>Why</th></tr></thead><tbody>\n"
        );
        for e in items.iter() {
            w!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"n\"><span class=\"wbar {}\" style=\"width:{:.0}px\"></span>{:+.2}</td><td>{}</td><td class=\"note\">{}</td></tr>\n",
                channel_name(e.channel),
                esc(&e.item),
                if e.weight >= 0.0 { "wfor" } else { "wagainst" },
                (e.weight.abs() / max * 70.0).max(1.0),
                e.weight,
                if e.observed { "yes" } else { "no" },
                esc(e.why.as_deref().unwrap_or(""))
            );
        }
        h.push_str("</tbody></table>\n");
    }
    h.push_str("</details>\n");
}

// ---------------------------------------------------------------------------------------------
// Incident graph

fn kind_name(k: EntityKind) -> &'static str {
    match k {
        EntityKind::Host => "host",
        EntityKind::Account => "account",
        EntityKind::Address => "address",
        EntityKind::WebShell => "web-shell",
        EntityKind::Process => "process",
        EntityKind::File => "file",
        EntityKind::Domain => "domain",
    }
}

fn kind_title(k: EntityKind) -> &'static str {
    match k {
        EntityKind::Host => "Hosts",
        EntityKind::Account => "Accounts",
        EntityKind::Address => "Addresses",
        EntityKind::WebShell => "Web shells",
        EntityKind::Process => "Processes",
        EntityKind::File => "Files",
        EntityKind::Domain => "Domains",
    }
}

/// Column order: where the intruder comes from, through what, to what, as whom.
const COLUMN_ORDER: [EntityKind; 7] = [
    EntityKind::Address,
    EntityKind::Domain,
    EntityKind::WebShell,
    EntityKind::Host,
    EntityKind::Account,
    EntityKind::Process,
    EntityKind::File,
];

/// Appends the incident graph section (`<section id="graph">`: entities by kind, linked when a
/// detection names both) to `h`.
pub fn graph(h: &mut String, inv: &Investigation) {
    h.push_str("<section id=\"graph\">\n<h2>Incident graph</h2>\n");
    // Nodes: every entity an incident names or links; edges summed over incidents.
    let mut degree: BTreeMap<Entity, usize> = BTreeMap::new();
    let mut edges: BTreeMap<(Entity, Entity), usize> = BTreeMap::new();
    let mut add = |kind: EntityKind, value: &String| {
        degree
            .entry(Entity {
                kind,
                value: value.clone(),
            })
            .or_insert(0);
    };
    for i in &inv.incidents {
        for v in &i.hosts {
            add(EntityKind::Host, v);
        }
        for v in &i.accounts {
            add(EntityKind::Account, v);
        }
        for v in &i.addresses {
            add(EntityKind::Address, v);
        }
        for v in &i.web_shells {
            add(EntityKind::WebShell, v);
        }
    }
    for i in &inv.incidents {
        for l in &i.links {
            if l.from == l.to {
                continue;
            }
            let key = if l.from <= l.to {
                (l.from.clone(), l.to.clone())
            } else {
                (l.to.clone(), l.from.clone())
            };
            *edges.entry(key).or_insert(0) += l.weight.max(1);
            *degree.entry(l.from.clone()).or_insert(0) += l.weight.max(1);
            *degree.entry(l.to.clone()).or_insert(0) += l.weight.max(1);
        }
    }
    if degree.is_empty() {
        h.push_str("<p class=\"note\">No entities to draw.</p>\n</section>\n");
        return;
    }
    // Columns by kind; within a column the busiest first, capped.
    let mut columns: Vec<(EntityKind, Vec<Entity>, usize)> = Vec::new();
    for kind in COLUMN_ORDER {
        let mut nodes: Vec<(&Entity, usize)> = degree
            .iter()
            .filter(|(e, _)| e.kind == kind)
            .map(|(e, d)| (e, *d))
            .collect();
        if nodes.is_empty() {
            continue;
        }
        nodes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.value.cmp(&b.0.value)));
        let hidden = nodes.len().saturating_sub(MAX_NODES_PER_COLUMN);
        let shown = nodes
            .into_iter()
            .take(MAX_NODES_PER_COLUMN)
            .map(|(e, _)| e.clone())
            .collect();
        columns.push((kind, shown, hidden));
    }
    // Order within columns by the barycentre of neighbours (a few sweeps), which untangles
    // edges; ties keep the busiest-first order, so the layout is deterministic.
    let mut pos: HashMap<Entity, f64> = HashMap::new();
    let relayout = |columns: &Vec<(EntityKind, Vec<Entity>, usize)>,
                    pos: &mut HashMap<Entity, f64>| {
        for (_, nodes, _) in columns {
            let n = nodes.len().max(1) as f64;
            for (i, e) in nodes.iter().enumerate() {
                pos.insert(e.clone(), (i as f64 + 0.5) / n);
            }
        }
    };
    relayout(&columns, &mut pos);
    let mut adj: HashMap<&Entity, Vec<(&Entity, usize)>> = HashMap::new();
    for ((a, b), w) in &edges {
        adj.entry(a).or_default().push((b, *w));
        adj.entry(b).or_default().push((a, *w));
    }
    for _sweep in 0..4 {
        for c in 0..columns.len() {
            let mut keyed: Vec<(f64, usize, Entity)> = columns[c]
                .1
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let (mut s, mut n) = (0.0, 0.0);
                    for (o, w) in adj.get(e).map(Vec::as_slice).unwrap_or(&[]) {
                        if o.kind != e.kind
                            && let Some(p) = pos.get(*o)
                        {
                            s += p * *w as f64;
                            n += *w as f64;
                        }
                    }
                    let own = pos.get(e).copied().unwrap_or(0.5);
                    (if n > 0.0 { s / n } else { own }, i, e.clone())
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            columns[c].1 = keyed.into_iter().map(|k| k.2).collect();
            relayout(&columns, &mut pos);
        }
    }
    let ncol = columns.len();
    let row_h = 30.0;
    let rows = columns
        .iter()
        .map(|c| c.1.len() + usize::from(c.2 > 0))
        .max()
        .unwrap_or(1);
    let top = 30.0;
    let height = top + rows as f64 * row_h + 10.0;
    let col_w = W / ncol as f64;
    let node_w = (col_w - 40.0).min(220.0);
    let chars = ((node_w - 14.0) / 6.6) as usize;
    let mut xy: HashMap<&Entity, (f64, f64)> = HashMap::new();
    for (c, (_, nodes, _)) in columns.iter().enumerate() {
        let x = c as f64 * col_w + (col_w - node_w) / 2.0;
        // Centre shorter columns vertically.
        let off = (rows - nodes.len()) as f64 * row_h / 2.0;
        for (i, e) in nodes.iter().enumerate() {
            xy.insert(e, (x, top + off + i as f64 * row_h));
        }
    }
    let max_w = edges.values().copied().max().unwrap_or(1) as f64;
    w!(
        h,
        "<p class=\"lead\">{} entities and {} links across all incidents: two entities are linked when a detection names both; line width grows with the number of such detections.</p>\n<figure>\n",
        degree.len(),
        edges.len()
    );
    w!(
        h,
        "<svg viewBox=\"0 0 {W} {height}\" width=\"100%\" role=\"img\" aria-label=\"Entity graph\">\n"
    );
    for (c, (kind, _, _)) in columns.iter().enumerate() {
        w!(
            h,
            "<text x=\"{:.1}\" y=\"14\" font-size=\"11\" font-weight=\"600\" fill=\"{}\" text-anchor=\"middle\">{}</text>",
            c as f64 * col_w + col_w / 2.0,
            palette::entity(kind_name(*kind)),
            kind_title(*kind).to_uppercase()
        );
    }
    // Edges first, under the nodes.
    for ((a, b), wgt) in &edges {
        let (Some(&(ax, ay)), Some(&(bx, by))) = (xy.get(a), xy.get(b)) else {
            continue;
        };
        let sw = 1.0 + 4.0 * ((*wgt as f64).ln_1p() / max_w.ln_1p());
        let (ay, by) = (ay + 11.0, by + 11.0);
        let path = if (ax - bx).abs() < 1.0 {
            // Same column: an arc out to the right.
            let x = ax + node_w;
            let bulge = 30.0 + (ay - by).abs() * 0.15;
            format!(
                "M{x:.1},{ay:.1} C{:.1},{ay:.1} {:.1},{by:.1} {x:.1},{by:.1}",
                x + bulge,
                x + bulge
            )
        } else {
            let (sx, ex) = if ax < bx {
                (ax + node_w, bx)
            } else {
                (ax, bx + node_w)
            };
            let mx = (sx + ex) / 2.0;
            format!("M{sx:.1},{ay:.1} C{mx:.1},{ay:.1} {mx:.1},{by:.1} {ex:.1},{by:.1}")
        };
        w!(
            h,
            "<path d=\"{path}\" fill=\"none\" stroke=\"#7d8794\" stroke-opacity=\"0.55\" stroke-width=\"{sw:.1}\"><title>{} — {}: {wgt} detection{}</title></path>",
            esc(&a.value),
            esc(&b.value),
            plural(*wgt)
        );
    }
    for (c, (kind, nodes, hidden)) in columns.iter().enumerate() {
        let colour = palette::entity(kind_name(*kind));
        for e in nodes {
            let (x, y) = xy[e];
            w!(
                h,
                "<g><title>{}: {}</title><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{node_w:.1}\" height=\"22\" rx=\"3\" fill=\"#ffffff\" stroke=\"{colour}\" stroke-width=\"1.2\"/><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"5\" height=\"22\" rx=\"1\" fill=\"{colour}\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\">{}</text></g>",
                kind_name(*kind),
                esc(&e.value),
                x + 10.0,
                y + 15.0,
                esc(&if matches!(
                    kind,
                    EntityKind::WebShell | EntityKind::File | EntityKind::Process
                ) {
                    truncate_start(&e.value, chars)
                } else {
                    truncate(&e.value, chars)
                })
            );
        }
        if *hidden > 0 {
            let x = c as f64 * col_w + col_w / 2.0;
            let off = (rows - nodes.len() - 1) as f64 * row_h / 2.0;
            w!(
                h,
                "<text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#59626e\" text-anchor=\"middle\">+ {hidden} more</text>",
                top + off + nodes.len() as f64 * row_h + 15.0
            );
        }
    }
    h.push_str("\n</svg>\n<div class=\"legend\">");
    for (kind, _, _) in &columns {
        w!(
            h,
            "<span class=\"li\"><span class=\"sw\" style=\"background:{}\"></span>{}</span>",
            palette::entity(kind_name(*kind)),
            kind_title(*kind)
        );
    }
    h.push_str("</div>\n</figure>\n</section>\n");
}

// ---------------------------------------------------------------------------------------------
// ATT&CK matrix

fn heat_index(count: u64, max: u64) -> usize {
    if count == 0 || max == 0 {
        return 0;
    }
    let f = ((count as f64).ln_1p() / (max as f64).ln_1p()).clamp(0.0, 1.0);
    ((f * 5.0).ceil() as usize).clamp(1, 5) - 1
}

/// Appends the ATT&CK heat-map section (`<section id="matrix">`, one `.cell` per technique
/// seen) to `h`.
pub fn matrix(h: &mut String, inv: &Investigation) {
    h.push_str("<section id=\"matrix\">\n<h2>ATT&amp;CK matrix</h2>\n");
    let seen: Vec<&TechniqueCount> = inv.techniques.iter().filter(|t| t.count > 0).collect();
    if seen.is_empty() {
        h.push_str("<p class=\"note\">No ATT&amp;CK techniques were tagged on the detections.</p>\n</section>\n");
        return;
    }
    let order = inv.tactic_order();
    let known: BTreeSet<&str> = order.iter().map(|t| t.0.as_str()).collect();
    let mut cols: Vec<(String, Vec<&TechniqueCount>)> = Vec::new();
    let mut empty = Vec::new();
    for (short, name) in &order {
        let mut cells: Vec<&TechniqueCount> = seen
            .iter()
            .copied()
            .filter(|tc| tc.tactics.contains(short))
            .collect();
        if cells.is_empty() {
            empty.push(name.clone());
            continue;
        }
        cells.sort_by(|a, b| b.count.cmp(&a.count).then(a.id.cmp(&b.id)));
        cols.push((name.clone(), cells));
    }
    let unplaced: Vec<&TechniqueCount> = seen
        .iter()
        .copied()
        .filter(|tc| !tc.tactics.iter().any(|x| known.contains(x.as_str())))
        .collect();
    if !unplaced.is_empty() {
        cols.push(("No tactic known".to_string(), unplaced));
    }
    let max = seen.iter().map(|t| t.count).max().unwrap_or(1);
    w!(
        h,
        "<p class=\"lead\">{} technique{} seen, under the tactics they belong to in kill-chain order; a technique with several tactics appears under each. Colour and number: detections.{}</p>\n",
        seen.len(),
        plural(seen.len()),
        if empty.is_empty() {
            String::new()
        } else {
            format!(
                " Tactics with no technique seen: {}.",
                esc(&empty.join(", "))
            )
        }
    );
    w!(
        h,
        "<div class=\"mx\" style=\"grid-template-columns:repeat({},minmax(0,1fr))\">\n",
        cols.len()
    );
    for (name, cells) in &cols {
        w!(
            h,
            "<div class=\"col\"><h4>{} <span class=\"note\">({})</span></h4>",
            esc(name),
            cells.len()
        );
        for tc in cells {
            let i = heat_index(tc.count, max);
            w!(
                h,
                "<div class=\"cell\" style=\"background:{};color:{}\"><span class=\"c\">{}</span><b>{}</b>{}</div>",
                palette::HEAT[i],
                if i >= 3 { "#ffffff" } else { "#1b1f24" },
                tc.count,
                esc(&tc.id),
                esc(&tc.name)
            );
        }
        h.push_str("</div>\n");
    }
    h.push_str("</div>\n<div class=\"legend\">Detections per technique: ");
    // Each colour from the smallest count that takes it.
    let mut from = [None; 5];
    for n in 1..=max.min(100_000) {
        let i = heat_index(n, max);
        if from[i].is_none() {
            from[i] = Some(n);
        }
    }
    for (i, c) in palette::HEAT.iter().enumerate() {
        let Some(lo) = from[i] else { continue };
        let hi = from[i + 1..]
            .iter()
            .flatten()
            .next()
            .map(|n| n - 1)
            .unwrap_or(max);
        let range = if hi > lo {
            format!("{lo}–{hi}")
        } else {
            lo.to_string()
        };
        w!(
            h,
            "<span class=\"li\"><span class=\"sw\" style=\"background:{c};border:1px solid #d5dae1\"></span>{range}</span>"
        );
    }
    h.push_str("</div>\n</section>\n");
}

// ---------------------------------------------------------------------------------------------
// Incidents

/// Appends the incidents section (`<section id="incidents">`, one `article.inc` per incident)
/// to `h`.
pub fn incidents(h: &mut String, inv: &Investigation) {
    h.push_str("<section id=\"incidents\">\n<h2>Incidents</h2>\n");
    if inv.incidents.is_empty() {
        h.push_str("<p class=\"note\">No incidents.</p>\n");
    }
    for i in &inv.incidents {
        incident(h, inv, i);
    }
    h.push_str("</section>\n");
}

fn severity_badge(s: Severity) -> String {
    format!(
        "<span class=\"badge sev-{}\">{}</span>",
        s.as_str(),
        s.as_str()
    )
}

fn incident(h: &mut String, inv: &Investigation, i: &Incident) {
    w!(
        h,
        "<article class=\"inc\" id=\"{}\">\n<header><h3>{} {} — {}</h3>\n",
        anchor(&i.id),
        severity_badge(i.severity),
        esc(&i.id),
        esc(&i.title)
    );
    w!(
        h,
        "<div class=\"meta\">{} – {} UTC · {} detection{} · {} host{} · {} technique{}</div></header>\n",
        esc(&time::show_opt(i.first_seen.as_ref())),
        esc(&time::show_opt(i.last_seen.as_ref())),
        i.events.len(),
        plural(i.events.len()),
        i.hosts.len(),
        plural(i.hosts.len()),
        i.techniques.len(),
        plural(i.techniques.len())
    );
    if !i.narrative.is_empty() {
        w!(h, "<p>{}</p>\n", esc(&i.narrative));
    }
    if !i.severity_reasons.is_empty() {
        w!(
            h,
            "<p class=\"note\"><b>Why {}:</b> {}</p>\n",
            i.severity.as_str(),
            esc(&i.severity_reasons.join("; "))
        );
    }
    h.push_str("<dl class=\"ent\">");
    for (label, values) in [
        ("Hosts", &i.hosts),
        ("Accounts", &i.accounts),
        ("Addresses", &i.addresses),
        ("Web shells", &i.web_shells),
        ("Techniques", &i.techniques),
    ] {
        if !values.is_empty() {
            w!(
                h,
                "<dt>{label}</dt><dd class=\"mono\">{}</dd>",
                esc(&values.join(", "))
            );
        }
    }
    h.push_str("</dl>\n");
    if !i.phases.is_empty() {
        h.push_str("<h4>Phases</h4>\n<table><thead><tr><th>Tactic</th><th>First (UTC)</th><th>Last (UTC)</th><th>Techniques</th><th class=\"n\">Detections</th></tr></thead><tbody>\n");
        for p in &i.phases {
            let name = if p.name.is_empty() {
                inv.tactic_name(&p.tactic)
            } else {
                p.name.clone()
            };
            w!(
                h,
                "<tr><td>{}</td><td class=\"t\">{}</td><td class=\"t\">{}</td><td class=\"mono\">{}</td><td class=\"n\">{}</td></tr>\n",
                esc(&name),
                esc(&time::show_opt(p.first.as_ref())),
                esc(&time::show_opt(p.last.as_ref())),
                esc(&p.techniques.join(", ")),
                p.detections
            );
        }
        h.push_str("</tbody></table>\n");
    }
    if !i.events.is_empty() {
        let n = i.events.len();
        w!(
            h,
            "<details{}><summary>Events ({n})</summary>\n",
            if n <= OPEN_EVENT_ROWS { " open" } else { "" }
        );
        h.push_str("<table class=\"ev\"><colgroup><col style=\"width:140px\"><col style=\"width:108px\"><col style=\"width:17%\"><col style=\"width:74px\"><col style=\"width:92px\"><col><col style=\"width:17%\"></colgroup><thead><tr><th>Time (UTC)</th><th>Host</th><th>Rule</th><th>Level</th><th>Technique</th><th>What happened</th><th>Source (hover for path)</th></tr></thead><tbody>\n");
        // Very long incidents: the first and last rows; all are in report.json.
        let half = MAX_EVENT_ROWS / 2;
        for (k, e) in i.events.iter().enumerate() {
            if n > MAX_EVENT_ROWS && k == half {
                w!(
                    h,
                    "<tr><td colspan=\"7\" class=\"note\">… {} events not listed here (see report.json) …</td></tr>\n",
                    n - MAX_EVENT_ROWS
                );
            }
            if n > MAX_EVENT_ROWS && k >= half && k < n - half {
                continue;
            }
            let level = e.level.as_deref().unwrap_or("");
            let lvl_class = match Level::of(e.level.as_deref()) {
                Level::Critical => "lvl lvl-critical",
                Level::High => "lvl lvl-high",
                Level::Medium => "lvl lvl-medium",
                Level::Low => "lvl",
            };
            w!(
                h,
                "<tr><td class=\"t\">{}</td><td>{}</td><td>{}</td><td class=\"{lvl_class}\">{}</td><td class=\"mono\">{}</td><td class=\"sum\">{}</td><td class=\"src\" title=\"{}\">{}</td></tr>\n",
                esc(&e
                    .timestamp
                    .as_deref()
                    .map(time::show)
                    .unwrap_or_else(|| "—".into())),
                esc(e.host.as_deref().unwrap_or("—")),
                esc(&e.rule_title),
                esc(level),
                esc(&e.attack.join(", ")),
                esc(&e.summary),
                esc(&e.source.to_string()),
                esc(&source_short(&e.source.to_string()))
            );
        }
        h.push_str("</tbody></table>\n</details>\n");
    }
    h.push_str("</article>\n");
}

/// The file name and record of a source (`Security.evtx#4411`); the full path is the cell's
/// tooltip and is in the Markdown and JSON reports.
fn source_short(full: &str) -> String {
    // Archive members (`a.zip!dir/b.evtx`) and both separator styles.
    let cut = full.rfind(['/', '\\', '!']).map(|i| i + 1).unwrap_or(0);
    full[cut..].to_string()
}

// ---------------------------------------------------------------------------------------------
// Containment

/// Appends the containment plan section (`<section id="containment">`) to `h`.
pub fn containment(h: &mut String, inv: &Investigation) {
    h.push_str("<section id=\"containment\">\n<h2>Containment plan</h2>\n");
    let c = &inv.containment;
    if c.isolate_hosts.is_empty()
        && c.reset_accounts.is_empty()
        && c.remove_files.is_empty()
        && c.revert_changes.is_empty()
        && c.block.is_empty()
        && c.mitigations.is_empty()
    {
        h.push_str("<p class=\"note\">No containment actions.</p>\n</section>\n");
        return;
    }
    h.push_str("<p class=\"lead\">Priority 1 first. Image hosts and preserve logs before removing files or reverting changes; reset accounts after the hosts they were used from are isolated, or the intruder sees the new passwords.</p>\n");
    for (title, actions) in [
        ("Isolate hosts", &c.isolate_hosts),
        (
            "Reset accounts (passwords, Kerberos keys and tickets)",
            &c.reset_accounts,
        ),
        (
            "Remove web shells and attacker files (after imaging)",
            &c.remove_files,
        ),
        (
            "Revert changes (persistence, firewall rules, services, tasks)",
            &c.revert_changes,
        ),
    ] {
        action_table(h, title, actions);
    }
    if !c.block.is_empty() {
        h.push_str("<h3>Block at the perimeter</h3>\n<table><thead><tr><th style=\"width:60px\">Kind</th><th style=\"width:24%\">Indicator</th><th>Why</th><th>Incidents</th></tr></thead><tbody>\n");
        for b in &c.block {
            w!(
                h,
                "<tr><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td>{}</td></tr>\n",
                esc(&b.kind),
                esc(&b.value),
                esc(&b.reason),
                esc(&b.incidents.join(", "))
            );
        }
        h.push_str("</tbody></table>\n");
    }
    if !c.mitigations.is_empty() {
        h.push_str("<h3>Mitigations (ATT&amp;CK)</h3>\n<table><thead><tr><th style=\"width:80px\">ID</th><th>Mitigation</th><th>Techniques seen that it addresses</th></tr></thead><tbody>\n");
        for m in &c.mitigations {
            w!(
                h,
                "<tr><td class=\"mono\">{}</td><td>{}</td><td class=\"mono\">{}</td></tr>\n",
                esc(&m.id),
                esc(&m.name),
                esc(&m.techniques.join(", "))
            );
        }
        h.push_str("</tbody></table>\n");
    }
    h.push_str("</section>\n");
}

fn action_table(h: &mut String, title: &str, actions: &[Action]) {
    if actions.is_empty() {
        return;
    }
    let mut sorted: Vec<&Action> = actions.iter().collect();
    sorted.sort_by(|a, b| a.priority.cmp(&b.priority).then(a.target.cmp(&b.target)));
    w!(
        h,
        "<h3>{title}</h3>\n<table><thead><tr><th class=\"n\" style=\"width:60px\">Priority</th><th style=\"width:24%\">Target</th><th>Why</th><th>Incidents</th><th>Evidence</th></tr></thead><tbody>\n"
    );
    for a in sorted {
        w!(
            h,
            "<tr><td class=\"n\">{}</td><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td class=\"note\">{}</td></tr>\n",
            a.priority,
            esc(&a.target),
            esc(&a.reason),
            esc(&a.incidents.join(", ")),
            esc(&a.evidence.join("; "))
        );
    }
    h.push_str("</tbody></table>\n");
}

// ---------------------------------------------------------------------------------------------
// Recall and appendix

fn recall(h: &mut String, inv: &Investigation) {
    let Some(steps) = &inv.recall else {
        return;
    };
    h.push_str("<section id=\"recall\">\n<h2>Detection recall per storyline step</h2>\n");
    let detected = steps.iter().filter(|s| s.detected).count();
    let (hit, total): (u64, u64) = steps
        .iter()
        .fold((0, 0), |(a, b), s| (a + s.records_hit, b + s.records_total));
    w!(
        h,
        "<p class=\"lead\">Ground truth from the generated scenario: {detected} of {} step{} detected; {hit} of {total} step record{} hit ({}).</p>\n",
        steps.len(),
        plural(steps.len()),
        plural(total as usize),
        if total == 0 {
            "—".to_string()
        } else {
            percent(hit as f64 / total as f64)
        }
    );
    h.push_str("<table><thead><tr><th>Step</th><th>Name</th><th>Techniques</th><th>Detected</th><th class=\"n\">Records hit</th><th class=\"n\">Recall</th></tr></thead><tbody>\n");
    for s in steps {
        w!(
            h,
            "<tr><td class=\"mono\">{}</td><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td class=\"n\">{} / {}</td><td class=\"n\">{}</td></tr>\n",
            esc(&s.id),
            esc(&s.name),
            esc(&s.techniques.join(", ")),
            if s.detected { "yes" } else { "<b>no</b>" },
            s.records_hit,
            s.records_total,
            if s.records_total == 0 {
                "—".to_string()
            } else {
                percent(s.records_hit as f64 / s.records_total as f64)
            }
        );
    }
    h.push_str("</tbody></table>\n</section>\n");
}

/// `1.4 GB` (decimal units).
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} bytes")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn appendix(h: &mut String, inv: &Investigation) {
    h.push_str("<section id=\"appendix\">\n<h2>Appendix</h2>\n<h3>Evidence examined</h3>\n");
    let e = &inv.evidence;
    w!(
        h,
        "<table style=\"width:auto\"><tbody><tr><th>Files read</th><td class=\"n\">{}</td></tr><tr><th>Events read</th><td class=\"n\">{}</td></tr><tr><th>Bytes read</th><td class=\"n\">{}</td></tr><tr><th>Records skipped</th><td class=\"n\">{}</td></tr><tr><th>Files damaged or not fully read</th><td class=\"n\">{}</td></tr></tbody></table>\n",
        e.files,
        e.events,
        bytes(e.bytes),
        e.skipped,
        e.damaged_files
    );
    if !e.paths.is_empty() {
        h.push_str("<ul class=\"plain mono\">");
        for p in &e.paths {
            w!(h, "<li>{}</li>", esc(p));
        }
        h.push_str("</ul>\n");
    }
    let hs = &inv.hunt;
    w!(
        h,
        "<h3>Hunt</h3>\n<p>{} detection{} from {} rules and indicators loaded{}.</p>\n",
        hs.detections,
        plural(hs.detections as usize),
        hs.rules_loaded,
        if hs.by_kind.is_empty() {
            String::new()
        } else {
            format!(
                " ({})",
                hs.by_kind
                    .iter()
                    .map(|(k, v)| format!("{} {}", v, esc(k)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    if !hs.top_rules.is_empty() {
        h.push_str("<table><thead><tr><th>Rule</th><th>Level</th><th class=\"n\">Detections</th></tr></thead><tbody>\n");
        for (title, count, level) in &hs.top_rules {
            w!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>\n",
                esc(title),
                esc(if level.is_empty() { "—" } else { level }),
                count
            );
        }
        h.push_str("</tbody></table>\n");
    }
    if !inv.notes.is_empty() {
        h.push_str("<h3>Notes</h3>\n<ul class=\"plain\">");
        for n in &inv.notes {
            w!(h, "<li>{}</li>", esc(n));
        }
        h.push_str("</ul>\n");
    }
    h.push_str("<h3>About this report</h3>\n<p class=\"note\">Attribution probabilities are calibrated model outputs over the intrusion sets in the knowledge base, with an explicit outcome for an actor outside it; they rest on public reporting of each set's tradecraft and are an analytic aid, not proof. Estimative terms follow the PHIA probability yardstick. The files report.json (the full data, including every event) and navigator-layer.json (an ATT&amp;CK Navigator layer) accompany this report.</p>\n</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlp_colours_follow_first() {
        assert_eq!(tlp_colour("TLP:AMBER"), "#FFC000");
        assert_eq!(tlp_colour("tlp:amber+strict"), "#FFC000");
        assert_eq!(tlp_colour("TLP:RED"), "#FF2B2B");
        assert_eq!(tlp_colour("TLP:GREEN"), "#33FF00");
        assert_eq!(tlp_colour("TLP:CLEAR"), "#FFFFFF");
    }

    #[test]
    fn heat_scale_spans_the_palette() {
        assert_eq!(heat_index(1, 1), 4);
        assert_eq!(heat_index(1, 100), 0);
        assert_eq!(heat_index(100, 100), 4);
        assert_eq!(heat_index(0, 100), 0);
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(bytes(12), "12 bytes");
        assert_eq!(bytes(1_400_000_000), "1.4 GB");
    }
}
