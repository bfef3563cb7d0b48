//! Plain indicator lists: one value per line, as analysts paste them from reports.
//!
//! Lines are refanged (`evil[.]example`, `hxxp://…`), `#` comments and blank lines ignored,
//! a trailing ` # comment` dropped, an optional `type:` prefix honoured (`sha256:…`,
//! `domain:…`), and otherwise the type is inferred from the value. A line that is no
//! indicator is skipped with its line number, never silently.

use std::sync::Arc;

use super::csv::CondKey;
use super::{FeedError, FeedReport, Hint, Position, terms_for, type_hint};
use crate::indicator::{Condition, Indicator, synthetic_id};

/// Reads a plain list of indicators (see the module documentation). A line with an
/// unreadable value — not an address, network, URL, digest, e-mail address or domain, nor
/// `address:port`, nor a scheme-less URL — is skipped and reported with its line.
pub fn read_list(
    bytes: &[u8],
    source: &str,
    out: &mut Vec<Indicator>,
    report: &mut FeedReport,
) -> Result<(), FeedError> {
    report.files += 1;
    let src: Arc<str> = Arc::from(source);
    let start = out.len();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let at = || Position::Line(i as u64 + 1);
        let Ok(line) = std::str::from_utf8(raw) else {
            report.skip(source, at(), "not UTF-8", "");
            continue;
        };
        let line = line.trim_start_matches('\u{feff}').trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("//") {
            continue;
        }
        // A trailing comment after whitespace (`evil.example  # C2`); a bare `#` may be part
        // of a URL fragment.
        let line = match line.find(" #").or_else(|| line.find("\t#")) {
            Some(p) => line[..p].trim_end(),
            None => line,
        };
        let (hint, value) = match line.split_once(':') {
            Some((t, v)) if !t.contains(['/', '.', ' ']) && !v.starts_with("//") => {
                match type_hint(t) {
                    Some(h) if h != Hint::Infer && !t.bytes().all(|b| b.is_ascii_hexdigit()) => {
                        (h, v)
                    }
                    _ => (Hint::Infer, line),
                }
            }
            _ => (Hint::Infer, line),
        };
        let terms = match terms_for(hint, value) {
            Ok(t) => Ok(t),
            // `value,comment` / `value<TAB>comment` lines: the first field.
            Err(e) => match value.split_once([',', '\t', ';']) {
                Some((first, _)) => terms_for(hint, first).map_err(|_| e),
                None => Err(e),
            },
        };
        match terms {
            Ok(t) => {
                let condition = Condition::All(t);
                let id = synthetic_id(source, &CondKey(&condition).to_string());
                out.push(Indicator::new(id, src.clone(), condition));
            }
            Err(why) => report.skip(source, at(), "not an indicator", why),
        }
    }
    report.count(&out[start..]);
    Ok(())
}
