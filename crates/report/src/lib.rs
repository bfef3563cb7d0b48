//! # tiaki-report
//!
//! Investigation reports for national-CERT analysts: a case rendered so that it can go to a
//! minister's office or a partner agency as it is.
//!
//! The caller fills one [`Investigation`] (plain data: evidence and hunt summaries, incidents,
//! attribution, containment plan, techniques with names from the knowledge base) and renders:
//!
//! * [`render_html`]: one self-contained HTML file (inline CSS and SVG, no script, no external
//!   resource) with the key judgements, a timeline, the attribution, the incident graph, an
//!   ATT&CK heat map, the incidents, the containment plan, recall and an appendix;
//! * [`render_markdown`]: the same content as Markdown;
//! * [`render_json`]: the investigation itself, pretty JSON;
//! * [`navigator_layer`]: an ATT&CK Navigator layer (format 4.5) scored by detection count.
//!
//! [`write_all`] writes all four into a directory.
//!
//! ```
//! use tiaki_report::{Investigation, render_html, render_markdown};
//!
//! let inv = Investigation {
//!     title: "Operation Quiet Draft".into(),
//!     tlp: "TLP:AMBER".into(),
//!     notes: vec!["<script>alert(1)</script>".into()],
//!     ..Default::default()
//! };
//! let html = render_html(&inv);
//! assert!(html.contains("TLP:AMBER"));
//! assert!(html.contains("&lt;script&gt;") && !html.contains("<script"));
//! assert!(render_markdown(&inv).contains("# Operation Quiet Draft"));
//! ```
//!
//! Evidence is hostile: every string is escaped for the format it lands in (see [`text`]).

#![warn(missing_docs)]

pub mod html;
pub mod investigation;
pub mod json;
pub mod markdown;
pub mod navigator;
pub mod text;
mod time;

pub use html::render_html;
pub use investigation::{
    EvidenceSummary, HuntSummary, Investigation, StepRecall, TechniqueCount, enterprise_tactics,
};
pub use json::render_json;
pub use markdown::render_markdown;
pub use navigator::navigator_layer;

use std::path::{Path, PathBuf};

/// Why writing the reports failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or the directory could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The Navigator layer could not be serialised.
    #[error("cannot serialise the Navigator layer: {0}")]
    Json(#[from] serde_json::Error),
}

/// The files [`write_all`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFiles {
    /// `report.html`.
    pub html: PathBuf,
    /// `report.md`.
    pub markdown: PathBuf,
    /// `report.json`.
    pub json: PathBuf,
    /// `navigator-layer.json`.
    pub navigator: PathBuf,
}

impl ReportFiles {
    /// All four paths, HTML first.
    pub fn all(&self) -> [&Path; 4] {
        [&self.html, &self.markdown, &self.json, &self.navigator]
    }
}

/// Writes `report.html`, `report.md`, `report.json` and `navigator-layer.json` into `dir`
/// (created if missing; existing files are replaced). The Navigator layer is named after the
/// investigation's title.
pub fn write_all(inv: &Investigation, dir: &Path) -> Result<ReportFiles, Error> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let files = ReportFiles {
        html: dir.join("report.html"),
        markdown: dir.join("report.md"),
        json: dir.join("report.json"),
        navigator: dir.join("navigator-layer.json"),
    };
    let layer_name = if inv.title.is_empty() {
        "tiaki investigation"
    } else {
        inv.title.as_str()
    };
    let layer = serde_json::to_string_pretty(&navigator_layer(inv, layer_name))?;
    for (path, body) in [
        (&files.html, render_html(inv)),
        (&files.markdown, render_markdown(inv)),
        (&files.json, render_json(inv)),
        (&files.navigator, layer),
    ] {
        std::fs::write(path, body).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
    }
    Ok(files)
}

#[cfg(test)]
mod tests;
