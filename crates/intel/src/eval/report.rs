//! The serialisable result of an evaluation run, and its Markdown rendering.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::calibration::CalibrationSummary;
use super::metrics::Summary;
use super::protocols::{E1CaseInfo, LeakageRow};
use super::sampling::RngKind;
use super::scorer::NbParams;
use crate::kb::TokenMode;

/// One scorer's row of a table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MethodResult {
    /// The scorer (`tfidf`, …, `random`).
    pub method: String,
    /// Cases, top-1/3/10, MRR, mean rank and intervals.
    #[serde(flatten)]
    pub summary: Summary,
    /// Calibration, when the scorer supplies probabilities.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub calibration: Option<CalibrationSummary>,
}

/// One table: one protocol setting, every scorer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// `E1`, `E2` or `E3`.
    pub protocol: String,
    /// The reference's key of the setting (`clean|tech+sw`, `k=3|fp=2:uniform`, `S2_report`).
    pub key: String,
    /// A human title.
    pub title: String,
    /// Number of cases.
    pub cases: usize,
    /// Protocol-specific counts (campaigns used, eligible groups…).
    pub info: BTreeMap<String, usize>,
    /// One row per scorer, then `random`.
    pub methods: Vec<MethodResult>,
}

impl Table {
    /// The row of one method.
    pub fn method(&self, name: &str) -> Option<&MethodResult> {
        self.methods.iter().find(|m| m.method == name)
    }
}

/// The NB dev-tuning grid results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TuningReport {
    /// Dev cases (E3/S2 on its own seed).
    pub cases: usize,
    /// `mu=…` → summary.
    pub nb_multi: BTreeMap<String, Summary>,
    /// `d=…,beta=…` → summary.
    pub nb_bern: BTreeMap<String, Summary>,
    /// Grid order of `nb_multi`.
    pub nb_multi_order: Vec<String>,
    /// Grid order of `nb_bern`.
    pub nb_bern_order: Vec<String>,
}

/// Expected rank of the true group for one E1 campaign (clean-strict), per scorer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct E1CaseRow {
    /// `tech+sw` or `tech`.
    pub evidence: String,
    /// The campaign.
    #[serde(flatten)]
    pub info: E1CaseInfo,
    /// Scorer → expected rank of the best true group.
    pub ranks: BTreeMap<String, f64>,
}

/// Everything an evaluation run measured. Serialises to JSON for `tiaki eval attribution
/// --format json`; [`EvalReport::to_markdown`] renders the tables.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// ATT&CK version of the knowledge base, if it says.
    pub attack_version: Option<String>,
    /// Candidate groups.
    pub n_groups: usize,
    /// Active campaigns.
    pub n_campaigns: usize,
    /// Campaigns attributed to a group (E1 queries).
    pub n_attributed_campaigns: usize,
    /// Token vocabulary size.
    pub vocab: usize,
    /// Technique token mode.
    pub token_mode: TokenMode,
    /// Repetitions of the randomised protocols.
    pub reps: usize,
    /// Seed of the randomised protocols.
    pub seed: u64,
    /// Generator of the randomised protocols.
    pub rng: RngKind,
    /// NB hyper-parameters used.
    pub params: NbParams,
    /// Dev tuning, when it ran.
    pub tuning: Option<TuningReport>,
    /// Every table, E1 then E2 then E3.
    pub tables: Vec<Table>,
    /// Per-campaign expected ranks (E1 clean-strict).
    pub e1_cases: Vec<E1CaseRow>,
    /// Campaign vs true group duplication audit.
    pub leakage_audit: Vec<LeakageRow>,
    /// Wall-clock seconds.
    pub runtime_s: f64,
}

/// Python's `repr` of a float (`0.05`, `0.0`, `1.0`), as the reference prints intervals.
pub(crate) fn py_float(x: f64) -> String {
    let s = format!("{x}");
    if s.contains(['.', 'e', 'N', 'i']) {
        s
    } else {
        format!("{s}.0")
    }
}

fn interval(ci: Option<[f64; 2]>) -> String {
    ci.map(|[a, b]| format!("[{}, {}]", py_float(a), py_float(b)))
        .unwrap_or_default()
}

impl EvalReport {
    /// A table by protocol and key.
    pub fn table(&self, protocol: &str, key: &str) -> Option<&Table> {
        self.tables
            .iter()
            .find(|t| t.protocol == protocol && t.key == key)
    }

    /// The tables as Markdown, in the reference's layout (same columns, same rounding).
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(
            md,
            "# Attribution benchmark (ATT&CK v{}, {} candidate groups, tokens={:?}, mu={}, d={}, beta={}, reps={}, seed={}, rng={:?})",
            self.attack_version.as_deref().unwrap_or("?"),
            self.n_groups,
            self.token_mode,
            self.params.mu,
            self.params.d,
            self.params.beta,
            self.reps,
            self.seed,
            self.rng
        );
        for t in &self.tables {
            let _ = writeln!(md, "\n## {} `{}` — {}", t.protocol, t.key, t.title);
            if !t.info.is_empty() {
                let info: Vec<String> = t.info.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                let _ = writeln!(md, "\n{}", info.join(", "));
            }
            md.push_str("\n| method | cases | top-1 | top-3 | top-10 | MRR | mean rank | top-10 95% CI | MRR 95% CI |\n");
            md.push_str("|---|---:|---:|---:|---:|---:|---:|---|---|\n");
            for m in &t.methods {
                let s = &m.summary;
                if s.cases == 0 {
                    continue;
                }
                let _ = writeln!(
                    md,
                    "| {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.1} | {} | {} |",
                    m.method,
                    s.cases,
                    s.top1,
                    s.top3,
                    s.top10,
                    s.mrr,
                    s.mean_rank,
                    interval(s.ci95.as_ref().map(|c| c.top10)),
                    interval(s.ci95.as_ref().map(|c| c.mrr)),
                );
            }
            let calibrated: Vec<&super::MethodResult> = t
                .methods
                .iter()
                .filter(|m| m.calibration.is_some())
                .collect();
            if !calibrated.is_empty() {
                md.push_str("\n| method | Brier (top-1) | Brier (all groups) | ECE (10 bins) | mean confidence | coverage / precision at conf ≥ 0.5 |\n");
                md.push_str("|---|---:|---:|---:|---:|---|\n");
                for m in calibrated {
                    let Some(c) = &m.calibration else { continue };
                    let half = c
                        .abstention
                        .iter()
                        .find(|p| (p.threshold - 0.5).abs() < 1e-9)
                        .map(|p| format!("{:.3} / {:.3}", p.coverage, p.precision))
                        .unwrap_or_default();
                    let _ = writeln!(
                        md,
                        "| {} | {:.3} | {:.3} | {:.3} | {:.3} | {} |",
                        m.method, c.brier, c.brier_multiclass, c.ece, c.mean_confidence, half
                    );
                }
            }
        }
        if let Some(t) = &self.tuning {
            let _ = writeln!(
                md,
                "\n## NB dev tuning (E3 S2 report hold-out, {} cases)\n\n| setting | MRR | top-1 | top-10 |\n|---|---:|---:|---:|",
                t.cases
            );
            for (fam, order, map) in [
                ("nb_multi", &t.nb_multi_order, &t.nb_multi),
                ("nb_bern", &t.nb_bern_order, &t.nb_bern),
            ] {
                for k in order {
                    if let Some(s) = map.get(k) {
                        let _ = writeln!(
                            md,
                            "| {fam} {k} | {:.3} | {:.3} | {:.3} |",
                            s.mrr, s.top1, s.top10
                        );
                    }
                }
            }
        }
        if !self.e1_cases.is_empty() {
            let methods = ["jaccard", "cosine", "tfidf", "nb_multi", "nb_bern", "prior"];
            let _ = writeln!(
                md,
                "\n## E1 per campaign (clean-strict, tech+sw): expected rank of the true group (of {})\n",
                self.n_groups
            );
            md.push_str("| campaign | name | true group(s) | #T | #S | true profile tokens | rels removed | jaccard | cosine | tfidf | nb_multi | nb_bern | prior |\n");
            md.push_str("|---|---|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|\n");
            for r in self.e1_cases.iter().filter(|r| r.evidence == "tech+sw") {
                let removed: Vec<String> = r
                    .info
                    .removed_by_filter
                    .iter()
                    .map(|(g, n)| format!("{g}:{n}"))
                    .collect();
                let tokens: Vec<String> = r
                    .info
                    .true_profile_tokens
                    .iter()
                    .map(|n| n.to_string())
                    .collect();
                let _ = write!(
                    md,
                    "| {} | {} | {} | {} | {} | {} | {} |",
                    r.info.campaign,
                    r.info.name,
                    r.info.groups.join(","),
                    r.info.n_tech,
                    r.info.n_sw,
                    tokens.join(","),
                    removed.join(", ")
                );
                for m in methods {
                    let _ = write!(
                        md,
                        " {} |",
                        r.ranks
                            .get(m)
                            .map(|x| format!("{x:.1}"))
                            .unwrap_or_default()
                    );
                }
                md.push('\n');
            }
        }
        if !self.leakage_audit.is_empty() {
            md.push_str("\n## Leakage audit: campaign vs. true group's own `uses`\n\n");
            md.push_str("| campaign | group | campaign targets | group own targets | duplicated | dup. with shared citation | group rels sharing a citation | group rels with only campaign citations | group rels | other campaigns of group |\n");
            md.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
            for r in &self.leakage_audit {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    r.campaign,
                    r.group,
                    r.campaign_targets,
                    r.group_own_targets,
                    r.duplicated_targets,
                    r.duplicated_with_shared_citation,
                    r.group_rels_sharing_citation,
                    r.group_rels_only_campaign_citations,
                    r.group_rels_total,
                    r.other_campaigns_of_group
                );
            }
        }
        let _ = writeln!(md, "\nRun time: {:.1} s", self.runtime_s);
        md
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_python() {
        assert_eq!(py_float(0.05), "0.05");
        assert_eq!(py_float(0.0), "0.0");
        assert_eq!(py_float(1.0), "1.0");
        assert_eq!(interval(Some([0.086, 0.425])), "[0.086, 0.425]");
        assert_eq!(interval(None), "");
    }
}
