//! Escaping for hostile text.
//!
//! Everything a report shows from evidence — command lines, URIs, file names, user names, rule
//! titles (rules come from outside too) — is attacker-controlled. HTML output escapes the five
//! markup characters in text and attribute values alike; Markdown output escapes the characters
//! that would open a table cell, emphasis, a link, a code span or raw HTML. Both replace control
//! characters and Unicode bidirectional overrides (the right-to-left override disguises
//! `gpj.exe` as `exe.jpg`, ATT&CK T1036.002) with a visible `[U+202E]`, so a reader sees the
//! bytes the evidence holds rather than what they pretend to be.

/// Whether a character must be shown as `[U+XXXX]` instead of itself.
fn hidden(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if hidden(c) => out.push_str(&format!("[U+{:04X}]", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for a Markdown paragraph or table cell: one line, no markup.
pub fn markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' | '\r' | '\t' => out.push(' '),
            c if hidden(c) => out.push_str(&format!("[U+{:04X}]", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// At most `max` characters, with `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if max == 0 {
        String::new()
    } else if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// At most `max` characters, keeping the end (`…\\thumbs\\spinner.aspx`): for paths, whose
/// end says most.
pub fn truncate_start(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if max == 0 {
        String::new()
    } else if n <= max {
        s.to_string()
    } else {
        let mut t = String::from("…");
        t.extend(s.chars().skip(n - (max - 1)));
        t
    }
}

/// An identifier safe for an HTML `id` attribute and a URL fragment: ASCII alphanumerics and
/// `-`, everything else as `-`.
pub fn anchor(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_markup_and_bidi() {
        assert_eq!(
            html(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(html("invoice\u{202E}gpj.exe"), "invoice[U+202E]gpj.exe");
        assert_eq!(html("a\u{0}b"), "a[U+0000]b");
    }

    #[test]
    fn markdown_escapes_cells() {
        assert_eq!(markdown("a|b"), "a\\|b");
        assert_eq!(markdown("<img src=x>"), "&lt;img src=x&gt;");
        assert_eq!(markdown("C:\\Windows\\Debug"), "C:\\\\Windows\\\\Debug");
        assert_eq!(markdown("line1\nline2"), "line1 line2");
        assert_eq!(
            markdown("[x](http://e) *b* `c`"),
            "\\[x\\](http://e) \\*b\\* \\`c\\`"
        );
    }

    #[test]
    fn truncate_and_anchor() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        assert_eq!(truncate_start(r"C:\a\b\shell.aspx", 11), r"…shell.aspx");
        assert_eq!(anchor("INC-001 <x>"), "inc-001--x-");
    }
}
