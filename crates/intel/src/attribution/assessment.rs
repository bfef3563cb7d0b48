//! The result of an attribution: a calibrated ranking with an explicit "unknown" outcome, the
//! evidence for and against each candidate, and a verdict that abstains unless the confidence
//! clears a threshold.
//!
//! Serialised with serde as
//! `{"candidates": [{"id": "G0065", "name": "Leviathan", "probability": …, "evidence": […]}, …],
//! "unknown": …, "verdict": {"kind": "attributed", …} | {"kind": "insufficient-evidence", …}, …}`.

use serde::{Deserialize, Serialize};

/// The kind of evidence an item belongs to.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Channel {
    /// ATT&CK techniques and sub-techniques.
    Technique,
    /// Malware and tools.
    Software,
    /// Indicators linked to intrusion sets (infrastructure, hashes…).
    Infrastructure,
    /// Exploited vulnerabilities.
    Vulnerability,
    /// Victim sectors.
    Sector,
    /// Victim countries.
    Country,
    /// Operator working hours.
    WorkingHours,
    /// Detection rules that name a group in their tags.
    RuleTag,
    /// Facts about the candidate itself (profile size, the prior, hubness).
    Profile,
}

/// Whether an item supports or counts against a candidate.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// Raises the candidate's probability.
    For,
    /// Lowers it.
    Against,
}

/// One piece of evidence for or against a candidate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvidenceItem {
    /// Its channel.
    pub channel: Channel,
    /// What it is: `T1505.003 Server Software Component: Web Shell`, `S0228 NanHaiShu`,
    /// `CVE-2021-26855`, `NZ`, `14 of 16 activity hours in the working window`…
    pub item: String,
    /// Its effect on the candidate's log-odds (natural log units): positive for, negative
    /// against. For observed techniques and software it is the exact change in the candidate's
    /// calibrated logit when the item is removed from the evidence; for unobserved profile items,
    /// when the item is removed from the profile.
    pub weight: f64,
    /// For or against.
    pub direction: Direction,
    /// Why: the knowledge base's relationship description and its citations, or what the
    /// absence means.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// Whether the item was observed (false for the candidate's distinctive items that were
    /// not).
    pub observed: bool,
}

/// One candidate intrusion set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// ATT&CK id (`G0065`), or the STIX id when the set has none.
    pub id: String,
    /// Name (`Leviathan`).
    pub name: String,
    /// Other names (a few, for the reader: `APT40`, `Gingham Typhoon`…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Posterior probability (with the unknown outcome, over all known sets).
    pub probability: f64,
    /// Rank (1 = most probable).
    pub rank: usize,
    /// The calibrated logit the probability came from.
    pub logit: f64,
    /// Evidence for and against, strongest first.
    pub evidence: Vec<EvidenceItem>,
}

/// A short hypothesis in an abstaining verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hypothesis {
    /// ATT&CK id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Probability.
    pub probability: f64,
}

/// The verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Verdict {
    /// The most probable set clears the confidence threshold.
    Attributed {
        /// ATT&CK id.
        id: String,
        /// Name.
        name: String,
        /// Calibrated probability.
        confidence: f64,
        /// The threshold it cleared.
        threshold: f64,
    },
    /// Nothing clears the threshold (or the unknown outcome is the most probable): the
    /// hypotheses are listed, not asserted.
    InsufficientEvidence {
        /// Why the engine abstains.
        reason: String,
        /// Probability that the actor is none of the known sets.
        unknown: f64,
        /// The most probable sets (up to 10).
        hypotheses: Vec<Hypothesis>,
        /// The threshold nothing cleared.
        threshold: f64,
    },
}

impl Verdict {
    /// Whether an attribution was made.
    pub fn is_attributed(&self) -> bool {
        matches!(self, Verdict::Attributed { .. })
    }
}

/// An evidence item the model could not use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unresolved {
    /// The channel it was given for.
    pub channel: Channel,
    /// As given.
    pub item: String,
    /// Why it was not used.
    pub reason: String,
}

/// How much evidence of each kind went in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EvidenceSummary {
    /// Distinct techniques resolved (sub-techniques count once; parents implied are not counted).
    pub techniques: usize,
    /// Software resolved.
    pub software: usize,
    /// Indicators that matched the knowledge base.
    pub indicators_matched: usize,
    /// Indicators given.
    pub indicators: usize,
    /// CVEs given.
    pub cves: usize,
    /// Sectors given.
    pub sectors: usize,
    /// Countries given.
    pub countries: usize,
    /// Distinct activity hours (UTC hour buckets) parsed from the timestamps.
    pub activity_hours: usize,
    /// Group tags of detection rules.
    pub group_tags: usize,
}

/// The result of [`super::attribute`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    /// The most probable known sets, best first (see `Options::top`).
    pub candidates: Vec<Candidate>,
    /// Probability that the actor is none of the known sets (not in the knowledge base). The
    /// candidates' probabilities, those of the sets not listed (`rest`) and this sum to 1.
    pub unknown: f64,
    /// Total probability of the known sets not listed in `candidates`.
    pub rest: f64,
    /// The verdict.
    pub verdict: Verdict,
    /// What went in.
    pub summary: EvidenceSummary,
    /// Evidence that could not be used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unresolved: Vec<Unresolved>,
    /// Number of known sets ranked.
    pub groups_ranked: usize,
    /// The prior used.
    pub prior: super::model::Prior,
    /// Microseconds spent ranking (features, logits, probabilities; explanations excluded).
    pub rank_micros: u64,
}

impl Assessment {
    /// The candidate with this ATT&CK id, if listed.
    pub fn candidate(&self, id: &str) -> Option<&Candidate> {
        self.candidates.iter().find(|c| c.id == id)
    }

    /// The candidates' probabilities plus `rest` plus `unknown` (1 up to rounding).
    pub fn total_probability(&self) -> f64 {
        self.candidates.iter().map(|c| c.probability).sum::<f64>() + self.rest + self.unknown
    }
}
