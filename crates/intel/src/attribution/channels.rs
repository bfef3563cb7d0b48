//! The channels ATT&CK gives no training data for — infrastructure, exploited CVEs,
//! victimology, operator working hours and rule tags — as *declared* log-likelihood ratios.
//!
//! # Why declared, and why these sizes
//!
//! The benchmark's groups carry no indicators, CVEs, victims or hours, so nothing can be fitted;
//! the strengths below are stated judgements, kept small enough that none of these channels can
//! outvote a body of technique and software evidence on its own except infrastructure, and all
//! of them are configurable ([`ChannelWeights`]). Each is a log-likelihood ratio
//! ln P(observation | group) / P(observation | some other actor), added to the group's logit:
//!
//! * **infrastructure**: an observed indicator that the knowledge base links (`indicates`) to a
//!   set — directly, through one of its campaigns, or through malware only it uses — is strong
//!   evidence, but not proof: infrastructure is rented, shared, sinkholed and occasionally
//!   planted. ln LR = `infrastructure` − ln(number of sets the indicator is linked to), at least
//!   0.5.
//! * **CVEs**: exploiting a CVE a set is known for; specificity-weighted like a rare technique,
//!   ln LR = `cve` · ln((N+1)/(df+1)) with N the number of known sets. Mass exploitation
//!   makes popular CVEs weak; there is no penalty for a CVE a set is not known for.
//! * **victimology**: a victim sector/country the set is known to target,
//!   ln LR = `victim` · ln((N+1)/(df+1)) (N known sets); a set with victimology on record that does not list
//!   it gets −`victim_miss` (victim lists are incomplete, so the penalty is small); sets with no
//!   victimology on record get 0.
//! * **working hours**: timestamps are bucketed by UTC hour (a burst of a thousand events is one
//!   observation); with a working window covering a share w of the week and a declared
//!   `hours_in_window` = 0.8 of an operator's activity inside it, each bucket contributes
//!   ln(0.8/w) inside and ln(0.2/(1−w)) outside; the sum is capped at ±`hours_cap` and scaled by
//!   the profile's own confidence. Every group of a time zone shares it, so this separates
//!   regions, not groups.
//! * **rule tags**: a detection rule tagged `attack.g0065` means its author tied the behaviour to
//!   that group; `rule_tag` per distinct group tag, at most `rule_tag_cap` in total.

use serde::{Deserialize, Serialize};

/// Strengths of the declared channels (natural-log likelihood ratios).
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelWeights {
    /// An indicator linked to exactly one set.
    pub infrastructure: f64,
    /// Per nat of CVE specificity.
    pub cve: f64,
    /// Per nat of victim sector/country specificity.
    pub victim: f64,
    /// Penalty for a victim the set's victimology does not list.
    pub victim_miss: f64,
    /// Share of an operator's activity inside the working window.
    pub hours_in_window: f64,
    /// Cap on the working-hours log-likelihood ratio (before the confidence scaling).
    pub hours_cap: f64,
    /// Per distinct rule group tag.
    pub rule_tag: f64,
    /// Cap on the rule-tag total.
    pub rule_tag_cap: f64,
}

impl Default for ChannelWeights {
    fn default() -> Self {
        Self {
            infrastructure: 4.0,
            cve: 0.6,
            victim: 0.3,
            victim_miss: 0.15,
            hours_in_window: 0.8,
            hours_cap: 3.0,
            rule_tag: 1.0,
            rule_tag_cap: 2.0,
        }
    }
}

/// ln((n+1)/(df+1)): the specificity of a key `df` of `n` sets have.
pub(crate) fn specificity(n: usize, df: usize) -> f64 {
    ((n as f64 + 1.0) / (df as f64 + 1.0)).ln().max(0.0)
}

/// The working-hours log-likelihood ratio of `inside` of `total` activity buckets for a window
/// covering `share` of the week, capped and scaled by `confidence`.
pub(crate) fn hours_llr(
    inside: usize,
    total: usize,
    share: f64,
    confidence: f64,
    w: &ChannelWeights,
) -> f64 {
    if total == 0 || share <= 0.0 || share >= 1.0 {
        return 0.0;
    }
    let p = w.hours_in_window.clamp(0.01, 0.99);
    let raw = inside as f64 * (p / share).ln()
        + (total - inside) as f64 * ((1.0 - p) / (1.0 - share)).ln();
    raw.clamp(-w.hours_cap, w.hours_cap) * confidence
}

/// Literal values quoted in a STIX pattern (`[ipv4-addr:value = '203.0.113.7']` → `203.0.113.7`),
/// lower-cased.
pub(crate) fn pattern_literals(pattern: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = pattern;
    while let Some(i) = rest.find('\'') {
        let after = &rest[i + 1..];
        // Patterns escape quotes as \' — take up to the next unescaped quote.
        let mut end = None;
        let b = after.as_bytes();
        let mut k = 0;
        while k < b.len() {
            if b[k] == b'\\' {
                k += 2;
                continue;
            }
            if b[k] == b'\'' {
                end = Some(k);
                break;
            }
            k += 1;
        }
        let Some(e) = end else { break };
        let lit = after[..e].replace("\\'", "'").replace("\\\\", "\\");
        if !lit.is_empty() {
            out.push(lit.to_lowercase());
        }
        rest = &after[e + 1..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_reward_the_window_and_are_capped() {
        let w = ChannelWeights::default();
        let share = 45.0 / 168.0;
        let inside = hours_llr(10, 10, share, 1.0, &w);
        assert!((inside - w.hours_cap).abs() < 1e-12);
        let outside = hours_llr(0, 10, share, 1.0, &w);
        assert!((outside + w.hours_cap).abs() < 1e-12);
        let one = hours_llr(1, 1, share, 0.3, &w);
        assert!(one > 0.0 && one < 0.5);
        assert_eq!(hours_llr(0, 0, share, 1.0, &w), 0.0);
    }

    #[test]
    fn literals_of_patterns() {
        assert_eq!(
            pattern_literals(
                "[ipv4-addr:value = '203.0.113.7'] OR [domain-name:value = 'Evil.example']"
            ),
            vec!["203.0.113.7", "evil.example"]
        );
        assert_eq!(
            pattern_literals(r"[file:name = 'it\'s.exe']"),
            vec!["it's.exe"]
        );
        assert!(specificity(10, 0) > specificity(10, 9));
        assert_eq!(specificity(10, 10), 0.0);
    }
}
