//! The one value every report is rendered from.
//!
//! [`Investigation`] is plain data: the CLI (or anything else holding a case) fills it from the
//! hunt, the incidents, the attribution and the knowledge base, and the renderers only read it.
//! Nothing here looks anything up: technique names, tactic names and the matrix order come in
//! filled, so the reports render the same with the embedded starter pack or a full ATT&CK bundle,
//! and a saved `report.json` renders again without the knowledge base.
//!
//! Field names are part of the JSON contract (`report.json`): add fields, never rename. Every
//! field has a default, so an older or partial `report.json` still reads.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tiaki_incident::correlate::TACTICS;
use tiaki_incident::{ContainmentPlan, Incident, Severity};
use tiaki_intel::attribution::Assessment;

/// Everything a report shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Investigation {
    /// Report title (`Operation Quiet Draft: intrusion at the Parliamentary Drafting Office`).
    pub title: String,
    /// The organisation the investigation is about (or for).
    pub organisation: String,
    /// When the report was generated (RFC 3339).
    pub generated: String,
    /// Traffic Light Protocol label, `TLP:AMBER`, `TLP:AMBER+STRICT`, `TLP:GREEN`, `TLP:RED`,
    /// `TLP:CLEAR`; shown as a banner at the top and bottom of the HTML report. Empty: no banner.
    pub tlp: String,
    /// What evidence was read.
    pub evidence: EvidenceSummary,
    /// What the hunt found.
    pub hunt: HuntSummary,
    /// The incidents, in order of first activity.
    pub incidents: Vec<Incident>,
    /// The attribution, if one was run.
    pub assessment: Option<Assessment>,
    /// Which knowledge base the attribution and the technique names came from
    /// (`embedded starter pack`, `ATT&CK v18.1 bundle`).
    pub kb_label: String,
    /// What to do now.
    pub containment: ContainmentPlan,
    /// Every technique seen, with its detection count (for the heat map and the Navigator layer).
    pub techniques: Vec<TechniqueCount>,
    /// The ATT&CK tactics in matrix (kill-chain) order, `(short name, display name)`
    /// (`("initial-access", "Initial Access")`): the heat map's columns. Empty: the Enterprise
    /// order ([`enterprise_tactics`]).
    pub tactics: Vec<(String, String)>,
    /// Detection per storyline step, for generated scenarios with ground truth.
    pub recall: Option<Vec<StepRecall>>,
    /// Free-text notes for the appendix (caveats, analyst remarks, what was not examined).
    pub notes: Vec<String>,
}

/// What evidence was read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EvidenceSummary {
    /// The paths given (directories, archives, files).
    pub paths: Vec<String>,
    /// Evidence files read.
    pub files: u64,
    /// Events (records, log lines) read.
    pub events: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Records skipped (unreadable or not parseable).
    pub skipped: u64,
    /// Files that could not be read completely (truncated, corrupt, unsupported).
    pub damaged_files: u64,
}

/// What the hunt found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HuntSummary {
    /// Detections, all kinds.
    pub detections: u64,
    /// Detections by kind (`detection`, `correlation`, `indicator`, `yara`).
    pub by_kind: BTreeMap<String, u64>,
    /// Rules (Sigma, YARA) and indicators loaded.
    pub rules_loaded: u64,
    /// The rules that fired most, most first: `(title, detections, level)`, level empty when
    /// the rule has none.
    pub top_rules: Vec<(String, u64, String)>,
}

/// One technique seen and how often.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TechniqueCount {
    /// ATT&CK id (`T1505.003`).
    pub id: String,
    /// Name (`Server Software Component: Web Shell`); empty if the knowledge base lacks it.
    pub name: String,
    /// The tactics (short names, `persistence`) the technique belongs to in the knowledge base.
    pub tactics: Vec<String>,
    /// Detections tagged with it.
    pub count: u64,
}

/// The ATT&CK Enterprise tactics in matrix order, `(short name, display name)`: the order used
/// when [`Investigation::tactics`] is empty.
pub fn enterprise_tactics() -> Vec<(String, String)> {
    TACTICS
        .iter()
        .map(|(s, n)| (s.to_string(), n.to_string()))
        .collect()
}

/// How one step of a generated storyline was detected.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StepRecall {
    /// Step id (`d0-webshell`).
    pub id: String,
    /// Step name (`Web shell test`).
    pub name: String,
    /// The step's ATT&CK techniques.
    pub techniques: Vec<String>,
    /// Whether any detection fell on the step's records.
    pub detected: bool,
    /// The step's records that at least one detection hit.
    pub records_hit: u64,
    /// The step's records.
    pub records_total: u64,
}

impl Investigation {
    /// The tactics in matrix order, `(short name, display name)`: [`Investigation::tactics`],
    /// or the Enterprise order.
    pub fn tactic_order(&self) -> Vec<(String, String)> {
        if self.tactics.is_empty() {
            enterprise_tactics()
        } else {
            self.tactics.clone()
        }
    }

    /// The display name of a tactic short name (the short name itself if unknown).
    pub fn tactic_name(&self, short_name: &str) -> String {
        self.tactics
            .iter()
            .find(|(s, _)| s == short_name)
            .map(|(_, n)| n.clone())
            .or_else(|| {
                TACTICS
                    .iter()
                    .find(|(s, _)| *s == short_name)
                    .map(|(_, n)| n.to_string())
            })
            .unwrap_or_else(|| short_name.to_string())
    }

    /// The worst incident severity, if there are incidents.
    pub fn worst_severity(&self) -> Option<Severity> {
        self.incidents.iter().map(|i| i.severity).max()
    }

    /// Detections across all incidents.
    pub fn incident_events(&self) -> usize {
        self.incidents.iter().map(|i| i.events.len()).sum()
    }

    /// The earliest and latest detection times across the incidents (RFC 3339, as given).
    pub fn window(&self) -> Option<(String, String)> {
        let mut first: Option<&str> = None;
        let mut last: Option<&str> = None;
        for i in &self.incidents {
            for t in i.first_seen.iter().chain(i.last_seen.iter()) {
                let t = t.as_str();
                if crate::time::parse(t).is_none() {
                    continue;
                }
                if first.is_none_or(|f| crate::time::before(t, f)) {
                    first = Some(t);
                }
                if last.is_none_or(|l| crate::time::before(l, t)) {
                    last = Some(t);
                }
            }
        }
        Some((first?.to_string(), last?.to_string()))
    }

    /// The description of the attribution a reader sees first: `(headline, detail)`.
    pub fn key_judgement(&self) -> Option<(String, String)> {
        use tiaki_intel::attribution::Verdict;
        let a = self.assessment.as_ref()?;
        Some(match &a.verdict {
            Verdict::Attributed {
                id,
                name,
                confidence,
                threshold,
            } => {
                let aliases = a
                    .candidate(id)
                    .map(|c| c.aliases.iter().take(3).cloned().collect::<Vec<_>>())
                    .unwrap_or_default();
                let aka = if aliases.is_empty() {
                    String::new()
                } else {
                    format!(", also reported as {}", aliases.join(", "))
                };
                (
                    format!("Attributed to {name} ({id}{aka})"),
                    format!(
                        "{} ({} probability; the threshold for attribution is {}).",
                        capitalise(yardstick(*confidence)),
                        percent(*confidence),
                        percent(*threshold)
                    ),
                )
            }
            Verdict::InsufficientEvidence {
                reason,
                unknown,
                hypotheses,
                threshold,
            } => {
                let lead = hypotheses
                    .first()
                    .map(|h| {
                        format!(
                            " Leading hypothesis: {} ({}) at {}.",
                            h.name,
                            h.id,
                            percent(h.probability)
                        )
                    })
                    .unwrap_or_default();
                (
                    "Not attributed: insufficient evidence".to_string(),
                    format!(
                        "{reason}. No known intrusion set clears the {} threshold; probability that the actor is none of the known sets: {}.{lead}",
                        percent(*threshold),
                        percent(*unknown)
                    ),
                )
            }
        })
    }
}

/// A probability as a percentage with one decimal below 10 % and none above (`90 %`, `2.5 %`).
pub fn percent(p: f64) -> String {
    let v = (p * 100.0).clamp(0.0, 100.0);
    if v == 0.0 {
        "0 %".to_string()
    } else if v < 0.1 {
        "<0.1 %".to_string()
    } else if v < 10.0 {
        format!("{v:.1} %")
    } else {
        format!("{v:.0} %")
    }
}

/// The estimative term for a probability on the UK Professional Head of Intelligence Assessment
/// (PHIA) probability yardstick, with its gaps split at the midpoints.
pub fn yardstick(p: f64) -> &'static str {
    match p {
        p if p < 0.075 => "remote chance",
        p if p < 0.225 => "highly unlikely",
        p if p < 0.375 => "unlikely",
        p if p < 0.525 => "realistic possibility",
        p if p < 0.775 => "likely",
        p if p < 0.925 => "highly likely",
        _ => "almost certain",
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_read_from_empty_json() {
        let inv: Investigation = serde_json::from_str("{}").unwrap();
        assert_eq!(inv, Investigation::default());
        assert_eq!(inv.tactic_order().len(), 14);
        assert_eq!(inv.tactic_name("lateral-movement"), "Lateral Movement");
        assert_eq!(inv.tactic_name("odd"), "odd");
        assert!(inv.window().is_none());
        assert!(inv.key_judgement().is_none());
    }

    #[test]
    fn yardstick_and_percent() {
        assert_eq!(yardstick(0.9), "highly likely");
        assert_eq!(yardstick(0.97), "almost certain");
        assert_eq!(yardstick(0.02), "remote chance");
        assert_eq!(percent(0.9), "90 %");
        assert_eq!(percent(0.025), "2.5 %");
        assert_eq!(percent(0.0), "0 %");
        assert_eq!(percent(0.0001), "<0.1 %");
    }
}
