//! The console's page frame and the small helpers every page uses.
//!
//! Every string that comes from a case, the evidence or a user goes through [`esc`] (HTML) or
//! [`pct`] (a URL path segment or query value, then [`esc`] for the attribute). Class names
//! and colours come from fixed tables only, never from data.

use std::fmt::Write;

pub use tiaki_report::text::html as esc;

/// Percent-encodes `s` for a URL path segment or query value (RFC 3986 unreserved kept).
pub fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The CSS class of a TLP label's banner and badge (`tlp-amber`), from a fixed set.
pub fn tlp_class(tlp: &str) -> &'static str {
    let t = tlp.trim().to_ascii_uppercase();
    match t.strip_prefix("TLP:").unwrap_or(&t) {
        "RED" => "tlp-red",
        "AMBER" => "tlp-amber",
        "AMBER+STRICT" => "tlp-amber-strict",
        "GREEN" => "tlp-green",
        "CLEAR" | "WHITE" => "tlp-clear",
        _ => "tlp-none",
    }
}

/// The CSS class of a severity or level badge (`sev-high`), from a fixed set.
pub fn severity_class(s: &str) -> &'static str {
    match s.trim().to_ascii_lowercase().as_str() {
        "critical" => "sev-critical",
        "high" => "sev-high",
        "medium" => "sev-medium",
        "low" => "sev-low",
        "informational" | "info" => "sev-informational",
        _ => "sev-none",
    }
}

/// Who is looking at the page, for the header.
pub struct Viewer<'a> {
    /// User name.
    pub user: &'a str,
    /// `read`, `write` or `admin`.
    pub role: &'a str,
    /// The CSRF token of the session, when there is a session.
    pub csrf: Option<&'a str>,
}

/// The case a page belongs to, for the navigation and the TLP banner.
pub struct CaseNav<'a> {
    /// Case name.
    pub name: &'a str,
    /// TLP label, possibly empty.
    pub tlp: &'a str,
    /// The page's key in the navigation (`overview`, `timeline`, …).
    pub current: &'a str,
}

/// The case pages, `(key, path suffix, label)`.
pub const CASE_PAGES: [(&str, &str, &str); 8] = [
    ("overview", "", "Overview"),
    ("timeline", "/timeline", "Timeline"),
    ("incidents", "/incidents", "Incidents"),
    ("graph", "/graph", "Graph"),
    ("attack", "/attack", "ATT&amp;CK"),
    ("attribution", "/attribution", "Attribution"),
    ("containment", "/containment", "Containment"),
    ("export", "/export", "Export (JSON)"),
];

fn tlp_banner(h: &mut String, tlp: &str) {
    if tlp.trim().is_empty() {
        return;
    }
    let _ = writeln!(
        h,
        "<div class=\"tlp {}\" role=\"note\">{}</div>",
        tlp_class(tlp),
        esc(tlp.trim())
    );
}

/// A whole page: head (style sheets and script from `/static/`), TLP banner, header with the
/// user and the log-out button, case navigation, then `body`.
pub fn frame(
    app_title: &str,
    title: &str,
    viewer: Option<&Viewer>,
    case: Option<&CaseNav>,
    body: &str,
) -> String {
    let mut h = String::with_capacity(body.len() + 4096);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    h.push_str("<meta name=\"referrer\" content=\"no-referrer\">\n");
    if let Some(t) = viewer.and_then(|v| v.csrf) {
        let _ = writeln!(h, "<meta name=\"csrf-token\" content=\"{}\">", esc(t));
    }
    let _ = writeln!(h, "<title>{} · {}</title>", esc(title), esc(app_title));
    h.push_str("<link rel=\"icon\" href=\"/static/favicon.svg\" type=\"image/svg+xml\">\n");
    h.push_str("<link rel=\"stylesheet\" href=\"/static/report.css\">\n");
    h.push_str("<link rel=\"stylesheet\" href=\"/static/console.css\">\n");
    h.push_str(
        "<script src=\"/static/console.js\" defer></script>\n</head>\n<body class=\"console\">\n",
    );
    if let Some(c) = case {
        tlp_banner(&mut h, c.tlp);
    }
    h.push_str("<header class=\"bar\">\n");
    let _ = write!(h, "<a class=\"brand\" href=\"/\">{}</a>", esc(app_title));
    if let Some(c) = case {
        let base = format!("/cases/{}", pct(c.name));
        let _ = write!(
            h,
            "<span class=\"crumb\">/ <a href=\"{}\">{}</a></span>\n<nav id=\"case-nav\">",
            esc(&base),
            esc(c.name)
        );
        for (key, suffix, label) in CASE_PAGES {
            let href = if key == "export" {
                format!("/api/v1/cases/{}/export", pct(c.name))
            } else {
                format!("{base}{suffix}")
            };
            let _ = write!(
                h,
                "<a href=\"{}\"{}>{label}</a>",
                esc(&href),
                if key == c.current {
                    " class=\"current\" aria-current=\"page\""
                } else {
                    ""
                }
            );
        }
        h.push_str("</nav>\n");
    }
    if let Some(v) = viewer {
        let _ = write!(
            h,
            "<span class=\"who\" id=\"who-am-i\">{} <span class=\"role\">{}</span></span>",
            esc(v.user),
            esc(v.role)
        );
        if let Some(t) = v.csrf {
            let _ = write!(
                h,
                "<form class=\"logout\" method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\" id=\"logout\">Log out</button></form>",
                esc(t)
            );
        }
    }
    h.push_str("\n</header>\n<div class=\"wrap\">\n<main>\n");
    h.push_str(body);
    h.push_str("\n</main>\n<footer><p>tiaki · all times UTC · ");
    h.push_str("MITRE ATT&amp;CK® technique and tactic names: © The MITRE Corporation.</p></footer>\n</div>\n");
    if let Some(c) = case {
        tlp_banner(&mut h, c.tlp);
    }
    h.push_str("</body>\n</html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_and_escapes() {
        assert_eq!(pct("a b/c?d"), "a%20b%2Fc%3Fd");
        assert_eq!(pct("pdo-2025_x.y"), "pdo-2025_x.y");
        assert_eq!(tlp_class("tlp:amber+strict"), "tlp-amber-strict");
        assert_eq!(tlp_class("\"><script>"), "tlp-none");
        let page = frame(
            "t<i>",
            "<b>",
            None,
            Some(&CaseNav {
                name: "x\"y",
                tlp: "TLP:RED<",
                current: "timeline",
            }),
            "",
        );
        assert!(!page.contains("<b>") && !page.contains("<i>") && !page.contains("x\"y"));
    }
}
