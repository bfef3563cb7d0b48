//! The attribution engine: resolves evidence against the knowledge base, scores every known
//! intrusion set, turns the scores into probabilities with an unknown outcome, explains the
//! leading candidates, and decides whether to attribute or abstain.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::assessment::{
    Assessment, Candidate, Channel, Direction, EvidenceItem, EvidenceSummary, Hypothesis,
    Unresolved, Verdict,
};
use super::channels::{self, ChannelWeights};
use super::context::{self, Context};
use super::evidence::{AttackTag, Evidence, classify_tag, parse_timestamp};
use super::features::{FoldIndex, NF, Scratch, fi};
use super::model::{ModelParams, Prior};
use crate::eval::{Profiles, Query};
use crate::kb::alias::normalize_name;
use crate::kb::{KnowledgeBase, ObjId, ObjectKind, RelKind, TokenKind, TokenMode, Vocab};

/// How an attribution is run and reported.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Options {
    /// Candidates listed (with explanations).
    pub top: usize,
    /// Attribute only when the leading set's probability reaches this.
    pub threshold: f64,
    /// The prior over known sets.
    pub prior: Prior,
    /// Prior probability that the actor is none of the known sets.
    pub unknown_prior: f64,
    /// Evidence items listed per candidate.
    pub max_items: usize,
    /// List the candidate's distinctive techniques and software that were not observed.
    pub counter_evidence: bool,
    /// Strengths of the declared channels.
    pub channels: ChannelWeights,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            top: 10,
            threshold: DEFAULT_THRESHOLD,
            prior: Prior::default(),
            unknown_prior: 0.5,
            max_items: 12,
            counter_evidence: true,
            channels: ChannelWeights::default(),
        }
    }
}

/// The default attribution threshold. On the benchmark's report hold-out asked open-world
/// (`tiaki eval attribution`, 4,269 cases), attributing only at ≥ 0.7 names a set in 6.6% of
/// the cases whose actor is known, correctly 77% of the time, and wrongly names one in 2.1% of
/// the cases whose actor was removed from the knowledge base. It is deliberately conservative:
/// a named actor is a claim a CERT has to stand behind.
pub const DEFAULT_THRESHOLD: f64 = 0.7;

/// A knowledge base prepared for attribution: the token index of every group's profile, name
/// and indicator lookups, and the context. Build once, assess many times.
#[derive(Debug)]
pub struct Model<'kb> {
    kb: &'kb KnowledgeBase,
    params: ModelParams,
    context: Context,
    vocab: Arc<Vocab>,
    index: FoldIndex,
    groups: Vec<ObjId>,
    /// token → the technique or software object whose ATT&CK id it is.
    token_obj: Vec<Option<ObjId>>,
    software_names: HashMap<String, Vec<ObjId>>,
    indicator_values: HashMap<String, Vec<ObjId>>,
    cve_df: HashMap<String, usize>,
    sector_df: HashMap<String, usize>,
    country_df: HashMap<String, usize>,
    victim_known: usize,
}

/// An observed technique or software item, resolved.
#[derive(Clone, Debug)]
struct Item {
    channel: Channel,
    /// Its object.
    obj: ObjId,
    /// Its tokens (a sub-technique also carries its parent's).
    tokens: Vec<u32>,
    /// The token of its own ATT&CK id.
    own: u32,
}

/// One declared-channel contribution to a group.
#[derive(Clone, Debug)]
struct Extra {
    channel: Channel,
    item: String,
    weight: f64,
    why: Option<String>,
}

fn first_sentences(text: &str, max: usize) -> String {
    // Strip ATT&CK citation markers and Markdown links, keep the first sentence or two.
    let mut s = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("(Citation:") {
        s.push_str(&rest[..i]);
        match rest[i..].find(')') {
            Some(j) => rest = &rest[i + j + 1..],
            None => {
                rest = "";
                break;
            }
        }
    }
    s.push_str(rest);
    let s = s.replace(['[', ']'], "");
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() <= max {
        return s;
    }
    let cut: String = s.chars().take(max).collect();
    match cut.rfind(". ") {
        Some(i) if i > max / 3 => cut[..=i].to_owned(),
        _ => format!("{}…", cut.trim_end()),
    }
}

impl<'kb> Model<'kb> {
    /// Prepares `kb` (every active intrusion set a candidate, its profile its own `uses` plus
    /// those of its attributed campaigns) with `context` and `params`.
    pub fn new(kb: &'kb KnowledgeBase, context: Context, params: ModelParams) -> Self {
        Self::with_background(kb, context, params, None)
    }

    /// [`Model::new`], judging how specific techniques and software are by `background` when
    /// it covers more intrusion sets than `kb` (see
    /// [`super::features::Background`]; `LoadedKb::background` picks it).
    pub fn with_background(
        kb: &'kb KnowledgeBase,
        context: Context,
        params: ModelParams,
        background: Option<&super::features::Background>,
    ) -> Self {
        let vocab = Arc::new(Vocab::new(kb, TokenMode::Both));
        let groups = kb.groups().to_vec();
        let rows: Vec<Vec<u32>> = groups
            .iter()
            .map(|&g| vocab.tokens_of(kb.group_profile(g)))
            .collect();
        let profiles = Profiles::new(vocab.clone(), &rows);
        let index = FoldIndex::with_background(&profiles, params.weights.params, background);
        let mut token_obj = vec![None; vocab.len()];
        for &o in kb.techniques().iter().chain(kb.software()) {
            if let Some(aid) = &kb.object(o).external_id
                && let Some(t) = vocab.id(aid)
            {
                token_obj[t as usize] = Some(o);
            }
        }
        let mut software_names: HashMap<String, Vec<ObjId>> = HashMap::new();
        for &s in kb.software() {
            let o = kb.object(s);
            for n in std::iter::once(&o.name).chain(&o.aliases) {
                let e = software_names.entry(normalize_name(n)).or_default();
                if !e.contains(&s) {
                    e.push(s);
                }
            }
        }
        let mut indicator_values: HashMap<String, Vec<ObjId>> = HashMap::new();
        for (i, o) in kb.objects().iter().enumerate() {
            if o.kind != ObjectKind::Indicator || !o.is_active() {
                continue;
            }
            let id = ObjId(i as u32);
            for lit in channels::pattern_literals(o.pattern.as_deref().unwrap_or_default()) {
                let e = indicator_values.entry(lit).or_default();
                if !e.contains(&id) {
                    e.push(id);
                }
            }
        }
        let victim_known = groups
            .iter()
            .filter(|&&g| context.has_victimology(g))
            .count();
        Self {
            kb,
            cve_df: context::document_frequency(&context.cves),
            sector_df: context::document_frequency(&context.sectors),
            country_df: context::document_frequency(&context.countries),
            victim_known,
            params,
            context,
            vocab,
            index,
            groups,
            token_obj,
            software_names,
            indicator_values,
        }
    }

    /// The knowledge base.
    pub fn kb(&self) -> &'kb KnowledgeBase {
        self.kb
    }

    /// The candidate sets, in candidate order.
    pub fn groups(&self) -> &[ObjId] {
        &self.groups
    }

    /// The parameters.
    pub fn params(&self) -> &ModelParams {
        &self.params
    }

    /// The context.
    pub fn context(&self) -> &Context {
        &self.context
    }

    fn resolve_software(&self, s: &str) -> Option<ObjId> {
        if let AttackTag::Software(id) = classify_tag(s) {
            let o = self.kb.by_external_id(&id)?;
            return self.kb.object(o).kind.is_software().then_some(o);
        }
        match self.software_names.get(&normalize_name(s)) {
            Some(v) if v.len() == 1 => Some(v[0]),
            _ => None,
        }
    }

    /// Resolves techniques and software to items; records what it cannot use.
    fn resolve_items(&self, ev: &Evidence, unresolved: &mut Vec<Unresolved>) -> Vec<Item> {
        let mut items: Vec<Item> = Vec::new();
        let mut seen = BTreeSet::new();
        let mut push = |obj: ObjId, channel: Channel, items: &mut Vec<Item>| {
            if !seen.insert(obj) {
                return;
            }
            let tokens = self.vocab.object_tokens(obj).to_vec();
            let aid = self.kb.object(obj).external_id.clone().unwrap_or_default();
            if let Some(own) = self.vocab.id(&aid) {
                items.push(Item {
                    channel,
                    obj,
                    tokens,
                    own,
                });
            }
        };
        for t in &ev.techniques {
            let AttackTag::Technique(id) = classify_tag(t) else {
                unresolved.push(Unresolved {
                    channel: Channel::Technique,
                    item: t.clone(),
                    reason: "not an ATT&CK technique id".into(),
                });
                continue;
            };
            match self.kb.by_external_id(&id).map(|o| self.kb.current(o)) {
                Some(o)
                    if self.kb.object(o).kind == ObjectKind::AttackPattern
                        && self.kb.is_active(o) =>
                {
                    push(o, Channel::Technique, &mut items)
                }
                _ => unresolved.push(Unresolved {
                    channel: Channel::Technique,
                    item: t.clone(),
                    reason: "no active technique with this id in the knowledge base".into(),
                }),
            }
        }
        for s in &ev.software {
            match self.resolve_software(s).map(|o| self.kb.current(o)) {
                Some(o) if self.kb.is_active(o) => push(o, Channel::Software, &mut items),
                _ => unresolved.push(Unresolved {
                    channel: Channel::Software,
                    item: s.clone(),
                    reason: "unknown (or ambiguous) software name or id: a family the knowledge base does not know links no set".into(),
                }),
            }
        }
        items
    }

    fn query_of<'a>(items: impl IntoIterator<Item = &'a Item>) -> Query {
        Query::new(
            items
                .into_iter()
                .flat_map(|i| i.tokens.iter().copied())
                .collect(),
        )
    }

    /// Declared-channel contributions per candidate.
    fn extras(
        &self,
        ev: &Evidence,
        opts: &Options,
        summary: &mut EvidenceSummary,
        unresolved: &mut Vec<Unresolved>,
    ) -> Vec<Vec<Extra>> {
        let kb = self.kb;
        let w = &opts.channels;
        let n = self.groups.len();
        let gi: HashMap<ObjId, usize> = self
            .groups
            .iter()
            .enumerate()
            .map(|(i, &g)| (g, i))
            .collect();
        let mut out: Vec<Vec<Extra>> = vec![Vec::new(); n];

        // Infrastructure.
        summary.indicators = ev.indicators.len();
        let mut matched_values = std::collections::HashSet::new();
        for hit in &ev.indicators {
            let mut inds: Vec<ObjId> = Vec::new();
            if let Some(id) = &hit.id
                && let Some(o) = kb.by_stix_id(id)
            {
                inds.push(o);
            }
            if let Some(v) = &hit.value
                && let Some(v) = self.indicator_values.get(&v.trim().to_lowercase())
            {
                inds.extend(v);
            }
            inds.sort_unstable();
            inds.dedup();
            // Linked sets, each with the path that links it.
            let mut linked: BTreeMap<usize, String> = BTreeMap::new();
            for &ind in &inds {
                for r in kb.relationships_from(ind) {
                    if r.kind != RelKind::Indicates || !r.active {
                        continue;
                    }
                    let t = kb.current(r.target);
                    let cites: Vec<&str> = r.citations.iter().map(|&c| kb.citation(c)).collect();
                    let via = |what: String| {
                        let mut s = format!(
                            "indicator {} ({}) indicates {}",
                            kb.object(ind).name,
                            kb.object(ind).pattern.as_deref().unwrap_or("?"),
                            what
                        );
                        if !cites.is_empty() {
                            s.push_str(&format!(" [{}]", cites.join("; ")));
                        }
                        s
                    };
                    match kb.object(t).kind {
                        ObjectKind::IntrusionSet => {
                            if let Some(&i) = gi.get(&t) {
                                linked.entry(i).or_insert_with(|| via("this set".into()));
                            }
                        }
                        ObjectKind::Campaign => {
                            for g in kb.attributed_groups(t) {
                                if let Some(&i) = gi.get(g) {
                                    linked.entry(i).or_insert_with(|| {
                                        via(format!("campaign {} attributed to it", kb.label(t)))
                                    });
                                }
                            }
                        }
                        k if k.is_software() => {
                            if let Some(&tok) = self.vocab.object_tokens(t).first() {
                                for &g in self.index.groups_with(tok) {
                                    linked.entry(g as usize).or_insert_with(|| {
                                        via(format!(
                                            "{} {}, which it uses",
                                            kb.label(t),
                                            kb.object(t).name
                                        ))
                                    });
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            if let Some(name) = &hit.intrusion_set {
                match kb.resolve(name).and_then(|g| gi.get(&g)) {
                    Some(&i) => {
                        linked.entry(i).or_insert_with(|| {
                            format!("the detection's indicator feed links it to {name}")
                        });
                    }
                    None => unresolved.push(Unresolved {
                        channel: Channel::Infrastructure,
                        item: name.clone(),
                        reason: "intrusion set named by the indicator is not in the knowledge base"
                            .into(),
                    }),
                }
            }
            let label = hit
                .value
                .clone()
                .or_else(|| hit.id.clone())
                .unwrap_or_default();
            if linked.is_empty() {
                unresolved.push(Unresolved {
                    channel: Channel::Infrastructure,
                    item: label,
                    reason: "no indicator in the knowledge base links it to a set".into(),
                });
                continue;
            }
            // The same value from two feeds (two partners, a STIX bundle and a MISP event) is
            // one observation: corroboration of the link, not twice the evidence.
            if !matched_values.insert(label.to_lowercase()) {
                continue;
            }
            summary.indicators_matched += 1;
            let weight = (w.infrastructure - (linked.len() as f64).ln()).max(0.5);
            for (i, why) in linked {
                out[i].push(Extra {
                    channel: Channel::Infrastructure,
                    item: label.clone(),
                    weight,
                    why: Some(why),
                });
            }
        }

        // CVEs.
        let mut cves: Vec<String> = Vec::new();
        for c in &ev.cves {
            match context::normalize_cve(c) {
                Some(c) if !cves.contains(&c) => cves.push(c),
                Some(_) => {}
                None => unresolved.push(Unresolved {
                    channel: Channel::Vulnerability,
                    item: c.clone(),
                    reason: "not a CVE id".into(),
                }),
            }
        }
        summary.cves = cves.len();
        for c in &cves {
            let df = self.cve_df.get(c).copied().unwrap_or(0);
            if df == 0 {
                continue;
            }
            let weight = w.cve * channels::specificity(n, df);
            for (i, &g) in self.groups.iter().enumerate() {
                if let Some(f) = self.context.cves_of(g).iter().find(|f| &f.key == c) {
                    out[i].push(Extra {
                        channel: Channel::Vulnerability,
                        item: format!("{c} ({})", f.label),
                        weight,
                        why: Some(format!(
                            "known to exploit it; {df} set(s) on record do{}",
                            cited(&f.sources)
                        )),
                    });
                }
            }
        }

        // Victimology.
        let sectors: Vec<String> = ev
            .sectors
            .iter()
            .map(|s| context::normalize_sector(s))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let countries: Vec<String> = ev
            .countries
            .iter()
            .map(|c| self.context.country_code(c))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        summary.sectors = sectors.len();
        summary.countries = countries.len();
        for (channel, keys, df_map) in [
            (Channel::Sector, &sectors, &self.sector_df),
            (Channel::Country, &countries, &self.country_df),
        ] {
            for k in keys.iter() {
                let df = df_map.get(k).copied().unwrap_or(0);
                let hit_w = w.victim * channels::specificity(n, df);
                for (i, &g) in self.groups.iter().enumerate() {
                    if !self.context.has_victimology(g) {
                        continue;
                    }
                    let facts = match channel {
                        Channel::Sector => self.context.sectors_of(g),
                        _ => self.context.countries_of(g),
                    };
                    match facts.iter().find(|f| &f.key == k) {
                        Some(f) if df > 0 => out[i].push(Extra {
                            channel,
                            item: k.clone(),
                            weight: hit_w,
                            why: Some(format!(
                                "known victim: {} ({df} of {} sets with victimology){}",
                                f.label,
                                self.victim_known,
                                cited(&f.sources)
                            )),
                        }),
                        Some(_) => {}
                        None => out[i].push(Extra {
                            channel,
                            item: k.clone(),
                            weight: -w.victim_miss,
                            why: Some("not among the victims on record for this set".into()),
                        }),
                    }
                }
            }
        }

        // Working hours.
        let mut buckets = BTreeSet::new();
        for t in &ev.timestamps {
            match parse_timestamp(t) {
                Some(s) => {
                    buckets.insert(s.div_euclid(3600));
                }
                None => unresolved.push(Unresolved {
                    channel: Channel::WorkingHours,
                    item: t.clone(),
                    reason: "not an RFC 3339 timestamp".into(),
                }),
            }
        }
        summary.activity_hours = buckets.len();
        if !buckets.is_empty() {
            for (i, &g) in self.groups.iter().enumerate() {
                let Some(h) = self.context.hours_of(g) else {
                    continue;
                };
                let inside = buckets.iter().filter(|&&b| h.contains(b * 3600)).count();
                let weight =
                    channels::hours_llr(inside, buckets.len(), h.week_share(), h.confidence, w);
                out[i].push(Extra {
                    channel: Channel::WorkingHours,
                    item: format!(
                        "{inside} of {} activity hours inside its working window (UTC{:+}, {:02}–{:02} local)",
                        buckets.len(),
                        f64::from(h.utc_offset_minutes) / 60.0,
                        h.hours.0,
                        h.hours.1
                    ),
                    weight,
                    why: h.basis.clone().or_else(|| Some(h.sources.join("; "))),
                });
            }
        }

        // Rule tags.
        let mut tagged: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for t in &ev.group_tags {
            match kb
                .resolve(t.trim_start_matches("attack."))
                .and_then(|g| gi.get(&g))
            {
                Some(&i) => {
                    let e = tagged.entry(i).or_default();
                    if !e.contains(t) {
                        e.push(t.clone());
                    }
                }
                None => unresolved.push(Unresolved {
                    channel: Channel::RuleTag,
                    item: t.clone(),
                    reason: "group tag names no set in the knowledge base".into(),
                }),
            }
        }
        summary.group_tags = ev.group_tags.len();
        for (i, tags) in tagged {
            let rules: Vec<String> = tags
                .iter()
                .flat_map(|t| ev.provenance.get(t).cloned().unwrap_or_default())
                .collect();
            out[i].push(Extra {
                channel: Channel::RuleTag,
                item: tags.join(", "),
                weight: (w.rule_tag * tags.len() as f64).min(w.rule_tag_cap),
                why: Some(if rules.is_empty() {
                    "a detection rule's author tied the matched behaviour to this set".into()
                } else {
                    format!("tagged by rule(s) {}", rules.join(", "))
                }),
            });
        }
        out
    }

    /// The knowledge base's account of why group `g` is linked to `target`: the first `uses`
    /// relationship (own, else through an attributed campaign) with its description and
    /// citations.
    fn why_uses(&self, g: ObjId, target: ObjId) -> Option<String> {
        let kb = self.kb;
        let own = kb
            .uses(g)
            .find(|(t, _)| *t == target)
            .map(|(_, r)| (None, r));
        let via = || {
            kb.campaigns_of(g).iter().find_map(|&c| {
                kb.uses(c)
                    .find(|(t, _)| *t == target)
                    .map(|(_, r)| (Some(c), r))
            })
        };
        let (camp, r) = own.or_else(via)?;
        let mut s = first_sentences(&r.description, 240);
        if let Some(c) = camp {
            s = format!("via campaign {} {}: {s}", kb.label(c), kb.object(c).name);
        }
        let cites: Vec<&str> = r
            .citations
            .iter()
            .take(4)
            .map(|&c| kb.citation(c))
            .collect();
        if !cites.is_empty() {
            s.push_str(&format!(" [{}]", cites.join("; ")));
        }
        Some(s)
    }

    fn item_label(&self, obj: ObjId) -> String {
        let o = self.kb.object(obj);
        format!("{} {}", self.kb.label(obj), o.name)
    }

    /// Scores, probabilities, verdict and explanations for one body of evidence.
    pub fn assess(&self, ev: &Evidence, opts: &Options) -> Assessment {
        let t0 = Instant::now();
        let kb = self.kb;
        let n = self.groups.len();
        let mut unresolved = Vec::new();
        let mut summary = EvidenceSummary::default();
        let items = self.resolve_items(ev, &mut unresolved);
        summary.techniques = items
            .iter()
            .filter(|i| i.channel == Channel::Technique)
            .count();
        summary.software = items.len() - summary.techniques;
        let query = Self::query_of(&items);
        let mut feats = vec![0.0; n * NF];
        let qs = self
            .index
            .features(&query, &mut Scratch::default(), &mut feats);
        let extras = self.extras(ev, opts, &mut summary, &mut unresolved);
        let cal = self.params.calibration(opts.prior);
        let beta = &self.params.weights;
        let token_logit: Vec<f64> = (0..n)
            .map(|g| cal.sharpness * beta.score(&feats[g * NF..(g + 1) * NF]))
            .collect();
        let prior: Vec<f64> = (0..n)
            .map(|g| opts.prior.log_prior(feats[g * NF + fi::LOG_SIZE]))
            .collect();
        let z: Vec<f64> = (0..n)
            .map(|g| token_logit[g] + prior[g] + extras[g].iter().map(|e| e.weight).sum::<f64>())
            .collect();
        let any_evidence = !items.is_empty() || extras.iter().any(|e| !e.is_empty());
        let unknown = if any_evidence {
            {
                let top = super::model::argmax(&z);
                cal.p_unknown(
                    &z,
                    &feats[top * NF..(top + 1) * NF],
                    &qs,
                    opts.unknown_prior,
                )
            }
        } else {
            // Nothing observed: the prior, unchanged.
            opts.unknown_prior.clamp(0.0, 1.0)
        };
        let lse = super::model::log_sum_exp(z.iter().copied());
        let probs: Vec<f64> = z
            .iter()
            .map(|&v| (1.0 - unknown) * (v - lse).exp())
            .collect();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| z[b].total_cmp(&z[a]).then(a.cmp(&b)));
        let rank_micros = t0.elapsed().as_micros() as u64;

        let top = opts.top.min(n);
        let mean_profile: f64 = (0..n)
            .map(|g| self.profile_term(&feats[g * NF..(g + 1) * NF], cal.sharpness, opts.prior))
            .sum::<f64>()
            / n.max(1) as f64;
        let candidates: Vec<Candidate> = order[..top]
            .iter()
            .enumerate()
            .map(|(r, &g)| {
                let obj = self.groups[g];
                let o = kb.object(obj);
                let evidence = self.explain(
                    ev,
                    g,
                    &items,
                    &query,
                    &feats[g * NF..(g + 1) * NF],
                    mean_profile,
                    &extras[g],
                    opts,
                );
                Candidate {
                    id: kb.label(obj).to_owned(),
                    name: o.name.clone(),
                    aliases: o
                        .aliases
                        .iter()
                        .filter(|a| **a != o.name)
                        .take(6)
                        .cloned()
                        .collect(),
                    probability: probs[g],
                    rank: r + 1,
                    logit: z[g],
                    evidence,
                }
            })
            .collect();
        let rest = (1.0 - unknown - candidates.iter().map(|c| c.probability).sum::<f64>()).max(0.0);
        let verdict = self.verdict(&candidates, unknown, &summary, ev, opts);
        Assessment {
            candidates,
            unknown,
            rest,
            verdict,
            summary,
            unresolved,
            groups_ranked: n,
            prior: opts.prior,
            rank_micros,
        }
    }

    /// The group-level part of a candidate's logit (profile size, hubness, prior).
    fn profile_term(&self, f: &[f64], sharpness: f64, prior: Prior) -> f64 {
        let b = &self.params.weights.beta;
        sharpness * (b[fi::LOG_SIZE] * f[fi::LOG_SIZE] + b[fi::HUB] * f[fi::HUB])
            + prior.log_prior(f[fi::LOG_SIZE])
    }

    #[allow(clippy::too_many_arguments)]
    fn explain(
        &self,
        ev: &Evidence,
        g: usize,
        items: &[Item],
        query: &Query,
        f: &[f64],
        mean_profile: f64,
        extras: &[Extra],
        opts: &Options,
    ) -> Vec<EvidenceItem> {
        let obj = self.groups[g];
        let row = self.index.row(g);
        let cal = self.params.calibration(opts.prior);
        let score = |feat: &[f64; NF]| cal.sharpness * self.params.weights.score(feat);
        let full = score(&self.index.group_features(query.tokens(), g, row));
        let mut out: Vec<EvidenceItem> = Vec::new();
        // Observed techniques and software: leave-one-out effect on the logit.
        for (k, it) in items.iter().enumerate() {
            let rest = Self::query_of(
                items
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != k)
                    .map(|x| x.1),
            );
            let weight = full - score(&self.index.group_features(rest.tokens(), g, row));
            let has_own = row.binary_search(&it.own).is_ok();
            let why = if has_own {
                self.why_uses(obj, it.obj)
            } else if let Some(p) = it
                .tokens
                .iter()
                .copied()
                .find(|&t| t != it.own && row.binary_search(&t).is_ok())
            {
                let subs: Vec<&str> = row
                    .iter()
                    .filter(|&&t| self.index.parent_of[t as usize] == p)
                    .map(|&t| self.vocab.token(t))
                    .take(4)
                    .collect();
                Some(format!(
                    "back-off: not known for {} itself, but for parent {}{}",
                    self.vocab.token(it.own),
                    self.vocab.token(p),
                    if subs.is_empty() {
                        String::new()
                    } else {
                        format!(" (via {})", subs.join(", "))
                    }
                ))
            } else {
                let df = self.index.df[it.own as usize];
                let near = self.index.neighbours[g]
                    .iter()
                    .filter(|(h, _)| self.index.row(*h as usize).binary_search(&it.own).is_ok())
                    .count();
                Some(if near > 0 {
                    format!(
                        "not in this set's profile, but {near} of its {} most similar sets use it (co-occurrence support); {df} of {} sets are known for it",
                        self.index.neighbours[g].len(),
                        self.groups.len()
                    )
                } else {
                    format!(
                        "not in this set's profile; {df} of {} sets are known for it",
                        self.groups.len()
                    )
                })
            };
            let mut label = self.item_label(it.obj);
            let aid = self.vocab.token(it.own);
            if let Some(rules) = ev.provenance.get(aid).filter(|r| !r.is_empty()) {
                label.push_str(&format!(" (seen by {})", rules.join(", ")));
            }
            out.push(EvidenceItem {
                channel: it.channel,
                item: label,
                weight,
                direction: if weight >= 0.0 {
                    Direction::For
                } else {
                    Direction::Against
                },
                why,
                observed: true,
            });
        }
        // Distinctive profile items that were not observed, in channels that have evidence.
        if opts.counter_evidence && !items.is_empty() {
            let channels: BTreeSet<bool> = items
                .iter()
                .map(|i| i.channel == Channel::Software)
                .collect();
            let mut cands: Vec<(f64, u32)> = row
                .iter()
                .copied()
                .filter(|&t| {
                    let sw = self.vocab.kind(t) == TokenKind::Software;
                    channels.contains(&sw)
                        && query.tokens().binary_search(&t).is_err()
                        && !row.iter().any(|&c| self.index.parent_of[c as usize] == t)
                })
                .map(|t| (self.index.idf[t as usize], t))
                .collect();
            cands.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            for &(_, t) in cands.iter().take(5) {
                let without: Vec<u32> = row.iter().copied().filter(|&x| x != t).collect();
                let weight = full - score(&self.index.group_features(query.tokens(), g, &without));
                if weight >= 0.0 {
                    continue;
                }
                let Some(o) = self.token_obj[t as usize] else {
                    continue;
                };
                let df = self.index.df[t as usize];
                let why = self.why_uses(obj, o).map_or_else(
                    || format!("distinctive ({df} sets known for it) but not observed"),
                    |w| {
                        format!(
                            "distinctive ({df} sets known for it) but not observed; on record: {w}"
                        )
                    },
                );
                out.push(EvidenceItem {
                    channel: if self.vocab.kind(t) == TokenKind::Software {
                        Channel::Software
                    } else {
                        Channel::Technique
                    },
                    item: self.item_label(o),
                    weight,
                    direction: Direction::Against,
                    why: Some(why),
                    observed: false,
                });
            }
        }
        for e in extras {
            out.push(EvidenceItem {
                channel: e.channel,
                item: e.item.clone(),
                weight: e.weight,
                direction: if e.weight >= 0.0 {
                    Direction::For
                } else {
                    Direction::Against
                },
                why: e.why.clone(),
                observed: true,
            });
        }
        let profile = self.profile_term(f, cal.sharpness, opts.prior) - mean_profile;
        let size = self.index.row(g).len();
        out.push(EvidenceItem {
            channel: Channel::Profile,
            item: format!("profile of {size} techniques and software ({} prior)", opts.prior.name()),
            weight: profile,
            direction: if profile >= 0.0 { Direction::For } else { Direction::Against },
            why: Some(
                "relative to the average set: the prior, and the ranker's correction for profile size and for how similar the set is to every other set (hubness)"
                    .into(),
            ),
            observed: false,
        });
        out.sort_by(|a, b| b.weight.abs().total_cmp(&a.weight.abs()));
        out.truncate(opts.max_items.max(1));
        out
    }

    fn verdict(
        &self,
        candidates: &[Candidate],
        unknown: f64,
        summary: &EvidenceSummary,
        ev: &Evidence,
        opts: &Options,
    ) -> Verdict {
        let hypotheses: Vec<Hypothesis> = candidates
            .iter()
            .take(10)
            .map(|c| Hypothesis {
                id: c.id.clone(),
                name: c.name.clone(),
                probability: c.probability,
            })
            .collect();
        let best = candidates.first();
        match best {
            Some(b) if b.probability >= opts.threshold && b.probability > unknown => {
                Verdict::Attributed {
                    id: b.id.clone(),
                    name: b.name.clone(),
                    confidence: b.probability,
                    threshold: opts.threshold,
                }
            }
            _ => {
                let nothing = summary.techniques + summary.software + summary.indicators_matched
                    == 0
                    && summary.cves + summary.sectors + summary.countries == 0
                    && summary.activity_hours + summary.group_tags == 0;
                let reason = if ev.is_empty() || nothing {
                    "no usable evidence".to_owned()
                } else if best.is_none_or(|b| unknown >= b.probability) {
                    format!(
                        "the evidence fits no known set better than an unknown actor (P(unknown) = {unknown:.2})"
                    )
                } else {
                    format!(
                        "the leading set's probability {:.2} is below the threshold {:.2}",
                        best.map_or(0.0, |b| b.probability),
                        opts.threshold
                    )
                };
                Verdict::InsufficientEvidence {
                    reason,
                    unknown,
                    hypotheses,
                    threshold: opts.threshold,
                }
            }
        }
    }
}

/// " [source; source]" for an explanation, or nothing when the fact has no sources on record.
fn cited(sources: &[String]) -> String {
    if sources.is_empty() {
        String::new()
    } else {
        format!(" [{}]", sources.join("; "))
    }
}
