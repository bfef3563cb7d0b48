//! # Attribution: who is behind an intrusion, how sure, and why
//!
//! Given what was observed — techniques, software, indicators, exploited CVEs, victims, the
//! times the operators were active — [`attribute`] weighs it against every known intrusion set
//! and returns an [`Assessment`]: a ranking with calibrated probabilities that include an
//! explicit **unknown** outcome ("none of the known sets"), the evidence for and against each
//! candidate with its weight and the knowledge base's reason, and a [`Verdict`] that names a set
//! only when its probability clears a threshold and otherwise says *insufficient evidence* with
//! the hypotheses.
//!
//! ## Why it is built this way
//!
//! The benchmark (`shared/research/attribution-benchmark.md`, ported in [`crate::eval`]) shows
//! that technique overlap alone barely attributes once leakage is removed. So:
//!
//! * **Channels with their own likelihood models.** Techniques and software are compared with a
//!   set's profile through several complementary features ([`features`]): idf-weighted cosines
//!   (on all tokens, with sub-technique → technique back-off, and on explicit tokens only),
//!   idf-weighted coverage, a smoothed log-likelihood ratio against the background, hits by
//!   specificity band, software uniqueness (a family only one set uses is near-decisive),
//!   co-occurrence support from similar sets, profile size and hubness. Their weights are
//!   *learned* ([`train`]) by a conditional logit on a development split that never touches a
//!   benchmark test case. Infrastructure, CVEs, victimology, working hours and rule tags have no
//!   training data in ATT&CK; they are declared log-likelihood ratios ([`channels`]).
//! * **Probabilities, not similarities.** The conditional logit's scores are log-odds; a
//!   calibration fitted on the same split ([`model::Calibration`]) sets their sharpness and the
//!   unknown outcome, whose mass grows when the evidence is thin or generic. A declared prior
//!   over sets ([`Prior`]) is explicit and switchable.
//! * **Explanations that are the model.** Each listed item's weight is its exact effect on the
//!   candidate's log-odds (leave the item out, re-score), so "for" and "against" lists add up
//!   to the ranking rather than decorating it. Counter-evidence covers both the candidate's
//!   distinctive techniques and software that were not seen and observed items it is not known
//!   for.
//! * **One scorer for the product and the benchmark.** [`TiakiScorer`] is the same ranker behind
//!   the benchmark's [`crate::eval::Scorer`] trait, and [`evaluate()`] runs it next to every
//!   baseline on every protocol.
//!
//! ```no_run
//! use tiaki_intel::KnowledgeBase;
//! use tiaki_intel::attribution::{Evidence, Options, attribute};
//!
//! let kb = KnowledgeBase::from_bundle_file("enterprise-attack.json")?;
//! let mut ev = Evidence::new();
//! ev.techniques = vec!["T1505.003".into(), "T1190".into()];
//! ev.software = vec!["NanHaiShu".into()];
//! let a = attribute(&kb, &ev, &Options::default());
//! println!("{}", serde_json::to_string_pretty(&a).unwrap());
//! # Ok::<(), tiaki_intel::IntelError>(())
//! ```

pub mod assessment;
pub mod channels;
pub mod context;
pub mod engine;
pub mod evaluate;
pub mod evidence;
pub mod features;
pub mod logit;
pub mod model;
pub mod train;

pub use assessment::{
    Assessment, Candidate, Channel, Direction, EvidenceItem, EvidenceSummary, Hypothesis,
    Unresolved, Verdict,
};
pub use channels::ChannelWeights;
pub use context::{ActivityHours, Context, ContextBuilder};
pub use engine::{DEFAULT_THRESHOLD, Model, Options};
pub use evaluate::{AttributionEvalReport, evaluate};
pub use evidence::{DetectionsRead, Evidence, IndicatorHit};
pub use model::{ModelParams, Prior, TiakiScorer};

use crate::kb::KnowledgeBase;

/// Attributes `evidence` against every active intrusion set of `kb` with the default model
/// parameters and no victimology/CVE/hours context. Build a [`Model`] once instead when
/// assessing many cases, or to supply a [`Context`].
pub fn attribute(kb: &KnowledgeBase, evidence: &Evidence, options: &Options) -> Assessment {
    Model::new(kb, Context::empty(), ModelParams::default()).assess(evidence, options)
}

/// [`attribute`] with a [`Context`] (CVEs, victimology, working hours).
pub fn attribute_with(
    kb: &KnowledgeBase,
    context: Context,
    evidence: &Evidence,
    options: &Options,
) -> Assessment {
    Model::new(kb, context, ModelParams::default()).assess(evidence, options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kb::KbBuilder;
    use serde_json::{Value, json};

    fn ext(id: &str) -> Value {
        json!([{"source_name": "mitre-attack", "external_id": id}])
    }

    /// Twelve groups. Every group uses T1001–T1004 (generic). Group i (1-based) also uses
    /// T10(10+i), T10(11+i), T10(12+i) (a sliding window: neighbours overlap) and tool S0100
    /// (shared by all). G0001 alone uses malware S0001 "AlphaRAT" and S0002 "AlphaLoader";
    /// G0002 alone uses S0003. Indicator `indicator--c2` indicates G0003.
    pub(crate) fn kb() -> KnowledgeBase {
        let mut objs = Vec::new();
        for t in 1..=40 {
            objs.push(json!({"type": "attack-pattern", "id": format!("attack-pattern--{t}"),
                "name": format!("Technique {t}"), "external_references": ext(&format!("T{:04}", 1000 + t))}));
        }
        objs.push(
            json!({"type": "attack-pattern", "id": "attack-pattern--sub",
            "name": "Technique 11: Sub", "x_mitre_is_subtechnique": true,
            "external_references": ext("T1011.001")}),
        );
        objs.push(json!({"type": "relationship", "id": "relationship--sub", "relationship_type": "subtechnique-of",
            "source_ref": "attack-pattern--sub", "target_ref": "attack-pattern--11"}));
        for (id, name, ty) in [
            ("S0001", "AlphaRAT", "malware"),
            ("S0002", "AlphaLoader", "malware"),
            ("S0003", "BetaShell", "malware"),
            ("S0100", "CommonTool", "tool"),
        ] {
            objs.push(
                json!({"type": ty, "id": format!("{ty}--{id}"), "name": name,
                "external_references": ext(id)}),
            );
        }
        let mut r = 0;
        let mut uses = |objs: &mut Vec<Value>, g: usize, target: String| {
            r += 1;
            objs.push(
                json!({"type": "relationship", "id": format!("relationship--u{r}"),
                "relationship_type": "uses", "source_ref": format!("intrusion-set--{g}"),
                "target_ref": target,
                "description": format!("Group {g} used it. (Citation: Report {g})"),
                "external_references": [{"source_name": format!("Report {g}")}]}),
            );
        };
        for g in 1..=12 {
            objs.push(
                json!({"type": "intrusion-set", "id": format!("intrusion-set--{g}"),
                "name": format!("Group {g}"), "aliases": [format!("Alias {g}")],
                "external_references": ext(&format!("G{g:04}"))}),
            );
            for t in 1..=4 {
                uses(&mut objs, g, format!("attack-pattern--{t}"));
            }
            for t in [10 + g, 11 + g, 12 + g] {
                uses(&mut objs, g, format!("attack-pattern--{t}"));
            }
            uses(&mut objs, g, "tool--S0100".into());
        }
        uses(&mut objs, 1, "malware--S0001".into());
        uses(&mut objs, 1, "malware--S0002".into());
        uses(&mut objs, 1, "attack-pattern--sub".into());
        uses(&mut objs, 2, "malware--S0003".into());
        objs.push(
            json!({"type": "indicator", "id": "indicator--c2", "name": "C2 address",
            "pattern": "[ipv4-addr:value = '203.0.113.7']", "pattern_type": "stix"}),
        );
        objs.push(json!({"type": "relationship", "id": "relationship--ind", "relationship_type": "indicates",
            "source_ref": "indicator--c2", "target_ref": "intrusion-set--3",
            "external_references": [{"source_name": "Feed X"}]}));
        let mut b = KbBuilder::new();
        for o in &objs {
            b.add_object(o).unwrap();
        }
        b.finish()
    }

    fn ev(techniques: &[&str], software: &[&str]) -> Evidence {
        Evidence {
            techniques: techniques.iter().map(|s| s.to_string()).collect(),
            software: software.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    fn all(opts: Options) -> Options {
        Options { top: 12, ..opts }
    }

    #[test]
    fn unique_malware_attributes_to_its_group() {
        let kb = kb();
        let a = attribute(
            &kb,
            &ev(&["T1011", "T1012"], &["AlphaRAT", "s0002"]),
            &Options::default(),
        );
        assert_eq!(a.candidates[0].id, "G0001");
        match &a.verdict {
            Verdict::Attributed { id, confidence, .. } => {
                assert_eq!(id, "G0001");
                assert!(*confidence >= DEFAULT_THRESHOLD);
            }
            v => panic!("expected an attribution, got {v:?}"),
        }
        // Both families count for it, cited from the knowledge base.
        for id in ["S0001", "S0002"] {
            let it = a.candidates[0]
                .evidence
                .iter()
                .find(|i| i.item.starts_with(id))
                .unwrap();
            assert_eq!(it.channel, Channel::Software);
            assert_eq!(it.direction, Direction::For);
            assert!(it.weight > 0.0);
            assert!(it.why.as_deref().unwrap().contains("Report 1"), "{it:?}");
        }
        // Without the malware the same techniques do not attribute.
        let t = attribute(&kb, &ev(&["T1011", "T1012"], &[]), &Options::default());
        assert!(!t.verdict.is_attributed());
    }

    #[test]
    fn no_or_generic_evidence_is_insufficient_with_high_unknown() {
        let kb = kb();
        let empty = attribute(&kb, &Evidence::new(), &Options::default());
        assert!(!empty.verdict.is_attributed());
        assert!((empty.unknown - 0.5).abs() < 1e-12, "the prior, untouched");
        match &empty.verdict {
            Verdict::InsufficientEvidence {
                hypotheses, reason, ..
            } => {
                assert_eq!(hypotheses.len(), 10);
                assert_eq!(reason, "no usable evidence");
            }
            v => panic!("{v:?}"),
        }
        let generic = attribute(
            &kb,
            &ev(&["T1001", "T1002"], &["CommonTool"]),
            &Options::default(),
        );
        assert!(!generic.verdict.is_attributed());
        let specific = attribute(
            &kb,
            &ev(&["T1011", "T1012"], &["AlphaRAT", "AlphaLoader"]),
            &Options::default(),
        );
        assert!(
            generic.unknown > 2.0 * specific.unknown,
            "generic {} vs specific {}",
            generic.unknown,
            specific.unknown
        );
        assert!(generic.candidates[0].probability < 0.3);
    }

    #[test]
    fn probabilities_sum_to_one() {
        let kb = kb();
        for e in [
            Evidence::new(),
            ev(&["T1011"], &[]),
            ev(&["T1015", "T1016", "T1001"], &["BetaShell"]),
        ] {
            let a = attribute(&kb, &e, &all(Options::default()));
            assert_eq!(a.candidates.len(), 12);
            assert!(a.rest.abs() < 1e-9);
            assert!((a.total_probability() - 1.0).abs() < 1e-9);
            assert!(
                a.candidates
                    .windows(2)
                    .all(|w| w[0].probability >= w[1].probability)
            );
            let few = attribute(
                &kb,
                &e,
                &Options {
                    top: 3,
                    ..Options::default()
                },
            );
            assert!((few.total_probability() - 1.0).abs() < 1e-9);
            assert!(few.rest > 0.0);
        }
    }

    #[test]
    fn explanations_carry_for_against_and_back_off() {
        let kb = kb();
        // Profiles: G000g uses T10(10+g)…T10(12+g); G0001 also T1011.001, S0001, S0002.
        let a = attribute(
            &kb,
            &ev(&["T1011.001", "T1013", "T1030"], &["AlphaRAT"]),
            &all(Options::default()),
        );
        assert_eq!(a.candidates[0].id, "G0001");
        let g1 = a.candidate("G0001").unwrap();
        // Observed and in the profile: for, with the relationship's citation.
        let rat = g1
            .evidence
            .iter()
            .find(|i| i.item.starts_with("S0001"))
            .unwrap();
        assert_eq!(rat.direction, Direction::For);
        assert!(rat.observed && rat.weight > 0.0);
        assert!(rat.why.as_deref().unwrap().contains("[Report 1]"));
        // Distinctive but not observed: AlphaLoader counts against G0001.
        let loader = g1
            .evidence
            .iter()
            .find(|i| i.item.starts_with("S0002"))
            .unwrap();
        assert!(!loader.observed);
        assert_eq!(loader.direction, Direction::Against);
        assert!(loader.weight < 0.0);
        assert!(g1.evidence.iter().any(|i| i.channel == Channel::Profile));
        // Observed but not in G0012's profile: said so.
        let g12 = a.candidate("G0012").unwrap();
        let t = g12
            .evidence
            .iter()
            .find(|i| i.item.starts_with("T1013"))
            .unwrap();
        assert!(
            t.why
                .as_deref()
                .unwrap()
                .contains("not in this set's profile"),
            "{t:?}"
        );
        // T1030 is known for no set: it is left out of the ranking and reported as unseen.
        assert!(
            g1.evidence
                .iter()
                .all(|i| !i.item.starts_with("T1030") || i.weight.abs() < 1e-9)
        );
        // Items are sorted by the size of their effect.
        assert!(
            g1.evidence
                .windows(2)
                .all(|w| w[0].weight.abs() >= w[1].weight.abs())
        );
        // The JSON shape the CLI prints.
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["candidates"][0]["id"], "G0001");
        assert_eq!(json["candidates"][0]["name"], "Group 1");
        assert!(json["candidates"][0]["probability"].is_number());
        assert!(json["candidates"][0]["evidence"][0]["direction"].is_string());
        assert!(json["verdict"]["kind"].is_string());
        assert!(json["unknown"].is_number());
    }

    #[test]
    fn back_off_to_the_parent() {
        let kb = kb();
        // T1012.001 is not in the knowledge base's profiles… use a sub-technique the knowledge
        // base knows but no group uses at that level: none exists here, so observe T1011.001
        // and look at G0001 (which has it) and at how T1011 alone is explained for G0001, whose
        // profile holds T1011 only as the parent of T1011.001.
        let sub = attribute(&kb, &ev(&["T1011.001"], &[]), &all(Options::default()));
        assert_eq!(sub.candidates[0].id, "G0001");
        let exact = sub.candidates[0]
            .evidence
            .iter()
            .find(|i| i.item.starts_with("T1011.001"))
            .unwrap();
        assert_eq!(exact.direction, Direction::For);
        assert!(exact.why.as_deref().unwrap().contains("[Report 1]"));
        // G0002 (T1012–T1014) is not known for T1011 at any level.
        let g2 = sub.candidate("G0002").unwrap();
        let miss = g2
            .evidence
            .iter()
            .find(|i| i.item.starts_with("T1011.001"))
            .unwrap();
        assert!(
            miss.why
                .as_deref()
                .unwrap()
                .contains("not in this set's profile")
        );
    }

    #[test]
    fn unresolved_items_are_reported_not_fatal() {
        let kb = kb();
        let mut e = ev(
            &["T9999", "not-a-technique", "T1011"],
            &["NoSuchMalware", "S0001"],
        );
        e.cves = vec!["CVE-1".into()];
        e.timestamps = vec!["yesterday".into()];
        let a = attribute(&kb, &e, &Options::default());
        let items: Vec<&str> = a.unresolved.iter().map(|u| u.item.as_str()).collect();
        for x in [
            "T9999",
            "not-a-technique",
            "NoSuchMalware",
            "CVE-1",
            "yesterday",
        ] {
            assert!(items.contains(&x), "{x} missing from {items:?}");
        }
        assert_eq!(a.summary.techniques, 1);
        assert_eq!(a.summary.software, 1);
    }

    #[test]
    fn declared_channels_move_the_right_group() {
        let kb = kb();
        let ctx_objs = [
            json!({"type": "intrusion-set", "id": "intrusion-set--5", "name": "Group 5",
                "external_references": ext("G0005"),
                "x_tiaki_activity_hours": {"utc_offset_hours": 8, "weekdays": ["Mon","Tue","Wed","Thu","Fri"],
                    "weekday_hours_local": [9, 18], "confidence": 100}}),
            json!({"type": "vulnerability", "id": "vulnerability--1", "name": "CVE-2021-26855"}),
            json!({"type": "relationship", "id": "relationship--c1", "relationship_type": "targets",
                "source_ref": "intrusion-set--6", "target_ref": "vulnerability--1"}),
            json!({"type": "location", "id": "location--nz", "name": "New Zealand", "country": "NZ"}),
            json!({"type": "location", "id": "location--us", "name": "United States", "country": "US"}),
            json!({"type": "relationship", "id": "relationship--c2", "relationship_type": "targets",
                "source_ref": "intrusion-set--7", "target_ref": "location--nz"}),
            json!({"type": "relationship", "id": "relationship--c3", "relationship_type": "targets",
                "source_ref": "intrusion-set--8", "target_ref": "location--us"}),
        ];
        let mut b = Context::builder();
        for o in &ctx_objs {
            b.add_object(o);
        }
        let ctx = b.finish(&kb);
        let model = Model::new(&kb, ctx, ModelParams::default());
        let base = ev(&["T1001", "T1002"], &[]);
        let p = |a: &Assessment, id: &str| a.candidate(id).map_or(0.0, |c| c.probability);
        let before = model.assess(&base, &all(Options::default()));
        // CVE → G0006.
        let mut e = base.clone();
        e.cves = vec!["cve-2021-26855".into()];
        let a = model.assess(&e, &all(Options::default()));
        assert!(p(&a, "G0006") > 2.0 * p(&before, "G0006"));
        assert_eq!(a.candidates[0].id, "G0006");
        // Victim country → G0007 up, G0008 (victimology on record, not NZ) down.
        let mut e = base.clone();
        e.countries = vec!["New Zealand".into()];
        let a = model.assess(&e, &all(Options::default()));
        assert!(p(&a, "G0007") > p(&before, "G0007"));
        assert!(p(&a, "G0008") < p(&before, "G0008"));
        // Activity in G0005's working window (Wednesdays 02:00–05:00 UTC = 10:00–13:00 UTC+8).
        let mut e = base.clone();
        e.timestamps = (0..4)
            .map(|h| format!("2021-03-03T0{}:15:00Z", 2 + h))
            .collect();
        let a = model.assess(&e, &all(Options::default()));
        assert!(p(&a, "G0005") > p(&before, "G0005"));
        let item = a
            .candidate("G0005")
            .unwrap()
            .evidence
            .iter()
            .find(|i| i.channel == Channel::WorkingHours)
            .unwrap();
        assert!(item.item.starts_with("4 of 4"));
        // Infrastructure: the indicator's value, or a detection naming the set.
        let mut e = base.clone();
        e.indicators = vec![IndicatorHit::from("203.0.113.7")];
        let a = model.assess(&e, &all(Options::default()));
        assert_eq!(a.candidates[0].id, "G0003");
        assert_eq!(a.summary.indicators_matched, 1);
        let (e2, _) = Evidence::from_detections_jsonl(
            r#"{"rule_id": "ioc-1", "attack": ["T1001"], "indicator": {"value": "198.51.100.1", "intrusion_set": "Alias 9"}}
{"rule_id": "r-7", "attack": ["attack.t1002", "attack.g0004"]}"#,
        );
        let a = model.assess(&e2, &all(Options::default()));
        let logit = |a: &Assessment, id: &str| a.candidate(id).unwrap().logit;
        assert!(logit(&a, "G0009") > logit(&before, "G0009") + 3.0);
        assert!(logit(&a, "G0004") > logit(&before, "G0004") + 0.9);
        let tag = a
            .candidate("G0004")
            .unwrap()
            .evidence
            .iter()
            .find(|i| i.channel == Channel::RuleTag)
            .unwrap();
        assert!(tag.why.as_deref().unwrap().contains("r-7"));
    }
}
