//! The human table: one line per detection, fixed-width columns so lines
//! align while streaming (widths cannot be computed from data that has not
//! been read yet), long values cut with `…`.

use std::io::Write;

use crate::detection::Detection;
use crate::error::HuntError;
use crate::output::{DetectionSink, io};
use crate::summary::Summary;

/// Column widths: time, level, host, rule; the source takes the rest.
const WIDTHS: [usize; 4] = [19, 8, 18, 56];
/// Longest source shown (its start is cut, the file name and record kept).
const SOURCE_MAX: usize = 60;

/// Aligned text writer.
pub struct TableWriter<W: Write> {
    out: W,
    header: bool,
}

impl<W: Write> TableWriter<W> {
    /// A writer over `out`.
    pub fn new(out: W) -> Self {
        TableWriter { out, header: false }
    }
}

/// Cuts `s` to `width` characters, ending with `…` if it was longer.
pub fn truncate_end(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut t: String = s.chars().take(width.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// Cuts `s` to `width` characters, keeping its end (paths).
pub fn truncate_start(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        return s.to_string();
    }
    let mut t = String::from("…");
    t.extend(s.chars().skip(n - width.saturating_sub(1)));
    t
}

fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

impl<W: Write> TableWriter<W> {
    fn line(&mut self, cells: [&str; 5]) -> Result<(), HuntError> {
        let mut line = String::new();
        for (cell, w) in cells.iter().zip(WIDTHS) {
            let c = truncate_end(&clean(cell), w);
            line.push_str(&c);
            for _ in c.chars().count()..w + 2 {
                line.push(' ');
            }
        }
        line.push_str(&truncate_start(&clean(cells[4]), SOURCE_MAX));
        writeln!(self.out, "{}", line.trim_end()).map_err(io)
    }
}

impl<W: Write> DetectionSink for TableWriter<W> {
    fn write(&mut self, d: &Detection) -> Result<(), HuntError> {
        if !self.header {
            self.line(["TIME (UTC)", "LEVEL", "HOST", "RULE", "SOURCE"])?;
            self.header = true;
        }
        let title = if d.kind == crate::detection::DetectionKind::Correlation {
            let group: Vec<String> = d
                .correlation
                .iter()
                .flat_map(|c| {
                    c.group
                        .values()
                        .map(|v| v.as_str().unwrap_or("").to_string())
                })
                .collect();
            format!("[correlation] {} ({})", d.rule_title, group.join(", "))
        } else {
            d.rule_title.clone()
        };
        let source = d.source.to_string();
        // Seconds are enough to read; the exact time is in the other formats.
        let time = d.timestamp.as_deref().map_or_else(
            || "-".to_string(),
            |t| t.chars().take(19).collect::<String>().replace('T', " "),
        );
        let level = d.level.map_or("-", |l| l.as_str());
        self.line([
            &time,
            level,
            d.host.as_deref().unwrap_or("-"),
            &title,
            &source,
        ])
    }

    fn finish(&mut self, summary: &Summary) -> Result<(), HuntError> {
        if !self.header && summary.detections == 0 {
            writeln!(self.out, "no detections").map_err(io)?;
        }
        self.out.flush().map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates() {
        assert_eq!(truncate_end("abcdef", 4), "abc…");
        assert_eq!(truncate_end("abc", 4), "abc");
        assert_eq!(truncate_start("/a/b/c/file.evtx", 10), "…file.evtx");
    }
}
